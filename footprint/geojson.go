package footprint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/seams-dev/seams"
)

// Reject receives every feature that could not be used.
type Reject func(*seams.RecordError)

// MaxFileSize is the largest footprints file read. The file is read whole
// (footprints of hundreds of compounds take a few megabytes); a larger one is
// refused rather than risk memory on a file that is not what it seems.
const MaxFileSize = 64 << 20

// ReadGeoJSON reads footprints from a GeoJSON FeatureCollection. Every
// feature is either returned as a Footprint or rejected with the line it
// starts on, its index ("features[3]") and the reason. compounds are the
// compounds of the run: a feature must name one of them, in
// properties.compound or else in its id; when the compound has a location,
// the footprint must lie within MaxOffsetM of it.
//
// A file that is not JSON, not a FeatureCollection, or whose "crs" names
// something other than WGS 84 longitude/latitude cannot be used at all: that
// is the error returned, with the line.
func ReadGeoJSON(r io.Reader, file string, compounds []seams.Compound, reject Reject) ([]Footprint, error) {
	byID := make(map[string]int, len(compounds))
	for i, c := range compounds {
		byID[c.ID] = i
	}
	return readCollection(r, file, reject, func(raw []byte) (Footprint, string) { return readFeature(raw, compounds, byID) })
}

// readCollection reads a GeoJSON FeatureCollection, turning each feature
// into a Footprint with feature or rejecting it with the reason feature
// gives.
func readCollection(r io.Reader, file string, reject Reject, feature func([]byte) (Footprint, string)) ([]Footprint, error) {
	if reject == nil {
		reject = func(*seams.RecordError) {}
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB: is it a footprints file?", file, MaxFileSize>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	lines := newLineCounter(data)
	fatal := func(off int64, format string, args ...any) error {
		return &seams.RecordError{File: file, Line: lines.at(off), Reason: fmt.Sprintf(format, args...)}
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	syntax := func(err error) error {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fatal(se.Offset, "not valid JSON: %v", err)
		case errors.As(err, &te):
			return fatal(te.Offset, "not valid GeoJSON: %v", err)
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			return fatal(int64(len(data)), "not valid JSON: the file ends early")
		}
		return fatal(dec.InputOffset(), "not valid JSON: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fatal(0, "not a GeoJSON FeatureCollection (want a JSON object)")
	}
	var (
		typ         string
		sawFeatures bool
		out         []Footprint
		seen        = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		key, _ := tok.(string)
		keyOff := dec.InputOffset()
		if key == "type" || key == "features" || key == "crs" {
			// Readers disagree on repeated keys (the first, the last, or
			// both); a footprints file that has them is refused rather
			// than read one way when its author meant another.
			if seen[key] {
				return nil, fatal(keyOff, "the FeatureCollection has %q twice", key)
			}
			seen[key] = true
		}
		switch key {
		case "type":
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, syntax(err)
			}
			s, ok := v.(string)
			if !ok {
				return nil, fatal(keyOff, `"type" is not a string`)
			}
			typ = s
		case "crs":
			var v struct {
				Properties struct {
					Name string `json:"name"`
				} `json:"properties"`
			}
			if err := dec.Decode(&v); err != nil {
				return nil, syntax(err)
			}
			if n := v.Properties.Name; n != "" && !isWGS84(n) {
				return nil, fatal(keyOff, "crs %q: footprints must be WGS 84 longitude/latitude (RFC 7946); reproject them (e.g. ogr2ogr -t_srs EPSG:4326)", n)
			}
		case "features":
			sawFeatures = true
			tok, err := dec.Token()
			if err != nil {
				return nil, syntax(err)
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return nil, fatal(keyOff, `"features" is not an array`)
			}
			for i := 0; dec.More(); i++ {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, syntax(err)
				}
				line := lines.at(dec.InputOffset() - int64(len(raw)))
				fp, reason := feature(raw)
				if reason != "" {
					reject(&seams.RecordError{File: file, Line: line, Item: "features[" + strconv.Itoa(i) + "]",
						Reason: reason, Raw: seams.TruncateRaw(raw)})
					continue
				}
				fp.File, fp.Line, fp.Feature = file, line, i
				out = append(out, fp)
			}
			if _, err := dec.Token(); err != nil { // ]
				return nil, syntax(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, syntax(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fatal(dec.InputOffset(), "more JSON after the FeatureCollection")
	}
	switch {
	case typ != "FeatureCollection":
		return nil, fatal(0, "not a GeoJSON FeatureCollection (type is %q)", typ)
	case !sawFeatures:
		return nil, fatal(0, `FeatureCollection has no "features"`)
	}
	return out, nil
}

// isWGS84 reports whether a GeoJSON 2008 crs name means longitude/latitude
// on WGS 84, which is what RFC 7946 coordinates are.
func isWGS84(name string) bool {
	n := strings.ToUpper(name)
	return strings.HasSuffix(n, "CRS84") || strings.HasSuffix(n, ":4326") || strings.HasSuffix(n, "::4326") || n == "EPSG:4326"
}

type featureDoc struct {
	Type       string                     `json:"type"`
	ID         json.RawMessage            `json:"id"`
	Properties map[string]json.RawMessage `json:"properties"`
	Geometry   *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// readFeature turns one feature into a footprint, or says why it cannot be.
func readFeature(raw []byte, compounds []seams.Compound, byID map[string]int) (Footprint, string) {
	var doc featureDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Footprint{}, fmt.Sprintf("%s is a JSON %s, want %s", orTop(te.Field), te.Value, te.Type)
		}
		return Footprint{}, "not a GeoJSON feature: " + err.Error()
	}
	if doc.Type != "Feature" {
		return Footprint{}, fmt.Sprintf("type is %q, want \"Feature\"", doc.Type)
	}
	id, why := compoundOf(&doc)
	if why != "" {
		return Footprint{}, why
	}
	ci, ok := byID[id]
	if !ok {
		return Footprint{}, fmt.Sprintf("unknown compound %q (not in the compounds file)", id)
	}
	if doc.Geometry == nil {
		return Footprint{}, "geometry is null (want a Polygon or MultiPolygon)"
	}
	if doc.Geometry.Type != "Polygon" && doc.Geometry.Type != "MultiPolygon" && doc.Geometry.Type != "" {
		return Footprint{}, fmt.Sprintf("geometry is a %s (want a Polygon or MultiPolygon; a compound known only by its location gets a circle from the compounds file)", doc.Geometry.Type)
	}
	mp, why := polygonsOf(&doc)
	if why != "" {
		return Footprint{}, why
	}
	fp := Footprint{Compound: compounds[ci].ID}
	if why := fp.prepare(mp); why != "" {
		return Footprint{}, why
	}
	if c := compounds[ci]; c.HasLocation {
		if d := fp.DistanceM(c.Lon, c.Lat); d > MaxOffsetM {
			return Footprint{}, fmt.Sprintf("lies %.0f km from the location of %s in the compounds file (%g, %g): another compound's, or coordinates swapped or shifted?",
				d/1000, c.ID, c.Lat, c.Lon)
		}
	}
	return fp, ""
}

// polygonsOf returns the polygons of a Polygon or MultiPolygon feature.
func polygonsOf(doc *featureDoc) (orb.MultiPolygon, string) {
	var mp orb.MultiPolygon
	switch doc.Geometry.Type {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(doc.Geometry.Coordinates, &p); err != nil {
			return nil, "Polygon coordinates: want an array of rings, each an array of [longitude, latitude] positions"
		}
		poly, why := polygonOf(p)
		if why != "" {
			return nil, why
		}
		mp = orb.MultiPolygon{poly}
	case "MultiPolygon":
		var ps [][][][]float64
		if err := json.Unmarshal(doc.Geometry.Coordinates, &ps); err != nil {
			return nil, "MultiPolygon coordinates: want an array of polygons, each an array of rings of [longitude, latitude] positions"
		}
		for i, p := range ps {
			poly, why := polygonOf(p)
			if why != "" {
				return nil, fmt.Sprintf("polygon %d: %s", i, why)
			}
			mp = append(mp, poly)
		}
	case "":
		return nil, "geometry has no type"
	default:
		return nil, fmt.Sprintf("geometry is a %s (want a Polygon or MultiPolygon)", doc.Geometry.Type)
	}
	return mp, ""
}

// cut returns b, or its first n bytes marked as cut.
func cut(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return seams.CutRaw(b, n)
}

func orTop(field string) string {
	if field == "" {
		return "feature"
	}
	return strconv.Quote(field)
}

// compoundOf returns the compound a feature names: properties.compound, or
// else the feature's id (a string, or an integer taken as its digits).
// properties.compound wins because ids often hold a database's own feature
// numbers.
func compoundOf(doc *featureDoc) (string, string) {
	if raw, ok := doc.Properties["compound"]; ok && string(raw) != "null" {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", "properties.compound is not a string"
		}
		if s = strings.TrimSpace(s); s == "" {
			return "", "properties.compound is empty"
		}
		return s, ""
	}
	if len(doc.ID) == 0 || string(doc.ID) == "null" {
		return "", `names no compound (want properties.compound or an "id" that is a compound id)`
	}
	var s string
	if err := json.Unmarshal(doc.ID, &s); err == nil {
		return strings.TrimSpace(s), ""
	}
	if _, err := strconv.ParseUint(string(doc.ID), 10, 64); err == nil {
		return string(doc.ID), ""
	}
	return "", fmt.Sprintf("id %s is neither a string nor an integer", cut(doc.ID, 64))
}

// polygonOf converts GeoJSON polygon coordinates; extra numbers in a
// position (an altitude) are ignored, fewer than two are an error.
func polygonOf(rings [][][]float64) (orb.Polygon, string) {
	if len(rings) == 0 {
		return nil, "polygon has no rings"
	}
	p := make(orb.Polygon, len(rings))
	for ri, r := range rings {
		ring := make(orb.Ring, len(r))
		for i, pos := range r {
			if len(pos) < 2 {
				return nil, fmt.Sprintf("%s position %d has %d numbers (want [longitude, latitude])", ringName(ri), i, len(pos))
			}
			ring[i] = orb.Point{pos[0], pos[1]}
		}
		p[ri] = ring
	}
	return p, ""
}

// lineCounter turns byte offsets into line numbers, for offsets that only
// grow (or repeat), in time linear in the file.
type lineCounter struct {
	data []byte
	off  int64
	line int
}

func newLineCounter(data []byte) *lineCounter { return &lineCounter{data: data, line: 1} }

// at returns the line of the first non-space byte at or after off.
func (l *lineCounter) at(off int64) int {
	for off < int64(len(l.data)) && (l.data[off] == ' ' || l.data[off] == '\t' || l.data[off] == '\r' ||
		l.data[off] == '\n' || l.data[off] == ',') {
		off++
	}
	if off < l.off { // not reached by the readers above; start over
		l.off, l.line = 0, 1
	}
	l.line += bytes.Count(l.data[l.off:min(off, int64(len(l.data)))], []byte{'\n'})
	l.off = min(off, int64(len(l.data)))
	return l.line
}
