package footprint

import (
	"fmt"

	"github.com/paulmach/orb"

	"github.com/seams-dev/seams"
)

// CircleVertices is the number of vertices of the polygon that stands for
// a circle. Its edges lie at least 99.88% of the radius from the centre
// (cos(π/64)): 30 cm short at 250 m.
const CircleVertices = 64

// MaxRadius is the largest circle drawn around a compound's location, in
// meters: a compound, not a town.
const MaxRadius = 5000

// Circle returns the footprint of a compound known only by its location: a
// polygon of CircleVertices vertices on the circle of radius meters around
// it, geodesic distances as orb's geo package computes them. file is the
// compounds file the location was read from, for provenance.
func Circle(c seams.Compound, radius float64, file string) (Footprint, error) {
	if !c.HasLocation {
		return Footprint{}, fmt.Errorf("compound %s has no location", c.ID)
	}
	if err := CheckRadius(radius); err != nil {
		return Footprint{}, err
	}
	ring := circleRing(orb.Point{c.Lon, c.Lat}, radius)
	fp := Footprint{Compound: c.ID, Circle: true, Radius: radius, File: file, Feature: -1}
	if why := fp.prepare(orb.MultiPolygon{{ring}}); why != "" {
		return Footprint{}, fmt.Errorf("circle around %s: %s", c.ID, why)
	}
	return fp, nil
}

// CheckRadius checks a circle radius: more than 0 and at most MaxRadius.
func CheckRadius(radius float64) error {
	if !(radius > 0 && radius <= MaxRadius) {
		return fmt.Errorf("radius %g m: want more than 0 and at most %d", radius, MaxRadius)
	}
	return nil
}

// WithCircles returns fps followed by a circle of radius meters for every
// compound that has a location and no footprint in fps, in the order of
// compounds, and the ids of the compounds left without any footprint (no
// feature, and no location or one where no circle can be drawn). A location
// where no circle can be drawn (beyond MaxLatitude) goes to reject, as item
// "compound ID" of compoundsFile, where the locations come from.
func WithCircles(fps []Footprint, compounds []seams.Compound, radius float64, compoundsFile string, reject Reject) ([]Footprint, []string, error) {
	if err := CheckRadius(radius); err != nil {
		return nil, nil, err
	}
	if reject == nil {
		reject = func(*seams.RecordError) {}
	}
	has := make(map[string]bool, len(fps))
	for i := range fps {
		has[fps[i].Compound] = true
	}
	out := append([]Footprint(nil), fps...)
	var none []string
	for _, c := range compounds {
		switch {
		case has[c.ID]:
		case c.HasLocation:
			fp, err := Circle(c, radius, compoundsFile)
			if err != nil {
				reject(&seams.RecordError{File: compoundsFile, Item: "compound " + c.ID,
					Reason: "no footprint: " + err.Error()})
				none = append(none, c.ID)
				continue
			}
			out = append(out, fp)
		default:
			none = append(none, c.ID)
		}
	}
	return out, none, nil
}
