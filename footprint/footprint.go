// Package footprint holds the ground that scam compounds occupy: polygons read
// from GeoJSON or circles drawn around a compound's location, validated, and
// an index that tells for a located point which footprints hold it.
//
// Coordinates are WGS 84 longitude and latitude, as GeoJSON (RFC 7946) gives
// them. Each footprint also keeps a copy of its shape in a local plane in
// meters (an equirectangular projection about its own centre, accurate to a
// few meters over the tens of kilometres a footprint may span), so that
// distances to its edge can be compared with a location's accuracy in meters.
// Point in polygon and distance to an edge are github.com/paulmach/orb's.
package footprint

import (
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Footprint is the ground one compound occupies, or a part of it: a compound
// may have several features (separate blocks), each its own Footprint.
type Footprint struct {
	Compound string           // the compound's id
	Shape    orb.MultiPolygon // longitude/latitude, validated
	// Where it came from: the GeoJSON file, the line its feature starts
	// on and its index in "features"; or, for a circle, the compounds file
	// (Feature is -1).
	File    string
	Line    int
	Feature int
	Circle  bool    // a circle around the compound's location
	Radius  float64 // the circle's radius in meters; 0 for a polygon
	AreaM2  float64 // area in square meters
	Center  orb.Point
	plane   orb.MultiPolygon // Shape in meters about Center
	bound   orb.Bound        // of plane
	kx, ky  float64          // meters per degree of longitude and latitude at Center
	// A disk inside the footprint, in the plane: a point whose circle of
	// accuracy lies inside this disk is inside without testing edges,
	// which is most of the points inside (see Index.Locate).
	core  orb.Point
	coreR float64
}

// Source describes where the footprint came from, for provenance:
// "footprints.geojson:12 features[3]", or "circle of 250 m around the
// location in compounds.csv" for a compound known only by its location.
func (f *Footprint) Source() string {
	if f.Circle {
		return fmt.Sprintf("circle of %g m around the location in %s", f.Radius, f.File)
	}
	return fmt.Sprintf("%s:%d features[%d]", f.File, f.Line, f.Feature)
}

// Limits of what a footprint may be. A compound is a walled site: a few
// hectares to a few square kilometres (the largest, special economic zones
// such as the Golden Triangle SEZ, cover some tens). A shape beyond these
// limits is a mistake (a district traced instead of a compound, a projected
// coordinate system, a stray vertex) that would make every resident of a
// town look like a compound's.
const (
	MaxAreaM2 = 100e6 // 100 km²
	// LargeAreaM2 is the area above which a valid footprint is flagged
	// (used, and said loudly): walled compounds cover a few hectares to a
	// couple of km²; 5 km² is a town quarter, or one of the few special
	// economic zones, and worth a look before its devices are trusted.
	LargeAreaM2    = 5e6
	MaxSpanDegrees = 1.0   // width or height of the bounding box
	MaxPositions   = 10000 // positions per feature, all rings together
	MaxHoles       = 100   // holes per polygon (courtyards, ponds)
	// MaxLatitude bounds the latitude of every position: the local plane
	// in which distances are measured degenerates towards the poles, and
	// no compound lies beyond it.
	MaxLatitude = 80.0
	// MaxOffsetM is how far a footprint may lie from the location the
	// compounds file gives for its compound (those locations are
	// approximate, to about a kilometre; a footprint 50 km away belongs to
	// another compound or has its coordinates swapped or shifted).
	MaxOffsetM = 50000
)

// metersPerDegree is the length of one degree of latitude, with the Earth
// radius orb uses for its geodesic functions.
const metersPerDegree = orb.EarthRadius * math.Pi / 180

// prepare validates a shape and fills the derived fields of f. The reason
// is empty when the shape is valid; otherwise it names the first problem.
func (f *Footprint) prepare(mp orb.MultiPolygon) string {
	if len(mp) == 0 {
		return "geometry has no polygons"
	}
	n := 0
	for pi, p := range mp {
		if len(p) == 0 {
			return fmt.Sprintf("%s has no rings", polyName(len(mp), pi))
		}
		if len(p)-1 > MaxHoles {
			return fmt.Sprintf("%s has %d holes (more than %d)", polyName(len(mp), pi), len(p)-1, MaxHoles)
		}
		for ri, r := range p {
			n += len(r)
			if n > MaxPositions {
				return fmt.Sprintf("feature has more than %d positions: simplify it (a compound's outline needs a few dozen)", MaxPositions)
			}
			if why := checkPositions(r); why != "" {
				return fmt.Sprintf("%s %s: %s", polyName(len(mp), pi), ringName(ri), why)
			}
		}
	}
	// Repeated consecutive positions (a double click when tracing) add
	// nothing and would make zero-length edges; drop them.
	clean := make(orb.MultiPolygon, len(mp))
	for pi, p := range mp {
		clean[pi] = make(orb.Polygon, len(p))
		for ri, r := range p {
			clean[pi][ri] = dedupRing(r)
			if len(clean[pi][ri]) < 4 {
				return fmt.Sprintf("%s %s: fewer than 3 distinct positions", polyName(len(mp), pi), ringName(ri))
			}
		}
	}
	b := clean.Bound()
	if lat := max(b.Max[1], -b.Min[1]); lat > MaxLatitude {
		return fmt.Sprintf("reaches latitude ±%g, beyond ±%g° where no compound lies (positions are [longitude, latitude]; swapped?)",
			lat, float64(MaxLatitude))
	}
	if w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]; w > MaxSpanDegrees || h > MaxSpanDegrees {
		return fmt.Sprintf("spans %.3g° by %.3g° (more than %g°): a compound, not a region (or the ring crosses the antimeridian)",
			w, h, float64(MaxSpanDegrees))
	}
	f.Shape = clean
	f.Center = b.Center()
	f.kx = metersPerDegree * math.Cos(f.Center[1]*math.Pi/180)
	f.ky = metersPerDegree
	f.plane = make(orb.MultiPolygon, len(clean))
	for pi, p := range clean {
		f.plane[pi] = make(orb.Polygon, len(p))
		for ri, r := range p {
			pr := make(orb.Ring, len(r))
			for i, pt := range r {
				pr[i] = f.project(pt)
			}
			f.plane[pi][ri] = pr
		}
	}
	for pi, p := range f.plane {
		// Crossings first: a bow tie's signed area can be zero, and
		// "crosses itself" is the better reason.
		if why := checkCrossings(p); why != "" {
			return polyName(len(mp), pi) + " " + why
		}
		for ri, r := range p {
			if planar.Area(r) == 0 {
				return fmt.Sprintf("%s %s: encloses no area (its positions are on one line)", polyName(len(mp), pi), ringName(ri))
			}
		}
		for ri := 1; ri < len(p); ri++ {
			for _, pt := range p[ri] {
				if !planar.RingContains(p[0], pt) {
					return fmt.Sprintf("%s %s lies outside the outer ring (holes must be inside it)", polyName(len(mp), pi), ringName(ri))
				}
			}
		}
		if why := checkNestedHoles(p); why != "" {
			return polyName(len(mp), pi) + " " + why
		}
	}
	f.AreaM2 = 0
	for _, p := range f.plane {
		a := math.Abs(planar.Area(p[0]))
		for _, h := range p[1:] {
			a -= math.Abs(planar.Area(h))
		}
		f.AreaM2 += a
	}
	if f.AreaM2 <= 0 {
		return "encloses no area (its holes cover it)"
	}
	if f.AreaM2 > MaxAreaM2 {
		return fmt.Sprintf("covers %.1f km² (more than %g km²): a compound, not a district", f.AreaM2/1e6, MaxAreaM2/1e6)
	}
	f.bound = f.plane.Bound()
	f.findCore()
	return ""
}

// findCore picks the disk for the fast path of Locate: around the centre of
// the bounding box or the centroid of a polygon, whichever lies inside and
// farther from every edge; none (coreR 0) if neither lies inside.
func (f *Footprint) findCore() {
	cands := []orb.Point{f.bound.Center()}
	for _, p := range f.plane {
		c, _ := planar.CentroidArea(p)
		cands = append(cands, c)
	}
	for _, c := range cands {
		if !planar.MultiPolygonContains(f.plane, c) {
			continue
		}
		if d := planar.DistanceFrom(f.plane, c); d > f.coreR {
			f.core, f.coreR = c, d
		}
	}
	// A margin for rounding: the fast path must never call inside what
	// the exact test would not.
	f.coreR = max(0, f.coreR*(1-1e-9)-1e-6)
}

func polyName(n, i int) string {
	if n == 1 {
		return "polygon"
	}
	return fmt.Sprintf("polygon %d", i)
}

func ringName(i int) string {
	if i == 0 {
		return "outer ring"
	}
	return fmt.Sprintf("hole %d", i)
}

// checkPositions checks a ring's positions: at least four, every one a
// finite longitude in [-180,180] and latitude in [-90,90], and the ring
// closed (its last position equal to its first), as RFC 7946 requires.
func checkPositions(r orb.Ring) string {
	for i, p := range r {
		switch {
		case math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0):
			return fmt.Sprintf("position %d is not a finite number", i)
		case p[0] < -180 || p[0] > 180:
			return fmt.Sprintf("position %d: longitude %g outside [-180,180] (positions are [longitude, latitude])", i, p[0])
		case p[1] < -90 || p[1] > 90:
			return fmt.Sprintf("position %d: latitude %g outside [-90,90] (positions are [longitude, latitude]; swapped?)", i, p[1])
		}
	}
	if len(r) < 4 {
		return fmt.Sprintf("has %d positions (a ring needs at least 4, the last equal to the first)", len(r))
	}
	if r[0] != r[len(r)-1] {
		return fmt.Sprintf("is not closed: first position [%g,%g] differs from last [%g,%g]",
			r[0][0], r[0][1], r[len(r)-1][0], r[len(r)-1][1])
	}
	return ""
}

// checkNestedHoles reports a hole lying inside another hole. Holes do not
// cross (checkCrossings), so one lies inside another exactly when one of
// its positions lies strictly inside the other; such a shape would make
// the area and the inside ambiguous.
func checkNestedHoles(p orb.Polygon) string {
	for i := 1; i < len(p); i++ {
		bi := p[i].Bound()
		for j := 1; j < len(p); j++ {
			if i == j || !bi.Intersects(p[j].Bound()) {
				continue
			}
			for _, pt := range p[j] {
				if planar.RingContains(p[i], pt) && planar.DistanceFrom(p[i], pt) > 0 {
					return fmt.Sprintf("%s lies inside %s", ringName(j), ringName(i))
				}
			}
		}
	}
	return ""
}

// dedupRing drops positions equal to the one before them.
func dedupRing(r orb.Ring) orb.Ring {
	out := make(orb.Ring, 0, len(r))
	for i, p := range r {
		if i > 0 && p == r[i-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// project maps a longitude/latitude to meters east and north of Center.
func (f *Footprint) project(p orb.Point) orb.Point {
	return orb.Point{(p[0] - f.Center[0]) * f.kx, (p[1] - f.Center[1]) * f.ky}
}

// segment is an edge of a ring, for the crossing check.
type segment struct {
	a, b       orb.Point
	ring, edge int
	minX, maxX float64
}

// checkCrossings reports a proper crossing between two edges of a polygon's
// rings: two edges whose interiors cross at a single point, as in a bow tie,
// or a hole's edge crossing the outer ring. That is what makes inside and
// outside ambiguous. What traced outlines commonly have is tolerated: a ring
// touching itself at a vertex, an edge running back along another (a spike),
// edges of a hole touching the outer ring; none of them changes which
// points are inside.
//
// Edges are swept in order of their smallest x, so a typical outline costs
// little more than sorting its edges.
func checkCrossings(p orb.Polygon) string {
	var segs []segment
	for ri, r := range p {
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			segs = append(segs, segment{a: a, b: b, ring: ri, edge: i, minX: min(a[0], b[0]), maxX: max(a[0], b[0])})
		}
	}
	slices.SortFunc(segs, func(s, t segment) int {
		switch {
		case s.minX < t.minX:
			return -1
		case s.minX > t.minX:
			return 1
		}
		return 0
	})
	edges := func(ri int) int { return len(p[ri]) - 1 }
	for i := range segs {
		s := &segs[i]
		for j := i + 1; j < len(segs) && segs[j].minX <= s.maxX; j++ {
			t := &segs[j]
			if s.ring == t.ring {
				d := s.edge - t.edge
				if n := edges(s.ring); d == 1 || d == -1 || d == n-1 || d == 1-n {
					continue // adjacent edges share a vertex
				}
			}
			if x, ok := properCrossing(s.a, s.b, t.a, t.b); ok {
				what := fmt.Sprintf("%s crosses itself", ringName(s.ring))
				if s.ring != t.ring {
					what = fmt.Sprintf("%s crosses %s", ringName(max(s.ring, t.ring)), ringName(min(s.ring, t.ring)))
				}
				// + 0 turns a rounded -0.0 into 0.0.
				return fmt.Sprintf("%s: edges %d and %d cross %.1f m east, %.1f m north of the centre",
					what, min(s.edge, t.edge), max(s.edge, t.edge), math.Round(x[0]*10)/10+0, math.Round(x[1]*10)/10+0)
			}
		}
	}
	return ""
}

// properCrossing reports whether segments ab and cd cross at one point
// inside both (not at an end of either), and where.
func properCrossing(a, b, c, d orb.Point) (orb.Point, bool) {
	if max(c[1], d[1]) < min(a[1], b[1]) || max(a[1], b[1]) < min(c[1], d[1]) {
		return orb.Point{}, false
	}
	o1, o2 := orient(a, b, c), orient(a, b, d)
	o3, o4 := orient(c, d, a), orient(c, d, b)
	if !(o1*o2 < 0 && o3*o4 < 0) {
		return orb.Point{}, false
	}
	t := o3 / (o3 - o4)
	return orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}, true
}

// orient is twice the signed area of triangle abc: positive when c lies to
// the left of ab, negative to the right, zero on the line.
func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

// distanceTo returns how far the point p (in f's plane) lies from f's
// nearest edge, in meters, and whether it is inside f. A point on an edge is
// inside.
func (f *Footprint) distanceTo(p orb.Point) (float64, bool) {
	return planar.DistanceFrom(f.plane, p), planar.MultiPolygonContains(f.plane, p)
}

// DistanceM returns the distance in meters from the point at lon, lat to
// the footprint: zero inside, otherwise to the nearest edge.
func (f *Footprint) DistanceM(lon, lat float64) float64 {
	d, in := f.distanceTo(f.project(orb.Point{lon, lat}))
	if in {
		return 0
	}
	return d
}
