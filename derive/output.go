package derive

import (
	"cmp"
	"fmt"
	"io"
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
	// Residents and PassersBy count (device, compound) pairs seen inside:
	// resident when seen on MinDays distinct days within Window.
	Residents        int `json:"residents"`
	PassersBy        int `json:"passers_by"`
	DeviceIndicators int `json:"device_indicators"` // rows written, carried ones included
	IPIndicators     int `json:"ip_indicators"`
	SharedAddresses  int `json:"shared_addresses"` // lines of shared.txt
	// Rejected counts the lines of rejected.jsonl: every input.
	Rejected   int                `json:"rejected"`
	Previous   *PreviousCounts    `json:"previous,omitempty"`
	Footprints FootprintCounts    `json:"footprints"`
	ByCompound []CompoundCounts   `json:"by_compound"`
	Settings   Settings           `json:"settings"`
	Inputs     []seams.InputCount `json:"inputs"`
}

// ObservationCounts accounts for every observation record read: Read is
// Rejected + Inside + OutsideFootprints + AccuracyTooCoarse +
// AccuracyCrossesEdge. The last three are discarded for residency; the
// addresses of those outside still count towards the shared test.
type ObservationCounts struct {
	Read                int `json:"read"`
	Rejected            int `json:"rejected"`
	Inside              int `json:"inside"`
	OutsideFootprints   int `json:"outside_footprints"`
	AccuracyTooCoarse   int `json:"accuracy_too_coarse"`
	AccuracyCrossesEdge int `json:"accuracy_crosses_edge"`
	// AccuracyAssumed counts accepted observations without accuracy_m,
	// placed with Options.AssumeAccuracy.
	AccuracyAssumed int `json:"accuracy_assumed"`
	// InsideSeveral counts those inside footprints of more than one
	// compound (counted for each).
	InsideSeveral      int `json:"inside_several_compounds"`
	InsideWithIP       int `json:"inside_with_ip"`
	InsideUnroutableIP int `json:"inside_ip_unroutable"` // private, CGNAT...: never indicators
}

// FootprintCounts says where the footprints came from.
type FootprintCounts struct {
	Features         int `json:"features"` // accepted from the GeoJSON file
	Circles          int `json:"circles"`  // drawn around compounds without a feature
	CompoundsWithout int `json:"compounds_without"`
}

// PreviousCounts says what became of the indicators of an earlier run.
type PreviousCounts struct {
	Read     int `json:"read"`     // accepted rows
	Extended int `json:"extended"` // derived again: windows joined
	Carried  int `json:"carried"`  // not derived again: kept as they were
	// Retired counts ip indicators whose address is now shared.
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
	PassersBy          int    `json:"passers_by"`
	IPIndicators       int    `json:"ip_indicators"`
}

// Settings are the rules the derivation applied.
type Settings struct {
	Radius            float64 `json:"radius_m"`
	MaxAccuracy       float64 `json:"max_accuracy_m"`
	AssumeAccuracy    float64 `json:"assume_accuracy_m"`
	MinDays           int     `json:"min_days"`
	WindowDays        int     `json:"window_days"`
	MaxOutsideShare   float64 `json:"max_outside_share"`
	MinOutsideDevices int     `json:"min_outside_devices"`
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
	prov        Provenance
}

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
	// own; for an address, those of resident devices using it.
	Observations int64 `json:"observations"`
	Days         int   `json:"days"`
	Devices      int   `json:"devices"`
	// BestWindowDays (device) is the most distinct days within one window.
	BestWindowDays int `json:"best_window_days,omitempty"`
	// Address (ip) is the shared test.
	Address    *AddressUse `json:"address,omitempty"`
	Footprints []string    `json:"footprints,omitempty"`
	// Previous is the indicator of the earlier run this one extends, or
	// the one carried over when Carried.
	Previous *PreviousRow `json:"previous,omitempty"`
	Carried  bool         `json:"carried,omitempty"`
}

// AddressUse counts who used an address: devices seen using it inside any
// footprint, and devices that used it only outside every footprint (at
// least that many when OutsideAtLeast).
type AddressUse struct {
	InsideDevices  int     `json:"inside_devices"`
	OutsideDevices int     `json:"outside_devices"`
	OutsideAtLeast bool    `json:"outside_at_least,omitempty"`
	OutsideShare   float64 `json:"outside_share"`
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
// A device seen on exactly MinDays days gets 0.5, rising towards 0.95 as
// its days grow: 0.95 - 0.45·MinDays/days.
//
// An address used by one resident device gets 0.5, rising towards 0.95 with
// the resident devices using it (0.95 - 0.45/devices), and lowered in
// proportion to the share of its devices that used it only outside:
// (0.95 - 0.45/devices)·(1 - share).
func deviceConfidence(days, minDays int) float64 {
	return round2(0.95 - 0.45*float64(minDays)/float64(days))
}

func addressConfidence(devices int, share float64) float64 {
	return round2((0.95 - 0.45/float64(devices)) * (1 - share))
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// share returns the outside share of an address.
func (a *addr) share() float64 {
	n := a.outside.len()
	return float64(n) / float64(n+len(a.inside))
}

// isShared reports whether the address is shared infrastructure.
func (a *addr) isShared(o *Options) bool {
	return a.outside.len() >= o.MinOutsideDevices && a.share() > o.MaxOutsideShare
}

func (a *addr) use() *AddressUse {
	return &AddressUse{InsideDevices: len(a.inside), OutsideDevices: a.outside.len(), OutsideAtLeast: a.capped,
		OutsideShare: round2(a.share())}
}

// rows builds the indicators: residents, addresses, and what the previous
// run had, in output order.
func (d *deriver) rows() (rows []row, shared []int32) {
	w := int32(d.o.Window / (24 * time.Hour))
	for i := range d.pairs {
		p := &d.pairs[i]
		if !p.resident {
			continue
		}
		dev := d.devs.devs[p.dev]
		r := row{comp: int(p.comp), kind: seams.KindDevice, value: dev.String(),
			first: time.Unix(0, p.first).UTC(), last: time.Unix(0, p.last).UTC(),
			conf: deviceConfidence(len(p.days), d.o.MinDays), hasConf: true, source: d.o.Source}
		r.prov = Provenance{Observations: p.obs, Days: len(p.days), Devices: 1, BestWindowDays: p.days.bestWindow(w)}
		rows = append(rows, r)
	}
	sharedSeen := map[int32]bool{}
	for i := range d.uses {
		u := &d.uses[i]
		a := &d.addrs[u.addr]
		if a.isShared(d.o) {
			if !sharedSeen[u.addr] {
				sharedSeen[u.addr] = true
				shared = append(shared, u.addr)
			}
			continue
		}
		r := row{comp: int(u.comp), kind: seams.KindIP, value: a.addr.String(), addr: a.addr,
			first: time.Unix(0, u.first).UTC(), last: time.Unix(0, u.last).UTC(),
			conf: addressConfidence(len(u.devs), a.share()), hasConf: true, source: d.o.Source}
		r.prov = Provenance{Observations: u.obs, Days: len(u.days), Devices: len(u.devs), Address: a.use()}
		rows = append(rows, r)
		d.perComp[u.comp].IPIndicators++
	}
	rows = d.mergePrevious(rows, sharedSeen)
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
	slices.SortFunc(shared, func(a, b int32) int { return d.addrs[a].addr.Compare(d.addrs[b].addr) })
	return rows, shared
}

// compareRows orders indicators: by compound (in the order of the compounds
// file), kind (device, ip, cidr), then value (addresses by number).
func compareRows(a, b row) int {
	if c := cmp.Compare(a.comp, b.comp); c != 0 {
		return c
	}
	if c := cmp.Compare(kindRank(a.kind), kindRank(b.kind)); c != 0 {
		return c
	}
	switch a.kind {
	case seams.KindIP:
		return a.addr.Compare(b.addr)
	case seams.KindCIDR:
		if c := a.prefix.Addr().Compare(b.prefix.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.prefix.Bits(), b.prefix.Bits())
	}
	return strings.Compare(a.value, b.value)
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

// mergePrevious joins the indicators of an earlier run: a derived indicator
// the earlier run also had gets the union of both windows (so windows only
// grow from run to run, whatever order the data came in); one it had and
// this run does not derive is carried over as it was, unless it is an ip
// indicator whose address this run finds shared, which is retired.
func (d *deriver) mergePrevious(rows []row, shared map[int32]bool) []row {
	if d.o.Previous == "" {
		return rows
	}
	pc := &PreviousCounts{Read: len(d.previous)}
	d.sum.Previous = pc
	at := make(map[rowKey]int, len(rows))
	for i, r := range rows {
		at[rowKey{r.comp, r.kind, r.value}] = i
	}
	for i := range d.previous {
		p := &d.previous[i]
		k := rowKey{d.ids[p.Compound], p.Kind, p.Value}
		prev := &PreviousRow{File: p.File, Line: p.Line, FirstSeen: rfc3339(p.Window.First), LastSeen: rfc3339(p.Window.Last)}
		if j, ok := at[k]; ok {
			r := &rows[j]
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
			continue
		}
		if p.Kind == seams.KindIP {
			if ai, ok := d.sc.cands[p.Addr]; ok && shared[ai] {
				pc.Retired++
				continue
			}
		}
		pc.Carried++
		at[k] = len(rows)
		rows = append(rows, row{comp: k.comp, kind: p.Kind, value: p.Value, addr: p.Addr, prefix: p.Prefix,
			first: p.Window.First, last: p.Window.Last, conf: p.Confidence, hasConf: p.HasConfidence, source: p.Source,
			prov: Provenance{Previous: prev, Carried: true}})
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

// write writes the four outputs beside rejected.jsonl.
func (d *deriver) write(out *outputs) error {
	rows, shared := d.rows()
	for _, r := range rows {
		switch r.kind {
		case seams.KindDevice:
			d.sum.DeviceIndicators++
		case seams.KindIP:
			d.sum.IPIndicators++
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
	if err := d.writeShared(out.shared, shared); err != nil {
		return fmt.Errorf("write %s: %w", SharedFile, err)
	}
	d.sum.SharedAddresses = len(shared)
	d.sum.Rejected = d.rj.n
	for _, c := range d.perComp {
		if c.Footprints > 0 {
			d.sum.ByCompound = append(d.sum.ByCompound, c)
		}
	}
	o := d.o
	d.sum.Settings = Settings{Radius: o.Radius, MaxAccuracy: o.MaxAccuracy, AssumeAccuracy: o.AssumeAccuracy,
		MinDays: o.MinDays, WindowDays: int(o.Window / (24 * time.Hour)), MaxOutsideShare: o.MaxOutsideShare,
		MinOutsideDevices: o.MinOutsideDevices, Source: o.Source}
	d.sum.Inputs = d.inputs
	if err := writeJSON(out.summary, &d.sum); err != nil {
		return fmt.Errorf("write %s: %w", SummaryFile, err)
	}
	return nil
}

// writeIndicators writes indicators.csv in the registry's format.
func writeIndicators(w io.Writer, rows []row) error {
	iw := registry.NewIndicatorWriter(w)
	for _, r := range rows {
		in := seams.Indicator{Compound: r.prov.Compound, Kind: r.kind, Value: r.value, Window: seams.Window{First: r.first, Last: r.last},
			Confidence: r.conf, HasConfidence: r.hasConf, Source: r.source}
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
func (d *deriver) writeShared(w io.Writer, shared []int32) error {
	o := d.o
	fmt.Fprintln(w, "# Shared infrastructure found by seams derive: addresses that resident devices")
	fmt.Fprintln(w, "# used inside compound footprints, but that devices never seen inside used much")
	fmt.Fprintf(w, "# more (at least %d such devices, and more than %g of all devices using it).\n", o.MinOutsideDevices, o.MaxOutsideShare)
	fmt.Fprintln(w, "# Carrier NAT and satellite addresses look like this. Give it to seams xref --shared.")
	byAddr := map[int32][]string{}
	for i := range d.uses {
		u := &d.uses[i]
		byAddr[u.addr] = append(byAddr[u.addr], fmt.Sprintf("%s (%d)", d.compounds[u.comp].ID, len(u.devs)))
	}
	for _, ai := range shared {
		a := &d.addrs[ai]
		comps := byAddr[ai]
		slices.Sort(comps)
		atLeast := ""
		if a.capped {
			atLeast = "at least "
		}
		if _, err := fmt.Fprintf(w, "%s # %s%d devices only outside, %d inside (outside share %.2f); resident devices inside %s\n",
			a.addr, atLeast, a.outside.len(), len(a.inside), a.share(), strings.Join(comps, ", ")); err != nil {
			return err
		}
	}
	return nil
}
