package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/load"
)

// Issue 18: a server a coalition shares. Every organisation's admin is a
// possible attacker of the data all organisations rest on: shared space
// and compounds.

const govCompounds = `id,name,aliases,country,province,lat,lon,status
c-a,Compound A,,KH,Preah Sihanouk,10.61,103.52,active
c-b,Compound B,,MM,Kayin,16.57,98.54,active
`

// govFixture: compounds stored by org-a, a shared indicator of org-a on
// a satellite address (203.0.113.100, which the README says can never
// tie), and one report of each organisation observing it. It returns the
// admins of org-a and org-b and org-a's analyst.
func govFixture(t *testing.T, st seams.Store) (a, b, analystB seams.Principal) {
	t.Helper()
	mk := func(org string, role seams.Role) seams.Principal {
		s, _, err := st.CreateToken(ctx(), Operator, seams.NewToken{Org: org, User: "u-" + org + "-" + string(role), Role: role})
		must(t, err)
		p, err := st.Authenticate(ctx(), s)
		must(t, err)
		return p
	}
	a, b, analystB = mk("org-a", seams.RoleAdmin), mk("org-b", seams.RoleAdmin), mk("org-b", seams.RoleAnalyst)
	_, err := load.Compounds(ctx(), st, a, write(t, "compounds.csv", govCompounds), load.NewOptions())
	must(t, err)
	o := load.NewOptions()
	o.Shared = true
	_, err = load.Indicators(ctx(), st, a, indicators(t, "c-a,ip,203.0.113.100,,,,a-source"), o)
	must(t, err)
	loadReports(t, st, a, load.NewOptions(), write(t, "ra.jsonl", `{"id":"ra-1","ips":[{"ip":"203.0.113.100","at":"2024-05-10T00:00:00Z"}]}`+"\n"))
	loadReports(t, st, b, load.NewOptions(), write(t, "rb.jsonl", `{"id":"rb-1","ips":[{"ip":"203.0.113.100","at":"2024-05-10T00:00:00Z"}]}`+"\n"))
	return a, b, analystB
}

// loadShared loads a shared-space list as p, with its scope and
// confirmation.
func loadShared(st seams.Store, p seams.Principal, name, text string, scope seams.SharedScope, confirm bool, t *testing.T) (load.Result, error) {
	o := load.NewOptions()
	o.Name, o.Confirm = name, confirm
	o.Shared, o.Coalition = scope == seams.SharedAll, scope == seams.SharedCoalition
	return load.Shared(ctx(), st, p, write(t, "list.txt", text), o)
}

// tiers is every finding of the store as "report compound tier".
func tiers(t *testing.T, st seams.Store) string {
	return strings.Join(pairs(allFindings(t, st, Operator, seams.FindingQuery{})), ", ")
}

// sees reports whether p's audit view holds an entry of action on object.
func sees(t *testing.T, st seams.Store, p seams.Principal, action, object string) bool {
	t.Helper()
	es, err := st.AuditEntries(ctx(), p, seams.AuditQuery{Action: action, Object: object})
	must(t, err)
	return len(es) > 0
}

func testSharedSpaceOwners(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	a, b, _ := govFixture(t, st)

	// org-a shares its satellite list: both organisations' findings on
	// the satellite address are weakened to potential.
	_, err := loadShared(st, a, "satellite.txt", "203.0.113.96/27\n", seams.SharedAll, false, t)
	must(t, err)
	xrefStore(t, st, Operator)
	const weakened = "ra-1 c-a potential, rb-1 c-a potential"
	if got := tiers(t, st); got != weakened {
		t.Fatalf("with org-a's shared satellite list: %s, want %s", got, weakened)
	}
	if !sees(t, st, b, "shared.global", "shared:satellite.txt") {
		t.Error("org-b's admin does not see org-a's shared list, which applies to its reports, in its audit view")
	}

	// The attacks of issue 18, each followed by a run: none changes
	// another organisation's findings.
	for _, c := range []struct {
		name, list string
		scope      seams.SharedScope
		confirm    bool
		err        error
		want       string // findings after the next run
	}{
		{"an empty list under org-a's list name", "", seams.SharedOwn, false, nil, weakened},
		{"an empty shared list under org-a's list name", "", seams.SharedAll, false, nil, weakened},
		{"the IPv4 default route", "0.0.0.0/0\n", seams.SharedAll, true, seams.ErrInvalid, weakened},
		{"the IPv6 default route", "::/0\n", seams.SharedAll, true, seams.ErrInvalid, weakened},
		{"half of IPv4, unconfirmed", "0.0.0.0/1\n", seams.SharedOwn, false, seams.ErrNeedsConfirm, weakened},
		{"much of IPv6 in pieces, unconfirmed", "2000::/8\n2100::/8\n", seams.SharedOwn, false, seams.ErrNeedsConfirm, weakened},
		{"half of IPv4, confirmed, shared with everyone", "128.0.0.0/1\n", seams.SharedAll, true, seams.ErrForbidden, weakened},
		{"the coalition set, by an organisation's admin", "192.0.2.0/24\n", seams.SharedCoalition, false, seams.ErrForbidden, weakened},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadShared(st, b, "satellite.txt", c.list, c.scope, c.confirm, t)
			if c.err != nil {
				wantErr(t, err, c.err, c.name)
			} else {
				must(t, err)
			}
			xrefStore(t, st, Operator)
			if got := tiers(t, st); got != c.want {
				t.Errorf("after %s: %s, want %s", c.name, got, c.want)
			}
		})
	}

	// org-a withdrawing its list upgrades both again, visibly to org-b.
	_, err = loadShared(st, a, "satellite.txt", "", seams.SharedAll, false, t)
	must(t, err)
	xrefStore(t, st, Operator)
	if got, want := tiers(t, st), "ra-1 c-a tied, rb-1 c-a tied"; got != want {
		t.Errorf("org-a's list emptied: %s, want %s", got, want)
	}

	// A list org-b keeps to itself, confirmed, weakens only org-b's.
	_, err = loadShared(st, b, "wide.txt", "128.0.0.0/1\n", seams.SharedOwn, true, t)
	must(t, err)
	xrefStore(t, st, Operator)
	if got, want := tiers(t, st), "ra-1 c-a tied, rb-1 c-a potential"; got != want {
		t.Errorf("org-b's own wide list: %s, want %s", got, want)
	}
	if sees(t, st, a, "shared.load", "shared:wide.txt") {
		t.Error("org-a's admin sees org-b's own list, which does not apply to it")
	}
	// Nor does org-a's summary count it, or its search find it.
	prefixes := func(p seams.Principal) int {
		sum, err := st.Summary(ctx(), p, seams.SummaryQuery{})
		must(t, err)
		return sum.Registry.SharedPrefixes
	}
	if na, nb := prefixes(a), prefixes(b); nb != na+1 {
		t.Errorf("shared prefixes in the summaries: org-a %d, org-b %d; want org-b's own list in org-b's only", na, nb)
	}
	q, err := seams.ParseSearch("", "198.51.100.1")
	must(t, err)
	for p, want := range map[seams.Principal]int{a: 0, b: 1} {
		res, err := st.Search(ctx(), p, q)
		must(t, err)
		if len(res.Shared) != want {
			t.Errorf("%s's search of 198.51.100.1 finds shared space %v, want %d prefixes", p.Org, res.Shared, want)
		}
	}

	// The coalition set: only a steward changes it, and every
	// organisation sees the change.
	s, _, err := st.CreateToken(ctx(), a, seams.NewToken{Org: "org-a", Role: seams.RoleCoalition})
	wantErr(t, err, seams.ErrForbidden, "an organisation's admin creating a coalition token")
	s, _, err = st.CreateToken(ctx(), Operator, seams.NewToken{Org: "org-c", User: "steward", Role: seams.RoleCoalition})
	must(t, err)
	steward, err := st.Authenticate(ctx(), s)
	must(t, err)
	_, err = loadShared(st, steward, "coalition.txt", "203.0.113.96/27\n", seams.SharedCoalition, false, t)
	must(t, err)
	xrefStore(t, st, Operator)
	if got, want := tiers(t, st), "ra-1 c-a potential, rb-1 c-a potential"; got != want {
		t.Errorf("with the coalition set: %s, want %s", got, want)
	}
	for _, p := range []seams.Principal{a, b} {
		if !sees(t, st, p, "shared.global", "coalition:coalition.txt") {
			t.Errorf("%s's admin does not see the change of the coalition set", p.Org)
		}
	}
}

func testCompoundOwners(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	a, b, analystB := govFixture(t, st)
	load1 := func(p seams.Principal, text string, confirm bool) error {
		o := load.NewOptions()
		o.Confirm = confirm
		_, err := load.Compounds(ctx(), st, p, write(t, "compounds.csv", text), o)
		return err
	}
	compound := func(id string) string {
		cs, err := st.Compounds(ctx())
		must(t, err)
		for _, c := range cs {
			if c.ID == id {
				return fmt.Sprintf("%s %s %.2f,%.2f %s", c.Name, c.Country, c.Lat, c.Lon, c.Status)
			}
		}
		return "none"
	}
	const header = "id,name,aliases,country,province,lat,lon,status\n"
	orig := compound("c-a")

	// org-b's analyst renames org-a's compound, moves it to another
	// country and closes it: refused, nothing changes.
	err := load1(analystB, header+"c-a,Renamed,,TH,Bangkok,13.75,100.50,closed\n", true)
	wantErr(t, err, seams.ErrForbidden, "org-b renaming org-a's compound")
	if got := compound("c-a"); got != orig {
		t.Errorf("org-a's compound is now %s, want %s", got, orig)
	}
	// org-b may add compounds of its own.
	must(t, load1(analystB, header+"c-x,Compound X,,LA,Bokeo,20.35,100.08,active\n", false))

	// org-a moving its own compound thousands of km needs confirmation,
	// and so does a change of country.
	err = load1(a, header+"c-a,Compound A,,KH,Preah Sihanouk,48.85,2.35,active\n", false)
	wantErr(t, err, seams.ErrNeedsConfirm, "a compound moved thousands of km")
	err = load1(a, header+"c-a,Compound A,,TH,Preah Sihanouk,10.61,103.52,active\n", false)
	wantErr(t, err, seams.ErrNeedsConfirm, "a compound moved to another country")
	if got := compound("c-a"); got != orig {
		t.Errorf("an unconfirmed change stored: %s, want %s", got, orig)
	}
	// A short move and a change of status are org-a's to make.
	must(t, load1(a, header+"c-a,Compound A,,KH,Preah Sihanouk,10.62,103.53,raided\n", false))
	if got, want := compound("c-a"), "Compound A KH 10.62,103.53 raided"; got != want {
		t.Errorf("org-a's own change: %s, want %s", got, want)
	}
	// Confirmed, the long move is stored; every organisation sees it.
	must(t, load1(a, header+"c-a,Compound A,,KH,Preah Sihanouk,21.03,105.85,raided\n", true))
	for _, p := range []seams.Principal{a, b} {
		es, err := st.AuditEntries(ctx(), p, seams.AuditQuery{Action: "compound.update", Object: "compound:c-a"})
		must(t, err)
		if len(es) != 2 || !strings.Contains(es[1].Detail, "confirmed") {
			t.Errorf("%s's audit view of compound c-a's changes: %+v, want both, the last confirmed", p.Org, es)
		}
	}
	// A coalition steward may correct any organisation's compound.
	s, _, err := st.CreateToken(ctx(), Operator, seams.NewToken{Org: "org-c", Role: seams.RoleCoalition})
	must(t, err)
	steward, err := st.Authenticate(ctx(), s)
	must(t, err)
	must(t, load1(steward, header+"c-x,Compound X (Golden Triangle),,LA,Bokeo,20.35,100.08,active\n", false))
}

// testUnchangedLoadAudit: loading an unchanged report file again appends
// one audit entry, not one a batch.
func testUnchangedLoadAudit(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	var text strings.Builder
	for i := range 50 {
		fmt.Fprintf(&text, `{"id":"r-%d","ips":[{"ip":"192.0.2.%d","at":"2024-05-10T00:00:00Z"}]}`+"\n", i, i+1)
	}
	f := write(t, "r.jsonl", text.String())
	o := load.NewOptions()
	o.Batch = 5
	count := func() int {
		es, err := st.AuditEntries(ctx(), Operator, seams.AuditQuery{Limit: 10000})
		must(t, err)
		return len(es)
	}
	loadReports(t, st, Operator, o, f)
	before := count()
	res := loadReports(t, st, Operator, o, f)
	if res.Changed() || res.Unchanged != 50 {
		t.Fatalf("second load: %+v, want 50 unchanged", res)
	}
	if n := count() - before; n != 1 {
		t.Errorf("the unchanged load appended %d audit entries, want 1", n)
	}
	es, err := st.AuditEntries(ctx(), Operator, seams.AuditQuery{After: int64(before), Action: "reports.load"})
	must(t, err)
	if len(es) != 1 || !strings.Contains(es[0].Detail, "nothing changed") {
		t.Errorf("entries of the unchanged load: %+v", es)
	}
}

// testAuditState: a row edited in the database without the store (and
// so without an audit entry) is found by verification, although the
// chain itself is intact.
func testAuditState(t *testing.T, e Engine) {
	for _, c := range []struct {
		name, sql, want string
	}{
		{"review mark turned and comment forged", `UPDATE findings SET mark = 'dismissed', comment = 'not related' WHERE mark = 'confirmed'`, "the review of finding"},
		{"review mark set with no review at all", `UPDATE findings SET mark = 'confirmed', reviewed_by = 'cli:someone' WHERE mark = ''`, "no audit entry records a review"},
		{"indicator retired", `UPDATE indicators SET retired_ns = 1 WHERE retired_ns IS NULL`, `indicator file "indicators.csv" of org-a`},
		{"indicator version rewritten", `UPDATE indicators SET version = version + 1`, `indicator file "indicators.csv" of org-a`},
		{"shared prefix widened", `UPDATE shared_space SET prefix = '128.0.0.0/1'`, `shared-space list "satellite.txt" of org-a`},
		{"shared list made to apply to everyone", `UPDATE shared_space SET scope = 1`, `shared-space list "satellite.txt" of org-a`},
		{"compound moved", `UPDATE compounds SET country = 'TH' WHERE id = 'c-a'`, "the compounds"},
		{"compound taken over", `UPDATE compounds SET org = 0`, "the compounds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, _ := e.New(t)
			defer st.Close()
			a, _, _ := govFixture(t, st)
			_, err := loadShared(st, a, "satellite.txt", "203.0.113.96/27\n", seams.SharedOwn, false, t)
			must(t, err)
			xrefStore(t, st, Operator)
			f := findingOf(t, st, Operator, "ra-1", "c-a")
			_, err = st.Review(ctx(), a, f.ID, seams.MarkConfirmed, "same login, same week")
			must(t, err)
			_, err = st.VerifyAudit(ctx(), Operator)
			must(t, err)

			res, err := DB(t, st).Exec(c.sql)
			must(t, err)
			if n, _ := res.RowsAffected(); n == 0 {
				t.Fatalf("%q changed nothing: the case is vacuous", c.sql)
			}
			for name, verify := range map[string]func() (seams.AuditHead, error){
				"incremental": func() (seams.AuditHead, error) { return st.VerifyAudit(ctx(), Operator) },
				"full":        func() (seams.AuditHead, error) { return st.VerifyAuditFull(ctx(), Operator) },
			} {
				_, err := verify()
				wantErr(t, err, seams.ErrAuditTampered, name+" verification after "+c.name)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s verification: %v, want it to name %q", name, err, c.want)
				}
			}
		})
	}
}

// testAuditCheckpoint: verification goes on from the last checkpoint,
// which is trusted only as the chain covers it.
func testAuditCheckpoint(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	govFixture(t, st)
	first, err := st.VerifyAudit(ctx(), Operator)
	must(t, err)
	if first.From != 0 || first.Checked != first.Seq {
		t.Fatalf("first verification %+v, want the whole chain", first)
	}
	xrefStore(t, st, Operator)
	second, err := st.VerifyAudit(ctx(), Operator)
	must(t, err)
	if second.From != first.Seq || second.Checked != second.Seq-first.Seq || second.Checked == 0 {
		t.Errorf("second verification %+v, want it to start at the first's head %d", second, first.Seq)
	}
	full, err := st.VerifyAuditFull(ctx(), Operator)
	must(t, err)
	if full.From != 0 || full.Checked != full.Seq {
		t.Errorf("full verification %+v, want the whole chain", full)
	}

	for _, c := range []struct {
		name, sql, want string
	}{
		{"checkpoint moved forward", `UPDATE state SET verified_seq = verified_seq + 3, verified_entry = verified_entry + 3`, "is not the one verified at the checkpoint"},
		{"checkpoint entry removed", `DELETE FROM audit WHERE seq = (SELECT verified_entry FROM state WHERE id = 1)`, "follows entry"},
		{"entry after the checkpoint edited", `UPDATE audit SET detail = 'nothing' WHERE seq = (SELECT verified_seq FROM state WHERE id = 1) + 2`, "was changed"},
		{"entry before the checkpoint edited, hashes rewritten", `UPDATE audit SET hash = prev WHERE seq = (SELECT verified_seq FROM state WHERE id = 1)`, "is not the one verified at the checkpoint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, _ := e.New(t)
			defer st.Close()
			govFixture(t, st)
			_, err := st.VerifyAudit(ctx(), Operator)
			must(t, err)
			xrefStore(t, st, Operator)
			db := DB(t, st)
			_, err = db.Exec(e.Unguard)
			must(t, err)
			res, err := db.Exec(c.sql)
			must(t, err)
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("%q changed %d rows, want 1", c.sql, n)
			}
			_, err = st.VerifyAudit(ctx(), Operator)
			wantErr(t, err, seams.ErrAuditTampered, c.name)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("verify: %v, want it to say %q", err, c.want)
			}
		})
	}
}

// testRunsScoped: an organisation reads a run as what it did for what it
// may see: not the other organisations' counts, reports or tokens.
func testRunsScoped(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	a, b, _ := govFixture(t, st)
	// A second report of org-a, so that the organisations' counts differ.
	loadReports(t, st, a, load.NewOptions(), write(t, "ra2.jsonl", `{"id":"ra-2","ips":[{"ip":"203.0.113.100","at":"2024-05-11T00:00:00Z"}]}`+"\n"))
	run := xrefStore(t, st, a)
	if run.Counts[seams.ChangeNew] != 3 || run.Scanned != 3 {
		t.Fatalf("the run: %+v, want 3 new findings of 3 reports", run)
	}
	for _, c := range []struct {
		p         seams.Principal
		new, scan int
		by        string
	}{
		{Operator, 3, 3, run.By},
		{a, 2, 2, run.By},
		{b, 1, 1, "another organisation"},
	} {
		runs, err := st.Runs(ctx(), c.p, 10)
		must(t, err)
		sum, err := st.Summary(ctx(), c.p, seams.SummaryQuery{})
		must(t, err)
		if len(runs) != 1 || sum.LastRun == nil {
			t.Fatalf("%s reads runs %+v, last run %+v", c.p.Org, runs, sum.LastRun)
		}
		for what, r := range map[string]seams.Run{"runs": runs[0], "overview's last run": *sum.LastRun} {
			if r.Counts[seams.ChangeNew] != c.new || len(r.Counts) != 1 || r.Scanned != c.scan || r.By != c.by {
				t.Errorf("%s's %s: counts %v, %d scanned, by %q; want %d new, %d scanned, by %q", c.p.Org, what, r.Counts, r.Scanned, r.By, c.new, c.scan, c.by)
			}
		}
	}
}
