package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// Sighting is a MISP sighting of an indicator: someone saw it at a time.
type Sighting struct {
	Compound string
	Kind     seams.Kind
	Value    string    // the indicator's canonical value
	At       time.Time // date_sighting: whole seconds, UTC
	Source   string
	// Type is MISP's sighting type: 0 seen, 1 false positive, 2 expiration,
	// 3 true positive.
	Type int
}

// Feed is what a MISP file holds for seams.
type Feed struct {
	Compounds  []seams.Compound
	Indicators []seams.Indicator
	// Sightings of the indicators read, in the order of their attributes.
	Sightings []Sighting
}

type tag struct {
	Name string `json:"name"`
}

type galaxy struct {
	GalaxyCluster []struct {
		Value   string `json:"value"`
		TagName string `json:"tag_name"`
		Meta    struct {
			Country  []string `json:"country"`
			Synonyms []string `json:"synonyms"`
		} `json:"meta"`
	} `json:"GalaxyCluster"`
}

type event struct {
	UUID string `json:"uuid"`
	Info string `json:"info"`
	Orgc *struct {
		Name string `json:"name"`
	} `json:"Orgc"`
	Tag       []tag             `json:"Tag"`
	Galaxy    []galaxy          `json:"Galaxy"`
	Attribute []json.RawMessage `json:"Attribute"`
	Object    []struct {
		Attribute []json.RawMessage `json:"Attribute"`
	} `json:"Object"`
}

type attribute struct {
	UUID      string     `json:"uuid"`
	Type      string     `json:"type"`
	Value     flexString `json:"value"`
	Deleted   flexBool   `json:"deleted"`
	FirstSeen *string    `json:"first_seen"`
	LastSeen  *string    `json:"last_seen"`
	Tag       []tag      `json:"Tag"`
	Sighting  []struct {
		Type         flexString `json:"type"`
		DateSighting flexString `json:"date_sighting"`
		Source       string     `json:"source"`
	} `json:"Sighting"`
}

// ReadEvents reads MISP event JSON with DefaultLimits and returns the
// compounds and indicators it names. See Decode.
func ReadEvents(r io.Reader, file string, reject func(*seams.RecordError)) ([]seams.Compound, []seams.Indicator, error) {
	f, err := Decode(r, file, DefaultLimits(), reject)
	if err != nil {
		return nil, nil, err
	}
	return f.Compounds, f.Indicators, nil
}

// Decode reads MISP event JSON: one event ({"Event": {...}}), a list of
// them ({"response": [{"Event": {...}}, ...]} as the MISP API answers, or a
// bare JSON array of events). Every attribute is used or handed to reject
// with Line 0 and Item its JSON path (response[0].Event.Attribute[3]).
// The error is for a file that cannot be read at all.
func Decode(r io.Reader, file string, lim Limits, reject func(*seams.RecordError)) (*Feed, error) {
	if reject == nil {
		reject = func(*seams.RecordError) {}
	}
	b, err := readAll(r, file, lim)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	var top json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %v", file, err)
	}
	type wrapped struct {
		path string
		raw  json.RawMessage
	}
	var events []wrapped
	top = bytes.TrimSpace(top)
	switch {
	case len(top) > 0 && top[0] == '[':
		var list []json.RawMessage
		json.Unmarshal(top, &list)
		for i, e := range list {
			events = append(events, wrapped{"[" + itoa(i) + "]", e})
		}
	case len(top) > 0 && top[0] == '{':
		var o struct {
			Response json.RawMessage `json:"response"`
			Event    json.RawMessage `json:"Event"`
		}
		if err := json.Unmarshal(top, &o); err != nil {
			return nil, fmt.Errorf("%s: not MISP event JSON: %v", file, jsonProblem(err))
		}
		switch {
		case o.Response != nil:
			var list []json.RawMessage
			if err := json.Unmarshal(o.Response, &list); err != nil {
				return nil, fmt.Errorf("%s: \"response\" is not a list of events", file)
			}
			for i, e := range list {
				events = append(events, wrapped{"response[" + itoa(i) + "]", e})
			}
		case o.Event != nil:
			events = append(events, wrapped{"", top})
		default:
			return nil, fmt.Errorf("%s: not MISP event JSON (want {\"Event\": ...} or {\"response\": [...]})", file)
		}
	default:
		return nil, fmt.Errorf("%s: not MISP event JSON (want a JSON object)", file)
	}
	d := &decoder{file: file, reject: reject, feed: &Feed{}, compounds: map[string]bool{}}
	for _, w := range events {
		d.event(w.path, w.raw)
	}
	return d.feed, nil
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%q is a JSON %s, not what MISP gives it", te.Field, te.Value)
	}
	return err.Error()
}

type decoder struct {
	file      string
	reject    func(*seams.RecordError)
	feed      *Feed
	compounds map[string]bool
}

func (d *decoder) fail(item, format string, args ...any) {
	d.reject(&seams.RecordError{File: d.file, Item: item, Reason: fmt.Sprintf(format, args...)})
}

// join appends a JSON path step.
func join(path, step string) string {
	if path == "" {
		return step
	}
	return path + "." + step
}

// compoundOf is what the tags of an event or attribute say of its compound.
type compoundOf struct {
	id, name, country string
	aliases           []string
}

func (c *compoundOf) readTags(tags []tag) {
	for _, t := range tags {
		name, v, ok := parseMachineTag(t.Name)
		if !ok {
			continue
		}
		switch name {
		case TagCompound:
			c.id = v
		case TagCompoundName:
			c.name = v
		case TagCountry:
			c.country = v
		}
	}
}

func (d *decoder) event(path string, raw json.RawMessage) {
	item := join(path, "Event")
	var w struct {
		Event *json.RawMessage `json:"Event"`
	}
	if err := json.Unmarshal(raw, &w); err != nil || w.Event == nil {
		d.fail(path, "not a MISP event (want {\"Event\": {...}})")
		return
	}
	var e event
	if err := json.Unmarshal(*w.Event, &e); err != nil {
		d.fail(item, "%s", jsonProblem(err))
		return
	}
	var ec compoundOf
	for _, g := range e.Galaxy {
		for _, cl := range g.GalaxyCluster {
			if n, v, ok := parseMachineTag(cl.TagName); ok && n == GalaxyCompound {
				ec.id, ec.name, ec.aliases = v, cl.Value, cl.Meta.Synonyms
				if len(cl.Meta.Country) > 0 {
					ec.country = cl.Meta.Country[0]
				}
			}
		}
	}
	ec.readTags(e.Tag) // a tag on the event wins over a galaxy cluster
	source := ""
	if e.Orgc != nil {
		source = e.Orgc.Name
	}
	for i, a := range e.Attribute {
		d.attribute(join(item, "Attribute["+itoa(i)+"]"), a, ec, source)
	}
	for i, o := range e.Object {
		for j, a := range o.Attribute {
			d.attribute(join(item, "Object["+itoa(i)+"].Attribute["+itoa(j)+"]"), a, ec, source)
		}
	}
}

func (d *decoder) attribute(item string, raw json.RawMessage, ec compoundOf, source string) {
	var a attribute
	if err := json.Unmarshal(raw, &a); err != nil {
		d.fail(item, "%s", jsonProblem(err))
		return
	}
	if a.Deleted {
		d.fail(item, "skipped: deleted attribute")
		return
	}
	c := ec
	var kind, confidence, drift string
	for _, t := range a.Tag {
		name, v, ok := parseMachineTag(t.Name)
		if !ok {
			continue
		}
		switch name {
		case TagSource:
			source = v
		case TagConfidence:
			confidence = v
		case TagKind:
			kind = v
		case TagDrift:
			drift = v
		}
	}
	at := compoundOf{}
	at.readTags(a.Tag)
	if at.id != "" { // an attribute's own compound tag wins over its event's
		c = at
	}
	in, reason := parseValue(a.Type, string(a.Value), kind)
	if reason != "" {
		d.fail(item, "%s", reason)
		return
	}
	switch {
	case c.id == "":
		d.fail(item, "no compound: tag the event or the attribute %s=\"ID\" (or attach a %s galaxy cluster)", TagCompound, GalaxyCompound)
		return
	case !seams.ValidCompoundID(c.id):
		d.fail(item, "compound id %q is not one (1-64 of A-Za-z0-9._-)", c.id)
		return
	}
	var err error
	var first, last time.Time
	if a.FirstSeen != nil && *a.FirstSeen != "" {
		if first, err = seams.ParseTime(*a.FirstSeen); err != nil {
			d.fail(item, "first_seen: %v", err)
			return
		}
	}
	if a.LastSeen != nil && *a.LastSeen != "" {
		if last, err = seams.ParseTime(*a.LastSeen); err != nil {
			d.fail(item, "last_seen: %v", err)
			return
		}
		// MISP holds microseconds. A last_seen at the last microsecond of
		// a second stands for the end of that second, which seams writes
		// as ...59.999999999 (the end of a day given as a date).
		if last.Nanosecond()%int(time.Second) == 999999000 {
			last = last.Add(999 * time.Nanosecond)
		}
	}
	if in.Window, err = seams.NewWindow(first, last); err != nil {
		d.fail(item, "%v", err)
		return
	}
	if confidence != "" {
		if in.Confidence, in.HasConfidence, err = seams.ParseConfidence(confidence); err != nil {
			d.fail(item, "tag %s: %v", TagConfidence, err)
			return
		}
	}
	if in.Drift, in.HasDrift, err = seams.ParseDrift(drift); err != nil {
		d.fail(item, "tag %s: %v", TagDrift, err)
		return
	}
	in.Compound, in.Source, in.File = c.id, source, d.file
	// Sightings first: a bad one rejects the attribute, not half of it.
	var sights []Sighting
	for j, s := range a.Sighting {
		sec, err := strconv.ParseInt(string(s.DateSighting), 10, 64)
		if err != nil || sec < seams.MinTime.Unix() || sec > seams.MaxTime.Unix() {
			d.fail(item, "Sighting[%d]: date_sighting %q is not Unix seconds", j, s.DateSighting)
			return
		}
		typ := 0
		if s.Type != "" {
			if typ, err = strconv.Atoi(string(s.Type)); err != nil || typ < 0 || typ > 3 {
				d.fail(item, "Sighting[%d]: type %q is not 0, 1, 2 or 3", j, s.Type)
				return
			}
		}
		sights = append(sights, Sighting{Compound: c.id, Kind: in.Kind, Value: in.Value,
			At: time.Unix(sec, 0).UTC(), Source: s.Source, Type: typ})
	}
	d.feed.Indicators = append(d.feed.Indicators, in)
	d.feed.Sightings = append(d.feed.Sightings, sights...)
	if !d.compounds[c.id] {
		d.compounds[c.id] = true
		cp := seams.Compound{ID: c.id, Name: c.name, Aliases: c.aliases}
		if cp.Name == "" {
			cp.Name = c.id
		}
		if c.country != "" {
			if cc, err := seams.ParseCountry(c.country); err == nil {
				cp.Country = cc
			} else {
				d.fail(item, "compound %s: %v (the compound is kept without a country)", c.id, err)
			}
		}
		d.feed.Compounds = append(d.feed.Compounds, cp)
	}
}

// parseValue maps a MISP attribute type and value to an indicator, or says
// why it cannot.
func parseValue(typ, value, kind string) (seams.Indicator, string) {
	var k seams.Kind
	v := strings.TrimSpace(value)
	switch typ {
	case "ip-src", "ip-dst":
	case "ip-src|port", "ip-dst|port":
		i := strings.LastIndexByte(v, '|')
		if i < 0 {
			return seams.Indicator{}, fmt.Sprintf("%s value %q has no |port", typ, cut(value))
		}
		v = v[:i]
	case "AS":
		k = seams.KindASN
	case "text", "other":
		if kind != "device" {
			return seams.Indicator{}, fmt.Sprintf("skipped: %s attribute not tagged %s", typ, machineTag(TagKind, "device"))
		}
		k = seams.KindDevice
	default:
		return seams.Indicator{}, fmt.Sprintf("skipped: attribute type %q is not one seams reads (ip-src, ip-dst, ip-src|port, ip-dst|port, AS)", cut(typ))
	}
	if k == 0 {
		k = seams.KindIP
		if strings.Contains(v, "/") {
			k = seams.KindCIDR
		}
	}
	in, err := seams.ParseIndicatorValue(k, v)
	if err != nil {
		return seams.Indicator{}, "value: " + err.Error()
	}
	return in, ""
}

func cut(s string) string {
	if len(s) > 200 {
		return seams.CutRaw([]byte(s), 200)
	}
	return s
}
