package export

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/seams-dev/seams"
)

// Row is one evidence item of a finding, as the CSV and Parquet exports
// write it. The Parquet column names are the CSV header.
type Row struct {
	Report         string    `parquet:"report"`
	Compound       string    `parquet:"compound"`
	CompoundName   string    `parquet:"compound_name,optional"`
	Country        string    `parquet:"country,optional"`
	Tier           string    `parquet:"tier"`
	Rule           string    `parquet:"rule"`
	IndicatorKind  string    `parquet:"indicator_kind"`
	Indicator      string    `parquet:"indicator"`
	FirstSeen      time.Time `parquet:"first_seen,optional,timestamp(microsecond)"`
	LastSeen       time.Time `parquet:"last_seen,optional,timestamp(microsecond)"`
	Confidence     *float64  `parquet:"confidence,optional"`
	Source         string    `parquet:"source,optional"`
	ObservedIP     string    `parquet:"observed_ip,optional"`
	ObservedDevice string    `parquet:"observed_device,optional"`
	ObservedAt     time.Time `parquet:"observed_at,optional,timestamp(microsecond)"`
	Event          string    `parquet:"event,optional"`
	Port           int32     `parquet:"port,optional"`
	Proxy          bool      `parquet:"proxy"`
	DriftSeconds   *float64  `parquet:"drift_seconds,optional"`
	Shared         string    `parquet:"shared,optional"`
	SharedWhy      string    `parquet:"shared_why,optional"`
	Associated     bool      `parquet:"associated"`
	ObservedASN    uint32    `parquet:"observed_asn,optional"`
	ObservedASOrg  string    `parquet:"observed_as_org,optional"`
	ObservedCC     string    `parquet:"observed_country,optional"`
	ObservedCity   string    `parquet:"observed_city,optional"`
	Signals        string    `parquet:"signals,optional"` // "cross-border;foreign-asn"
	Capped         string    `parquet:"capped,optional"`  // "ip 203.0.113.7: 812 reports > 500"`
}

// Header is the CSV header: the columns in their fixed order.
var Header = []string{"report", "compound", "compound_name", "country", "tier", "rule", "indicator_kind", "indicator",
	"first_seen", "last_seen", "confidence", "source", "observed_ip", "observed_device", "observed_at", "event",
	"port", "proxy", "drift_seconds", "shared", "shared_why", "associated", "observed_asn", "observed_as_org",
	"observed_country", "observed_city", "signals", "capped"}

// Rows appends the rows of a finding: one per evidence item, in evidence
// order. names gives the name and country of compounds; a compound it lacks
// gets empty ones. Times are cut to the microsecond, the finest unit of
// Parquet that Spark reads, so that the CSV and Parquet exports hold the
// same values (a window's last_seen 23:59:59.999999999 is 23:59:59.999999).
func Rows(rows []Row, f *seams.Finding, names map[string]seams.Compound) []Row {
	c := names[f.Compound]
	var signals []string
	if f.Signals.CrossBorder {
		signals = append(signals, "cross-border")
	}
	if f.Signals.ForeignASN {
		signals = append(signals, "foreign-asn")
	}
	var capped []string
	for _, k := range f.Capped {
		capped = append(capped, fmt.Sprintf("%s %s: %d reports > %d", k.Kind, k.Value, k.Reports, k.Limit))
	}
	for i := range f.Evidence {
		ev := &f.Evidence[i]
		in := ev.Indicator
		r := Row{Report: f.Report, Compound: f.Compound, CompoundName: c.Name, Country: c.Country,
			Tier: f.Tier.String(), Rule: ev.Rule.String(), IndicatorKind: in.Kind.String(), Indicator: in.Value,
			FirstSeen: micro(in.Window.First), LastSeen: micro(in.Window.Last), Source: in.Source, ObservedAt: micro(ev.Observed.At),
			Event: ev.Observed.Event, Port: int32(ev.Observed.Port), Proxy: ev.Observed.Proxy,
			SharedWhy: ev.SharedWhy, Associated: ev.Observed.Associated, ObservedASN: ev.Observed.Net.ASN,
			ObservedASOrg: ev.Observed.Net.Org, ObservedCC: ev.Observed.Net.Country, ObservedCity: ev.Observed.Net.City,
			Signals: strings.Join(signals, ";"), Capped: strings.Join(capped, "; ")}
		if in.HasConfidence {
			v := in.Confidence
			r.Confidence = &v
		}
		if ev.Observed.IP.IsValid() {
			r.ObservedIP = ev.Observed.IP.String()
		} else {
			r.ObservedDevice = ev.Observed.Device.String()
		}
		if ev.Rule == seams.RuleIPDrift {
			d := ev.Drift.Seconds()
			r.DriftSeconds = &d
		}
		if ev.Shared.IsValid() {
			r.Shared = ev.Shared.String()
		}
		rows = append(rows, r)
	}
	return rows
}

// CSVWriter writes rows as CSV under Header: RFC 4180 (comma separated,
// CRLF after every record), a cell quoted with " when it holds a comma, a
// quote, a carriage return or a line feed, or starts with white space; a
// quote inside is doubled. Nothing else is changed: a cell's bytes between
// its quotes are the value's, CR and LF included (encoding/csv drops a CR
// and writes LF as CRLF inside a cell, so it is not used).
//
// A cell a spreadsheet could run as a formula is prefixed with a single
// quote, as OWASP's guidance on CSV injection advises: device values and
// event names come from reports, and reports are hostile input. See
// SafeCell; a reader takes the prefix off again.
type CSVWriter struct {
	w    *bufio.Writer
	cell []string
	err  error
}

// CSVOptions configure a CSVWriter.
type CSVOptions struct {
	// BOM writes the UTF-8 byte-order mark (EF BB BF) before the header,
	// so that spreadsheet programs that otherwise guess a legacy code page
	// (Excel on Windows) open non-ASCII text correctly. Most other readers
	// skip it; some take it as part of the first column's name.
	BOM bool
}

// NewCSVWriter writes the header (after the byte-order mark, when asked)
// to w and returns the writer of the rows.
func NewCSVWriter(w io.Writer, o CSVOptions) (*CSVWriter, error) {
	c := &CSVWriter{w: bufio.NewWriter(w), cell: make([]string, len(Header))}
	if o.BOM {
		c.w.WriteString("\uFEFF")
	}
	c.record(Header)
	return c, c.err
}

// Write writes one row. Times are written as RFC 3339 in UTC, at the
// microsecond precision Rows gives them.
func (c *CSVWriter) Write(r *Row) error {
	t := func(v time.Time) string {
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(time.RFC3339Nano)
	}
	f := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	asn := func(n uint32) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatUint(uint64(n), 10)
	}
	port := ""
	if r.Port != 0 {
		port = strconv.Itoa(int(r.Port))
	}
	vals := [...]string{r.Report, r.Compound, r.CompoundName, r.Country, r.Tier, r.Rule, r.IndicatorKind, r.Indicator,
		t(r.FirstSeen), t(r.LastSeen), f(r.Confidence), r.Source, r.ObservedIP, r.ObservedDevice, t(r.ObservedAt),
		r.Event, port, strconv.FormatBool(r.Proxy), f(r.DriftSeconds), r.Shared, r.SharedWhy,
		strconv.FormatBool(r.Associated), asn(r.ObservedASN), r.ObservedASOrg, r.ObservedCC, r.ObservedCity, r.Signals, r.Capped}
	for i, v := range vals {
		c.cell[i] = SafeCell(v)
	}
	c.record(c.cell)
	return c.err
}

// record writes one record, RFC 4180.
func (c *CSVWriter) record(cells []string) {
	if c.err != nil {
		return
	}
	for i, v := range cells {
		if i > 0 {
			c.w.WriteByte(',')
		}
		if !needsQuotes(v) {
			c.w.WriteString(v)
			continue
		}
		c.w.WriteByte('"')
		for {
			j := strings.IndexByte(v, '"')
			if j < 0 {
				break
			}
			c.w.WriteString(v[:j+1])
			c.w.WriteByte('"')
			v = v[j+1:]
		}
		c.w.WriteString(v)
		c.w.WriteByte('"')
	}
	_, c.err = c.w.WriteString("\r\n")
}

// needsQuotes reports whether a cell must be quoted: it holds a separator,
// a quote or a line break, or starts with white space (which some readers
// trim from a bare cell).
func needsQuotes(v string) bool {
	if v == "" {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(v); unicode.IsSpace(r) {
		return true
	}
	return strings.ContainsAny(v, ",\"\r\n")
}

// Flush writes out what is buffered and returns the first error met.
func (c *CSVWriter) Flush() error {
	if c.err != nil {
		return c.err
	}
	return c.w.Flush()
}

// SafeCell returns v, prefixed with ' when a spreadsheet could take it for
// a formula: its first character other than white space is =, +, - or @
// (" =1" and "\n@SUM(A1)" are formulas to some), or it starts with a tab
// or a carriage return (OWASP's list). A value that starts with ' is
// prefixed too, so that every cell starting with ' carries the prefix and
// a reader can take it off without guessing.
func SafeCell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '\t', '\r', '\'':
		return "'" + v
	}
	if t := strings.TrimLeftFunc(v, unicode.IsSpace); t != "" {
		switch t[0] {
		case '=', '+', '-', '@':
			return "'" + v
		}
	}
	return v
}

// micro cuts a time to the microsecond, in UTC; the zero time stays zero.
func micro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// NewParquetWriter returns a writer of rows as Parquet (Snappy-compressed),
// readable by DuckDB, pandas (pyarrow) and Spark. Times are UTC
// TIMESTAMP(MICROS): Spark reads no finer unit, so nanoseconds are cut.
// Close it to write the footer.
func NewParquetWriter(w io.Writer) *parquet.GenericWriter[Row] {
	return parquet.NewGenericWriter[Row](w, parquet.Compression(&parquet.Snappy),
		parquet.CreatedBy("seams", "", ""))
}
