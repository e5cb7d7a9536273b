package derive

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestGovernance: observations at sensitive places and older than the
// retention limit are dropped before anything else and counted, and the
// summary says what was done.
func TestGovernance(t *testing.T) {
	clinic := pa(100, -100) // a clinic inside alpha, 30 m around this point
	var o []obs
	o = append(o, every(res[0], pa(-100, 50), lt(0, 0, 0), lt(10, 0, 0), time.Hour, 10, wifi)...)
	o = append(o, every(res[1], pa(-90, 40), lt(0, 0, 30), lt(10, 0, 30), time.Hour, 10, wifi)...)
	// Resident 2 is at the clinic all the time: none of it may count.
	o = append(o, every(res[2], clinic, lt(0, 0, 0), lt(10, 0, 0), time.Hour, 10, wifi)...)
	// A town device at the town's school with a carrier address.
	o = append(o, every(outside(1), town, lt(6, 8, 0), lt(6, 12, 0), time.Hour, 20, carrierOne)...)
	w := newWorld(t, o)
	w.opts.Exclude = w.write(t, "sensitive.geojson", `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Test Clinic","kind":"clinic","radius_m":30},"geometry":{"type":"Point","coordinates":[`+fmt.Sprintf("%.9f,%.9f", clinic[0], clinic[1])+`]}},
{"type":"Feature","properties":{"name":"Test School","kind":"school"},"geometry":{"type":"Polygon","coordinates":[`+squareRing(-50, 2950, 50, 3050)+`]}},
{"type":"Feature","properties":{"name":"bad"},"geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]}}]}`)
	w.opts.Retain, w.opts.AsOf = 15*day, lt(20, 0, 0)
	r := w.run(t)
	oc := r.sum.Observations
	// Days 0-4 are before the cutoff (day 5, 00:00): 5×24 fixes of each
	// resident; the clinic's fixes after it, and the school's.
	if oc.OlderThanRetention != 3*5*24 || oc.AtSensitivePlaces != 241-5*24+5 {
		t.Errorf("dropped %d old, %d at sensitive places", oc.OlderThanRetention, oc.AtSensitivePlaces)
	}
	if oc.Read != len(o) || oc.Read != oc.Rejected+oc.OlderThanRetention+oc.AtSensitivePlaces+oc.Inside+oc.OutsideFootprints+oc.AccuracyCrossesEdge+oc.AccuracyTooCoarse {
		t.Errorf("observations do not add up: %+v", oc)
	}
	if _, _, ok := r.find("c-alpha", "device", res[2]); ok {
		t.Errorf("the device at the clinic is an indicator: %v", r.keys())
	}
	in, p, ok := r.find("c-alpha", "device", res[0])
	if !ok || in.Window.First.Before(lt(5, 0, 0)) || p.Data.First != rfc3339(lt(5, 0, 0)) {
		t.Errorf("resident 0: %v %s %+v", ok, in.Window, p.Data)
	}
	g := r.sum.Governance
	if g.Exclude == nil || *g.Exclude != (Exclusions{File: w.opts.Exclude, Zones: 2, Dropped: oc.AtSensitivePlaces}) {
		t.Errorf("exclusions %+v", g.Exclude)
	}
	if g.Retention == nil || *g.Retention != (Retention{AsOf: rfc3339(lt(20, 0, 0)), RetainDays: 15, Cutoff: rfc3339(lt(5, 0, 0)), Dropped: oc.OlderThanRetention}) {
		t.Errorf("retention %+v", g.Retention)
	}
	if r.sum.Period == nil || r.sum.Period.First != rfc3339(lt(5, 0, 0)) {
		t.Errorf("period %+v", r.sum.Period)
	}
	if g.Outputs == "" || r.sum.Rejected != 1 {
		t.Errorf("governance %+v, rejected %d", g, r.sum.Rejected)
	}
}

// TestNoLocationInOutputs is output minimisation: whatever derive writes,
// no coordinate of any observation reaches an output (not even one inside
// a footprint, and certainly none outside), and no output holds a number
// precise enough to be one.
func TestNoLocationInOutputs(t *testing.T) {
	o := append(addressWorld(), dwellWorld()...)
	w := newWorld(t, o)
	bad := w.write(t, "bad.jsonl", `{"device":"`+res[0]+`","at":"2024-03-01T10:00:00Z","lat":10.612345,"lon":103.512345,"ip":"300.1.2.3"}`+"\n")
	w.opts.Observations = append(w.opts.Observations, bad)
	r := w.run(t)
	if len(r.indicators) < 10 || len(r.shared) == 0 || r.sum.Rejected != 1 {
		t.Fatalf("the world derived too little to test: %d indicators, %d shared, %d rejected", len(r.indicators), len(r.shared), r.sum.Rejected)
	}
	coords := map[string]bool{"10.612345": true, "103.512345": true}
	for _, x := range o {
		var v struct{ Lat, Lon json.Number }
		if err := json.Unmarshal(x.line(), &v); err != nil {
			t.Fatal(err)
		}
		coords[v.Lat.String()], coords[v.Lon.String()] = true, true
		// And the same to five decimals, about a meter.
		coords[fmt.Sprintf("%.5f", x.p[1])], coords[fmt.Sprintf("%.5f", x.p[0])] = true, true
	}
	precise := regexp.MustCompile(`[0-9]+\.[0-9]{4,}`)
	for name, data := range r.raw {
		if strings.Contains(name, "summary") {
			// The summary names the input files, whose folder is a test's.
			data = strings.ReplaceAll(data, w.dir, "DIR")
		}
		for c := range coords {
			if strings.Contains(data, c) {
				t.Errorf("%s holds the coordinate %s", name, c)
			}
		}
		if m := precise.FindString(data); m != "" {
			t.Errorf("%s holds the number %s, precise enough to be a coordinate", name, m)
		}
	}
}

// TestFootprintWarnings: a compound whose feature is rejected falls back
// to a circle, and a footprint far larger than a compound passes: both
// are said loudly.
func TestFootprintWarnings(t *testing.T) {
	w := newWorld(t, dwellWorld())
	bowTie := fmt.Sprintf(`[[%[1]s,%[2]s,%[3]s,%[4]s,%[1]s]]`, pt(-200, -200), pt(200, 200), pt(200, -200), pt(-200, 200))
	w.write(t, "footprints.geojson", `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"compound":"c-alpha"},"geometry":{"type":"Polygon","coordinates":`+bowTie+`}},
{"type":"Feature","properties":{"compound":"c-delta"},"geometry":{"type":"Polygon","coordinates":[`+squareRing(200, -1500, 3200, 1500)+`]}}]}`)
	r := w.run(t)
	fc := r.sum.Footprints.FallbackCircles
	if len(fc) != 1 || fc[0].Compound != "c-alpha" || fc[0].RadiusM != 250 || len(fc[0].Rejected) != 1 || !strings.Contains(fc[0].Rejected[0], "features[0]: polygon outer ring crosses itself") {
		t.Errorf("fallback circles %+v", fc)
	}
	lg := r.sum.Footprints.Large
	if len(lg) != 1 || lg[0].Compound != "c-delta" || lg[0].AreaKM2 < 8.9 || lg[0].AreaKM2 > 9.1 {
		t.Errorf("large footprints %+v", lg)
	}
	if len(r.sum.Warnings) != 2 || !strings.Contains(r.sum.Warnings[0], "c-alpha: every footprint feature was rejected") ||
		!strings.Contains(r.sum.Warnings[1], "c-delta: footprint") {
		t.Errorf("warnings %q", r.sum.Warnings)
	}
}

func pt(x, y float64) string {
	p := pa(x, y)
	return fmt.Sprintf("[%.9f,%.9f]", p[0], p[1])
}
