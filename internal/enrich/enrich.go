// Package enrich adds what IP databases and shared-space lists know to a
// registry and to findings, the same way for every door (seams xref on
// files, a store's runs):
//
//   - asn indicators become the networks their AS announces (the ASN
//     database's), indexed like prefixes: matching them costs nothing per
//     event, and an event is asn evidence when its address lies in one;
//   - shared ASNs (a list by AS, presets, warninglists) likewise become
//     shared prefixes, each with the reason it is shared;
//   - every observed address of a finding's evidence is looked up (a
//     finding is rare, and lookups are cached per network) for its AS,
//     organisation, country and city, and the finding gets consistency
//     signals: cross-border, foreign AS.
//
// Without an ASN database, asn indicators and shared ASNs cannot be used:
// Unusable says so, once, with their count.
//
// Annotate (lines.go) is seams enrich: it copies a JSON Lines file of
// reports or findings, adding the databases' answer to every address, by
// editing each line's bytes in place.
package enrich

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/match"
	"github.com/seams-dev/seams/mmdb"
	"github.com/seams-dev/seams/sharedlist"
)

// Options are the databases and shared lists of a run.
type Options struct {
	// ASNDB and GeoDB are IP databases in MaxMind DB format (see package
	// mmdb): AS and location of every evidence address.
	ASNDB, GeoDB []string
	// SharedASN lists ASes whose every address is shared space (needs an
	// ASN database); SharedPresets names curated lists to turn on
	// ("satellite,cdn"; see package sharedlist).
	SharedASN     []uint32
	SharedPresets string
}

// ErrOptions marks an error in the Options: a list by AS without an ASN
// database, an unknown preset.
var ErrOptions = errors.New("enrichment options")

// OptionError is a mistake in one field of Options, named as Go spells it
// ("SharedASN"), so that a caller maps it to its own field or flag without
// reading the message. errors.Is(err, ErrOptions) holds for it.
type OptionError struct {
	Field, Reason string
}

func (e *OptionError) Error() string { return ErrOptions.Error() + ": " + e.Reason }

// Is makes an OptionError match ErrOptions.
func (e *OptionError) Is(target error) bool { return target == ErrOptions }

// Databases are the opened IP databases and the shared-list options of a
// run: what every index the run builds shares. seams xref builds one index;
// a store's run builds one per organisation scope, each with its own
// Enrichment (NewBuild) over the same Databases.
type Databases struct {
	en *mmdb.Enricher // nil without databases
	o  Options
}

// OpenDatabases opens the databases of o, if any.
func OpenDatabases(o Options) (*Databases, error) {
	if len(o.SharedASN) > 0 && len(o.ASNDB) == 0 {
		return nil, &OptionError{"SharedASN", "shared ASNs need an ASN database"}
	}
	d := &Databases{o: o}
	if len(o.ASNDB)+len(o.GeoDB) == 0 {
		return d, nil
	}
	mo := mmdb.NewOptions()
	mo.ASN, mo.Geo = o.ASNDB, o.GeoDB
	en, err := mmdb.New(mo)
	if err != nil {
		return nil, fmt.Errorf("enrichment: %w", err)
	}
	d.en = en
	return d, nil
}

// Close closes the databases. Enrichments made by NewBuild must not be
// used afterwards.
func (d *Databases) Close() {
	if d.en != nil {
		d.en.Close()
	}
}

// On reports whether there are databases.
func (d *Databases) On() bool { return d.en != nil }

// Options returns the options the databases were opened with.
func (d *Databases) Options() Options { return d.o }

// Info returns the summary's account of the databases.
func (d *Databases) Info() []seams.DatabaseInfo {
	if d.en == nil {
		return nil
	}
	var out []seams.DatabaseInfo
	for _, db := range d.en.Databases() {
		out = append(out, seams.DatabaseInfo{Role: db.Role, File: db.File, Type: db.Type, Built: db.Date(),
			Networks: db.Networks, Provides: db.Provides})
	}
	return out
}

// NewBuild returns the enrichment of one index built over d: its own
// pending asn indicators, shared lists, compounds' ASes and what it
// could not use. Closing it does not close d.
func (d *Databases) NewBuild() *Enrichment { return &Enrichment{db: d, en: d.en, o: d.o} }

// Enrichment is what a run knows of its databases and shared lists while
// one index is built and its findings enriched. The zero value (no
// databases, no lists) enriches nothing.
type Enrichment struct {
	db  *Databases     // nil for the zero value
	own bool           // Close closes db (made by Open)
	en  *mmdb.Enricher // db.en: nil without databases
	// asns holds, by compound index, the ASes of the compound's own
	// address indicators, for the foreign-AS signal.
	asns        []map[uint32]bool
	lists       []seams.SharedList // see Lists
	unusable    []seams.Unusable   // see Unusable
	pendingASNs []seams.Indicator  // asn indicators, added once the registry is read
	shared      []sharedASN        // shared ASNs, likewise
	o           Options
}

// sharedASN is an AS number some list calls shared.
type sharedASN struct {
	asn  uint32
	list string // the list's name
	note string // what the list says of it
	idx  int    // its list in Enrichment.lists
}

// Open opens the databases of o, if any, for one index: OpenDatabases and
// NewBuild in one, its Close closing the databases.
func Open(o Options) (*Enrichment, error) {
	d, err := OpenDatabases(o)
	if err != nil {
		return nil, err
	}
	e := d.NewBuild()
	e.own = true
	return e, nil
}

// Close closes the databases when Open opened them; an Enrichment of
// NewBuild leaves them to their Databases.
func (e *Enrichment) Close() {
	if e.own && e.db != nil {
		e.db.Close()
	}
}

// On reports whether there are databases: findings are enriched, and a
// run reports by AS and signals.
func (e *Enrichment) On() bool { return e.en != nil }

func (e *Enrichment) hasASN() bool { return e.en != nil && e.en.HasASN() }

// Add puts an indicator of compound c (its index in the index's compounds)
// into the index being built; an asn indicator waits for Finish, which
// gives it its AS's networks.
func (e *Enrichment) Add(b *match.Builder, c int, in *seams.Indicator) error {
	e.noteIndicator(c, in)
	if in.Kind == seams.KindASN {
		e.pendingASNs = append(e.pendingASNs, *in)
		return nil
	}
	return b.Add(in)
}

// noteIndicator records the ASes of an address indicator of compound c,
// for the foreign-AS signal: an ip indicator's address's, a cidr
// indicator's first and last address's (a prefix may span ASes).
func (e *Enrichment) noteIndicator(c int, in *seams.Indicator) {
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

func (e *Enrichment) noteAddr(c int, a netip.Addr) {
	if r, err := e.en.Lookup(a); err == nil && r.HasASN {
		e.ownASN(c, r.ASN)
	}
}

func (e *Enrichment) ownASN(c int, asn uint32) {
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

// AddSharedList records a list of shared space (its prefixes are added to
// the index by the caller, who says why) and queues its ASNs for Finish.
func (e *Enrichment) AddSharedList(name, source, date string, prefixes int, asns []uint32, note func(uint32) string) {
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

// Finish adds the shared lists of the Options (presets, shared ASNs), then
// the queued asn indicators and shared ASNs, to the index being built, as
// the networks the ASN database gives their ASes; without one, it records
// them as unusable.
func (e *Enrichment) Finish(b *match.Builder) error {
	if err := e.loadSharedLists(b); err != nil {
		return err
	}
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

// loadSharedLists adds the presets and shared ASNs of the Options.
func (e *Enrichment) loadSharedLists(b *match.Builder) error {
	o := &e.o
	if o.SharedPresets != "" {
		lists, err := sharedlist.Presets(o.SharedPresets)
		if err != nil {
			return &OptionError{"SharedPresets", err.Error()}
		}
		for _, l := range lists {
			if len(l.ASNs) > 0 && !e.hasASN() {
				return &OptionError{"SharedPresets", fmt.Sprintf("preset %s lists autonomous systems: it needs an ASN database", l.Name)}
			}
			name := "preset " + l.Name
			b.AddSharedWhy("listed in "+name, l.Prefixes...)
			e.AddSharedList(name, l.Source, l.Date, len(l.Prefixes), l.ASNs, l.Note)
		}
	}
	if len(o.SharedASN) > 0 {
		e.AddSharedList("shared-asn", "command line", "", 0, o.SharedASN, nil)
	}
	return nil
}

// Enrich looks up every observed address of the findings fs and sets
// each finding's signals from its evidence addresses: cross-border when one
// is located in another country than the compound's, foreign-asn when one
// is on an AS that none of the compound's own address indicators is on.
// (An asn indicator is not an address indicator: evidence that matches
// only by AS, on an AS where the compound has no known address, is
// foreign-asn, which is worth a look.)
// compoundOf gives the index and the compound of a compound id. Enrich is
// safe for concurrent use once the index is built.
func (e *Enrichment) Enrich(fs []seams.Finding, compoundOf func(id string) (int, *seams.Compound)) {
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

// Lists returns the shared-space lists in force, for a summary.
func (e *Enrichment) Lists() []seams.SharedList { return e.lists }

// Unusable returns what could not be used, and why, for a summary.
func (e *Enrichment) Unusable() []seams.Unusable { return e.unusable }

// Databases returns the summary's account of the databases.
func (e *Enrichment) Databases() []seams.DatabaseInfo {
	if e.db == nil {
		return nil
	}
	return e.db.Info()
}
