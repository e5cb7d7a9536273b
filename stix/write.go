package stix

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/seams-dev/seams"
)

// Export is what WriteBundle writes.
type Export struct {
	// Org is the reporting organisation: the Identity every object is
	// created by and every Sighting is sighted by. Required.
	Org string
	// Time is the created and modified time of every object. Required:
	// the same inputs and Time give the same bytes.
	Time time.Time
	// Compounds become Infrastructure objects, each located at a Location
	// when it has a country or coordinates.
	Compounds []seams.Compound
	// Indicators become Indicator objects that indicate their compound's
	// Infrastructure. The indicators of the findings' evidence are added
	// when missing, and a compound named but not given gets an
	// Infrastructure with its id as name.
	Indicators []seams.Indicator
	// Findings become Sightings: one per finding and indicator.
	Findings []seams.Finding
}

// TierConfidence is the STIX confidence (0-100) of a sighting of each tier:
// High (85) for tied, Medium (50) for potentially associated, the midpoints
// STIX 2.1 gives those words.
func TierConfidence(t seams.Tier) int {
	if t == seams.TierTied {
		return 85
	}
	return 50
}

// The JSON shape of each object seams writes; field order is output order.
type (
	identity struct {
		Type          string `json:"type"`
		SpecVersion   string `json:"spec_version"`
		ID            string `json:"id"`
		Created       string `json:"created"`
		Modified      string `json:"modified"`
		Name          string `json:"name"`
		IdentityClass string `json:"identity_class"`
	}
	infrastructure struct {
		Type        string   `json:"type"`
		SpecVersion string   `json:"spec_version"`
		ID          string   `json:"id"`
		CreatedBy   string   `json:"created_by_ref"`
		Created     string   `json:"created"`
		Modified    string   `json:"modified"`
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Aliases     []string `json:"aliases,omitempty"`
		Labels      []string `json:"labels"`
		CompoundID  string   `json:"x_seams_compound_id"`
		Status      string   `json:"x_seams_status,omitempty"`
	}
	location struct {
		Type        string   `json:"type"`
		SpecVersion string   `json:"spec_version"`
		ID          string   `json:"id"`
		CreatedBy   string   `json:"created_by_ref"`
		Created     string   `json:"created"`
		Modified    string   `json:"modified"`
		Name        string   `json:"name"`
		Country     string   `json:"country,omitempty"`
		AdminArea   string   `json:"administrative_area,omitempty"`
		Latitude    *float64 `json:"latitude,omitempty"`
		Longitude   *float64 `json:"longitude,omitempty"`
	}
	relationship struct {
		Type        string `json:"type"`
		SpecVersion string `json:"spec_version"`
		ID          string `json:"id"`
		CreatedBy   string `json:"created_by_ref"`
		Created     string `json:"created"`
		Modified    string `json:"modified"`
		RelType     string `json:"relationship_type"`
		Source      string `json:"source_ref"`
		Target      string `json:"target_ref"`
	}
	indicator struct {
		Type           string   `json:"type"`
		SpecVersion    string   `json:"spec_version"`
		ID             string   `json:"id"`
		CreatedBy      string   `json:"created_by_ref"`
		Created        string   `json:"created"`
		Modified       string   `json:"modified"`
		Name           string   `json:"name"`
		IndicatorTypes []string `json:"indicator_types"`
		Pattern        string   `json:"pattern"`
		PatternType    string   `json:"pattern_type"`
		PatternVersion string   `json:"pattern_version"`
		ValidFrom      string   `json:"valid_from"`
		ValidUntil     string   `json:"valid_until,omitempty"`
		Confidence     *int     `json:"confidence,omitempty"`
		XConfidence    *float64 `json:"x_seams_confidence,omitempty"`
		XSource        *string  `json:"x_seams_source"`
		XOpenFrom      bool     `json:"x_seams_open_from,omitempty"`
	}
	sighting struct {
		Type        string   `json:"type"`
		SpecVersion string   `json:"spec_version"`
		ID          string   `json:"id"`
		CreatedBy   string   `json:"created_by_ref"`
		Created     string   `json:"created"`
		Modified    string   `json:"modified"`
		Confidence  int      `json:"confidence"`
		FirstSeen   string   `json:"first_seen,omitempty"`
		LastSeen    string   `json:"last_seen,omitempty"`
		Count       int      `json:"count"`
		SightingOf  string   `json:"sighting_of_ref"`
		WhereRefs   []string `json:"where_sighted_refs"`
		XReport     string   `json:"x_seams_report"`
		XTier       string   `json:"x_seams_tier"`
		XRules      []string `json:"x_seams_rules"`
	}
)

// maxCount is the largest count a Sighting may carry.
const maxCount = 999999999

// stamp formats a time as STIX timestamps are written: UTC, RFC 3339 with
// as many fraction digits as needed.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// IndicatorID returns the STIX id of an indicator of compound: a UUIDv5 of
// its compound, kind, value, window edges and source. Its confidence is not
// part of it: a change of confidence is a new version of the same object.
func IndicatorID(compound string, in *seams.Indicator) string {
	edge := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return stamp(t)
	}
	return ID("indicator", compound, in.Kind.String(), in.Value, edge(in.Window.First), edge(in.Window.Last), in.Source)
}

// CompoundID returns the STIX id of a compound's Infrastructure.
func CompoundID(compound string) string { return ID("infrastructure", compound) }

// IdentityID returns the STIX id of an organisation's Identity.
func IdentityID(org string) string { return ID("identity", org) }

// SightingID returns the STIX id of the Sighting of an indicator (by its
// STIX id) in a report.
func SightingID(report, indicatorID string) string { return ID("sighting", report, indicatorID) }

// WriteBundle writes e as a STIX 2.1 bundle, one object a line, in a fixed
// order: the Identity; each compound's Infrastructure, Location and
// located-at Relationship; each Indicator and its indicates Relationship;
// each Sighting, in the order of the findings and, for one finding, of its
// evidence. The same Export gives the same bytes.
func WriteBundle(w io.Writer, e *Export) error {
	if e.Org == "" {
		return errors.New("stix: the reporting organisation is required")
	}
	if e.Time.IsZero() {
		return errors.New("stix: the export time is required")
	}
	created := e.Time.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	var objs []any
	org := IdentityID(e.Org)
	objs = append(objs, identity{Type: "identity", SpecVersion: "2.1", ID: org, Created: created, Modified: created,
		Name: e.Org, IdentityClass: "organization"})
	rel := func(typ, src, dst string) relationship {
		return relationship{Type: "relationship", SpecVersion: "2.1", ID: ID("relationship", typ, src, dst),
			CreatedBy: org, Created: created, Modified: created, RelType: typ, Source: src, Target: dst}
	}

	// Compounds: those given, then those only named, in order of mention.
	compounds := map[string]*seams.Compound{}
	var order []*seams.Compound
	addCompound := func(c *seams.Compound) {
		if compounds[c.ID] == nil {
			compounds[c.ID] = c
			order = append(order, c)
		}
	}
	for i := range e.Compounds {
		addCompound(&e.Compounds[i])
	}
	named := func(id string) {
		if compounds[id] == nil {
			addCompound(&seams.Compound{ID: id, Name: id})
		}
	}
	// Indicators: those given, then those of the evidence, deduplicated by id.
	type ind struct {
		in       *seams.Indicator
		compound string
	}
	var inds []ind
	indIDs := map[string]bool{}
	addInd := func(compound string, in *seams.Indicator) string {
		id := IndicatorID(compound, in)
		if !indIDs[id] {
			indIDs[id] = true
			inds = append(inds, ind{in, compound})
			named(compound)
		}
		return id
	}
	for i := range e.Indicators {
		addInd(e.Indicators[i].Compound, &e.Indicators[i])
	}
	type sight struct {
		f        *seams.Finding
		indID    string
		evidence []*seams.Evidence
	}
	var sights []sight
	for i := range e.Findings {
		f := &e.Findings[i]
		named(f.Compound)
		at := map[string]int{} // indicator id -> index in sights
		for j := range f.Evidence {
			ev := &f.Evidence[j]
			id := addInd(f.Compound, ev.Indicator)
			k, ok := at[id]
			if !ok {
				k = len(sights)
				at[id] = k
				sights = append(sights, sight{f: f, indID: id})
			}
			sights[k].evidence = append(sights[k].evidence, ev)
		}
	}

	for _, c := range order {
		infra := CompoundID(c.ID)
		desc := "Scam compound " + c.Name
		if c.Country != "" {
			desc += " (" + c.Country + ")"
		}
		objs = append(objs, infrastructure{Type: "infrastructure", SpecVersion: "2.1", ID: infra, CreatedBy: org,
			Created: created, Modified: created, Name: c.Name, Description: desc + ", as registered in seams",
			Aliases: c.Aliases, Labels: []string{LabelCompound}, CompoundID: c.ID, Status: string(c.Status)})
		if c.Country == "" && !c.HasLocation {
			continue
		}
		loc := location{Type: "location", SpecVersion: "2.1", ID: ID("location", c.ID), CreatedBy: org,
			Created: created, Modified: created, Name: c.Name, Country: c.Country, AdminArea: c.Province}
		if c.HasLocation {
			lat, lon := c.Lat, c.Lon
			loc.Latitude, loc.Longitude = &lat, &lon
		}
		objs = append(objs, loc, rel(RelLocatedAt, infra, loc.ID))
	}
	for _, x := range inds {
		in := x.in
		c := compounds[x.compound]
		o := indicator{Type: "indicator", SpecVersion: "2.1", ID: IndicatorID(x.compound, in), CreatedBy: org,
			Created: created, Modified: created, Name: in.Value + " at " + c.Name,
			IndicatorTypes: []string{"attribution"}, Pattern: FormatPattern(in), PatternType: "stix", PatternVersion: "2.1"}
		if o.Pattern == "" {
			return fmt.Errorf("stix: indicator %s of %s has no STIX pattern (kind %s)", in.Value, x.compound, in.Kind)
		}
		if in.Window.First.IsZero() {
			// valid_from is required: an open start is the Unix epoch,
			// marked so that seams reads it back as open.
			o.ValidFrom, o.XOpenFrom = stamp(time.Unix(0, 0)), true
		} else {
			o.ValidFrom = stamp(in.Window.First)
		}
		if !in.Window.Last.IsZero() {
			// A seams window is closed; valid_until is the first instant
			// no longer valid.
			o.ValidUntil = stamp(in.Window.Last.Add(time.Nanosecond))
		}
		if in.HasConfidence {
			n := int(math.Round(in.Confidence * 100))
			o.Confidence = &n
			if float64(n)/100 != in.Confidence {
				c := in.Confidence
				o.XConfidence = &c // keep what 0-100 cannot hold
			}
		}
		// Always written, empty too: a reader must not fall back to the
		// creator's name for a source seams did not have.
		src := in.Source
		o.XSource = &src
		objs = append(objs, o, rel(RelIndicates, o.ID, CompoundID(x.compound)))
	}
	for _, s := range sights {
		o := sighting{Type: "sighting", SpecVersion: "2.1", ID: SightingID(s.f.Report, s.indID), CreatedBy: org,
			Created: created, Modified: created, Confidence: TierConfidence(s.f.Tier),
			Count: min(len(s.evidence), maxCount), SightingOf: s.indID, WhereRefs: []string{org},
			XReport: s.f.Report, XTier: s.f.Tier.String()}
		var first, last time.Time
		seen := map[seams.Rule]bool{}
		for _, ev := range s.evidence {
			if t := ev.Observed.At; !t.IsZero() {
				if first.IsZero() || t.Before(first) {
					first = t
				}
				if t.After(last) {
					last = t
				}
			}
			if !seen[ev.Rule] {
				seen[ev.Rule] = true
				o.XRules = append(o.XRules, ev.Rule.String())
			}
		}
		if !first.IsZero() {
			o.FirstSeen, o.LastSeen = stamp(first), stamp(last)
		}
		objs = append(objs, o)
	}

	// The bundle's id is a digest of its content, so the same content
	// always travels as the same bundle.
	lines := make([][]byte, len(objs))
	h := sha256.New()
	for i, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("stix: %w", err)
		}
		lines[i] = b
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{\"type\":\"bundle\",\"id\":\"bundle--%s\",\"objects\":[\n", uuid.NewSHA1(Namespace, h.Sum(nil)))
	for i, b := range lines {
		bw.Write(b)
		if i < len(lines)-1 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}
