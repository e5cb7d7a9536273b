package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/internal/signalfeed"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/misp"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/stix"
)

// Format is an export format.
type Format string

// The formats.
const (
	STIX    Format = "stix"    // a STIX 2.1 bundle
	MISP    Format = "misp"    // MISP events, one per compound
	CSV     Format = "csv"     // findings, one row per evidence item
	Parquet Format = "parquet" // the same rows as Parquet
	GSE     Format = "gse"     // a flat feed of compound addresses as scam signals
)

// Formats lists the formats, for help texts and errors.
var Formats = []Format{STIX, MISP, CSV, Parquet, GSE}

// ParseFormat parses a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case STIX, MISP, CSV, Parquet, GSE:
		return f, nil
	case "signals":
		return GSE, nil
	}
	return "", fmt.Errorf("unknown export format %q (want stix, misp, csv, parquet or gse)", s)
}

// The files of a cross-reference output directory that export reads.
const (
	FindingsFile = "findings.jsonl"
	SummaryFile  = "summary.json"
)

// Options configure Run.
type Options struct {
	Format Format
	From   string // the output directory of seams xref
	// Compounds and Indicators are the registry files the run used
	// (optional). Without Compounds, compounds are known by the id, name
	// and country summary.json gives for those with findings. Without
	// Indicators, only the indicators of the findings' evidence are
	// written (stix, misp, gse).
	Compounds, Indicators string
	Out                   string    // the file written; "-" is Stdout
	Org                   string    // the reporting organisation (stix, misp, gse)
	Time                  time.Time // created/modified/timestamp; zero: the latest instant in the data
	BOM                   bool      // csv: begin with the UTF-8 byte-order mark
	Stdout                io.Writer
}

// Result says what Run wrote.
type Result struct {
	Findings int // findings read
	Rows     int // csv, parquet: rows written
	Objects  int // stix objects, misp attributes, gse signals
	// Rejected counts registry rows that could not be used (the run that
	// made the findings rejected them too).
	Rejected int
	// Skipped says what the format could not hold, for the person
	// exporting: MISP sightings without a time, devices left out of the
	// signal feed.
	Skipped string
	Time    time.Time // the export time used
}

// ErrNoTime is returned when no --time is given and the data holds no
// instant to stamp the export with.
var ErrNoTime = errors.New("no time in the data to stamp the export with; give one")

// Validate returns the mistakes in o, each a *seams.FieldError naming the
// field as Go spells it, joined; nil when there is none. Run calls it.
func (o *Options) Validate() error {
	var errs []error
	for _, f := range []struct{ name, val string }{{"Format", string(o.Format)}, {"From", o.From}, {"Out", o.Out}} {
		if f.val == "" {
			errs = append(errs, seams.MissingField(f.name))
		}
	}
	if o.Format != "" && !slices.Contains(Formats, o.Format) {
		errs = append(errs, seams.InvalidField("Format", "unknown export format %q (want stix, misp, csv, parquet or gse)", o.Format))
	}
	if (o.Format == STIX || o.Format == MISP || o.Format == GSE) && o.Org == "" {
		errs = append(errs, seams.InvalidField("Org", "the %s format needs the reporting organisation", o.Format))
	}
	if o.Indicators != "" && o.Compounds == "" {
		errs = append(errs, seams.InvalidField("Compounds", "an indicators file needs the compounds file it refers to"))
	}
	if o.BOM && o.Format != CSV {
		errs = append(errs, seams.InvalidField("BOM", "a byte-order mark is for the csv format, not %s", o.Format))
	}
	return errors.Join(errs...)
}

// Run reads the cross-reference output in o.From and writes o.Out in
// o.Format. The file is written under a temporary name and renamed when
// complete, with mode 0600 (it holds report metadata).
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	res := &Result{}
	compounds, inds, err := loadRegistry(ctx, o, res)
	if err != nil {
		return nil, err
	}
	out, commit, abort, err := create(o)
	if err != nil {
		return nil, err
	}
	defer abort()
	file := filepath.Join(o.From, FindingsFile)
	fin, err := input.Open(ctx, file, nil)
	if err != nil {
		return nil, fmt.Errorf("findings: %w (is %s the output directory of seams xref?)", err, o.From)
	}
	defer fin.Close()
	ff, err := fin.Reader()
	if err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	switch o.Format {
	case CSV, Parquet:
		err = writeRows(ctx, o, out, res, ff, file, compounds)
	default:
		err = writeObjects(ctx, o, out, res, ff, file, compounds, inds)
	}
	if err != nil {
		return nil, err
	}
	if err := commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// loadRegistry reads the compounds and, if given, the indicators, in any
// format package registryfile reads: a STIX bundle or MISP events may
// define compounds the compounds file lacks.
func loadRegistry(ctx context.Context, o Options, res *Result) ([]seams.Compound, []seams.Indicator, error) {
	compounds, err := loadCompounds(ctx, o, res)
	if err != nil {
		return nil, nil, err
	}
	var inds []seams.Indicator
	if o.Indicators != "" {
		if err := readRegistry(ctx, o.Indicators, registryfile.Indicators, func(f registryfile.Format, r io.Reader) error {
			var added []seams.Compound
			var err error
			added, inds, err = registryfile.ReadIndicators(f, r, o.Indicators, registryfile.IDs(compounds), func(*seams.RecordError) { res.Rejected++ })
			compounds = append(compounds, added...)
			return err
		}); err != nil {
			return nil, nil, fmt.Errorf("indicators: %w", err)
		}
	}
	return compounds, inds, nil
}

// writeRows streams the findings of ff as rows, in CSV or Parquet.
func writeRows(ctx context.Context, o Options, out io.Writer, res *Result, ff io.Reader, file string, compounds []seams.Compound) error {
	names := map[string]seams.Compound{}
	for _, c := range compounds {
		names[c.ID] = c
	}
	var put func([]Row) error
	var finish func() error
	if o.Format == CSV {
		cw, err := NewCSVWriter(out, CSVOptions{BOM: o.BOM})
		if err != nil {
			return err
		}
		put = func(rows []Row) error {
			for i := range rows {
				if err := cw.Write(&rows[i]); err != nil {
					return err
				}
			}
			return nil
		}
		finish = cw.Flush
	} else {
		pw := NewParquetWriter(out)
		put = func(rows []Row) error { _, err := pw.Write(rows); return err }
		finish = pw.Close
	}
	var rows []Row
	err := jsonl.ReadFindings(ff, file, func(f *seams.Finding) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		res.Findings++
		rows = Rows(rows[:0], f, names)
		res.Rows += len(rows)
		return put(rows)
	})
	if err != nil {
		return err
	}
	return finish()
}

// writeObjects reads every finding of ff and writes them with the
// registry as objects (STIX, MISP, the signal feed), stamped with o.Time
// or the latest instant in the data.
func writeObjects(ctx context.Context, o Options, out io.Writer, res *Result, ff io.Reader, file string, compounds []seams.Compound, inds []seams.Indicator) error {
	var findings []seams.Finding
	if err := jsonl.ReadFindings(ff, file, func(f *seams.Finding) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		findings = append(findings, *f)
		return nil
	}); err != nil {
		return err
	}
	res.Findings = len(findings)
	at := o.Time
	if at.IsZero() {
		at = latest(inds, findings)
	}
	if at.IsZero() {
		return ErrNoTime
	}
	res.Time = at.UTC()
	return write(o, out, res, compounds, inds, findings)
}

func write(o Options, out io.Writer, res *Result, compounds []seams.Compound, inds []seams.Indicator, findings []seams.Finding) error {
	switch o.Format {
	case STIX:
		e := &stix.Export{Org: o.Org, Time: res.Time, Compounds: compounds, Indicators: inds, Findings: findings}
		cw := &countingWriter{w: out}
		if err := stix.WriteBundle(cw, e); err != nil {
			return err
		}
		res.Objects = cw.lines - 2 // the bundle's first and last lines
	case MISP:
		n, err := misp.WriteEvents(out, &misp.Export{Org: o.Org, Time: res.Time, Compounds: compounds, Indicators: inds, Findings: findings})
		if err != nil {
			return err
		}
		res.Objects = n.Attributes
		if n.Undated > 0 {
			res.Skipped = fmt.Sprintf("%d evidence items without a time were not written as MISP sightings (MISP requires date_sighting)", n.Undated)
		}
	case GSE:
		if inds == nil {
			inds = evidenceIndicators(findings)
		}
		n, err := signalfeed.Write(out, &signalfeed.Export{Org: o.Org, Time: res.Time, Compounds: compounds, Indicators: inds})
		if err != nil {
			return err
		}
		res.Objects = n.Signals
		if n.Devices > 0 {
			res.Skipped = fmt.Sprintf("%d device indicators were left out (device identifiers are never contributed)", n.Devices)
		}
	}
	return nil
}

// evidenceIndicators returns the distinct indicators of the findings'
// evidence, in order of first appearance.
func evidenceIndicators(findings []seams.Finding) []seams.Indicator {
	seen := map[*seams.Indicator]bool{}
	var out []seams.Indicator
	for i := range findings {
		for j := range findings[i].Evidence {
			in := findings[i].Evidence[j].Indicator
			if !seen[in] {
				seen[in] = true
				out = append(out, *in)
			}
		}
	}
	return out
}

// latest returns the latest instant in the data: an edge of a window or an
// observation, so that the same data always gets the same stamp and new
// evidence moves it forward.
func latest(inds []seams.Indicator, findings []seams.Finding) time.Time {
	var t time.Time
	see := func(v time.Time) {
		if v.After(t) {
			t = v
		}
	}
	for i := range inds {
		see(inds[i].Window.First)
		see(inds[i].Window.Last)
	}
	for i := range findings {
		for j := range findings[i].Evidence {
			ev := &findings[i].Evidence[j]
			see(ev.Observed.At)
			see(ev.Indicator.Window.First)
			see(ev.Indicator.Window.Last)
		}
	}
	return t
}

// readRegistry opens a registry file through package input (compressed
// data decompressed) and hands fn its format (package registryfile) and
// bytes.
func readRegistry(ctx context.Context, path string, k registryfile.Kind, fn func(registryfile.Format, io.Reader) error) error {
	in, err := input.Open(ctx, path, nil)
	if err != nil {
		return err
	}
	defer in.Close()
	r, err := in.Reader()
	if err != nil {
		return err
	}
	br, head, err := registryfile.Peek(r)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return fn(registryfile.Detect(k, head), br)
}

// loadCompounds reads the compounds file (in any format package
// registryfile reads for compounds), or else the compounds of
// summary.json (id, name, country of those with findings).
func loadCompounds(ctx context.Context, o Options, res *Result) ([]seams.Compound, error) {
	if o.Compounds != "" {
		var cs []seams.Compound
		err := readRegistry(ctx, o.Compounds, registryfile.Compounds, func(f registryfile.Format, r io.Reader) (err error) {
			cs, err = registryfile.ReadCompounds(f, r, o.Compounds, func(*seams.RecordError) { res.Rejected++ })
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("compounds: %w", err)
		}
		return cs, nil
	}
	path := filepath.Join(o.From, SummaryFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("summary: %w (is %s the output directory of seams xref?)", err, o.From)
	}
	var s seams.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: not a summary: %v", path, err)
	}
	var cs []seams.Compound
	for _, c := range s.ByCompound {
		if seams.ValidCompoundID(c.Compound) {
			cs = append(cs, seams.Compound{ID: c.Compound, Name: c.Name, Country: c.Country})
		}
	}
	return cs, nil
}

// create opens the output: a file written atomically, or Stdout for "-".
func create(o Options) (w io.Writer, commit func() error, abort func(), err error) {
	if o.Out == "-" {
		w := o.Stdout
		if w == nil {
			w = os.Stdout
		}
		return w, func() error { return nil }, func() {}, nil
	}
	f, err := atomicfile.Create(o.Out)
	if err != nil {
		return nil, nil, nil, err
	}
	return f, f.Commit, f.Abort, nil
}

// countingWriter counts the lines written through it.
type countingWriter struct {
	w     io.Writer
	lines int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			c.lines++
		}
	}
	return c.w.Write(p)
}
