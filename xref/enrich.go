package xref

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/match"
	"github.com/seams-dev/seams/mmdb"
	"github.com/seams-dev/seams/sharedlist"
)

// Enrichment, when ASN or location databases are given:
//
//   - asn indicators become the networks their AS announces (the ASN
//     database's), indexed like prefixes: matching them costs nothing per
//     event, and an event is asn evidence when its address lies in one;
//   - shared ASNs (--shared-asn, presets, warninglists) likewise become
//     shared prefixes, each with the reason it is shared;
//   - every observed address of a finding's evidence is looked up (a
//     finding is rare, and lookups are cached per network) for its AS,
//     organisation, country and city, and the finding gets consistency
//     signals: cross-border, foreign AS.
//
// Without an ASN database, asn indicators and shared ASNs cannot be used:
// the summary says so, once, with their count.

// enrichment is what a run knows of its databases and shared lists.
type enrichment struct {
	en *mmdb.Enricher // nil without databases
	// asns holds, by compound index, the ASes of the compound's own
	// address indicators, for the foreign-AS signal.
	asns        []map[uint32]bool
	lists       []seams.SharedList
	unusable    []seams.Unusable
	pendingASNs []seams.Indicator // asn indicators, added once the registry is read
	shared      []sharedASN       // shared ASNs, likewise
}

// sharedASN is an AS number some list calls shared.
type sharedASN struct {
	asn  uint32
	list string // the list's name
	note string // what the list says of it
	idx  int    // its list in enrichment.lists
}

// openEnrichment opens the databases of o, if any.
func openEnrichment(o *Options) (*enrichment, error) {
	e := &enrichment{}
	if len(o.ASNDB)+len(o.GeoDB) == 0 {
		return e, nil
	}
	mo := mmdb.NewOptions()
	mo.ASN, mo.Geo = o.ASNDB, o.GeoDB
	en, err := mmdb.New(mo)
	if err != nil {
		return nil, fmt.Errorf("enrichment: %w", err)
	}
	e.en = en
	return e, nil
}

func (e *enrichment) close() {
	if e.en != nil {
		e.en.Close()
	}
}

func (e *enrichment) hasASN() bool { return e.en != nil && e.en.HasASN() }

// noteIndicator records the ASes of an address indicator of compound c,
// for the foreign-AS signal: an ip indicator's address's, a cidr
// indicator's first and last address's (a prefix may span ASes).
func (e *enrichment) noteIndicator(c int, in *seams.Indicator) {
	if !e.hasASN() {
		return
	}
	switch in.Kind {
	case seams.KindIP:
		e.noteAddr(c, in.Addr)
	case seams.KindCIDR:
		e.noteAddr(c, in.Prefix.Addr())
		e.noteAddr(c, lastAddr(in.Prefix))
	}
}

func (e *enrichment) noteAddr(c int, a netip.Addr) {
	if r, err := e.en.Lookup(a); err == nil && r.HasASN {
		e.ownASN(c, r.ASN)
	}
}

func (e *enrichment) ownASN(c int, asn uint32) {
	for len(e.asns) <= c {
		e.asns = append(e.asns, nil)
	}
	if e.asns[c] == nil {
		e.asns[c] = map[uint32]bool{}
	}
	e.asns[c][asn] = true
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// addSharedList records a list of shared space and queues its ASNs.
func (e *enrichment) addSharedList(name, source, date string, prefixes int, asns []uint32, note func(uint32) string) {
	asns = slices.Compact(slices.Sorted(slices.Values(asns)))
	e.lists = append(e.lists, seams.SharedList{Name: name, Source: source, Date: date, Prefixes: prefixes, ASNs: len(asns)})
	for _, a := range asns {
		n := ""
		if note != nil {
			n = note(a)
		}
		e.shared = append(e.shared, sharedASN{asn: a, list: name, note: n, idx: len(e.lists) - 1})
	}
}

// finish adds the queued asn indicators and shared ASNs to the index being
// built, as the networks the ASN database gives their ASes; without one,
// it records them as unusable.
func (e *enrichment) finish(b *match.Builder) error {
	var asns []uint32
	for i := range e.pendingASNs {
		asns = append(asns, e.pendingASNs[i].ASN)
	}
	for _, s := range e.shared {
		asns = append(asns, s.asn)
	}
	if len(asns) == 0 {
		return nil
	}
	if !e.hasASN() {
		if n := len(e.pendingASNs); n > 0 {
			e.unusable = append(e.unusable, seams.Unusable{What: "asn indicators", Count: n,
				Reason: "matching an AS needs an ASN database (--asn-db)"})
		}
		if n := len(e.shared); n > 0 {
			e.unusable = append(e.unusable, seams.Unusable{What: "shared ASNs", Count: n,
				Reason: "shared space by AS needs an ASN database (--asn-db)"})
		}
		e.pendingASNs, e.shared = nil, nil
		return nil
	}
	nets, err := e.en.NetworksOf(asns)
	if err != nil {
		return fmt.Errorf("enrichment: %w", err)
	}
	missing := 0
	for i := range e.pendingASNs {
		in := &e.pendingASNs[i]
		if len(nets[in.ASN]) == 0 {
			missing++
			continue
		}
		if err := b.AddASN(in, nets[in.ASN]); err != nil {
			return err
		}
	}
	if missing > 0 {
		e.unusable = append(e.unusable, seams.Unusable{What: "asn indicators", Count: missing,
			Reason: "the ASN database maps no network to their AS"})
	}
	missing = 0
	for _, s := range e.shared {
		ps := nets[s.asn]
		if len(ps) == 0 {
			missing++
			continue
		}
		who := s.note
		if who == "" {
			if r, err := e.en.Lookup(ps[0].Addr()); err == nil {
				who = r.Org
			}
		}
		why := seams.FormatASN(s.asn)
		if who != "" {
			why += " " + who
		}
		b.AddSharedWhy(why+", listed in "+s.list, ps...)
		e.lists[s.idx].Prefixes += len(ps)
	}
	if missing > 0 {
		e.unusable = append(e.unusable, seams.Unusable{What: "shared ASNs", Count: missing,
			Reason: "the ASN database maps no network to their AS"})
	}
	e.pendingASNs, e.shared = nil, nil
	return nil
}

// loadSharedLists adds the presets and --shared-asn of o.
func (e *enrichment) loadSharedLists(o *Options, b *match.Builder) error {
	if o.SharedPresets != "" {
		lists, err := sharedlist.Presets(o.SharedPresets)
		if err != nil {
			return fmt.Errorf("%w: --shared-preset: %v", ErrUsage, err)
		}
		for _, l := range lists {
			if len(l.ASNs) > 0 && !e.hasASN() {
				return fmt.Errorf("%w: --shared-preset %s lists autonomous systems: it needs an ASN database (--asn-db)", ErrUsage, l.Name)
			}
			name := "preset " + l.Name
			b.AddSharedWhy("listed in "+name, l.Prefixes...)
			e.addSharedList(name, l.Source, l.Date, len(l.Prefixes), l.ASNs, l.Note)
		}
	}
	if len(o.SharedASN) > 0 {
		e.addSharedList("shared-asn", "command line", "", 0, o.SharedASN, nil)
	}
	return nil
}

// enrich looks up every observed address of the findings fs and sets
// each finding's signals from its evidence addresses: cross-border when one
// is located in another country than the compound's, foreign-asn when one
// is on an AS that none of the compound's own address indicators is on.
// (An asn indicator is not an address indicator: evidence that matches
// only by AS, on an AS where the compound has no known address, is
// foreign-asn, which is worth a look.)
func (e *enrichment) enrich(fs []seams.Finding, compoundOf func(id string) (int, *seams.Compound)) {
	if e.en == nil {
		return
	}
	for f := range fs {
		fd := &fs[f]
		ci, c := compoundOf(fd.Compound)
		var own map[uint32]bool
		if ci < len(e.asns) {
			own = e.asns[ci]
		}
		for k := range fd.Evidence {
			o := &fd.Evidence[k].Observed
			if !o.IP.IsValid() {
				continue
			}
			r, err := e.en.Lookup(o.IP)
			if err != nil {
				continue
			}
			o.Net = seams.AddrInfo{ASN: r.ASN, Org: r.Org, Country: r.Country, City: r.City}
			if r.Country != "" && c.Country != "" && r.Country != c.Country {
				fd.Signals.CrossBorder = true
			}
			// Only a compound with address indicators on known ASes has
			// "its own" ASes to differ from.
			if r.HasASN && len(own) > 0 && !own[r.ASN] {
				fd.Signals.ForeignASN = true
			}
		}
	}
}

// databases returns the summary's account of the databases.
func (e *enrichment) databases() []seams.DatabaseInfo {
	if e.en == nil {
		return nil
	}
	var out []seams.DatabaseInfo
	for _, d := range e.en.Databases() {
		out = append(out, seams.DatabaseInfo{Role: d.Role, File: d.File, Type: d.Type, Built: d.Date(),
			Networks: d.Networks, Provides: d.Provides})
	}
	return out
}

// asnTally counts reports by the AS of their evidence (see seams.ASNCount).
type asnTally struct {
	tied, potential map[uint32]int
	org             map[uint32]string
	t, p            []uint32 // scratch
}

// add counts (sign 1) or uncounts (-1) one report's findings, whose
// evidence ASes are asns[ct.asnOff:ct.asnEnd] for each.
func (a *asnTally) add(cts []compoundTier, asns []asnOrg, sign int) {
	a.t, a.p = a.t[:0], a.p[:0]
	for _, ct := range cts {
		for _, x := range asns[ct.asnOff:ct.asnEnd] {
			if a.org == nil {
				a.tied, a.potential, a.org = map[uint32]int{}, map[uint32]int{}, map[uint32]string{}
			}
			if _, ok := a.org[x.asn]; !ok {
				a.org[x.asn] = x.org
			}
			if ct.tier == seams.TierTied {
				if !slices.Contains(a.t, x.asn) {
					a.t = append(a.t, x.asn)
				}
			} else if !slices.Contains(a.p, x.asn) {
				a.p = append(a.p, x.asn)
			}
		}
	}
	for _, n := range a.t {
		a.tied[n] += sign
	}
	for _, n := range a.p {
		if !slices.Contains(a.t, n) {
			a.potential[n] += sign
		}
	}
}

// list returns the counts, sorted as the other lists are: tied, then
// potential, descending, then AS number.
func (a *asnTally) list() []seams.ASNCount {
	var out []seams.ASNCount
	for n, org := range a.org {
		if a.tied[n]+a.potential[n] == 0 {
			continue
		}
		out = append(out, seams.ASNCount{ASN: n, Org: org, Tied: a.tied[n], Potential: a.potential[n]})
	}
	slices.SortFunc(out, func(x, y seams.ASNCount) int {
		if c := cmp.Compare(y.Tied, x.Tied); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Potential, x.Potential); c != 0 {
			return c
		}
		return cmp.Compare(x.ASN, y.ASN)
	})
	return out
}

// asnOrg is the AS of an evidence address, for the tally.
type asnOrg struct {
	asn uint32
	org string
}
