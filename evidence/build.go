package evidence

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/jsonl"
)

// RunFinding is a finding of a run with its report, as read from the
// run's inputs.
type RunFinding struct {
	Finding *seams.Finding
	Report  *seams.Report
	// File, Line and FileSHA256 say where the report was read, as the
	// run names the file.
	File       string
	Line       int
	FileSHA256 string
}

// FromRun makes a bundle of findings of a run, from its summary and the
// SHA-256 of its summary.json and findings.jsonl.
func FromRun(sum *seams.Summary, summarySHA, findingsSHA string, fs []RunFinding, created time.Time) *Bundle {
	names := map[string]seams.CompoundCount{}
	for _, c := range sum.ByCompound {
		names[c.Compound] = c
	}
	run := sum.Seams
	params := sum.Parameters
	b := &Bundle{
		Type:    Type,
		Created: created.UTC(),
		Seams:   seams.ThisBuild(),
		Source: Source{
			Kind:           "run",
			RunSeams:       &run,
			Parameters:     &params,
			SummarySHA256:  summarySHA,
			FindingsSHA256: findingsSHA,
			Inputs:         sum.Inputs,
			RegistrySHA256: RegistryHash(sum.Inputs),
			Databases:      sum.Databases,
			SharedLists:    sum.SharedLists,
			Missing: []string{
				"indicator versions: a run's findings name each indicator by its value, window and source; the version is that of the indicators file (its SHA-256 among the inputs)",
				"reviews: a run has none; they are kept in a store",
			},
		},
		Rules: Rules,
	}
	if params.Drift == "" {
		b.Source.Parameters.Drift = sum.Drift
	}
	for _, rf := range fs {
		c := names[rf.Finding.Compound]
		rec := NewReportRecord(rf.Report)
		rec.File, rec.Line, rec.FileSHA256 = rf.File, rf.Line, rf.FileSHA256
		b.Findings = append(b.Findings, Finding{
			Finding:  findingLine(rf.Finding),
			Compound: Compound{ID: rf.Finding.Compound, Name: c.Name, Country: c.Country},
			Report:   rec,
		})
	}
	return b
}

func findingLine(f *seams.Finding) []byte {
	return bytes.TrimSuffix(jsonl.AppendFinding(nil, f), []byte("\n"))
}

// FromStore makes a bundle of findings of a store, by id, as p may see
// them.
func FromStore(ctx context.Context, st seams.Store, p seams.Principal, ids []int64, created time.Time) (*Bundle, error) {
	b := &Bundle{
		Type:    Type,
		Created: created.UTC(),
		Seams:   seams.ThisBuild(),
		Source: Source{
			Kind: "store",
			Missing: []string{
				"rule parameters other than the drift (the over-correlation limit and lifted caps, shared lists, databases): the store does not record them with its runs yet",
				"the inputs' SHA-256: the store keeps each indicator file version's, not a run's",
				"caps of over-correlated indicators: the store does not keep them with findings",
			},
		},
		Rules: Rules,
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	state := snap.State()
	if state.LastRun != nil {
		r := state.LastRun
		b.Source.Run = r.ID
		b.Source.RunStarted = r.Started.UTC().Format(time.RFC3339)
		b.Source.Drift = r.Drift.String()
		b.Source.RegistryVersion = r.RegistryVersion
		if r.RegistryVersion == state.RegistryVersion {
			reg, err := snap.Registry(ctx)
			if err != nil {
				snap.Close()
				return nil, err
			}
			b.Source.RegistrySHA256 = StoreRegistryHash(reg)
		} else {
			b.Source.Missing = append(b.Source.Missing, fmt.Sprintf("the registry snapshot hash: the registry changed (version %d) since the last run matched against version %d", state.RegistryVersion, r.RegistryVersion))
		}
	}
	snap.Close()
	for _, id := range ids {
		d, err := st.Finding(ctx, p, id)
		if err != nil {
			return nil, fmt.Errorf("finding %d: %w", id, err)
		}
		if d.Tier == seams.TierNone {
			return nil, fmt.Errorf("finding %d is withdrawn: it has no evidence to bundle", id)
		}
		inds := map[int64]*seams.Indicator{}
		vers := map[int64]*seams.StoredIndicator{}
		for i := range d.Indicators {
			inds[d.Indicators[i].ID] = &d.Indicators[i].Indicator
			vers[d.Indicators[i].ID] = &d.Indicators[i]
		}
		f, err := d.StoredFinding.Resolve(inds)
		if err != nil {
			return nil, err
		}
		rec := NewReportRecord(&d.Report.Report)
		rec.File, rec.Line, rec.Org, rec.Source = d.Report.File, d.Report.Line, d.Report.Org, d.Report.Source
		rec.Loaded = d.Report.Loaded.UTC().Format(time.RFC3339)
		bf := Finding{
			ID:       d.ID,
			Finding:  findingLine(&f),
			Compound: Compound{ID: d.Compound.ID, Name: d.Compound.Name, Country: d.Compound.Country, Province: d.Compound.Province, Status: string(d.Compound.Status)},
			Report:   rec,
		}
		for _, e := range d.Evidence {
			v := vers[e.Indicator]
			iv := IndicatorVersion{ID: v.ID, Kind: v.Kind.String(), Value: v.Value, Version: v.Version, File: v.File, Line: v.Line,
				FileVersion: v.FileVersion, Org: v.Org, Source: v.Source, AddedBy: v.AddedBy, Added: v.Added.UTC().Format(time.RFC3339)}
			if !v.Retired.IsZero() {
				iv.Retired = v.Retired.UTC().Format(time.RFC3339)
			}
			bf.Indicators = append(bf.Indicators, iv)
		}
		for _, r := range d.Reviews {
			bf.Reviews = append(bf.Reviews, Review{Mark: string(r.Mark), Comment: r.Comment, By: r.By, At: r.At.UTC().Format(time.RFC3339), Version: r.Version})
		}
		for _, h := range d.History {
			he := HistoryEntry{Version: h.ID, Run: h.Run, Kind: string(h.Kind), Tier: h.Tier.String()}
			if h.From != seams.TierNone {
				he.From = h.From.String()
			}
			bf.History = append(bf.History, he)
		}
		b.Findings = append(b.Findings, bf)
	}
	return b, nil
}
