package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/seams-dev/seams"
)

// Source is what FromStore reads: the findings, indicators and compounds
// of a store, as a principal sees them. seams.Store is one.
type Source interface {
	Findings(ctx context.Context, p seams.Principal, q seams.FindingQuery) (seams.FindingPage, error)
	Indicators(ctx context.Context, p seams.Principal, q seams.IndicatorQuery) (seams.IndicatorPage, error)
	Compounds(ctx context.Context) ([]seams.Compound, error)
}

// StoreOptions configure FromStore.
type StoreOptions struct {
	Format Format
	// Query selects the findings, as GET /api/findings and seams findings
	// do; its Cursor, Limit and Count are ignored (every match is
	// written, in the query's order).
	Query seams.FindingQuery
	Org   string    // the reporting organisation (stix, misp, gse)
	Time  time.Time // zero: the latest instant in the data
	BOM   bool      // csv
	// MaskDevice, when set, replaces every device identifier written
	// (observed devices and device indicators): the API masks them for
	// viewers, as everywhere else.
	MaskDevice func(seams.DeviceID) seams.DeviceID
}

// pageSize is how many findings FromStore reads at a time.
const pageSize = 1000

// FromStore writes the findings a query selects from a store, in the
// format asked, with the writers Run uses on the output of seams xref: a
// finding read from the store is resolved to the finding seams xref wrote
// (its evidence pointing at the indicator versions that fired), so the
// same findings give the same bytes whichever way they came. CSV and
// Parquet are written page by page; STIX, MISP and the signal feed need
// every finding first (their objects are grouped by compound and
// indicator). The compounds written are those of the findings, the
// indicators those of their evidence, as Run does without registry files.
func FromStore(ctx context.Context, src Source, p seams.Principal, o StoreOptions, w io.Writer) (*Result, error) {
	switch o.Format {
	case STIX, MISP, CSV, Parquet, GSE:
	case "":
		return nil, errors.New("export: no format")
	default:
		return nil, fmt.Errorf("export: unknown format %q", o.Format)
	}
	if (o.Format == STIX || o.Format == MISP || o.Format == GSE) && o.Org == "" {
		return nil, fmt.Errorf("export: %s needs the reporting organisation", o.Format)
	}
	if o.BOM && o.Format != CSV {
		return nil, fmt.Errorf("export: a byte-order mark is for csv, not %s", o.Format)
	}
	all, err := src.Compounds(ctx)
	if err != nil {
		return nil, fmt.Errorf("export: compounds: %w", err)
	}
	names := map[string]seams.Compound{}
	for _, c := range all {
		names[c.ID] = c
	}
	res := &Result{}
	var put func([]Row) error
	finish := func() error { return nil }
	switch o.Format {
	case CSV:
		cw, err := NewCSVWriter(w, CSVOptions{BOM: o.BOM})
		if err != nil {
			return nil, err
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
	case Parquet:
		pw := NewParquetWriter(w)
		put = func(rows []Row) error { _, err := pw.Write(rows); return err }
		finish = pw.Close
	}
	var findings []seams.Finding
	var rows []Row
	inds := map[int64]*seams.Indicator{}
	q := o.Query
	q.Cursor, q.Limit, q.Count = "", pageSize, false
	for {
		page, err := src.Findings(ctx, p, q)
		if err != nil {
			return nil, fmt.Errorf("export: findings: %w", err)
		}
		if err := resolve(ctx, src, p, page.Findings, inds, o.MaskDevice); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		for i := range page.Findings {
			if o.MaskDevice != nil {
				ev := page.Findings[i].Evidence
				for j := range ev {
					if ev[j].Observed.Device != (seams.DeviceID{}) {
						ev[j].Observed.Device = o.MaskDevice(ev[j].Observed.Device)
					}
				}
			}
			f, err := page.Findings[i].Resolve(inds)
			if err != nil {
				return nil, fmt.Errorf("export: %w", err)
			}
			res.Findings++
			if put == nil {
				findings = append(findings, f)
				continue
			}
			rows = Rows(rows[:0], &f, names)
			res.Rows += len(rows)
			if err := put(rows); err != nil {
				return nil, err
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if put != nil {
		return res, finish()
	}
	// The compounds of the findings, in the registry's order.
	var compounds []seams.Compound
	seen := map[string]bool{}
	for i := range findings {
		seen[findings[i].Compound] = true
	}
	for _, c := range all {
		if seen[c.ID] {
			compounds = append(compounds, c)
		}
	}
	at := o.Time
	if at.IsZero() {
		at = latest(nil, findings)
	}
	if at.IsZero() {
		return nil, ErrNoTime
	}
	res.Time = at.UTC()
	eo := Options{Format: o.Format, Org: o.Org}
	if err := write(eo, w, res, compounds, nil, findings); err != nil {
		return nil, err
	}
	return res, nil
}

// resolve adds to inds the indicator versions the findings name that it
// lacks, read from the store; device indicators masked when mask is set.
func resolve(ctx context.Context, src Source, p seams.Principal, fs []seams.StoredFinding, inds map[int64]*seams.Indicator,
	mask func(seams.DeviceID) seams.DeviceID) error {
	var ids []int64
	for i := range fs {
		for _, id := range fs[i].Indicators() {
			if _, ok := inds[id]; !ok {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for chunk := range slices.Chunk(ids, 5000) {
		page, err := src.Indicators(ctx, p, seams.IndicatorQuery{IDs: chunk, Limit: len(chunk)})
		if err != nil {
			return fmt.Errorf("indicators: %w", err)
		}
		for i := range page.Indicators {
			in := &page.Indicators[i].Indicator
			if mask != nil && in.Kind == seams.KindDevice {
				in.Device = mask(in.Device)
				in.Value = in.Device.String()
			}
			inds[page.Indicators[i].ID] = in
		}
	}
	return nil
}
