package brief

import (
	"context"
	"fmt"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/redact"
)

// StoreOptions say how to make a brief of a store.
type StoreOptions struct {
	Title  string
	Source string // how to name the store in the brief
	Redact *redact.Key
	// MaskDevice, when set, masks the devices of the appendix (for a
	// principal who may not see them whole).
	MaskDevice func(seams.DeviceID) seams.DeviceID
	Made       time.Time
}

// FromStore makes the data of a brief from what a store holds that p may
// see: its summary, its current findings and its reports. The reads are
// audited by the store, as every read of findings and reports is.
func FromStore(ctx context.Context, st seams.Store, p seams.Principal, o StoreOptions) (*Data, error) {
	s, err := st.Summary(ctx, p, seams.SummaryQuery{})
	if err != nil {
		return nil, err
	}
	d := &Data{
		Title:     o.Title,
		Source:    o.Source,
		Made:      o.Made,
		Seams:     seams.ThisBuild(),
		Scanned:   s.Reports,
		Tied:      s.TiedReports,
		Potential: s.PotentialReports,
		Registry:  s.Registry,
		ByCountry: s.ByCountry,
		Reviews:   &s.Reviews,
		Missing: []string{
			"the parameters of the store's runs other than the drift (the over-correlation cap and lifted caps, shared lists and databases in force): the store does not record them with its runs yet",
			"the SHA-256 of the inputs behind the figures: the store keeps each indicator file version's, not a run's",
			"rejected records and unroutable events: the store keeps the reports it accepted",
		},
	}
	if d.Title == "" {
		d.Title = DefaultTitle
	}
	if d.Source == "" {
		d.Source = "a store"
	}
	if s.LastRun != nil {
		d.Drift = s.LastRun.Drift.String()
		d.Source += fmt.Sprintf(" (last run %d, %s)", s.LastRun.ID, s.LastRun.Finished.UTC().Format("2006-01-02 15:04 UTC"))
	}
	d.Limits = Limits{Reports: s.Reports, Events: s.Events}
	b := NewBuilder(d, o.Redact)
	if o.MaskDevice != nil {
		b.MaskDevices(o.MaskDevice)
	}
	cs, err := st.Compounds(ctx)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		b.Compound(&cs[i])
	}
	inds := map[int64]*seams.Indicator{}
	q := seams.FindingQuery{Limit: 1000}
	for {
		page, err := st.Findings(ctx, p, q)
		if err != nil {
			return nil, err
		}
		// The indicators of the page's findings: their sources, and the
		// appendix.
		var need []int64
		for i := range page.Findings {
			f := &page.Findings[i]
			for _, e := range f.Evidence {
				if _, ok := inds[e.Indicator]; !ok {
					need = append(need, e.Indicator)
					inds[e.Indicator] = nil
				}
			}
		}
		for len(need) > 0 {
			n := min(len(need), 1000)
			ip, err := st.Indicators(ctx, p, seams.IndicatorQuery{IDs: need[:n], Retired: true, Limit: n})
			if err != nil {
				return nil, err
			}
			for i := range ip.Indicators {
				inds[ip.Indicators[i].ID] = &ip.Indicators[i].Indicator
			}
			need = need[n:]
		}
		for i := range page.Findings {
			sf := &page.Findings[i]
			f := seams.Finding{Report: sf.Report, Compound: sf.Compound, Tier: sf.Tier}
			for _, e := range sf.Evidence {
				in := inds[e.Indicator]
				if in == nil {
					return nil, fmt.Errorf("finding %d: indicator %d: %w", sf.ID, e.Indicator, seams.ErrNotFound)
				}
				f.Evidence = append(f.Evidence, seams.Evidence{Rule: e.Rule, Indicator: in, Observed: e.Observed, Drift: e.Drift, Shared: e.Shared, SharedWhy: e.SharedWhy})
			}
			b.Add(&f)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	rq := seams.ReportQuery{Limit: 1000}
	for {
		page, err := st.Reports(ctx, p, rq)
		if err != nil {
			return nil, err
		}
		for i := range page.Reports {
			b.Received(&page.Reports[i].Report)
		}
		if page.Next == "" {
			break
		}
		rq.Cursor = page.Next
	}
	b.Data(s.ByCompound)
	return d, nil
}
