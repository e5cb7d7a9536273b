package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

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
// gets empty ones.
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
			FirstSeen: in.Window.First, LastSeen: in.Window.Last, Source: in.Source, ObservedAt: ev.Observed.At,
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

// CSVWriter writes rows as CSV (RFC 4180: commas, "-quoted fields where
// needed, CRLF line ends) under Header.
//
// A cell a spreadsheet would read as a formula (one starting with =, +, -,
// @, a tab or a carriage return) is prefixed with a single quote, as
// OWASP's guidance on CSV injection advises: device values and event names
// come from reports, and reports are hostile input.
type CSVWriter struct {
	w    *csv.Writer
	cell []string
}

// NewCSVWriter writes the header to w and returns the writer of the rows.
func NewCSVWriter(w io.Writer) (*CSVWriter, error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(Header); err != nil {
		return nil, err
	}
	return &CSVWriter{w: cw, cell: make([]string, len(Header))}, nil
}

// Write writes one row.
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
	return c.w.Write(c.cell)
}

// Flush writes out what is buffered and returns the first error met.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// SafeCell returns v, prefixed with ' when a spreadsheet would take it for a
// formula.
func SafeCell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}

// NewParquetWriter returns a writer of rows as Parquet (Snappy-compressed),
// readable by DuckDB, pandas (pyarrow) and Spark. Times are UTC
// TIMESTAMP(MICROS): Spark reads no finer unit, so nanoseconds are cut.
// Close it to write the footer.
func NewParquetWriter(w io.Writer) *parquet.GenericWriter[Row] {
	return parquet.NewGenericWriter[Row](w, parquet.Compression(&parquet.Snappy),
		parquet.CreatedBy("seams", "", ""))
}
