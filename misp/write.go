package misp

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/seams-dev/seams"
)

// Export is what WriteEvents writes.
type Export struct {
	// Org is the organisation that creates the events and made the
	// sightings (Orgc, and the source of every sighting). Required.
	Org string
	// Time is the timestamp of every event and attribute, and the date of
	// the events. Required: the same inputs and Time give the same bytes.
	Time       time.Time
	Compounds  []seams.Compound
	Indicators []seams.Indicator // the indicators of the evidence are added when missing
	Findings   []seams.Finding
}

// Written counts what WriteEvents wrote, and what it could not.
type Written struct {
	Events, Attributes, Sightings int
	// Undated counts evidence without a time (a device seen without one),
	// which MISP cannot hold as a sighting: date_sighting is required.
	Undated int
}

type (
	mTag struct {
		Name       string `json:"name"`
		Colour     string `json:"colour"`
		Exportable bool   `json:"exportable"`
		ID         string `json:"id"`
	}
	mOrg struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		UUID string `json:"uuid"`
	}
	mSighting struct {
		Type          string `json:"type"`
		UUID          string `json:"uuid"`
		AttributeUUID string `json:"attribute_uuid"`
		DateSighting  string `json:"date_sighting"`
		Source        string `json:"source"`
	}
	mAttribute struct {
		UUID string `json:"uuid"`
		// ID is the attribute's number on a MISP instance, which the core
		// format says SHALL be present; "0" (none), as for the event: the
		// instance that imports it numbers it.
		ID             string      `json:"id"`
		EventID        string      `json:"event_id"`
		Type           string      `json:"type"`
		Category       string      `json:"category"`
		ToIDS          bool        `json:"to_ids"`
		Distribution   string      `json:"distribution"`
		SharingGroupID string      `json:"sharing_group_id"`
		Timestamp      string      `json:"timestamp"`
		Comment        string      `json:"comment"`
		Deleted        bool        `json:"deleted"`
		Value          string      `json:"value"`
		FirstSeen      *string     `json:"first_seen"`
		LastSeen       *string     `json:"last_seen"`
		Tag            []mTag      `json:"Tag"`
		Sighting       []mSighting `json:"Sighting"`
	}
	mEvent struct {
		UUID             string       `json:"uuid"`
		ID               string       `json:"id"`
		Info             string       `json:"info"`
		Date             string       `json:"date"`
		Timestamp        string       `json:"timestamp"`
		Published        bool         `json:"published"`
		PublishTimestamp string       `json:"publish_timestamp"`
		FirstPublication string       `json:"first_publication"`
		ThreatLevelID    string       `json:"threat_level_id"`
		Analysis         string       `json:"analysis"`
		Distribution     string       `json:"distribution"`
		SharingGroupID   string       `json:"sharing_group_id"`
		OrgID            string       `json:"org_id"`
		OrgcID           string       `json:"orgc_id"`
		AttributeCount   string       `json:"attribute_count"`
		Locked           bool         `json:"locked"`
		ExtendsUUID      string       `json:"extends_uuid"`
		Orgc             mOrg         `json:"Orgc"`
		Org              mOrg         `json:"Org"`
		Tag              []mTag       `json:"Tag"`
		Attribute        []mAttribute `json:"Attribute"`
	}
)

const tagColour = "#1f6f8b"

func newTag(name, value string) mTag {
	return mTag{Name: machineTag(name, value), Colour: tagColour, Exportable: true, ID: "0"}
}

// mispTime writes a time as MISP's first_seen and last_seen hold it:
// ISO 8601 with microseconds and an offset. Finer precision is cut.
func mispTime(t time.Time) *string {
	s := t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000-07:00")
	return &s
}

// AttributeUUID returns the uuid of the attribute of an indicator of
// compound: a UUIDv5 of compound, kind, value, window edges and source.
func AttributeUUID(compound string, in *seams.Indicator) string {
	edge := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return newUUID("attribute", compound, in.Kind.String(), in.Value, edge(in.Window.First), edge(in.Window.Last), in.Source)
}

// EventUUID returns the uuid of the event of a compound.
func EventUUID(compound string) string { return newUUID("event", compound) }

// WriteEvents writes e as {"response": [{"Event": ...}, ...]}, one event a
// line: an event for each compound with indicators or findings, in the
// order of the compounds (given ones first, then those only named). Events
// are unpublished and distributed to "your organisation only" (0): sharing
// them further is a decision to take in MISP.
func WriteEvents(w io.Writer, e *Export) (Written, error) {
	var n Written
	if e.Org == "" {
		return n, errors.New("misp: the organisation is required")
	}
	if e.Time.IsZero() {
		return n, errors.New("misp: the export time is required")
	}
	ts := strconv.FormatInt(e.Time.Unix(), 10)
	org := mOrg{ID: "0", Name: e.Org, UUID: newUUID("organisation", e.Org)}

	type group struct {
		c     *seams.Compound
		attrs []*mAttribute
		byID  map[string]*mAttribute
	}
	groups := map[string]*group{}
	var order []*group
	groupOf := func(id string) *group {
		g := groups[id]
		if g == nil {
			g = &group{c: &seams.Compound{ID: id, Name: id}, byID: map[string]*mAttribute{}}
			groups[id] = g
			order = append(order, g)
		}
		return g
	}
	for i := range e.Compounds {
		groupOf(e.Compounds[i].ID).c = &e.Compounds[i]
	}
	attr := func(compound string, in *seams.Indicator) (*mAttribute, error) {
		g := groupOf(compound)
		id := AttributeUUID(compound, in)
		if a := g.byID[id]; a != nil {
			return a, nil
		}
		a := &mAttribute{UUID: id, ID: "0", EventID: "0", Category: "Network activity", Distribution: "5",
			SharingGroupID: "0", Timestamp: ts, Value: in.Value, Tag: []mTag{}, Sighting: []mSighting{}}
		switch in.Kind {
		case seams.KindIP, seams.KindCIDR:
			a.Type = "ip-src"
		case seams.KindASN:
			a.Type = "AS"
		case seams.KindDevice:
			a.Type, a.Category = "text", "Other"
			a.Tag = append(a.Tag, newTag(TagKind, "device"))
		default:
			return nil, fmt.Errorf("misp: indicator %s of %s has an unknown kind", in.Value, compound)
		}
		if !in.Window.First.IsZero() {
			a.FirstSeen = mispTime(in.Window.First)
		}
		if !in.Window.Last.IsZero() {
			a.LastSeen = mispTime(in.Window.Last)
		}
		a.Comment = "seams indicator of " + compound
		if in.Source != "" {
			a.Tag = append(a.Tag, newTag(TagSource, in.Source))
			a.Comment += ", seen by " + in.Source
		}
		if in.HasConfidence {
			a.Tag = append(a.Tag, newTag(TagConfidence, strconv.FormatFloat(in.Confidence, 'g', -1, 64)))
		}
		if in.HasDrift {
			a.Tag = append(a.Tag, newTag(TagDrift, seams.FormatDrift(in.Drift)))
		}
		g.byID[id] = a
		g.attrs = append(g.attrs, a)
		return a, nil
	}
	for i := range e.Indicators {
		if _, err := attr(e.Indicators[i].Compound, &e.Indicators[i]); err != nil {
			return n, err
		}
	}
	for i := range e.Findings {
		f := &e.Findings[i]
		for j := range f.Evidence {
			ev := &f.Evidence[j]
			a, err := attr(f.Compound, ev.Indicator)
			if err != nil {
				return n, err
			}
			if ev.Observed.At.IsZero() {
				n.Undated++
				continue
			}
			a.Sighting = append(a.Sighting, mSighting{Type: "0",
				UUID:          newUUID("sighting", f.Report, a.UUID, strconv.Itoa(j)),
				AttributeUUID: a.UUID, DateSighting: strconv.FormatInt(ev.Observed.At.Unix(), 10), Source: e.Org})
			n.Sightings++
		}
	}

	bw := bufio.NewWriter(w)
	bw.WriteString("{\"response\":[")
	first := true
	for _, g := range order {
		if len(g.attrs) == 0 {
			continue
		}
		c := g.c
		ev := mEvent{UUID: EventUUID(c.ID), ID: "0", Info: info(c), Date: e.Time.UTC().Format(time.DateOnly),
			Timestamp: ts, PublishTimestamp: "0", FirstPublication: "0", ThreatLevelID: "4", Analysis: "1",
			Distribution: "0", SharingGroupID: "0", OrgID: "0", OrgcID: "0", AttributeCount: strconv.Itoa(len(g.attrs)),
			Orgc: org, Org: org, Tag: []mTag{newTag(TagCompound, c.ID), newTag(TagCompoundName, c.Name)}}
		if c.Country != "" {
			ev.Tag = append(ev.Tag, newTag(TagCountry, c.Country))
		}
		for _, a := range g.attrs {
			ev.Attribute = append(ev.Attribute, *a)
		}
		b, err := json.Marshal(map[string]any{"Event": ev})
		if err != nil {
			return n, fmt.Errorf("misp: %w", err)
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteString("\n")
		bw.Write(b)
		n.Events++
		n.Attributes += len(g.attrs)
	}
	bw.WriteString("\n]}\n")
	return n, bw.Flush()
}

// info is the event's summary line: at most 256 characters, no newline, as
// the MISP core format asks.
func info(c *seams.Compound) string {
	s := "seams: scam compound " + c.Name + " (" + c.ID
	if c.Country != "" {
		s += ", " + c.Country
	}
	s += ")"
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	if len(out) > 256 {
		out = append(out[:255], '…')
	}
	return string(out)
}
