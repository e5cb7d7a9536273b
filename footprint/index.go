package footprint

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"

	"github.com/seams-dev/seams"
)

// Index finds, for a located point, the footprints that hold it. It is a
// grid of cells of CellDegrees on a side; each cell lists the footprints
// whose bounding box, widened by the largest accuracy the index serves,
// touches it. A lookup costs one map access and, near a compound, the exact
// tests against its footprints: it grows with the observations, not with
// observations × compounds.
type Index struct {
	fps   []Footprint
	comp  []int32 // compound index of each footprint
	cells map[uint64][]int32
	reach float64
}

// CellDegrees is the side of a grid cell: about 1.1 km, the size of a
// compound, so that a cell lists one footprint or a few.
const CellDegrees = 0.01

// MaxReach is the largest accuracy an index serves, in meters.
const MaxReach = 10000

// maxCells bounds the cells one footprint may cover: 1° by 1° (the largest
// span allowed) widened by MaxReach on every side.
const maxCells = 125 * 125

// NewIndex indexes footprints for points whose accuracy is at most reach
// meters. compounds are the run's compounds; every footprint must name one.
// Lookups report compounds by their index in compounds.
func NewIndex(fps []Footprint, compounds []seams.Compound, reach float64) (*Index, error) {
	if !(reach >= 0 && reach <= MaxReach) {
		return nil, fmt.Errorf("footprint index: reach %g m (want 0 to %d)", reach, MaxReach)
	}
	byID := make(map[string]int32, len(compounds))
	for i, c := range compounds {
		byID[c.ID] = int32(i)
	}
	x := &Index{fps: fps, comp: make([]int32, len(fps)), cells: make(map[uint64][]int32), reach: reach}
	for i := range fps {
		f := &fps[i]
		if f.plane == nil {
			return nil, fmt.Errorf("footprint index: footprint %d of %q was not read by this package", i, f.Compound)
		}
		ci, ok := byID[f.Compound]
		if !ok {
			return nil, fmt.Errorf("footprint index: %s names unknown compound %q", f.Source(), f.Compound)
		}
		x.comp[i] = ci
		b := f.Shape.Bound()
		// One meter more than the reach, so that rounding at the edge of a
		// cell never loses a footprint. Distances are measured in the
		// footprint's own plane, where reach meters are reach/kx degrees
		// of longitude everywhere, so this widening is exact there.
		dLat, dLon := (reach+1)/f.ky, (reach+1)/f.kx
		lat0, lon0 := cellOf(b.Min[1]-dLat), cellOf(b.Min[0]-dLon)
		lat1, lon1 := cellOf(b.Max[1]+dLat), cellOf(b.Max[0]+dLon)
		if (lat1-lat0+1)*(lon1-lon0+1) > maxCells {
			return nil, fmt.Errorf("footprint index: %s is too large to index", f.Source())
		}
		for a := lat0; a <= lat1; a++ {
			for o := lon0; o <= lon1; o++ {
				k := a<<32 | o
				x.cells[k] = append(x.cells[k], int32(i))
			}
		}
	}
	return x, nil
}

// cellOf numbers the cell row or column of a latitude or longitude; the
// offset keeps numbers positive. Callers pass finite degrees within a few
// degrees of [-180, 180].
func cellOf(deg float64) uint64 { return uint64(math.Floor((deg + 360) / CellDegrees)) }

// Footprints returns the indexed footprints.
func (x *Index) Footprints() []Footprint { return x.fps }

// Compound returns the index, in the compounds given to NewIndex, of the
// compound footprint i belongs to.
func (x *Index) Compound(i int) int { return int(x.comp[i]) }

// Reach returns the largest accuracy, in meters, the index serves.
func (x *Index) Reach() float64 { return x.reach }

// Where is where a located point lies, with its circle of accuracy, with
// respect to the footprints.
type Where uint8

// The places a point can be.
const (
	// Outside: the whole circle lies outside every footprint.
	Outside Where = iota
	// Inside: the whole circle lies inside at least one footprint.
	Inside
	// OnEdge: the circle crosses the edge of a footprint and lies wholly
	// inside none; the device may have been on either side of a wall.
	OnEdge
	// TooCoarse: the accuracy is larger than the index's reach.
	TooCoarse
)

// String returns the name used in summaries.
func (w Where) String() string {
	switch w {
	case Outside:
		return "outside"
	case Inside:
		return "inside"
	case OnEdge:
		return "on_edge"
	case TooCoarse:
		return "too_coarse"
	}
	return "unknown"
}

// Locate places a point given by its longitude, latitude and accuracy
// radius in meters (0 for an exact point). It appends to in the compound of
// every footprint that holds the whole circle of accuracy, once each, in
// the order of the footprints, and says where the point lies. A circle
// inside one footprint and crossing the edge of another is Inside (the
// first). A point on an edge with accuracy 0 is inside. A point that is not
// a valid location (NaN, latitude beyond ±90) is Outside; an accuracy that
// is negative, NaN, or more than Reach is TooCoarse.
func (x *Index) Locate(lon, lat, acc float64, in []int32) ([]int32, Where) {
	if !(acc >= 0 && acc <= x.reach) {
		return in, TooCoarse
	}
	if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		return in, Outside
	}
	cands := x.cells[cellOf(lat)<<32|cellOf(lon)]
	where := Outside
	n := len(in)
	for _, fi := range cands {
		f := &x.fps[fi]
		p := f.project(orb.Point{lon, lat})
		if p[0] < f.bound.Min[0]-acc || p[0] > f.bound.Max[0]+acc || p[1] < f.bound.Min[1]-acc || p[1] > f.bound.Max[1]+acc {
			continue
		}
		if f.coreR > 0 {
			if dx, dy := p[0]-f.core[0], p[1]-f.core[1]; math.Sqrt(dx*dx+dy*dy)+acc < f.coreR {
				in = appendOnce(in, n, x.comp[fi])
				continue
			}
		}
		d, inside := f.distanceTo(p)
		switch {
		case inside && d >= acc:
			in = appendOnce(in, n, x.comp[fi])
		case inside || d < acc:
			where = OnEdge
		}
	}
	if len(in) > n {
		return in, Inside
	}
	return in, where
}

// appendOnce appends c to in unless in[n:] holds it already.
func appendOnce(in []int32, n int, c int32) []int32 {
	for _, have := range in[n:] {
		if have == c {
			return in
		}
	}
	return append(in, c)
}
