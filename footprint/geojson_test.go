package footprint

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/seams-dev/seams"
)

// Synthetic compounds at made-up places in the region.
var testCompounds = []seams.Compound{
	{ID: "c-test-a", Name: "Test Compound A", Country: "KH", Lat: 10.6, Lon: 103.5, HasLocation: true},
	{ID: "c-test-b", Name: "Test Compound B", Country: "MM", Lat: 16.6, Lon: 98.55, HasLocation: true},
	{ID: "c-test-c", Name: "Test Compound C", Country: "LA"}, // no location
	{ID: "42", Name: "Test Compound 42", Country: "LA", Lat: 20.3, Lon: 100.1, HasLocation: true},
}

type collector []*seams.RecordError

func (c *collector) reject(e *seams.RecordError) { *c = append(*c, e) }

// square returns the ring of a square of side meters centred at lon, lat,
// counter-clockwise, as GeoJSON text.
func square(lon, lat, side float64) string {
	dLat := side / 2 / metersPerDegree
	dLon := side / 2 / (metersPerDegree * math.Cos(lat*math.Pi/180))
	return ring(orb.Ring{{lon - dLon, lat - dLat}, {lon + dLon, lat - dLat}, {lon + dLon, lat + dLat}, {lon - dLon, lat + dLat}, {lon - dLon, lat - dLat}})
}

func ring(r orb.Ring) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%.9f,%.9f]", p[0], p[1])
	}
	b.WriteByte(']')
	return b.String()
}

func polygonFeature(compound string, rings ...string) string {
	return fmt.Sprintf(`{"type":"Feature","properties":{"compound":%q},"geometry":{"type":"Polygon","coordinates":[%s]}}`,
		compound, strings.Join(rings, ","))
}

func collection(features ...string) string {
	return `{"type":"FeatureCollection","features":[` + "\n" + strings.Join(features, ",\n") + "\n]}\n"
}

func read(t *testing.T, doc string) ([]Footprint, collector, error) {
	t.Helper()
	var rej collector
	fps, err := ReadGeoJSON(strings.NewReader(doc), "fp.geojson", testCompounds, rej.reject)
	return fps, rej, err
}

// TestReadGeoJSONFeature checks each rule on a single feature: accepted, or
// rejected with the reason.
func TestReadGeoJSONFeature(t *testing.T) {
	const lon, lat = 103.5, 10.6
	sq := square(lon, lat, 200)
	hole := square(lon, lat, 50)
	tests := []struct {
		name    string
		feature string
		reason  string // "" when accepted
	}{
		{"square polygon", polygonFeature("c-test-a", sq), ""},
		{"square with a hole", polygonFeature("c-test-a", sq, hole), ""},
		{"compound from a string id", `{"type":"Feature","id":"c-test-a","geometry":{"type":"Polygon","coordinates":[` + sq + `]}}`, ""},
		{"compound from an integer id", `{"type":"Feature","id":42,"geometry":{"type":"Polygon","coordinates":[` + square(100.1, 20.3, 200) + `]}}`, ""},
		{"properties.compound wins over id", `{"type":"Feature","id":"c-test-b","properties":{"compound":"c-test-a"},"geometry":{"type":"Polygon","coordinates":[` + sq + `]}}`, ""},
		{"multipolygon of two blocks", `{"type":"Feature","properties":{"compound":"c-test-a"},"geometry":{"type":"MultiPolygon","coordinates":[[` +
			square(lon, lat, 100) + `],[` + square(lon+0.01, lat, 100) + `]]}}`, ""},
		{"positions with altitude", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g,5],[%g,%g,5],[%g,%g,5],[%g,%g,5]]", lon, lat, lon+0.001, lat, lon, lat+0.001, lon, lat)), ""},
		{"repeated consecutive positions", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]", lon, lat, lon+0.001, lat, lon+0.001, lat, lon, lat+0.001, lon, lat)), ""},
		{"spike running back along an edge", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]",
			lon, lat, lon+0.002, lat, lon+0.003, lat, lon+0.002, lat, lon+0.002, lat+0.002, lon, lat)), ""},
		{"ring touching itself at a vertex", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]",
			lon, lat, lon+0.002, lat, lon+0.001, lat+0.001, lon+0.002, lat+0.002, lon, lat+0.002, lon+0.001, lat+0.001, lon, lat)), ""},

		{"bow tie", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]", lon, lat, lon+0.002, lat+0.002, lon+0.002, lat, lon, lat+0.002, lon, lat)),
			"polygon outer ring crosses itself: edges 0 and 2 cross"},
		{"ring not closed", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g]]", lon, lat, lon+0.001, lat, lon, lat+0.001, lon+0.0001, lat)),
			"polygon outer ring: is not closed"},
		{"ring of three positions", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g]]", lon, lat, lon+0.001, lat, lon, lat)),
			"polygon outer ring: has 3 positions (a ring needs at least 4"},
		{"ring of three distinct positions once deduplicated", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g]]", lon, lat, lon+0.001, lat, lon+0.001, lat, lon, lat)),
			"polygon outer ring: fewer than 3 distinct positions"},
		{"positions on one line", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g]]", lon, lat, lon+0.001, lat, lon+0.002, lat, lon, lat)),
			"polygon outer ring: encloses no area"},
		{"longitude out of range", polygonFeature("c-test-a", "[[190,10],[191,10],[191,11],[190,10]]"),
			"longitude 190 outside [-180,180]"},
		{"latitude and longitude swapped", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g]]", lat, lon, lat+0.001, lon, lat, lon+0.001, lat, lon)),
			"latitude 103.5 outside [-90,90]"},
		{"position of one number", polygonFeature("c-test-a", "[[103.5],[103.6,10],[103.6,10.1],[103.5,10]]"),
			"outer ring position 0 has 1 numbers"},
		{"hole outside the outer ring", polygonFeature("c-test-a", sq, square(lon+0.01, lat, 50)),
			"polygon hole 1 lies outside the outer ring"},
		{"hole crossing the outer ring", polygonFeature("c-test-a", sq, square(lon+0.0009, lat, 50)),
			"polygon hole 1 crosses outer ring"},
		{"hole inside a hole", polygonFeature("c-test-a", sq, square(lon, lat, 100), hole),
			"polygon hole 2 lies inside hole 1"},
		{"holes covering the polygon", polygonFeature("c-test-a", sq, sq),
			"encloses no area (its holes cover it)"},
		{"a district, not a compound", polygonFeature("c-test-a", square(lon, lat, 12000)),
			"covers 144.0 km² (more than 100 km²)"},
		{"spanning more than a degree", polygonFeature("c-test-a", fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g]]", lon, lat, lon+1.5, lat, lon+1.5, lat+0.0001, lon, lat)),
			"spans 1.5° by 0.0001° (more than 1°)"},
		{"near the pole", polygonFeature("c-test-a", square(lon, 85, 200)),
			"beyond ±80°"},
		{"far from the compound's location", polygonFeature("c-test-a", square(lon+1, lat, 200)),
			"lies 109 km from the location of c-test-a"},
		{"compound without location may lie anywhere", polygonFeature("c-test-c", square(0, 0, 200)), ""},
		{"unknown compound", polygonFeature("c-nobody", sq), `unknown compound "c-nobody"`},
		{"no compound named", `{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[` + sq + `]}}`, "names no compound"},
		{"compound not a string", `{"type":"Feature","properties":{"compound":7},"geometry":{"type":"Polygon","coordinates":[` + sq + `]}}`, "properties.compound is not a string"},
		{"compound empty", `{"type":"Feature","properties":{"compound":" "},"geometry":{"type":"Polygon","coordinates":[` + sq + `]}}`, "properties.compound is empty"},
		{"id neither string nor integer", `{"type":"Feature","id":1.5,"geometry":{"type":"Polygon","coordinates":[` + sq + `]}}`, "id 1.5 is neither a string nor an integer"},
		{"geometry null", `{"type":"Feature","properties":{"compound":"c-test-a"},"geometry":null}`, "geometry is null"},
		{"geometry a point", `{"type":"Feature","properties":{"compound":"c-test-a"},"geometry":{"type":"Point","coordinates":[103.5,10.6]}}`, "geometry is a Point (want a Polygon or MultiPolygon"},
		{"geometry without type", `{"type":"Feature","properties":{"compound":"c-test-a"},"geometry":{"coordinates":[]}}`, "geometry has no type"},
		{"polygon coordinates not rings", `{"type":"Feature","properties":{"compound":"c-test-a"},"geometry":{"type":"Polygon","coordinates":[1,2]}}`, "Polygon coordinates: want an array of rings"},
		{"polygon without rings", `{"type":"Feature","properties":{"compound":"c-test-a"},"geometry":{"type":"Polygon","coordinates":[]}}`, "polygon has no rings"},
		{"multipolygon member bad", `{"type":"Feature","properties":{"compound":"c-test-a"},"geometry":{"type":"MultiPolygon","coordinates":[[` + sq + `],[]]}}`, "polygon 1: polygon has no rings"},
		{"not a feature", `{"type":"Polygon","coordinates":[` + sq + `]}`, `type is "Polygon", want "Feature"`},
		{"feature not an object", `[1,2]`, "feature is a JSON array"},
		{"properties not an object", `{"type":"Feature","properties":[1],"geometry":null}`, `"properties" is a JSON array`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fps, rej, err := read(t, collection(tt.feature))
			if err != nil {
				t.Fatalf("whole file failed: %v", err)
			}
			if len(fps)+len(rej) != 1 {
				t.Fatalf("%d footprints and %d rejected, want one of them", len(fps), len(rej))
			}
			if tt.reason == "" {
				if len(rej) > 0 {
					t.Fatalf("rejected: %v", rej[0])
				}
				fp := fps[0]
				if fp.File != "fp.geojson" || fp.Line != 2 || fp.Feature != 0 || fp.AreaM2 <= 0 {
					t.Fatalf("footprint %+v", fp)
				}
				return
			}
			if len(rej) == 0 {
				t.Fatalf("accepted, want %q", tt.reason)
			}
			e := rej[0]
			if !strings.Contains(e.Reason, tt.reason) {
				t.Fatalf("reason %q, want it to contain %q", e.Reason, tt.reason)
			}
			if e.File != "fp.geojson" || e.Line != 2 || e.Item != "features[0]" || e.Raw != tt.feature {
				t.Fatalf("rejected record %+v", *e)
			}
		})
	}
}

// TestReadGeoJSONFile checks what makes a whole file unusable, and where
// the error says it is.
func TestReadGeoJSONFile(t *testing.T) {
	sq := square(103.5, 10.6, 200)
	tests := []struct {
		name, doc, err string
	}{
		{"not JSON", "{\n\"type\": FeatureCollection}", "fp.geojson:2: not valid JSON"},
		{"cut short", `{"type":"FeatureCollection","features":[` + polygonFeature("c-test-a", sq), "not valid JSON"},
		{"an array", "[]", "fp.geojson:1: not a GeoJSON FeatureCollection (want a JSON object)"},
		{"a feature", polygonFeature("c-test-a", sq), `fp.geojson:1: not a GeoJSON FeatureCollection (type is "Feature")`},
		{"no features", `{"type":"FeatureCollection"}`, `FeatureCollection has no "features"`},
		{"features not an array", `{"type":"FeatureCollection","features":{}}`, `"features" is not an array`},
		{"type not a string", `{"type":1,"features":[]}`, `"type" is not a string`},
		{"projected crs", "{\"type\":\"FeatureCollection\",\n\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::32648\"}},\"features\":[]}",
			`fp.geojson:2: crs "urn:ogc:def:crs:EPSG::32648": footprints must be WGS 84`},
		{"more JSON after", `{"type":"FeatureCollection","features":[]} {}`, "more JSON after the FeatureCollection"},
		{"empty", "", "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := read(t, tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
		})
	}
	t.Run("crs84 and a byte order mark are fine", func(t *testing.T) {
		doc := "\uFEFF" + `{"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"type":"FeatureCollection","features":[` + polygonFeature("c-test-a", sq) + "]}"
		fps, rej, err := read(t, doc)
		if err != nil || len(fps) != 1 || len(rej) != 0 {
			t.Fatalf("%d footprints, %d rejected, %v", len(fps), len(rej), err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		big := `{"type":"FeatureCollection","features":[],"pad":"` + strings.Repeat("x", MaxFileSize) + `"}`
		_, _, err := read(t, big)
		if err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
			t.Fatalf("error %v", err)
		}
	})
}

// TestReadGeoJSONLines checks that every feature, good or bad, is reported
// at the line it starts on, in order.
func TestReadGeoJSONLines(t *testing.T) {
	sq := square(103.5, 10.6, 200)
	doc := "{\n  \"type\": \"FeatureCollection\",\n  \"features\": [\n" +
		"    " + polygonFeature("c-test-a", sq) + ",\n" +
		"    " + polygonFeature("c-nobody", sq) + ",\n\n" +
		"    {\"type\": \"Feature\",\n     \"properties\": {\"compound\": \"c-test-b\"},\n     \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [" + square(98.55, 16.6, 300) + "]}}\n" +
		"  ]\n}\n"
	fps, rej, err := read(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(fps) != 2 || fps[0].Line != 4 || fps[0].Feature != 0 || fps[1].Line != 7 || fps[1].Feature != 2 || fps[1].Compound != "c-test-b" {
		t.Fatalf("footprints at %v", fps)
	}
	if len(rej) != 1 || rej[0].Line != 5 || rej[0].Item != "features[1]" {
		t.Fatalf("rejected %v", rej)
	}
	if got := fps[1].Source(); got != "fp.geojson:7 features[2]" {
		t.Fatalf("source %q", got)
	}
}

// TestGeometry checks areas and distances against orb's geodesic
// functions: the local plane must agree with them to well under a meter at
// compound scale.
func TestGeometry(t *testing.T) {
	for _, c := range []struct{ lon, lat, side float64 }{{103.5, 10.6, 200}, {98.55, 16.6, 1000}, {100.1, 20.3, 3000}} {
		fps, rej, err := read(t, collection(polygonFeature("c-test-c", square(c.lon, c.lat, c.side))))
		if err != nil || len(rej) > 0 {
			t.Fatal(err, rej)
		}
		f := &fps[0]
		if want := c.side * c.side; math.Abs(f.AreaM2-want) > want*0.005 {
			t.Errorf("area of a %g m square: %g m²", c.side, f.AreaM2)
		}
		if g := geo.Area(f.Shape); math.Abs(f.AreaM2-g) > g*0.01 {
			t.Errorf("area %g m², geo.Area %g m²", f.AreaM2, g)
		}
		center := orb.Point{c.lon, c.lat}
		for _, d := range []float64{0, 1, 10, 100, 1000} {
			// A point d meters east of the east edge, on the centre line.
			p := geo.PointAtBearingAndDistance(center, 90, c.side/2+d)
			got := f.DistanceM(p[0], p[1])
			if math.Abs(got-d) > 0.5+d*0.002 {
				t.Errorf("%g m square at %g,%g: point %g m outside is %g m away", c.side, c.lat, c.lon, d, got)
			}
		}
		if d := f.DistanceM(c.lon, c.lat); d != 0 {
			t.Errorf("centre is %g m away", d)
		}
	}
}

func TestCircle(t *testing.T) {
	c := testCompounds[0]
	f, err := Circle(c, 250, "compounds.csv")
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Pi * 250 * 250; math.Abs(f.AreaM2-want) > want*0.005 {
		t.Errorf("area %g, want about %g", f.AreaM2, want)
	}
	center := orb.Point{c.Lon, c.Lat}
	for _, b := range []float64{0, 37, 90, 200, 333} {
		in := geo.PointAtBearingAndDistance(center, b, 249)
		out := geo.PointAtBearingAndDistance(center, b, 251)
		if d := f.DistanceM(in[0], in[1]); d != 0 {
			t.Errorf("bearing %g: 249 m from the centre is %g m outside", b, d)
		}
		if d := f.DistanceM(out[0], out[1]); d < 0.5 || d > 1.5 {
			t.Errorf("bearing %g: 251 m from the centre is %g m outside, want about 1", b, d)
		}
	}
	if got := f.Source(); got != "circle of 250 m around the location in compounds.csv" {
		t.Errorf("source %q", got)
	}
	for _, r := range []float64{0, -1, math.NaN(), MaxRadius + 1} {
		if _, err := Circle(c, r, "compounds.csv"); err == nil {
			t.Errorf("radius %g accepted", r)
		}
	}
	if _, err := Circle(testCompounds[2], 250, "compounds.csv"); err == nil {
		t.Error("circle around a compound without location")
	}
	if _, err := Circle(seams.Compound{ID: "c-polar", Lat: 89, Lon: 0, HasLocation: true}, 250, "compounds.csv"); err == nil {
		t.Error("circle near the pole")
	}
}

func TestWithCircles(t *testing.T) {
	fps, rej, err := read(t, collection(polygonFeature("c-test-a", square(103.5, 10.6, 200))))
	if err != nil || len(rej) > 0 {
		t.Fatal(err, rej)
	}
	polar := seams.Compound{ID: "c-polar", Lat: 89, Lon: 0, HasLocation: true}
	var crej collector
	all, none, err := WithCircles(fps, append(testCompounds[:4:4], polar), 300, "compounds.csv", crej.reject)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range all {
		got = append(got, fmt.Sprintf("%s circle=%v", f.Compound, f.Circle))
	}
	want := []string{"c-test-a circle=false", "c-test-b circle=true", "42 circle=true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("footprints %v, want %v", got, want)
	}
	if fmt.Sprint(none) != "[c-test-c c-polar]" {
		t.Errorf("without footprint %v", none)
	}
	if len(crej) != 1 || crej[0].Item != "compound c-polar" || !strings.Contains(crej[0].Reason, "beyond ±80°") {
		t.Errorf("rejected %v", crej)
	}
	if _, _, err := WithCircles(fps, testCompounds, 0, "compounds.csv", nil); err == nil {
		t.Error("radius 0 accepted")
	}
}
