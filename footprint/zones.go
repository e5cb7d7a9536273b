package footprint

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/seams-dev/seams"
)

// A zone is a sensitive place (a place of worship, a clinic, a school, a
// shelter) where location data must not be used at all. Zones are read
// from a GeoJSON FeatureCollection like footprints, with these
// differences: a feature names no compound; its geometry may also be a
// Point, which stands for a circle of properties.radius_m meters (default
// DefaultZoneRadius); and properties.name and properties.kind, when given,
// are kept for the summary. Each zone is a Footprint whose Compound is its
// name (or "features[i]"), so that an Index can place points against zones.

// DefaultZoneRadius is the radius, in meters, of a zone given as a Point
// without radius_m: a building and its grounds.
const DefaultZoneRadius = 100

// Zone is a sensitive place read by ReadZones.
type Zone struct {
	Footprint
	Name string // properties.name, or "features[i]"
	Kind string // properties.kind, or ""
}

// ReadZones reads sensitive places from a GeoJSON FeatureCollection. Every
// feature is either returned as a Zone or rejected with its line, index and
// reason; a file that cannot be read as a FeatureCollection is the error
// returned, as for ReadGeoJSON.
func ReadZones(r io.Reader, file string, reject Reject) ([]Zone, error) {
	var zones []Zone
	i := 0
	fps, err := readCollection(r, file, reject, func(raw []byte) (Footprint, string) {
		z, why := readZone(raw)
		if why == "" {
			if z.Name == "" {
				z.Name = "features[" + strconv.Itoa(i) + "]"
			}
			zones = append(zones, z)
		}
		i++
		return z.Footprint, why
	})
	if err != nil {
		return nil, err
	}
	// readCollection fills in where each footprint came from.
	for k := range zones {
		zones[k].Footprint = fps[k]
		zones[k].Compound = zones[k].Name
	}
	return zones, nil
}

// readZone turns one feature into a zone, or says why it cannot be.
func readZone(raw []byte) (Zone, string) {
	var doc featureDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Zone{}, "not a GeoJSON feature: " + err.Error()
	}
	if doc.Type != "Feature" {
		return Zone{}, fmt.Sprintf("type is %q, want \"Feature\"", doc.Type)
	}
	var z Zone
	for _, p := range []struct {
		key string
		to  *string
	}{{"name", &z.Name}, {"kind", &z.Kind}} {
		if raw, ok := doc.Properties[p.key]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, p.to); err != nil {
				return Zone{}, fmt.Sprintf("properties.%s is not a string", p.key)
			}
			*p.to = strings.TrimSpace(*p.to)
		}
	}
	if doc.Geometry == nil {
		return Zone{}, "geometry is null (want a Polygon, MultiPolygon or Point)"
	}
	var mp orb.MultiPolygon
	if doc.Geometry.Type == "Point" {
		var pos []float64
		if err := json.Unmarshal(doc.Geometry.Coordinates, &pos); err != nil || len(pos) < 2 {
			return Zone{}, "Point coordinates: want [longitude, latitude]"
		}
		pt := orb.Point{pos[0], pos[1]}
		if why := checkPositions(orb.Ring{pt, pt, pt, pt}); why != "" {
			return Zone{}, "Point " + strings.TrimPrefix(why, "position 0")
		}
		radius := float64(DefaultZoneRadius)
		if raw, ok := doc.Properties["radius_m"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &radius); err != nil || CheckRadius(radius) != nil {
				return Zone{}, fmt.Sprintf("properties.radius_m %s: want meters, more than 0 and at most %d", cut(raw, 32), MaxRadius)
			}
		}
		if pos[1] > MaxLatitude || pos[1] < -MaxLatitude {
			return Zone{}, fmt.Sprintf("latitude %g beyond ±%g°", pos[1], float64(MaxLatitude))
		}
		mp = orb.MultiPolygon{{circleRing(orb.Point{pos[0], pos[1]}, radius)}}
		z.Circle, z.Radius = true, radius
	} else {
		var why string
		if mp, why = polygonsOf(&doc); why != "" {
			return Zone{}, strings.Replace(why, "(want a Polygon or MultiPolygon)", "(want a Polygon, MultiPolygon or Point)", 1)
		}
	}
	if why := z.prepare(mp); why != "" {
		return Zone{}, why
	}
	return z, ""
}

// circleRing returns the ring of CircleVertices vertices on the circle of
// radius meters around c.
func circleRing(c orb.Point, radius float64) orb.Ring {
	ring := make(orb.Ring, CircleVertices+1)
	for i := range CircleVertices {
		ring[i] = geo.PointAtBearingAndDistance(c, 360*float64(i)/CircleVertices, radius)
	}
	ring[CircleVertices] = ring[0]
	return ring
}

// ZoneIndex places points against zones.
type ZoneIndex struct {
	x     *Index
	zones []Zone
}

// NewZoneIndex indexes zones for points whose accuracy is at most reach
// meters.
func NewZoneIndex(zones []Zone, reach float64) (*ZoneIndex, error) {
	fps := make([]Footprint, len(zones))
	names := make([]seams.Compound, len(zones))
	for i := range zones {
		fps[i] = zones[i].Footprint
		// Each zone is its own "compound", numbered, so that two zones of
		// one name stay two.
		fps[i].Compound = strconv.Itoa(i)
		names[i] = seams.Compound{ID: strconv.Itoa(i)}
	}
	x, err := NewIndex(fps, names, reach)
	if err != nil {
		return nil, err
	}
	return &ZoneIndex{x: x, zones: zones}, nil
}

// Touches reports whether a point, with its circle of accuracy (at most
// the index's reach; a larger one is taken at the reach), touches a zone:
// the circle lies inside one or crosses its edge. It returns the first
// such zone's index.
func (z *ZoneIndex) Touches(lon, lat, acc float64) (int, bool) {
	acc = min(max(acc, 0), z.x.reach)
	in, where := z.x.Locate(lon, lat, acc, nil)
	switch where {
	case Inside:
		return int(in[0]), true
	case OnEdge:
		return -1, true
	}
	return -1, false
}

// Zones returns the indexed zones.
func (z *ZoneIndex) Zones() []Zone { return z.zones }
