package storetest

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/mmdb"
	"github.com/seams-dev/seams/xref"
)

// undoRecordTime takes a store of the schema with record time
// (schemaRecordTime) back to the version before it (both engines); the
// tests that take a store further back undo it first.
var undoRecordTime = []string{
	`DROP TABLE compound_versions`,
	`DROP INDEX indicators_recorded`,
	`ALTER TABLE indicators DROP COLUMN recorded_ns`,
	`ALTER TABLE indicator_files DROP COLUMN recorded_ns`,
	`ALTER TABLE shared_space DROP COLUMN recorded_ns`,
	`ALTER TABLE runs DROP COLUMN as_of_ns`,
	`ALTER TABLE state DROP COLUMN recorded_ns`,
}

// undoCoalition takes a store after schemaCoalition back
// to the step before (both engines).
var undoCoalition = []string{
	`DROP INDEX audit_action`,
	`DROP INDEX shared_space_org`,
	`ALTER TABLE shared_space DROP COLUMN org`,
	`ALTER TABLE shared_space DROP COLUMN scope`,
	`DROP TABLE shared_asn`,
	`ALTER TABLE compounds DROP COLUMN org`,
	`ALTER TABLE state DROP COLUMN verified_seq`,
	`ALTER TABLE state DROP COLUMN verified_hash`,
	`ALTER TABLE state DROP COLUMN verified_entry`,
	`ALTER TABLE state DROP COLUMN integrity_from`,
}

// undoV5 takes a store of schema version 5 back to version 4 (both
// engines), for the tests that migrate an earlier store.
var undoV5 = []string{
	`DROP TABLE run_over`,
	`ALTER TABLE runs DROP COLUMN seams`,
	`ALTER TABLE runs DROP COLUMN parameters`,
	`ALTER TABLE finding_versions DROP COLUMN signals`,
	`ALTER TABLE finding_versions DROP COLUMN capped`,
}

// Rich is a generated data set with what the store's runs must treat as
// seams xref does: over-correlated ip and device indicators (one of them
// lifted), asn indicators (one on an AS the database does not know),
// shared space by AS and by preset, associated accounts, and the ASN and
// location database of package gen.
type Rich struct {
	Compounds, Indicators, Shared string
	// Reports are the generated reports (JSON Lines); Planted the reports
	// planted on the chosen indicators (CyberTipline XML), in batches.
	Reports string
	Planted []string
	IPDB    string
	// The parameters that make the planted indicators over-correlated.
	Limit     int
	Lift      []string
	SharedASN []uint32
	Presets   string
	// What was planted, for the tests' checks of non-vacuity.
	Capped, Lifted, Growing string // indicator values: capped from the first batch, lifted, over the limit in the last batch only
}

// plant is an indicator chosen from the generated registry.
type plant struct {
	compound, kind, value string
	at                    time.Time // inside its window
	asn                   uint32
}

// NewRich writes the generated set into dir: gen's files with n reports,
// asn indicators added to indicators.csv, and three batches of planted
// reports (see Rich).
func NewRich(t testing.TB, dir string, n int) Rich {
	t.Helper()
	o := gen.DefaultOptions()
	o.Seed, o.Compounds, o.Indicators, o.Reports = 7, 30, 1500, n
	o.TiedRate, o.PotentialRate, o.BadRate = 0.02, 0.05, 0.01
	f, err := gen.Generate(dir, o)
	must(t, err)
	db, err := mmdb.Open(f.IPDB)
	must(t, err)
	defer db.Close()
	asnOf := func(s string) uint32 {
		a, err := netip.ParseAddr(s)
		must(t, err)
		r, err := db.Lookup(a)
		must(t, err)
		return r.ASN
	}
	shared := readPrefixes(t, f.Shared)
	inShared := func(s string) bool {
		a := netip.MustParseAddr(s)
		return slices.ContainsFunc(shared, func(p netip.Prefix) bool { return p.Contains(a) })
	}

	in, err := os.Open(f.Indicators)
	must(t, err)
	rows, err := csv.NewReader(in).ReadAll()
	in.Close()
	must(t, err)
	var ips, devices []plant
	own := map[string]map[uint32]bool{} // the ASes of each compound's address indicators (enrich's foreign-asn)
	addOwn := func(c string, asn uint32) {
		if own[c] == nil {
			own[c] = map[uint32]bool{}
		}
		own[c][asn] = true
	}
	for _, r := range rows[1:] {
		switch r[1] {
		case "ip":
			addOwn(r[0], asnOf(r[2]))
		case "cidr":
			p := netip.MustParsePrefix(r[2])
			addOwn(r[0], asnOf(p.Addr().String()))
			last := p.Addr().As4()
			for i := p.Bits(); i < 32; i++ {
				last[i/8] |= 1 << (7 - i%8)
			}
			addOwn(r[0], asnOf(netip.AddrFrom4(last).String()))
		}
		w, err := seams.ParseWindow(r[3], r[4])
		if err != nil || w.First.IsZero() || w.Last.IsZero() {
			continue
		}
		p := plant{compound: r[0], kind: r[1], value: r[2], at: w.First.Add(w.Last.Sub(w.First) / 2).Truncate(time.Second).UTC()}
		switch {
		case r[1] == "ip" && !inShared(r[2]):
			if p.asn = asnOf(r[2]); p.asn != 0 && p.asn != 14593 {
				ips = append(ips, p)
			}
		case r[1] == "device" && r[2] == strings.ToLower(r[2]):
			devices = append(devices, p)
		}
	}
	if len(ips) < 20 || len(devices) < 2 {
		t.Fatalf("generated registry: %d usable ip and %d device indicators", len(ips), len(devices))
	}
	capped, lifted, growing, dev := ips[0], ips[1], ips[2], devices[0]
	// Another ip indicator of the capped one's compound, which keeps a
	// report it ties with the capped one tied; and one on an AS none of
	// the others is on, which is listed as shared space.
	var other, onShared plant
	used := map[uint32]bool{capped.asn: true, lifted.asn: true, growing.asn: true}
	for _, p := range ips[3:] {
		switch {
		case other.value == "" && p.compound == capped.compound && p.value != capped.value && p.asn == capped.asn:
			other = p
		case onShared.value == "" && !used[p.asn]:
			onShared = p
		}
	}
	if other.value == "" || onShared.value == "" {
		t.Fatalf("no second ip indicator of %s on %s, or none on another AS", capped.compound, seams.FormatASN(capped.asn))
	}
	// A compound that has address indicators, none on the lifted one's
	// AS: an asn indicator of that AS is foreign to it.
	var foreign string
	for _, c := range slices.Sorted(maps.Keys(own)) {
		if len(own[c]) > 0 && !own[c][lifted.asn] && c != lifted.compound {
			foreign = c
			break
		}
	}
	if foreign == "" {
		t.Fatalf("every compound has an address on %s", seams.FormatASN(lifted.asn))
	}

	// asn indicators: the capped indicator's AS for its compound (its own
	// AS), the lifted one's AS for a compound with no address there
	// (foreign-asn), and an AS of documentation space that the database
	// does not know (unusable).
	wide := func(c string, asn uint32) []string {
		return []string{c, "asn", seams.FormatASN(asn), "2020-01-01", "2027-12-31", "", "store-test"}
	}
	rows = append(rows, wide(capped.compound, capped.asn), wide(foreign, lifted.asn), wide(capped.compound, 64500))
	inds := filepath.Join(dir, "indicators-rich.csv")
	out, err := os.Create(inds)
	must(t, err)
	w := csv.NewWriter(out)
	must(t, w.WriteAll(rows))
	must(t, out.Close())

	const limit = 5
	var batches [4][]string
	n = 0
	report := func(batch int, ev ...string) {
		n++
		batches[batch] = append(batches[batch], fmt.Sprintf(`  <report>
    <reportId>planted-%04d</reportId>
    <incidentSummary><incidentType>Online Enticement of Children for Sexual Acts</incidentType></incidentSummary>
    <personOrUserReported>
%s    </personOrUserReported>
  </report>
`, n, strings.Join(ev, "")))
	}
	event := func(p plant, extra string) string {
		return fmt.Sprintf("      <ipCaptureEvent><ipAddress>%s</ipAddress><eventName>Login</eventName><dateTime>%s</dateTime>%s</ipCaptureEvent>\n",
			p.value, p.at.Format(time.RFC3339), extra)
	}
	device := func(p plant) string {
		typ, val, _ := strings.Cut(p.value, ":")
		return fmt.Sprintf("      <deviceId><idType>%s</idType><idValue>%s</idValue><dateTime>%s</dateTime></deviceId>\n", typ, val, p.at.Format(time.RFC3339))
	}
	associated := func(ev ...string) string {
		return "      <associatedAccount>\n" + strings.Join(ev, "") + "      </associatedAccount>\n"
	}
	// Batch 1: the capped ip indicator and the device over the limit, the
	// lifted one too; some hits are associated accounts', one report is
	// tied by the capped indicator and another (stays tied), one by the
	// capped ip and the capped device (capped by both), one from a proxy.
	for i := range limit + 2 {
		if i%3 == 0 {
			report(0, associated(event(capped, "")))
		} else {
			report(0, event(capped, ""))
		}
		report(0, event(lifted, ""))
		if i%2 == 0 {
			report(0, associated(device(dev)))
		} else {
			report(0, device(dev))
		}
	}
	report(0, event(capped, ""), event(other, ""))
	report(0, event(capped, ""), device(dev))
	report(0, event(capped, "<possibleProxy>true</possibleProxy>"))
	report(0, event(onShared, ""))
	// The growing indicator, under the limit.
	for range limit - 2 {
		report(0, event(growing, ""))
	}
	// Batch 2: more reports of the capped indicator only.
	report(1, event(capped, ""))
	report(1, associated(event(capped, "")))
	// Batch 3: the growing indicator, still under the limit; batch 4:
	// over it.
	report(2, event(growing, ""))
	report(3, event(growing, ""))
	report(3, associated(event(growing, "")))
	r := Rich{Compounds: f.Compounds, Indicators: inds, Shared: f.Shared, Reports: f.Reports, IPDB: f.IPDB,
		Limit: limit, Lift: []string{lifted.value}, SharedASN: []uint32{onShared.asn}, Presets: "satellite",
		Capped: capped.value, Lifted: lifted.value, Growing: growing.value}
	for i, b := range batches {
		p := filepath.Join(dir, fmt.Sprintf("planted-%d.xml", i+1))
		must(t, os.WriteFile(p, []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<reports>\n"+strings.Join(b, "")+"</reports>\n"), 0o600))
		r.Planted = append(r.Planted, p)
	}
	return r
}

// readPrefixes reads a shared-space list: one address or prefix a line.
func readPrefixes(t testing.TB, path string) []netip.Prefix {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	var out []netip.Prefix
	for _, l := range strings.Split(string(b), "\n") {
		l, _, _ = strings.Cut(l, "#")
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		p, err := netip.ParsePrefix(l)
		if err != nil {
			a, err := netip.ParseAddr(l)
			must(t, err)
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out
}

// XrefOptions returns the options of seams xref over the set, with its
// reports and the first batches planted batches.
func (r Rich) XrefOptions(out string, batches int) xref.Options {
	o := xref.NewOptions()
	o.Compounds, o.Indicators, o.Shared = r.Compounds, r.Indicators, r.Shared
	o.Reports = append([]string{r.Reports}, r.Planted[:batches]...)
	o.MaxReportsPerIndicator, o.LiftCap = r.Limit, r.Lift
	o.ASNDB, o.GeoDB, o.SharedASN, o.SharedPresets = []string{r.IPDB}, []string{r.IPDB}, r.SharedASN, r.Presets
	o.Out = out
	return o
}

// r2x returns the options of seams xref over files, the defaults
// otherwise.
func r2x(compounds, indicators, shared string, reports []string, out string) xref.Options {
	o := xref.NewOptions()
	o.Compounds, o.Indicators, o.Shared, o.Reports, o.Out = compounds, indicators, shared, reports, out
	return o
}

// HuntOptions returns the options of a store's run with the same
// parameters.
func (r Rich) HuntOptions() hunt.Options {
	o := hunt.NewOptions()
	o.MaxReportsPerIndicator, o.LiftCap = r.Limit, r.Lift
	o.Enrich = enrich.Options{ASNDB: []string{r.IPDB}, GeoDB: []string{r.IPDB}, SharedASN: r.SharedASN, SharedPresets: r.Presets}
	return o
}

// xrefRun runs seams xref with o and returns its findings.jsonl lines,
// sorted, and its summary.
func xrefRun(t testing.TB, o xref.Options) ([]string, *seams.Summary) {
	t.Helper()
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
	slices.Sort(lines)
	return lines, sum
}

// overOf returns a run's over-correlated list as summary.json lists it.
func overOf(r seams.Run) []seams.OverCorrelated {
	out := []seams.OverCorrelated{}
	for _, o := range r.OverCorrelated {
		out = append(out, o.OverCorrelated)
	}
	return out
}

// byCount sorts an over-correlated list by reports, then by what the
// indicator is. Both doors list the most reports first; among equal
// counts, a store lists indicator versions in id order (the order they
// were loaded), seams xref in the order of its index's records, which is
// not its file's (match.Index groups addresses): the same list, in
// another order.
func byCount(l []seams.OverCorrelated) []seams.OverCorrelated {
	l = slices.Clone(l)
	slices.SortStableFunc(l, func(a, b seams.OverCorrelated) int {
		return cmp.Or(cmp.Compare(b.Reports, a.Reports), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Value, b.Value), cmp.Compare(a.Compound, b.Compound))
	})
	return l
}

// richEqual holds the store's findings and its run's over-correlated list
// to what seams xref makes of the same files with the same parameters.
func richEqual(t *testing.T, st seams.Store, p seams.Principal, r Rich, batches int, run seams.Run, what string) []string {
	t.Helper()
	want, sum := xrefRun(t, r.XrefOptions(t.TempDir(), batches))
	got := findingLines(t, st, p)
	diffLines(t, what+": stored findings against xref's findings.jsonl", got, want)
	runs, err := st.Runs(ctx(), p, 1)
	must(t, err)
	if len(runs) != 1 || runs[0].ID != run.ID {
		t.Fatalf("%s: the last run is %+v, want %d", what, runs, run.ID)
	}
	if g, w := fmt.Sprintf("%+v", byCount(overOf(runs[0]))), fmt.Sprintf("%+v", byCount(sum.OverCorrelated)); g != w {
		t.Errorf("%s: the run's over-correlated indicators\n %s\nxref's\n %s", what, g, w)
	}
	// The summaries agree where they share fields, the reports by AS and
	// the signals included (the registry's counts differ: xref counts
	// the asn indicators its database makes usable).
	ssum, err := st.Summary(ctx(), p, seams.SummaryQuery{})
	must(t, err)
	if len(sum.ByASN) == 0 || sum.Signals == nil || sum.Signals.CrossBorder+sum.Signals.ForeignASN == 0 {
		t.Errorf("%s: xref's summary has no AS or signal: the set tests less than it should", what)
	}
	sameAsXref(t, what+": store summary", ssum, sum, false)
	return got
}

// testDifferentialCapped: a store's runs over the rich set, with the cap,
// a lift, enrichment, asn indicators, shared space by AS and by preset,
// and associated accounts, make the findings seams xref makes, byte for
// byte ("capped", "signals", the observed addresses' AS, organisation,
// country and city), and the same over-correlated list; when the reports
// come in batches too: an incremental run whose new reports only add to
// capped indicators stays incremental (and its findings show the new
// counts), one whose new reports count for an indicator under the limit
// counts the stored findings, and one that takes an indicator over the
// limit becomes a retro-hunt.
func testDifferentialCapped(t *testing.T, e Engine) {
	n := 8000
	if testing.Short() {
		n = 3000
	}
	r := NewRich(t, t.TempDir(), n)
	p := Operator
	ho := r.HuntOptions()

	t.Run("one run", func(t *testing.T) {
		st, _ := e.New(t)
		defer st.Close()
		loadRegistry(t, st, p, r.Compounds, r.Indicators, r.Shared, load.NewOptions())
		loadReports(t, st, p, load.NewOptions(), append([]string{r.Reports}, r.Planted...)...)
		run, err := hunt.Run(ctx(), st, p, ho)
		must(t, err)
		lines := richEqual(t, st, p, r, len(r.Planted), run, "one run")
		checkEvidenceFilters(t, st, p, true)
		all := strings.Join(lines, "")
		for _, s := range []string{`"capped":[{"kind":"ip","value":"` + r.Capped + `"`, `"capped":[{"kind":"ip","value":"` + r.Growing + `"`,
			`"capped":[{"kind":"device"`, `"signals":["cross-border"`, `"foreign-asn"`, `"rule":"asn"`, `"asn":`, `"as_org":"`,
			`"country":"`, `"associated":true`, `, listed in shared-asn"`} {
			if !strings.Contains(all, s) {
				t.Errorf("no stored finding has %s: the set tests less than it should", s)
			}
		}
		if strings.Contains(all, `"capped":[{"kind":"ip","value":"`+r.Lifted+`"`) {
			t.Errorf("the lifted indicator %s capped a finding", r.Lifted)
		}
		if !slices.ContainsFunc(run.OverCorrelated, func(o seams.RunOverCorrelated) bool { return o.Value == r.Lifted && !o.Capped }) {
			t.Errorf("the lifted indicator is not listed, uncapped: %+v", run.OverCorrelated)
		}
		if !slices.ContainsFunc(run.Warnings, func(w string) bool { return strings.Contains(w, "1 asn indicators not used") }) {
			t.Errorf("warnings %q: want the asn indicator of an AS the database does not know", run.Warnings)
		}
		// The run keeps what made it.
		if run.Seams.Go == "" || run.Parameters.MaxReportsPerIndicator != r.Limit || !slices.Equal(run.Parameters.LiftCap, r.Lift) ||
			len(run.Parameters.Databases) != 2 || run.Parameters.Databases[0].Built == "" || !slices.Equal(run.Parameters.SharedPresets, []string{"satellite"}) {
			t.Errorf("the run's build and parameters: %+v %+v", run.Seams, run.Parameters)
		}
		runs, err := st.Runs(ctx(), p, 1)
		must(t, err)
		if fmt.Sprintf("%+v %+v", runs[0].Seams, runs[0].Parameters) != fmt.Sprintf("%+v %+v", run.Seams, run.Parameters) {
			t.Errorf("stored run %+v %+v, want %+v %+v", runs[0].Seams, runs[0].Parameters, run.Seams, run.Parameters)
		}
		// Nothing new: an idle run, which changes nothing and keeps the
		// list.
		again, err := hunt.Run(ctx(), st, p, ho)
		must(t, err)
		if again.Full || again.Scanned != 0 || len(again.Counts) != 0 || fmt.Sprint(overOf(again)) != fmt.Sprint(overOf(run)) {
			t.Errorf("idle run: full %v, %d reports, %v, over %+v", again.Full, again.Scanned, again.Counts, again.OverCorrelated)
		}
		// Other parameters: a retro-hunt. Without the cap, the capped
		// findings are tied again (upgraded), and the store holds what
		// seams xref finds without the cap.
		off := ho
		off.MaxReportsPerIndicator = 0
		run, err = hunt.Run(ctx(), st, p, off)
		must(t, err)
		if !run.Full || run.Counts[seams.ChangeUpgraded] == 0 || len(run.OverCorrelated) != 0 {
			t.Errorf("run without the cap: full %v, %v, over %+v", run.Full, run.Counts, run.OverCorrelated)
		}
		xo := r.XrefOptions(t.TempDir(), len(r.Planted))
		xo.MaxReportsPerIndicator = 0
		want, _ := xrefRun(t, xo)
		diffLines(t, "without the cap", findingLines(t, st, p), want)
	})

	t.Run("batches", func(t *testing.T) {
		st, _ := e.New(t)
		defer st.Close()
		loadRegistry(t, st, p, r.Compounds, r.Indicators, r.Shared, load.NewOptions())
		loadReports(t, st, p, load.NewOptions(), r.Reports, r.Planted[0])
		run, err := hunt.Run(ctx(), st, p, ho)
		must(t, err)
		richEqual(t, st, p, r, 1, run, "first batch")
		// Two more reports of the capped indicator: incremental; the
		// findings it capped show its new count without being revised.
		before := allFindings(t, st, p, seams.FindingQuery{})
		loadReports(t, st, p, load.NewOptions(), r.Planted[1])
		run, err = hunt.Run(ctx(), st, p, ho)
		must(t, err)
		if run.Full || run.Scanned != 2 || run.Counts[seams.ChangeRevised] != 0 {
			t.Errorf("second batch: full %v, %d reports, %v; want incremental over 2, no revision", run.Full, run.Scanned, run.Counts)
		}
		richEqual(t, st, p, r, 2, run, "second batch")
		after := allFindings(t, st, p, seams.FindingQuery{})
		grew := 0
		for _, a := range after {
			for _, b := range before {
				if a.ID == b.ID && len(a.Capped) > 0 && len(b.Capped) > 0 {
					if a.Version != b.Version {
						t.Errorf("finding %d was revised by reports of others", a.ID)
					}
					if a.Capped[0].Reports > b.Capped[0].Reports {
						grew++
					}
				}
			}
		}
		if grew == 0 {
			t.Error("no capped finding shows a grown count")
		}
		// A report of the growing indicator, under the limit and not
		// listed: the stored findings are counted; incremental.
		loadReports(t, st, p, load.NewOptions(), r.Planted[2])
		run, err = hunt.Run(ctx(), st, p, ho)
		must(t, err)
		if run.Full || run.Scanned != 1 {
			t.Errorf("third batch: full %v, %d reports; want incremental over 1", run.Full, run.Scanned)
		}
		richEqual(t, st, p, r, 3, run, "third batch")
		// The growing indicator goes over the limit: full.
		loadReports(t, st, p, load.NewOptions(), r.Planted[3])
		run, err = hunt.Run(ctx(), st, p, ho)
		must(t, err)
		if !run.Full || run.Counts[seams.ChangeDowngraded] == 0 {
			t.Errorf("fourth batch: full %v, %v; want a retro-hunt that downgrades", run.Full, run.Counts)
		}
		richEqual(t, st, p, r, 4, run, "fourth batch")
	})
}

// testCappedAcrossOrgs: an indicator's count spans every organisation
// whose reports it is matched against: a shared one, the reports of all;
// an unshared one, its own organisation's only (another's reports at the
// same address are not matched against it, and not counted). A
// principal's view of a run lists only the over-correlated indicators it
// may see.
func testCappedAcrossOrgs(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	op := Operator
	mk := func(org string) seams.Principal {
		s, _, err := st.CreateToken(ctx(), op, seams.NewToken{Org: org, User: "u-" + org, Role: seams.RoleAnalyst})
		must(t, err)
		p, err := st.Authenticate(ctx(), s)
		must(t, err)
		return p
	}
	a, b := mk("org-a"), mk("org-b")
	_, err := load.Compounds(ctx(), st, op, write(t, "c.csv", retroCompounds), load.NewOptions())
	must(t, err)
	oa := load.NewOptions()
	oa.Name = "a.csv"
	_, err = load.Indicators(ctx(), st, a, indicators(t, "c-a,ip,198.51.100.7,2024-01-01,2024-12-31,,a-source"), oa)
	must(t, err)
	ob := load.NewOptions()
	ob.Name, ob.Shared = "b.csv", true
	_, err = load.Indicators(ctx(), st, b, indicators(t, "c-b,ip,203.0.113.7,2024-01-01,2024-12-31,,b-source"), ob)
	must(t, err)
	reports := func(prefix, addr string, n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `{"id":"%s-%d","ips":[{"ip":"%s","at":"2024-05-10T00:00:00Z"}]}`+"\n", prefix, i+1, addr)
		}
		return b.String()
	}
	// 203.0.113.7 (shared): 3 reports of each organisation, 6 in all.
	// 198.51.100.7 (org-a's own): 6 reports of org-a, and 3 of org-b that
	// are not matched against it.
	loadReports(t, st, a, load.NewOptions(), write(t, "a.jsonl", reports("a-shared", "203.0.113.7", 3)+reports("a-own", "198.51.100.7", 6)))
	loadReports(t, st, b, load.NewOptions(), write(t, "b.jsonl", reports("b-shared", "203.0.113.7", 3)+reports("b-other", "198.51.100.7", 3)))
	o := hunt.NewOptions()
	o.MaxReportsPerIndicator = 5
	run, err := hunt.Run(ctx(), st, op, o)
	must(t, err)
	got := map[string]int{}
	for _, oc := range run.OverCorrelated {
		got[oc.Value] = oc.Reports
	}
	if len(got) != 2 || got["203.0.113.7"] != 6 || got["198.51.100.7"] != 6 {
		t.Errorf("over-correlated %+v, want 203.0.113.7 in 6 reports (both organisations') and 198.51.100.7 in 6 (org-a's only)", run.OverCorrelated)
	}
	for _, f := range allFindings(t, st, op, seams.FindingQuery{}) {
		if f.Tier != seams.TierPotential || len(f.Capped) != 1 || f.Capped[0].Reports != 6 || f.Capped[0].Limit != 5 {
			t.Errorf("finding %s %s: %s, capped %+v; want potential, capped by an indicator of 6 reports", f.Report, f.Compound, f.Tier, f.Capped)
		}
		if strings.HasPrefix(f.Report, "b-other") {
			t.Errorf("org-b's report %s was matched against org-a's own indicator", f.Report)
		}
	}
	// org-b sees the shared indicator's count (made of org-a's reports
	// too: a number, not the reports) and not org-a's own indicator.
	for _, tc := range []struct {
		p    seams.Principal
		want string
	}{{a, "203.0.113.7 198.51.100.7"}, {b, "203.0.113.7"}} {
		runs, err := st.Runs(ctx(), tc.p, 1)
		must(t, err)
		var vals []string
		for _, oc := range runs[0].OverCorrelated {
			vals = append(vals, oc.Value)
		}
		slices.Sort(vals)
		want := strings.Fields(tc.want)
		slices.Sort(want)
		if !slices.Equal(vals, want) {
			t.Errorf("%s sees over-correlated %v, want %v", tc.p.Org, vals, want)
		}
	}
	// With a limit of 6, neither is over: org-b's three reports at org-a's
	// address would have made it 9.
	o.MaxReportsPerIndicator = 6
	run, err = hunt.Run(ctx(), st, op, o)
	must(t, err)
	if !run.Full || len(run.OverCorrelated) != 0 || run.Counts[seams.ChangeUpgraded] != 12 {
		t.Errorf("limit 6: full %v, over %+v, changes %v; want a retro-hunt upgrading all 12", run.Full, run.OverCorrelated, run.Counts)
	}
}
