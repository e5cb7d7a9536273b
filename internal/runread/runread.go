// Package runread reads what a cross-reference run wrote into its output
// folder (summary.json, findings.jsonl) and the inputs it read, checked
// against the run: an input given again must be the very bytes the run
// read (its size and SHA-256 in summary.json), or it is refused. The
// brief, the aggregate and the evidence bundles read runs through it.
package runread

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/reportfile"
)

// The files of a run's output folder.
const (
	SummaryFile  = "summary.json"
	FindingsFile = "findings.jsonl"
)

// Run is a run's output folder, its summary read.
type Run struct {
	Dir     string
	Summary *seams.Summary
	// SummarySHA256 is the SHA-256 of summary.json as read.
	SummarySHA256 string
}

// ErrNotRunInput: a file given as one of the run's inputs is not one.
var ErrNotRunInput = errors.New("not an input of the run")

// Open reads the summary of the run in dir.
func Open(dir string) (*Run, error) {
	path := filepath.Join(dir, SummaryFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no summary.json: is %s the output folder of seams xref?", path, dir)
		}
		return nil, err
	}
	var s seams.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	sum := sha256.Sum256(b)
	return &Run{Dir: dir, Summary: &s, SummarySHA256: hex.EncodeToString(sum[:])}, nil
}

// Findings calls fn with every finding of the run, in file order, and
// returns the SHA-256 of findings.jsonl.
func (r *Run) Findings(fn func(*seams.Finding) error) (string, error) {
	path := filepath.Join(r.Dir, FindingsFile)
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if err := jsonl.ReadFindings(io.TeeReader(f, h), path, fn); err != nil {
		return "", err
	}
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Input returns the run's input of kind with the given SHA-256, or nil.
func (r *Run) Input(kind, sha string) *seams.InputCount {
	for i := range r.Summary.Inputs {
		in := &r.Summary.Inputs[i]
		if in.Kind == kind && in.SHA256 == sha {
			return in
		}
	}
	return nil
}

// Inputs returns the run's inputs of kind.
func (r *Run) Inputs(kind string) []seams.InputCount {
	var out []seams.InputCount
	for _, in := range r.Summary.Inputs {
		if in.Kind == kind {
			out = append(out, in)
		}
	}
	return out
}

// notInput is the error for a file whose bytes are not one of the run's
// inputs of kind.
func (r *Run) notInput(name, kind, sha string) error {
	var names []string
	for _, in := range r.Inputs(kind) {
		names = append(names, in.File)
	}
	return fmt.Errorf("%s (sha256 %s): %w of kind %s in %s (its %s inputs: %s); give the files the run read, unchanged",
		name, sha, ErrNotRunInput, kind, r.Dir, kind, strings.Join(names, ", "))
}

// Report is a report read from one of the run's report inputs.
type Report struct {
	seams.Report
	File string // the input as named in summary.json
	Line int    // where the record starts; 0 for a format without lines
}

// Reports reads report inputs, each of which must be one of the run's (the
// same bytes), and calls fn with each report accepted (the run rejected
// the others, and listed them in rejected.jsonl). The report fn gets is
// valid until fn returns. A file is known to be the run's only at its
// end: when Reports returns an error, what fn kept must be thrown away.
//
// It returns the run's record of each file, in the order of names.
func (r *Run) Reports(ctx context.Context, names []string, fn func(*Report) error) ([]seams.InputCount, error) {
	var out []seams.InputCount
	// A report id met again is skipped: the run rejected it as a
	// duplicate, and the first one stands. For that to be the run's
	// first, the files must come in the run's order (checked below).
	seen := map[string]bool{}
	for _, name := range names {
		in, err := input.Open(ctx, name, nil)
		if err != nil {
			return nil, err
		}
		ic, err := r.readReports(in, name, seen, fn)
		in.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, *ic)
	}
	runs := r.Inputs("reports")
	for i := range out {
		if i >= len(runs) || out[i].SHA256 != runs[i].SHA256 {
			var want []string
			for _, in := range runs {
				want = append(want, in.File)
			}
			return nil, fmt.Errorf("give the report files in the order the run read them (%s): the first report of an id stands", strings.Join(want, ", "))
		}
	}
	return out, nil
}

func (r *Run) readReports(in *input.File, name string, seen map[string]bool, fn func(*Report) error) (*seams.InputCount, error) {
	rd, err := reportfile.FromInput(in, name, "", reportfile.NewReaderOptionsDefault())
	if err != nil {
		return nil, err
	}
	// Whether the file is the run's is known at its end (its SHA-256):
	// a caller keeps nothing of what fn saw when Reports fails.
	var rep Report
	rep.File = name
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if rec.Whole != nil || seen[rec.Report.ID] {
			continue
		}
		seen[strings.Clone(rec.Report.ID)] = true
		rep.Report = rec.Report
		rep.Line = rec.Line
		if err := fn(&rep); err != nil {
			return nil, err
		}
	}
	_, sha, err := in.Finish()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	run := r.Input("reports", sha)
	if run == nil {
		return nil, r.notInput(name, "reports", sha)
	}
	return run, nil
}

// Compounds reads the compounds of the run: from name, or when name is
// empty from the run's compounds input as summary.json names it
// (relative to the current folder, as the run was given it). Either way
// the file must be the run's. rejected counts the rows it could not use
// (the run rejected them too).
func (r *Run) Compounds(ctx context.Context, name string) (cs []seams.Compound, rejected int, err error) {
	if name == "" {
		ins := r.Inputs("compounds")
		if len(ins) != 1 {
			return nil, 0, fmt.Errorf("the run in %s read %d compounds files: name the one to use", r.Dir, len(ins))
		}
		name = ins[0].File
	}
	in, err := input.Open(ctx, name, nil)
	if err != nil {
		return nil, 0, err
	}
	defer in.Close()
	rd, err := in.Reader()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	br, head, err := registryfile.Peek(rd)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	cs, err = registryfile.ReadCompounds(registryfile.Detect(registryfile.Compounds, head), br, name, func(*seams.RecordError) { rejected++ })
	if err != nil {
		return nil, 0, err
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	_, sha, err := in.Finish()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	if r.Input("compounds", sha) == nil {
		return nil, 0, r.notInput(name, "compounds", sha)
	}
	return cs, rejected, nil
}
