package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/jsonl"
)

// FindingsFile is the findings file of a list of findings, as seams xref
// --store --out and --as-of write it.
func FindingsFile(fs []seams.Finding) string {
	var b []byte
	for i := range fs {
		b = jsonl.AppendFinding(b, &fs[i])
	}
	return string(b)
}

// differ is a store that compares two runs (package sqlstore's Diff).
type differ interface {
	Diff(ctx context.Context, p seams.Principal, from, to int64) (*seams.RunDiff, error)
}

// testAsOf loads a registry and reports, runs and publishes the findings
// file; then loads corrections (a window widened, an indicator dropped),
// more indicators, shared space, a compound's new country and more
// reports, and runs again. A replay of the first run, and of the time it
// finished, gives the first findings file byte for byte; a replay of the
// second gives the second; and the diff of the two runs lists exactly
// what changed, indicators and findings, with their rules.
func testAsOf(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	rp, ok := st.(hunt.Replayer)
	if !ok {
		t.Fatalf("store %T cannot replay", st)
	}
	df, ok := st.(differ)
	if !ok {
		t.Fatalf("store %T cannot compare runs", st)
	}
	p := Operator
	o := load.NewOptions()
	o.Name, o.Shared = "partner.csv", true
	loadRegistry(t, st, p, write(t, "c.csv", retroCompounds), indicators(t,
		"c-a,ip,192.0.2.1,2024-05-01,2024-05-31,,s",
		"c-a,ip,192.0.2.5,2024-05-01,2024-05-31,,s",
		"c-b,cidr,198.51.100.0/24,,,,s"), "", o)
	loadReports(t, st, p, load.NewOptions(), write(t, "r.jsonl", `{"id":"r-1","ips":[{"ip":"192.0.2.1","at":"2024-05-10T00:00:00Z"}]}
{"id":"r-2","ips":[{"ip":"192.0.2.5","at":"2024-05-10T00:00:00Z"}]}
{"id":"r-3","ips":[{"ip":"192.0.2.1","at":"2024-07-15T00:00:00Z"}]}
{"id":"r-4","ips":[{"ip":"198.51.100.9","at":"2024-05-10T00:00:00Z"}]}
{"id":"r-5","ips":[{"ip":"203.0.113.50","at":"2024-05-10T00:00:00Z"}]}
`))
	first := xrefStore(t, st, p)
	published, err := hunt.Published(ctx(), st, p)
	must(t, err)
	file1 := FindingsFile(published)
	if len(published) != 4 {
		t.Fatalf("first run published %d findings, want 4 (r-1 to r-4):\n%s", len(published), file1)
	}

	// Corrections, more indicators, shared space, a compound changed,
	// more reports.
	_, err = load.Indicators(ctx(), st, p, indicators(t,
		"c-a,ip,192.0.2.1,2024-05-01,2024-07-31,,s",
		"c-b,cidr,198.51.100.0/24,,,,s"), o)
	must(t, err)
	more := load.NewOptions()
	more.Name, more.Shared = "more.csv", true
	_, err = load.Indicators(ctx(), st, p, indicators(t, "c-b,ip,203.0.113.50,2024-05-01,2024-05-31,,s"), more)
	must(t, err)
	_, err = load.Shared(ctx(), st, p, write(t, "shared.txt", "198.51.100.0/24\n"), load.NewOptions())
	must(t, err)
	moved := load.NewOptions()
	moved.Confirm = true // another country: a change that needs confirmation
	_, err = load.Compounds(ctx(), st, p, write(t, "c2.csv", "id,name,country\nc-b,Compound B,LA\n"), moved)
	must(t, err)
	loadReports(t, st, p, load.NewOptions(), write(t, "r2.jsonl", `{"id":"r-6","ips":[{"ip":"192.0.2.1","at":"2024-06-10T00:00:00Z"}]}
`))
	second := xrefStore(t, st, p)
	if !second.Full {
		t.Errorf("second run: %+v, want a retro-hunt", second)
	}
	published, err = hunt.Published(ctx(), st, p)
	must(t, err)
	file2 := FindingsFile(published)
	if file2 == file1 {
		t.Fatal("the second run changed nothing: the test tests nothing")
	}

	replay := func(at seams.AsOf) (string, *hunt.Replayed) {
		t.Helper()
		r, err := hunt.Replay(ctx(), rp, p, at, hunt.NewOptions())
		must(t, err)
		return FindingsFile(r.Findings), r
	}
	// A third run with a limit that caps 192.0.2.1 (three reports): a
	// replay of a run takes the run's parameters, whatever the options
	// say.
	o3 := hunt.NewOptions()
	o3.MaxReportsPerIndicator = 2
	third, err := hunt.Run(ctx(), st, p, o3)
	must(t, err)
	published, err = hunt.Published(ctx(), st, p)
	must(t, err)
	file3 := FindingsFile(published)
	if file3 == file2 {
		t.Fatal("the run with the cap changed nothing: the test tests nothing")
	}
	for _, c := range []struct {
		at   seams.AsOf
		want string
		what string
	}{
		{seams.AsOf{Run: first.ID}, file1, "the first run"},
		{seams.AsOf{Time: first.Finished}, file1, "the time the first run finished"},
		{seams.AsOf{Run: second.ID}, file2, "the second run"},
		{seams.AsOf{Run: third.ID}, file3, "the third run, capped"},
	} {
		got, r := replay(c.at)
		if got != c.want {
			t.Errorf("replay of %s (%s):\n%s\nwant, byte for byte:\n%s", c.what, c.at, got, c.want)
		}
		if c.at.Run != 0 && (r.Run == nil || r.Run.ID != c.at.Run) {
			t.Errorf("replay of %s: run %+v", c.what, r.Run)
		}
	}

	d, err := df.Diff(ctx(), p, first.ID, second.ID)
	must(t, err)
	var got []string
	ind := func(si seams.StoredIndicator) string {
		return fmt.Sprintf("%s %s %s %s v%d", si.Compound, si.Kind, si.Value, si.Window, si.Version)
	}
	for _, si := range d.Added {
		got = append(got, "added "+ind(si))
	}
	for _, si := range d.Retired {
		got = append(got, "retired "+ind(si))
	}
	for _, c := range d.Changed {
		got = append(got, "changed "+ind(c.From)+" -> "+ind(c.To))
	}
	for _, si := range d.Resharing {
		got = append(got, "resharing "+ind(si))
	}
	for _, x := range d.SharedAdded {
		got = append(got, "shared added "+x.String())
	}
	for _, x := range d.SharedRemoved {
		got = append(got, "shared removed "+x.String())
	}
	for _, c := range d.Compounds {
		got = append(got, fmt.Sprintf("compound %s %q -> %q", c.To.ID, c.From.Country, c.To.Country))
	}
	got = append(got, fmt.Sprintf("reports %d, same parameters %v", d.Reports, d.ParametersSame))
	for _, f := range d.Findings {
		got = append(got, fmt.Sprintf("%s %s %s %s->%s rules %v->%v gained %d lost %d", f.Report, f.Compound, f.Kind, f.From, f.To,
			f.FromRules, f.ToRules, len(f.Gained), len(f.Lost)))
	}
	want := []string{
		"added c-b ip 203.0.113.50 2024-05-01T00:00:00Z/2024-05-31T23:59:59.999999999Z v1",
		"retired c-a ip 192.0.2.5 2024-05-01T00:00:00Z/2024-05-31T23:59:59.999999999Z v1",
		"changed c-a ip 192.0.2.1 2024-05-01T00:00:00Z/2024-05-31T23:59:59.999999999Z v1 -> c-a ip 192.0.2.1 2024-05-01T00:00:00Z/2024-07-31T23:59:59.999999999Z v2",
		"shared added 198.51.100.0/24",
		`compound c-b "MM" -> "LA"`,
		"reports 1, same parameters true",
		// The correction's new version makes r-1's evidence another
		// version: revised; r-3's event now inside the window: tied.
		"r-1 c-a revised tied->tied rules [ip]->[ip] gained 1 lost 1",
		"r-2 c-a withdrawn tied->none rules [ip]->[] gained 0 lost 1",
		"r-3 c-a upgraded potential->tied rules [ip-drift]->[ip] gained 1 lost 1",
		"r-4 c-b revised potential->potential rules [cidr]->[cidr] gained 0 lost 0",
		"r-5 c-b new none->tied rules []->[ip] gained 1 lost 0",
		"r-6 c-a new none->tied rules []->[ip] gained 1 lost 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("diff of runs %d and %d:\n %s\nwant\n %s", first.ID, second.ID, strings.Join(got, "\n "), strings.Join(want, "\n "))
	}
	// The diff's findings are the second run's changes: the same pairs,
	// the same kinds (the runs are consecutive).
	var kinds []string
	for _, f := range d.Findings {
		kinds = append(kinds, f.Report+" "+f.Compound+" "+string(f.Kind))
	}
	if ch := changes(t, st, p, second.ID); !slices.Equal(kinds, ch) {
		t.Errorf("diff findings %q, the second run's changes %q", kinds, ch)
	}
	// From a run to itself: nothing.
	d, err = df.Diff(ctx(), p, second.ID, second.ID)
	must(t, err)
	if len(d.Findings)+len(d.Added)+len(d.Retired)+len(d.Changed)+d.Reports != 0 || !d.ParametersSame {
		t.Errorf("diff of a run with itself: %+v", d)
	}
}
