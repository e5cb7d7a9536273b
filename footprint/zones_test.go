package footprint

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/seams-dev/seams"
)

// TestReadZones: sensitive places as polygons or points with a radius;
// every feature kept or rejected with its reason.
func TestReadZones(t *testing.T) {
	const lon, lat = 103.5, 10.6
	doc := collection(
		`{"type":"Feature","properties":{"name":"Test Clinic","kind":"clinic"},"geometry":{"type":"Polygon","coordinates":[`+square(lon, lat, 80)+`]}}`,
		`{"type":"Feature","properties":{"kind":"place of worship","radius_m":50},"geometry":{"type":"Point","coordinates":[103.51,10.6]}}`,
		`{"type":"Feature","properties":{"name":"Test School"},"geometry":{"type":"Point","coordinates":[103.52,10.6]}}`,
		`{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[103.5,10.6],[103.6,10.6]]}}`,
		`{"type":"Feature","properties":{"radius_m":-3},"geometry":{"type":"Point","coordinates":[103.5,10.6]}}`,
		`{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[10.6]}}`,
		`{"type":"Feature","properties":{"name":7},"geometry":{"type":"Point","coordinates":[103.5,10.6]}}`,
		`{"type":"Feature","properties":{},"geometry":null}`,
	)
	var rej collector
	zones, err := ReadZones(strings.NewReader(doc), "zones.geojson", rej.reject)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, z := range zones {
		got = append(got, z.Name+"/"+z.Kind)
	}
	if want := "Test Clinic/clinic features[1]/place of worship Test School/"; strings.Join(got, " ") != want {
		t.Errorf("zones %v, want %s", got, want)
	}
	if zones[1].Line != 3 || zones[1].Feature != 1 || !zones[1].Circle || zones[1].Radius != 50 || zones[2].Radius != DefaultZoneRadius {
		t.Errorf("zone 1 %+v, zone 2 radius %g", zones[1].Footprint, zones[2].Radius)
	}
	var reasons []string
	for _, e := range rej {
		reasons = append(reasons, e.Item+": "+e.Reason)
	}
	for i, want := range []string{"features[3]: geometry is a LineString (want a Polygon, MultiPolygon or Point)",
		"features[4]: properties.radius_m -3", "features[5]: Point coordinates", "features[6]: properties.name is not a string",
		"features[7]: geometry is null"} {
		if i >= len(reasons) || !strings.HasPrefix(reasons[i], want) {
			t.Errorf("rejection %d: %v, want %q", i, reasons, want)
		}
	}

	x, err := NewZoneIndex(zones, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		p        orb.Point
		acc      float64
		touches  bool
		zoneName string
	}{
		{"inside the clinic", orb.Point{lon, lat}, 5, true, "Test Clinic"},
		{"its circle crosses the clinic's wall", orb.Point{lon + 50/(metersPerDegree*0.98), lat}, 20, true, ""},
		{"beside the clinic", orb.Point{lon + 100/(metersPerDegree*0.98), lat}, 20, false, ""},
		{"a coarse fix taken at the reach", orb.Point{lon + 120/(metersPerDegree*0.98), lat}, 3000, true, ""},
		{"at the temple", orb.Point{103.51, 10.6}, 0, true, "features[1]"},
		{"60 m from the temple", orb.Point{103.51, 10.6 + 60/metersPerDegree}, 5, false, ""},
		{"60 m from the school", orb.Point{103.52, 10.6 + 60/metersPerDegree}, 5, true, "Test School"},
	} {
		i, touches := x.Touches(c.p[0], c.p[1], c.acc)
		if touches != c.touches || c.zoneName != "" && (i < 0 || x.Zones()[i].Name != c.zoneName) {
			t.Errorf("%s: touches %v (zone %d), want %v %s", c.name, touches, i, c.touches, c.zoneName)
		}
	}
}

// FuzzReadZones reads arbitrary bytes as a zones file: it must never
// panic, account for every feature, and give zones that index.
func FuzzReadZones(f *testing.F) {
	f.Add([]byte(collection(`{"type":"Feature","properties":{"name":"Test Clinic","radius_m":40},"geometry":{"type":"Point","coordinates":[103.5,10.6]}}`,
		`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[`+square(103.5, 10.6, 80)+`]}}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rej collector
		zones, err := ReadZones(bytes.NewReader(data), "z.geojson", rej.reject)
		if err != nil {
			var re *seams.RecordError
			if !errors.As(err, &re) || re.File != "z.geojson" || re.Line < 1 || re.Reason == "" {
				t.Fatalf("error %v does not name the file and a line", err)
			}
			return
		}
		var doc struct{ Features []json.RawMessage }
		if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\uFEFF")), &doc); err != nil {
			t.Fatalf("read a file encoding/json refuses: %v", err)
		}
		if len(zones)+len(rej) != len(doc.Features) {
			t.Fatalf("%d zones + %d rejected of %d features", len(zones), len(rej), len(doc.Features))
		}
		for _, z := range zones {
			if z.Name == "" || z.AreaM2 <= 0 || z.Feature < 0 || z.Feature >= len(doc.Features) {
				t.Fatalf("bad zone %+v", z)
			}
		}
		x, err := NewZoneIndex(zones, 100)
		if err != nil {
			t.Fatalf("zones cannot be indexed: %v", err)
		}
		for _, z := range zones {
			// A circle's centre is inside it (a polygon's bounding-box
			// centre may not be: an L shape).
			if _, ok := x.Touches(z.Center[0], z.Center[1], 1); !ok && z.Circle {
				t.Fatalf("the centre of circle zone %s does not touch it", z.Name)
			}
		}
	})
}
