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
