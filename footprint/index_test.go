package footprint

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/seams-dev/seams"
)

// TestLocate checks each case of Locate on a square of 200 m with a hole of
// 50 m in the middle, and a circle of 100 m overlapping its east side.
func TestLocate(t *testing.T) {
	const lon, lat = 103.5, 10.6
	center := orb.Point{lon, lat}
	at := func(bearing, meters float64) orb.Point { return geo.PointAtBearingAndDistance(center, bearing, meters) }
	fps, rej, err := read(t, collection(polygonFeature("c-test-a", square(lon, lat, 200), square(lon, lat, 50))))
	if err != nil || len(rej) > 0 {
		t.Fatal(err, rej)
	}
	east := at(90, 150)
	circ, err := Circle(seams.Compound{ID: "c-test-b", Lat: east[1], Lon: east[0], HasLocation: true}, 100, "compounds.csv")
	if err != nil {
		t.Fatal(err)
	}
	x, err := NewIndex(append(fps, circ), testCompounds, 100)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    orb.Point
		acc  float64
		want Where
		in   []int32
	}{
		{"between hole and wall, exact", at(0, 60), 0, Inside, []int32{0}},
		{"between hole and wall, circle fits", at(0, 60), 30, Inside, []int32{0}},
		{"circle reaches the wall", at(0, 60), 45, OnEdge, nil},
		{"circle reaches into the hole", at(0, 40), 20, OnEdge, nil},
		{"in the hole", at(0, 0), 0, Outside, nil},
		{"in the hole, circle reaching the ring", at(0, 0), 30, OnEdge, nil},
		{"just outside the wall", at(0, 103), 0, Outside, nil},
		{"just outside the wall, circle crossing it", at(0, 103), 10, OnEdge, nil},
		{"far outside", at(270, 1000), 100, Outside, nil},
		{"in both footprints", at(90, 80), 5, Inside, []int32{0, 1}},
		{"in the circle only", at(90, 180), 5, Inside, []int32{1}},
		{"in the circle, crossing into the square's wall", at(90, 90), 20, Inside, []int32{1}},
		{"accuracy beyond the reach", at(0, 60), 101, TooCoarse, nil},
		{"accuracy negative", at(0, 60), -1, TooCoarse, nil},
		{"accuracy NaN", at(0, 60), math.NaN(), TooCoarse, nil},
		{"not a place", orb.Point{math.NaN(), 10}, 0, Outside, nil},
		{"latitude beyond 90", orb.Point{103.5, 91}, 0, Outside, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, where := x.Locate(tt.p[0], tt.p[1], tt.acc, nil)
			if where != tt.want || !slices.Equal(in, tt.in) {
				t.Fatalf("Locate = %v %s, want %v %s", in, where, tt.in, tt.want)
			}
		})
	}
	t.Run("appends after what is given", func(t *testing.T) {
		in, where := x.Locate(at(90, 80)[0], at(90, 80)[1], 0, []int32{7, 0})
		if where != Inside || !slices.Equal(in, []int32{7, 0, 0, 1}) {
			t.Fatalf("Locate = %v %s", in, where)
		}
	})
}

// locateSlow is the obvious twin of Locate: every footprint, no grid.
func locateSlow(x *Index, lon, lat, acc float64) ([]int32, Where) {
	if !(acc >= 0 && acc <= x.reach) {
		return nil, TooCoarse
	}
	var in []int32
	where := Outside
	for i := range x.fps {
		f := &x.fps[i]
		d, inside := f.distanceTo(f.project(orb.Point{lon, lat}))
		switch {
		case inside && d >= acc:
			if !slices.Contains(in, x.comp[i]) {
				in = append(in, x.comp[i])
			}
		case inside || d < acc:
			where = OnEdge
		}
	}
	if len(in) > 0 {
		return in, Inside
	}
	return in, where
}

// TestLocateAgainstSlow compares the index with a loop over every footprint
// on random footprints (circles and irregular polygons, crowded so that
// they overlap and share cells) and random points around them.
func TestLocateAgainstSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	compounds := make([]seams.Compound, 40)
	for i := range compounds {
		compounds[i] = seams.Compound{ID: fmt.Sprintf("c-%02d", i), Lat: 16.6 + r.Float64()*0.05, Lon: 98.5 + r.Float64()*0.05, HasLocation: true}
	}
	for trial := range 8 {
		var fps []Footprint
		for i, c := range compounds {
			if r.IntN(2) == 0 {
				f, err := Circle(c, 30+r.Float64()*600, "compounds.csv")
				if err != nil {
					t.Fatal(err)
				}
				fps = append(fps, f)
				continue
			}
			// A star-shaped polygon of 3 to 30 vertices.
			n := 3 + r.IntN(28)
			ring := make(orb.Ring, 0, n+1)
			for k := range n {
				p := geo.PointAtBearingAndDistance(orb.Point{c.Lon, c.Lat}, 360*float64(k)/float64(n), 50+r.Float64()*700)
				ring = append(ring, p)
			}
			ring = append(ring, ring[0])
			f := Footprint{Compound: compounds[i].ID}
			if why := f.prepare(orb.MultiPolygon{{ring}}); why != "" {
				t.Fatalf("star polygon: %s", why)
			}
			fps = append(fps, f)
		}
		reach := []float64{0, 10, 100, 1000}[trial%4]
		x, err := NewIndex(fps, compounds, reach)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[Where]int{}
		for range 6000 {
			lon, lat := 98.49+r.Float64()*0.07, 16.59+r.Float64()*0.07
			acc := r.Float64() * reach * 1.1
			if r.IntN(10) == 0 {
				acc = 0
			}
			got, gw := x.Locate(lon, lat, acc, nil)
			want, ww := locateSlow(x, lon, lat, acc)
			slices.Sort(got)
			slices.Sort(want)
			if gw != ww || !slices.Equal(got, want) {
				t.Fatalf("trial %d: Locate(%v, %v, %v) = %v %s, slow %v %s", trial, lon, lat, acc, got, gw, want, ww)
			}
			counts[gw]++
		}
		if counts[Inside] == 0 || counts[Outside] == 0 || reach > 0 && counts[OnEdge] == 0 {
			t.Fatalf("trial %d: cases not all met: %v", trial, counts)
		}
	}
}

func TestNewIndexErrors(t *testing.T) {
	f, err := Circle(testCompounds[0], 100, "compounds.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, reach := range []float64{-1, math.NaN(), MaxReach + 1} {
		if _, err := NewIndex([]Footprint{f}, testCompounds, reach); err == nil {
			t.Errorf("reach %g accepted", reach)
		}
	}
	if _, err := NewIndex([]Footprint{f}, testCompounds[1:], 10); err == nil {
		t.Error("footprint of an unknown compound accepted")
	}
	if _, err := NewIndex([]Footprint{{Compound: "c-test-a"}}, testCompounds, 10); err == nil {
		t.Error("footprint not made by the package accepted")
	}
}

func BenchmarkLocate(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var compounds []seams.Compound
	var fps []Footprint
	for i := range 200 {
		c := seams.Compound{ID: fmt.Sprintf("c-%03d", i), Lat: 10 + r.Float64()*10, Lon: 98 + r.Float64()*6, HasLocation: true}
		compounds = append(compounds, c)
		f, _ := Circle(c, 250, "compounds.csv")
		fps = append(fps, f)
	}
	x, err := NewIndex(fps, compounds, 100)
	if err != nil {
		b.Fatal(err)
	}
	for _, near := range []bool{false, true} {
		b.Run(fmt.Sprintf("near=%v", near), func(b *testing.B) {
			pts := make([][3]float64, 4096)
			for i := range pts {
				if near {
					c := compounds[r.IntN(len(compounds))]
					pts[i] = [3]float64{c.Lon + (r.Float64()-0.5)*0.006, c.Lat + (r.Float64()-0.5)*0.006, r.Float64() * 50}
				} else {
					pts[i] = [3]float64{98 + r.Float64()*6, 10 + r.Float64()*10, r.Float64() * 50}
				}
			}
			var in []int32
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p := pts[i&4095]
				in, _ = x.Locate(p[0], p[1], p[2], in[:0])
				i++
			}
		})
	}
}
