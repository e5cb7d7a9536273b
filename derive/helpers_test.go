package derive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/observe"
	"github.com/seams-dev/seams/registry"
)

// The hand-made world of these tests, in a plane of meters around compound
// c-alpha (x east, y north): c-alpha is the square [-200,200]²; c-delta is
// the square [200,600]×[-200,200], sharing alpha's east wall; c-beta,
// 12 km away, is known only by its location and gets a circle of 250 m;
// c-gamma has neither. The town lies 3 km north. All names and devices are
// synthetic; addresses are documentation addresses.
const (
	alphaLon, alphaLat = 103.5, 10.6
	metersPerDeg       = orb.EarthRadius * math.Pi / 180
)

var kx = metersPerDeg * math.Cos(alphaLat*math.Pi/180)

// pa returns the point x meters east and y meters north of alpha's centre.
func pa(x, y float64) orb.Point { return orb.Point{alphaLon + x/kx, alphaLat + y/metersPerDeg} }

var (
	alpha = pa(0, 0)
	delta = pa(400, 0)
	beta  = orb.Point{103.6, 10.7}
	town  = pa(0, 3000)
)

const compoundsCSV = `id,name,country,lat,lon
c-alpha,Test Compound Alpha,KH,10.6,103.5
c-beta,Test Compound Beta,KH,10.7,103.6
c-gamma,Test Compound Gamma,LA,,
c-delta,Test Compound Delta,KH,10.6,103.50366
`

// square returns a GeoJSON ring of the rectangle [x0,x1]×[y0,y1] of the
// plane, counter-clockwise.
func squareRing(x0, y0, x1, y1 float64) string {
	var r []string
	for _, c := range [][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}} {
		p := pa(c[0], c[1])
		r = append(r, fmt.Sprintf("[%.9f,%.9f]", p[0], p[1]))
	}
	return "[" + strings.Join(r, ",") + "]"
}

func footprintsJSON() string {
	return `{"type":"FeatureCollection","features":[` +
		`{"type":"Feature","properties":{"compound":"c-alpha"},"geometry":{"type":"Polygon","coordinates":[` + squareRing(-200, -200, 200, 200) + `]}},` + "\n" +
		`{"type":"Feature","properties":{"compound":"c-delta"},"geometry":{"type":"Polygon","coordinates":[` + squareRing(200, -200, 600, 200) + `]}}]}`
}

// day0 is the first day of the tests; times are given in alpha's local
// solar time (UTC+6:54), so that a test's days and nights are alpha's.
var day0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

const alphaOffset = 24840 * time.Second // 103.5° × 240 s

// lt returns the instant of day d, h:m local time at alpha.
func lt(d, h, m int) time.Time {
	return day0.Add(time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute - alphaOffset)
}

// obs is an observation of the tests: device, time, place, accuracy
// (negative: none) and address.
type obs struct {
	dev string
	t   time.Time
	p   orb.Point
	acc float64
	ip  string
}

func (o obs) observation() observe.Observation {
	d, err := seams.ParseDeviceID(o.dev)
	if err != nil {
		panic(err)
	}
	ob := observe.Observation{Device: d, At: o.t, Lat: o.p[1], Lon: o.p[0]}
	if o.acc >= 0 {
		ob.Accuracy, ob.HasAccuracy = o.acc, true
	}
	if o.ip != "" {
		ob.IP = netip.MustParseAddr(o.ip)
	}
	return ob
}

func (o obs) line() []byte {
	ob := o.observation()
	return observe.AppendJSON(nil, &ob)
}

// every returns fixes of dev at p from from to to (inclusive) every step.
func every(dev string, p orb.Point, from, to time.Time, step time.Duration, acc float64, ip string) []obs {
	var out []obs
	for t := from; !t.After(to); t = t.Add(step) {
		out = append(out, obs{dev, t, p, acc, ip})
	}
	return out
}

// daily repeats f for each of the days.
func daily(days []int, f func(d int) []obs) []obs {
	var out []obs
	for _, d := range days {
		out = append(out, f(d)...)
	}
	return out
}

func days(a, b int) []int {
	var out []int
	for d := a; d < b; d++ {
		out = append(out, d)
	}
	return out
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

func (w *world) write(t *testing.T, name, data string) string {
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
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
func readResult(t testing.TB, out, compoundsFile string, s *Summary) *result {
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

// find returns the first indicator of compound, kind and value and its
// provenance, or false.
func (r *result) find(compound, kind, value string) (seams.Indicator, Provenance, bool) {
	for i, in := range r.indicators {
		if in.Compound == compound && in.Kind.String() == kind && in.Value == value {
			return in, r.prov[i], true
		}
	}
	return seams.Indicator{}, Provenance{}, false
}

// all returns every indicator of compound, kind and value (an address may
// have several windows).
func (r *result) all(compound, kind, value string) []seams.Indicator {
	var out []seams.Indicator
	for _, in := range r.indicators {
		if in.Compound == compound && in.Kind.String() == kind && in.Value == value {
			out = append(out, in)
		}
	}
	return out
}

func (r *result) keys() []string {
	var out []string
	for _, in := range r.indicators {
		out = append(out, in.Compound+" "+in.Kind.String()+" "+in.Value)
	}
	return out
}

func (r *result) isShared(value string) bool {
	for _, p := range r.shared {
		if p.Addr().String() == value || p.String() == value {
			return true
		}
	}
	return false
}

// dev numbers a synthetic test device.
func dev(n int) string { return fmt.Sprintf("aaid:00000000-0000-4000-8000-%012d", n) }

type orbPoint = orb.Point

// at returns the point meters from c on bearing.
func at(c orb.Point, bearing, meters float64) orb.Point {
	return geo.PointAtBearingAndDistance(c, bearing, meters)
}

func seamsDevice(s string) seams.DeviceID {
	d, err := seams.ParseDeviceID(s)
	if err != nil {
		panic(err)
	}
	return d
}
