package brief

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/redact"
	"github.com/seams-dev/seams/internal/runread"
)

// RunOptions say what to make a brief of.
type RunOptions struct {
	Dir string // the run's output folder
	// Reports are the run's report files; when given, the brief counts
	// the reports without usable events and says when the reports with
	// findings were received. Each must be the run's (its SHA-256).
	Reports []string
	// Compounds is the run's compounds file, for the map; "" for the one
	// summary.json names, when it is there unchanged.
	Compounds string
	Title     string
	Redact    *redact.Key // nil: no redaction
	Made      time.Time
}

// DefaultTitle is the title of a brief that was given none.
const DefaultTitle = "Hotline reports and scam compounds: cross-reference brief"

// FromRun makes the data of a brief from a run's output folder.
func FromRun(ctx context.Context, o RunOptions) (*Data, error) {
	run, err := runread.Open(o.Dir)
	if err != nil {
		return nil, err
	}
	s := run.Summary
	d := &Data{
		Title:          o.Title,
		Source:         fmt.Sprintf("the cross-reference run in %s", o.Dir),
		Made:           o.Made,
		Seams:          seams.ThisBuild(),
		Scanned:        s.Reports,
		Tied:           s.TiedReports,
		Potential:      s.PotentialReports,
		Drift:          s.Drift,
		Registry:       s.Registry,
		Inputs:         s.Inputs,
		Databases:      s.Databases,
		SharedLists:    s.SharedLists,
		OverCorrelated: s.OverCorrelated,
		Unusable:       s.Unusable,
		Warnings:       s.Warnings,
		ByCountry:      s.ByCountry,
	}
	if d.Title == "" {
		d.Title = DefaultTitle
	}
	if s.Seams.Version != "" {
		b := s.Seams
		d.RunSeams = &b
	}
	if s.Parameters.Drift != "" {
		p := s.Parameters
		d.Parameters = &p
	} else {
		d.Missing = append(d.Missing, "the run's parameters other than the drift (summary.json of an older seams)")
	}
	d.Limits = Limits{Reports: s.Reports, Rejected: s.Rejected, Events: s.Events, EventsUnroutable: s.Unroutable, EventsUndated: s.Undated}
	if n := len(run.Inputs("reports")); len(o.Reports) > 0 && len(o.Reports) != n {
		return nil, fmt.Errorf("the run read %d report files and %d were given: give them all, or none", n, len(o.Reports))
	}
	b := NewBuilder(d, o.Redact)
	cs, _, err := run.Compounds(ctx, o.Compounds)
	switch {
	case err == nil:
		for i := range cs {
			b.Compound(&cs[i])
		}
	case o.Compounds == "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, runread.ErrNotRunInput)):
		d.Missing = append(d.Missing, fmt.Sprintf("the compounds' locations and statuses (%v): give the run's compounds file to draw them", err))
	default:
		return nil, err
	}
	sha, err := run.Findings(func(f *seams.Finding) error {
		b.Add(f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.Hashes = []Hash{{runread.SummaryFile, run.SummarySHA256}, {runread.FindingsFile, sha}}
	if len(o.Reports) > 0 {
		n := 0
		if _, err := run.Reports(ctx, o.Reports, func(r *runread.Report) error {
			n++
			b.Received(&r.Report)
			return nil
		}); err != nil {
			return nil, err
		}
		if n != s.Reports {
			d.Warnings = append(d.Warnings, fmt.Sprintf("The report files hold %d reports that can be read, and the run accepted %d: the count of reports without usable events is over the %d read.", n, s.Reports, n))
		}
	}
	b.Data(s.ByCompound)
	return d, nil
}
