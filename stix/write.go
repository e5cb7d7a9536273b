package stix

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
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

// head is the part every object seams writes begins with. Created and
// Modified are filled by WriteBundle (see versioned).
type head struct {
	Type        string `json:"type"`
	SpecVersion string `json:"spec_version"`
	ID          string `json:"id"`
	CreatedBy   string `json:"created_by_ref,omitempty"`
	Created     string `json:"created"`
	Modified    string `json:"modified"`
}

func (h *head) stamps() *head { return h }

// stamped is an object WriteBundle writes: one of the types below.
type stamped interface{ stamps() *head }

// The JSON shape of each object seams writes; field order is output order.
type (
	identity struct {
		head
		Name          string `json:"name"`
		IdentityClass string `json:"identity_class"`
	}
	infrastructure struct {
		head
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Aliases     []string `json:"aliases,omitempty"`
		Labels      []string `json:"labels"`
		CompoundID  string   `json:"x_seams_compound_id"`
		Status      string   `json:"x_seams_status,omitempty"`
	}
	location struct {
		head
		Name      string   `json:"name"`
		Country   string   `json:"country,omitempty"`
		AdminArea string   `json:"administrative_area,omitempty"`
		Latitude  *float64 `json:"latitude,omitempty"`
		Longitude *float64 `json:"longitude,omitempty"`
	}
	relationship struct {
		head
		RelType string `json:"relationship_type"`
		Source  string `json:"source_ref"`
		Target  string `json:"target_ref"`
	}
	indicator struct {
		head
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
		XFirstSeen     string   `json:"x_seams_first_seen,omitempty"`
		XLastSeen      string   `json:"x_seams_last_seen,omitempty"`
		XDrift         string   `json:"x_seams_drift,omitempty"`
	}
	sighting struct {
		head
		Confidence int      `json:"confidence"`
		FirstSeen  string   `json:"first_seen,omitempty"`
		LastSeen   string   `json:"last_seen,omitempty"`
		Count      int      `json:"count"`
		SightingOf string   `json:"sighting_of_ref"`
		WhereRefs  []string `json:"where_sighted_refs"`
		XReport    string   `json:"x_seams_report"`
		XTier      string   `json:"x_seams_tier"`
		XRules     []string `json:"x_seams_rules"`
	}
)

// maxCount is the largest count a Sighting may carry.
const maxCount = 999999999

// stampLayout is how seams writes every STIX timestamp: UTC with exactly
// three fraction digits. STIX allows any precision, but the OASIS Python
// library (stix2) reads at most six digits and most producers write three;
// created and modified must be precise to the millisecond anyway.
const stampLayout = "2006-01-02T15:04:05.000Z"

// stamp formats a time that is on a millisecond boundary (see floorMilli,
// ceilMilli) as a STIX timestamp.
func stamp(t time.Time) string { return t.UTC().Format(stampLayout) }

// floorMilli is the latest millisecond boundary not after t.
func floorMilli(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

// ceilMilli is the earliest millisecond boundary not before t.
func ceilMilli(t time.Time) time.Time {
	if f := t.Truncate(time.Millisecond); !f.Equal(t) {
		return f.Add(time.Millisecond)
	}
	return t
}

// exact formats a window edge in full, for x_seams_first_seen and
// x_seams_last_seen.
func exact(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// validity returns the valid_from and valid_until of a window, at
// millisecond precision, and the exact edges when that precision cannot
// hold them. valid_from is the window's first instant rounded down to the
// millisecond; valid_until, the first instant no longer valid, is the
// millisecond boundary after the window's last instant (last_seen
// 2024-06-09T23:59:59.999999999Z gives 2024-06-10T00:00:00.000Z). Rounded
// so, the STIX window always covers the seams window, by less than a
// millisecond more on a side whose edge is not on a boundary; that edge is
// also written exactly (xFirst, xLast) so that seams reads back the same
// window. An open start is the Unix epoch (see x_seams_open_from), or the
// start of seams' range for a window that ends before it.
func validity(w seams.Window) (from, until, xFirst, xLast string) {
	switch {
	case w.First.IsZero() && !w.Last.IsZero() && w.Last.Before(time.Unix(0, 0)):
		// valid_until must be later than valid_from.
		from = stamp(floorMilli(seams.MinTime))
	case w.First.IsZero():
		from = stamp(time.Unix(0, 0))
	default:
		f := floorMilli(w.First)
		from = stamp(f)
		if !f.Equal(w.First) {
			xFirst = exact(w.First)
		}
	}
	if !w.Last.IsZero() {
		end := w.Last.Add(time.Nanosecond) // a seams window is closed
		u := ceilMilli(end)
		until = stamp(u)
		if !u.Equal(end) {
			xLast = exact(w.Last)
		}
	}
	return from, until, xFirst, xLast
}

// versionSpread is the span after created in which an object's modified
// lies, chosen by the digest of its content (see versioned).
const versionSpread = 1000 // milliseconds

// versioned fills the created and modified of o and returns its JSON.
// created is the export time; modified is the export time plus 0 to 999
// milliseconds taken from a SHA-256 of the object as written with
// modified equal to created. An object keeps its id across exports
// (UUIDv5 of what identifies it), so a different content at the same
// export time must not travel with the same modified (STIX versioning:
// id and modified name one version): the same content always gets the
// same modified, a different one a different modified but with a chance
// of 1 in 1000, and an export one second or more later always a later
// one.
func versioned(o stamped, created time.Time) ([]byte, error) {
	h := o.stamps()
	h.Created, h.Modified = stamp(created), stamp(created)
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	off := binary.BigEndian.Uint64(sum[:8]) % versionSpread
	if off == 0 {
		return b, nil
	}
	h.Modified = stamp(created.Add(time.Duration(off) * time.Millisecond))
	return json.Marshal(o)
}

// IndicatorID returns the STIX id of an indicator of compound: a UUIDv5 of
// its compound, kind, value, window edges and source. Its confidence is not
// part of it: a change of confidence is a new version of the same object.
func IndicatorID(compound string, in *seams.Indicator) string {
	edge := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return exact(t) // as before millisecond stamps: ids do not change
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
	created := floorMilli(e.Time.UTC())
	var objs []stamped
	org := IdentityID(e.Org)
	hd := func(typ, id string) head {
		return head{Type: typ, SpecVersion: "2.1", ID: id, CreatedBy: org}
	}
	objs = append(objs, &identity{head: head{Type: "identity", SpecVersion: "2.1", ID: org},
		Name: e.Org, IdentityClass: "organization"})
	rel := func(typ, src, dst string) *relationship {
		return &relationship{head: hd("relationship", ID("relationship", typ, src, dst)), RelType: typ, Source: src, Target: dst}
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
		objs = append(objs, &infrastructure{head: hd("infrastructure", infra), Name: c.Name,
			Description: desc + ", as registered in seams", Aliases: c.Aliases, Labels: []string{LabelCompound},
			CompoundID: c.ID, Status: string(c.Status)})
		if c.Country == "" && !c.HasLocation {
			continue
		}
		loc := &location{head: hd("location", ID("location", c.ID)), Name: c.Name, Country: c.Country, AdminArea: c.Province}
		if c.HasLocation {
			lat, lon := c.Lat, c.Lon
			loc.Latitude, loc.Longitude = &lat, &lon
		}
		objs = append(objs, loc, rel(RelLocatedAt, infra, loc.ID))
	}
	for _, x := range inds {
		in := x.in
		c := compounds[x.compound]
		o := &indicator{head: hd("indicator", IndicatorID(x.compound, in)), Name: in.Value + " at " + c.Name,
			IndicatorTypes: []string{"attribution"}, Pattern: FormatPattern(in), PatternType: "stix", PatternVersion: "2.1"}
		if o.Pattern == "" {
			return fmt.Errorf("stix: indicator %s of %s has no STIX pattern (kind %s)", in.Value, x.compound, in.Kind)
		}
		// valid_from is required: an open start is the Unix epoch, marked
		// so that seams reads it back as open.
		o.ValidFrom, o.ValidUntil, o.XFirstSeen, o.XLastSeen = validity(in.Window)
		o.XOpenFrom = in.Window.First.IsZero()
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
		if in.HasDrift {
			o.XDrift = seams.FormatDrift(in.Drift)
		}
		objs = append(objs, o, rel(RelIndicates, o.ID, CompoundID(x.compound)))
	}
	for _, s := range sights {
		o := &sighting{head: hd("sighting", SightingID(s.f.Report, s.indID)), Confidence: TierConfidence(s.f.Tier),
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
			// Widened to whole milliseconds, so that every observation
			// stays inside.
			o.FirstSeen, o.LastSeen = stamp(floorMilli(first)), stamp(ceilMilli(last))
		}
		objs = append(objs, o)
	}

	// The bundle's id is a digest of its content, so the same content
	// always travels as the same bundle.
	lines := make([][]byte, len(objs))
	h := sha256.New()
	for i, o := range objs {
		b, err := versioned(o, created)
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
