package pseudonym

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/reportfile"
)

// SetOptions are a rewrite of a set of files (seams pseudonymize and
// depseudonymize): the inputs, the folder written and where rejections go.
type SetOptions struct {
	Inputs
	Out string // the folder the rewritten files are written to
	// RejectedFile, if set, gets the rejections; they quote clear records,
	// so it may not be inside Out.
	RejectedFile string
	// ClearIndicators (depseudonymize) is an indicators file in the clear
	// whose devices the reverser learns; it needs Compounds.
	ClearIndicators string
}

// Validate returns the mistakes in o, each a *seams.FieldError naming the
// field as Go spells it, joined; nil when there is none. Nothing may be
// written over an input.
func (o *SetOptions) Validate() error {
	var errs []error
	if o.Out == "" {
		errs = append(errs, seams.MissingField("Out"))
	}
	if o.Indicators != "" && o.Compounds == "" {
		errs = append(errs, seams.InvalidField("Compounds", "needed with an indicators file (to know the compound ids it names)"))
	}
	if o.ClearIndicators != "" && o.Compounds == "" {
		errs = append(errs, seams.InvalidField("Compounds", "needed with clear indicators (to know the compound ids they name)"))
	}
	if o.Indicators == "" && o.Shared == "" && len(o.Reports) == 0 && len(o.Findings) == 0 && len(o.DBs) == 0 {
		errs = append(errs, seams.InvalidField("Inputs", "nothing to rewrite: give indicators, shared space, reports, findings or databases"))
	}
	if o.Out == "" {
		return errors.Join(errs...)
	}
	outAbs, err := filepath.Abs(o.Out)
	if err != nil {
		return errors.Join(append(errs, seams.InvalidField("Out", "%v", err))...)
	}
	if err := o.overwrites(outAbs); err != nil {
		errs = append(errs, err)
	}
	if o.RejectedFile != "" {
		if r, err := filepath.Abs(o.RejectedFile); err == nil && (filepath.Dir(r) == outAbs || strings.HasPrefix(r, outAbs+string(filepath.Separator))) {
			errs = append(errs, seams.InvalidField("RejectedFile", "%s is inside the output folder %s: rejections quote clear records; write them elsewhere", o.RejectedFile, o.Out))
		}
	}
	return errors.Join(errs...)
}

// overwrites returns the error of an output in folder outAbs that would be
// written over an input, or nil.
func (o *SetOptions) overwrites(outAbs string) error {
	all := append([]string{o.Compounds, o.Indicators, o.Shared}, o.Reports...)
	all = append(append(all, o.Findings...), o.DBs...)
	for _, kind := range []struct {
		kind  string
		files []string
	}{{"indicators", []string{o.Indicators}}, {"shared", []string{o.Shared}}, {"reports", o.Reports},
		{"findings", o.Findings}, {"database", o.DBs}} {
		for _, f := range kind.files {
			if f == "" {
				continue
			}
			dst := filepath.Join(outAbs, OutputName(kind.kind, f))
			for _, src := range all {
				if src == "" || src == "-" {
					continue
				}
				if s, err := filepath.Abs(src); err == nil && s == dst {
					return seams.InvalidField("Out", "%s would be written over %s: give another output folder", dst, src)
				}
			}
		}
	}
	return nil
}

// Inputs names the files of a set to rewrite. Empty ones are skipped.
type Inputs struct {
	// Compounds is read (CSV or FollowTheMoney) to know the compound ids
	// that Indicators may name; it is not written: compounds are not
	// pseudonymised, and partners read the same file.
	Compounds  string
	Indicators string   // CSV, STIX 2.1 bundle or MISP events; written as CSV
	Shared     string   // list or MISP warninglist; written as a list
	Reports    []string // any report format; written as JSON Lines
	Findings   []string // findings.jsonl of xref
	DBs        []string // MaxMind DB files (ASN, location)
	// ReportFormat is the format of every report input, "" to find out.
	ReportFormat reportfile.Format
}

// Output is one file written.
type Output struct {
	Kind   string // indicators, shared, reports, findings, database
	Input  string
	Path   string
	Counts Counts
}

// OutputName returns the name of the file an input is written to in the
// output folder: its base name, with the suffixes .gz and .zst removed
// (outputs are not compressed), and for reports the extension .jsonl
// (every format is written as JSON Lines), for indicators .csv.
func OutputName(kind, in string) string {
	base := filepath.Base(in)
	if in == "-" {
		base = kind
	}
	for _, s := range []string{".gz", ".zst"} {
		base = strings.TrimSuffix(base, s)
	}
	switch kind {
	case "reports":
		base = strings.TrimSuffix(base, filepath.Ext(base)) + ".jsonl"
	case "indicators":
		base = strings.TrimSuffix(base, filepath.Ext(base)) + ".csv"
	}
	return base
}

// Rewrite rewrites a set of files with m into the folder out (which must
// exist), each file under OutputName, written under a temporary name and
// renamed when complete. Every record read is written, mapped, or handed
// to reject with its file and line (rejections quote the clear record:
// they are the key holder's, and are never written into out). It returns
// what it wrote, in the order of Inputs' fields.
func Rewrite(ctx context.Context, m Mapper, in Inputs, out string, stdin io.Reader, reject func(*seams.RecordError)) ([]Output, error) {
	var outs []Output
	names := map[string]string{}
	plan := func(kind, file string) (string, error) {
		name := OutputName(kind, file)
		if prev, ok := names[name]; ok {
			return "", fmt.Errorf("%s and %s would both be written as %s: give them other names", prev, file, name)
		}
		names[name] = file
		return filepath.Join(out, name), nil
	}
	if in.Indicators != "" && in.Compounds == "" {
		return nil, errors.New("indicators need the compounds file, to know the compound ids they name")
	}
	// Plan every name first, so that a clash fails before anything is
	// written.
	type job struct {
		kind, file, path string
	}
	var jobs []job
	add := func(kind string, files ...string) error {
		for _, f := range files {
			if f == "" {
				continue
			}
			p, err := plan(kind, f)
			if err != nil {
				return err
			}
			jobs = append(jobs, job{kind, f, p})
		}
		return nil
	}
	for _, k := range []struct {
		kind  string
		files []string
	}{{"indicators", []string{in.Indicators}}, {"shared", []string{in.Shared}}, {"reports", in.Reports},
		{"findings", in.Findings}, {"database", in.DBs}} {
		if err := add(k.kind, k.files...); err != nil {
			return nil, err
		}
	}
	var known map[string]int
	if in.Indicators != "" {
		cs, err := readCompounds(ctx, in.Compounds, stdin)
		if err != nil {
			return nil, err
		}
		known = registryfile.IDs(cs)
	}
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return outs, err
		}
		c, err := writeOne(j.path, func(w io.Writer) (Counts, error) {
			switch j.kind {
			case "indicators":
				return withRegistryFile(ctx, j.file, stdin, registryfile.Indicators, func(f registryfile.Format, r io.Reader) (Counts, error) {
					return RewriteIndicators(m, f, r, j.file, known, w, reject)
				})
			case "shared":
				return withRegistryFile(ctx, j.file, stdin, registryfile.Shared, func(f registryfile.Format, r io.Reader) (Counts, error) {
					return RewriteShared(m, f, r, j.file, w, reject)
				})
			case "reports":
				rd, err := reportfile.Open(j.file, in.ReportFormat, stdin)
				if err != nil {
					return Counts{}, err
				}
				defer rd.Close()
				return RewriteReports(m, rd, w, reject)
			case "findings":
				f, err := input.Open(ctx, j.file, stdin)
				if err != nil {
					return Counts{}, err
				}
				defer f.Close()
				r, err := f.Reader()
				if err != nil {
					return Counts{}, err
				}
				return RewriteFindings(m, r, j.file, w)
			default:
				return RewriteMMDB(m, j.file, w)
			}
		})
		if err != nil {
			return outs, err
		}
		outs = append(outs, Output{Kind: j.kind, Input: j.file, Path: j.path, Counts: c})
	}
	return outs, nil
}

// writeOne writes path with fill, atomically.
func writeOne(path string, fill func(io.Writer) (Counts, error)) (Counts, error) {
	af, err := atomicfile.Create(path)
	if err != nil {
		return Counts{}, err
	}
	defer af.Abort()
	c, err := fill(af)
	if err != nil {
		return c, err
	}
	return c, af.Commit()
}

// withRegistryFile opens a registry file, finds its format and calls fn.
func withRegistryFile(ctx context.Context, file string, stdin io.Reader, k registryfile.Kind, fn func(registryfile.Format, io.Reader) (Counts, error)) (Counts, error) {
	f, err := input.Open(ctx, file, stdin)
	if err != nil {
		return Counts{}, err
	}
	defer f.Close()
	r, err := f.Reader()
	if err != nil {
		return Counts{}, err
	}
	br, head, err := registryfile.Peek(r)
	if err != nil {
		return Counts{}, fmt.Errorf("%s: %w", file, err)
	}
	return fn(registryfile.Detect(k, head), br)
}

func readCompounds(ctx context.Context, file string, stdin io.Reader) ([]seams.Compound, error) {
	var cs []seams.Compound
	_, err := withRegistryFile(ctx, file, stdin, registryfile.Compounds, func(f registryfile.Format, r io.Reader) (Counts, error) {
		var err error
		// A compound row rejected here is xref's to report: it reads the
		// same file. Its indicators are rejected, by name, here.
		cs, err = registryfile.ReadCompounds(f, r, file, func(*seams.RecordError) {})
		return Counts{}, err
	})
	return cs, err
}

// ReadIndicators reads a compounds file and an indicators file (any
// registry format), as xref would, dropping rejected rows: what a key
// holder reads to learn the clear devices that a Reverser then recognises.
func ReadIndicators(ctx context.Context, compounds, indicators string, stdin io.Reader) ([]seams.Indicator, error) {
	cs, err := readCompounds(ctx, compounds, stdin)
	if err != nil {
		return nil, err
	}
	known := registryfile.IDs(cs)
	var inds []seams.Indicator
	_, err = withRegistryFile(ctx, indicators, stdin, registryfile.Indicators, func(f registryfile.Format, r io.Reader) (Counts, error) {
		_, got, err := registryfile.ReadIndicators(f, r, indicators, known, nil)
		inds = got
		return Counts{}, err
	})
	return inds, err
}
