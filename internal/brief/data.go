// Package brief writes the brief: a self-contained HTML document that
// states the figures of a cross-reference (reports scanned, tied,
// potentially associated, compounds, period), how they were made (the
// rules, tiers and parameters of the run, its inputs with their SHA-256,
// the databases and shared lists in force, the seams that made it), what
// limits them (stated from the data), with charts drawn here as SVG and a
// map drawn offline from the dashboard's Natural Earth outlines, a table
// per compound and the evidence chain of every tied finding. Every number
// comes from the run or the store it is made from; nothing is typed in,
// and nothing is fetched when it is read or printed.
//
// A brief is made from a Builder fed with findings, by FromRun (a run's
// output folder) or FromStore (what a store holds, as a principal sees
// it); HTML writes it, and package internal/chromium prints it to PDF.
package brief

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/redact"
)

// Data is everything a brief says.
type Data struct {
	Title  string
	Source string    // where the figures come from, in words
	Made   time.Time // when the brief was made
	// Seams made the brief; RunSeams the figures (nil when not recorded).
	Seams    seams.Build
	RunSeams *seams.Build

	// The headline figures.
	Scanned       int // reports scanned
	Tied          int // reports tied to a compound
	Potential     int // reports potentially associated and tied to none
	CompoundsTied int // compounds with tied reports
	CompoundsAny  int // compounds with any finding
	Findings      int
	// Period is the first and last month (UTC) of the observations behind
	// the findings; zero when none has a time.
	PeriodFrom, PeriodTo time.Time
	// Received is the first and last time reports with findings were
	// received, when the reports were read (FromRun with report files,
	// or a store).
	ReceivedFrom, ReceivedTo time.Time

	// The method.
	Parameters     *seams.RunParameters // nil when not recorded
	Drift          string
	Registry       seams.RegistryCounts
	Inputs         []seams.InputCount
	Databases      []seams.DatabaseInfo
	SharedLists    []seams.SharedList
	OverCorrelated []seams.OverCorrelated
	Unusable       []seams.Unusable
	Warnings       []string
	Hashes         []Hash // of the run's own files (summary.json, findings.jsonl)
	// Missing says what the source does not record, in words.
	Missing []string

	// The limitations, from the data.
	Limits Limits

	// Sources are the sources of the indicators behind the findings.
	Sources []SourceRow

	ByCompound []CompoundRow
	ByCountry  []seams.CountryCount
	Months     []MonthCount
	Chains     []Chain // of the tied findings

	// Reviews counts the findings by review mark, from a store.
	Reviews *seams.ReviewCounts

	// Redacted: report ids and devices are pseudonyms under the key
	// RedactKey (its fingerprint).
	Redacted  bool
	RedactKey string
}

// Hash is the SHA-256 of a file.
type Hash struct {
	File   string
	SHA256 string
}

// Limits are what limits the figures, counted from the data.
type Limits struct {
	Reports          int // reports accepted
	Rejected         int // records rejected (rejected.jsonl)
	Events           int
	EventsUnroutable int
	EventsUndated    int
	// NoUsable counts reports without a usable event (an address that can
	// be routed, or a device that can match); known only when the reports
	// were read (NoUsableKnown).
	NoUsable      int
	NoUsableKnown bool
	// Of the reports potentially associated (and tied to none): those
	// with evidence from an event flagged as a proxy, and those with
	// evidence in shared space.
	PotentialProxy  int
	PotentialShared int
	// Of the tied reports: those tied only through an associated account.
	TiedAssociated int
	// Indicators capped as over-correlated, and the findings downgraded.
	Capped     int
	Downgraded int
	// UndatedFindings have no observation time: outside the timeline.
	UndatedFindings int
}

// CompoundRow is a compound with its counts.
type CompoundRow struct {
	ID, Name, Country string
	Status            string
	Lat, Lon          float64
	HasLocation       bool
	Tied, Potential   int            // distinct reports, as summary.json's by_compound
	Rules             map[string]int // findings with evidence of each rule
	First, Last       time.Time      // observations
}

// SourceRow is a source of indicators, as the evidence names it: how many
// of its indicators fired, in how many findings, and the span of their
// windows.
type SourceRow struct {
	Source      string
	Indicators  int
	Findings    int
	Tied        int // findings tied, with evidence of this source
	First, Last time.Time
}

// MonthCount counts reports by the month of their earliest observation:
// Tied those with a tied finding, Potential the others.
type MonthCount struct {
	Month           time.Time
	Tied, Potential int
}

// Chain is the evidence chain of a tied finding.
type Chain struct {
	Report   string
	Compound string
	Name     string
	Tier     seams.Tier
	Evidence []seams.Evidence
	Capped   []seams.CapNote
}

// Builder accumulates findings into a brief.
type Builder struct {
	d         *Data
	redact    *redact.Key
	mask      func(seams.DeviceID) seams.DeviceID
	reports   map[string]*reportState
	compounds map[string]*CompoundRow
	sources   map[string]*sourceState
}

type sourceState struct {
	row        SourceRow
	indicators map[string]bool
}

type reportState struct {
	tier      seams.Tier
	at        time.Time
	proxy     bool
	shared    bool
	assocOnly bool // tied, and only through associated accounts
	tiedByOwn bool
}

// NewBuilder starts a brief. key, when not nil, redacts report ids and
// devices.
func NewBuilder(d *Data, key *redact.Key) *Builder {
	if key != nil {
		d.Redacted, d.RedactKey = true, key.ID()
	}
	return &Builder{d: d, redact: key, reports: map[string]*reportState{}, compounds: map[string]*CompoundRow{}, sources: map[string]*sourceState{}}
}

// MaskDevices makes the appendix show devices as mask returns them (the
// dashboard's masking for viewers), after redaction if any.
func (b *Builder) MaskDevices(mask func(seams.DeviceID) seams.DeviceID) { b.mask = mask }

// Compound adds what is known of a compound (name, country, status,
// location); compounds with findings but not added show their id.
func (b *Builder) Compound(c *seams.Compound) {
	r := b.row(c.ID)
	r.Name, r.Country, r.Status = c.Name, c.Country, string(c.Status)
	r.Lat, r.Lon, r.HasLocation = c.Lat, c.Lon, c.HasLocation
}

func (b *Builder) row(id string) *CompoundRow {
	r := b.compounds[id]
	if r == nil {
		r = &CompoundRow{ID: id, Rules: map[string]int{}}
		b.compounds[id] = r
	}
	return r
}

// Add adds a finding. The builder keeps it only when it is tied (for the
// appendix); f may be reused after Add returns otherwise.
func (b *Builder) Add(f *seams.Finding) {
	b.d.Findings++
	rs := b.reports[f.Report]
	if rs == nil {
		rs = &reportState{}
		b.reports[strings.Clone(f.Report)] = rs
	}
	at := earliest(f.Evidence)
	if !at.IsZero() && (rs.at.IsZero() || at.Before(rs.at)) {
		rs.at = at
	}
	if at.IsZero() {
		b.d.Limits.UndatedFindings++
	}
	if f.Tier > rs.tier {
		rs.tier = f.Tier
	}
	row := b.row(f.Compound)
	seen := map[seams.Rule]bool{}
	seenSource := map[string]bool{}
	for i := range f.Evidence {
		e := &f.Evidence[i]
		if !seen[e.Rule] {
			seen[e.Rule] = true
			row.Rules[e.Rule.String()]++
		}
		if t := e.Observed.At; !t.IsZero() {
			if row.First.IsZero() || t.Before(row.First) {
				row.First = t
			}
			if t.After(row.Last) {
				row.Last = t
			}
			b.period(t)
		}
		if in := e.Indicator; in != nil && in.Kind != 0 {
			ss := b.sources[in.Source]
			if ss == nil {
				ss = &sourceState{row: SourceRow{Source: strings.Clone(in.Source)}, indicators: map[string]bool{}}
				b.sources[ss.row.Source] = ss
			}
			key := f.Compound + "\x00" + in.Kind.String() + "\x00" + in.Value
			if !ss.indicators[key] {
				ss.indicators[strings.Clone(key)] = true
				ss.row.Indicators++
				if w := in.Window.First; !w.IsZero() && (ss.row.First.IsZero() || w.Before(ss.row.First)) {
					ss.row.First = w
				}
				if w := in.Window.Last; w.After(ss.row.Last) {
					ss.row.Last = w
				}
			}
			if !seenSource[in.Source] {
				seenSource[in.Source] = true
				ss.row.Findings++
				if f.Tier == seams.TierTied {
					ss.row.Tied++
				}
			}
		}
		if e.Observed.Proxy {
			rs.proxy = true
		}
		if e.Shared.IsValid() {
			rs.shared = true
		}
		if e.Ties() {
			if e.Observed.Associated {
				rs.assocOnly = true
			} else {
				rs.tiedByOwn = true
			}
		}
	}
	if f.Tier == seams.TierTied {
		b.d.Chains = append(b.d.Chains, b.chain(f))
	}
}

func (b *Builder) period(t time.Time) {
	if b.d.PeriodFrom.IsZero() || t.Before(b.d.PeriodFrom) {
		b.d.PeriodFrom = t
	}
	if t.After(b.d.PeriodTo) {
		b.d.PeriodTo = t
	}
}

// chain copies a tied finding for the appendix, redacted when asked.
func (b *Builder) chain(f *seams.Finding) Chain {
	c := Chain{Report: f.Report, Compound: f.Compound, Tier: f.Tier, Capped: slices.Clone(f.Capped)}
	if b.redact != nil {
		c.Report = b.redact.Report(f.Report)
	}
	c.Report = strings.Clone(c.Report)
	c.Compound = strings.Clone(c.Compound)
	for _, e := range f.Evidence {
		in := *e.Indicator
		if b.redact != nil {
			if in.Kind == seams.KindDevice {
				in.Device = b.redact.Device(in.Device)
				in.Value = in.Device.String()
			}
			if e.Observed.Device != (seams.DeviceID{}) {
				e.Observed.Device = b.redact.Device(e.Observed.Device)
			}
		}
		if b.mask != nil {
			if in.Kind == seams.KindDevice {
				in.Device = b.mask(in.Device)
				in.Value = in.Device.String()
			}
			if e.Observed.Device != (seams.DeviceID{}) {
				e.Observed.Device = b.mask(e.Observed.Device)
			}
		}
		e.Indicator = &in
		c.Evidence = append(c.Evidence, e)
	}
	return c
}

// Received notes when a report with findings was received, and whether
// it had a usable event; call it for every report read (with findings or
// not) to count the reports without usable events.
func (b *Builder) Received(r *seams.Report) {
	b.d.Limits.NoUsableKnown = true
	if !usable(r) {
		b.d.Limits.NoUsable++
	}
	if _, ok := b.reports[r.ID]; !ok || r.Received.IsZero() {
		return
	}
	t := r.Received
	if b.d.ReceivedFrom.IsZero() || t.Before(b.d.ReceivedFrom) {
		b.d.ReceivedFrom = t
	}
	if t.After(b.d.ReceivedTo) {
		b.d.ReceivedTo = t
	}
}

// usable reports whether a report has an event that can match: an
// address that can be routed, or a device whose type can equal an
// indicator's.
func usable(r *seams.Report) bool {
	for i := range r.IPs {
		if seams.NonRoutable(r.IPs[i].Addr) == "" {
			return true
		}
	}
	for i := range r.Devices {
		if r.Devices[i].ID.Matchable() {
			return true
		}
	}
	return false
}

func earliest(ev []seams.Evidence) time.Time {
	var at time.Time
	for i := range ev {
		if t := ev[i].Observed.At; !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at
}

// Data finishes the brief: the counts by compound (from counts, the
// summary's by_compound, which the findings' tiers agree with), the
// months, the limitations from the reports' states.
func (b *Builder) Data(counts []seams.CompoundCount) *Data {
	d := b.d
	for _, c := range counts {
		r := b.row(c.Compound)
		r.Tied, r.Potential = c.Tied, c.Potential
		if r.Name == "" {
			r.Name = c.Name
		}
		if r.Country == "" {
			r.Country = c.Country
		}
	}
	d.ByCompound = d.ByCompound[:0]
	for _, r := range b.compounds {
		if r.Tied+r.Potential > 0 || len(r.Rules) > 0 {
			d.ByCompound = append(d.ByCompound, *r)
		}
		if r.Tied > 0 {
			d.CompoundsTied++
		}
		if r.Tied+r.Potential > 0 {
			d.CompoundsAny++
		}
	}
	slices.SortFunc(d.ByCompound, func(a, b CompoundRow) int {
		return cmp.Or(-cmp.Compare(a.Tied, b.Tied), -cmp.Compare(a.Potential, b.Potential), cmp.Compare(a.ID, b.ID))
	})
	months := map[time.Time]*MonthCount{}
	for _, rs := range b.reports {
		switch rs.tier {
		case seams.TierTied:
			if rs.assocOnly && !rs.tiedByOwn {
				d.Limits.TiedAssociated++
			}
		case seams.TierPotential:
			if rs.proxy {
				d.Limits.PotentialProxy++
			}
			if rs.shared {
				d.Limits.PotentialShared++
			}
		}
		if rs.at.IsZero() {
			continue
		}
		m := time.Date(rs.at.Year(), rs.at.Month(), 1, 0, 0, 0, 0, time.UTC)
		mc := months[m]
		if mc == nil {
			mc = &MonthCount{Month: m}
			months[m] = mc
		}
		if rs.tier == seams.TierTied {
			mc.Tied++
		} else {
			mc.Potential++
		}
	}
	d.Months = d.Months[:0]
	if len(months) > 0 {
		var first, last time.Time
		for m := range months {
			if first.IsZero() || m.Before(first) {
				first = m
			}
			if m.After(last) {
				last = m
			}
		}
		// Every month from the first to the last, so that gaps show.
		for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
			if mc := months[m]; mc != nil {
				d.Months = append(d.Months, *mc)
			} else {
				d.Months = append(d.Months, MonthCount{Month: m})
			}
		}
	}
	d.Sources = d.Sources[:0]
	for _, ss := range b.sources {
		d.Sources = append(d.Sources, ss.row)
	}
	slices.SortFunc(d.Sources, func(a, b SourceRow) int {
		return cmp.Or(-cmp.Compare(a.Findings, b.Findings), cmp.Compare(a.Source, b.Source))
	})
	for i := range d.Chains {
		if r := b.compounds[d.Chains[i].Compound]; r != nil {
			d.Chains[i].Name = r.Name
		}
	}
	slices.SortFunc(d.Chains, func(a, b Chain) int {
		return cmp.Or(cmp.Compare(a.Compound, b.Compound), cmp.Compare(a.Report, b.Report))
	})
	for _, o := range d.OverCorrelated {
		if o.Capped {
			d.Limits.Capped++
			d.Limits.Downgraded += o.Downgraded
		}
	}
	return d
}
