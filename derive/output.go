package derive

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/registry"
)

// Summary is the outcome of a derivation, written as summary.json.
type Summary struct {
	Observations ObservationCounts `json:"observations"`
	// Period is the first and last time of the observations kept (after
	// retention and exclusion): the period the registry comes from.
	Period *Period `json:"period,omitempty"`
	// Residents, Workers and PassersBy count (device, compound) pairs:
	// members of each role, and the other devices seen inside.
	Residents         int             `json:"residents"`
	Workers           int             `json:"workers"`
	PassersBy         int             `json:"passers_by"`
	Dwell             DwellCounts     `json:"dwell"`
	SharedCoordinates SpotCounts      `json:"shared_coordinates"`
	Addresses         AddressCounts   `json:"addresses"`
	DeviceIndicators  int             `json:"device_indicators"` // rows written, carried ones included
	IPIndicators      int             `json:"ip_indicators"`
	CIDRIndicators    int             `json:"cidr_indicators"`
	SharedAddresses   int             `json:"shared_addresses"` // lines of shared.txt
	Rejected          int             `json:"rejected"`         // lines of rejected.jsonl: every input
	Previous          *PreviousCounts `json:"previous,omitempty"`
	Footprints        FootprintCounts `json:"footprints"`
	// Warnings are what a person must read: footprints that fell back to
	// circles, footprints far larger than a compound.
	Warnings   []string           `json:"warnings"`
	Governance Governance         `json:"governance"`
	ByCompound []CompoundCounts   `json:"by_compound"`
	Settings   Settings           `json:"settings"`
	Inputs     []seams.InputCount `json:"inputs"`
}

// ObservationCounts accounts for every observation record read: Read is
// Rejected + OlderThanRetention + AtSensitivePlaces + Inside +
// OutsideFootprints + AccuracyTooCoarse + AccuracyCrossesEdge.
type ObservationCounts struct {
	Read     int `json:"read"`
	Rejected int `json:"rejected"`
	// Dropped before anything else (governance).
	OlderThanRetention int `json:"older_than_retention"`
	AtSensitivePlaces  int `json:"at_sensitive_places"`
	// Where the rest lie.
	Inside              int `json:"inside"`
	OutsideFootprints   int `json:"outside_footprints"`
	AccuracyTooCoarse   int `json:"accuracy_too_coarse"`
	AccuracyCrossesEdge int `json:"accuracy_crosses_edge"`
	// AccuracyAssumed counts the placed observations without accuracy_m,
	// placed with Options.AssumeAccuracy.
	AccuracyAssumed int `json:"accuracy_assumed"`
	// InsideSeveral counts those inside footprints of more than one
	// compound (counted for each).
	InsideSeveral      int `json:"inside_several_compounds"`
	InsideWithIP       int `json:"inside_with_ip"`
	InsideUnroutableIP int `json:"inside_ip_unroutable"` // private, CGNAT...: never indicators
}

// Period is a span of time, RFC 3339.
type Period struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

// DwellCounts says how the devices seen inside were decided.
type DwellCounts struct {
	DevicesInside int `json:"devices_inside"` // distinct devices seen inside any footprint
	Candidates    int `json:"candidates"`     // seen inside on MinDays days within a window: their stays were computed
	Residents     int `json:"residents"`      // (device, compound) pairs
	Workers       int `json:"workers"`
	PassersBy     int `json:"passers_by"`
}

// SpotCounts describes the shared coordinates found and discounted.
type SpotCounts struct {
	Coordinates      int `json:"coordinates"`       // reported by SpotDevices devices or more
	InsideFootprints int `json:"inside_footprints"` // of them, inside a footprint
	FixesInside      int `json:"fixes_inside"`      // candidates' fixes at them, inside a footprint
	FixesOutside     int `json:"fixes_outside"`
	FixesVague       int `json:"fixes_vague"` // too coarse or across an edge
}

// AddressCounts says what became of the lease windows of addresses
// members used inside.
type AddressCounts struct {
	Unsupported   int `json:"unsupported"`    // too few members or days: neither indicator nor shared
	Continued     int `json:"continued"`      // too few, but the address has the support in another window: kept
	Contested     int `json:"contested"`      // outside use above the competing share, not shared
	DroppedShared int `json:"dropped_shared"` // indicator windows of an address shared in another
	Delegations   int `json:"delegations"`    // IPv6 /56 written for several /64
}

// FootprintCounts says where the footprints came from.
type FootprintCounts struct {
	Features         int `json:"features"` // accepted from the GeoJSON file
	Circles          int `json:"circles"`  // drawn around compounds without a feature
	CompoundsWithout int `json:"compounds_without"`
	// FallbackCircles are circles drawn for compounds whose features were
	// all rejected.
	FallbackCircles []FallbackCircle `json:"fallback_circles"`
	// Large are accepted footprints larger than footprint.LargeAreaM2.
	Large []LargeFootprint `json:"large"`
}

// FallbackCircle is a compound whose features were rejected and which got
// a circle instead.
type FallbackCircle struct {
	Compound string   `json:"compound"`
	RadiusM  float64  `json:"radius_m"`
	Rejected []string `json:"rejected"` // file:line item: reason
}

// LargeFootprint is a footprint far larger than a compound.
type LargeFootprint struct {
	Compound string  `json:"compound"`
	Source   string  `json:"source"`
	AreaKM2  float64 `json:"area_km2"`
}

// Governance records what derive did to limit the location data it used
// and wrote, for an auditor.
type Governance struct {
	Exclude   *Exclusions `json:"exclude,omitempty"`
	Retention *Retention  `json:"retention,omitempty"`
	// Outputs states what the outputs hold: infrastructure and counts,
	// never a location.
	Outputs string `json:"outputs"`
}

// Exclusions describes the sensitive places applied.
type Exclusions struct {
	File    string `json:"file"`
	Zones   int    `json:"zones"`
	Dropped int    `json:"dropped"` // observations
}

// Retention describes the retention limit applied.
type Retention struct {
	AsOf       string `json:"as_of"`
	RetainDays int    `json:"retain_days"`
	Cutoff     string `json:"cutoff"`
	Dropped    int    `json:"dropped"` // observations older than the cutoff
}

// PreviousCounts says what became of the indicators of an earlier run.
type PreviousCounts struct {
	Read     int `json:"read"`     // accepted rows
	Extended int `json:"extended"` // derived again: windows joined
	Carried  int `json:"carried"`  // not derived again: kept as they were
	// Retired counts ip and cidr indicators whose address is now shared.
	Retired int `json:"retired_shared"`
}

// CompoundCounts describes one compound's part in the derivation.
type CompoundCounts struct {
	Compound           string `json:"compound"`
	Name               string `json:"name"`
	Country            string `json:"country"`
	Footprints         int    `json:"footprints"`
	ObservationsInside int64  `json:"observations_inside"`
	DevicesInside      int    `json:"devices_inside"`
	Residents          int    `json:"residents"`
	Workers            int    `json:"workers"`
	PassersBy          int    `json:"passers_by"`
	SharedCoordinates  int    `json:"shared_coordinates"`
	IPIndicators       int    `json:"ip_indicators"`
	CIDRIndicators     int    `json:"cidr_indicators"`
}

// Settings are the rules the derivation applied.
type Settings struct {
	Radius            float64 `json:"radius_m"`
	MaxAccuracy       float64 `json:"max_accuracy_m"`
	AssumeAccuracy    float64 `json:"assume_accuracy_m"`
	SpotDevices       int     `json:"spot_devices"`
	MinStay           string  `json:"min_stay"`
	MaxGap            string  `json:"max_gap"`
	MinDwell          string  `json:"min_dwell"`
	MinDays           int     `json:"min_days"`
	MinFixes          int     `json:"min_fixes"`
	MinShare          float64 `json:"min_share"`
	MinNights         int     `json:"min_nights"`
	Night             string  `json:"night"`
	WindowDays        int     `json:"window_days"`
	MinAddrDevices    int     `json:"min_address_devices"`
	MinAddrDays       int     `json:"min_address_days"`
	LeaseGapDays      int     `json:"lease_gap_days"`
	ShareMarginDays   int     `json:"share_margin_days"`
	MaxOutsideShare   float64 `json:"max_outside_share"`
	MinOutsideDevices int     `json:"min_outside_devices"`
	MaxCompetingShare float64 `json:"max_competing_share"`
	Source            string  `json:"source"`
}

// row is one indicator to write, with its provenance.
type row struct {
	comp        int
	kind        seams.Kind
	value       string
	addr        netip.Addr
	prefix      netip.Prefix
	first, last time.Time // zero: open
	conf        float64
	hasConf     bool
	source      string
	// The drift bound written: zero on the addresses and prefixes derived
	// (observedDrift); a carried row keeps the earlier run's.
	drift    time.Duration
	hasDrift bool
	prov     Provenance
}

// observedDrift is the drift bound derive writes on its ip and cidr
// indicators: none. Their windows are what derive observed, lease by lease
// (a gap longer than --lease-gap splits them): an event at the address
// outside a window is in a gap between the compound's leases or in another
// holder's, which xref's rule ip-drift must not take as evidence, whatever
// the run's --drift. Devices get no bound: rule ip-drift is about addresses.
const observedDrift = time.Duration(0)

// Provenance is one line of provenance.jsonl: the evidence for one
// indicator of indicators.csv, in the same order.
type Provenance struct {
	Compound   string   `json:"compound"`
	Kind       string   `json:"kind"`
	Value      string   `json:"value"`
	FirstSeen  string   `json:"first_seen,omitempty"`
	LastSeen   string   `json:"last_seen,omitempty"`
	Confidence *float64 `json:"confidence,omitempty"`
	// Observations, Days and Devices count the observations inside the
	// compound's footprints that support the indicator: for a device, its
	// fixes in counted stays; for an address, the members' uses of it
	// inside in its window (for a /56, summed over its /64).
	Observations int64 `json:"observations"`
	Days         int   `json:"days"`
	Devices      int   `json:"devices"`
	// Dwell (device) is the time inside.
	Dwell *DwellEvidence `json:"dwell,omitempty"`
	// Address (ip, cidr) is the shared test over the window.
	Address *AddressUse `json:"address,omitempty"`
	// Data is which observation files, and which period, the indicator
	// comes from.
	Data       *DataUsed `json:"data,omitempty"`
	Footprints []string  `json:"footprints,omitempty"`
	// Previous is the indicator of the earlier run this one extends, or
	// the one carried over when Carried.
	Previous *PreviousRow `json:"previous,omitempty"`
	Carried  bool         `json:"carried,omitempty"`
}

// DwellEvidence is a member's time inside its compound.
type DwellEvidence struct {
	Role string `json:"role"` // resident or worker
	// By is what made it a member: "stays" (time inside), or "share of
	// fixes" (too few fixes for stays, but most of them inside).
	By     string  `json:"by"`
	Share  float64 `json:"share_of_fixes"` // in the best window
	Hours  float64 `json:"hours"`          // in counted stays, on days the compound dominated
	Nights int     `json:"nights"`         // with half their hours inside
	Stays  int     `json:"stays"`
	// The best window of Settings.WindowDays.
	BestHours  float64 `json:"best_window_hours"`
	BestDays   int     `json:"best_window_days"`
	BestNights int     `json:"best_window_nights"`
}

// AddressUse counts who used an address during its window, widened by the
// share margin: devices seen using it inside any footprint, and devices
// that used it outside every footprint and never inside (at least that
// many when OutsideAtLeast).
type AddressUse struct {
	InsideDevices  int     `json:"inside_devices"`
	OutsideDevices int     `json:"outside_devices"`
	OutsideAtLeast bool    `json:"outside_at_least,omitempty"`
	OutsideShare   float64 `json:"outside_share"`
	// Merged64 is, for a /56, the number of its /64 that were indicators.
	Merged64 int `json:"merged_64,omitempty"`
	// Continues: this window has less support than the rules ask, and is
	// kept because another window of the address at the compound has it.
	Continues bool `json:"continues,omitempty"`
}

// DataUsed names the observation files an indicator's evidence comes from
// and its period.
type DataUsed struct {
	Files []string `json:"files"`
	First string   `json:"first"`
	Last  string   `json:"last"`
}

// PreviousRow is where an indicator of an earlier run was read.
type PreviousRow struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	FirstSeen string `json:"first_seen,omitempty"`
	LastSeen  string `json:"last_seen,omitempty"`
}

// Confidence of a derived indicator, in [0.5, 0.95): more evidence, more
// confidence, never certainty.
//
// A member with exactly the dwell and days the rules ask gets 0.5, rising
// towards 0.95 as its time and days grow past them: 0.95 − 0.45·r, where r
// is the larger of MinDwell/time and MinDays/days; for a member by its
// share of fixes, the larger of MinShare/share and MinDays/days with fixes
// inside. A worker (no nights) gets 0.1 less.
//
// An address window with exactly the support the rules ask (MinAddrDevices
// members on MinAddrDays days) gets 0.5, rising with devices × days:
// (0.95 − 0.45/s)·(1 − share), s = devices·days/(MinAddrDevices·MinAddrDays),
// share the outside share of its window. A window that continues another
// (less support than that) gets less than 0.5, at least 0.05.
func (d *deriver) deviceConfidence(m *member) float64 {
	var r float64
	if m.by == "stays" {
		r = float64(d.o.MinDays) / float64(max(m.days, 1))
		if d.o.MinDwell > 0 {
			r = max(r, d.o.MinDwell.Seconds()/float64(max(m.secs, 1)))
		}
	} else {
		r = max(float64(d.o.MinDays)/float64(max(m.fixDays, 1)), d.o.MinShare/max(m.share, 1e-9))
	}
	c := 0.95 - 0.45*min(r, 1)
	if m.role == roleWorker {
		c -= 0.1
	}
	return round2(c)
}

func (d *deriver) addressConfidence(w *addrWindow) float64 {
	s := float64(w.devices*w.days) / float64(d.o.MinAddrDevices*d.o.MinAddrDays)
	return round2(max(0.95-0.45/s, 0.05) * (1 - w.share))
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func hours(secs int64) float64 { return math.Round(float64(secs)/360) / 10 }

// dataUsed names the files of an indicator's evidence.
func (d *deriver) dataUsed(files []uint16, first, last int64) *DataUsed {
	u := &DataUsed{Files: make([]string, len(files)), First: rfc3339(timeOf(first)), Last: rfc3339(timeOf(last))}
	for i, f := range files {
		u.Files[i] = d.o.Observations[f]
	}
	return u
}

// rows builds the indicators: members, address windows, and what the
// previous run had, in output order.
func (d *deriver) rows() []row {
	var rows []row
	for i := range d.members {
		m := &d.members[i]
		dev := d.devs.devs[m.dev]
		r := row{comp: int(m.comp), kind: seams.KindDevice, value: dev.String(), first: timeOf(m.first), last: timeOf(m.last),
			conf: d.deviceConfidence(m), hasConf: true, source: d.o.Source}
		r.prov = Provenance{Observations: m.obs, Days: m.days, Devices: 1,
			Dwell: &DwellEvidence{Role: m.role, By: m.by, Share: round2(m.share), Hours: hours(m.secs), Nights: m.nights, Stays: m.stays,
				BestHours: hours(m.bestSecs), BestDays: m.bestDays, BestNights: m.bestNts},
			Data: d.dataUsed(m.files, m.first, m.last)}
		rows = append(rows, r)
	}
	for i := range d.result.windows {
		w := &d.result.windows[i]
		r := row{comp: int(w.comp), first: timeOf(w.first), last: timeOf(w.last), conf: d.addressConfidence(w), hasConf: true, source: d.o.Source,
			drift: observedDrift, hasDrift: true}
		if w.prefix.Addr().Is4() {
			r.kind, r.addr, r.value = seams.KindIP, w.prefix.Addr(), w.prefix.Addr().String()
			d.perComp[w.comp].IPIndicators++
		} else {
			r.kind, r.prefix, r.value = seams.KindCIDR, w.prefix, w.prefix.String()
			d.perComp[w.comp].CIDRIndicators++
		}
		r.prov = Provenance{Observations: w.obs, Days: w.days, Devices: w.devices,
			Address: &AddressUse{InsideDevices: w.in, OutsideDevices: w.out, OutsideAtLeast: w.more, OutsideShare: round2(w.share), Merged64: w.merged, Continues: w.continued},
			Data:    d.dataUsed(w.files, w.first, w.last)}
		rows = append(rows, r)
	}
	rows = d.mergePrevious(rows)
	slices.SortFunc(rows, compareRows)
	for i := range rows {
		r := &rows[i]
		p := &r.prov
		p.Compound, p.Kind, p.Value = d.compounds[r.comp].ID, r.kind.String(), r.value
		p.FirstSeen, p.LastSeen = rfc3339(r.first), rfc3339(r.last)
		if r.hasConf {
			c := r.conf
			p.Confidence = &c
		}
		if !p.Carried {
			p.Footprints = d.fpSources[r.comp]
		}
	}
	return rows
}

// compareRows orders indicators: by compound (in the order of the compounds
// file), kind (device, ip, cidr), value (addresses by number), then first
// seen (an address may have several lease windows).
func compareRows(a, b row) int {
	if c := cmp.Compare(a.comp, b.comp); c != 0 {
		return c
	}
	if c := cmp.Compare(kindRank(a.kind), kindRank(b.kind)); c != 0 {
		return c
	}
	var c int
	switch a.kind {
	case seams.KindIP:
		c = a.addr.Compare(b.addr)
	case seams.KindCIDR:
		if c = a.prefix.Addr().Compare(b.prefix.Addr()); c == 0 {
			c = cmp.Compare(a.prefix.Bits(), b.prefix.Bits())
		}
	default:
		c = strings.Compare(a.value, b.value)
	}
	if c != 0 {
		return c
	}
	return a.first.Compare(b.first)
}

// kindRank orders kinds as indicators.csv lists them: device, ip, cidr.
func kindRank(k seams.Kind) int {
	switch k {
	case seams.KindDevice:
		return 0
	case seams.KindIP:
		return 1
	}
	return 2
}

type rowKey struct {
	comp  int
	kind  seams.Kind
	value string
}

// mergePrevious joins the indicators of an earlier run. A device derived
// again gets the union of both windows. An address or prefix derived again
// joins the derived window it overlaps or lies within a lease gap of (the
// first such), which gets the union of both; so windows only grow from run
// to run, whatever order the data came in. One not derived again is
// carried over as it was, unless it is an address this run finds shared,
// which is retired.
func (d *deriver) mergePrevious(rows []row) []row {
	if d.o.Previous == "" {
		return rows
	}
	pc := &PreviousCounts{Read: len(d.previous)}
	d.sum.Previous = pc
	at := make(map[rowKey][]int, len(rows))
	for i, r := range rows {
		k := rowKey{r.comp, r.kind, r.value}
		at[k] = append(at[k], i)
	}
	sharedKeys := map[netip.Prefix]bool{}
	for _, s := range d.result.shared {
		sharedKeys[s.prefix] = true
	}
	gap := d.o.LeaseGap
	near := func(r *row, w seams.Window) bool {
		if r.kind == seams.KindDevice {
			return true
		}
		// Open sides reach everything.
		return (w.Last.IsZero() || r.first.IsZero() || !w.Last.Add(gap).Before(r.first)) &&
			(w.First.IsZero() || r.last.IsZero() || !r.last.Add(gap).Before(w.First))
	}
	for i := range d.previous {
		p := &d.previous[i]
		k := rowKey{d.ids[p.Compound], p.Kind, p.Value}
		prev := &PreviousRow{File: p.File, Line: p.Line, FirstSeen: rfc3339(p.Window.First), LastSeen: rfc3339(p.Window.Last)}
		joined := false
		for _, j := range at[k] {
			r := &rows[j]
			if !near(r, p.Window) {
				continue
			}
			if r.prov.Previous == nil { // the first of several rows names the earlier run
				r.prov.Previous = prev
				if !r.prov.Carried {
					pc.Extended++
				}
			}
			r.first, r.last = union(r.first, r.last, p.Window)
			if r.prov.Carried && !r.hasConf && p.HasConfidence {
				r.conf, r.hasConf = p.Confidence, true
			}
			joined = true
			break
		}
		if joined {
			continue
		}
		switch p.Kind {
		case seams.KindIP:
			if sharedKeys[netip.PrefixFrom(p.Addr, 32)] {
				pc.Retired++
				continue
			}
		case seams.KindCIDR:
			if p.Prefix.Addr().Is6() && p.Prefix.Bits() == 64 && sharedKeys[p.Prefix] {
				pc.Retired++
				continue
			}
		}
		pc.Carried++
		at[k] = append(at[k], len(rows))
		rows = append(rows, row{comp: k.comp, kind: p.Kind, value: p.Value, addr: p.Addr, prefix: p.Prefix,
			first: p.Window.First, last: p.Window.Last, conf: p.Confidence, hasConf: p.HasConfidence, source: p.Source,
			drift: p.Drift, hasDrift: p.HasDrift, prov: Provenance{Previous: prev, Carried: true}})
	}
	return rows
}

// union returns the smallest window holding [first, last] and w; an open
// side stays open.
func union(first, last time.Time, w seams.Window) (time.Time, time.Time) {
	if w.First.IsZero() || !first.IsZero() && w.First.Before(first) {
		first = w.First
	}
	if w.Last.IsZero() || !last.IsZero() && w.Last.After(last) {
		last = w.Last
	}
	return first, last
}

// outputsStatement is Governance.Outputs.
const outputsStatement = "indicators (devices, addresses, prefixes) with windows and counts, shared addresses with counts, " +
	"rejections without their content; no coordinates, no trajectories, no observation of any device"

// write writes the four outputs beside rejected.jsonl.
func (d *deriver) write(out *outputs) error {
	rows := d.rows()
	for _, r := range rows {
		switch r.kind {
		case seams.KindDevice:
			d.sum.DeviceIndicators++
		case seams.KindIP:
			d.sum.IPIndicators++
		case seams.KindCIDR:
			d.sum.CIDRIndicators++
		}
	}
	if err := writeIndicators(out.indicators, rows); err != nil {
		return fmt.Errorf("write %s: %w", IndicatorsFile, err)
	}
	for i := range rows {
		if err := writeJSONLine(out.provenance, &rows[i].prov); err != nil {
			return fmt.Errorf("write %s: %w", ProvenanceFile, err)
		}
	}
	if err := d.writeShared(out.shared); err != nil {
		return fmt.Errorf("write %s: %w", SharedFile, err)
	}
	s := &d.sum
	s.SharedAddresses = len(d.result.shared)
	s.Rejected = d.rj.n
	s.Residents, s.Workers, s.PassersBy = s.Dwell.Residents, s.Dwell.Workers, s.Dwell.PassersBy
	for _, c := range d.perComp {
		if c.Footprints > 0 {
			s.ByCompound = append(s.ByCompound, c)
		}
	}
	if s.ByCompound == nil {
		s.ByCompound = []CompoundCounts{}
	}
	g := &s.Governance
	g.Outputs = outputsStatement
	if g.Exclude != nil {
		g.Exclude.Dropped = s.Observations.AtSensitivePlaces
	}
	if g.Retention != nil {
		g.Retention.Dropped = s.Observations.OlderThanRetention
	}
	s.Warnings = d.warnings()
	if s.Footprints.FallbackCircles == nil {
		s.Footprints.FallbackCircles = []FallbackCircle{}
	}
	if s.Footprints.Large == nil {
		s.Footprints.Large = []LargeFootprint{}
	}
	o := d.o
	s.Settings = Settings{Radius: o.Radius, MaxAccuracy: o.MaxAccuracy, AssumeAccuracy: o.AssumeAccuracy, SpotDevices: o.SpotDevices,
		MinStay: o.MinStay.String(), MaxGap: o.MaxGap.String(), MinDwell: o.MinDwell.String(), MinDays: o.MinDays,
		MinFixes: o.MinFixes, MinShare: o.MinShare,
		MinNights: o.MinNights, Night: fmt.Sprintf("%02d:00-%02d:00 local solar time", o.NightStart, o.NightEnd),
		WindowDays: int(o.Window / day), MinAddrDevices: o.MinAddrDevices, MinAddrDays: o.MinAddrDays,
		LeaseGapDays: int(o.LeaseGap / day), ShareMarginDays: int(o.ShareMargin / day), MaxOutsideShare: o.MaxOutsideShare,
		MinOutsideDevices: o.MinOutsideDevices, MaxCompetingShare: o.MaxCompetingShare, Source: o.Source}
	s.Inputs = d.inputs
	if err := writeJSON(out.summary, s); err != nil {
		return fmt.Errorf("write %s: %w", SummaryFile, err)
	}
	return nil
}

// warnings are the footprint problems a person must see.
func (d *deriver) warnings() []string {
	w := []string{}
	for _, f := range d.sum.Footprints.FallbackCircles {
		w = append(w, fmt.Sprintf("compound %s: every footprint feature was rejected, so it gets a circle of %g m around its location instead (%s)",
			f.Compound, f.RadiusM, strings.Join(f.Rejected, "; ")))
	}
	for _, f := range d.sum.Footprints.Large {
		w = append(w, fmt.Sprintf("compound %s: footprint %s covers %g km², far more than a compound: check that it is not a district or a town before trusting its devices",
			f.Compound, f.Source, f.AreaKM2))
	}
	return w
}

// writeIndicators writes indicators.csv in the registry's format, with
// its drift column (observedDrift).
func writeIndicators(w io.Writer, rows []row) error {
	iw := registry.NewIndicatorWriterDrift(w)
	for _, r := range rows {
		in := seams.Indicator{Compound: r.prov.Compound, Kind: r.kind, Value: r.value, Window: seams.Window{First: r.first, Last: r.last},
			Confidence: r.conf, HasConfidence: r.hasConf, Source: r.source, Drift: r.drift, HasDrift: r.hasDrift}
		if err := iw.Write(&in); err != nil {
			return err
		}
	}
	return iw.Flush()
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// writeShared writes shared.txt in the format of xref's --shared, each
// address with the counts that put it there as a comment.
func (d *deriver) writeShared(w io.Writer) error {
	o := d.o
	fmt.Fprintln(w, "# Shared infrastructure found by seams derive: addresses (IPv6: /64) that resident or worker devices")
	fmt.Fprintln(w, "# used inside compound footprints, but that devices never seen inside used much more at the same")
	fmt.Fprintf(w, "# time (within %d days of the compound's use: at least %d such devices, and more than %g of all).\n",
		int(o.ShareMargin/day), o.MinOutsideDevices, o.MaxOutsideShare)
	fmt.Fprintln(w, "# Carrier NAT and satellite addresses look like this. Give it to seams xref --shared.")
	sh := slices.Clone(d.result.shared)
	slices.SortFunc(sh, func(a, b sharedAddr) int { return a.prefix.Addr().Compare(b.prefix.Addr()) })
	for _, s := range sh {
		var comps []string
		for _, c := range s.comps {
			comps = append(comps, fmt.Sprintf("%s (%d)", d.compounds[c.comp].ID, c.devices))
		}
		slices.Sort(comps)
		atLeast := ""
		if s.more {
			atLeast = "at least "
		}
		value := s.prefix.Addr().String()
		if s.prefix.Addr().Is6() {
			value = s.prefix.String()
		}
		if _, err := fmt.Fprintf(w, "%s # %s%d devices only outside, %d inside (outside share %.2f) from %s to %s; members inside %s\n",
			value, atLeast, s.out, s.in, s.share, timeOf(s.first).Format(time.DateOnly), timeOf(s.last).Format(time.DateOnly),
			strings.Join(comps, ", ")); err != nil {
			return err
		}
	}
	return nil
}
