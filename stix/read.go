package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/jsonlimit"
)

// object is the part of a STIX object seams reads. Unknown properties are
// ignored; a known one of the wrong JSON type rejects the object.
type object struct {
	Type         string   `json:"type"`
	ID           string   `json:"id"`
	Modified     string   `json:"modified"`
	Revoked      bool     `json:"revoked"`
	CreatedByRef string   `json:"created_by_ref"`
	Name         string   `json:"name"`
	Aliases      []string `json:"aliases"`
	Labels       []string `json:"labels"`
	External     []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
	} `json:"external_references"`
	Confidence *json.Number `json:"confidence"`

	// indicator
	Pattern     string `json:"pattern"`
	PatternType string `json:"pattern_type"`
	ValidFrom   string `json:"valid_from"`
	ValidUntil  string `json:"valid_until"`

	// relationship
	RelationshipType string `json:"relationship_type"`
	SourceRef        string `json:"source_ref"`
	TargetRef        string `json:"target_ref"`

	// location
	Country            string   `json:"country"`
	AdministrativeArea string   `json:"administrative_area"`
	Latitude           *float64 `json:"latitude"`
	Longitude          *float64 `json:"longitude"`

	// seams' own properties (see docs/formats.md)
	XCompoundID string   `json:"x_seams_compound_id"`
	XStatus     string   `json:"x_seams_status"`
	XSource     *string  `json:"x_seams_source"`
	XConfidence *float64 `json:"x_seams_confidence"`
	XOpenFrom   bool     `json:"x_seams_open_from"`
	XFirstSeen  string   `json:"x_seams_first_seen"`
	XLastSeen   string   `json:"x_seams_last_seen"`
	XDrift      *string  `json:"x_seams_drift"`

	index    int    // position in the objects array
	compound string // the compound this object stands for, if any
	used     bool
	rejected bool
}

// item names the object in a rejection: its id, or its place in the bundle.
func (o *object) item() string {
	if o.ID != "" {
		return o.ID
	}
	return "objects[" + strconv.Itoa(o.index) + "]"
}

// ReadBundle reads a STIX 2.1 bundle with DefaultLimits. See ReadBundleLimits.
func ReadBundle(r io.Reader, file string, reject func(*seams.RecordError)) ([]seams.Compound, []seams.Indicator, error) {
	return ReadBundleLimits(r, file, DefaultLimits(), reject)
}

// ReadBundleLimits reads a STIX 2.1 bundle and returns the compounds and the
// indicators it holds. Every object is either used or handed to reject as a
// *seams.RecordError with Line 0 and Item the object's id (or objects[N]
// when it has none); rejections come in the order of the objects. The error
// is for a file that cannot be read at all: not JSON, not a bundle, over the
// limits.
//
// Compounds are Infrastructure or Location objects carrying
// x_seams_compound_id, an external reference with source_name
// "seams-compound", or the label "scam-compound" (the id is then the slug of
// the name). An Indicator becomes one seams indicator for each compound a
// Relationship (indicates, located-at or related-to) ties it to.
func ReadBundleLimits(r io.Reader, file string, lim Limits, reject func(*seams.RecordError)) ([]seams.Compound, []seams.Indicator, error) {
	if reject == nil {
		reject = func(*seams.RecordError) {}
	}
	objs, err := decodeBundle(r, file, lim)
	if err != nil {
		return nil, nil, err
	}
	b := &bundle{file: file, objs: objs, byID: map[string]*object{}, rejections: map[int][]*seams.RecordError{}}
	cs, ins := b.resolve()
	for i := range objs {
		for _, e := range b.rejections[i] {
			reject(e)
		}
	}
	return cs, ins, nil
}

// decodeBundle reads the objects array of a bundle or TAXII envelope. An
// element that is not a JSON object is kept with its error, to be rejected
// in order.
func decodeBundle(r io.Reader, file string, lim Limits) ([]*object, error) {
	lr := &jsonlimit.Reader{R: r, N: lim.MaxBytes}
	dec := json.NewDecoder(lr)
	dec.UseNumber()
	fail := func(err error) error {
		switch {
		case errors.Is(err, jsonlimit.ErrTooLarge):
			return fmt.Errorf("%s: bundle larger than %d bytes", file, lim.MaxBytes)
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%s: bundle ends early (at byte %d)", file, dec.InputOffset())
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s: not valid JSON at byte %d: %v", file, se.Offset, err)
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	t, err := dec.Token()
	if err != nil {
		return nil, fail(err)
	}
	if t != json.Delim('{') {
		return nil, fmt.Errorf("%s: not a STIX bundle (want a JSON object with an \"objects\" array)", file)
	}
	var objs []*object
	sawObjects := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fail(err)
		}
		key, _ := t.(string)
		if key != "objects" {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, fail(err)
			}
			if err := jsonlimit.CheckDepth(v, lim.MaxDepth); err != nil {
				return nil, fmt.Errorf("%s: %q %v", file, key, err)
			}
			if key == "type" {
				var typ string
				if json.Unmarshal(v, &typ) != nil || typ != "bundle" {
					return nil, fmt.Errorf("%s: top-level type is %s, not \"bundle\"", file, v)
				}
			}
			continue
		}
		sawObjects = true
		if t, err := dec.Token(); err != nil {
			return nil, fail(err)
		} else if t != json.Delim('[') {
			return nil, fmt.Errorf("%s: \"objects\" is not an array", file)
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fail(err)
			}
			o := &object{index: len(objs)}
			objs = append(objs, o)
			if err := jsonlimit.CheckDepth(raw, lim.MaxDepth); err != nil {
				o.Type = "!" + err.Error()
				continue
			}
			raw = bytes.TrimSpace(raw)
			if len(raw) == 0 || raw[0] != '{' {
				o.Type = "!not a JSON object"
				continue
			}
			if err := json.Unmarshal(raw, o); err != nil {
				// Keep what identifies it for the rejection.
				var id struct {
					ID string `json:"id"`
				}
				json.Unmarshal(raw, &id)
				*o = object{index: o.index, ID: id.ID, Type: "!" + jsonProblem(err)}
			}
		}
		if _, err := dec.Token(); err != nil { // ]
			return nil, fail(err)
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return nil, fmt.Errorf("%s: data after the bundle (at byte %d)", file, dec.InputOffset())
		}
		return nil, fail(err)
	}
	if !sawObjects {
		return nil, fmt.Errorf("%s: not a STIX bundle (no \"objects\" array)", file)
	}
	return objs, nil
}

// jsonProblem describes a decoding error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("property %q is a JSON %s, not the type STIX gives it", te.Field, te.Value)
	}
	return err.Error()
}

type bundle struct {
	file       string
	objs       []*object
	byID       map[string]*object
	rejections map[int][]*seams.RecordError
}

func (b *bundle) reject(o *object, format string, args ...any) {
	o.rejected = true
	b.rejections[o.index] = append(b.rejections[o.index], &seams.RecordError{
		File: b.file, Item: o.item(), Reason: fmt.Sprintf(format, args...)})
}

// link is a relationship of an indicator to a compound, in bundle order.
type link struct {
	indicator *object
	compound  *object
}

func (b *bundle) resolve() ([]seams.Compound, []seams.Indicator) {
	// Index the objects; of several versions of one id the latest modified
	// stands (STIX versioning), the first of equal ones.
	for _, o := range b.objs {
		if strings.HasPrefix(o.Type, "!") {
			b.reject(o, "%s", o.Type[1:])
			continue
		}
		if o.Type == "" || o.ID == "" {
			b.reject(o, "object without type or id")
			continue
		}
		if !strings.HasPrefix(o.ID, o.Type+"--") {
			b.reject(o, "id %q does not start with its type %q", cut(o.ID), o.Type)
			continue
		}
		if prev, ok := b.byID[o.ID]; ok {
			if o.Modified > prev.Modified { // RFC 3339 in UTC sorts as text
				b.reject(prev, "skipped: an older version of this object (modified %s; %s is newer)", prev.Modified, o.Modified)
				b.byID[o.ID] = o
			} else {
				b.reject(o, "skipped: a version of this object no newer than an earlier one (modified %q)", o.Modified)
			}
			continue
		}
		b.byID[o.ID] = o
	}
	// Which objects stand for compounds.
	var compounds []*object
	firstOf := map[string]*object{}
	for _, o := range b.objs {
		if o.rejected || (o.Type != "infrastructure" && o.Type != "location") {
			continue
		}
		id, reason := compoundID(o)
		switch {
		case reason != "":
			b.reject(o, "%s", reason)
		case id == "":
			continue // not a compound; perhaps a place, decided below
		case firstOf[id] != nil:
			b.reject(o, "duplicate compound id %q (first in %s)", id, firstOf[id].item())
		default:
			o.compound = id
			firstOf[id] = o
			compounds = append(compounds, o)
		}
	}
	// Relationships.
	var links []link
	place := map[*object]*object{} // compound -> the location it is located at
	for _, o := range b.objs {
		if o.rejected || o.Type != "relationship" {
			continue
		}
		src, dst := b.byID[o.SourceRef], b.byID[o.TargetRef]
		if src == nil || dst == nil || src.rejected || dst.rejected {
			b.reject(o, "skipped: %s refers to an object that is not in the bundle or was not usable", o.RelationshipType)
			continue
		}
		rt := o.RelationshipType
		switch {
		case src.Type == "indicator" && dst.compound != "" && (rt == RelIndicates || rt == RelLocatedAt || rt == RelRelatedTo):
			links = append(links, link{src, dst})
		case dst.Type == "indicator" && src.compound != "" && rt == RelRelatedTo:
			links = append(links, link{dst, src})
		case src.compound != "" && src.Type == "infrastructure" && dst.Type == "location" && dst.compound == "" && rt == RelLocatedAt:
			if place[src] == nil {
				place[src] = dst
				dst.used = true
			} else {
				b.reject(o, "skipped: %s is already located at %s", src.item(), place[src].item())
				continue
			}
		default:
			b.reject(o, "skipped: a %s relationship from %s to %s does not tie an indicator to a compound", rt, src.Type, dst.Type)
			continue
		}
		o.used = true
	}
	// Compounds.
	var out []seams.Compound
	for _, o := range compounds {
		c, ok := b.compound(o, place[o])
		if !ok {
			continue
		}
		o.used = true
		out = append(out, c)
	}
	// Indicators, in bundle order; for one, in the order of its links.
	byIndicator := map[*object][]*object{}
	for _, l := range links {
		if !l.compound.rejected {
			byIndicator[l.indicator] = append(byIndicator[l.indicator], l.compound)
		}
	}
	var inds []seams.Indicator
	for _, o := range b.objs {
		if o.rejected || o.Type != "indicator" || b.byID[o.ID] != o {
			continue
		}
		cs := byIndicator[o]
		if len(cs) == 0 {
			b.reject(o, "skipped: not tied to any compound (no indicates, located-at or related-to relationship to a compound's Infrastructure or Location)")
			continue
		}
		in, ok := b.indicator(o)
		if !ok {
			continue
		}
		o.used = true
		seen := map[string]bool{}
		for _, c := range cs {
			if seen[c.compound] {
				continue
			}
			seen[c.compound] = true
			in.Compound = c.compound
			inds = append(inds, in)
		}
		if ref := b.byID[o.CreatedByRef]; ref != nil && ref.Type == "identity" {
			ref.used = true
		}
	}
	// Everything else.
	for _, o := range b.objs {
		if o.used || o.rejected {
			continue
		}
		switch o.Type {
		case "infrastructure", "location":
			b.reject(o, "skipped: %s does not stand for a compound (no x_seams_compound_id, %s external reference or %s label)", o.Type, ExternalSource, LabelCompound)
		case "identity":
			b.reject(o, "skipped: identity not referenced by an indicator seams read")
		default:
			b.reject(o, "skipped: %s objects are not read by seams", o.Type)
		}
	}
	return out, inds
}

// compoundID returns the compound id an Infrastructure or Location stands
// for, "" if it stands for none, or a reason it cannot be used.
func compoundID(o *object) (id, reason string) {
	if o.XCompoundID != "" {
		if !seams.ValidCompoundID(o.XCompoundID) {
			return "", fmt.Sprintf("x_seams_compound_id %q is not a compound id (1-64 of A-Za-z0-9._-)", cut(o.XCompoundID))
		}
		return o.XCompoundID, ""
	}
	for _, e := range o.External {
		if e.SourceName == ExternalSource {
			if !seams.ValidCompoundID(e.ExternalID) {
				return "", fmt.Sprintf("%s external_id %q is not a compound id (1-64 of A-Za-z0-9._-)", ExternalSource, cut(e.ExternalID))
			}
			return e.ExternalID, ""
		}
	}
	for _, l := range o.Labels {
		if l == LabelCompound {
			if id := Slug(o.Name); id != "" {
				return id, ""
			}
			return "", fmt.Sprintf("labelled %s but its name %q gives no compound id", LabelCompound, cut(o.Name))
		}
	}
	return "", ""
}

// compound maps a compound object, with the place it is located at (nil for
// none, or when o is itself a Location).
func (b *bundle) compound(o, at *object) (seams.Compound, bool) {
	c := seams.Compound{ID: o.compound, Name: o.Name, Aliases: o.Aliases}
	if c.Name == "" {
		c.Name = c.ID
	}
	if o.Revoked {
		b.reject(o, "skipped: revoked")
		return c, false
	}
	st, err := seams.ParseStatus(o.XStatus)
	if err != nil {
		b.reject(o, "x_seams_status: %v", err)
		return c, false
	}
	c.Status = st
	geo := at
	if o.Type == "location" {
		geo = o
	}
	if geo != nil {
		if reason := b.place(&c, geo); reason != "" {
			b.reject(geo, "%s", reason)
			if geo != o {
				b.reject(o, "skipped: located at %s, which was rejected", geo.item())
			}
			return c, false
		}
	}
	return c, true
}

// place fills the country, province and coordinates of c from a Location,
// or returns why it cannot.
func (b *bundle) place(c *seams.Compound, geo *object) string {
	if geo.Country != "" {
		cc, err := seams.ParseCountry(geo.Country)
		if err != nil {
			return "country: " + err.Error()
		}
		c.Country = cc
	}
	c.Province = geo.AdministrativeArea
	switch {
	case geo.Latitude != nil && geo.Longitude != nil:
		lat, lon := *geo.Latitude, *geo.Longitude
		if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
			return fmt.Sprintf("latitude %v or longitude %v out of range", lat, lon)
		}
		c.Lat, c.Lon, c.HasLocation = lat, lon, true
	case geo.Latitude != nil || geo.Longitude != nil:
		return "latitude and longitude must be given together"
	}
	return ""
}

// window returns the seams window of an Indicator, or why it has none.
// valid_until is the first instant the indicator is no longer valid; a
// seams window is closed, so it ends one nanosecond before. seams writes
// its timestamps at millisecond precision, and the exact edges in
// x_seams_first_seen and x_seams_last_seen when the milliseconds cannot
// hold them (see validity): an exact edge is used when it falls in the
// millisecond its STIX property stands for, and rejected otherwise.
func window(o *object) (first, last time.Time, reason string) {
	if o.ValidFrom == "" {
		return first, last, "valid_from is missing"
	}
	from, err := parseStamp(o.ValidFrom, floorMilli(seams.MinTime), seams.MaxTime)
	if err != nil {
		return first, last, "valid_from: " + err.Error()
	}
	switch {
	case o.XOpenFrom && o.XFirstSeen != "":
		return first, last, "x_seams_first_seen is given with x_seams_open_from"
	case o.XFirstSeen != "":
		x, err := seams.ParseTime(o.XFirstSeen)
		if err != nil {
			return first, last, "x_seams_first_seen: " + err.Error()
		}
		if !floorMilli(x).Equal(from) {
			return first, last, fmt.Sprintf("x_seams_first_seen %s is not within the millisecond of valid_from %s", o.XFirstSeen, o.ValidFrom)
		}
		first = x
	case !o.XOpenFrom:
		if from.Before(seams.MinTime) {
			return first, last, fmt.Sprintf("valid_from: %q: %v", o.ValidFrom, seams.ErrTimeRange)
		}
		first = from
	}
	if o.ValidUntil == "" {
		if o.XLastSeen != "" {
			return first, last, "x_seams_last_seen is given without valid_until"
		}
		return first, last, ""
	}
	until, err := parseStamp(o.ValidUntil, seams.MinTime, ceilMilli(seams.MaxTime.Add(time.Nanosecond)))
	if err != nil {
		return first, last, "valid_until: " + err.Error()
	}
	if !until.After(from) {
		return first, last, fmt.Sprintf("valid_until %s is not later than valid_from %s", o.ValidUntil, o.ValidFrom)
	}
	last = until.Add(-time.Nanosecond)
	if o.XLastSeen != "" {
		x, err := seams.ParseTime(o.XLastSeen)
		if err != nil {
			return first, last, "x_seams_last_seen: " + err.Error()
		}
		if !ceilMilli(x.Add(time.Nanosecond)).Equal(until) {
			return first, last, fmt.Sprintf("x_seams_last_seen %s is not within the millisecond before valid_until %s", o.XLastSeen, o.ValidUntil)
		}
		last = x
	}
	if last.After(seams.MaxTime) {
		return first, last, fmt.Sprintf("valid_until: %q: %v", o.ValidUntil, seams.ErrTimeRange)
	}
	return first, last, ""
}

// parseStamp parses a STIX timestamp, accepting instants in [lo, hi]:
// seams' range widened to the millisecond boundaries its own export
// writes around it.
func parseStamp(s string, lo, hi time.Time) (time.Time, error) {
	t, err := seams.ParseTime(s)
	if err == nil || !errors.Is(err, seams.ErrTimeRange) {
		return t, err
	}
	t, perr := time.Parse(time.RFC3339Nano, s)
	if perr != nil || t.Before(lo) || t.After(hi) {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// indicator maps an Indicator object to a seams indicator, Compound unset.
func (b *bundle) indicator(o *object) (seams.Indicator, bool) {
	if o.Revoked {
		b.reject(o, "skipped: revoked")
		return seams.Indicator{}, false
	}
	if o.PatternType != "" && o.PatternType != "stix" {
		b.reject(o, "skipped: pattern_type %q (seams reads stix patterns)", cut(o.PatternType))
		return seams.Indicator{}, false
	}
	in, err := ParsePattern(o.Pattern)
	if err != nil {
		if errors.Is(err, ErrComplexPattern) {
			b.reject(o, "skipped: %v", err)
		} else {
			b.reject(o, "pattern: %v", err)
		}
		return seams.Indicator{}, false
	}
	first, last, reason := window(o)
	if reason != "" {
		b.reject(o, "%s", reason)
		return seams.Indicator{}, false
	}
	if in.Window, err = seams.NewWindow(first, last); err != nil {
		b.reject(o, "%v", err)
		return seams.Indicator{}, false
	}
	switch {
	case o.XConfidence != nil:
		c := *o.XConfidence
		if !(c >= 0 && c <= 1) {
			b.reject(o, "x_seams_confidence %v is not in [0,1]", c)
			return seams.Indicator{}, false
		}
		in.Confidence, in.HasConfidence = c+0, true
	case o.Confidence != nil:
		n, err := strconv.ParseFloat(string(*o.Confidence), 64)
		if err != nil || n != math.Trunc(n) || n < 0 || n > 100 {
			b.reject(o, "confidence %s is not an integer in [0,100]", *o.Confidence)
			return seams.Indicator{}, false
		}
		in.Confidence, in.HasConfidence = n/100, true
	}
	if o.XDrift != nil {
		if in.Drift, in.HasDrift, err = seams.ParseDrift(*o.XDrift); err != nil {
			b.reject(o, "x_seams_drift: %v", err)
			return seams.Indicator{}, false
		}
	}
	switch {
	case o.XSource != nil:
		in.Source = *o.XSource
	default:
		if ref := b.byID[o.CreatedByRef]; ref != nil && ref.Type == "identity" && !ref.rejected {
			in.Source = ref.Name
		}
	}
	in.File = b.file
	return in, true
}
