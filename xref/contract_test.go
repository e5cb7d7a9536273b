package xref_test

// The contract of issue 2, clause by clause, through xref.Run on hand-made
// inputs: every rule and tier, every boundary, every rule of the three
// inputs, and every field of the three outputs. The tests read the files Run
// writes (other tools read those, not Run's return value) and expect what
// the contract says, not what the code happens to do: where the two differ
// the test stays, skipped with "contract deviation: ...", until one of them
// is changed.
//
// Inputs are written inline, one small registry and report per case, except
// for the fixture under testdata/contract, whose summary is worked out by
// hand in TestContractSummary. All addresses are documentation ranges, all
// names synthetic.

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/xref"
)

// ---------------------------------------------------------------------------
// Running a case and reading what it wrote.

const (
	ctCompounds       = "id,name,country\nc-a,Alpha,KH\nc-b,Bravo,MM\n"
	ctIndicatorHeader = "compound,kind,value,first_seen,last_seen,confidence,source\n"
	ctAt              = "2024-05-10T00:00:00Z" // the time of most events
	ctFixture         = "testdata/contract/"
)

// ctInputs is the text of the inputs of one run.
type ctInputs struct {
	compounds  string   // a whole CSV; empty means ctCompounds
	indicators string   // rows under ctIndicatorHeader
	shared     string   // the shared list; empty means no --shared
	reports    []string // one report file each
}

// ctSummary holds the fields the contract names in summary.json, and the
// documented extensions the tests use.
type ctSummary struct {
	Reports          int               `json:"reports"`
	Events           int               `json:"events"`
	Devices          int               `json:"devices"`
	Rejected         int               `json:"rejected"`
	TiedReports      int               `json:"tied_reports"`
	PotentialReports int               `json:"potential_reports"`
	CompoundsTied    int               `json:"compounds_tied"`
	ByCompound       []ctCompoundCount `json:"by_compound"`
	ByCountry        []ctCountryCount  `json:"by_country"`

	// Extensions (docs/xref.md), not contract.
	Unroutable int `json:"events_unroutable"`
	Findings   int `json:"findings"`
	Registry   struct {
		Compounds      int `json:"compounds"`
		IP             int `json:"ip_indicators"`
		CIDR           int `json:"cidr_indicators"`
		Device         int `json:"device_indicators"`
		SharedPrefixes int `json:"shared_prefixes"`
	} `json:"registry"`
}

type ctCompoundCount struct {
	Compound  string `json:"compound"`
	Name      string `json:"name"`
	Country   string `json:"country"`
	Tied      int    `json:"tied"`
	Potential int    `json:"potential"`
}

type ctCountryCount struct {
	Country   string `json:"country"`
	Tied      int    `json:"tied"`
	Potential int    `json:"potential"`
}

// ctSummaryKeys are the keys the contract requires in summary.json.
var ctSummaryKeys = []string{"reports", "events", "devices", "rejected", "tied_reports", "potential_reports",
	"compounds_tied", "by_compound", "by_country"}

type ctFinding struct {
	Report   string       `json:"report"`
	Compound string       `json:"compound"`
	Tier     string       `json:"tier"`
	Evidence []ctEvidence `json:"evidence"`
}

type ctEvidence struct {
	Rule      string `json:"rule"`
	Indicator struct {
		Kind      string `json:"kind"`
		Value     string `json:"value"`
		FirstSeen string `json:"first_seen"`
		LastSeen  string `json:"last_seen"`
		Source    string `json:"source"`
	} `json:"indicator"`
	Observed struct {
		IP     string `json:"ip"`
		Device string `json:"device"`
		At     string `json:"at"`
		Event  string `json:"event"`
		Proxy  bool   `json:"proxy"`
	} `json:"observed"`
	Drift  string `json:"drift"`  // extension: ip-drift only
	Shared string `json:"shared"` // extension: the shared prefix
}

type ctRejected struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Item   string `json:"item"`
	Reason string `json:"reason"`
	Raw    string `json:"raw"`
}

// ctOutput is what a run returned and wrote.
type ctOutput struct {
	opts     xref.Options
	err      error
	summary  ctSummary
	findings []ctFinding
	rejected []ctRejected
	// lines of findings.jsonl and rejected.jsonl as written
	findingLines, rejectedLines []string
}

// ctRun writes the inputs into a fresh directory and runs xref on them.
// edit, when not nil, changes the options before the run. A run that fails
// returns its error and no outputs.
func ctRun(t *testing.T, in ctInputs, edit func(*xref.Options)) *ctOutput {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := xref.NewOptions()
	o.Compounds = write("compounds.csv", cmp.Or(in.compounds, ctCompounds))
	o.Indicators = write("indicators.csv", ctIndicatorHeader+in.indicators)
	if in.shared != "" {
		o.Shared = write("shared.txt", in.shared)
	}
	for i, r := range in.reports {
		o.Reports = append(o.Reports, write(fmt.Sprintf("reports-%d.jsonl", i+1), r))
	}
	o.Out = filepath.Join(dir, "out")
	if edit != nil {
		edit(&o)
	}
	return ctRunOptions(t, o)
}

// ctRunOptions runs xref with o and reads its outputs.
func ctRunOptions(t *testing.T, o xref.Options) *ctOutput {
	t.Helper()
	_, err := xref.Run(context.Background(), o)
	out := &ctOutput{opts: o, err: err}
	if err != nil {
		return out
	}
	out.read(t)
	return out
}

// ctMust runs a case that must complete.
func ctMust(t *testing.T, in ctInputs, edit func(*xref.Options)) *ctOutput {
	t.Helper()
	out := ctRun(t, in, edit)
	if out.err != nil {
		t.Fatalf("run failed: %v", out.err)
	}
	return out
}

// read reads and checks the three output files: each line of the JSON Lines
// files is one JSON object, and summary.json holds every contract key.
func (out *ctOutput) read(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out.opts.Out, xref.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	for _, k := range ctSummaryKeys {
		if _, ok := keys[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
	if err := json.Unmarshal(b, &out.summary); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	out.findingLines = ctLines(t, filepath.Join(out.opts.Out, xref.FindingsFile))
	for _, l := range out.findingLines {
		var f ctFinding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("findings.jsonl: %v: %s", err, l)
		}
		out.findings = append(out.findings, f)
	}
	out.rejectedLines = ctLines(t, filepath.Join(out.opts.Out, xref.RejectedFile))
	for _, l := range out.rejectedLines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("rejected.jsonl: %v: %s", err, l)
		}
		for _, k := range []string{"file", "line", "item", "reason", "raw"} {
			if _, ok := m[k]; !ok {
				t.Errorf("rejected.jsonl line lacks %q: %s", k, l)
			}
		}
		var r ctRejected
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("rejected.jsonl: %v: %s", err, l)
		}
		if r.File == "" || r.Line < 1 || r.Reason == "" {
			t.Errorf("rejection without file, line or reason: %s", l)
		}
		out.rejected = append(out.rejected, r)
	}
}

// ctLines returns the lines of a file, which must end in a newline if not
// empty.
func ctLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] != '\n' {
		t.Errorf("%s does not end in a newline", path)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// got renders the findings of one report as "compound:tier:rule=value+..."
// joined by spaces: findings sorted by compound and evidence sorted, since
// the contract fixes neither order within a report.
func (out *ctOutput) got(report string) string {
	var fs []string
	for _, f := range out.findings {
		if f.Report != report {
			continue
		}
		var ev []string
		for _, e := range f.Evidence {
			ev = append(ev, e.Rule+"="+e.Indicator.Value)
		}
		slices.Sort(ev)
		fs = append(fs, f.Compound+":"+f.Tier+":"+strings.Join(ev, "+"))
	}
	slices.Sort(fs)
	return strings.Join(fs, " ")
}

// noRejections fails the test if anything was rejected: a case that expects
// no finding must not pass because its indicator was thrown away.
func (out *ctOutput) noRejections(t *testing.T) {
	t.Helper()
	for _, l := range out.rejectedLines {
		t.Errorf("unexpected rejection: %s", l)
	}
}

// ctReport builds a report line with the given ip events and devices, each
// already JSON.
func ctReport(id string, ips []string, devices []string) string {
	s := `{"id":` + ctQuote(id)
	if ips != nil {
		s += `,"ips":[` + strings.Join(ips, ",") + `]`
	}
	if devices != nil {
		s += `,"devices":[` + strings.Join(devices, ",") + `]`
	}
	return s + "}\n"
}

func ctQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// ctIP is an ip event; extra is appended inside the object (`"proxy":true`).
func ctIP(ip, at string, extra ...string) string {
	s := `{"ip":` + ctQuote(ip) + `,"at":` + ctQuote(at)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// ctDev is a device; an empty at is left out.
func ctDev(typ, value, at string) string {
	s := `{"type":` + ctQuote(typ) + `,"value":` + ctQuote(value)
	if at != "" {
		s += `,"at":` + ctQuote(at)
	}
	return s + "}"
}

// ctShift returns the RFC 3339 time d after base.
func ctShift(base string, d time.Duration) string {
	t, err := time.Parse(time.RFC3339Nano, base)
	if err != nil {
		panic(err)
	}
	return t.Add(d).UTC().Format(time.RFC3339Nano)
}

// ---------------------------------------------------------------------------
// Matching: rules, tiers, boundaries.

func TestContractRules(t *testing.T) {
	const (
		// c-a's address, seen from the first_seen date to the last_seen
		// date: [2024-03-03T00:00:00Z, 2024-06-09T23:59:59.999999999Z].
		ipDates  = "c-a,ip,203.0.113.7,2024-03-03,2024-06-09,,s-dates\n"
		first    = "2024-03-03T00:00:00Z"
		lastEnd  = "2024-06-09T23:59:59.999999999Z"
		ipStamps = "c-a,ip,203.0.113.8,2024-03-03T10:00:00Z,2024-06-09T10:00:00Z,,s-stamps\n"
		cidrA    = "c-a,cidr,198.51.100.0/24,2024-03-03,2024-06-09,,s-cidr\n"
		devA     = "c-a,device,imei:358240051111110,2024-03-03,2024-06-09,,s-dev\n"
		defDrift = 2160 * time.Hour
	)
	ns := time.Nanosecond
	one := func(ips ...string) []string { return []string{ctReport("r", ips, nil)} }
	devs := func(d ...string) []string { return []string{ctReport("r", nil, d)} }
	both := func(ips []string, d []string) []string { return []string{ctReport("r", ips, d)} }

	cases := []struct {
		name       string
		indicators string
		shared     string
		drift      time.Duration // 0: the default of NewOptions
		zeroDrift  bool          // run with Drift 0
		reports    []string
		want       string
	}{
		// Window edges, date-only columns.
		{name: "window: event at 00:00:00Z of the first_seen date is inside", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", first)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "window: event 1ns before the first_seen date is outside (ip-drift)", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", ctShift(first, -ns))), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "window: date-only last_seen means 23:59:59.999999999Z, which is inside", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", lastEnd)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "window: midnight after the last_seen date is 1ns outside (ip-drift)", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", "2024-06-10T00:00:00Z")), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "window: noon of the last_seen date is inside", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", "2024-06-09T12:00:00Z")), want: "c-a:tied:ip=203.0.113.7"},
		// Window edges, timestamps.
		{name: "window: event exactly at a timestamp first_seen is inside", indicators: ipStamps,
			reports: one(ctIP("203.0.113.8", "2024-03-03T10:00:00Z")), want: "c-a:tied:ip=203.0.113.8"},
		{name: "window: event exactly at a timestamp last_seen is inside", indicators: ipStamps,
			reports: one(ctIP("203.0.113.8", "2024-06-09T10:00:00Z")), want: "c-a:tied:ip=203.0.113.8"},
		{name: "window: 1ns after a timestamp last_seen is outside (no end-of-day for timestamps)", indicators: ipStamps,
			reports: one(ctIP("203.0.113.8", "2024-06-09T10:00:00.000000001Z")), want: "c-a:potential:ip-drift=203.0.113.8"},
		{name: "window: 1ns before a timestamp first_seen is outside", indicators: ipStamps,
			reports: one(ctIP("203.0.113.8", "2024-03-03T09:59:59.999999999Z")), want: "c-a:potential:ip-drift=203.0.113.8"},
		{name: "window: an event time with an offset is the UTC instant (last_seen edge, inside)", indicators: ipStamps,
			reports: one(ctIP("203.0.113.8", "2024-06-09T12:00:00+02:00")), want: "c-a:tied:ip=203.0.113.8"},
		{name: "window: an event time with an offset is the UTC instant (1s past last_seen)", indicators: ipStamps,
			reports: one(ctIP("203.0.113.8", "2024-06-09T12:00:01+02:00")), want: "c-a:potential:ip-drift=203.0.113.8"},
		{name: "window: a window edge with an offset is the UTC instant", indicators: "c-a,ip,203.0.113.8,,2024-06-09T12:00:00+02:00,,\n",
			reports: one(ctIP("203.0.113.8", "2024-06-09T10:00:00Z")), want: "c-a:tied:ip=203.0.113.8"},
		{name: "window: empty first_seen is open before", indicators: "c-a,ip,203.0.113.7,,2024-06-09,,\n",
			reports: one(ctIP("203.0.113.7", "1990-01-01T00:00:00Z")), want: "c-a:tied:ip=203.0.113.7"},
		{name: "window: empty last_seen is open after", indicators: "c-a,ip,203.0.113.7,2024-03-03,,,\n",
			reports: one(ctIP("203.0.113.7", "2200-01-01T00:00:00Z")), want: "c-a:tied:ip=203.0.113.7"},
		{name: "window: both edges empty, always inside", indicators: "c-a,ip,203.0.113.7,,,,\n",
			reports: one(ctIP("203.0.113.7", "1980-01-01T00:00:00Z")), want: "c-a:tied:ip=203.0.113.7"},
		{name: "window: first_seen and last_seen the same date is that whole day", indicators: "c-a,ip,203.0.113.7,2024-05-01,2024-05-01,,\n",
			reports: one(ctIP("203.0.113.7", "2024-05-01T00:00:00Z"), ctIP("203.0.113.7", "2024-05-01T23:59:59.999999999Z")),
			want:    "c-a:tied:ip=203.0.113.7+ip=203.0.113.7"},

		// Drift.
		{name: "drift: exactly the default 2160h after the window is ip-drift", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", ctShift(lastEnd, defDrift))), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "drift: 1ns past the default 2160h after the window is nothing", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", ctShift(lastEnd, defDrift+ns))), want: ""},
		{name: "drift: exactly the default 2160h before the window is ip-drift", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", ctShift(first, -defDrift))), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "drift: 1ns past the default 2160h before the window is nothing", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", ctShift(first, -defDrift-ns))), want: ""},
		{name: "drift: exactly --drift 1h after the window is ip-drift", indicators: ipDates, drift: time.Hour,
			reports: one(ctIP("203.0.113.7", ctShift(lastEnd, time.Hour))), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "drift: 1ns past --drift 1h after the window is nothing", indicators: ipDates, drift: time.Hour,
			reports: one(ctIP("203.0.113.7", ctShift(lastEnd, time.Hour+ns))), want: ""},
		{name: "drift: exactly --drift 1ns after the window is ip-drift", indicators: ipDates, drift: ns,
			reports: one(ctIP("203.0.113.7", "2024-06-10T00:00:00Z")), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "drift: 2ns after the window with --drift 1ns is nothing", indicators: ipDates, drift: ns,
			reports: one(ctIP("203.0.113.7", "2024-06-10T00:00:00.000000001Z")), want: ""},
		{name: "drift: distance is to the nearest edge (24h before first_seen of a 99-day window, --drift 36h)", indicators: ipDates, drift: 36 * time.Hour,
			reports: one(ctIP("203.0.113.7", ctShift(first, -24*time.Hour))), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "drift: distance is to the nearest edge (24h after last_seen of a 99-day window, --drift 36h)", indicators: ipDates, drift: 36 * time.Hour,
			reports: one(ctIP("203.0.113.7", ctShift(lastEnd, 24*time.Hour))), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "drift: --drift 0 gives no ip-drift, even 1ns outside", indicators: ipDates, zeroDrift: true,
			reports: one(ctIP("203.0.113.7", "2024-06-10T00:00:00Z")), want: ""},
		{name: "drift: does not apply to cidr (1ns after the window is nothing)", indicators: cidrA,
			reports: one(ctIP("198.51.100.5", "2024-06-10T00:00:00Z")), want: ""},
		{name: "drift: does not apply to device (1ns after the window is nothing)", indicators: devA,
			reports: devs(ctDev("imei", "358240051111110", "2024-06-10T00:00:00Z")), want: ""},
		{name: "drift: an address re-used in two windows, event between them: two ip-drift pieces",
			indicators: ipDates + "c-a,ip,203.0.113.7,2024-08-01,2024-08-31,,s-later\n",
			reports:    one(ctIP("203.0.113.7", "2024-07-15T00:00:00Z")), want: "c-a:potential:ip-drift=203.0.113.7+ip-drift=203.0.113.7"},
		{name: "drift: inside one window and within drift of another: ip and ip-drift, tied",
			indicators: ipDates + "c-a,ip,203.0.113.7,2024-08-01,2024-08-31,,s-later\n",
			reports:    one(ctIP("203.0.113.7", "2024-08-02T00:00:00Z")), want: "c-a:tied:ip-drift=203.0.113.7+ip=203.0.113.7"},

		// Rule ip and rule cidr.
		{name: "ip: exact address inside the window ties", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "ip: a neighbouring address is nothing", indicators: ipDates,
			reports: one(ctIP("203.0.113.6", ctAt)), want: ""},
		{name: "ip: IPv6 exact address, spelled another way", indicators: "c-a,ip,2001:db8::9,,,,\n",
			reports: one(ctIP("2001:0db8:0000:0000:0000:0000:0000:0009", ctAt)), want: "c-a:tied:ip=2001:db8::9"},
		{name: "ip: an IPv6 indicator written in full matches the short spelling", indicators: "c-a,ip,2001:0DB8:0:0:0:0:0:9,,,,\n",
			reports: one(ctIP("2001:db8::9", ctAt)), want: "c-a:tied:ip=2001:db8::9"},
		{name: "cidr: address inside the prefix, in the window, is potential", indicators: cidrA,
			reports: one(ctIP("198.51.100.5", ctAt)), want: "c-a:potential:cidr=198.51.100.0/24"},
		{name: "cidr: the first and last addresses of the prefix are inside", indicators: cidrA,
			reports: one(ctIP("198.51.100.0", ctAt), ctIP("198.51.100.255", ctAt)), want: "c-a:potential:cidr=198.51.100.0/24+cidr=198.51.100.0/24"},
		{name: "cidr: the addresses either side of the prefix are outside", indicators: cidrA,
			reports: one(ctIP("198.51.99.255", ctAt), ctIP("198.51.101.0", ctAt)), want: ""},
		{name: "cidr: the window edges are inside (date-only last_seen is end of day)", indicators: cidrA,
			reports: one(ctIP("198.51.100.5", first), ctIP("198.51.100.6", lastEnd)), want: "c-a:potential:cidr=198.51.100.0/24+cidr=198.51.100.0/24"},
		{name: "cidr: 1ns before the window is nothing", indicators: cidrA,
			reports: one(ctIP("198.51.100.5", ctShift(first, -ns))), want: ""},
		{name: "cidr: IPv6 prefix", indicators: "c-a,cidr,2001:db8:1::/48,,,,\n",
			reports: one(ctIP("2001:db8:1:ffff::1", ctAt)), want: "c-a:potential:cidr=2001:db8:1::/48"},
		{name: "cidr: nested prefixes of one compound both fire", indicators: cidrA + "c-a,cidr,198.51.100.0/25,,,,\n",
			reports: one(ctIP("198.51.100.5", ctAt)), want: "c-a:potential:cidr=198.51.100.0/24+cidr=198.51.100.0/25"},

		// Rule device.
		{name: "device: an equal device inside the window ties", indicators: devA,
			reports: devs(ctDev("imei", "358240051111110", ctAt)), want: "c-a:tied:device=imei:358240051111110"},
		{name: "device: without at it matches whatever the window", indicators: devA,
			reports: devs(ctDev("imei", "358240051111110", "")), want: "c-a:tied:device=imei:358240051111110"},
		{name: "device: at the last instant of the last_seen date ties", indicators: devA,
			reports: devs(ctDev("imei", "358240051111110", lastEnd)), want: "c-a:tied:device=imei:358240051111110"},
		{name: "device: at 00:00:00Z of the first_seen date ties", indicators: devA,
			reports: devs(ctDev("imei", "358240051111110", first)), want: "c-a:tied:device=imei:358240051111110"},
		{name: "device: 1ns before the window is nothing", indicators: devA,
			reports: devs(ctDev("imei", "358240051111110", ctShift(first, -ns))), want: ""},
		{name: "device: type compared case-insensitively, value trimmed of spaces", indicators: "c-a,device,IMEI:358240051111110,,,,\n",
			reports: devs(ctDev(" Imei ", "  358240051111110 ", ctAt)), want: "c-a:tied:device=imei:358240051111110"},
		{name: "device: indicator type and value trimmed around the colon", indicators: "c-a,device,imei : 358240051111110,,,,\n",
			reports: devs(ctDev("imei", "358240051111110", ctAt)), want: "c-a:tied:device=imei:358240051111110"},
		{name: "device: value compared exactly (case matters)", indicators: "c-a,device,serial:AbC-123,,,,\n",
			reports: devs(ctDev("serial", "abc-123", ctAt)), want: ""},
		{name: "device: another type with the same value is nothing", indicators: devA,
			reports: devs(ctDev("imsi", "358240051111110", ctAt)), want: ""},
		{name: "device: indicator split at the first colon (value keeps its colons)", indicators: "c-a,device,mac:00:00:5e:00:53:01,,,,\n",
			reports: devs(ctDev("MAC", "00:00:5e:00:53:01", ctAt)), want: "c-a:tied:device=mac:00:00:5e:00:53:01"},

		// IPv4-mapped IPv6.
		{name: "mapped: an IPv4-mapped event equals an IPv4 ip indicator", indicators: ipDates,
			reports: one(ctIP("::ffff:203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "mapped: an IPv4-mapped ip indicator equals an IPv4 event", indicators: "c-a,ip,::ffff:203.0.113.7,,,,\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "mapped: mapped event and mapped indicator (hex spelling)", indicators: "c-a,ip,::ffff:cb00:7107,,,,\n",
			reports: one(ctIP("::ffff:203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "mapped: an IPv4-mapped event inside an IPv4 cidr", indicators: cidrA,
			reports: one(ctIP("::ffff:198.51.100.9", ctAt)), want: "c-a:potential:cidr=198.51.100.0/24"},
		{name: "mapped: an IPv4-mapped event drifts as the IPv4 address", indicators: ipDates,
			reports: one(ctIP("::ffff:203.0.113.7", "2024-06-10T00:00:00Z")), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "mapped: an IPv4-mapped event in IPv4 shared space is shared", indicators: ipDates, shared: "203.0.113.0/28\n",
			reports: one(ctIP("::ffff:203.0.113.7", ctAt)), want: "c-a:potential:ip=203.0.113.7"},
		{name: "mapped (decision): an IPv4-mapped cidr indicator is the IPv4 prefix", indicators: "c-a,cidr,::ffff:198.51.100.0/120,,,,\n",
			reports: one(ctIP("198.51.100.9", ctAt)), want: "c-a:potential:cidr=198.51.100.0/24"},

		// Full-length prefixes.
		{name: "full-length: cidr /32 is an ip indicator and ties", indicators: "c-a,cidr,203.0.113.7/32,2024-03-03,2024-06-09,,\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "full-length: cidr /32 drifts as an ip indicator", indicators: "c-a,cidr,203.0.113.7/32,2024-03-03,2024-06-09,,\n",
			reports: one(ctIP("203.0.113.7", "2024-06-10T00:00:00Z")), want: "c-a:potential:ip-drift=203.0.113.7"},
		{name: "full-length: cidr /128 is an ip indicator and ties", indicators: "c-a,cidr,2001:db8::9/128,,,,\n",
			reports: one(ctIP("2001:db8::9", ctAt)), want: "c-a:tied:ip=2001:db8::9"},
		{name: "full-length: cidr /128 of an IPv4-mapped address is the IPv4 ip indicator", indicators: "c-a,cidr,::ffff:203.0.113.7/128,,,,\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "full-length: /31 is shorter than full length, so rule cidr", indicators: "c-a,cidr,203.0.113.6/31,,,,\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:potential:cidr=203.0.113.6/31"},
		{name: "full-length: /127 is shorter than full length, so rule cidr", indicators: "c-a,cidr,2001:db8::8/127,,,,\n",
			reports: one(ctIP("2001:db8::9", ctAt)), want: "c-a:potential:cidr=2001:db8::8/127"},

		// Proxy.
		{name: "proxy: an exact address from a proxy event is potential", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", ctAt, `"proxy":true`)), want: "c-a:potential:ip=203.0.113.7"},
		{name: "proxy: proxy:false ties", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", ctAt, `"proxy":false`)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "proxy: a proxy and a clean event of the same address: the clean one ties", indicators: ipDates,
			reports: one(ctIP("203.0.113.7", ctAt, `"proxy":true`), ctIP("203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7+ip=203.0.113.7"},
		{name: "proxy: a device ties whatever the proxy", indicators: ipDates + devA,
			reports: both([]string{ctIP("203.0.113.7", ctAt, `"proxy":true`)}, []string{ctDev("imei", "358240051111110", "")}),
			want:    "c-a:tied:device=imei:358240051111110+ip=203.0.113.7"},
		{name: "proxy: a proxy event inside a cidr is potential", indicators: cidrA,
			reports: one(ctIP("198.51.100.5", ctAt, `"proxy":true`)), want: "c-a:potential:cidr=198.51.100.0/24"},

		// Shared space.
		{name: "shared: an exact address in a shared prefix is potential", indicators: ipDates, shared: "203.0.113.0/28\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:potential:ip=203.0.113.7"},
		{name: "shared: an entry that is a bare address is shared space", indicators: ipDates, shared: "203.0.113.7\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:potential:ip=203.0.113.7"},
		{name: "shared: an IPv6 shared prefix", indicators: "c-a,ip,2001:db8::9,,,,\n", shared: "2001:db8::/64\n",
			reports: one(ctIP("2001:db8::9", ctAt)), want: "c-a:potential:ip=2001:db8::9"},
		{name: "shared: an address just outside the shared prefix ties", indicators: ipDates, shared: "203.0.113.0/30\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "shared: a device still ties", indicators: ipDates + devA, shared: "203.0.113.0/28\n",
			reports: both([]string{ctIP("203.0.113.7", ctAt)}, []string{ctDev("imei", "358240051111110", ctAt)}),
			want:    "c-a:tied:device=imei:358240051111110+ip=203.0.113.7"},
		{name: "shared: one event in shared space, another clean: the clean one ties", indicators: ipDates + "c-a,ip,198.51.100.7,,,,\n", shared: "203.0.113.0/28\n",
			reports: one(ctIP("203.0.113.7", ctAt), ctIP("198.51.100.7", ctAt)), want: "c-a:tied:ip=198.51.100.7+ip=203.0.113.7"},
		{name: "shared: comments and blank lines are ignored", indicators: ipDates, shared: "# satellite terminals\n\n   \n203.0.113.0/28   # trailing comment\n#203.0.113.7\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:potential:ip=203.0.113.7"},
		{name: "shared: a commented-out entry is not shared", indicators: ipDates, shared: "# 203.0.113.0/28\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7"},
		{name: "shared: an IPv4-mapped entry covers the IPv4 address", indicators: ipDates, shared: "::ffff:203.0.113.7\n",
			reports: one(ctIP("203.0.113.7", ctAt)), want: "c-a:potential:ip=203.0.113.7"},

		// Two compounds, several indicators.
		{name: "two compounds: the ip of one and the device of the other, two tied findings",
			indicators: ipDates + "c-b,device,imei:358240051111110,,,,\n",
			reports:    both([]string{ctIP("203.0.113.7", ctAt)}, []string{ctDev("imei", "358240051111110", "")}),
			want:       "c-a:tied:ip=203.0.113.7 c-b:tied:device=imei:358240051111110"},
		{name: "two compounds: the same address, one in its window, one within drift",
			indicators: ipDates + "c-b,ip,203.0.113.7,2024-07-01,2024-09-30,,\n",
			reports:    one(ctIP("203.0.113.7", ctAt)), want: "c-a:tied:ip=203.0.113.7 c-b:potential:ip-drift=203.0.113.7"},
		{name: "two compounds: the ip of one inside a cidr of the other",
			indicators: cidrA + "c-b,ip,198.51.100.77,,,,\n",
			reports:    one(ctIP("198.51.100.77", ctAt)), want: "c-a:potential:cidr=198.51.100.0/24 c-b:tied:ip=198.51.100.77"},
		{name: "two compounds: both potential by cidr",
			indicators: cidrA + "c-b,cidr,198.51.100.0/26,,,,\n",
			reports:    one(ctIP("198.51.100.7", ctAt)), want: "c-a:potential:cidr=198.51.100.0/24 c-b:potential:cidr=198.51.100.0/26"},
		{name: "several indicators of one compound fire for one event: all listed",
			indicators: "c-a,ip,203.0.113.20,2024-01-01,2024-12-31,,s1\n" +
				"c-a,ip,203.0.113.20,2024-05-01,2024-05-31,,s2\n" +
				"c-a,ip,203.0.113.20,2024-01-01,2024-03-01,,s3\n" +
				"c-a,cidr,203.0.113.16/28,,,,s4\n" +
				"c-a,cidr,203.0.113.0/24,2024-01-01,2024-12-31,,s5\n",
			reports: one(ctIP("203.0.113.20", ctAt)),
			want:    "c-a:tied:cidr=203.0.113.0/24+cidr=203.0.113.16/28+ip-drift=203.0.113.20+ip=203.0.113.20+ip=203.0.113.20"},
		{name: "several indicators of one compound fire for one device: all listed",
			indicators: devA + "c-a,device,IMEI:358240051111110,,,,s-other\n",
			reports:    devs(ctDev("imei", "358240051111110", ctAt)),
			want:       "c-a:tied:device=imei:358240051111110+device=imei:358240051111110"},
		{name: "several events of one report for one compound: one finding with all the evidence",
			indicators: ipDates + cidrA,
			reports:    one(ctIP("203.0.113.7", ctAt), ctIP("198.51.100.5", ctAt)),
			want:       "c-a:tied:cidr=198.51.100.0/24+ip=203.0.113.7"},
		{name: "no evidence, no finding", indicators: ipDates + cidrA + devA,
			reports: both([]string{ctIP("192.0.2.1", ctAt)}, []string{ctDev("imei", "1", ctAt)}), want: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := ctMust(t, ctInputs{indicators: c.indicators, shared: c.shared, reports: c.reports}, func(o *xref.Options) {
				if c.drift != 0 {
					o.Drift = c.drift
				}
				if c.zeroDrift {
					o.Drift = 0
				}
			})
			out.noRejections(t)
			if got := out.got("r"); got != c.want {
				t.Errorf("got  %q\nwant %q\nfindings:\n%s", got, c.want, strings.Join(out.findingLines, "\n"))
			}
		})
	}
}

// TestContractEvidenceFields checks what a finding line carries: the
// report and compound ids, the tier, and for each piece of evidence the
// rule, the indicator (kind, canonical value, window, source) and what was
// observed.
func TestContractEvidenceFields(t *testing.T) {
	out := ctMust(t, ctInputs{
		indicators: "c-a,ip,203.0.113.7,2024-03-03,2024-06-09,high,partner-a\n" +
			"c-a,device,IMEI:358240051111110,2024-01-01T00:00:00Z,,,partner-b\n" +
			"c-b,cidr,2001:db8:1::/48,,,,\n",
		shared: "2001:db8:1:2::/64\n",
		reports: []string{
			ctReport("r-1", []string{ctIP("203.0.113.7", "2024-05-01T22:14:03Z", `"event":"login"`, `"port":51234`, `"proxy":false`)},
				[]string{ctDev("imei", "358240051111110", "2024-05-01T22:10:00Z")}),
			ctReport("r-2", []string{ctIP("203.0.113.7", "2024-05-01T22:14:03Z", `"proxy":true`), ctIP("2001:db8:1:2::5", "2024-05-01T23:14:03+01:00")}, nil),
			ctReport("r-3", []string{ctIP("203.0.113.7", "2024-06-10T01:00:00Z")}, nil),
		},
	}, nil)
	out.noRejections(t)
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out.findingLines[0]), &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"report", "compound", "tier", "evidence"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("finding lacks %q: %s", k, out.findingLines[0])
		}
	}
	find := func(report, compound string) ctFinding {
		for _, f := range out.findings {
			if f.Report == report && f.Compound == compound {
				return f
			}
		}
		t.Fatalf("no finding for %s/%s in\n%s", report, compound, strings.Join(out.findingLines, "\n"))
		return ctFinding{}
	}

	f := find("r-1", "c-a")
	if f.Tier != "tied" || len(f.Evidence) != 2 {
		t.Fatalf("r-1: %+v", f)
	}
	var ip, dev ctEvidence
	for _, e := range f.Evidence {
		switch e.Rule {
		case "ip":
			ip = e
		case "device":
			dev = e
		}
	}
	if i := ip.Indicator; i.Kind != "ip" || i.Value != "203.0.113.7" || i.FirstSeen != "2024-03-03T00:00:00Z" ||
		i.LastSeen != "2024-06-09T23:59:59.999999999Z" || i.Source != "partner-a" {
		t.Errorf("ip evidence indicator = %+v", i)
	}
	if o := ip.Observed; o.IP != "203.0.113.7" || o.At != "2024-05-01T22:14:03Z" || o.Event != "login" || o.Proxy || o.Device != "" {
		t.Errorf("ip evidence observed = %+v", o)
	}
	if i := dev.Indicator; i.Kind != "device" || i.Value != "imei:358240051111110" || i.FirstSeen != "2024-01-01T00:00:00Z" || i.Source != "partner-b" {
		t.Errorf("device evidence indicator = %+v", i)
	}
	if o := dev.Observed; o.Device != "imei:358240051111110" || o.At != "2024-05-01T22:10:00Z" || o.IP != "" {
		t.Errorf("device evidence observed = %+v", o)
	}

	f = find("r-2", "c-a")
	if f.Tier != "potential" || len(f.Evidence) != 1 || !f.Evidence[0].Observed.Proxy {
		t.Errorf("r-2/c-a: a proxy event's evidence should be potential and show proxy:true: %+v", f)
	}
	f = find("r-2", "c-b")
	if f.Tier != "potential" || len(f.Evidence) != 1 || f.Evidence[0].Rule != "cidr" || f.Evidence[0].Observed.IP != "2001:db8:1:2::5" ||
		f.Evidence[0].Indicator.Value != "2001:db8:1::/48" || f.Evidence[0].Observed.At != "2024-05-01T22:14:03Z" {
		t.Errorf("r-2/c-b: %+v", f)
	}
	if f.Evidence[0].Shared != "2001:db8:1:2::/64" {
		t.Errorf("r-2/c-b: shared = %q, want the shared prefix 2001:db8:1:2::/64 (docs/xref.md)", f.Evidence[0].Shared)
	}
	f = find("r-3", "c-a")
	if len(f.Evidence) != 1 || f.Evidence[0].Rule != "ip-drift" || f.Evidence[0].Drift != "1h0m0.000000001s" {
		t.Errorf("r-3: ip-drift evidence with drift 1h0m0.000000001s (distance to last_seen 23:59:59.999999999) expected: %+v", f)
	}
}

// TestContractNonRoutableEvents checks that events at addresses that cannot
// identify a place are accepted and counted, never rejected, and never
// match, while a routable event of the same report still does.
func TestContractNonRoutableEvents(t *testing.T) {
	unroutable := []string{"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1", "169.254.1.1",
		"224.0.0.1", "239.255.255.250", "0.0.0.0", "100.64.0.0", "100.64.0.1", "100.127.255.255",
		"::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::", "::ffff:10.0.0.1", "::ffff:100.64.0.1"}
	var ips []string
	for _, a := range unroutable {
		ips = append(ips, ctIP(a, ctAt))
	}
	ips = append(ips, ctIP("100.63.255.255", ctAt), ctIP("100.128.0.0", ctAt))
	out := ctMust(t, ctInputs{
		// The routable neighbours of 100.64.0.0/10 are indicators; it is not.
		indicators: "c-a,cidr,100.0.0.0/10,,,,\nc-b,ip,100.128.0.0,,,,\n",
		reports:    []string{ctReport("r", ips, nil)},
	}, nil)
	out.noRejections(t)
	if got, want := out.got("r"), "c-a:potential:cidr=100.0.0.0/10 c-b:tied:ip=100.128.0.0"; got != want {
		t.Errorf("got %q, want %q: unroutable events must never match", got, want)
	}
	if s := out.summary; s.Reports != 1 || s.Events != len(ips) || s.Rejected != 0 {
		t.Errorf("reports %d events %d rejected %d; want 1, %d, 0 (unroutable events are accepted and counted)", s.Reports, s.Events, s.Rejected, len(ips))
	}
	if out.summary.Unroutable != len(unroutable) {
		t.Errorf("events_unroutable = %d, want %d", out.summary.Unroutable, len(unroutable))
	}
}

// TestContractCarrierNATAlwaysShared checks that 100.64.0.0/10 is shared
// space with or without a --shared list, and that listing it is harmless.
func TestContractCarrierNATAlwaysShared(t *testing.T) {
	for _, c := range []struct{ name, shared string }{
		{"no --shared", ""},
		{"a --shared list without it", "203.0.113.0/28\n"},
		{"a --shared list naming it again", "100.64.0.0/10\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := ctMust(t, ctInputs{indicators: "c-a,ip,203.0.113.20,,,,\n", shared: c.shared,
				reports: []string{ctReport("r", []string{ctIP("100.64.0.1", ctAt), ctIP("203.0.113.20", ctAt)}, nil)}}, nil)
			out.noRejections(t)
			want := 1 // 100.64.0.0/10
			if c.shared == "203.0.113.0/28\n" {
				want = 2
			}
			if out.summary.Registry.SharedPrefixes != want {
				t.Errorf("registry.shared_prefixes = %d, want %d (100.64.0.0/10 is always shared)", out.summary.Registry.SharedPrefixes, want)
			}
			if got := out.got("r"); got != "c-a:tied:ip=203.0.113.20" {
				t.Errorf("got %q", got)
			}
			if out.summary.Events != 2 || out.summary.Unroutable != 1 {
				t.Errorf("events %d unroutable %d, want 2 and 1", out.summary.Events, out.summary.Unroutable)
			}
		})
	}
	// An indicator in 100.64.0.0/10 is refused (shared by definition), so
	// the shared space there can never make a match: see
	// TestContractIndicatorRows.
}

// ---------------------------------------------------------------------------
// Inputs: what is accepted and what is rejected, with file, line and reason.

// TestContractIndicatorRows holds each indicator rule to one row: accepted
// as the kind it is, or rejected with a reason that says why.
func TestContractIndicatorRows(t *testing.T) {
	cases := []struct {
		name string
		row  string // under ctIndicatorHeader
		kind string // accepted as this kind; "" if rejected
		why  string // a rejection's reason contains this
		skip string // a known deviation
	}{
		// Accepted.
		{"ip: IPv4 documentation range", "c-a,ip,192.0.2.1,,,,", "ip", "", ""},
		{"ip: IPv4 documentation range 198.51.100.0/24", "c-a,ip,198.51.100.1,,,,", "ip", "", ""},
		{"ip: IPv4 documentation range 203.0.113.0/24", "c-a,ip,203.0.113.1,,,,", "ip", "", ""},
		{"ip: IPv6 documentation range", "c-a,ip,2001:db8::1,,,,", "ip", "", ""},
		{"ip: IPv4-mapped IPv6 is the IPv4 address", "c-a,ip,::ffff:203.0.113.1,,,,", "ip", "", ""},
		{"ip: just below 100.64.0.0/10", "c-a,ip,100.63.255.255,,,,", "ip", "", ""},
		{"ip: just above 100.64.0.0/10", "c-a,ip,100.128.0.0,,,,", "ip", "", ""},
		{"ip: just below 172.16.0.0/12", "c-a,ip,172.15.255.255,,,,", "ip", "", ""},
		{"ip: just above 172.16.0.0/12", "c-a,ip,172.32.0.0,,,,", "ip", "", ""},
		{"ip: just above 10.0.0.0/8", "c-a,ip,11.0.0.0,,,,", "ip", "", ""},
		{"ip: just below 224.0.0.0/4", "c-a,ip,223.255.255.255,,,,", "ip", "", ""},
		{"ip: between fc00::/7 and fe80::/10", "c-a,ip,fe00::1,,,,", "ip", "", ""},
		{"cidr: IPv4 documentation prefix", "c-a,cidr,192.0.2.0/24,,,,", "cidr", "", ""},
		{"cidr: IPv6 documentation prefix", "c-a,cidr,2001:db8::/32,,,,", "cidr", "", ""},
		{"cidr: the routable /10 beside 100.64.0.0/10", "c-a,cidr,100.0.0.0/10,,,,", "cidr", "", ""},
		{"cidr: full length /32 is an ip indicator", "c-a,cidr,203.0.113.7/32,,,,", "ip", "", ""},
		{"cidr: full length /128 is an ip indicator", "c-a,cidr,2001:db8::7/128,,,,", "ip", "", ""},
		{"device: TYPE:VALUE", "c-a,device,imei:358240051111110,,,,", "device", "", ""},
		{"device: value with colons", "c-a,device,mac:00:00:5e:00:53:01,,,,", "device", "", ""},
		{"window: RFC 3339 both sides", "c-a,ip,192.0.2.1,2024-01-01T00:00:00Z,2024-01-02T00:00:00+07:00,,", "ip", "", ""},
		{"window: first_seen equal to last_seen", "c-a,ip,192.0.2.1,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z,,", "ip", "", ""},
		{"window: date first_seen, same-day timestamp last_seen", "c-a,ip,192.0.2.1,2024-01-01,2024-01-01T00:00:00Z,,", "ip", "", ""},
		{"confidence: 0", "c-a,ip,192.0.2.1,,,0,", "ip", "", ""},
		{"confidence: 1", "c-a,ip,192.0.2.1,,,1,", "ip", "", ""},
		{"confidence: 0.5", "c-a,ip,192.0.2.1,,,0.5,", "ip", "", ""},
		{"confidence: low", "c-a,ip,192.0.2.1,,,low,", "ip", "", ""},
		{"confidence: medium", "c-a,ip,192.0.2.1,,,medium,", "ip", "", ""},
		{"confidence: high", "c-a,ip,192.0.2.1,,,high,", "ip", "", ""},

		// Rejected: non-routable values.
		{"ip: private 10.0.0.0/8", "c-a,ip,10.1.2.3,,,,", "", "private", ""},
		{"ip: private 172.16.0.0/12", "c-a,ip,172.16.0.1,,,,", "", "private", ""},
		{"ip: private 172.16.0.0/12, last address", "c-a,ip,172.31.255.255,,,,", "", "private", ""},
		{"ip: private 192.168.0.0/16", "c-a,ip,192.168.0.1,,,,", "", "private", ""},
		{"ip: private fc00::/7 (fc)", "c-a,ip,fc00::1,,,,", "", "private", ""},
		{"ip: private fc00::/7 (fd)", "c-a,ip,fd12:3456::1,,,,", "", "private", ""},
		{"ip: loopback IPv4", "c-a,ip,127.0.0.1,,,,", "", "loopback", ""},
		{"ip: loopback IPv6", "c-a,ip,::1,,,,", "", "loopback", ""},
		{"ip: link-local IPv4", "c-a,ip,169.254.0.1,,,,", "", "link-local", ""},
		{"ip: link-local IPv6", "c-a,ip,fe80::1,,,,", "", "link-local", ""},
		{"ip: multicast IPv4", "c-a,ip,224.0.0.1,,,,", "", "multicast", ""},
		{"ip: multicast IPv4, last address", "c-a,ip,239.255.255.255,,,,", "", "multicast", ""},
		{"ip: multicast IPv6", "c-a,ip,ff02::1,,,,", "", "multicast", ""},
		{"ip: unspecified IPv4", "c-a,ip,0.0.0.0,,,,", "", "unspecified", ""},
		{"ip: unspecified IPv6", "c-a,ip,::,,,,", "", "unspecified", ""},
		{"ip: carrier-grade NAT, first address", "c-a,ip,100.64.0.0,,,,", "", "carrier-grade NAT", ""},
		{"ip: carrier-grade NAT, last address", "c-a,ip,100.127.255.255,,,,", "", "carrier-grade NAT", ""},
		{"ip: IPv4-mapped private address", "c-a,ip,::ffff:192.168.1.1,,,,", "", "private", ""},
		{"ip: IPv4-mapped carrier-grade NAT", "c-a,ip,::ffff:100.64.0.1,,,,", "", "carrier-grade NAT", ""},
		{"cidr: private 10.0.0.0/8", "c-a,cidr,10.0.0.0/8,,,,", "", "private", ""},
		{"cidr: private prefix inside 10.0.0.0/8", "c-a,cidr,10.1.0.0/16,,,,", "", "private", ""},
		{"cidr: private 192.168.0.0/16", "c-a,cidr,192.168.0.0/16,,,,", "", "private", ""},
		{"cidr: private fc00::/7", "c-a,cidr,fc00::/7,,,,", "", "private", ""},
		{"cidr: private prefix inside fc00::/7", "c-a,cidr,fd00::/8,,,,", "", "private", ""},
		{"cidr: loopback", "c-a,cidr,127.0.0.0/8,,,,", "", "loopback", ""},
		{"cidr: link-local", "c-a,cidr,fe80::/10,,,,", "", "link-local", ""},
		{"cidr: multicast", "c-a,cidr,224.0.0.0/4,,,,", "", "multicast", ""},
		{"cidr: IPv6 multicast", "c-a,cidr,ff00::/8,,,,", "", "multicast", ""},
		{"cidr: carrier-grade NAT", "c-a,cidr,100.64.0.0/10,,,,", "", "carrier-grade NAT", ""},
		{"cidr: inside carrier-grade NAT", "c-a,cidr,100.64.0.0/16,,,,", "", "carrier-grade NAT", ""},
		{"cidr: full-length private", "c-a,cidr,10.1.2.3/32,,,,", "", "private", ""},
		{"cidr: IPv4-mapped private prefix", "c-a,cidr,::ffff:10.0.0.0/104,,,,", "", "private", ""},
		{"cidr (decision): a prefix overlapping carrier-grade NAT", "c-a,cidr,100.0.0.0/9,,,,", "", "carrier-grade NAT", ""},

		// Rejected: host bits, with the canonical prefix named.
		{"cidr: host bits set names the canonical prefix", "c-a,cidr,198.51.100.1/24,,,,", "", "198.51.100.0/24", ""},
		{"cidr: host bits set, /31", "c-a,cidr,203.0.113.7/31,,,,", "", "203.0.113.6/31", ""},
		{"cidr: host bits set, IPv6", "c-a,cidr,2001:db8::1/32,,,,", "", "2001:db8::/32", ""},
		{"cidr: host bits set, IPv6 /127", "c-a,cidr,2001:db8::9/127,,,,", "", "2001:db8::8/127", ""},

		// Rejected: syntax and references.
		{"ip: not an address", "c-a,ip,N/A,,,,", "", `"N/A"`, ""},
		{"ip: octet out of range", "c-a,ip,203.0.113.256,,,,", "", "203.0.113.256", ""},
		{"ip: a prefix is not one address", "c-a,ip,203.0.113.0/24,,,,", "", "203.0.113.0/24", ""},
		{"cidr: no prefix length", "c-a,cidr,203.0.113.0,,,,", "", "203.0.113.0", ""},
		{"cidr: prefix length too long", "c-a,cidr,203.0.113.0/33,,,,", "", "203.0.113.0/33", ""},
		{"device: no colon", "c-a,device,imei358240051111110,,,,", "", "imei358240051111110", ""},
		{"device: type empty", "c-a,device,:358240051111110,,,,", "", "type", ""},
		{"device: type only spaces", `c-a,device,"  :358240051111110",,,,`, "", "type", ""},
		{"device: value empty", "c-a,device,imei:,,,,", "", "value", ""},
		{"device: value only spaces", "c-a,device,imei:   ,,,,", "", "value", ""},
		{"value: empty", "c-a,ip,,,,,", "", "value", ""},
		{"compound: unknown", "c-zz,ip,192.0.2.1,,,,", "", `"c-zz"`, ""},
		{"compound: ids are case-sensitive", "C-A,ip,192.0.2.1,,,,", "", `"C-A"`, ""},
		{"compound: empty", ",ip,192.0.2.1,,,,", "", "compound", ""},
		{"kind: unknown", "c-a,domain,example.test,,,,", "", `"domain"`, ""},
		{"kind: empty", "c-a,,192.0.2.1,,,,", "", "kind", ""},
		{"window: first_seen after last_seen (dates)", "c-a,ip,192.0.2.1,2024-06-10,2024-06-09,,", "", "after", ""},
		{"window: first_seen after last_seen by 1ns (timestamps)", "c-a,ip,192.0.2.1,2024-06-09T10:00:00.000000001Z,2024-06-09T10:00:00Z,,", "", "after", ""},
		{"window: first_seen not a date", "c-a,ip,192.0.2.1,2024-02-30,,,", "", "2024-02-30", ""},
		{"window: last_seen in another format", "c-a,ip,192.0.2.1,,05/01/2024,,", "", "05/01/2024", ""},
		{"window: RFC 3339 without a zone", "c-a,ip,192.0.2.1,2024-01-01T00:00:00,,,", "", "2024-01-01T00:00:00", ""},
		{"confidence: above 1", "c-a,ip,192.0.2.1,,,1.5,", "", "1.5", ""},
		{"confidence: below 0", "c-a,ip,192.0.2.1,,,-0.1,", "", "-0.1", ""},
		{"confidence: an unknown word", "c-a,ip,192.0.2.1,,,certain,", "", "certain", ""},
		{"window: an RFC 3339 time with a lower-case t and z", "c-a,ip,192.0.2.1,2024-01-01t00:00:00z,,,", "ip", "", ""},
		{"window: a comma fraction is not RFC 3339", "c-a,ip,192.0.2.1,\"2024-01-01T00:00:00,5Z\",,,", "", "2024-01-01T00:00:00,5Z", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				ctDeviation(t, c.skip)
			}
			out := ctMust(t, ctInputs{indicators: c.row + "\n"}, nil)
			r := out.summary.Registry
			got := map[string]int{"ip": r.IP, "cidr": r.CIDR, "device": r.Device}
			if c.kind != "" {
				out.noRejections(t)
				if got[c.kind] != 1 || r.IP+r.CIDR+r.Device != 1 {
					t.Errorf("registry %+v, want one %s indicator", r, c.kind)
				}
				return
			}
			if r.IP+r.CIDR+r.Device != 0 {
				t.Errorf("row accepted (registry %+v), want it rejected for %q", r, c.why)
			}
			if len(out.rejected) != 1 {
				t.Fatalf("%d rejections, want 1: %q", len(out.rejected), out.rejectedLines)
			}
			e := out.rejected[0]
			if e.File != out.opts.Indicators || e.Line != 2 || e.Item != "" || !strings.Contains(e.Reason, c.why) || e.Raw != c.row {
				t.Errorf("rejection %s\nwant file %s, line 2, item \"\", a reason containing %q, raw %q", out.rejectedLines[0], out.opts.Indicators, c.why, c.row)
			}
		})
	}
}

// TestContractCompoundRows holds each compound rule to one row. An accepted
// compound is seen in by_compound, through an indicator and a report that
// match it.
func TestContractCompoundRows(t *testing.T) {
	const header = "id,name,aliases,country,province,lat,lon,status\n"
	id64 := strings.Repeat("a", 62) + "-9"
	cases := []struct {
		name    string
		row     string
		id      string // the compound's id, for the indicator naming it
		country string // accepted with this country; "" if rejected
		why     string
		skip    string
	}{
		{name: "all columns", row: "c-1,Synthetic One,One;Uno,KH,Preah Sihanouk,10.61,103.52,active", id: "c-1", country: "KH"},
		{name: "only the required columns filled", row: "c-1,Synthetic One,,KH,,,,", id: "c-1", country: "KH"},
		{name: "country upper-cased on read", row: "c-1,Synthetic One,,kh,,,,", id: "c-1", country: "KH"},
		{name: "country mixed case", row: "c-1,Synthetic One,,mM,,,,", id: "c-1", country: "MM"},
		{name: "id of 64 characters", row: id64 + ",Synthetic,,KH,,,,", id: id64, country: "KH"},
		{name: "id with every allowed kind of character", row: "Az09._-x,Synthetic,,KH,,,,", id: "Az09._-x", country: "KH"},
		{name: "id of one character", row: "c,Synthetic,,KH,,,,", id: "c", country: "KH"},
		{name: "lat and lon at their limits", row: "c-1,Synthetic,,KH,,-90,180,", id: "c-1", country: "KH"},
		{name: "lat and lon at their other limits", row: "c-1,Synthetic,,KH,,90,-180,", id: "c-1", country: "KH"},
		{name: "status active", row: "c-1,Synthetic,,KH,,,,active", id: "c-1", country: "KH"},
		{name: "status raided", row: "c-1,Synthetic,,KH,,,,raided", id: "c-1", country: "KH"},
		{name: "status closed", row: "c-1,Synthetic,,KH,,,,closed", id: "c-1", country: "KH"},
		{name: "status unknown", row: "c-1,Synthetic,,KH,,,,unknown", id: "c-1", country: "KH"},
		{name: "lat without lon (both optional)", row: "c-1,Synthetic,,KH,,10.5,,", id: "c-1", country: "KH"},
		{name: "lon without lat (both optional)", row: "c-1,Synthetic,,KH,,,103.5,", id: "c-1", country: "KH"},

		{name: "id empty", row: ",Synthetic,,KH,,,,", why: "id"},
		{name: "id with a space", row: "c 1,Synthetic,,KH,,,,", id: "c 1", why: `"c 1"`},
		{name: "id with a slash", row: "c/1,Synthetic,,KH,,,,", id: "c/1", why: `"c/1"`},
		{name: "id with a non-ASCII letter", row: "c-é,Synthetic,,KH,,,,", id: "c-é", why: `"c-é"`},
		{name: "id of 65 characters", row: id64 + "x,Synthetic,,KH,,,,", id: id64 + "x", why: id64 + "x"},
		{name: "name empty", row: "c-1,,,KH,,,,", id: "c-1", why: "name"},
		{name: "country empty", row: "c-1,Synthetic,,,,,,", id: "c-1", why: "country"},
		{name: "country of three letters", row: "c-1,Synthetic,,KHM,,,,", id: "c-1", why: `"KHM"`},
		{name: "country of one letter", row: "c-1,Synthetic,,K,,,,", id: "c-1", why: `"K"`},
		{name: "country with a digit", row: "c-1,Synthetic,,K1,,,,", id: "c-1", why: `"K1"`},
		{name: "country not in ISO 3166-1", row: "c-1,Synthetic,,QQ,,,,", id: "c-1", why: `"QQ"`},
		{name: "lat above 90", row: "c-1,Synthetic,,KH,,90.0001,100,", id: "c-1", why: "90.0001"},
		{name: "lat below -90", row: "c-1,Synthetic,,KH,,-91,100,", id: "c-1", why: "-91"},
		{name: "lon above 180", row: "c-1,Synthetic,,KH,,10,180.5,", id: "c-1", why: "180.5"},
		{name: "lon below -180", row: "c-1,Synthetic,,KH,,10,-181,", id: "c-1", why: "-181"},
		{name: "lat not a number", row: "c-1,Synthetic,,KH,,north,100,", id: "c-1", why: "north"},
		{name: "status not one of the four", row: "c-1,Synthetic,,KH,,,,burned", id: "c-1", why: `"burned"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				ctDeviation(t, c.skip)
			}
			var reports []string
			indicators := ""
			if c.id != "" {
				indicators = ctQuoteCSV(c.id) + ",ip,203.0.113.7,,,,\n"
			}
			reports = []string{ctReport("r", []string{ctIP("203.0.113.7", ctAt)}, nil)}
			out := ctMust(t, ctInputs{compounds: header + c.row + "\n", indicators: indicators, reports: reports}, nil)
			var compoundRejections []ctRejected
			for _, e := range out.rejected {
				if e.File == out.opts.Compounds {
					compoundRejections = append(compoundRejections, e)
				}
			}
			if c.country != "" {
				out.noRejections(t)
				if len(out.summary.ByCompound) != 1 || out.summary.ByCompound[0].Compound != c.id || out.summary.ByCompound[0].Country != c.country {
					t.Errorf("by_compound = %+v, want %s in %s", out.summary.ByCompound, c.id, c.country)
				}
				return
			}
			if out.summary.Registry.Compounds != 0 || len(out.findings) != 0 {
				t.Errorf("row accepted: %d compounds, findings %q", out.summary.Registry.Compounds, out.findingLines)
			}
			if len(compoundRejections) != 1 {
				t.Fatalf("%d rejections of the compounds file, want 1: %q", len(compoundRejections), out.rejectedLines)
			}
			e := compoundRejections[0]
			if e.Line != 2 || e.Item != "" || !strings.Contains(e.Reason, c.why) || e.Raw != c.row {
				t.Errorf("rejection %+v\nwant line 2, item \"\", a reason containing %q, raw %q", e, c.why, c.row)
			}
			if c.id != "" {
				// The indicator naming the rejected compound is rejected
				// in turn: "an unknown compound".
				if len(out.rejected) != 2 || out.rejected[1].File != out.opts.Indicators || !strings.Contains(out.rejected[1].Reason, "unknown compound") {
					t.Errorf("the indicator of a rejected compound should be rejected as of an unknown compound: %q", out.rejectedLines)
				}
			}
		})
	}
}

// ctDeviation skips a case that shows a known deviation from the contract,
// so the tree stays green while the deviation stays listed. Run with
// SEAMS_CONTRACT_STRICT=1 to run these cases anyway: they fail until the
// code (or the contract) is changed.
func ctDeviation(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("SEAMS_CONTRACT_STRICT") == "" {
		t.Skip(why)
	}
}

func ctQuoteCSV(s string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{s})
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// TestContractCompoundColumns checks that columns are found by name, in any
// order, and that unknown columns are ignored, in both CSV files.
func TestContractCompoundColumns(t *testing.T) {
	out := ctMust(t, ctInputs{
		compounds: "Status,extra,COUNTRY,name,id\nactive,ignored,kh,Alpha,c-a\n",
		reports:   []string{ctReport("r", []string{ctIP("203.0.113.7", ctAt)}, nil)},
	}, func(o *xref.Options) {
		p := filepath.Join(filepath.Dir(o.Indicators), "indicators-reordered.csv")
		os.WriteFile(p, []byte("note,value,last_seen,compound,kind\nignored,203.0.113.7,2024-12-31,c-a,ip\n"), 0o600)
		o.Indicators = p
	})
	out.noRejections(t)
	if got := out.got("r"); got != "c-a:tied:ip=203.0.113.7" {
		t.Errorf("got %q", got)
	}
	if bc := out.summary.ByCompound; len(bc) != 1 || bc[0].Name != "Alpha" || bc[0].Country != "KH" {
		t.Errorf("by_compound = %+v", bc)
	}
}

// TestContractDuplicateCompounds checks that of two rows with the same id
// the first stands: its name and country are used, its indicators attach to
// it, and the later row is rejected naming the first.
func TestContractDuplicateCompounds(t *testing.T) {
	out := ctMust(t, ctInputs{
		compounds:  "id,name,country\nc-a,Alpha,KH\nc-b,Bravo,MM\nc-a,Alpha again,LA\n",
		indicators: "c-a,ip,203.0.113.7,,,,\n",
		reports:    []string{ctReport("r", []string{ctIP("203.0.113.7", ctAt)}, nil)},
	}, nil)
	if out.summary.Registry.Compounds != 2 {
		t.Errorf("registry.compounds = %d, want 2", out.summary.Registry.Compounds)
	}
	if bc := out.summary.ByCompound; len(bc) != 1 || bc[0] != (ctCompoundCount{"c-a", "Alpha", "KH", 1, 0}) {
		t.Errorf("by_compound = %+v, want the first row's name and country", bc)
	}
	if len(out.rejected) != 1 {
		t.Fatalf("rejections %q", out.rejectedLines)
	}
	if e := out.rejected[0]; e.File != out.opts.Compounds || e.Line != 4 || e.Item != "" || !strings.Contains(e.Reason, `"c-a"`) || e.Raw != "c-a,Alpha again,LA" {
		t.Errorf("rejection %s, want line 4 naming the duplicate id", out.rejectedLines[0])
	}

	t.Run("decision: a rejected first row does not claim its id", func(t *testing.T) {
		out := ctMust(t, ctInputs{
			compounds:  "id,name,country\nc-a,Alpha,KHM\nc-a,Alpha second,KH\n",
			indicators: "c-a,ip,203.0.113.7,,,,\n",
			reports:    []string{ctReport("r", []string{ctIP("203.0.113.7", ctAt)}, nil)},
		}, nil)
		if bc := out.summary.ByCompound; len(bc) != 1 || bc[0].Name != "Alpha second" {
			t.Errorf("by_compound = %+v: the first valid row stands (docs/xref.md)", bc)
		}
	})
}

// TestContractDuplicateIndicators: indicators follow the compounds' rules
// ("same rules"): of two rows that are the same indicator (compound, kind,
// canonical value, window, confidence, source), the first stands and the
// second is rejected, naming the first; the evidence lists the indicator
// once. This reading of "same rules" is a decision recorded in
// docs/xref.md; a row that differs in anything but its line is another
// indicator, and fires too.
func TestContractDuplicateIndicators(t *testing.T) {
	out := ctMust(t, ctInputs{
		indicators: "c-a,ip,203.0.113.7,2024-01-01,2024-12-31,,partner-a\nc-a,ip,203.0.113.7,2024-01-01,2024-12-31,,partner-a\nc-a,ip,::ffff:203.0.113.7,2024-01-01,2024-12-31,,partner-a\nc-a,ip,203.0.113.7,2024-01-01,2024-12-31,,partner-b\n",
		reports:    []string{ctReport("r", []string{ctIP("203.0.113.7", ctAt)}, nil)},
	}, nil)
	if got := out.got("r"); got != "c-a:tied:ip=203.0.113.7+ip=203.0.113.7" {
		t.Errorf("got %q, want the first row and the partner-b row as evidence", got)
	}
	if len(out.rejected) != 2 || out.rejected[0].Line != 3 || out.rejected[0].Reason != "duplicate of line 2" ||
		out.rejected[1].Line != 4 || out.rejected[1].Reason != "duplicate of line 2" {
		t.Errorf("rejected = %+v, want lines 3 and 4 as duplicates of line 2", out.rejected)
	}
}

// TestContractReportLines holds each report rule to a line: rejected whole
// (item empty), or accepted with its bad parts rejected on their own (item
// "ips[3]"), the rest of the report used.
func TestContractReportLines(t *testing.T) {
	const inds = "c-a,ip,203.0.113.7,,,,\nc-a,device,imei:358240051111110,,,,\n"
	type rej struct {
		line int
		item string
		why  string
		raw  string // "" means the whole line
	}
	cases := []struct {
		name    string
		lines   string
		reports int // accepted
		events  int
		devices int
		rejects []rej
		want    string // findings of report "r"
		skip    string
	}{
		{name: "whole: not JSON", lines: "hello\n", rejects: []rej{{1, "", "", ""}}},
		// A file that is a JSON array, and nothing else, fails the run
		// (TestWholeFileMistakes); an array line among reports is one
		// rejected record.
		{name: "whole: a JSON array", lines: `[{"id":"r"}]` + "\n" + `{"id":"s"}` + "\n", reports: 1, rejects: []rej{{1, "", "", ""}}},
		{name: "whole: a JSON string", lines: `"r"` + "\n", rejects: []rej{{1, "", "", ""}}},
		{name: "whole: a JSON number", lines: "42\n", rejects: []rej{{1, "", "", ""}}},
		{name: "whole: null", lines: "null\n", rejects: []rej{{1, "", "", ""}}},
		{name: "whole: a truncated object", lines: `{"id":"r","ips":[` + "\n", rejects: []rej{{1, "", "", ""}}},
		{name: "whole: two objects on one line", lines: `{"id":"r"}{"id":"s"}` + "\n", rejects: []rej{{1, "", "", ""}}},
		{name: "whole: id missing", lines: `{"ips":[{"ip":"203.0.113.7","at":"` + ctAt + `"}]}` + "\n", rejects: []rej{{1, "", "id", ""}}},
		{name: "whole: id empty", lines: `{"id":""}` + "\n", rejects: []rej{{1, "", "id", ""}}},
		{name: "whole: id a number", lines: `{"id":7}` + "\n", rejects: []rej{{1, "", "id", ""}}},
		{name: "whole: id null", lines: `{"id":null}` + "\n", rejects: []rej{{1, "", "id", ""}}},
		{name: "whole: id an object", lines: `{"id":{"v":"r"}}` + "\n", rejects: []rej{{1, "", "id", ""}}},
		{name: "whole: line numbers count blank lines", lines: `{"id":"a"}` + "\n\n" + "nope\n", reports: 1, rejects: []rej{{3, "", "", ""}}},

		{name: "minimal report: only an id", lines: `{"id":"r"}` + "\n", reports: 1},
		{name: "received, incident, event, port, proxy optional", reports: 1, events: 1,
			lines: `{"id":"r","received":"2024-05-02T08:00:00Z","incident":"sextortion","ips":[{"ip":"203.0.113.7","at":"` + ctAt + `","event":"login","port":51234,"proxy":false}]}` + "\n",
			want:  "c-a:tied:ip=203.0.113.7"},
		{name: "unknown fields ignored at any depth", reports: 1, events: 1, devices: 1,
			lines: `{"id":"r","x":{"y":[1,{"z":null}]},"ips":[{"ip":"203.0.113.7","at":"` + ctAt + `","asn":64496,"geo":{"cc":"KH"}}],"devices":[{"type":"imei","value":"358240051111110","model":"synthetic"}]}` + "\n",
			want:  "c-a:tied:device=imei:358240051111110+ip=203.0.113.7"},
		{name: "empty arrays", lines: `{"id":"r","ips":[],"devices":[]}` + "\n", reports: 1},
		// Issue 14 changes this clause of issue 2's contract ("ips[].at
		// required"): an event without a time is kept, undated, in every
		// report format, and can only add potential evidence.
		{name: "an ip event without at is kept, undated: ip-undated evidence, never tying", reports: 1, events: 3,
			lines: `{"id":"r","ips":[{"ip":"203.0.113.7"},{"ip":"203.0.113.7","at":null},{"ip":"203.0.113.7","at":"` + ctAt + `"}]}` + "\n",
			want:  "c-a:tied:ip-undated=203.0.113.7+ip-undated=203.0.113.7+ip=203.0.113.7"},
		{name: "an undated event alone is potential", reports: 1, events: 1,
			lines: `{"id":"r","ips":[{"ip":"203.0.113.7","at":""}]}` + "\n",
			want:  "c-a:potential:ip-undated=203.0.113.7"},
		{name: "invalid ip events rejected on their own, each naming its index", reports: 1, events: 1,
			lines: `{"id":"r","ips":[{"ip":"203.0.113.7","at":"` + ctAt + `"},{"ip":"N/A","at":"` + ctAt + `"},{"at":"` + ctAt + `"},` +
				`{"ip":"203.0.113.7","at":"2024-05-10 00:00:00"},{"ip":7,"at":"` + ctAt + `"},"203.0.113.7"]}` + "\n",
			rejects: []rej{
				{1, "ips[1]", `invalid IP address "N/A"`, `{"ip":"N/A","at":"` + ctAt + `"}`},
				{1, "ips[2]", "ip", `{"at":"` + ctAt + `"}`},
				{1, "ips[3]", "2024-05-10 00:00:00", `{"ip":"203.0.113.7","at":"2024-05-10 00:00:00"}`},
				{1, "ips[4]", "ip", `{"ip":7,"at":"` + ctAt + `"}`},
				{1, "ips[5]", "object", `"203.0.113.7"`},
			},
			want: "c-a:tied:ip=203.0.113.7"},
		{name: "invalid devices rejected on their own, each naming its index", reports: 1, events: 0, devices: 1,
			lines: `{"id":"r","devices":[{"type":"imei"},{"value":"358240051111110"},{"type":"  ","value":"358240051111110"},` +
				`{"type":"imei","value":"   "},{"type":"imei","value":"358240051111110","at":"soon"},{"type":"imei","value":"358240051111110"}]}` + "\n",
			rejects: []rej{
				{1, "devices[0]", "value", `{"type":"imei"}`},
				{1, "devices[1]", "type", `{"value":"358240051111110"}`},
				{1, "devices[2]", "type", `{"type":"  ","value":"358240051111110"}`},
				{1, "devices[3]", "value", `{"type":"imei","value":"   "}`},
				{1, "devices[4]", "soon", `{"type":"imei","value":"358240051111110","at":"soon"}`},
			},
			want: "c-a:tied:device=imei:358240051111110"},
		{name: "a bad event in a later line keeps its own line number", reports: 2, events: 1,
			lines:   `{"id":"q"}` + "\n" + `{"id":"r","ips":[{"ip":"203.0.113.7","at":"` + ctAt + `"},{"ip":"","at":"` + ctAt + `"}]}` + "\n",
			rejects: []rej{{2, "ips[1]", "", `{"ip":"","at":"` + ctAt + `"}`}}, want: "c-a:tied:ip=203.0.113.7"},
		{name: "RFC 3339 allows a lower-case t and z", reports: 1, events: 1,
			lines: `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-10t00:00:00z"}]}` + "\n", want: "c-a:tied:ip=203.0.113.7"},
		{name: "RFC 3339 fractions take a dot, not a comma", reports: 1,
			lines:   `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-10T00:00:00,5Z"}]}` + "\n",
			rejects: []rej{{1, "ips[0]", "2024-05-10T00:00:00,5Z", `{"ip":"203.0.113.7","at":"2024-05-10T00:00:00,5Z"}`}}},
		{name: "a device type containing a colon is a valid device (non-empty type and value)", reports: 1, devices: 1,
			lines: `{"id":"r","devices":[{"type":"ua:x","value":"1"}]}` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				ctDeviation(t, c.skip)
			}
			out := ctMust(t, ctInputs{indicators: inds, reports: []string{c.lines}}, nil)
			s := out.summary
			if s.Reports != c.reports || s.Events != c.events || s.Devices != c.devices {
				t.Errorf("reports %d events %d devices %d, want %d %d %d", s.Reports, s.Events, s.Devices, c.reports, c.events, c.devices)
			}
			lines := strings.Split(c.lines, "\n")
			if len(out.rejected) != len(c.rejects) {
				t.Fatalf("%d rejections, want %d:\n%s", len(out.rejected), len(c.rejects), strings.Join(out.rejectedLines, "\n"))
			}
			for i, w := range c.rejects {
				e := out.rejected[i]
				raw := w.raw
				if raw == "" {
					raw = lines[w.line-1]
				}
				if e.File != out.opts.Reports[0] || e.Line != w.line || e.Item != w.item || !strings.Contains(e.Reason, w.why) || e.Raw != raw {
					t.Errorf("rejection %s\nwant line %d, item %q, a reason containing %q, raw %s", out.rejectedLines[i], w.line, w.item, w.why, raw)
				}
			}
			if s.Rejected != len(c.rejects) {
				t.Errorf("summary rejected = %d, want %d", s.Rejected, len(c.rejects))
			}
			if got := out.got("r"); got != c.want {
				t.Errorf("findings of r: %q, want %q", got, c.want)
			}
		})
	}
}

// TestContractDuplicateReports checks that a report id is unique across all
// report inputs: a repeat, in the same file or another, is rejected whole
// and the first one stands, whatever the chunking and worker count.
func TestContractDuplicateReports(t *testing.T) {
	inds := "c-a,ip,203.0.113.7,,,,\nc-b,device,imei:358240051111110,,,,\n"
	file1 := ctReport("r-dup", []string{ctIP("203.0.113.7", ctAt)}, nil) +
		ctReport("r-1", nil, nil) +
		ctReport("r-dup", nil, []string{ctDev("imei", "358240051111110", "")})
	file2 := ctReport("r-2", nil, nil) +
		ctReport("r-dup", []string{ctIP("203.0.113.8", ctAt), ctIP("N/A", ctAt)}, []string{ctDev("imei", "358240051111110", "")})
	for _, p := range []struct{ workers, chunk int }{{1, 1 << 20}, {4, 1}, {3, 40}} {
		t.Run(fmt.Sprintf("workers=%d chunk=%d", p.workers, p.chunk), func(t *testing.T) {
			out := ctMust(t, ctInputs{indicators: inds, reports: []string{file1, file2}}, func(o *xref.Options) {
				o.Workers, o.ChunkSize = p.workers, p.chunk
			})
			if got := out.got("r-dup"); got != "c-a:tied:ip=203.0.113.7" {
				t.Errorf("r-dup: %q, want the first report's finding only", got)
			}
			if s := out.summary; s.Reports != 3 || s.Events != 1 || s.Devices != 0 || s.Rejected != 2 {
				t.Errorf("reports %d events %d devices %d rejected %d; want 3, 1, 0, 2 (duplicates are not counted)", s.Reports, s.Events, s.Devices, s.Rejected)
			}
			want := []struct {
				file string
				line int
				raw  string
			}{{out.opts.Reports[0], 3, strings.Split(file1, "\n")[2]}, {out.opts.Reports[1], 2, strings.Split(file2, "\n")[1]}}
			if len(out.rejected) != len(want) {
				t.Fatalf("rejections:\n%s", strings.Join(out.rejectedLines, "\n"))
			}
			for i, w := range want {
				e := out.rejected[i]
				if e.File != w.file || e.Line != w.line || e.Item != "" || !strings.Contains(e.Reason, "duplicate") || !strings.Contains(e.Reason, `"r-dup"`) || e.Raw != w.raw {
					t.Errorf("rejection %s\nwant %s:%d, item \"\", a duplicate reason naming \"r-dup\", raw %s", out.rejectedLines[i], w.file, w.line, w.raw)
				}
			}
		})
	}
	t.Run("decision: a line rejected whole does not claim its id", func(t *testing.T) {
		out := ctMust(t, ctInputs{indicators: inds, reports: []string{`{"id":"r-x","ips":5` + "\n" + ctReport("r-x", []string{ctIP("203.0.113.7", ctAt)}, nil)}}, nil)
		if out.summary.Reports != 1 || out.got("r-x") != "c-a:tied:ip=203.0.113.7" {
			t.Errorf("reports %d, findings %q", out.summary.Reports, out.findingLines)
		}
	})
}

// TestContractGzipAndStdin checks that a report path ending in .gz is read
// through gzip (a multi-member stream too), that "-" reads standard input,
// and that both give the same outputs as the plain files, with rejections
// naming the input as given.
func TestContractGzipAndStdin(t *testing.T) {
	base := ctFixtureOptions(t)
	plain := ctRunOptions(t, base)
	if plain.err != nil {
		t.Fatal(plain.err)
	}
	dir := t.TempDir()
	a, err := os.ReadFile(base.Reports[0])
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(base.Reports[1])
	if err != nil {
		t.Fatal(err)
	}
	// Two gzip members, split in the middle of a line.
	var z bytes.Buffer
	cut := len(a) / 2
	for _, part := range [][]byte{a[:cut], a[cut:]} {
		w := gzip.NewWriter(&z)
		w.Write(part)
		w.Close()
	}
	gz := filepath.Join(dir, "reports-a.jsonl.gz")
	if err := os.WriteFile(gz, z.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	o := ctFixtureOptions(t)
	o.Reports = []string{gz, "-"}
	o.Stdin = bytes.NewReader(b)
	out := ctRunOptions(t, o)
	if out.err != nil {
		t.Fatal(out.err)
	}
	if !slices.Equal(out.findingLines, plain.findingLines) {
		t.Errorf("findings through gzip and stdin differ from the plain files:\n%s\nwant:\n%s",
			strings.Join(out.findingLines, "\n"), strings.Join(plain.findingLines, "\n"))
	}
	if out.summary.Reports != plain.summary.Reports || out.summary.Events != plain.summary.Events ||
		out.summary.TiedReports != plain.summary.TiedReports || out.summary.Rejected != plain.summary.Rejected {
		t.Errorf("summary differs: %+v\nwant %+v", out.summary, plain.summary)
	}
	// The rejections are the same records, named as given.
	rename := map[string]string{base.Reports[0]: gz, base.Reports[1]: "-"}
	for i, e := range plain.rejected {
		if n, ok := rename[e.File]; ok {
			e.File = n
		}
		if i >= len(out.rejected) {
			t.Errorf("rejection %d missing: want %+v", i, e)
		} else if out.rejected[i] != e {
			t.Errorf("rejection %d: got %+v, want %+v", i, out.rejected[i], e)
		}
	}
	if len(out.rejected) != len(plain.rejected) {
		t.Errorf("%d rejections, want %d", len(out.rejected), len(plain.rejected))
	}

	t.Run("a .gz that is not gzip fails naming the file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "plain.jsonl.gz")
		os.WriteFile(p, a, 0o600)
		o := ctFixtureOptions(t)
		o.Reports = []string{p}
		if out := ctRunOptions(t, o); out.err == nil || !strings.Contains(out.err.Error(), p) {
			t.Errorf("err = %v, want it to name %s", out.err, p)
		}
	})
	t.Run("a truncated gzip stream fails naming the file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "cut.jsonl.gz")
		os.WriteFile(p, z.Bytes()[:len(z.Bytes())*2/3], 0o600)
		o := ctFixtureOptions(t)
		o.Reports = []string{p}
		if out := ctRunOptions(t, o); out.err == nil || !strings.Contains(out.err.Error(), p) {
			t.Errorf("err = %v, want it to name %s", out.err, p)
		}
	})
}

// ---------------------------------------------------------------------------
// Outputs: the summary, and nothing lost.

// ctFixtureOptions is a run over testdata/contract.
func ctFixtureOptions(t *testing.T) xref.Options {
	o := xref.NewOptions()
	o.Compounds = ctFixture + "compounds.csv"
	o.Indicators = ctFixture + "indicators.csv"
	o.Shared = ctFixture + "shared.txt"
	o.Reports = []string{ctFixture + "reports-a.jsonl", ctFixture + "reports-b.jsonl"}
	o.Out = filepath.Join(t.TempDir(), "out")
	return o
}

// TestContractSummary checks every field of summary.json against counts
// worked out by hand from testdata/contract, which is built so that each
// definition gives a different number from its likely misreadings:
//
//	report  evidence                                      findings
//	R1      203.0.113.1 = c-z ip                          c-z tied
//	R2      imei device = c-z device                      c-z tied
//	R3      203.0.113.2 = c-a ip; 198.51.100.200 in       c-a tied, c-m potential
//	        c-a /24 and c-m /25
//	R4      203.0.113.3 = c-m ip; 198.51.100.10 in c-a    c-m tied, c-a potential, c-b potential
//	        /24; 192.0.2.5 in c-b /24
//	R5-R8   198.51.100.200-203 (R7 IPv4-mapped) in the    c-a potential, c-m potential
//	        c-a /24 and the c-m /25
//	R9      192.0.2.50 = c-b ip, in shared 192.0.2.48/28  c-b potential
//	R10     192.0.2.70 = c-b ip, proxy                    c-b potential
//	R11     192.0.2.80 = c-b ip, 15 days after window     c-b potential (ip-drift, cidr)
//	R12-14  192.0.2.9-11 in c-b /24                       c-b potential
//	R15     no evidence; its ips[1] "N/A" rejected        -
//	R16     10.1.1.1 (unroutable)                         -
//	R17     203.0.113.130 in c-v /28                      c-v potential
//	R18     203.0.113.150 in c-p /28                      c-p potential
//
// c-a and c-m are in KH (c-m's "kh" upper-cased), c-z in BN, c-b in MM,
// c-v in VN, c-p in PH; c-q (TH) has no finding. A second R1 in the second
// file is a duplicate. KH: R3 and R4 tied there, so they are not potential
// there although c-m (R3) and c-a (R4) are potential for them; R4 still
// counts as potential for MM, and is not in potential_reports.
func TestContractSummary(t *testing.T) {
	out := ctRunOptions(t, ctFixtureOptions(t))
	if out.err != nil {
		t.Fatal(out.err)
	}
	s := out.summary
	for _, c := range []struct {
		field     string
		got, want int
	}{
		{"reports (accepted: not the bad line, the duplicate R1 or the empty id)", s.Reports, 18},
		{"events (accepted: R15's N/A is not, R16's unroutable one is)", s.Events, 20},
		{"devices (accepted: not the duplicate R1's)", s.Devices, 2},
		{"rejected (2 compounds + 5 indicators + 1 shared + 4 reports)", s.Rejected, 12},
		{"tied_reports (R1-R4)", s.TiedReports, 4},
		{"potential_reports (R5-R14, R17, R18; not R3 or R4, which are tied)", s.PotentialReports, 12},
		{"compounds_tied (c-z, c-a, c-m)", s.CompoundsTied, 3},
		{"findings (extension: lines of findings.jsonl)", s.Findings, 23},
		{"events_unroutable (extension)", s.Unroutable, 1},
		{"registry.compounds (extension)", s.Registry.Compounds, 7},
		{"registry.ip_indicators (extension)", s.Registry.IP, 6},
		{"registry.cidr_indicators (extension)", s.Registry.CIDR, 5},
		{"registry.device_indicators (extension)", s.Registry.Device, 1},
		{"registry.shared_prefixes (extension, with 100.64.0.0/10)", s.Registry.SharedPrefixes, 3},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.field, c.got, c.want)
		}
	}
	if len(out.findingLines) != 23 || len(out.rejectedLines) != s.Rejected {
		t.Errorf("findings.jsonl has %d lines (want 23), rejected.jsonl %d (summary says %d)", len(out.findingLines), len(out.rejectedLines), s.Rejected)
	}
	wantCompounds := []ctCompoundCount{
		{"c-z", "Zulu", "BN", 2, 0},
		{"c-a", "Alpha", "KH", 1, 5}, // the first row of c-a stands, not "Alpha again"
		{"c-m", "Mike", "KH", 1, 5},  // ties c-a on both counts: id order
		{"c-b", "Bravo", "MM", 0, 7}, // more potential than all, but no tied
		{"c-p", "Papa", "PH", 0, 1},
		{"c-v", "Victor", "VN", 0, 1},
	}
	if !slices.Equal(s.ByCompound, wantCompounds) {
		t.Errorf("by_compound:\n got  %+v\n want %+v", s.ByCompound, wantCompounds)
	}
	wantCountries := []ctCountryCount{
		{"KH", 2, 4}, // potential R5-R8 only: R3 and R4 are tied in KH
		{"BN", 2, 0}, // ties KH on tied; less potential, so after it, although BN < KH
		{"MM", 0, 7}, // R4, R9-R14: R4 is tied elsewhere, not in MM
		{"PH", 0, 1},
		{"VN", 0, 1},
	}
	if !slices.Equal(s.ByCountry, wantCountries) {
		t.Errorf("by_country:\n got  %+v\n want %+v", s.ByCountry, wantCountries)
	}
	// Findings are in the order of the input reports: files in the order
	// given, lines in file order; the findings of one report together.
	var order []string
	for _, f := range out.findings {
		if len(order) == 0 || order[len(order)-1] != f.Report {
			if slices.Contains(order, f.Report) {
				t.Errorf("the findings of %s are not together", f.Report)
			}
			order = append(order, f.Report)
		}
	}
	wantOrder := []string{"R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R17", "R18"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("findings in report order %v, want the input order %v", order, wantOrder)
	}
	for _, c := range []struct{ report, want string }{
		{"R3", "c-a:tied:cidr=198.51.100.0/24+ip=203.0.113.2 c-m:potential:cidr=198.51.100.128/25"},
		{"R4", "c-a:potential:cidr=198.51.100.0/24 c-b:potential:cidr=192.0.2.0/24 c-m:tied:ip=203.0.113.3"},
		{"R7", "c-a:potential:cidr=198.51.100.0/24 c-m:potential:cidr=198.51.100.128/25"},
		{"R9", "c-b:potential:cidr=192.0.2.0/24+ip=192.0.2.50"},
		{"R10", "c-b:potential:cidr=192.0.2.0/24+ip=192.0.2.70"},
		{"R11", "c-b:potential:cidr=192.0.2.0/24+ip-drift=192.0.2.80"},
		{"R1", "c-z:tied:ip=203.0.113.1"}, // not also the device of the duplicate R1
		{"R15", ""},
		{"R16", ""},
	} {
		if got := out.got(c.report); got != c.want {
			t.Errorf("%s: got %q, want %q", c.report, got, c.want)
		}
	}
}

// TestContractSummaryDerived recomputes the contract fields of summary.json
// from findings.jsonl and the compounds file, following the definitions
// word for word, on the hand-made sets and a generated one of a few
// thousand reports.
func TestContractSummaryDerived(t *testing.T) {
	sets := map[string]xref.Options{"testdata/contract": ctFixtureOptions(t)}
	small := xref.NewOptions()
	small.Compounds, small.Indicators, small.Shared = "../testdata/small/compounds.csv", "../testdata/small/indicators.csv", "../testdata/small/shared.txt"
	small.Reports = []string{"../testdata/small/reports.jsonl", "../testdata/small/reports2.jsonl"}
	small.Out = filepath.Join(t.TempDir(), "out")
	sets["testdata/small"] = small
	g := gen.DefaultOptions()
	g.Seed, g.Compounds, g.Indicators, g.Reports, g.BadRate = 11, 25, 1500, 6000, 0.01
	g.TiedRate, g.PotentialRate = 0.05, 0.1
	f, err := gen.Generate(filepath.Join(t.TempDir(), "gen"), g)
	if err != nil {
		t.Fatal(err)
	}
	generated := xref.NewOptions()
	generated.Compounds, generated.Indicators, generated.Shared, generated.Reports = f.Compounds, f.Indicators, f.Shared, []string{f.Reports}
	generated.Out = filepath.Join(t.TempDir(), "out")
	sets["generated"] = generated

	for name, o := range sets {
		t.Run(name, func(t *testing.T) {
			out := ctRunOptions(t, o)
			if out.err != nil {
				t.Fatal(out.err)
			}
			want := ctDeriveSummary(t, o.Compounds, out.findings)
			s := out.summary
			if s.TiedReports != want.TiedReports || s.PotentialReports != want.PotentialReports || s.CompoundsTied != want.CompoundsTied {
				t.Errorf("tied_reports %d potential_reports %d compounds_tied %d; from findings.jsonl: %d %d %d",
					s.TiedReports, s.PotentialReports, s.CompoundsTied, want.TiedReports, want.PotentialReports, want.CompoundsTied)
			}
			if !slices.Equal(s.ByCompound, want.ByCompound) {
				t.Errorf("by_compound:\n got  %+v\n want %+v", s.ByCompound, want.ByCompound)
			}
			if !slices.Equal(s.ByCountry, want.ByCountry) {
				t.Errorf("by_country:\n got  %+v\n want %+v", s.ByCountry, want.ByCountry)
			}
			if s.Rejected != len(out.rejectedLines) {
				t.Errorf("rejected = %d, rejected.jsonl has %d lines", s.Rejected, len(out.rejectedLines))
			}
			if name == "generated" && (s.TiedReports == 0 || s.PotentialReports == 0 || len(s.ByCountry) < 2) {
				t.Errorf("the generated set exercises too little: %+v", s)
			}
		})
	}
}

// ctDeriveSummary computes the contract's summary fields from findings,
// written from the definitions: it shares no code with xref.
func ctDeriveSummary(t *testing.T, compoundsPath string, findings []ctFinding) ctSummary {
	t.Helper()
	// The name and country of each compound with a finding, from the first
	// row of its id (in these sets the first row of an id is a valid one;
	// TestContractDuplicateCompounds covers the rest).
	f, err := os.Open(compoundsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	info := map[string]ctCompoundCount{}
	found := map[string]bool{}
	for _, fd := range findings {
		found[fd.Compound] = true
	}
	for _, r := range rows[1:] {
		id := strings.TrimSpace(r[col["id"]])
		if _, ok := info[id]; ok || !found[id] {
			continue
		}
		info[id] = ctCompoundCount{Compound: id, Name: strings.TrimSpace(r[col["name"]]), Country: strings.ToUpper(strings.TrimSpace(r[col["country"]]))}
	}

	type set = map[string]bool
	tiedBy, potBy := map[string]set{}, map[string]set{} // compound -> reports
	cTied, cPot := map[string]set{}, map[string]set{}   // country -> reports
	reportTied, reportAny := set{}, set{}
	add := func(m map[string]set, k, r string) {
		if m[k] == nil {
			m[k] = set{}
		}
		m[k][r] = true
	}
	seen := map[[2]string]bool{}
	for _, fd := range findings {
		if seen[[2]string{fd.Report, fd.Compound}] {
			t.Errorf("two findings for one (report, compound) pair: %s %s", fd.Report, fd.Compound)
		}
		seen[[2]string{fd.Report, fd.Compound}] = true
		country := info[fd.Compound].Country
		reportAny[fd.Report] = true
		switch fd.Tier {
		case "tied":
			reportTied[fd.Report] = true
			add(tiedBy, fd.Compound, fd.Report)
			add(cTied, country, fd.Report)
		case "potential":
			add(potBy, fd.Compound, fd.Report)
			add(cPot, country, fd.Report)
		default:
			t.Errorf("tier %q", fd.Tier)
		}
	}
	var s ctSummary
	s.TiedReports = len(reportTied)
	for r := range reportAny {
		if !reportTied[r] {
			s.PotentialReports++
		}
	}
	s.CompoundsTied = len(tiedBy)
	s.ByCompound, s.ByCountry = []ctCompoundCount{}, []ctCountryCount{}
	for id, c := range info {
		c.Tied, c.Potential = len(tiedBy[id]), len(potBy[id])
		s.ByCompound = append(s.ByCompound, c)
	}
	countries := set{}
	for c := range cTied {
		countries[c] = true
	}
	for c := range cPot {
		countries[c] = true
	}
	for c := range countries {
		n := 0
		for r := range cPot[c] {
			if !cTied[c][r] { // no tied finding for any compound of that country
				n++
			}
		}
		if len(cTied[c]) == 0 && n == 0 {
			continue
		}
		s.ByCountry = append(s.ByCountry, ctCountryCount{c, len(cTied[c]), n})
	}
	order := func(at, ap int, aid string, bt, bp int, bid string) int {
		return cmp.Or(cmp.Compare(bt, at), cmp.Compare(bp, ap), cmp.Compare(aid, bid))
	}
	slices.SortFunc(s.ByCompound, func(a, b ctCompoundCount) int {
		return order(a.Tied, a.Potential, a.Compound, b.Tied, b.Potential, b.Compound)
	})
	slices.SortFunc(s.ByCountry, func(a, b ctCountryCount) int {
		return order(a.Tied, a.Potential, a.Country, b.Tied, b.Potential, b.Country)
	})
	return s
}

// TestContractNothingLost counts every record of every input by hand and
// holds it to what was used plus what rejected.jsonl lists: CSV rows,
// shared entries, report lines, and the ip events and devices inside the
// accepted reports.
func TestContractNothingLost(t *testing.T) {
	sets := map[string]xref.Options{"testdata/contract": ctFixtureOptions(t)}
	g := gen.DefaultOptions()
	g.Seed, g.Compounds, g.Indicators, g.Reports, g.BadRate = 5, 20, 800, 4000, 0.05
	f, err := gen.Generate(filepath.Join(t.TempDir(), "gen"), g)
	if err != nil {
		t.Fatal(err)
	}
	o := xref.NewOptions()
	o.Compounds, o.Indicators, o.Shared, o.Reports = f.Compounds, f.Indicators, f.Shared, []string{f.Reports}
	o.Out = filepath.Join(t.TempDir(), "out")
	sets["generated"] = o
	for name, o := range sets {
		t.Run(name, func(t *testing.T) {
			out := ctRunOptions(t, o)
			if out.err != nil {
				t.Fatal(out.err)
			}
			s := out.summary
			whole := map[string]map[int]bool{} // file -> lines rejected whole
			parts := map[string]int{}          // "ips" / "devices" -> parts rejected
			byFile := map[string]int{}
			for _, e := range out.rejected {
				byFile[e.File]++
				if e.Item == "" {
					if whole[e.File] == nil {
						whole[e.File] = map[int]bool{}
					}
					if whole[e.File][e.Line] {
						t.Errorf("%s:%d rejected whole twice", e.File, e.Line)
					}
					whole[e.File][e.Line] = true
					continue
				}
				field, _, _ := strings.Cut(e.Item, "[")
				parts[field]++
			}
			if s.Rejected != len(out.rejected) {
				t.Errorf("summary rejected %d, rejected.jsonl %d", s.Rejected, len(out.rejected))
			}
			// CSV rows: accepted + rejected = rows under the header.
			if rows := ctCSVRows(t, o.Compounds); s.Registry.Compounds+byFile[o.Compounds] != rows {
				t.Errorf("compounds: %d accepted + %d rejected != %d rows", s.Registry.Compounds, byFile[o.Compounds], rows)
			}
			inds := s.Registry.IP + s.Registry.CIDR + s.Registry.Device
			if rows := ctCSVRows(t, o.Indicators); inds+byFile[o.Indicators] != rows {
				t.Errorf("indicators: %d accepted + %d rejected != %d rows", inds, byFile[o.Indicators], rows)
			}
			// Shared entries: distinct accepted prefixes (less 100.64.0.0/10)
			// + rejected = entries, when no entry repeats another.
			if entries := ctSharedEntries(t, o.Shared); s.Registry.SharedPrefixes-1+byFile[o.Shared] != len(entries) {
				t.Errorf("shared: %d accepted + %d rejected != %d entries %q", s.Registry.SharedPrefixes-1, byFile[o.Shared], len(entries), entries)
			}
			// Report lines, and the events and devices in them.
			lines, events, devices := 0, 0, 0
			for _, path := range o.Reports {
				for i, l := range ctReportLines(t, path) {
					if strings.TrimSpace(l) == "" {
						continue // not a record (docs/xref.md)
					}
					lines++
					if whole[path][i+1] {
						continue
					}
					var r struct {
						IPs     []json.RawMessage `json:"ips"`
						Devices []json.RawMessage `json:"devices"`
					}
					if err := json.Unmarshal([]byte(l), &r); err != nil {
						t.Fatalf("%s:%d accepted but not a report to encoding/json: %v", path, i+1, err)
					}
					events += len(r.IPs)
					devices += len(r.Devices)
				}
			}
			wholeReports := 0
			for _, path := range o.Reports {
				wholeReports += len(whole[path])
			}
			if s.Reports+wholeReports != lines {
				t.Errorf("reports: %d accepted + %d rejected whole != %d lines", s.Reports, wholeReports, lines)
			}
			if s.Events+parts["ips"] != events {
				t.Errorf("ip events: %d accepted + %d rejected != %d in the accepted reports", s.Events, parts["ips"], events)
			}
			if s.Devices+parts["devices"] != devices {
				t.Errorf("devices: %d accepted + %d rejected != %d in the accepted reports", s.Devices, parts["devices"], devices)
			}
			if name == "generated" && (wholeReports == 0 || parts["ips"]+parts["devices"] == 0) {
				t.Errorf("the generated set has no rejections to account for: %d whole, %v parts", wholeReports, parts)
			}
		})
	}
}

func ctCSVRows(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v (the hand count needs well-formed CSV)", path, err)
	}
	return len(rows) - 1
}

func ctSharedEntries(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, l := range ctReportLines(t, path) {
		l, _, _ = strings.Cut(l, "#")
		if l = strings.TrimSpace(l); l != "" {
			if slices.Contains(out, l) {
				t.Fatalf("%s repeats %s: the hand count assumes it does not", path, l)
			}
			out = append(out, l)
		}
	}
	return out
}

// ctReportLines returns the lines of a file, gunzipped if its name ends in
// .gz.
func ctReportLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sc *bufio.Scanner
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc = bufio.NewScanner(z)
	} else {
		sc = bufio.NewScanner(f)
	}
	sc.Buffer(nil, 16<<20)
	var out []string
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestContractRejectedRaw checks the raw field: the whole line for a line
// rejected whole, the element's JSON for a part, the row for a CSV row,
// the line for a shared entry.
func TestContractRejectedRaw(t *testing.T) {
	out := ctRunOptions(t, ctFixtureOptions(t))
	if out.err != nil {
		t.Fatal(out.err)
	}
	want := []ctRejected{
		{ctFixture + "compounds.csv", 9, "", `duplicate compound id "c-a"`, ",KH,Alpha again,duplicate id: the first row stands,c-a"},
		{ctFixture + "compounds.csv", 10, "", `"KHM"`, ",KHM,Bad country,not alpha-2,c-x"},
		{ctFixture + "indicators.csv", 14, "", "198.51.100.0/24", "s-x,198.51.100.1/24,cidr,c-a,,"},
		{ctFixture + "indicators.csv", 15, "", "private", "s-x,10.1.2.3,ip,c-a,,"},
		{ctFixture + "indicators.csv", 16, "", `unknown compound "c-x"`, "s-x,203.0.113.9,ip,c-x,,"},
		{ctFixture + "indicators.csv", 17, "", `"domain"`, "s-x,203.0.113.9,domain,c-a,,"},
		{ctFixture + "indicators.csv", 18, "", "after", "s-x,203.0.113.9,ip,c-a,2024-02-01,2024-03-01"},
		{ctFixture + "shared.txt", 5, "", "192.0.2.48/28", "192.0.2.49/28"},
		{ctFixture + "reports-a.jsonl", 6, "", "", "not json at all"},
		{ctFixture + "reports-b.jsonl", 6, "ips[1]", `invalid IP address "N/A"`, `{"ip":"N/A","at":"2024-05-10T00:00:00Z"}`},
		{ctFixture + "reports-b.jsonl", 8, "", `duplicate report id "R1"`, `{"id":"R1","devices":[{"type":"imei","value":"100000000000001"}]}`},
		{ctFixture + "reports-b.jsonl", 11, "", "id", `{"id":"","ips":[{"ip":"203.0.113.1","at":"2024-05-10T00:00:00Z"}]}`},
	}
	if len(out.rejected) != len(want) {
		t.Fatalf("%d rejections, want %d:\n%s", len(out.rejected), len(want), strings.Join(out.rejectedLines, "\n"))
	}
	for i, w := range want {
		e := out.rejected[i]
		if e.File != w.File || e.Line != w.Line || e.Item != w.Item || !strings.Contains(e.Reason, w.Reason) || e.Raw != w.Raw {
			t.Errorf("rejection %d: %s\nwant %s:%d item %q reason containing %q raw %q", i, out.rejectedLines[i], w.File, w.Line, w.Item, w.Reason, w.Raw)
		}
	}
}

// TestContractAtomicOutputs checks that a run that cannot complete leaves an
// earlier run's outputs as they were, byte for byte and with nothing added,
// and that a run that completes replaces them.
func TestContractAtomicOutputs(t *testing.T) {
	first := ctFixtureOptions(t)
	if out := ctRunOptions(t, first); out.err != nil {
		t.Fatal(out.err)
	}
	before := ctSnapshot(t, first.Out)
	if len(before) != 3 {
		t.Fatalf("the output directory holds %v, want the three outputs", slices.Sorted(maps.Keys(before)))
	}
	dir := t.TempDir()
	// A report file that fails after its first lines were read: a gzip
	// stream cut short.
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	for i := range 5000 {
		fmt.Fprintf(w, `{"id":"g-%d","ips":[{"ip":"203.0.113.1","at":"2024-05-10T00:00:00Z"}]}`+"\n", i)
	}
	w.Close()
	cut := filepath.Join(dir, "cut.jsonl.gz")
	os.WriteFile(cut, z.Bytes()[:z.Len()-z.Len()/4], 0o600)
	noHeader := filepath.Join(dir, "no-country.csv")
	os.WriteFile(noHeader, []byte("id,name\nc-a,Alpha\n"), 0o600)

	for _, c := range []struct {
		name   string
		change func(*xref.Options)
		want   string // the error names this
	}{
		{"a missing report file", func(o *xref.Options) { o.Reports = append(o.Reports, filepath.Join(dir, "nope.jsonl")) }, "nope.jsonl"},
		{"a report file that is a directory", func(o *xref.Options) { o.Reports = []string{dir} }, dir},
		{"a gzip stream cut short, after reports were read", func(o *xref.Options) { o.Reports = []string{o.Reports[0], cut} }, "cut.jsonl.gz"},
		{"a compounds header without a required column", func(o *xref.Options) { o.Compounds = noHeader }, "no-country.csv:1"},
		{"a missing indicators file", func(o *xref.Options) { o.Indicators = filepath.Join(dir, "nope.csv") }, "nope.csv"},
		{"more rejected records than MaxRejected", func(o *xref.Options) { o.MaxRejected = 11 }, "too many rejected"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := ctFixtureOptions(t)
			o.Out = first.Out
			c.change(&o)
			_, err := xref.Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want an error naming %q", err, c.want)
			}
			if c.name == "more rejected records than MaxRejected" && !errors.Is(err, xref.ErrTooManyRejected) {
				t.Errorf("err = %v, want ErrTooManyRejected", err)
			}
			ctSameSnapshot(t, before, ctSnapshot(t, first.Out))
		})
	}

	t.Run("MaxRejected equal to the rejections completes", func(t *testing.T) {
		o := ctFixtureOptions(t)
		o.MaxRejected = 12
		if out := ctRunOptions(t, o); out.err != nil {
			t.Fatalf("err = %v: 12 rejections are not more than 12", out.err)
		}
	})
	t.Run("a completed run replaces the earlier outputs", func(t *testing.T) {
		out := ctMust(t, ctInputs{indicators: "c-a,ip,203.0.113.7,,,,\n", reports: []string{ctReport("r", []string{ctIP("203.0.113.7", ctAt)}, nil)}},
			func(o *xref.Options) { o.Out = first.Out })
		after := ctSnapshot(t, first.Out)
		if len(after) != 3 || out.summary.Reports != 1 || len(out.findings) != 1 || len(out.rejected) != 0 {
			t.Errorf("after a second run: files %v, summary %+v", slices.Sorted(maps.Keys(after)), out.summary)
		}
	})
}

// ctSnapshot reads every file of dir, hidden ones included.
func ctSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func ctSameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for name, b := range before {
		if a, ok := after[name]; !ok {
			t.Errorf("%s is gone", name)
		} else if a != b {
			t.Errorf("%s changed", name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s appeared in the output directory", name)
		}
	}
}

// TestContractDefaultDrift checks the default of --drift: 2160h (90 days).
func TestContractDefaultDrift(t *testing.T) {
	if d := xref.NewOptions().Drift; d != 2160*time.Hour {
		t.Errorf("default drift %v, want 2160h", d)
	}
}
