package gen_test

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
)

// generate writes a data set into a fresh directory and reads it back
// strictly.
func generate(t *testing.T, o gen.Options) (gen.Files, *dataset) {
	t.Helper()
	f, err := gen.Generate(filepath.Join(t.TempDir(), "data"), o)
	if err != nil {
		t.Fatal(err)
	}
	d := &dataset{}
	d.compounds = readCompounds(t, f.Compounds)
	d.indicators = readIndicators(t, f.Indicators, d.compounds)
	d.shared = readShared(t, f.Shared)
	readReports(t, f.Reports, d)
	return f, d
}

func small() gen.Options {
	o := gen.DefaultOptions()
	o.Seed, o.Compounds, o.Indicators, o.Reports = 7, 30, 3000, 20000
	return o
}

// TestTruthMatchesBruteForce checks truth.jsonl against a brute-force matcher
// written from the contract: every finding, with its tier, and nothing else.
func TestTruthMatchesBruteForce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reports int
		bad     float64
	}{
		{"well-formed", 20000, 0},
		{"one percent malformed", 20000, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := small()
			o.Reports, o.BadRate = tc.reports, tc.bad
			f, d := generate(t, o)
			if want := int(math.Round(float64(o.Reports) * o.BadRate)); len(d.rejected) != want {
				t.Errorf("%d rejected lines and items, want %d (one per malformed line)", len(d.rejected), want)
				for _, r := range d.rejected[:min(10, len(d.rejected))] {
					t.Log(r)
				}
			}
			want := readTruth(t, f.Truth)
			cover := map[string]int{}
			got := match(d, gen.TruthDrift, cover)
			compareFindings(t, got, want)
			t.Logf("cases: %v", cover)
			if tc.bad == 0 {
				for _, c := range []string{"ip in window", "ip on a window edge", "ip in window, proxy",
					"ip in window, shared space", "ip-drift", "ip-drift exactly at the drift",
					"ip-drift, 1ns outside the window", "ip beyond the drift", "ip 1ns beyond the drift",
					"cidr", "cidr outside its window", "device in window", "device without a time",
					"device outside its window", "report with two compounds"} {
					if cover[c] == 0 {
						t.Errorf("no case of %q in the data set", c)
					}
				}
			}
			tied, potential := 0, 0
			for _, l := range want {
				switch l.Tier {
				case "tied":
					tied++
				case "potential":
					potential++
				}
			}
			// Planted counts are exact; findings differ from them a little (a
			// report can reach two compounds, a malformed line drops one).
			if lo, hi := o.TiedRate*float64(o.Reports)*0.8, o.TiedRate*float64(o.Reports)*1.4; float64(tied) < lo || float64(tied) > hi {
				t.Errorf("%d tied findings, want about %g", tied, o.TiedRate*float64(o.Reports))
			}
			if lo, hi := o.PotentialRate*float64(o.Reports)*0.8, o.PotentialRate*float64(o.Reports)*1.4; float64(potential) < lo || float64(potential) > hi {
				t.Errorf("%d potential findings, want about %g", potential, o.PotentialRate*float64(o.Reports))
			}
		})
	}
}

func compareFindings(t *testing.T, got, want []truthLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("brute force found %d findings, truth.jsonl lists %d", len(got), len(want))
	}
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w truthLine
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("finding %d: brute force %+v, truth.jsonl %+v", i, g, w)
		}
	}
}

// TestBackgroundNeverMatches generates reports with nothing planted: no
// report may produce a finding, and the truth must be empty.
func TestBackgroundNeverMatches(t *testing.T) {
	o := small()
	o.Reports, o.TiedRate, o.PotentialRate = 10000, 0, 0
	f, d := generate(t, o)
	if got := match(d, 365*24*time.Hour, map[string]int{}); len(got) != 0 {
		t.Errorf("background reports produced %d findings even with a year of drift, first %+v", len(got), got[0])
	}
	if fi, err := os.Stat(f.Truth); err != nil || fi.Size() != 0 {
		t.Errorf("truth.jsonl is not empty: %v, %v", fi, err)
	}
}

func readAll(t *testing.T, f gen.Files) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{f.Compounds, f.Indicators, f.Shared, f.Reports, f.Truth} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func TestDeterministic(t *testing.T) {
	o := small()
	o.Reports, o.BadRate = 5000, 0.02
	gen1 := func(o gen.Options) map[string][]byte {
		f, err := gen.Generate(filepath.Join(t.TempDir(), "d"), o)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, f)
	}
	a, b := gen1(o), gen1(o)
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	o.Seed++
	c := gen1(o)
	for _, name := range []string{"indicators.csv", "reports.jsonl", "truth.jsonl"} {
		if bytes.Equal(a[name], c[name]) {
			t.Errorf("%s is the same for seeds %d and %d", name, o.Seed-1, o.Seed)
		}
	}
	// More reports must not change the registry.
	o.Seed--
	o.Reports = 100
	d := gen1(o)
	for _, name := range []string{"compounds.csv", "indicators.csv", "shared.txt"} {
		if !bytes.Equal(a[name], d[name]) {
			t.Errorf("%s changed with the number of reports", name)
		}
	}
}

func TestGzip(t *testing.T) {
	o := small()
	o.Reports = 3000
	plain, err := gen.Generate(filepath.Join(t.TempDir(), "plain"), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Gzip = true
	gz, err := gen.Generate(filepath.Join(t.TempDir(), "gz"), o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(gz.Reports, "reports.jsonl.gz") {
		t.Errorf("reports path %s, want reports.jsonl.gz", gz.Reports)
	}
	f, err := os.Open(gz.Reports)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(plain.Reports)
	if !bytes.Equal(got, want) {
		t.Error("gzipped reports differ from plain ones")
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte{'\n'})
}

func TestOptionsHonoured(t *testing.T) {
	for _, o := range []gen.Options{
		{Seed: 3, Compounds: 3, Indicators: 10, Reports: 50, TiedRate: 0.1, PotentialRate: 0.2},
		{Seed: 4, Compounds: 55, Indicators: 5000, Reports: 12345, TiedRate: 0.005, PotentialRate: 0.02, BadRate: 0.05},
		{Seed: 5, Compounds: 1, Indicators: 0, Reports: 10, TiedRate: 0.5},
		{Seed: 6, Compounds: 2, Indicators: 1, Reports: 0},
	} {
		f, err := gen.Generate(filepath.Join(t.TempDir(), "d"), o)
		if err != nil {
			t.Fatal(err)
		}
		if n := countLines(t, f.Compounds) - 1; n != o.Compounds {
			t.Errorf("%+v: %d compounds", o, n)
		}
		if n := countLines(t, f.Indicators) - 1; n != o.Indicators {
			t.Errorf("%+v: %d indicators", o, n)
		}
		if n := countLines(t, f.Reports); n != o.Reports {
			t.Errorf("%+v: %d reports", o, n)
		}
		for _, p := range []string{f.Compounds, f.Indicators, f.Shared, f.Reports, f.Truth} {
			if _, err := os.Stat(p + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("%s.tmp left behind", p)
			}
		}
	}
	for _, o := range []gen.Options{
		{Compounds: 0},
		{Compounds: 1, Reports: -1},
		{Compounds: 1, TiedRate: 0.5, PotentialRate: 0.5},
		{Compounds: 1, BadRate: 1.5},
		{Compounds: 1, TiedRate: math.NaN()},
	} {
		if _, err := gen.Generate(filepath.Join(t.TempDir(), "d"), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestRealism checks the data looks like what it stands for: compounds, real
// addresses of the region, re-used and shared addresses, valid IMEIs.
func TestRealism(t *testing.T) {
	_, d := generate(t, func() gen.Options { o := small(); o.Reports = 2000; return o }())

	real := map[string]string{"c-kkpark": "MM", "c-shwekokko": "MM", "c-dongmei": "MM", "c-jinbei": "KH",
		"c-chinatown-shv": "KH", "c-golden-fortune": "KH", "c-kings-romans": "LA"}
	for i, c := range d.compounds {
		switch {
		case i < len(real):
			if real[c.ID] != c.Country || !c.HasLocation || c.Status == "" {
				t.Errorf("compound %d: %+v, want a real compound with location and status", i, c)
			}
		case !strings.HasPrefix(c.ID, "c-syn-") || !strings.HasPrefix(c.Name, "Synthetic compound "):
			t.Errorf("compound %d: %s %q, want a synthetic one", i, c.ID, c.Name)
		}
	}

	ranges := embeddedRanges(t)
	country := map[string]string{}
	for _, c := range d.compounds {
		country[c.ID] = c.Country
	}
	windows := map[netip.Addr]map[string]int{}
	kinds := map[seams.Kind]int{}
	inShared, foreign, satellite := 0, 0, 0
	for _, ind := range d.indicators {
		kinds[ind.Kind]++
		switch ind.Kind {
		case seams.KindIP, seams.KindCIDR:
			a := ind.Addr
			if ind.Kind == seams.KindCIDR {
				a = ind.Prefix.Addr()
				if b := ind.Prefix.Bits(); b < 24 || b > 29 {
					t.Errorf("%s:%d: prefix %s, want /24 to /29", ind.File, ind.Line, ind.Prefix)
				}
			}
			rg, ok := rangeOf(ranges, a)
			if !ok {
				t.Errorf("%s:%d: %s is in no embedded range", ind.File, ind.Line, a)
				continue
			}
			if ind.Kind == seams.KindCIDR && !rg.Contains(ind.Prefix.Addr()) {
				t.Errorf("%s:%d: %s leaves its range", ind.File, ind.Line, ind.Prefix)
			}
			switch rg.country {
			case "SAT":
				satellite++
			case country[ind.Compound]:
			default:
				foreign++
			}
			if ind.Kind == seams.KindIP {
				if windows[a] == nil {
					windows[a] = map[string]int{}
				}
				windows[a][ind.Compound]++
				for _, p := range d.shared {
					if p.Contains(a) {
						inShared++
					}
				}
			}
		case seams.KindDevice:
			if ind.Device.Type == "imei" && !validIMEI(ind.Device.Value) {
				t.Errorf("%s:%d: IMEI %s fails the Luhn check", ind.File, ind.Line, ind.Device.Value)
			}
		}
	}
	reused, sharedByTwo := 0, 0
	for _, byCompound := range windows {
		if len(byCompound) > 1 {
			sharedByTwo++
		}
		for _, n := range byCompound {
			if n > 1 {
				reused++
			}
		}
	}
	t.Logf("indicators %v; ip in shared space %d, Starlink %d, cross-border %d, re-used %d, shared by compounds %d",
		kinds, inShared, satellite, foreign, reused, sharedByTwo)
	if kinds[seams.KindIP] < len(d.indicators)/2 || kinds[seams.KindCIDR] == 0 || kinds[seams.KindDevice] == 0 {
		t.Errorf("kinds %v, want mostly ip, some cidr and device", kinds)
	}
	if inShared == 0 || satellite == 0 || foreign == 0 || reused == 0 || sharedByTwo == 0 {
		t.Error("want ip indicators in shared space, on Starlink, across a border, re-used, and shared by two compounds")
	}

	lo, hi := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, r := range d.reports {
		if !r.Received.IsZero() && (r.Received.Before(lo) || !r.Received.Before(hi)) {
			t.Errorf("report %s received %s, want 2023-2025", r.ID, r.Received)
		}
		if len(r.IPs) < 1 || len(r.IPs) > 8 {
			t.Errorf("report %s has %d ip events", r.ID, len(r.IPs))
		}
		for _, e := range r.IPs {
			if !r.Received.IsZero() && e.At.After(r.Received) {
				t.Errorf("report %s: event at %s after it was received at %s", r.ID, e.At, r.Received)
			}
		}
	}
}

type ipRange struct {
	start, end netip.Addr
	country    string
}

func (r ipRange) Contains(a netip.Addr) bool { return r.start.Compare(a) <= 0 && a.Compare(r.end) <= 0 }

func embeddedRanges(t *testing.T) []ipRange {
	t.Helper()
	f, err := os.Open("data/sea_ipv4_ranges.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []ipRange
	for _, row := range rows[1:] {
		out = append(out, ipRange{netip.MustParseAddr(row[0]), netip.MustParseAddr(row[1]), row[4]})
	}
	return out
}

func rangeOf(rs []ipRange, a netip.Addr) (ipRange, bool) {
	for _, r := range rs {
		if r.Contains(a) {
			return r, true
		}
	}
	return ipRange{}, false
}

func validIMEI(s string) bool {
	if len(s) != 15 {
		return false
	}
	sum := 0
	for i := 0; i < 15; i++ {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func TestValidIMEI(t *testing.T) {
	if !validIMEI("358240051111110") || validIMEI("358240051111111") {
		t.Error("validIMEI disagrees with the sample IMEI 358240051111110")
	}
}
