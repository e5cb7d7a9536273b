package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/internal/sqlstore"
	"github.com/seams-dev/seams/xref"
)

func testMigrations(t *testing.T, e Engine) {
	st, reopen := e.New(t)
	must(t, st.Close())
	st, err := reopen()
	must(t, err)
	var v int
	must(t, DB(t, st).QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v))
	if v != sqlstore.SchemaVersion() {
		t.Errorf("schema version %d, want %d", v, sqlstore.SchemaVersion())
	}
	// A database migrated by a newer seams is refused, not touched.
	_, err = DB(t, st).Exec(`INSERT INTO schema_migrations (version, applied_ns) VALUES (999, 0)`)
	must(t, err)
	must(t, st.Close())
	st, err = reopen()
	if err == nil {
		st.Close()
	}
	wantErr(t, err, seams.ErrSchemaTooNew, "open a database of schema 999")
}

func testLoadIdempotent(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	c, i, s, r := Small()
	p := Operator
	o := load.NewOptions()
	var rejected []*seams.RecordError
	o.Reject = func(e *seams.RecordError) { rejected = append(rejected, e) }

	first := map[string]load.Result{}
	for round := 0; round < 2; round++ {
		rejected = nil
		rc, err := load.Compounds(ctx(), st, p, c, o)
		must(t, err)
		ri, err := load.Indicators(ctx(), st, p, i, o)
		must(t, err)
		rs, err := load.Shared(ctx(), st, p, s, o)
		must(t, err)
		rr, err := load.Reports(ctx(), st, p, r, o)
		must(t, err)
		got := map[string]load.Result{"compounds": rc, "indicators": ri, "shared": rs, "reports": rr}
		for kind, res := range got {
			if res.Read != res.New+res.Updated+res.Unchanged+res.Rejected && kind != "indicators" && kind != "shared" {
				t.Errorf("round %d %s: read %d != new %d + updated %d + unchanged %d + rejected %d", round, kind, res.Read, res.New, res.Updated, res.Unchanged, res.Rejected)
			}
			if round == 0 {
				if res.New == 0 {
					t.Errorf("first load of %s stored nothing: %+v", kind, res)
				}
				first[kind] = res
				continue
			}
			if res.Changed() {
				t.Errorf("second load of %s changed data: %+v", kind, res)
			}
			if res.Unchanged != first[kind].New || res.Rejected != first[kind].Rejected || res.Read != first[kind].Read {
				t.Errorf("second load of %s: %+v, want all %d already stored and %d rejected as before", kind, res, first[kind].New, first[kind].Rejected)
			}
		}
		if first["indicators"].Version != 1 || ri.Version != 1 {
			t.Errorf("indicator file version %d after round %d, want 1", ri.Version, round)
		}
		// Every rejection names its file and line and says why.
		for _, e := range rejected {
			if e.File == "" || e.Reason == "" || (e.Line == 0 && !strings.HasSuffix(e.File, "compounds.csv")) {
				t.Errorf("rejection without file, line or reason: %+v", e)
			}
		}
	}
	// The hand-made set's reports: 21 accepted by xref (see its golden
	// summary), so 21 stored.
	if n := first["reports"].New; n != 21 {
		t.Errorf("stored %d reports, want 21", n)
	}
	page, err := st.Reports(ctx(), p, seams.ReportQuery{Limit: 1000})
	must(t, err)
	if len(page.Reports) != 21 {
		t.Errorf("store lists %d reports, want 21", len(page.Reports))
	}
}

func testReportConflicts(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	a := write(t, "a.jsonl", `{"id":"r-1","ips":[{"ip":"192.0.2.1","at":"2024-05-01T00:00:00Z"}]}
{"id":"r-2","ips":[{"ip":"192.0.2.2","at":"2024-05-01T00:00:00Z"}]}
{"id":"r-2","ips":[{"ip":"192.0.2.3","at":"2024-05-01T00:00:00Z"}]}
`)
	b := write(t, "b.jsonl", `{"id":"r-1","ips":[{"ip":"192.0.2.9","at":"2024-05-01T00:00:00Z"}]}
{"id":"r-2","ips":[{"ip":"192.0.2.2","at":"2024-05-01T00:00:00Z"}]}
{"id":"r-3","incident":"sextortion"}
`)
	var rej []*seams.RecordError
	o := load.NewOptions()
	o.Reject = func(e *seams.RecordError) { rej = append(rej, e) }
	res := loadReports(t, st, p, o, a)
	if res.New != 2 || res.Rejected != 1 || len(rej) != 1 || !strings.Contains(rej[0].Reason, "duplicate report id") || rej[0].Line != 3 {
		t.Fatalf("load a: %+v, rejections %v", res, rej)
	}
	rej = nil
	o.Shared = true
	res = loadReports(t, st, p, o, b)
	if res.New != 1 || res.Updated != 1 || res.Rejected != 1 || len(rej) != 1 || rej[0].Line != 1 || !strings.Contains(rej[0].Reason, "already stored with other content") {
		t.Fatalf("load b: %+v, rejections %v", res, rej)
	}
	if rej[0].Raw == "" || !strings.Contains(rej[0].Raw, "192.0.2.9") {
		t.Errorf("rejection raw %q, want the line", rej[0].Raw)
	}
	page, err := st.Reports(ctx(), p, seams.ReportQuery{IDs: []string{"r-1", "r-2", "r-3"}})
	must(t, err)
	got := map[string]seams.StoredReport{}
	for _, r := range page.Reports {
		got[r.ID] = r
	}
	if r := got["r-1"]; len(r.IPs) != 1 || r.IPs[0].Addr.String() != "192.0.2.1" || r.Shared {
		t.Errorf("r-1 is %+v, want the first one, not shared", r)
	}
	if !got["r-2"].Shared || got["r-3"].Incident != "sextortion" || got["r-3"].File != "b.jsonl" || got["r-3"].Line != 3 {
		t.Errorf("r-2 %+v / r-3 %+v", got["r-2"], got["r-3"])
	}
	// Reports that cannot be stored alike in both engines are refused.
	_, rs, err := st.PutReports(ctx(), p, seams.ReportBatch{File: "c.jsonl", Lines: []int{1, 2}},
		[]seams.Report{{ID: strings.Repeat("x", seams.MaxKey+1)}, {ID: "bad\x00id"}})
	must(t, err)
	if len(rs) != 2 {
		t.Errorf("unstorable reports: %d rejections, want 2", len(rs))
	}
}

// registryFile writes a compounds file and an indicators file.
const retroCompounds = `id,name,country
c-a,Compound A,KH
c-b,Compound B,MM
`

func indicators(t testing.TB, rows ...string) string {
	return write(t, "indicators.csv", "compound,kind,value,first_seen,last_seen,confidence,source\n"+strings.Join(rows, "\n")+"\n")
}

func findingOf(t testing.TB, st seams.Store, p seams.Principal, report, compound string) seams.StoredFinding {
	t.Helper()
	fs := allFindings(t, st, p, seams.FindingQuery{Report: report, Compound: compound})
	if len(fs) != 1 {
		t.Fatalf("findings of %s/%s: %d, want 1", report, compound, len(fs))
	}
	return fs[0]
}

func changes(t testing.TB, st seams.Store, p seams.Principal, run int64) []string {
	t.Helper()
	var out []string
	q := seams.ChangeQuery{Run: run, Limit: 2}
	for {
		page, err := st.Changes(ctx(), p, q)
		must(t, err)
		for _, c := range page.Changes {
			out = append(out, c.Report+" "+c.Compound+" "+string(c.Kind))
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	sort.Strings(out)
	return out
}

func testIndicatorVersions(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	o := load.NewOptions()
	o.Name = "partner.csv"
	loadRegistry(t, st, p, write(t, "c.csv", retroCompounds), indicators(t,
		"c-a,ip,192.0.2.1,2024-05-01,2024-05-31,high,partner-a",
		"c-a,ip,192.0.2.50,2024-05-01,2024-05-31,,partner-a"), "", o)
	loadReports(t, st, p, load.NewOptions(), write(t, "r.jsonl", `{"id":"r-1","ips":[{"ip":"192.0.2.1","at":"2024-05-10T00:00:00Z"}]}`+"\n"))
	xrefStore(t, st, p)
	f1 := findingOf(t, st, p, "r-1", "c-a")
	old := f1.Evidence[0].Indicator

	res, err := load.Indicators(ctx(), st, p, indicators(t,
		"c-a,ip,192.0.2.1,2024-05-01,2024-06-30,high,partner-a",
		"c-b,device,imei:1,,,,partner-a"), o)
	must(t, err)
	if res.Version != 2 || res.New != 2 || res.Retired != 2 || res.Unchanged != 0 {
		t.Errorf("second version: %+v, want version 2, 2 new, 2 retired", res)
	}
	run := xrefStore(t, st, p)
	if !run.Full || run.Counts[seams.ChangeRevised] != 1 {
		t.Errorf("run after the change: %+v, want a full run with one revised finding", run)
	}
	f2 := findingOf(t, st, p, "r-1", "c-a")
	if f2.ID != f1.ID || f2.Evidence[0].Indicator == old {
		t.Fatalf("finding after the change: %+v, want the same finding pointing at the new version", f2)
	}
	d, err := st.Finding(ctx(), p, f2.ID)
	must(t, err)
	if len(d.History) != 2 || d.History[0].Evidence[0].Indicator != old || d.History[1].Evidence[0].Indicator != f2.Evidence[0].Indicator {
		t.Fatalf("history %+v: the first version must keep pointing at indicator %d", d.History, old)
	}
	byID := map[int64]seams.StoredIndicator{}
	for _, si := range d.Indicators {
		byID[si.ID] = si
	}
	if v := byID[old]; v.Retired.IsZero() || v.Version != 1 || v.FileVersion != 1 || v.Window.Last.Month() != time.May {
		t.Errorf("old version %+v: want retired, version 1 of file version 1, window to May", v)
	}
	if v := byID[f2.Evidence[0].Indicator]; !v.Retired.IsZero() || v.Version != 2 || v.FileVersion != 2 || v.File != "partner.csv" || v.Line != 2 || v.AddedBy != "cli:tester" {
		t.Errorf("new version %+v: want active, version 2 of file version 2, partner.csv line 2, added by cli:tester", v)
	}
	// The same file again: no new version.
	res, err = load.Indicators(ctx(), st, p, indicators(t,
		"c-a,ip,192.0.2.1,2024-05-01,2024-06-30,high,partner-a",
		"c-b,device,imei:1,,,,partner-a"), o)
	must(t, err)
	if res.Version != 2 || res.Changed() || res.Unchanged != 2 {
		t.Errorf("same file again: %+v, want version 2 unchanged", res)
	}
	files, err := st.IndicatorFiles(ctx(), p)
	must(t, err)
	if len(files) != 2 || files[0].Version != 1 || files[1].Version != 2 || files[1].Added != 2 || files[1].Retired != 2 {
		t.Errorf("file versions %+v", files)
	}
	// Indicator files refer to stored compounds only.
	_, err = st.PutIndicators(ctx(), p, seams.IndicatorFile{Name: "x.csv"}, []seams.Indicator{{Compound: "c-none", Kind: seams.KindIP, Value: "192.0.2.1"}})
	if err == nil || !strings.Contains(err.Error(), "unknown compound") {
		t.Errorf("indicator of an unknown compound: %v", err)
	}
}

func testRetroHunt(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	o := load.NewOptions()
	o.Name = "ind.csv"
	loadRegistry(t, st, p, write(t, "c.csv", retroCompounds), indicators(t, "c-a,ip,192.0.2.1,2024-05-01,2024-05-31,,s"), "", o)
	loadReports(t, st, p, load.NewOptions(), write(t, "r.jsonl", `{"id":"r-1","ips":[{"ip":"192.0.2.1","at":"2024-05-10T00:00:00Z"}]}
{"id":"r-2","ips":[{"ip":"192.0.2.2","at":"2024-05-10T00:00:00Z"}]}
{"id":"r-3","ips":[{"ip":"192.0.2.1","at":"2024-07-15T00:00:00Z"}]}
`))
	steps := []struct {
		name       string
		indicators []string
		shared     string
		want       []string // changes of the run
	}{
		{"first run", nil, "", []string{"r-1 c-a new", "r-3 c-a new"}},
		{"window widened, a prefix added", []string{"c-a,ip,192.0.2.1,2024-05-01,2024-07-31,,s", "c-b,cidr,192.0.2.0/24,,,,s"}, "",
			[]string{"r-1 c-a revised", "r-1 c-b new", "r-2 c-b new", "r-3 c-a upgraded", "r-3 c-b new"}},
		{"window narrowed, prefix removed", []string{"c-a,ip,192.0.2.1,2024-05-01,2024-05-31,,s"}, "",
			[]string{"r-1 c-a revised", "r-1 c-b withdrawn", "r-2 c-b withdrawn", "r-3 c-a downgraded", "r-3 c-b withdrawn"}},
		{"prefix back", []string{"c-a,ip,192.0.2.1,2024-05-01,2024-05-31,,s", "c-b,cidr,192.0.2.0/24,,,,s"}, "",
			[]string{"r-1 c-b new", "r-2 c-b new", "r-3 c-b new"}},
		// Evidence from shared space is never tied, and says which
		// shared prefix it lies in: every finding at the address changes.
		{"address made shared space", nil, "192.0.2.1\n", []string{"r-1 c-a downgraded", "r-1 c-b revised", "r-3 c-a revised", "r-3 c-b revised"}},
	}
	var cb int64
	for i, s := range steps {
		if s.indicators != nil {
			_, err := load.Indicators(ctx(), st, p, indicators(t, s.indicators...), o)
			must(t, err)
		}
		if s.shared != "" {
			_, err := load.Shared(ctx(), st, p, write(t, "shared.txt", s.shared), load.NewOptions())
			must(t, err)
		}
		run := xrefStore(t, st, p)
		if !run.Full || run.Scanned != 3 {
			t.Errorf("%s: run %+v, want a full run over the 3 reports", s.name, run)
		}
		got := changes(t, st, p, run.ID)
		if !slices.Equal(got, s.want) {
			t.Errorf("%s: changes %q, want %q", s.name, got, s.want)
		}
		n := 0
		for _, c := range run.Counts {
			n += c
		}
		if n != len(s.want) {
			t.Errorf("%s: run counts %v, want %d changes", s.name, run.Counts, len(s.want))
		}
		if i == 1 {
			cb = findingOf(t, st, p, "r-2", "c-b").ID
		}
	}
	// A finding that reappears is the same finding, new again.
	if f := findingOf(t, st, p, "r-2", "c-b"); f.ID != cb || f.Tier != seams.TierPotential {
		t.Errorf("r-2/c-b after it came back: %+v, want finding %d, potential", f, cb)
	}
	d, err := st.Finding(ctx(), p, cb)
	must(t, err)
	var kinds []string
	for _, v := range d.History {
		kinds = append(kinds, string(v.Kind))
	}
	if strings.Join(kinds, " ") != "new withdrawn new" {
		t.Errorf("history of r-2/c-b: %v", kinds)
	}
	w := allFindings(t, st, p, seams.FindingQuery{Withdrawn: true})
	if len(w) != 0 {
		t.Errorf("withdrawn findings: %v, want none now", pairs(w))
	}
	runs, err := st.Runs(ctx(), p, 2)
	must(t, err)
	if len(runs) != 2 || runs[0].ID <= runs[1].ID {
		t.Errorf("runs %+v: want the last two, newest first", runs)
	}
}

func testIncremental(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	c, i, s, r := Small()
	loadRegistry(t, st, p, c, i, s, load.NewOptions())
	loadReports(t, st, p, load.NewOptions(), r[0])
	first := xrefStore(t, st, p)
	if !first.Full || first.Counts[seams.ChangeNew] == 0 {
		t.Fatalf("first run %+v", first)
	}
	again := xrefStore(t, st, p)
	if again.Full || again.Scanned != 0 || len(again.Counts) != 0 {
		t.Errorf("run with nothing new: %+v, want an incremental run scanning nothing", again)
	}
	loadReports(t, st, p, load.NewOptions(), write(t, "more.jsonl", `{"id":"r-more-1","ips":[{"ip":"203.0.113.7","at":"2024-05-01T00:00:00Z"}]}
{"id":"r-more-2","ips":[{"ip":"192.0.2.1","at":"2024-05-01T00:00:00Z"}]}
`))
	more := xrefStore(t, st, p)
	// r-more-1 meets c-jinbei (in the window) and c-kkpark (within the
	// drift); r-more-2 nothing.
	if more.Full || more.Scanned != 2 || more.Counts[seams.ChangeNew] != 2 || len(more.Counts) != 1 {
		t.Errorf("run after two new reports: %+v, want incremental, 2 scanned, 2 new findings", more)
	}
	o := hunt.NewOptions()
	o.Drift = 24 * time.Hour
	run, err := hunt.Run(ctx(), st, p, o)
	must(t, err)
	if !run.Full || run.Drift != o.Drift {
		t.Errorf("run with another drift: %+v, want full", run)
	}
	// A run over a snapshot that another run overtook is refused.
	snap, err := st.Snapshot(ctx())
	must(t, err)
	state := snap.State()
	snap.Close()
	xrefStore(t, st, p)
	_, err = st.CommitRun(ctx(), p, &seams.RunResult{Base: state.LastRun.ID, RegistryVersion: state.RegistryVersion, Started: time.Now()})
	wantErr(t, err, seams.ErrConflict, "commit over a stale snapshot")
}

func testReviewSurvives(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	o := load.NewOptions()
	o.Name = "ind.csv"
	loadRegistry(t, st, p, write(t, "c.csv", retroCompounds), indicators(t, "c-a,ip,192.0.2.1,2024-05-01,2024-05-31,,s"), "", o)
	loadReports(t, st, p, load.NewOptions(), write(t, "r.jsonl", `{"id":"r-1","ips":[{"ip":"192.0.2.1","at":"2024-05-10T00:00:00Z"}]}`+"\n"))
	xrefStore(t, st, p)
	f := findingOf(t, st, p, "r-1", "c-a")
	rv, err := st.Review(ctx(), p, f.ID, seams.MarkConfirmed, "matches the login\nseen twice")
	must(t, err)
	if rv.Version != f.Version || rv.By != "cli:tester" {
		t.Errorf("review %+v", rv)
	}
	_, err = load.Indicators(ctx(), st, p, indicators(t, "c-a,ip,192.0.2.1,2024-04-01,2024-05-31,,s"), o)
	must(t, err)
	xrefStore(t, st, p)
	g := findingOf(t, st, p, "r-1", "c-a")
	if g.Review.Mark != seams.MarkConfirmed || g.Review.Comment != "matches the login\nseen twice" || !g.ReviewStale() || g.Version == f.Version {
		t.Errorf("after a revising run: %+v, want the mark kept and stale", g.Review)
	}
	if got := allFindings(t, st, p, seams.FindingQuery{Stale: true}); len(got) != 1 || got[0].ID != g.ID {
		t.Errorf("stale reviews: %d findings, want finding %d", len(got), g.ID)
	}
	// Findings by review state.
	m := seams.MarkConfirmed
	if got := allFindings(t, st, p, seams.FindingQuery{Mark: &m}); len(got) != 1 {
		t.Errorf("confirmed findings: %d, want 1", len(got))
	}
	_, err = st.Review(ctx(), p, g.ID, seams.MarkNone, "")
	must(t, err)
	none := seams.MarkNone
	if got := allFindings(t, st, p, seams.FindingQuery{Mark: &none}); len(got) != 1 {
		t.Errorf("unreviewed findings after clearing: %d, want 1", len(got))
	}
	if got := allFindings(t, st, p, seams.FindingQuery{Stale: true}); len(got) != 0 {
		t.Errorf("stale reviews after clearing the mark: %d, want none", len(got))
	}
	d, err := st.Finding(ctx(), p, g.ID)
	must(t, err)
	if len(d.Reviews) != 2 || d.Reviews[0].Mark != seams.MarkConfirmed || d.Reviews[1].Mark != seams.MarkNone {
		t.Errorf("reviews %+v", d.Reviews)
	}
	_, err = st.Review(ctx(), p, g.ID, seams.Mark("maybe"), "")
	wantErr(t, err, seams.ErrInvalid, "review with an unknown mark")
	_, err = st.Review(ctx(), p, g.ID+1000, seams.MarkConfirmed, "")
	wantErr(t, err, seams.ErrNotFound, "review of an unknown finding")
	_, err = st.Review(ctx(), p, g.ID, seams.MarkDismissed, strings.Repeat("x", seams.MaxComment+1))
	wantErr(t, err, seams.ErrInvalid, "review with a long comment")
}

func testTokens(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	op := Operator
	secret, tok, err := st.CreateToken(ctx(), op, seams.NewToken{Org: "org-b", User: "analyst-1", Role: seams.RoleAnalyst, Label: "laptop"})
	must(t, err)
	if !strings.HasPrefix(secret, "seams_") || len(secret) != 49 || tok.Org != "org-b" || tok.Role != seams.RoleAnalyst {
		t.Fatalf("token %+v, secret of %d bytes", tok, len(secret))
	}
	p, err := st.Authenticate(ctx(), secret)
	must(t, err)
	if p.Org != "org-b" || p.User != "analyst-1" || p.Role != seams.RoleAnalyst || p.Token != tok.ID || p.Operator {
		t.Errorf("principal %+v", p)
	}
	// Only the hash is stored.
	var hash []byte
	must(t, DB(t, st).QueryRow(`SELECT hash FROM tokens`).Scan(&hash))
	sum := sha256.Sum256([]byte(secret))
	if string(hash) != string(sum[:]) {
		t.Errorf("stored token hash is not the secret's SHA-256")
	}
	for _, bad := range []string{"", "seams_", secret[:len(secret)-1] + "A", "x" + secret[1:], strings.ToUpper(secret)} {
		if bad == secret {
			continue
		}
		_, err := st.Authenticate(ctx(), bad)
		wantErr(t, err, seams.ErrUnauthorized, "authenticate with a wrong secret")
	}
	expired, _, err := st.CreateToken(ctx(), op, seams.NewToken{Org: "org-b", Role: seams.RoleViewer, Expires: time.Now().Add(-time.Minute)})
	must(t, err)
	_, err = st.Authenticate(ctx(), expired)
	wantErr(t, err, seams.ErrUnauthorized, "authenticate with an expired token")

	adminSecret, _, err := st.CreateToken(ctx(), op, seams.NewToken{Org: "org-b", User: "boss", Role: seams.RoleAdmin})
	must(t, err)
	admin, err := st.Authenticate(ctx(), adminSecret)
	must(t, err)
	_, _, err = st.CreateToken(ctx(), admin, seams.NewToken{Org: "org-c", Role: seams.RoleViewer})
	wantErr(t, err, seams.ErrForbidden, "an org-b admin creating an org-c token")
	_, _, err = st.CreateToken(ctx(), p, seams.NewToken{Org: "org-b", Role: seams.RoleViewer})
	wantErr(t, err, seams.ErrForbidden, "an analyst creating a token")
	_, otherTok, err := st.CreateToken(ctx(), op, seams.NewToken{Org: "org-c", Role: seams.RoleViewer})
	must(t, err)
	wantErr(t, st.RevokeToken(ctx(), admin, otherTok.ID), seams.ErrNotFound, "an org-b admin revoking an org-c token")
	toks, err := st.Tokens(ctx(), admin)
	must(t, err)
	if len(toks) != 3 {
		t.Errorf("org-b admin lists %d tokens, want its organisation's 3", len(toks))
	}
	must(t, st.RevokeToken(ctx(), admin, tok.ID))
	_, err = st.Authenticate(ctx(), secret)
	wantErr(t, err, seams.ErrUnauthorized, "authenticate with a revoked token")
	all, err := st.Tokens(ctx(), op)
	must(t, err)
	if len(all) != 4 {
		t.Errorf("operator lists %d tokens, want 4", len(all))
	}
	for _, tk := range all {
		if tk.ID == tok.ID && tk.Revoked.IsZero() {
			t.Errorf("revoked token listed without its revocation")
		}
	}
	_, _, err = st.CreateToken(ctx(), op, seams.NewToken{Org: "org-b", Role: "root"})
	if err == nil {
		t.Errorf("a token of role root was created")
	}
}

func testRoles(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	op := Operator
	mk := func(role seams.Role) seams.Principal {
		s, _, err := st.CreateToken(ctx(), op, seams.NewToken{Org: "org-a", Role: role})
		must(t, err)
		p, err := st.Authenticate(ctx(), s)
		must(t, err)
		return p
	}
	viewer, analyst := mk(seams.RoleViewer), mk(seams.RoleAnalyst)
	loadRegistry(t, st, analyst, write(t, "c.csv", retroCompounds), indicators(t, "c-a,ip,192.0.2.1,,,,s"), "", load.NewOptions())
	_, err := st.Findings(ctx(), viewer, seams.FindingQuery{})
	must(t, err)
	_, _, err = st.PutReports(ctx(), viewer, seams.ReportBatch{File: "r.jsonl"}, []seams.Report{{ID: "r-1"}})
	wantErr(t, err, seams.ErrForbidden, "a viewer loading reports")
	_, err = hunt.Run(ctx(), st, viewer, hunt.NewOptions())
	wantErr(t, err, seams.ErrForbidden, "a viewer running a cross-reference")
	_, err = st.PutShared(ctx(), analyst, seams.SharedSpaceList{Name: "s.txt"})
	wantErr(t, err, seams.ErrForbidden, "an analyst loading shared space")
	_, err = st.Tokens(ctx(), analyst)
	wantErr(t, err, seams.ErrForbidden, "an analyst listing tokens")
	_, err = st.AuditEntries(ctx(), analyst, seams.AuditQuery{})
	wantErr(t, err, seams.ErrForbidden, "an analyst reading the audit log")
	_, err = st.Findings(ctx(), seams.Principal{Org: "org-a"}, seams.FindingQuery{})
	wantErr(t, err, seams.ErrForbidden, "a principal without a role")
	_, err = hunt.Run(ctx(), st, analyst, hunt.NewOptions())
	must(t, err)
}

// orgFixture loads two organisations' data: org-a's indicators private,
// org-b's shared; reports of each, one of org-b's shared.
func orgFixture(t testing.TB, st seams.Store) (a, b seams.Principal) {
	op := Operator
	mk := func(org string) seams.Principal {
		s, _, err := st.CreateToken(ctx(), op, seams.NewToken{Org: org, User: "u-" + org, Role: seams.RoleAdmin})
		must(t, err)
		p, err := st.Authenticate(ctx(), s)
		must(t, err)
		return p
	}
	a, b = mk("org-a"), mk("org-b")
	_, err := load.Compounds(ctx(), st, op, write(t, "c.csv", retroCompounds), load.NewOptions())
	must(t, err)
	oa := load.NewOptions()
	oa.Name = "a.csv"
	_, err = load.Indicators(ctx(), st, a, indicators(t, "c-a,ip,192.0.2.1,,,,a-source"), oa)
	must(t, err)
	ob := load.NewOptions()
	ob.Name, ob.Shared = "b.csv", true
	_, err = load.Indicators(ctx(), st, b, indicators(t, "c-b,ip,192.0.2.2,,,,b-source"), ob)
	must(t, err)
	loadReports(t, st, a, load.NewOptions(), write(t, "ra.jsonl", `{"id":"ra-1","ips":[{"ip":"192.0.2.1","at":"2024-05-10T00:00:00Z"},{"ip":"192.0.2.2","at":"2024-05-10T00:00:00Z"}]}`+"\n"))
	loadReports(t, st, b, load.NewOptions(), write(t, "rb.jsonl", `{"id":"rb-1","ips":[{"ip":"192.0.2.1","at":"2024-05-10T00:00:00Z"},{"ip":"192.0.2.2","at":"2024-05-10T00:00:00Z"}]}`+"\n"))
	os := load.NewOptions()
	os.Shared = true
	loadReports(t, st, b, os, write(t, "rb2.jsonl", `{"id":"rb-2","ips":[{"ip":"192.0.2.2","at":"2024-05-10T00:00:00Z"}]}`+"\n"))
	xrefStore(t, st, op)
	return a, b
}

func testVisibility(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	a, b := orgFixture(t, st)
	view := func(p seams.Principal) string {
		return strings.Join(pairs(allFindings(t, st, p, seams.FindingQuery{})), ", ")
	}
	if got, want := view(Operator), "ra-1 c-a tied, ra-1 c-b tied, rb-1 c-b tied, rb-2 c-b tied"; got != want {
		t.Errorf("operator sees %s, want %s", got, want)
	}
	if got, want := view(a), "ra-1 c-a tied, ra-1 c-b tied, rb-2 c-b tied"; got != want {
		t.Errorf("org-a sees %s, want %s", got, want)
	}
	if got, want := view(b), "rb-1 c-b tied, rb-2 c-b tied"; got != want {
		t.Errorf("org-b sees %s, want %s", got, want)
	}
	private := findingOf(t, st, a, "ra-1", "c-a")
	_, err := st.Finding(ctx(), b, private.ID)
	wantErr(t, err, seams.ErrNotFound, "org-b reading org-a's finding")
	_, err = st.Review(ctx(), a, findingOf(t, st, a, "rb-2", "c-b").ID, seams.MarkConfirmed, "")
	wantErr(t, err, seams.ErrForbidden, "org-a reviewing org-b's shared finding")
	ids := func(rs []seams.StoredReport) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.ID)
		}
		return strings.Join(s, " ")
	}
	page, err := st.Reports(ctx(), a, seams.ReportQuery{})
	must(t, err)
	if got := ids(page.Reports); got != "ra-1 rb-2" {
		t.Errorf("org-a lists reports %s, want ra-1 rb-2", got)
	}
	res, err := st.Search(ctx(), b, seams.SearchQuery{Kind: seams.SearchIP, Addr: netipAddr("192.0.2.1")})
	must(t, err)
	if ids(res.Reports) != "rb-1" || len(res.Indicators) != 0 {
		t.Errorf("org-b searching 192.0.2.1: reports %s, %d indicators; want rb-1 and none of org-a's", ids(res.Reports), len(res.Indicators))
	}
	ip, err := st.Indicators(ctx(), b, seams.IndicatorQuery{})
	must(t, err)
	if len(ip.Indicators) != 1 || ip.Indicators[0].Org != "org-b" {
		t.Errorf("org-b sees indicators %+v, want only its own", ip.Indicators)
	}
	sa, err := st.Summary(ctx(), a, seams.SummaryQuery{})
	must(t, err)
	if sa.Reports != 2 || sa.TiedReports != 2 || sa.Findings != 3 || sa.Registry.IPIndicators != 2 {
		t.Errorf("org-a summary %+v", sa)
	}
	sb, err := st.Summary(ctx(), b, seams.SummaryQuery{})
	must(t, err)
	if sb.Reports != 2 || sb.Findings != 2 || sb.Registry.IPIndicators != 1 || len(sb.ByCompound) != 1 {
		t.Errorf("org-b summary %+v", sb)
	}
	// org-a shares its indicators: org-b's reports meet them at the next
	// run, and org-a's finding is no longer private.
	res2, err := st.ShareIndicators(ctx(), a, "a.csv", true)
	must(t, err)
	if res2.Version != 2 || res2.Updated != 1 {
		t.Errorf("share a.csv: %+v", res2)
	}
	xrefStore(t, st, Operator)
	if got, want := view(b), "rb-1 c-a tied, rb-1 c-b tied, rb-2 c-b tied"; got != want {
		t.Errorf("after sharing, org-b sees %s, want %s", got, want)
	}
	if f := findingOf(t, st, a, "ra-1", "c-a"); f.Private {
		t.Errorf("ra-1/c-a still private after its indicator was shared")
	}
	// Sharing a report makes its findings visible.
	n, err := st.ShareReports(ctx(), a, []string{"ra-1", "no-such"}, true)
	must(t, err)
	if n != 1 {
		t.Errorf("shared %d reports, want 1", n)
	}
	if got, want := view(b), "ra-1 c-a tied, ra-1 c-b tied, rb-1 c-a tied, rb-1 c-b tied, rb-2 c-b tied"; got != want {
		t.Errorf("after sharing ra-1, org-b sees %s, want %s", got, want)
	}
}

func testAudit(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	a, _ := orgFixture(t, st)
	entries := func(p seams.Principal) []seams.AuditEntry {
		var out []seams.AuditEntry
		q := seams.AuditQuery{Limit: 7}
		for {
			page, err := st.AuditEntries(ctx(), p, q)
			must(t, err)
			out = append(out, page...)
			if len(page) < q.Limit {
				return out
			}
			q.After = page[len(page)-1].Seq
		}
	}
	before := entries(Operator)
	fs := allFindings(t, st, a, seams.FindingQuery{})
	_, err := st.Finding(ctx(), a, fs[0].ID)
	must(t, err)
	_, err = st.Summary(ctx(), a, seams.SummaryQuery{})
	must(t, err)
	_, err = st.Review(ctx(), a, fs[0].ID, seams.MarkDismissed, "a proxy")
	must(t, err)
	must(t, st.Audit(ctx(), a, seams.AuditEvent{Action: "upload.received", Object: "file:x.jsonl"}))
	after := entries(Operator)
	var actions []string
	for _, e := range after[len(before):] {
		actions = append(actions, e.Action+" "+e.Actor)
	}
	want := []string{"findings.read " + a.Actor(), "finding.read " + a.Actor(), "summary.read " + a.Actor(), "finding.review " + a.Actor(), "upload.received " + a.Actor()}
	if !slices.Equal(actions, want) {
		t.Errorf("audit entries %q, want %q", actions, want)
	}
	have := map[string]bool{}
	for _, e := range after {
		have[e.Action] = true
		if e.Seq > 1 && e.Prev != after[e.Seq-2].Hash {
			t.Errorf("entry %d does not link to entry %d", e.Seq, e.Seq-1)
		}
		if strings.Contains(e.Detail, "a proxy") {
			t.Errorf("entry %d holds a review comment", e.Seq)
		}
	}
	for _, action := range []string{"org.create", "token.create", "compounds.load", "indicators.load", "reports.load", "xref.run"} {
		if !have[action] {
			t.Errorf("no %s entry in the audit log", action)
		}
	}
	// An organisation's admin sees its own entries only.
	own := entries(a)
	for _, e := range own {
		if e.Org != "org-a" {
			t.Errorf("org-a admin sees entry %d of %s", e.Seq, e.Org)
		}
	}
	// Its latest entries are the last of its own, in seq order, whatever
	// other organisations wrote after them.
	latest, err := st.AuditEntries(ctx(), a, seams.AuditQuery{Latest: true, Limit: 3})
	must(t, err)
	if len(own) < 4 || len(latest) != 3 || latest[0].Seq != own[len(own)-3].Seq || latest[2].Seq != own[len(own)-1].Seq {
		t.Errorf("latest 3 entries of org-a: %d, want the last 3 of its %d", len(latest), len(own))
	}
	head, err := st.VerifyAudit(ctx(), Operator)
	must(t, err)
	if head.Seq != after[len(after)-1].Seq || head.Hash != after[len(after)-1].Hash {
		t.Errorf("head %d, want %d", head.Seq, after[len(after)-1].Seq)
	}
	picked, err := st.AuditEntries(ctx(), Operator, seams.AuditQuery{Action: "finding.review"})
	must(t, err)
	if len(picked) != 1 || picked[0].Object == "" {
		t.Errorf("entries of action finding.review: %+v", picked)
	}
}

func testAuditTamper(t *testing.T, e Engine) {
	cases := []struct {
		name, sql, want string
	}{
		{"edited", `UPDATE audit SET detail = 'nothing to see' WHERE seq = 3`, "entry 3 was changed"},
		{"actor rewritten", `UPDATE audit SET actor = 'cli:someone-else' WHERE seq = 2`, "entry 2 was changed"},
		{"removed in the middle", `DELETE FROM audit WHERE seq = 4`, "entry 5 follows entry 3"},
		{"removed at the end", `DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)`, "entries removed at the end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _ := e.New(t)
			defer st.Close()
			orgFixture(t, st)
			_, err := st.VerifyAudit(ctx(), Operator)
			must(t, err)
			// The append-only guard refuses the change outright.
			if _, err := DB(t, st).Exec(c.sql); err == nil {
				t.Fatalf("the audit table took %q with its guard in place", c.sql)
			}
			_, err = DB(t, st).Exec(e.Unguard)
			must(t, err)
			_, err = DB(t, st).Exec(c.sql)
			must(t, err)
			// The tampering is before the checkpoint the first
			// verification left: a full verification finds it.
			_, err = st.VerifyAuditFull(ctx(), Operator)
			wantErr(t, err, seams.ErrAuditTampered, "verify a tampered log")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("verify: %v, want it to say %q", err, c.want)
			}
		})
	}
}

func testFindingQueries(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	c, i, s, r := Small()
	loadRegistry(t, st, p, c, i, s, load.NewOptions())
	loadReports(t, st, p, load.NewOptions(), r...)
	xrefStore(t, st, p)
	all := allFindings(t, st, p, seams.FindingQuery{Limit: 1000})
	if len(all) < 20 {
		t.Fatalf("%d findings, want the small set's", len(all))
	}
	paged := allFindings(t, st, p, seams.FindingQuery{Limit: 3})
	if len(paged) != len(all) {
		t.Fatalf("paging by 3 gives %d findings, want %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i].ID != all[i].ID || i > 0 && all[i].ID <= all[i-1].ID {
			t.Fatalf("finding %d: paged id %d, all %d: want the same ids in increasing order", i, paged[i].ID, all[i].ID)
		}
	}
	newest := allFindings(t, st, p, seams.FindingQuery{Limit: 4, Sort: seams.SortNewest})
	if len(newest) != len(all) || newest[0].ID != all[len(all)-1].ID || newest[len(newest)-1].ID != all[0].ID {
		t.Errorf("newest first: %d findings from %d to %d", len(newest), newest[0].ID, newest[len(newest)-1].ID)
	}
	compounds, err := st.Compounds(ctx())
	must(t, err)
	country := map[string]string{}
	for _, c := range compounds {
		country[c.ID] = c.Country
	}
	may := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	june := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	queries := []struct {
		name string
		q    seams.FindingQuery
		keep func(f *seams.StoredFinding) bool
	}{
		{"tied", seams.FindingQuery{Tier: seams.TierTied}, func(f *seams.StoredFinding) bool { return f.Tier == seams.TierTied }},
		{"potential", seams.FindingQuery{Tier: seams.TierPotential}, func(f *seams.StoredFinding) bool { return f.Tier == seams.TierPotential }},
		{"compound", seams.FindingQuery{Compound: "c-kkpark"}, func(f *seams.StoredFinding) bool { return f.Compound == "c-kkpark" }},
		{"country", seams.FindingQuery{Country: "LA"}, func(f *seams.StoredFinding) bool { return country[f.Compound] == "LA" }},
		{"incident", seams.FindingQuery{Incident: "sextortion"}, func(f *seams.StoredFinding) bool { return f.Incident == "sextortion" }},
		{"report", seams.FindingQuery{Report: "r-two-compounds-device"}, func(f *seams.StoredFinding) bool { return f.Report == "r-two-compounds-device" }},
		{"time range", seams.FindingQuery{From: may, To: june}, func(f *seams.StoredFinding) bool { return !f.At.Before(may) && f.At.Before(june) && !f.At.IsZero() }},
		{"from only", seams.FindingQuery{From: june}, func(f *seams.StoredFinding) bool { return !f.At.IsZero() && !f.At.Before(june) }},
		{"tied in a country", seams.FindingQuery{Tier: seams.TierTied, Country: "KH"}, func(f *seams.StoredFinding) bool {
			return f.Tier == seams.TierTied && country[f.Compound] == "KH"
		}},
	}
	for _, q := range queries {
		var want []int64
		for i := range all {
			if q.keep(&all[i]) {
				want = append(want, all[i].ID)
			}
		}
		q.q.Limit = 2
		var got []int64
		for _, f := range allFindings(t, st, p, q.q) {
			got = append(got, f.ID)
		}
		if len(want) == 0 {
			t.Errorf("%s: the reference keeps no finding; pick a query that does", q.name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: findings %v, want %v", q.name, got, want)
		}
		q.q.Count = true
		page, err := st.Findings(ctx(), p, q.q)
		must(t, err)
		if page.Total != len(want) {
			t.Errorf("%s: total %d, want %d", q.name, page.Total, len(want))
		}
	}
	_, err = st.Findings(ctx(), p, seams.FindingQuery{Cursor: "r12"})
	wantErr(t, err, seams.ErrInvalid, "a cursor of another listing")
	checkEvidenceFilters(t, st, p, false)
	checkOrders(t, st, p, seams.FindingQuery{})
	checkOrders(t, st, p, seams.FindingQuery{Tier: seams.TierPotential})
}

func testFindingDetail(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	c, i, s, r := Small()
	loadRegistry(t, st, p, c, i, s, load.NewOptions())
	loadReports(t, st, p, load.NewOptions(), r...)
	xrefStore(t, st, p)
	f := findingOf(t, st, p, "r-tied-ip", "c-jinbei")
	d, err := st.Finding(ctx(), p, f.ID)
	must(t, err)
	if d.Report.ID != "r-tied-ip" || d.Report.Incident != "sextortion" || d.Report.Received.IsZero() || len(d.Report.IPs) != 1 || d.Report.IPs[0].Port != 51234 {
		t.Errorf("report %+v", d.Report)
	}
	if d.Compound.Name != "Jinbei" || d.Compound.Country != "KH" || !d.Compound.HasLocation {
		t.Errorf("compound %+v", d.Compound)
	}
	if len(d.Indicators) != 1 || d.Indicators[0].Value != "203.0.113.7" || d.Indicators[0].Source != "partner-a" || d.Indicators[0].Window.First.IsZero() {
		t.Errorf("indicators %+v", d.Indicators)
	}
	if len(d.History) != 1 || d.History[0].Kind != seams.ChangeNew || d.History[0].Tier != seams.TierTied {
		t.Errorf("history %+v", d.History)
	}
	if d.At != time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC) || d.Evidence[0].Observed.Event != "login" {
		t.Errorf("finding at %v, evidence %+v", d.At, d.Evidence)
	}
	_, err = st.Finding(ctx(), p, f.ID+10000)
	wantErr(t, err, seams.ErrNotFound, "an unknown finding")
}

func netipAddr(s string) netipAddrT { return mustAddr(s) }

func testSearch(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	c, i, s, r := Small()
	loadRegistry(t, st, p, c, i, s, load.NewOptions())
	loadReports(t, st, p, load.NewOptions(), r...)
	xrefStore(t, st, p)
	page, err := st.Reports(ctx(), p, seams.ReportQuery{Limit: 1000})
	must(t, err)
	all := page.Reports
	inds, err := st.Indicators(ctx(), p, seams.IndicatorQuery{})
	must(t, err)
	cases := []string{"203.0.113.7", "198.51.100.77", "203.0.113.99", "::ffff:192.0.2.10", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32",
		"imei:358240051111110", "IDFA:AAAA-BBBB", "r-tied-ip", "r-none", "192.0.2.200"}
	for _, text := range cases {
		q, err := seams.ParseSearch("", text)
		must(t, err)
		res, err := st.Search(ctx(), p, q)
		must(t, err)
		// The reference: a brute-force walk over every stored report and
		// active indicator.
		var want []string
		for _, r := range all {
			if searchHits(q, &r) {
				want = append(want, r.ID)
			}
		}
		var got []string
		for _, r := range res.Reports {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("search %s (%s): reports %v, want %v", text, q.Kind, got, want)
		}
		var wantInd, gotInd []int64
		for _, si := range inds.Indicators {
			if searchHitsIndicator(q, &si.Indicator) {
				wantInd = append(wantInd, si.ID)
			}
		}
		for _, si := range res.Indicators {
			gotInd = append(gotInd, si.ID)
		}
		if !slices.Equal(gotInd, wantInd) {
			t.Errorf("search %s: indicators %v, want %v", text, gotInd, wantInd)
		}
		for _, f := range res.Findings {
			if !slices.Contains(want, f.Report) {
				t.Errorf("search %s: finding of report %s, not a report found", text, f.Report)
			}
		}
		if q.Kind == seams.SearchReport && len(want) > 0 && len(res.Findings) == 0 {
			t.Errorf("search %s: no findings of the report", text)
		}
	}
	res, err := st.Search(ctx(), p, seams.SearchQuery{Kind: seams.SearchIP, Addr: mustAddr("203.0.113.99")})
	must(t, err)
	if len(res.Shared) != 1 || res.Shared[0].String() != "203.0.113.96/27" {
		t.Errorf("shared space of 203.0.113.99: %v", res.Shared)
	}
	res, err = st.Search(ctx(), p, seams.SearchQuery{Kind: seams.SearchIP, Addr: mustAddr("203.0.113.7"), Limit: 2})
	must(t, err)
	if len(res.Reports) != 2 || !res.More {
		t.Errorf("limited search: %d reports, more %v", len(res.Reports), res.More)
	}
	for _, bad := range []struct{ kind, text string }{{"ip", "not-an-ip"}, {"prefix", "198.51.100.1/24"}, {"device", "nocolon"}, {"", ""}, {"colour", "red"}} {
		if _, err := seams.ParseSearch(bad.kind, bad.text); err == nil {
			t.Errorf("ParseSearch(%q, %q) accepted", bad.kind, bad.text)
		}
	}
}

func testCompoundStats(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	c, i, s, r := Small()
	loadRegistry(t, st, p, c, i, s, load.NewOptions())
	loadReports(t, st, p, load.NewOptions(), r...)
	xrefStore(t, st, p)
	stats, err := st.CompoundStats(ctx(), p)
	must(t, err)
	sum, err := st.Summary(ctx(), p, seams.SummaryQuery{})
	must(t, err)
	by := map[string]seams.CompoundCount{}
	for _, cc := range sum.ByCompound {
		by[cc.Compound] = cc
	}
	compounds, err := st.Compounds(ctx())
	must(t, err)
	if len(stats) != len(compounds) {
		t.Errorf("%d compound stats, want one per compound (%d)", len(stats), len(compounds))
	}
	for _, cs := range stats {
		if cs.Tied != by[cs.ID].Tied || cs.Potential != by[cs.ID].Potential {
			t.Errorf("%s: %d tied, %d potential; the summary says %d, %d", cs.ID, cs.Tied, cs.Potential, by[cs.ID].Tied, by[cs.ID].Potential)
		}
		if cs.ID == "c-jinbei" && (cs.Indicators.IP != 1 || cs.Indicators.CIDR != 1 || cs.Indicators.Device != 1 || cs.First.IsZero()) {
			t.Errorf("c-jinbei: %+v", cs)
		}
	}
	one, err := st.CompoundStats(ctx(), p, "c-kings")
	must(t, err)
	if len(one) != 1 || one[0].Name != "Kings Romans" {
		t.Errorf("stats of c-kings: %+v", one)
	}
	_, err = st.CompoundStats(ctx(), p, "c-none")
	wantErr(t, err, seams.ErrNotFound, "stats of an unknown compound")
	cs, err := st.Summary(ctx(), p, seams.SummaryQuery{Compound: "c-kings"})
	must(t, err)
	if len(cs.ByCompound) != 1 || cs.ByCompound[0].Compound != "c-kings" || cs.Findings != by["c-kings"].Tied+by["c-kings"].Potential {
		t.Errorf("summary of c-kings: %+v", cs)
	}
	months := 0
	for _, m := range sum.ByMonth {
		months += m.Tied + m.Potential
	}
	if months != sum.Findings || len(sum.ByMonth) < 2 {
		t.Errorf("findings by month %+v add up to %d, want %d", sum.ByMonth, months, sum.Findings)
	}
}

// differential loads the files into st and runs the store's
// cross-reference, runs `seams xref` on the same files, and compares
// findings and summaries.
func differential(t *testing.T, st seams.Store, compounds, indicators, shared string, reports []string) {
	p := Operator
	loadRegistry(t, st, p, compounds, indicators, shared, load.NewOptions())
	loadReports(t, st, p, load.NewOptions(), reports...)
	xrefStore(t, st, p)

	wantLines, want := XrefLines(t, compounds, indicators, shared, reports)
	got := findingLines(t, st, p)
	if len(wantLines) == 0 {
		t.Fatal("xref found nothing: the data set tests nothing")
	}
	diffLines(t, "stored findings against xref's findings.jsonl", got, wantLines)

	sum, err := st.Summary(ctx(), p, seams.SummaryQuery{})
	must(t, err)
	sameAsXref(t, "store summary", sum, want, true)
}

// sameAsXref holds a store's summary to the summary.json of seams xref
// over the same files where they share fields: the counts, by compound,
// by country, by AS and the signals (both absent without enrichment),
// and with registry the registry's counts.
func sameAsXref(t testing.TB, what string, sum *seams.StoreSummary, want *seams.Summary, registry bool) {
	t.Helper()
	type core struct {
		Reports, Events, Devices, Tied, Potential, CompoundsTied, Findings int
		ByCompound                                                         []seams.CompoundCount
		ByCountry                                                          []seams.CountryCount
		ByASN                                                              []seams.ASNCount
		Signals                                                            *seams.SignalCounts
		Registry                                                           seams.RegistryCounts
	}
	g := core{sum.Reports, sum.Events, sum.Devices, sum.TiedReports, sum.PotentialReports, sum.CompoundsTied, sum.Findings, sum.ByCompound, sum.ByCountry, sum.ByASN, sum.Signals, sum.Registry}
	w := core{want.Reports, want.Events, want.Devices, want.TiedReports, want.PotentialReports, want.CompoundsTied, want.Findings, want.ByCompound, want.ByCountry, want.ByASN, want.Signals, want.Registry}
	if !registry {
		g.Registry, w.Registry = seams.RegistryCounts{}, seams.RegistryCounts{}
	}
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if string(gj) != string(wj) {
		t.Errorf("%s\n %s\nxref summary.json\n %s", what, gj, wj)
	}
}

// XrefLines runs `seams xref` on files and returns its findings.jsonl
// lines, sorted, and its summary.
func XrefLines(t testing.TB, compounds, indicators, shared string, reports []string) ([]string, *seams.Summary) {
	t.Helper()
	o := xref.NewOptions()
	o.Compounds, o.Indicators, o.Shared, o.Reports = compounds, indicators, shared, reports
	o.Out = t.TempDir()
	sum, err := xref.Run(ctx(), o)
	must(t, err)
	b, err := os.ReadFile(filepath.Join(o.Out, xref.FindingsFile))
	must(t, err)
	var lines []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return lines, sum
}

func testDifferentialSmall(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	c, i, s, r := Small()
	differential(t, st, c, i, s, r)
}

func testDifferentialGenerated(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	dir := t.TempDir()
	o := gen.DefaultOptions()
	o.Seed, o.Compounds, o.Indicators, o.Reports = 7, 30, 1500, 20000
	o.TiedRate, o.PotentialRate, o.BadRate = 0.02, 0.05, 0.01
	if testing.Short() {
		o.Reports = 4000
	}
	f, err := gen.Generate(dir, o)
	must(t, err)
	differential(t, st, f.Compounds, f.Indicators, f.Shared, []string{f.Reports})
}

// testSummarySlowTwin holds Summary and CompoundStats, which count in one
// pass over the findings, to a slow count over every finding listed:
// distinct reports by tier, by compound and by country, months, reviews
// (stale ones too), for the whole store and for each compound.
func testSummarySlowTwin(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	dir := t.TempDir()
	o := gen.DefaultOptions()
	o.Seed, o.Compounds, o.Indicators, o.Reports = 11, 12, 600, 3000
	o.TiedRate, o.PotentialRate = 0.1, 0.2
	f, err := gen.Generate(dir, o)
	must(t, err)
	loadRegistry(t, st, p, f.Compounds, f.Indicators, f.Shared, load.NewOptions())
	loadReports(t, st, p, load.NewOptions(), f.Reports)
	xrefStore(t, st, p)
	all := allFindings(t, st, p, seams.FindingQuery{Limit: 1000})
	if len(all) < 100 {
		t.Fatalf("%d findings: the data set tests little", len(all))
	}
	// Reviews of a few, one of them made stale by a retro-hunt that
	// changes its evidence (the drift changes).
	for i, m := range []seams.Mark{seams.MarkConfirmed, seams.MarkDismissed, seams.MarkConfirmed} {
		_, err := st.Review(ctx(), p, all[i*7].ID, m, "")
		must(t, err)
	}
	compounds, err := st.Compounds(ctx())
	must(t, err)
	country := map[string]string{}
	for _, c := range compounds {
		country[c.ID] = c.Country
	}
	slow := func(only string) seams.StoreSummary { return slowSummary(t, st, p, only, country) }
	same := func(what string, got *seams.StoreSummary, want seams.StoreSummary) {
		t.Helper()
		sameSummary(t, what, got, want)
	}
	check := func() {
		sum, err := st.Summary(ctx(), p, seams.SummaryQuery{})
		must(t, err)
		same("summary", sum, slow(""))
		stats, err := st.CompoundStats(ctx(), p)
		must(t, err)
		for _, cs := range stats {
			one, err := st.Summary(ctx(), p, seams.SummaryQuery{Compound: cs.ID})
			must(t, err)
			want := slow(cs.ID)
			same("summary of "+cs.ID, one, want)
			if cs.Tied != one.TiedReports || cs.Potential != one.PotentialReports || cs.Confirmed != want.Reviews.Confirmed || cs.Dismissed != want.Reviews.Dismissed {
				t.Errorf("stats of %s: %+v; its summary %+v", cs.ID, cs, one)
			}
			byID, err := st.CompoundStats(ctx(), p, cs.ID)
			must(t, err)
			if len(byID) != 1 || byID[0].Tied != cs.Tied || byID[0].Potential != cs.Potential || !byID[0].First.Equal(cs.First) || !byID[0].Last.Equal(cs.Last) {
				t.Errorf("stats of %s alone %+v, among all %+v", cs.ID, byID, cs)
			}
		}
	}
	check()
	// A retro-hunt with another drift changes some findings: reviews of
	// those go stale, and the counts follow.
	_, err = hunt.Run(ctx(), st, p, hunt.Options{Drift: defaultDrift / 3})
	must(t, err)
	check()
}

// slowSummary counts the summary of what p sees over every finding
// listed (of compound only, when given): the slow twin of Summary.
func slowSummary(t testing.TB, st seams.Store, p seams.Principal, only string, country map[string]string) seams.StoreSummary {
	var s seams.StoreSummary
	tiedR, anyR := map[int64]bool{}, map[int64]bool{}
	type key struct {
		k string
		r int64
	}
	cTied, cAny := map[key]bool{}, map[key]bool{}
	byC := map[string]*seams.CompoundCount{}
	months := map[string]*seams.MonthCount{}
	tiedCompounds := map[string]bool{}
	for _, x := range allFindings(t, st, p, seams.FindingQuery{Limit: 1000, Compound: only}) {
		s.Findings++
		anyR[x.ReportSeq] = true
		cAny[key{country[x.Compound], x.ReportSeq}] = true
		cc := byC[x.Compound]
		if cc == nil {
			cc = &seams.CompoundCount{Compound: x.Compound}
			byC[x.Compound] = cc
		}
		m := ""
		if !x.At.IsZero() {
			m = x.At.UTC().Format("2006-01")
		}
		mc := months[m]
		if mc == nil {
			mc = &seams.MonthCount{Month: m}
			months[m] = mc
		}
		if x.Tier == seams.TierTied {
			tiedR[x.ReportSeq] = true
			cTied[key{country[x.Compound], x.ReportSeq}] = true
			tiedCompounds[x.Compound] = true
			cc.Tied++
			mc.Tied++
		} else {
			cc.Potential++
			mc.Potential++
		}
		switch x.Review.Mark {
		case seams.MarkConfirmed:
			s.Reviews.Confirmed++
		case seams.MarkDismissed:
			s.Reviews.Dismissed++
		default:
			s.Reviews.Unreviewed++
		}
		if x.ReviewStale() {
			s.Reviews.Stale++
		}
	}
	s.TiedReports, s.PotentialReports, s.CompoundsTied = len(tiedR), len(anyR)-len(tiedR), len(tiedCompounds)
	for _, cc := range byC {
		s.ByCompound = append(s.ByCompound, *cc)
	}
	countries := map[string]*seams.CountryCount{}
	for k := range cAny {
		cc := countries[k.k]
		if cc == nil {
			cc = &seams.CountryCount{Country: k.k}
			countries[k.k] = cc
		}
		if cTied[k] {
			cc.Tied++
		} else {
			cc.Potential++
		}
	}
	for _, cc := range countries {
		s.ByCountry = append(s.ByCountry, *cc)
	}
	for _, mc := range months {
		s.ByMonth = append(s.ByMonth, *mc)
	}
	return s
}

// sameSummary compares the counts of two summaries, lists in any order.
func sameSummary(t testing.TB, what string, got *seams.StoreSummary, want seams.StoreSummary) {
	t.Helper()
	sortCounts := func(s *seams.StoreSummary) {
		sort.Slice(s.ByCompound, func(i, j int) bool { return s.ByCompound[i].Compound < s.ByCompound[j].Compound })
		sort.Slice(s.ByCountry, func(i, j int) bool { return s.ByCountry[i].Country < s.ByCountry[j].Country })
		sort.Slice(s.ByMonth, func(i, j int) bool { return s.ByMonth[i].Month < s.ByMonth[j].Month })
		for i := range s.ByCompound {
			s.ByCompound[i].Name, s.ByCompound[i].Country = "", ""
		}
		// None and an empty list are the same counts.
		if len(s.ByCompound) == 0 {
			s.ByCompound = nil
		}
		if len(s.ByCountry) == 0 {
			s.ByCountry = nil
		}
		if len(s.ByMonth) == 0 {
			s.ByMonth = nil
		}
	}
	g := *got
	g.ByCompound = slices.Clone(g.ByCompound)
	sortCounts(&g)
	sortCounts(&want)
	type core struct {
		Tied, Potential, CompoundsTied, Findings int
		Reviews                                  seams.ReviewCounts
		ByCompound                               []seams.CompoundCount
		ByCountry                                []seams.CountryCount
		ByMonth                                  []seams.MonthCount
	}
	gj, _ := json.Marshal(core{g.TiedReports, g.PotentialReports, g.CompoundsTied, g.Findings, g.Reviews, g.ByCompound, g.ByCountry, g.ByMonth})
	wj, _ := json.Marshal(core{want.TiedReports, want.PotentialReports, want.CompoundsTied, want.Findings, want.Reviews, want.ByCompound, want.ByCountry, want.ByMonth})
	if string(gj) != string(wj) {
		t.Errorf("%s:\nstore %s\nslow  %s", what, gj, wj)
	}
}
