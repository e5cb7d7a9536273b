package derive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/observe"
	"github.com/seams-dev/seams/registry"
)

// The hand-made world of these tests: compound c-alpha has a footprint, a
// square of 400 m; c-beta is known only by its location and gets a circle;
// c-gamma has neither. All names and devices are synthetic; addresses are
// documentation addresses.
var (
	alpha = orb.Point{103.5, 10.6}
	beta  = orb.Point{103.6, 10.7}
)

const compoundsCSV = `id,name,country,lat,lon
c-alpha,Test Compound Alpha,KH,10.6,103.5
c-beta,Test Compound Beta,KH,10.7,103.6
c-gamma,Test Compound Gamma,LA,,
`

// footprintsJSON is a square of 400 m around alpha.
func footprintsJSON() string {
	var r []string
	for _, b := range []float64{225, 135, 45, 315, 225} { // corners: SW, SE, NE, NW
		p := geo.PointAtBearingAndDistance(alpha, b, 200*1.41421356)
		r = append(r, fmt.Sprintf("[%.8f,%.8f]", p[0], p[1]))
	}
	return `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"compound":"c-alpha"},"geometry":{"type":"Polygon","coordinates":[[` +
		strings.Join(r, ",") + `]]}}]}`
}

// at returns the point meters from c on bearing.
func at(c orb.Point, bearing, meters float64) orb.Point {
	return geo.PointAtBearingAndDistance(c, bearing, meters)
}

var day0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// obs is an observation of the tests: device, day and hour after day0, place,
// accuracy (negative: none) and address.
type obs struct {
	dev  string
	day  int
	hour int
	p    orb.Point
	acc  float64
	ip   string
}

func (o obs) line() []byte {
	d, err := seams.ParseDeviceID(o.dev)
	if err != nil {
		panic(err)
	}
	ob := observe.Observation{Device: d, At: day0.Add(time.Duration(o.day)*24*time.Hour + time.Duration(o.hour)*time.Hour),
		Lat: o.p[1], Lon: o.p[0]}
	if o.acc >= 0 {
		ob.Accuracy, ob.HasAccuracy = o.acc, true
	}
	if o.ip != "" {
		ob.IP = netip.MustParseAddr(o.ip)
	}
	return observe.AppendJSON(nil, &ob)
}

type world struct {
	dir  string
	opts Options
}

func newWorld(t *testing.T, files ...[]obs) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{dir: dir, opts: NewOptions()}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	w.opts.Compounds = write("compounds.csv", compoundsCSV)
	w.opts.Footprints = write("footprints.geojson", footprintsJSON())
	for i, f := range files {
		var b bytes.Buffer
		for _, o := range f {
			b.Write(o.line())
		}
		w.opts.Observations = append(w.opts.Observations, write(fmt.Sprintf("obs%d.jsonl", i+1), b.String()))
	}
	w.opts.Out = filepath.Join(dir, "out")
	w.opts.Workers = 2
	return w
}

type result struct {
	sum        *Summary
	indicators []seams.Indicator
	shared     []netip.Prefix
	prov       []Provenance
	rejected   []map[string]any
	raw        map[string]string
}

func (w *world) run(t *testing.T) *result {
	t.Helper()
	s, err := Run(context.Background(), w.opts)
	if err != nil {
		t.Fatal(err)
	}
	return readResult(t, w.opts.Out, w.opts.Compounds, s)
}

// readResult reads the outputs back with the registry's readers, as seams
// xref would, and fails on any row they reject.
func readResult(t *testing.T, out, compoundsFile string, s *Summary) *result {
	t.Helper()
	r := &result{sum: s, raw: map[string]string{}}
	for _, n := range []string{IndicatorsFile, SharedFile, ProvenanceFile, SummaryFile, RejectedFile} {
		b, err := os.ReadFile(filepath.Join(out, n))
		if err != nil {
			t.Fatal(err)
		}
		r.raw[n] = string(b)
	}
	f, _ := os.Open(compoundsFile)
	cs, err := registry.ReadCompounds(f, compoundsFile, nil)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for i, c := range cs {
		ids[c.ID] = i
	}
	fail := func(e *seams.RecordError) { t.Errorf("the registry reader rejects derived output: %v", e) }
	if r.indicators, err = registry.ReadIndicators(strings.NewReader(r.raw[IndicatorsFile]), IndicatorsFile, ids, fail); err != nil {
		t.Fatal(err)
	}
	if r.shared, err = registry.ReadShared(strings.NewReader(r.raw[SharedFile]), SharedFile, fail); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.SplitAfter(r.raw[ProvenanceFile], "\n") {
		if l == "" {
			continue
		}
		var p Provenance
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		r.prov = append(r.prov, p)
	}
	for _, l := range strings.SplitAfter(r.raw[RejectedFile], "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		r.rejected = append(r.rejected, m)
	}
	if len(r.prov) != len(r.indicators) {
		t.Fatalf("%d provenance lines for %d indicators", len(r.prov), len(r.indicators))
	}
	for i, p := range r.prov {
		in := r.indicators[i]
		if p.Compound != in.Compound || p.Kind != in.Kind.String() || p.Value != in.Value {
			t.Fatalf("provenance line %d is for %s %s %s, indicator for %s %s %s", i+1, p.Compound, p.Kind, p.Value, in.Compound, in.Kind, in.Value)
		}
	}
	return r
}

// find returns the indicator of compound, kind and value and its
// provenance, or false.
func (r *result) find(compound, kind, value string) (seams.Indicator, Provenance, bool) {
	for i, in := range r.indicators {
		if in.Compound == compound && in.Kind.String() == kind && in.Value == value {
			return in, r.prov[i], true
		}
	}
	return seams.Indicator{}, Provenance{}, false
}

func (r *result) keys() []string {
	var out []string
	for _, in := range r.indicators {
		out = append(out, in.Compound+" "+in.Kind.String()+" "+in.Value)
	}
	return out
}

// Devices of the tests.
const (
	devResident  = "aaid:00000000-0000-4000-8000-000000000001"
	devVisitor   = "aaid:00000000-0000-4000-8000-000000000002"
	devSpread    = "aaid:00000000-0000-4000-8000-000000000003"
	devFence     = "aaid:00000000-0000-4000-8000-000000000004"
	devCoarse    = "aaid:00000000-0000-4000-8000-000000000005"
	devBeta      = "idfa:00000000-0000-4000-8000-00000000000A"
	devTownBase  = "aaid:00000000-0000-4000-8000-0000000001%02d"
	compoundWiFi = "203.0.113.10"
	carrierNAT   = "198.51.100.77"
)

func townDevice(i int) string { return fmt.Sprintf(devTownBase, i) }

// TestResidents checks who is resident: distinct days within the window,
// whole circles inside, accuracy within the limit.
func TestResidents(t *testing.T) {
	inside := at(alpha, 30, 50)
	var o []obs
	// A resident: days 0, 1 and 2, twice a day, one of them with a coarse
	// fix that does not count.
	for _, d := range []int{0, 1, 2} {
		o = append(o, obs{devResident, d, 9, inside, 10, ""}, obs{devResident, d, 20, inside, 15, ""})
	}
	o = append(o, obs{devResident, 5, 9, inside, 500, ""})
	// A visitor: two days only.
	o = append(o, obs{devVisitor, 3, 10, inside, 10, ""}, obs{devVisitor, 4, 10, inside, 10, ""})
	// Three days, but 60 days apart: never three within 30 days.
	o = append(o, obs{devSpread, 0, 10, inside, 10, ""}, obs{devSpread, 30, 10, inside, 10, ""}, obs{devSpread, 60, 10, inside, 10, ""})
	// Near the fence, 10 m outside, every day: with accuracy 20 m the
	// circle crosses the wall; with 5 m it is outside.
	fence := at(alpha, 90, 210)
	for d := range 10 {
		o = append(o, obs{devFence, d, 8, fence, 20, ""}, obs{devFence, d, 18, fence, 5, ""})
	}
	// Inside, but always with coarse fixes.
	for d := range 5 {
		o = append(o, obs{devCoarse, d, 8, inside, 150, ""})
	}
	// At beta, which has a circle of 250 m: 200 m from its centre with a
	// 40 m fix is inside; at 240 m it crosses the circle.
	for d := range 3 {
		o = append(o, obs{devBeta, d, 12, at(beta, 180, 200), 40, ""}, obs{devBeta, d, 13, at(beta, 180, 240), 40, ""})
	}
	w := newWorld(t, o)
	r := w.run(t)

	want := []string{"c-alpha device " + devResident, "c-beta device " + devBeta}
	if !slices.Equal(r.keys(), want) {
		t.Fatalf("indicators %v, want %v", r.keys(), want)
	}
	in, p, _ := r.find("c-alpha", "device", devResident)
	if !in.Window.First.Equal(day0.Add(9*time.Hour)) || !in.Window.Last.Equal(day0.Add(2*24*time.Hour+20*time.Hour)) {
		t.Errorf("window %s", in.Window)
	}
	if p.Observations != 6 || p.Days != 3 || p.BestWindowDays != 3 || p.Devices != 1 || *p.Confidence != 0.5 || in.Confidence != 0.5 || in.Source != DefaultSource {
		t.Errorf("provenance %+v, indicator %+v", p, in)
	}
	if len(p.Footprints) != 1 || !strings.Contains(p.Footprints[0], "footprints.geojson:1 features[0]") {
		t.Errorf("footprints %v", p.Footprints)
	}
	if _, p, _ := r.find("c-beta", "device", devBeta); len(p.Footprints) != 1 || !strings.HasPrefix(p.Footprints[0], "circle of 250 m") {
		t.Errorf("footprints of beta %v", p.Footprints)
	}
	oc := r.sum.Observations
	wantCounts := ObservationCounts{Read: len(o), Inside: 6 + 2 + 3 + 3, OutsideFootprints: 10, AccuracyTooCoarse: 1 + 5,
		AccuracyCrossesEdge: 10 + 3}
	if oc != wantCounts {
		t.Errorf("counts %+v, want %+v", oc, wantCounts)
	}
	if r.sum.Residents != 2 || r.sum.PassersBy != 2 || r.sum.DeviceIndicators != 2 {
		t.Errorf("summary %+v", r.sum)
	}
	if len(r.sum.ByCompound) != 2 || r.sum.ByCompound[0].Residents != 1 || r.sum.ByCompound[0].PassersBy != 2 || r.sum.ByCompound[0].DevicesInside != 3 {
		t.Errorf("by compound %+v", r.sum.ByCompound)
	}
	if r.sum.Footprints != (FootprintCounts{Features: 1, Circles: 1, CompoundsWithout: 1}) {
		t.Errorf("footprints %+v", r.sum.Footprints)
	}

	t.Run("window boundary", func(t *testing.T) {
		for _, c := range []struct {
			last     int
			resident bool
		}{{29, true}, {30, false}} {
			w := newWorld(t, []obs{{devResident, 0, 1, inside, 5, ""}, {devResident, 10, 1, inside, 5, ""}, {devResident, c.last, 1, inside, 5, ""}})
			r := w.run(t)
			if got := len(r.indicators) == 1; got != c.resident {
				t.Errorf("days 0, 10 and %d: resident %v, want %v", c.last, got, c.resident)
			}
		}
	})
	t.Run("min days and window flags", func(t *testing.T) {
		w := newWorld(t, o)
		w.opts.MinDays, w.opts.Window = 2, 2*24*time.Hour
		r := w.run(t)
		if _, _, ok := r.find("c-alpha", "device", devVisitor); !ok {
			t.Errorf("two consecutive days with --min-days 2: %v", r.keys())
		}
		if _, _, ok := r.find("c-alpha", "device", devSpread); ok {
			t.Errorf("days 30 apart within a window of 2 days")
		}
	})
	t.Run("missing accuracy is assumed", func(t *testing.T) {
		var o []obs
		for d := range 3 {
			o = append(o, obs{devFence, d, 8, at(alpha, 90, 195), -1, ""})
		}
		w := newWorld(t, o)
		if r := w.run(t); len(r.indicators) != 1 || r.sum.Observations.AccuracyAssumed != 3 {
			t.Errorf("exact points 5 m inside the wall: %v %+v", r.keys(), r.sum.Observations)
		}
		w.opts.AssumeAccuracy = 10
		if r := w.run(t); len(r.indicators) != 0 || r.sum.Observations.AccuracyCrossesEdge != 3 {
			t.Errorf("assuming 10 m: %v %+v", r.keys(), r.sum.Observations)
		}
	})
}

const (
	devR1 = "aaid:00000000-0000-4000-8000-0000000000b1"
	devR2 = "aaid:00000000-0000-4000-8000-0000000000b2"
)

// addressWorld has two residents of c-alpha using the compound's Wi-Fi
// address and a carrier address that the town uses too.
func addressWorld() []obs {
	inside := at(alpha, 200, 80)
	town := at(alpha, 0, 3000)
	var o []obs
	for _, d := range []int{0, 1, 2, 3} {
		o = append(o,
			obs{devR1, d, 9, inside, 10, compoundWiFi},
			obs{devR2, d, 10, inside, 10, compoundWiFi},
			obs{devR1, d, 22, inside, 10, carrierNAT},
			obs{devR2, d, 11, inside, 10, "203.0.113.30"},
		)
	}
	o = append(o,
		obs{devR1, 2, 23, inside, 10, "203.0.113.40"},
		obs{devR1, 2, 23, inside, 10, "192.168.1.10"},
		obs{devR1, 2, 23, inside, 10, "100.64.1.1"},
		obs{devR1, 5, 12, town, 10, compoundWiFi},
		obs{devVisitor, 1, 12, inside, 10, "203.0.113.20"},
		obs{devVisitor, 1, 13, inside, 10, compoundWiFi},
	)
	for i := range 6 {
		o = append(o, obs{townDevice(i), i, 12, at(town, float64(i*60), 100), 20, carrierNAT})
	}
	for i := range 2 {
		o = append(o, obs{townDevice(10 + i), i, 12, town, 20, "203.0.113.30"})
	}
	return o
}

func TestAddresses(t *testing.T) {
	w := newWorld(t, addressWorld())
	r := w.run(t)
	want := []string{
		"c-alpha device " + devR1, "c-alpha device " + devR2,
		"c-alpha ip 203.0.113.10", "c-alpha ip 203.0.113.30", "c-alpha ip 203.0.113.40",
	}
	if !slices.Equal(r.keys(), want) {
		t.Fatalf("indicators %v, want %v", r.keys(), want)
	}
	in, p, _ := r.find("c-alpha", "ip", compoundWiFi)
	if !in.Window.First.Equal(day0.Add(9*time.Hour)) || !in.Window.Last.Equal(day0.Add(3*24*time.Hour+10*time.Hour)) {
		t.Errorf("Wi-Fi window %s: it must span the residents' observations inside", in.Window)
	}
	if p.Observations != 8 || p.Days != 4 || p.Devices != 2 || *p.Address != (AddressUse{InsideDevices: 3}) || in.Confidence != 0.73 {
		t.Errorf("Wi-Fi provenance %+v %+v, confidence %v", p, *p.Address, in.Confidence)
	}
	_, p, _ = r.find("c-alpha", "ip", "203.0.113.30")
	if *p.Address != (AddressUse{InsideDevices: 1, OutsideDevices: 2, OutsideShare: 0.67}) || *p.Confidence != 0.17 {
		t.Errorf("two devices outside are not many: %+v %v", *p.Address, *p.Confidence)
	}
	in, p, _ = r.find("c-alpha", "ip", "203.0.113.40")
	if !in.Window.First.Equal(in.Window.Last) || p.Observations != 1 {
		t.Errorf("one observation: window %s, %+v", in.Window, p)
	}
	if len(r.shared) != 1 || r.shared[0] != netip.MustParsePrefix(carrierNAT+"/32") {
		t.Fatalf("shared %v", r.shared)
	}
	wantLine := carrierNAT + " # 6 devices only outside, 1 inside (outside share 0.86); resident devices inside c-alpha (1)\n"
	if !strings.Contains(r.raw[SharedFile], wantLine) {
		t.Errorf("shared.txt:\n%s\nwant the line %q", r.raw[SharedFile], wantLine)
	}
	if oc := r.sum.Observations; oc.InsideWithIP != 21 || oc.InsideUnroutableIP != 2 {
		t.Errorf("counts %+v", oc)
	}
	if r.sum.IPIndicators != 3 || r.sum.SharedAddresses != 1 || r.sum.ByCompound[0].IPIndicators != 3 {
		t.Errorf("summary %+v", r.sum)
	}

	t.Run("min outside devices", func(t *testing.T) {
		w := newWorld(t, addressWorld())
		w.opts.MinOutsideDevices = 2
		r := w.run(t)
		if _, _, ok := r.find("c-alpha", "ip", "203.0.113.30"); ok || len(r.shared) != 2 {
			t.Errorf("with --min-outside-devices 2: %v, shared %v", r.keys(), r.shared)
		}
	})
	t.Run("max outside share", func(t *testing.T) {
		w := newWorld(t, addressWorld())
		w.opts.MaxOutsideShare = 0.9
		r := w.run(t)
		if _, _, ok := r.find("c-alpha", "ip", carrierNAT); !ok || len(r.shared) != 0 {
			t.Errorf("with --max-outside-share 0.9: %v, shared %v", r.keys(), r.shared)
		}
	})
}

// TestOrderDoesNotMatter splits the same observations into files, in
// several orders and with several workers: the registry must come out
// byte for byte the same.
func TestOrderDoesNotMatter(t *testing.T) {
	o := append(addressWorld(), obs{devBeta, 0, 1, beta, 5, "2001:db8::5"}, obs{devBeta, 1, 1, beta, 5, ""}, obs{devBeta, 2, 1, beta, 5, ""})
	var first *result
	var firstDir string
	for i, order := range []func([]obs) [][]obs{
		func(o []obs) [][]obs { return [][]obs{o} },
		func(o []obs) [][]obs {
			r := slices.Clone(o)
			slices.Reverse(r)
			return [][]obs{r}
		},
		func(o []obs) [][]obs {
			var a, b []obs
			for i, x := range o {
				if i%3 == 0 {
					a = append(a, x)
				} else {
					b = append(b, x)
				}
			}
			return [][]obs{b, a}
		},
	} {
		w := newWorld(t, order(o)...)
		w.opts.Workers = 1 + i
		r := w.run(t)
		if first == nil {
			first, firstDir = r, w.dir
			continue
		}
		for _, f := range []string{IndicatorsFile, SharedFile, ProvenanceFile} {
			// Provenance names the footprint files, which live in each
			// world's own folder.
			if strings.ReplaceAll(r.raw[f], w.dir, "DIR") != strings.ReplaceAll(first.raw[f], firstDir, "DIR") {
				t.Errorf("order %d: %s differs:\n%s\nfirst:\n%s", i, f, r.raw[f], first.raw[f])
			}
		}
	}
}

// TestPrevious re-runs on more data: windows of indicators derived again
// grow to hold both runs, those not derived again are carried over, and an
// address the new data shows to be shared is retired.
func TestPrevious(t *testing.T) {
	inside := at(alpha, 200, 80)
	town := at(alpha, 0, 3000)
	var early, late []obs
	for d := range 3 {
		early = append(early,
			obs{devR1, d, 9, inside, 10, compoundWiFi},
			obs{devR2, d, 9, inside, 10, carrierNAT},
		)
		late = append(late, obs{devR1, 40 + d, 9, inside, 10, compoundWiFi}, obs{devR1, 40 + d, 10, inside, 10, carrierNAT})
	}
	for i := range 5 {
		late = append(late, obs{townDevice(i), 40 + i, 12, town, 20, carrierNAT})
	}
	w1 := newWorld(t, early)
	r1 := w1.run(t)
	if want := []string{"c-alpha device " + devR1, "c-alpha device " + devR2, "c-alpha ip " + carrierNAT, "c-alpha ip " + compoundWiFi}; !slices.Equal(r1.keys(), want) {
		t.Fatalf("first run %v", r1.keys())
	}
	prev := filepath.Join(w1.dir, "previous.csv")
	os.WriteFile(prev, []byte(r1.raw[IndicatorsFile]+"c-beta,cidr,203.0.113.0/24,2023-01-01,,high,partner-test\n"), 0o600)

	w2 := newWorld(t, late)
	w2.opts.Previous = prev
	r2 := w2.run(t)
	want := []string{"c-alpha device " + devR1, "c-alpha device " + devR2, "c-alpha ip " + compoundWiFi, "c-beta cidr 203.0.113.0/24"}
	if !slices.Equal(r2.keys(), want) {
		t.Fatalf("second run %v, want %v", r2.keys(), want)
	}
	in, p, _ := r2.find("c-alpha", "device", devR1)
	if !in.Window.First.Equal(day0.Add(9*time.Hour)) || !in.Window.Last.Equal(day0.Add(42*24*time.Hour+10*time.Hour)) {
		t.Errorf("extended window %s", in.Window)
	}
	if p.Previous == nil || p.Previous.File != prev || p.Previous.Line != 2 || p.Previous.FirstSeen != "2024-03-01T09:00:00Z" || p.Carried || p.Observations != 6 {
		t.Errorf("provenance of the extended device %+v %+v", p, p.Previous)
	}
	in, p, _ = r2.find("c-alpha", "device", devR2)
	if !p.Carried || p.Observations != 0 || !in.Window.Last.Equal(day0.Add(2*24*time.Hour+9*time.Hour)) || in.Source != DefaultSource {
		t.Errorf("carried device %+v %+v", in, p)
	}
	if in, p, _ := r2.find("c-beta", "cidr", "203.0.113.0/24"); !p.Carried || in.Confidence != 0.85 || in.Source != "partner-test" || !in.Window.Last.IsZero() {
		t.Errorf("carried cidr %+v %+v", in, p)
	}
	if pc := r2.sum.Previous; pc == nil || *pc != (PreviousCounts{Read: 5, Extended: 2, Carried: 2, Retired: 1}) {
		t.Errorf("previous counts %+v", pc)
	}
	if len(r2.shared) != 1 || r2.shared[0].Addr() != netip.MustParseAddr(carrierNAT) {
		t.Errorf("shared %v", r2.shared)
	}

	t.Run("all the data at once gives the same windows", func(t *testing.T) {
		w3 := newWorld(t, early, late)
		r3 := w3.run(t)
		for _, k := range []string{devR1, compoundWiFi} {
			kind := "device"
			if !strings.Contains(k, ":") || strings.Count(k, ".") == 3 {
				kind = "ip"
			}
			a, _, _ := r2.find("c-alpha", kind, k)
			b, _, _ := r3.find("c-alpha", kind, k)
			if a.Window != b.Window {
				t.Errorf("%s: window %s from two runs, %s from one", k, a.Window, b.Window)
			}
		}
	})
	t.Run("the same inputs give the same bytes", func(t *testing.T) {
		r := w2.run(t)
		for _, f := range []string{IndicatorsFile, SharedFile, ProvenanceFile, SummaryFile} {
			if r.raw[f] != r2.raw[f] {
				t.Errorf("%s differs between two runs", f)
			}
		}
	})
}

// TestNothingLost feeds bad records in every input: each is in
// rejected.jsonl with its file, line and reason, and the counts add up.
func TestNothingLost(t *testing.T) {
	w := newWorld(t, addressWorld())
	good := string(obs{devR1, 7, 9, at(alpha, 200, 80), 10, ""}.line())
	bad := "{\"device\":\"" + devR1 + "\",\"at\":\"yesterday\",\"lat\":10.6,\"lon\":103.5}\n" +
		"\n" +
		good +
		"{\"device\":\"" + devR1 + "\",\"at\":\"2024-03-01T00:00:00Z\",\"lat\":0,\"lon\":0}\n" +
		"[1]\n" +
		"{\"device\":\"" + devR1 + "\",\"pad\":\"" + strings.Repeat("x", observe.MaxLine) + "\"}\n" +
		good
	badFile := filepath.Join(w.dir, "bad.jsonl")
	os.WriteFile(badFile, []byte(bad), 0o600)
	csvFile := filepath.Join(w.dir, "more.csv")
	os.WriteFile(csvFile, []byte("device,at,lat,lon,accuracy_m,ip\n"+devR1+",2024-03-09T09:00:00Z,10.6,103.5,5,\n"+devR1+",2024-03-09T09:00:00Z,10.6,103.5,5,not-an-ip\n"), 0o600)
	w.opts.Observations = append(w.opts.Observations, badFile, csvFile)
	os.WriteFile(w.opts.Compounds, []byte(compoundsCSV+"c-alpha,Duplicate,KH,,\n"), 0o600)
	fp := footprintsJSON()
	fp = strings.TrimSuffix(fp, "]}") + `,{"type":"Feature","properties":{"compound":"c-nobody"},"geometry":null}]}`
	os.WriteFile(w.opts.Footprints, []byte(fp), 0o600)
	r := w.run(t)

	type where struct {
		file string
		line float64
	}
	var got []where
	for _, e := range r.rejected {
		if e["reason"] == "" {
			t.Errorf("rejection without a reason: %v", e)
		}
		got = append(got, where{filepath.Base(e["file"].(string)), e["line"].(float64)})
	}
	want := []where{{"compounds.csv", 5}, {"footprints.geojson", 1}, {"bad.jsonl", 1}, {"bad.jsonl", 4}, {"bad.jsonl", 5}, {"bad.jsonl", 6}, {"more.csv", 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rejected at %v, want %v", got, want)
	}
	oc := r.sum.Observations
	if oc.Read != len(addressWorld())+6+2 || oc.Rejected != 5 {
		t.Errorf("read %d, rejected %d", oc.Read, oc.Rejected)
	}
	if sum := oc.Rejected + oc.Inside + oc.OutsideFootprints + oc.AccuracyTooCoarse + oc.AccuracyCrossesEdge; sum != oc.Read {
		t.Errorf("%d read, but %d accounted for: %+v", oc.Read, sum, oc)
	}
	if r.sum.Rejected != len(r.rejected) || r.sum.Rejected != 7 {
		t.Errorf("summary rejected %d, %d lines", r.sum.Rejected, len(r.rejected))
	}
	var inputs []string
	for _, in := range r.sum.Inputs {
		inputs = append(inputs, fmt.Sprintf("%s %s %d/%d", filepath.Base(in.File), in.Kind, in.Rejected, in.Records))
	}
	wantInputs := []string{"compounds.csv compounds 1/4", "footprints.geojson footprints 1/2", fmt.Sprintf("obs1.jsonl observations 0/%d", len(addressWorld())),
		"bad.jsonl observations 4/6", "more.csv observations 1/2"}
	if !slices.Equal(inputs, wantInputs) {
		t.Errorf("inputs %v, want %v", inputs, wantInputs)
	}

	t.Run("max rejected", func(t *testing.T) {
		w.opts.Out = filepath.Join(w.dir, "out2")
		w.opts.MaxRejected = 6
		if _, err := Run(context.Background(), w.opts); err == nil || !strings.Contains(err.Error(), "too many rejected") {
			t.Fatalf("error %v", err)
		}
		if ents, _ := os.ReadDir(w.opts.Out); len(ents) != 0 {
			t.Errorf("a failed run left %v", ents)
		}
	})
}

// TestFormats derives the same registry from JSON Lines, gzipped JSON Lines,
// CSV and Parquet.
func TestFormats(t *testing.T) {
	o := addressWorld()
	w := newWorld(t, o)
	want := w.run(t)
	var cs bytes.Buffer
	cs.WriteString("ip,accuracy_m,device,at,lat,lon\n")
	var pq bytes.Buffer
	pw := observe.NewParquetWriter(&pq)
	for _, x := range o {
		var ob observe.Observation
		if why := observe.ParseJSON(bytes.TrimSuffix(x.line(), []byte("\n")), &ob); why != "" {
			t.Fatal(why)
		}
		fmt.Fprintf(&cs, "%s,%v,%s,%s,%v,%v\n", x.ip, x.acc, ob.Device, ob.At.Format(time.RFC3339), ob.Lat, ob.Lon)
		pw.Write(&ob)
	}
	pw.Close()
	for _, f := range []struct {
		name string
		data []byte
	}{{"o.csv", cs.Bytes()}, {"o.parquet", pq.Bytes()}} {
		p := filepath.Join(w.dir, f.name)
		os.WriteFile(p, f.data, 0o600)
		w.opts.Observations = []string{p}
		r := w.run(t)
		for _, n := range []string{IndicatorsFile, SharedFile} {
			if r.raw[n] != want.raw[n] {
				t.Errorf("%s: %s differs from the one derived from JSON Lines:\n%s\nwant:\n%s", f.name, n, r.raw[n], want.raw[n])
			}
		}
	}
}

func TestFileChangedBetweenPasses(t *testing.T) {
	w := newWorld(t, addressWorld())
	s := &scanner{o: &w.opts, stamps: make([]fileStamp, 1)}
	name := w.opts.Observations[0]
	if err := s.stamp(0, name, passResidents); err != nil {
		t.Fatal(err)
	}
	if err := s.stamp(0, name, passAddresses); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
	f, _ := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n")
	f.Close()
	if err := s.stamp(0, name, passAddresses); err == nil || !strings.Contains(err.Error(), "changed between the two passes") {
		t.Fatalf("error %v", err)
	}
}

func TestOptionsChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func(*Options)
		err  string
	}{
		{"no compounds", func(o *Options) { o.Compounds = "" }, "no compounds file"},
		{"no observations", func(o *Options) { o.Observations = nil }, "no observation files"},
		{"stdin", func(o *Options) { o.Observations = []string{"-"} }, "standard input"},
		{"twice", func(o *Options) { o.Observations = []string{"a", "a"} }, "given twice"},
		{"radius", func(o *Options) { o.Radius = 0 }, "radius"},
		{"accuracy", func(o *Options) { o.MaxAccuracy = -1 }, "max accuracy"},
		{"window not whole days", func(o *Options) { o.Window = 36 * time.Hour }, "whole number of days"},
		{"window shorter than the days", func(o *Options) { o.MinDays = 10; o.Window = 5 * 24 * time.Hour }, "cannot hold 10 distinct days"},
		{"share", func(o *Options) { o.MaxOutsideShare = 1.5 }, "max outside share"},
	} {
		o := NewOptions()
		o.Compounds, o.Observations, o.Out = "c.csv", []string{"o.jsonl"}, t.TempDir()
		c.f(&o)
		if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
}

func TestState(t *testing.T) {
	var s daySet
	for _, d := range []int32{5, 1, 9, 5, 3, 40, 2} {
		s.add(d)
	}
	if fmt.Sprint(s) != "[1 2 3 5 9 40]" {
		t.Errorf("days %v", s)
	}
	for _, c := range []struct {
		w    int32
		best int
	}{{1, 1}, {2, 2}, {3, 3}, {5, 4}, {9, 5}, {39, 5}, {40, 6}} {
		if got := s.bestWindow(c.w); got != c.best {
			t.Errorf("bestWindow(%d) = %d, want %d", c.w, got, c.best)
		}
	}
	if dayOf(-1) != -1 || dayOf(0) != 0 || dayOf(nsPerDay-1) != 0 || dayOf(nsPerDay) != 1 {
		t.Error("dayOf")
	}
	for _, c := range []struct {
		inside int
		share  float64
		min    int
		want   int
	}{{1, 0.5, 1, 2}, {2, 0.5, 1, 3}, {10, 0.5, 3, 11}, {1, 0.5, 3, 3}, {3, 0.75, 1, 10}, {4, 0, 1, 1}, {5, 1, 1, -1}} {
		got := sharedThreshold(c.inside, c.share, c.min)
		if got != c.want {
			t.Errorf("sharedThreshold(%d, %g, %d) = %d, want %d", c.inside, c.share, c.min, got, c.want)
		}
		if got > 0 {
			a := addr{inside: make(idSet, c.inside), limit: got}
			for i := range got - 1 {
				a.addOutside(uint64(100 + i))
			}
			o := Options{MaxOutsideShare: c.share, MinOutsideDevices: c.min}
			if a.isShared(&o) {
				t.Errorf("%d outside of %d inside is shared at %g", got-1, c.inside, c.share)
			}
			a.addOutside(uint64(100 + got))
			if !a.isShared(&o) || a.capped {
				t.Errorf("%d outside of %d inside is not shared at %g", got, c.inside, c.share)
			}
			if a.addOutside(12345); !a.capped || a.outside.len() != got {
				t.Errorf("limit %d: capped %v with %d", got, a.capped, a.outside.len())
			}
			if false {
				t.Errorf("%d outside of %d inside is shared at %g", got-1, c.inside, c.share)
			}
		}
	}
}

// TestHashes checks the hash set against a map on random hashes, zero
// included.
func TestHashes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for trial := range 50 {
		var s hashes
		m := map[uint64]bool{}
		for range r.IntN(3000) {
			h := r.Uint64() % uint64(10+trial*100) // repeats
			if r.IntN(50) == 0 {
				h = 0
			}
			s.add(h)
			if h == 0 {
				h = 1
			}
			m[h] = true
			if !s.has(h) {
				t.Fatalf("%d added, not found", h)
			}
		}
		if s.len() != len(m) {
			t.Fatalf("%d hashes, want %d", s.len(), len(m))
		}
		for range 1000 {
			h := r.Uint64() % uint64(20+trial*200)
			if h == 0 {
				continue
			}
			if s.has(h) != m[h] {
				t.Fatalf("has(%d) = %v", h, s.has(h))
			}
		}
	}
}
