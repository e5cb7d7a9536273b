package aggregate

import (
	"bytes"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/golden"
)

// randomFindings makes findings over rows compounds, incidents and months,
// each report with one compound (so that every total is the sum of what it
// totals, the case the suppression must hold against), and, when shared
// is set, some reports with a finding for a second compound too.
func randomFindings(rng *rand.Rand, rows, incidents, months, reports int, shared bool) []Finding {
	var fs []Finding
	for i := range reports {
		tier := seams.TierTied
		if rng.IntN(3) == 0 {
			tier = seams.TierPotential
		}
		f := Finding{
			Report:   fmt.Sprintf("r-%d", i),
			Compound: fmt.Sprintf("c-%d", zipf(rng, rows)),
			Tier:     tier,
			Incident: fmt.Sprintf("inc-%d", zipf(rng, incidents)),
			At:       time.Date(2023, time.Month(1+zipf(rng, months)), 3, 0, 0, 0, 0, time.UTC),
		}
		fs = append(fs, f)
		if shared && rng.IntN(5) == 0 {
			g := f
			g.Compound = fmt.Sprintf("c-%d", (zipf(rng, rows)+1)%rows)
			if g.Compound != f.Compound {
				fs = append(fs, g)
			}
		}
	}
	return fs
}

// zipf draws from 0..n-1, small numbers more often, so that tables have
// both large and small counts.
func zipf(rng *rand.Rand, n int) int {
	return min(n-1, int(float64(n)*rng.Float64()*rng.Float64()))
}

// system is the linear system an attacker builds from a published table:
// one unknown per suppressed value, one equation per row and per column
// of the table with its totals (each total the sum of what it totals).
type system struct {
	unknowns [][2]int // (r, c) of each suppressed value in the extended table
	rows     [][]*big.Rat
}

func attack(t *Table) *system {
	R, C := len(t.Rows), len(t.Cols)
	s := &system{}
	index := map[[2]int]int{}
	for r := 0; r <= R; r++ {
		for c := 0; c <= C; c++ {
			if t.entry(r, c).Suppressed {
				index[[2]int{r, c}] = len(s.unknowns)
				s.unknowns = append(s.unknowns, [2]int{r, c})
			}
		}
	}
	// Row r: the cells (or column totals) minus the row's total is 0.
	line := func(at func(i int) [2]int, n int, total [2]int) {
		eq := make([]*big.Rat, len(s.unknowns))
		for j := range eq {
			eq[j] = new(big.Rat)
		}
		for i := range n {
			if j, ok := index[at(i)]; ok {
				eq[j].SetInt64(1)
			}
		}
		if j, ok := index[total]; ok {
			eq[j].SetInt64(-1)
		}
		s.rows = append(s.rows, eq)
	}
	for r := 0; r <= R; r++ {
		line(func(i int) [2]int { return [2]int{r, i} }, C, [2]int{r, C})
	}
	for c := 0; c <= C; c++ {
		line(func(i int) [2]int { return [2]int{i, c} }, R, [2]int{R, c})
	}
	return s
}

// rank is the rank of rows over the rationals, by Gaussian elimination.
func rank(rows [][]*big.Rat) int {
	m := make([][]*big.Rat, len(rows))
	for i, r := range rows {
		m[i] = make([]*big.Rat, len(r))
		for j, v := range r {
			m[i][j] = new(big.Rat).Set(v)
		}
	}
	rk := 0
	cols := 0
	if len(m) > 0 {
		cols = len(m[0])
	}
	for c := 0; c < cols && rk < len(m); c++ {
		p := -1
		for i := rk; i < len(m); i++ {
			if m[i][c].Sign() != 0 {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		m[rk], m[p] = m[p], m[rk]
		for i := range m {
			if i == rk || m[i][c].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Quo(m[i][c], m[rk][c])
			for j := c; j < cols; j++ {
				m[i][j].Sub(m[i][j], new(big.Rat).Mul(f, m[rk][j]))
			}
		}
		rk++
	}
	return rk
}

// determined returns the unknowns the equations pin: those whose unit
// vector lies in the row space (adding it does not raise the rank).
func (s *system) determined() [][2]int {
	base := rank(s.rows)
	var out [][2]int
	for j := range s.unknowns {
		unit := make([]*big.Rat, len(s.unknowns))
		for i := range unit {
			unit[i] = new(big.Rat)
		}
		unit[j].SetInt64(1)
		if rank(append(s.rows[:len(s.rows):len(s.rows)], unit)) == base {
			out = append(out, s.unknowns[j])
		}
	}
	return out
}

// TestNoSuppressedValueIsDetermined tries to recover every suppressed
// value of random tables by solving the linear equations of their totals
// (an exact rational solver, independent of the bridge test the
// suppression uses) and fails if it can pin any. Non-vacuity: the same
// solver pins values of the tables with primary suppression alone.
func TestNoSuppressedValueIsDetermined(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 19))
	pinnedPrimary, suppressed := 0, 0
	for trial := range 150 {
		fs := randomFindings(rng, 2+rng.IntN(6), 1+rng.IntN(3), 1+rng.IntN(5), 20+rng.IntN(200), trial%2 == 1)
		k := 2 + rng.IntN(9)
		res, err := Build(fs, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range res.Tables {
			if len(tb.Rows) == 0 {
				continue
			}
			if d := attack(tb).determined(); len(d) > 0 {
				t.Fatalf("trial %d, %s table: suppressed values %v are determined by the totals", trial, tb.Tier, d)
			}
			for r := 0; r <= len(tb.Rows); r++ {
				for c := 0; c <= len(tb.Cols); c++ {
					v := tb.entry(r, c)
					if v.Suppressed {
						suppressed++
						if v.N == 0 {
							t.Errorf("trial %d: a zero was suppressed at %d,%d (every suppressed value should be at least 1)", trial, r, c)
						}
					}
					if v.N >= 1 && v.N < k && !v.Suppressed {
						t.Errorf("trial %d: %d < k=%d published at %d,%d", trial, v.N, k, r, c)
					}
				}
			}
			// The same table with primary suppression only.
			p := clearSuppression(tb)
			p.primary(k)
			pinnedPrimary += len(attack(p).determined())
		}
	}
	if pinnedPrimary == 0 || suppressed == 0 {
		t.Fatalf("vacuous: primary suppression alone left %d values determined, %d suppressed in all", pinnedPrimary, suppressed)
	}
	t.Logf("%d values suppressed; with primary suppression alone the solver pinned %d", suppressed, pinnedPrimary)
}

func clearSuppression(t *Table) *Table {
	c := &Table{Tier: t.Tier, Rows: t.Rows, Cols: t.Cols, Total: Value{N: t.Total.N}}
	for _, row := range t.Cells {
		var out []Value
		for _, v := range row {
			out = append(out, Value{N: v.N})
		}
		c.Cells = append(c.Cells, out)
	}
	for _, v := range t.RowTotals {
		c.RowTotals = append(c.RowTotals, Value{N: v.N})
	}
	for _, v := range t.ColTotals {
		c.ColTotals = append(c.ColTotals, Value{N: v.N})
	}
	return c
}

// TestNoSuppressedValueIsPinnedByCounting enumerates every table of whole,
// non-negative numbers that agrees with what a small table publishes, and
// checks that each suppressed value takes at least two values among them
// (and that the true table is among them).
func TestNoSuppressedValueIsPinnedByCounting(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 19))
	checked := 0
	for trial := range 300 {
		fs := randomFindings(rng, 2+rng.IntN(2), 1, 1+rng.IntN(2), 4+rng.IntN(14), false)
		res, err := Build(fs, 2+rng.IntN(4))
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range res.Tables {
			if len(tb.Rows) == 0 {
				continue
			}
			sys := attack(tb)
			if len(sys.unknowns) == 0 || len(sys.unknowns) > 8 {
				continue
			}
			seen := enumerate(tb, sys)
			for j, u := range sys.unknowns {
				truth := tb.entry(u[0], u[1]).N
				if !seen[j][truth] {
					t.Fatalf("trial %d: the true value %d at %v is not a solution", trial, truth, u)
				}
				if len(seen[j]) < 2 {
					t.Fatalf("trial %d, %s table: the value at %v is pinned to %d", trial, tb.Tier, u, truth)
				}
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d tables small enough to enumerate", checked)
	}
}

// enumerate returns, for each unknown, the set of values it takes over
// all non-negative whole solutions of the published table. Each line
// (a row or column with its total) is checked as soon as its last unknown
// is set.
func enumerate(tb *Table, sys *system) []map[int]bool {
	R, C := len(tb.Rows), len(tb.Cols)
	bound := 0 // no value exceeds the sum of all the cells
	for r := range R {
		for c := range C {
			bound += tb.Cells[r][c].N
		}
	}
	index := map[[2]int]int{}
	for j, u := range sys.unknowns {
		index[u] = j
	}
	// lines: the entries of each row and column, the total last.
	var lines [][][2]int
	for r := 0; r <= R; r++ {
		var l [][2]int
		for c := 0; c <= C; c++ {
			l = append(l, [2]int{r, c})
		}
		lines = append(lines, l)
	}
	for c := 0; c <= C; c++ {
		var l [][2]int
		for r := 0; r <= R; r++ {
			l = append(l, [2]int{r, c})
		}
		lines = append(lines, l)
	}
	closes := make([][]int, len(sys.unknowns)) // lines whose last unknown is j
	for i, l := range lines {
		last := -1
		for _, e := range l {
			if j, ok := index[e]; ok && j > last {
				last = j
			}
		}
		if last >= 0 {
			closes[last] = append(closes[last], i)
		}
	}
	seen := make([]map[int]bool, len(sys.unknowns))
	for j := range seen {
		seen[j] = map[int]bool{}
	}
	x := make([]int, len(sys.unknowns))
	val := func(e [2]int) int {
		if j, ok := index[e]; ok {
			return x[j]
		}
		return tb.entry(e[0], e[1]).N
	}
	holds := func(l [][2]int) bool {
		s := 0
		for _, e := range l[:len(l)-1] {
			s += val(e)
		}
		return s == val(l[len(l)-1])
	}
	var rec func(j int)
	rec = func(j int) {
		if j == len(x) {
			for i, v := range x {
				seen[i][v] = true
			}
			return
		}
		for v := 0; v <= bound; v++ {
			x[j] = v
			ok := true
			for _, li := range closes[j] {
				if !holds(lines[li]) {
					ok = false
					break
				}
			}
			if ok {
				rec(j + 1)
			}
		}
	}
	rec(0)
	return seen
}

func TestCounting(t *testing.T) {
	at := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	fs := []Finding{
		{Report: "r-1", Compound: "c-a", Tier: seams.TierTied, Incident: "sextortion", At: at},
		{Report: "r-1", Compound: "c-b", Tier: seams.TierTied, Incident: "sextortion", At: at},
		{Report: "r-2", Compound: "c-a", Tier: seams.TierTied, Incident: "sextortion", At: at.AddDate(0, 1, 0)},
		{Report: "r-3", Compound: "c-a", Tier: seams.TierPotential, At: time.Time{}},
		{Report: "r-2", Compound: "c-b", Tier: seams.TierPotential, Incident: "sextortion", At: at},
	}
	res, err := Build(fs, 1)
	if err != nil {
		t.Fatal(err)
	}
	tied, pot := res.Tables[0], res.Tables[1]
	if tied.Tier != seams.TierTied || pot.Tier != seams.TierPotential {
		t.Fatalf("tables %v, %v", tied.Tier, pot.Tier)
	}
	if got := fmt.Sprint(tied.Rows, tied.Cols); got != "[c-a c-b] [{sextortion 2024-03} {sextortion 2024-04}]" {
		t.Errorf("tied rows and columns %s", got)
	}
	// r-1 is in a cell of c-a and of c-b, and once in the column total.
	if tied.Cells[0][0].N != 1 || tied.Cells[1][0].N != 1 || tied.ColTotals[0].N != 1 || tied.RowTotals[0].N != 2 || tied.Total.N != 2 {
		t.Errorf("tied table %+v", tied)
	}
	if got := fmt.Sprint(pot.Cols); got != "[{sextortion 2024-03} {unspecified undated}]" {
		t.Errorf("potential columns %s", got)
	}
	if pot.Total.N != 2 || res.Findings != 5 || res.Reports != 3 {
		t.Errorf("potential total %d, findings %d, reports %d", pot.Total.N, res.Findings, res.Reports)
	}
	if _, err := Build(append(fs, fs[0]), 1); err == nil {
		t.Error("a duplicate finding was counted")
	}
	if _, err := Build([]Finding{{Report: "r", Compound: "c"}}, 1); err == nil {
		t.Error("a finding without a tier was counted")
	}
}

func TestWrite(t *testing.T) {
	fs := randomFindings(rand.New(rand.NewPCG(3, 3)), 4, 2, 3, 300, true)
	fs = append(fs, Finding{Report: "r-x", Compound: "c-0", Tier: seams.TierTied, Incident: "=cmd()"})
	res, err := Build(fs, 10)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, res, []string{"source: test"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "# Counts of distinct reports") || !strings.Contains(out, "# source: test\ntier,level,compound,incident,month,reports,status\n") {
		t.Errorf("header:\n%s", out[:min(len(out), 2000)])
	}
	if strings.Contains(out, ",=cmd()") || !strings.Contains(out, "'=cmd()") {
		t.Error("an incident that a spreadsheet would run is not guarded")
	}
	var sup, pub int
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasSuffix(l, ",,suppressed"):
			sup++
		case strings.HasSuffix(l, ",published"):
			pub++
			f := strings.Split(l, ",")
			var n int
			fmt.Sscan(f[len(f)-2], &n)
			if n > 0 && n < 10 {
				t.Errorf("published a count under k: %s", l)
			}
		}
	}
	if sup == 0 || pub == 0 {
		t.Errorf("%d suppressed and %d published rows: the test data should have both", sup, pub)
	}
}

func TestMain(m *testing.M) { golden.Main(m, "testdata/*.csv") }

// goldenFindings is a small hand-made set: three compounds, two incident
// types, three months, with counts on both sides of k = 5.
func goldenFindings() []Finding {
	var fs []Finding
	n := 0
	add := func(compound, incident string, month time.Month, tier seams.Tier, count int) {
		for range count {
			n++
			fs = append(fs, Finding{Report: fmt.Sprintf("r-%03d", n), Compound: compound, Tier: tier, Incident: incident,
				At: time.Date(2024, month, 10, 12, 0, 0, 0, time.UTC)})
		}
	}
	add("c-jinbei", "sextortion", 1, seams.TierTied, 12)
	add("c-jinbei", "sextortion", 2, seams.TierTied, 3)
	add("c-jinbei", "enticement", 2, seams.TierTied, 7)
	add("c-kkpark", "sextortion", 1, seams.TierTied, 9)
	add("c-kkpark", "sextortion", 2, seams.TierTied, 6)
	add("c-kkpark", "enticement", 3, seams.TierTied, 2)
	add("c-kings", "sextortion", 3, seams.TierTied, 8)
	add("c-jinbei", "sextortion", 1, seams.TierPotential, 30)
	add("c-kings", "", 2, seams.TierPotential, 4)
	fs = append(fs, Finding{Report: "r-001", Compound: "c-kings", Tier: seams.TierPotential, Incident: "sextortion"})
	return fs
}

func TestGolden(t *testing.T) {
	res, err := Build(goldenFindings(), 5)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, res, []string{"Source: aggregate_test.go, goldenFindings."}); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/golden.csv", b.Bytes())
	for _, tb := range res.Tables {
		if d := attack(tb).determined(); len(d) > 0 {
			t.Errorf("%s: determined %v", tb.Tier, d)
		}
	}
}
