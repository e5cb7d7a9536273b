package storetest

import (
	"cmp"
	"slices"
	"testing"

	"github.com/seams-dev/seams"
)

// The review queue's queries: the filters by evidence (rule, source, AS),
// stale reviews, the orders by recency and tier, and pages both ways.
// Each is held to a slow twin over every finding listed by id.

// checkEvidenceFilters holds the filters by rule, indicator source and AS
// to a filter of every finding's evidence in Go, for each value the
// findings hold; it fails if the data holds none of a kind it was asked
// to see (wantASN: the store's runs had enrichment).
func checkEvidenceFilters(t *testing.T, st seams.Store, p seams.Principal, wantASN bool) {
	t.Helper()
	all := allFindings(t, st, p, seams.FindingQuery{Limit: 1000})
	var ids []int64
	for i := range all {
		ids = append(ids, all[i].Indicators()...)
	}
	source := map[int64]string{}
	for chunk := range slices.Chunk(ids, 5000) {
		page, err := st.Indicators(ctx(), p, seams.IndicatorQuery{IDs: chunk, Limit: 10000})
		must(t, err)
		for _, in := range page.Indicators {
			source[in.ID] = in.Source
		}
	}
	rules, sources, asns := map[seams.Rule]bool{}, map[string]bool{}, map[uint32]bool{}
	for i := range all {
		for _, e := range all[i].Evidence {
			rules[e.Rule] = true
			if s := source[e.Indicator]; s != "" {
				sources[s] = true
			}
			if e.Observed.Net.ASN != 0 {
				asns[e.Observed.Net.ASN] = true
			}
		}
	}
	if len(rules) < 2 || len(sources) == 0 || wantASN && len(asns) == 0 {
		t.Fatalf("the findings hold %d rules, %d sources, %d ASes: too few to test the filters", len(rules), len(sources), len(asns))
	}
	check := func(name string, q seams.FindingQuery, keep func(e *seams.StoredEvidence) bool) {
		t.Helper()
		var want, got []int64
		for i := range all {
			if slices.ContainsFunc(all[i].Evidence, func(e seams.StoredEvidence) bool { return keep(&e) }) {
				want = append(want, all[i].ID)
			}
		}
		q.Limit = 7
		for _, f := range allFindings(t, st, p, q) {
			got = append(got, f.ID)
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: findings %v, want %v (and some)", name, got, want)
		}
	}
	for r := range rules {
		check("rule "+r.String(), seams.FindingQuery{Rule: r}, func(e *seams.StoredEvidence) bool { return e.Rule == r })
	}
	for s := range sources {
		check("source "+s, seams.FindingQuery{Source: s}, func(e *seams.StoredEvidence) bool { return source[e.Indicator] == s })
	}
	n := 0
	for a := range asns {
		if n++; n > 5 {
			break
		}
		check("asn", seams.FindingQuery{ASN: a}, func(e *seams.StoredEvidence) bool { return e.Observed.Net.ASN == a })
	}
}

// checkOrders pages through the findings q selects in every order, pages
// of 3 forward to the end and then back by Prev to the start, and holds
// them to every finding sorted in Go.
func checkOrders(t *testing.T, st seams.Store, p seams.Principal, q seams.FindingQuery) {
	t.Helper()
	base := q
	base.Limit, base.Sort = 1000, seams.SortOldest
	all := allFindings(t, st, p, base)
	if len(all) < 7 {
		t.Fatalf("%d findings: too few to page", len(all))
	}
	recent := func(a, b *seams.StoredFinding) int {
		// Findings with a time first, the latest first; then by id,
		// newest first.
		if c := cmp.Compare(boolInt(!b.At.IsZero()), boolInt(!a.At.IsZero())); c != 0 {
			return c
		}
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	}
	orders := map[seams.Sort]func(a, b *seams.StoredFinding) int{
		seams.SortOldest: func(a, b *seams.StoredFinding) int { return cmp.Compare(a.ID, b.ID) },
		seams.SortNewest: func(a, b *seams.StoredFinding) int { return cmp.Compare(b.ID, a.ID) },
		seams.SortRecent: recent,
		seams.SortTier: func(a, b *seams.StoredFinding) int {
			if c := cmp.Compare(b.Tier, a.Tier); c != 0 {
				return c
			}
			return recent(a, b)
		},
	}
	for sort, by := range orders {
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b seams.StoredFinding) int { return by(&a, &b) })
		q := q
		q.Sort, q.Limit, q.Cursor = sort, 3, ""
		var fwd []int64
		var prevs []string
		var page seams.FindingPage
		for i := 0; ; i++ {
			var err error
			page, err = st.Findings(ctx(), p, q)
			must(t, err)
			if (q.Cursor == "") != (page.Prev == "") {
				t.Errorf("sort %q page %d: prev %q after cursor %q", sort, i, page.Prev, q.Cursor)
			}
			for _, f := range page.Findings {
				fwd = append(fwd, f.ID)
			}
			prevs = append(prevs, page.Prev)
			if page.Next == "" || i > 1000 {
				break
			}
			q.Cursor = page.Next
		}
		var wantIDs []int64
		for _, f := range want {
			wantIDs = append(wantIDs, f.ID)
		}
		if !slices.Equal(fwd, wantIDs) {
			t.Errorf("sort %q forward: %v, want %v", sort, fwd, wantIDs)
			continue
		}
		// Back from the last page to the first.
		back := []int64{}
		for _, f := range page.Findings {
			back = append(back, f.ID)
		}
		q.Cursor = page.Prev
		for i := 0; q.Cursor != "" && i < 1000; i++ {
			pg, err := st.Findings(ctx(), p, q)
			must(t, err)
			var ids []int64
			for _, f := range pg.Findings {
				ids = append(ids, f.ID)
			}
			back = append(ids, back...)
			if pg.Next == "" {
				t.Errorf("sort %q: a page read backwards has no next", sort)
			}
			q.Cursor = pg.Prev
		}
		if !slices.Equal(back, wantIDs) {
			t.Errorf("sort %q backward: %v, want %v", sort, back, wantIDs)
		}
	}
	_, err := st.Findings(ctx(), p, seams.FindingQuery{Sort: seams.SortTier, Cursor: "f12"})
	wantErr(t, err, seams.ErrInvalid, "a cursor of another order")
	_, err = st.Findings(ctx(), p, seams.FindingQuery{Sort: seams.SortTier, Cursor: "fbr:1.2.3"})
	wantErr(t, err, seams.ErrInvalid, "a cursor of another order")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
