// Package aggregate makes publication-safe counts of findings: reports by
// compound, incident type, month and tier, with small counts suppressed so
// that neither a cell nor the totals published beside it can reveal how
// few reports lie behind a figure.
//
// The table of one tier has a row per compound and a column per (incident
// type, month). A cell counts the distinct reports whose finding with that
// compound has that tier, whose incident type is the column's, and whose
// month (of the finding's earliest observation) is the column's. A finding
// is one (report, compound) pair, so a report is counted once in a cell; a
// report with findings for two compounds is counted in a cell of each.
// Published beside the cells: each compound's total (the sum of its row),
// each column's total and the grand total, which count every report once
// (so a column's total can be less than the sum of its cells). Tiers are
// separate tables, never added together.
//
// Suppression: a cell or total under K (default 10) and not zero is
// suppressed (primary suppression). Then, so that no suppressed value can
// be worked out from the published ones, more are suppressed
// (complementary suppression) until no suppressed value is determined by
// the totals. Treating every total as the sum of what it totals (the worst
// case: no report counted in two rows), the table with its totals is a
// set of linear equations, one per row and one per column; a suppressed
// value is determined exactly when it is a bridge of the graph whose nodes
// are the rows and columns and whose edges are the suppressed values. The
// complement chosen for a bridge is the smallest nonzero published value
// that closes a cycle through it. Since every suppressed value is then at
// least 1 and lies on a cycle, adding and taking 1 alternately around the
// cycle gives another table of non-negative whole numbers with the same
// published values: no suppressed value can be pinned, even knowing that
// counts are whole and never negative.
package aggregate

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/seams-dev/seams"
)

// DefaultK is the smallest count published.
const DefaultK = 10

// Undated is the month of a finding none of whose evidence has a time;
// Unspecified the incident type of a report that gave none.
const (
	Undated     = "undated"
	Unspecified = "unspecified"
)

// Finding is what the aggregate needs of a finding.
type Finding struct {
	Report   string
	Compound string
	Tier     seams.Tier
	Incident string // the report's incident type; "" for none
	// At is the finding's earliest observation; zero when none has a time.
	At time.Time
}

// Month returns the month of a time as the aggregate writes it, UTC
// "2006-01", or Undated for the zero time.
func Month(t time.Time) string {
	if t.IsZero() {
		return Undated
	}
	return t.UTC().Format("2006-01")
}

// Earliest returns the earliest observation time of a finding's evidence,
// or the zero time when none has one: the time by which a finding is
// placed in a month, here and in the store (StoredFinding.At).
func Earliest(ev []seams.Evidence) time.Time {
	var at time.Time
	for i := range ev {
		t := ev[i].Observed.At
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at
}

// Column is a column of a table: an incident type and a month.
type Column struct {
	Incident string
	Month    string
}

// Value is a published count, or a suppressed one.
type Value struct {
	N          int
	Suppressed bool
}

// Table is the aggregate of one tier. Cells[r][c] counts the reports of
// compound Rows[r] in column Cols[c]; RowTotals[r] is the sum of row r;
// ColTotals[c] and Total count distinct reports.
type Table struct {
	Tier      seams.Tier
	Rows      []string
	Cols      []Column
	Cells     [][]Value
	RowTotals []Value
	ColTotals []Value
	Total     Value
}

// Result is the aggregate of a run: one table per tier, tied first.
type Result struct {
	K      int
	Tables []*Table
	// Findings counts the findings aggregated, and Reports the distinct
	// reports among them.
	Findings int
	Reports  int
}

// ErrDuplicate: two findings for one (report, compound) pair.
var ErrDuplicate = errors.New("two findings for one report and compound")

// Build aggregates findings and suppresses small counts, with k the
// smallest count published (k <= 0 means DefaultK).
func Build(fs []Finding, k int) (*Result, error) {
	if k <= 0 {
		k = DefaultK
	}
	type pair struct{ report, compound string }
	seen := make(map[pair]bool, len(fs))
	reports := map[string]bool{}
	res := &Result{K: k}
	for _, f := range fs {
		if f.Tier != seams.TierTied && f.Tier != seams.TierPotential {
			return nil, fmt.Errorf("report %q, compound %q: tier %v is neither tied nor potential", f.Report, f.Compound, f.Tier)
		}
	}
	for _, tier := range []seams.Tier{seams.TierTied, seams.TierPotential} {
		rowIx, colIx := map[string]int{}, map[Column]int{}
		for _, f := range fs {
			if f.Tier != tier {
				continue
			}
			rowIx[f.Compound] = 0
			colIx[column(&f)] = 0
		}
		t := &Table{Tier: tier}
		for r := range rowIx {
			t.Rows = append(t.Rows, r)
		}
		slices.Sort(t.Rows)
		for c := range colIx {
			t.Cols = append(t.Cols, c)
		}
		slices.SortFunc(t.Cols, func(a, b Column) int {
			return cmp.Or(cmp.Compare(a.Incident, b.Incident), cmp.Compare(a.Month, b.Month))
		})
		for i, r := range t.Rows {
			rowIx[r] = i
		}
		for i, c := range t.Cols {
			colIx[c] = i
		}
		t.Cells = make([][]Value, len(t.Rows))
		for i := range t.Cells {
			t.Cells[i] = make([]Value, len(t.Cols))
		}
		t.RowTotals = make([]Value, len(t.Rows))
		t.ColTotals = make([]Value, len(t.Cols))
		colReports := make([]map[string]bool, len(t.Cols))
		all := map[string]bool{}
		for _, f := range fs {
			if f.Tier != tier {
				continue
			}
			p := pair{f.Report, f.Compound}
			if seen[p] {
				return nil, fmt.Errorf("report %q, compound %q: %w", f.Report, f.Compound, ErrDuplicate)
			}
			seen[p] = true
			reports[f.Report] = true
			res.Findings++
			r, c := rowIx[f.Compound], colIx[column(&f)]
			t.Cells[r][c].N++
			t.RowTotals[r].N++
			if colReports[c] == nil {
				colReports[c] = map[string]bool{}
			}
			colReports[c][f.Report] = true
			all[f.Report] = true
		}
		for c := range colReports {
			t.ColTotals[c].N = len(colReports[c])
		}
		t.Total.N = len(all)
		t.suppress(k)
		res.Tables = append(res.Tables, t)
	}
	res.Reports = len(reports)
	return res, nil
}

func column(f *Finding) Column {
	inc := f.Incident
	if inc == "" {
		inc = Unspecified
	}
	return Column{Incident: inc, Month: Month(f.At)}
}

// entry returns the value at (r, c) of the extended table, whose last row
// holds the column totals and last column the row totals.
func (t *Table) entry(r, c int) *Value {
	R, C := len(t.Rows), len(t.Cols)
	switch {
	case r == R && c == C:
		return &t.Total
	case r == R:
		return &t.ColTotals[c]
	case c == C:
		return &t.RowTotals[r]
	}
	return &t.Cells[r][c]
}

// suppress applies primary suppression (1 <= n < k), then complementary
// suppression until no suppressed value is a bridge (see the package
// comment).
func (t *Table) suppress(k int) {
	t.primary(k)
	t.complement()
}

// primary suppresses the values from 1 to k-1.
func (t *Table) primary(k int) {
	R, C := len(t.Rows), len(t.Cols)
	for r := 0; r <= R; r++ {
		for c := 0; c <= C; c++ {
			if v := t.entry(r, c); v.N >= 1 && v.N < k {
				v.Suppressed = true
			}
		}
	}
}

// complement suppresses more values until no suppressed one is a bridge.
func (t *Table) complement() {
	R := len(t.Rows)
	// Each round suppresses one more value, so the loop ends (at worst
	// with everything suppressed, where no edge is a bridge).
	for {
		g := t.graph()
		br, ok := g.firstBridge()
		if !ok {
			return
		}
		r, c := br.r, br.c
		side := g.sides(r, c)
		joins := func(r2, c2 int) bool {
			// A value joining the two sides closes a cycle through (r, c).
			a, b := side[r2], side[R+1+c2]
			return a != 0 && b != 0 && a != b
		}
		best := t.pick(joins)
		if best == nil {
			// Nothing nonzero joins the sides: extend from row r or column
			// c, and try again next round.
			best = t.pick(func(r2, c2 int) bool { return r2 == r || c2 == c })
		}
		if best == nil {
			best = t.pickZero(func(r2, c2 int) bool { return joins(r2, c2) || r2 == r || c2 == c })
		}
		if best == nil {
			// Unreachable: a bridge always has a published value beside it
			// in a table of at least one row and column with totals.
			panic("aggregate: no complement for a suppressed value")
		}
		best.Suppressed = true
	}
}

// pick returns the published nonzero value with the smallest count among
// the entries (r, c) for which ok holds; among equal counts, a cell
// before a total, then the first in row-major order.
func (t *Table) pick(ok func(r, c int) bool) *Value {
	R, C := len(t.Rows), len(t.Cols)
	var best *Value
	bestTotal := true
	for r := 0; r <= R; r++ {
		for c := 0; c <= C; c++ {
			v := t.entry(r, c)
			if v.Suppressed || v.N == 0 || !ok(r, c) {
				continue
			}
			total := r == R || c == C
			if best == nil || v.N < best.N || v.N == best.N && bestTotal && !total {
				best, bestTotal = v, total
			}
		}
	}
	return best
}

func (t *Table) pickZero(ok func(r, c int) bool) *Value {
	R, C := len(t.Rows), len(t.Cols)
	for r := 0; r <= R; r++ {
		for c := 0; c <= C; c++ {
			if v := t.entry(r, c); !v.Suppressed && ok(r, c) {
				return v
			}
		}
	}
	return nil
}

// graph is the bipartite graph of suppressed values: nodes 0..R are the
// rows of the extended table (R is the totals row), R+1..R+C+1 its
// columns; an edge per suppressed value.
type graph struct {
	R, C int
	adj  [][]edge
}

type edge struct {
	to   int
	r, c int
}

func (t *Table) graph() *graph {
	R, C := len(t.Rows), len(t.Cols)
	g := &graph{R: R, C: C, adj: make([][]edge, R+C+2)}
	for r := 0; r <= R; r++ {
		for c := 0; c <= C; c++ {
			if t.entry(r, c).Suppressed {
				g.adj[r] = append(g.adj[r], edge{to: R + 1 + c, r: r, c: c})
				g.adj[R+1+c] = append(g.adj[R+1+c], edge{to: r, r: r, c: c})
			}
		}
	}
	return g
}

// firstBridge returns the bridge (r, c) first in row-major order, if any.
func (g *graph) firstBridge() (edge, bool) {
	n := len(g.adj)
	disc, low := make([]int, n), make([]int, n)
	timer := 0
	var bridges []edge
	// Iterative DFS (Tarjan): tables can have thousands of columns.
	type frame struct {
		v, parentEdge, i int
	}
	for s := 0; s < n; s++ {
		if disc[s] != 0 || len(g.adj[s]) == 0 {
			continue
		}
		timer++
		disc[s], low[s] = timer, timer
		stack := []frame{{v: s, parentEdge: -1}}
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.i < len(g.adj[f.v]) {
				e := g.adj[f.v][f.i]
				f.i++
				id := e.r*(g.C+1) + e.c
				if id == f.parentEdge {
					continue
				}
				if disc[e.to] == 0 {
					timer++
					disc[e.to], low[e.to] = timer, timer
					stack = append(stack, frame{v: e.to, parentEdge: id})
				} else {
					low[f.v] = min(low[f.v], disc[e.to])
				}
				continue
			}
			v, pe := f.v, f.parentEdge
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				p := stack[len(stack)-1].v
				low[p] = min(low[p], low[v])
				if low[v] > disc[p] {
					bridges = append(bridges, edge{r: pe / (g.C + 1), c: pe % (g.C + 1)})
				}
			}
		}
	}
	if len(bridges) == 0 {
		return edge{}, false
	}
	return slices.MinFunc(bridges, func(a, b edge) int { return cmp.Or(cmp.Compare(a.r, b.r), cmp.Compare(a.c, b.c)) }), true
}

// sides returns, for every node, 1 if it is reached from row r without
// crossing the bridge (r, c), 2 if reached from column c without it, and 0
// if neither (another component).
func (g *graph) sides(r, c int) []int8 {
	side := make([]int8, len(g.adj))
	for _, st := range [2]struct {
		mark  int8
		start int
	}{{1, r}, {2, g.R + 1 + c}} {
		mark, start := st.mark, st.start
		side[start] = mark
		stack := []int{start}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, e := range g.adj[v] {
				if e.r == r && e.c == c || side[e.to] != 0 {
					continue
				}
				side[e.to] = mark
				stack = append(stack, e.to)
			}
		}
	}
	return side
}

// SuppressedCount returns how many cells and totals of t are suppressed.
func (t *Table) SuppressedCount() int {
	n := 0
	for r := 0; r <= len(t.Rows); r++ {
		for c := 0; c <= len(t.Cols); c++ {
			if t.entry(r, c).Suppressed {
				n++
			}
		}
	}
	return n
}
