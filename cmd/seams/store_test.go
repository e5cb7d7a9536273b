package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/storetest"
	"github.com/seams-dev/seams/internal/termsafe"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/sqlite"
	"github.com/seams-dev/seams/stix"
)

// loadSmall loads the hand-made set into the store in dir through the CLI.
func loadSmall(t *testing.T, dir string) (outputs []string) {
	t.Helper()
	for _, args := range [][]string{
		{"load", "--data", dir, "compounds", small + "compounds.csv"},
		{"load", "--data", dir, "indicators", small + "indicators.csv", "--org", "partner-a", "--shared"},
		{"load", "--data", dir, "shared", small + "shared.txt"},
		{"load", "--data", dir, "reports", small + "reports.jsonl", small + "reports2.jsonl", "--org", "hotline"},
	} {
		code, stdout, stderr := run(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		outputs = append(outputs, stdout)
	}
	return outputs
}

func TestLoadTwiceChangesNothing(t *testing.T) {
	dir := t.TempDir()
	loadSmall(t, dir)
	for _, out := range loadSmall(t, dir) {
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasSuffix(line, "nothing changed") {
				t.Errorf("second load says %q, want it to say nothing changed", line)
			}
		}
	}
	// Rejections as JSON Lines.
	rej := filepath.Join(t.TempDir(), "rejected.jsonl")
	code, _, stderr := run(t, "", "load", "--data", dir, "reports", small+"reports.jsonl", "--org", "hotline", "--rejected", rej)
	if code != 0 || strings.Contains(stderr, "rejected ") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	b, err := os.ReadFile(rej)
	if err != nil || !strings.Contains(string(b), `"line":`) || !strings.Contains(string(b), `"reason":`) {
		t.Errorf("rejected.jsonl %q (%v)", b, err)
	}
}

// TestXrefStoreMatchesXref is the differential test at the command line:
// seams findings --format jsonl after seams xref --store holds the lines
// of findings.jsonl that seams xref writes for the same files.
func TestXrefStoreMatchesXref(t *testing.T) {
	dir := t.TempDir()
	loadSmall(t, dir)
	code, stdout, stderr := run(t, "", "xref", "--store", dir)
	if code != 0 || !strings.Contains(stdout, "full: every stored report") {
		t.Fatalf("xref --store: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = run(t, "", "xref", "--store", dir)
	if code != 0 || !strings.Contains(stdout, "incremental") || !strings.Contains(stdout, ": 0 reports matched") {
		t.Errorf("second xref --store:\n%s", stdout)
	}
	out := t.TempDir()
	storeMatchesXref(t, dir, smallArgs(out)...)
	// Review, and see it in the listing.
	if code, stdout, stderr := run(t, "", "review", "--data", dir, "--finding", "1", "--mark", "confirmed", "--comment", "checked"); code != 0 || !strings.Contains(stdout, "confirmed") {
		t.Fatalf("review: exit %d %s%s", code, stdout, stderr)
	}
	_, stdout, _ = run(t, "", "findings", "--data", dir, "--review", "confirmed")
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "1 ") {
		t.Errorf("confirmed findings:\n%s", stdout)
	}
}

// storeMatchesXref holds the findings of the store in dir, as seams
// findings --format jsonl writes them, to the findings.jsonl of seams xref
// run with args (which end with --out DIR): the same lines, byte for byte.
// It returns the lines.
func storeMatchesXref(t *testing.T, dir string, args ...string) string {
	t.Helper()
	code, stored, stderr := run(t, "", "findings", "--data", dir, "--format", "jsonl")
	if code != 0 {
		t.Fatalf("findings: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "", args...); code != 0 {
		t.Fatalf("xref: %s", stderr)
	}
	b, err := os.ReadFile(filepath.Join(args[len(args)-1], "findings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sorted := func(s string) string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		sort.Strings(l)
		return strings.Join(l, "\n")
	}
	if sorted(stored) != sorted(string(b)) {
		t.Errorf("stored findings differ from xref's:\n%s\n---\n%s", sorted(stored), sorted(string(b)))
	}
	return stored
}

// TestXrefStoreMatchesXrefAssociated is the differential test at the
// command line over CyberTipline reports with associated accounts: their
// evidence shows "associated":true from the store as from seams xref.
func TestXrefStoreMatchesXrefAssociated(t *testing.T) {
	dir := t.TempDir()
	c, i, sh, r := storetest.Associated()
	for _, args := range [][]string{
		{"load", "--data", dir, "compounds", c},
		{"load", "--data", dir, "indicators", i, "--org", "partner-a", "--shared"},
		{"load", "--data", dir, "shared", sh},
		{"load", "--data", dir, "reports", r, "--org", "hotline"},
		{"xref", "--store", dir},
	} {
		if code, _, stderr := run(t, "", args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
	}
	stored := storeMatchesXref(t, dir, "xref", "--compounds", c, "--indicators", i, "--shared", sh, "--reports", r, "--out", t.TempDir())
	if n := strings.Count(stored, `"associated":true`); n < 4 {
		t.Errorf("the store's findings show %d associated observations, want 4 or more:\n%s", n, stored)
	}
}

func TestTokenAndAuditCommands(t *testing.T) {
	dir := t.TempDir()
	code, secret, stderr := run(t, "", "token", "create", "--data", dir, "--org", "partner-a", "--role", "analyst", "--user", "alice")
	if code != 0 || !strings.HasPrefix(secret, "seams_") || !strings.Contains(stderr, "shown only now") {
		t.Fatalf("token create: exit %d %q %s", code, secret, stderr)
	}
	_, list, _ := run(t, "", "token", "list", "--data", dir)
	fields := strings.Fields(strings.Split(list, "\n")[1])
	if len(fields) < 7 || fields[1] != "partner-a" || fields[2] != "alice" || fields[6] != "active" || strings.Contains(list, strings.TrimSpace(secret)) {
		t.Fatalf("token list:\n%s", list)
	}
	if code, out, _ := run(t, "", "token", "revoke", "--data", dir, fields[0]); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("token revoke: %d %s", code, out)
	}
	if code, _, _ := run(t, "", "token", "create", "--data", dir, "--org", "x", "--role", "root"); code != 2 {
		t.Errorf("token create --role root: exit %d, want 2", code)
	}
	code, out, _ := run(t, "", "audit", "verify", "--data", dir)
	if code != 0 || !strings.Contains(out, "audit log verifies: 4 entries") {
		t.Fatalf("audit verify: %d %s", code, out)
	}
	_, out, _ = run(t, "", "audit", "list", "--data", dir, "--action", "token.revoke")
	if !strings.Contains(out, fields[0]) {
		t.Errorf("audit list --action token.revoke:\n%s", out)
	}
	// Someone with the database file drops the guard and edits an entry.
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.File))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{sqlite.Unguard, `UPDATE audit SET actor = 'cli:nobody' WHERE seq = 2`} {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	// Entry 2 is before the checkpoint the first verify left: --full
	// recomputes it.
	code, _, stderr = run(t, "", "audit", "verify", "--data", dir, "--full")
	if code != 1 || !strings.Contains(stderr, "entry 2 was changed") {
		t.Errorf("audit verify --full after tampering: exit %d, %s", code, stderr)
	}
	// A zero expiry used to make a token that never expires.
	for _, d := range []string{"0s", "0d", "0"} {
		if code, _, stderr := run(t, "", "token", "create", "--data", t.TempDir(), "--org", "x", "--role", "viewer", "--expires", d); code != 2 || !strings.Contains(stderr, "--expires") {
			t.Errorf("token create --expires %s: exit %d, want 2: %s", d, code, stderr)
		}
	}
}

// TestTerminalControlsEscaped: what requests put in the audit log (an
// unauthenticated URL path, a report id) and report ids in findings reach
// the operator's terminal escaped, never raw.
func TestTerminalControlsEscaped(t *testing.T) {
	dir := t.TempDir()
	const hostile = "/api/\x1b]0;owned\x07\x1b[2J\u009b31m\u202eevil"
	st, err := sqlite.Open(context.Background(), dir, sqlite.NewOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Audit(context.Background(), seams.Operator("org-a", "tester"), seams.AuditEvent{Action: "auth.refused", Object: "path:" + hostile, Detail: hostile}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	reports := filepath.Join(t.TempDir(), "r.jsonl")
	os.WriteFile(reports, []byte(`{"id":"r-\u202eevil\u001b[2J","ips":[{"ip":"203.0.113.7","at":"2024-05-01T00:00:00Z"}]}`+"\n"), 0o600)
	for _, args := range [][]string{
		{"load", "--data", dir, "compounds", small + "compounds.csv"},
		{"load", "--data", dir, "indicators", small + "indicators.csv"},
		{"load", "--data", dir, "reports", reports},
		{"xref", "--store", dir},
	} {
		if code, _, stderr := run(t, "", args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	for _, args := range [][]string{
		{"audit", "list", "--data", dir},
		{"audit", "list", "--data", dir, "--json"},
		{"findings", "--data", dir},
		{"findings", "--data", dir, "--format", "jsonl"},
	} {
		code, out, stderr := run(t, "", args...)
		if code != 0 || !strings.Contains(out, "evil") {
			t.Fatalf("%v: exit %d, the hostile text is not shown: %s%s", args, code, out, stderr)
		}
		for _, r := range out {
			if r != '\n' && r != '\t' && termsafe.Unsafe(r) {
				t.Errorf("%v prints %U raw:\n%q", args, r, out)
				break
			}
		}
	}
}

func TestStoreUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"load", "--data", dir}, "want a kind"},
		{[]string{"load", "--data", dir, "things", "x"}, "unknown kind"},
		{[]string{"load", "compounds", "x.csv"}, "missing --data"},
		{[]string{"load", "--data", dir, "--db", "postgres://x", "compounds", "x.csv"}, "both given"},
		{[]string{"load", "--data", dir, "indicators", "a.csv", "b.csv"}, "one file at a time"},
		{[]string{"findings", "--data", dir, "--tier", "strong"}, "--tier"},
		{[]string{"review", "--data", dir, "--finding", "x", "--mark", "confirmed"}, "--finding"},
		{[]string{"audit", "--data", dir}, "want verify or list"},
		{[]string{"token", "create", "--data", dir, "--role", "viewer"}, "missing --org"},
	} {
		code, _, stderr := run(t, "", c.args...)
		if code != 2 || !strings.Contains(stderr, c.msg) || !strings.Contains(stderr, "Try: seams help") {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, stderr, c.msg)
		}
	}
}

// TestXrefStoreKeepsASNIndicators: an asn indicator loads (it is part of
// the partner's file) but a store's run, which has no ASN database, does
// not use it, and does not fail on it.
func TestXrefStoreKeepsASNIndicators(t *testing.T) {
	dir := t.TempDir()
	loadSmall(t, dir)
	inds := filepath.Join(t.TempDir(), "asn.csv")
	os.WriteFile(inds, []byte("compound,kind,value\nc-jinbei,asn,AS64499\nc-jinbei,ip,192.0.2.44\n"), 0o600)
	if code, stdout, stderr := run(t, "", "load", "--data", dir, "indicators", inds); code != 0 || !strings.Contains(stdout, "2 new indicator versions") {
		t.Fatalf("load: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := run(t, "", "xref", "--store", dir); code != 0 {
		t.Fatalf("xref --store with an asn indicator: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestXrefStoreSaysWhenNothingIsVisible: reports of an organisation that
// sees no indicator (the only indicators are another's, unshared) are
// matched against nothing; the run says so instead of a bare 0 tied.
func TestXrefStoreSaysWhenNothingIsVisible(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"load", "--data", dir, "compounds", small + "compounds.csv"},
		{"load", "--data", dir, "indicators", small + "indicators.csv", "--org", "partner-a"},
		{"load", "--data", dir, "reports", small + "reports.jsonl", "--org", "hotline"},
	} {
		if code, _, stderr := run(t, "", args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
	}
	code, stdout, stderr := run(t, "", "xref", "--store", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, `organisation "hotline"`) || !strings.Contains(stdout, "matched against no indicator") {
		t.Errorf("the run does not say that hotline's reports met no indicator:\n%s", stdout)
	}
	// Once partner-a shares, the warning goes.
	if code, _, stderr := run(t, "", "load", "--data", dir, "indicators", small+"indicators.csv", "--org", "partner-a", "--shared"); code != 0 {
		t.Fatalf("share: exit %d\n%s", code, stderr)
	}
	if code, stdout, _ = run(t, "", "xref", "--store", dir); code != 0 || strings.Contains(stdout, "warning") {
		t.Errorf("exit %d, and a warning with shared indicators:\n%s", code, stdout)
	}
}

// TestLoadRestoresAssociated: a store that seams made at schema version 2
// (storetest.BuildLegacy) opens at the command line, migrated; loading its
// report file again says that flags were restored, and the next run makes
// its findings what seams xref finds.
func TestLoadRestoresAssociated(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.File))
	if err != nil {
		t.Fatal(err)
	}
	storetest.BuildLegacy(t, db, sqlite.Dialect)
	db.Close()
	c, i, sh, r := storetest.Associated()
	code, stdout, stderr := run(t, "", "load", "--data", dir, "reports", r, "--org", "hotline")
	if code != 0 || !strings.Contains(stdout, "4 records read: 0 stored, 4 already stored (3 of them updated: now shared or unshared, or associated-account flags restored), 0 rejected") {
		t.Fatalf("load into the store of version 2: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := run(t, "", "xref", "--store", dir); code != 0 || !strings.Contains(stdout, "full: every stored report") {
		t.Fatalf("xref --store after the restore: exit %d\n%s%s", code, stdout, stderr)
	}
	storeMatchesXref(t, dir, "xref", "--compounds", c, "--indicators", i, "--shared", sh, "--reports", r, "--out", t.TempDir())
}

// TestXrefStoreMatchesXrefInExchangeFormats: the registry as
// FollowTheMoney compounds, a STIX bundle of indicators and a MISP
// warninglist that lists autonomous systems, compressed and some of them
// given on standard input, loads into a store whose run makes the findings
// seams xref makes of the same files with the same ASN database, line for
// line: the store keeps the list's ASes and its run applies them.
func TestXrefStoreMatchesXrefInExchangeFormats(t *testing.T) {
	files := t.TempDir()
	cs, err := os.Open(small + "compounds.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	compounds, err := registryfile.ReadCompounds(registryfile.CSV, cs, "compounds.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	is, err := os.Open(small + "indicators.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	_, inds, err := registryfile.ReadIndicators(registryfile.CSV, is, "indicators.csv", registryfile.IDs(compounds), nil)
	if err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := stix.WriteBundle(&bundle, &stix.Export{Org: "Partner A", Time: time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC),
		Compounds: compounds, Indicators: inds}); err != nil {
		t.Fatal(err)
	}
	zw, _ := zstd.NewWriter(nil)
	bundleZst := zw.EncodeAll(bundle.Bytes(), nil)
	indicators := filepath.Join(files, "partner-a.stix.json.zst")
	os.WriteFile(indicators, bundleZst, 0o600)
	wl, err := os.ReadFile("../../registryfile/testdata/shared.warninglist.json")
	if err != nil {
		t.Fatal(err)
	}
	// AS64497 is Example Mobile in the ASN database of package mmdb's
	// tests; AS64500 is in none.
	wl = bytes.Replace(wl, []byte(`"AS64500"]`), []byte(`"AS64500", "AS64497"]`), 1)
	asnDB, err := filepath.Abs(docASN)
	if err != nil {
		t.Fatal(err)
	}
	var wlGz bytes.Buffer
	gw := gzip.NewWriter(&wlGz)
	gw.Write(wl)
	gw.Close()
	// xref names a list by the path it is given, a store by its name:
	// the same here (gzip data under a name that does not say so).
	shared := "warninglist.json"
	os.WriteFile(filepath.Join(files, shared), wlGz.Bytes(), 0o600)
	ftmCompounds, err := filepath.Abs("../../registryfile/testdata/compounds.ftm.json")
	if err != nil {
		t.Fatal(err)
	}
	smallDir, err := filepath.Abs(small)
	if err != nil {
		t.Fatal(err)
	}
	small := smallDir + "/"
	t.Chdir(files)

	dir := t.TempDir()
	for _, l := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"load", "--data", dir, "compounds", ftmCompounds}, "3 new"},
		{string(bundleZst), []string{"load", "--data", dir, "indicators", "-", "--name", "partner-a.json", "--org", "partner-a", "--shared"}, "10 new indicator versions"},
		{wlGz.String(), []string{"load", "--data", dir, "shared", "-", "--name", "warninglist.json"}, "3 new"},
		{"", []string{"load", "--data", dir, "reports", small + "reports.jsonl", small + "reports2.jsonl", "--org", "hotline"}, ""},
	} {
		code, stdout, stderr := run(t, l.stdin, l.args...)
		if code != 0 || !strings.Contains(stdout, l.want) {
			t.Fatalf("%v: exit %d\n%s%s", l.args, code, stdout, stderr)
		}
	}
	if code, stdout, stderr := run(t, "", "xref", "--store", dir, "--asn-db", asnDB); code != 0 {
		t.Fatalf("xref --store: exit %d\n%s%s", code, stdout, stderr)
	}
	_, stored, _ := run(t, "", "findings", "--data", dir, "--format", "jsonl")
	if !strings.Contains(stored, "AS64497 Example Mobile (synthetic), listed in warninglist.json") {
		t.Errorf("no stored finding has evidence in the warninglist's AS: the case tests nothing\n%s", stored)
	}
	out := t.TempDir()
	if code, _, stderr := run(t, "", "xref", "--compounds", ftmCompounds, "--indicators", indicators, "--shared", shared, "--asn-db", asnDB,
		"--reports", small+"reports.jsonl", "--reports", small+"reports2.jsonl", "--out", out); code != 0 {
		t.Fatalf("xref: %s", stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "findings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sorted := func(s string) string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		sort.Strings(l)
		return strings.Join(l, "\n")
	}
	if sorted(stored) == "" || sorted(stored) != sorted(string(b)) {
		t.Errorf("stored findings differ from xref's:\n%s\n---\n%s", sorted(stored), sorted(string(b)))
	}
}

// TestXrefStoreMatchesXrefCapped is the differential test at the command
// line with every rule parameter a store's run shares with a run over
// files: the generated set of storetest.NewRich (over-correlated ip and
// device indicators, asn indicators, shared space by AS and preset,
// associated accounts) under --max-reports-per-indicator, --lift-cap,
// --asn-db, --geo-db, --shared-asn and --shared-preset gives the lines of
// findings.jsonl, "capped", "signals" and the addresses' AS and country
// included; the run says what it decided with.
func TestXrefStoreMatchesXrefCapped(t *testing.T) {
	r := storetest.NewRich(t, t.TempDir(), 2000)
	params := []string{"--max-reports-per-indicator", fmt.Sprint(r.Limit), "--lift-cap", r.Lift[0], "--asn-db", r.IPDB, "--geo-db", r.IPDB,
		"--shared-asn", seams.FormatASN(r.SharedASN[0]), "--shared-preset", r.Presets}
	dir := t.TempDir()
	for _, args := range [][]string{
		{"load", "--data", dir, "compounds", r.Compounds},
		{"load", "--data", dir, "indicators", r.Indicators, "--org", "partner-a", "--shared"},
		{"load", "--data", dir, "shared", r.Shared},
		{"load", "--data", dir, "reports", r.Reports, r.Planted[0], r.Planted[1], r.Planted[2], r.Planted[3], "--org", "hotline"},
	} {
		if code, _, stderr := run(t, "", args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
	}
	code, stdout, stderr := run(t, "", append([]string{"xref", "--store", dir}, params...)...)
	if code != 0 {
		t.Fatalf("xref --store: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"full: every stored report", "database    asn " + r.IPDB + " (seams-gen-asn-country, built 2026-11-24)",
		"over-correlated ip " + r.Capped + " of ", "(over 5): capped at potential", "warning: 1 asn indicators not used"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("xref --store says\n%s\nwithout %q", stdout, want)
		}
	}
	args := []string{"xref", "--compounds", r.Compounds, "--indicators", r.Indicators, "--shared", r.Shared, "--reports", r.Reports}
	for _, p := range r.Planted {
		args = append(args, "--reports", p)
	}
	stored := storeMatchesXref(t, dir, append(append(args, params...), "--out", t.TempDir())...)
	for _, want := range []string{`"capped":[{"kind":"ip","value":"` + r.Capped + `"`, `"signals":["cross-border"`, `"as_org":"`, `"associated":true`} {
		if !strings.Contains(stored, want) {
			t.Errorf("the store's findings have no %s", want)
		}
	}
	// The same parameters again: an idle run. Without them: a retro-hunt.
	if _, stdout, _ := run(t, "", append([]string{"xref", "--store", dir}, params...)...); !strings.Contains(stdout, "incremental") {
		t.Errorf("the same run again:\n%s", stdout)
	}
	if _, stdout, _ := run(t, "", "xref", "--store", dir); !strings.Contains(stdout, "full: every stored report") {
		t.Errorf("a run with other parameters:\n%s", stdout)
	}
}

// TestXrefStoreMatchesXrefDrift: indicators with a drift bound of their
// own (testdata/drift: drift 0 beside one without a bound at the same
// address, a bound of 7d, a prefix with 0) under xref's default drift, read
// from files, read from standard input, and held in a store whose run is
// compared with seams xref's findings, byte for byte. The bounds do the
// work: the report ten days after the window finds only the compound
// without a bound, the one beyond 7d finds nothing.
func TestXrefStoreMatchesXrefDrift(t *testing.T) {
	const d = "../../testdata/drift/"
	args := func(indicators, out string) []string {
		return []string{"xref", "--compounds", d + "compounds.csv", "--indicators", indicators, "--reports", d + "reports.jsonl", "--out", out}
	}
	fromFile := t.TempDir()
	if code, _, stderr := run(t, "", args(d+"indicators.csv", fromFile)...); code != 0 {
		t.Fatalf("xref: exit %d\n%s", code, stderr)
	}
	want, err := os.ReadFile(filepath.Join(fromFile, "findings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	tiers := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		f, err := jsonl.ParseFinding([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, e := range f.Evidence {
			rules = append(rules, e.Rule.String())
		}
		tiers[f.Report] += fmt.Sprintf("%s:%s:%s ", f.Compound, f.Tier, strings.Join(rules, "+"))
	}
	for report, wantTiers := range map[string]string{
		"r-inside":           "c-observed:tied:ip c-estimated:tied:ip ",
		"r-ten-days-after":   "c-estimated:potential:ip-drift ",
		"r-ten-days-before":  "c-estimated:potential:ip-drift ",
		"r-within-own-bound": "c-observed:potential:ip-drift ",
		"r-beyond-own-bound": "",
		"r-prefix-inside":    "c-observed:potential:cidr ",
		"r-prefix-after":     "",
		"r-undated":          "c-observed:potential:ip-undated c-estimated:potential:ip-undated ",
	} {
		if tiers[report] != wantTiers {
			t.Errorf("%s: %q, want %q", report, tiers[report], wantTiers)
		}
	}

	indicators, err := os.ReadFile(d + "indicators.csv")
	if err != nil {
		t.Fatal(err)
	}
	fromStdin := t.TempDir()
	if code, _, stderr := run(t, string(indicators), args("-", fromStdin)...); code != 0 {
		t.Fatalf("xref --indicators -: exit %d\n%s", code, stderr)
	}
	if got, err := os.ReadFile(filepath.Join(fromStdin, "findings.jsonl")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("indicators from standard input: findings differ (%v):\n%s\n---\n%s", err, got, want)
	}

	dir := t.TempDir()
	for _, a := range [][]string{
		{"load", "--data", dir, "compounds", d + "compounds.csv"},
		{"load", "--data", dir, "indicators", d + "indicators.csv", "--org", "partner-a", "--shared"},
		{"load", "--data", dir, "reports", d + "reports.jsonl", "--org", "hotline"},
		{"xref", "--store", dir},
	} {
		if code, _, stderr := run(t, "", a...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", a, code, stderr)
		}
	}
	storeMatchesXref(t, dir, args(d+"indicators.csv", t.TempDir())...)
	// Loading the file again changes nothing: the bounds are part of what
	// an indicator says, and read back the same.
	if code, stdout, stderr := run(t, "", "load", "--data", dir, "indicators", d+"indicators.csv", "--org", "partner-a", "--shared"); code != 0 || !strings.Contains(stdout, "nothing changed") {
		t.Errorf("second load: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestXrefStorePrintsASN: with enrichment databases, seams xref --store
// prints the signals and the reports by AS as seams xref does over the
// same files, the same lines (the store's summary keeps them).
func TestXrefStorePrintsASN(t *testing.T) {
	dir := t.TempDir()
	loadSmall(t, dir)
	dbs := []string{"--asn-db", docASN, "--geo-db", docGeo}
	code, stored, stderr := run(t, "", append([]string{"xref", "--store", dir}, dbs...)...)
	if code != 0 {
		t.Fatalf("xref --store: exit %d %s", code, stderr)
	}
	args := smallArgs(t.TempDir())
	code, files, stderr := run(t, "", append(args[:len(args)-2], append(dbs, args[len(args)-2:]...)...)...)
	if code != 0 {
		t.Fatalf("xref: exit %d %s", code, stderr)
	}
	// The signals line and the AS table: from "signals" and from the
	// table's header to the next blank line.
	part := func(out string) []string {
		var keep []string
		in := false
		for _, l := range strings.Split(out, "\n") {
			switch {
			case strings.HasPrefix(l, "signals "):
				keep = append(keep, l)
			case strings.HasPrefix(l, "network (AS)"):
				in = true
			case l == "" || strings.HasPrefix(l, "…"):
				in = false
			}
			if in {
				keep = append(keep, l)
			}
		}
		return keep
	}
	got, want := part(stored), part(files)
	if len(want) < 3 {
		t.Fatalf("seams xref printed no signals and AS table: the data tests nothing\n%s", files)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("xref --store printed\n%s\nseams xref\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
