package match

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/seams-dev/seams"
)

// DefaultDrift is how far outside an ip indicator's window an event at the
// same address may lie and still be evidence (rule ip-drift): 90 days.
const DefaultDrift = 90 * 24 * time.Hour

// Matcher matches reports against an Index. It keeps scratch buffers so that
// matching allocates nothing in the steady state; a Matcher is therefore not
// safe for concurrent use: give each goroutine its own.
type Matcher struct {
	x     *Index
	drift uint64
	// skip has bit r set for each rule r whose evidence is dropped (see
	// Only); zero keeps every rule.
	skip uint32

	hits    []hit
	ev      []seams.Evidence
	out     []seams.Finding
	inds    []seams.Indicator // indicators rebuilt for evidence
	key     []byte
	keys    []uint32 // MatchAll: IPv4 keys of all events
	nodes   []int32  // MatchAll: their nodes
	pending []uint32
	// values caches the text of address indicators that have fired, so
	// that a finding costs no allocation once its indicator has been seen.
	values map[int32]string
}

// hit is one indicator firing on one event, before findings are formed.
type hit struct {
	compound int32
	seq      int32  // the event's position: ip events first, then devices
	ord      uint32 // the order the indicator was added
	meta     int32  // the indicator's record in the index
	rule     seams.Rule
	shared   int32 // shared prefix containing the address, or -1
	drift    int64
}

// NewMatcher returns a matcher over x. drift bounds rule ip-drift; a
// negative drift is taken as zero (no drift evidence). An indicator with a
// drift bound of its own (seams.Indicator.HasDrift) is held to the smaller
// of the two.
func NewMatcher(x *Index, drift time.Duration) *Matcher {
	return &Matcher{x: x, drift: uint64(max(drift, 0)), values: map[int32]string{}}
}

// Match returns the findings of report r, one per compound with evidence, in
// the order of the compounds in the index. The findings and their evidence
// are valid until the next call of Match; they point into r, which must not
// change meanwhile.
func (m *Matcher) Match(r *seams.Report) []seams.Finding {
	m.hits = m.hits[:0]
	for i := range r.IPs {
		e := &r.IPs[i]
		if n := m.x.addrs.lookup(e.Addr); n >= 0 {
			m.matchAddr(n, int32(i), e)
		}
		// else the common case: the address is in no indicator
	}
	m.matchDevices(r)
	m.dropSkipped()
	if len(m.hits) == 0 {
		return nil
	}
	return m.findings(r)
}

// Only restricts the matcher to the evidence of the given rules: any other
// rule's evidence is dropped before findings are formed, as if it had never
// fired, so a finding's tier, and everything counted from findings, is what
// those rules alone give. No rule given keeps every rule. Private matching
// (package psi) sees only rules device and ip; a cross-reference restricted
// to them is its reference.
func (m *Matcher) Only(rules ...seams.Rule) {
	m.skip = 0
	if len(rules) == 0 {
		return
	}
	for r := seams.Rule(1); r <= seams.RuleLast; r++ {
		if !slices.Contains(rules, r) {
			m.skip |= 1 << r
		}
	}
}

// dropSkipped removes the hits of rules that Only left out.
func (m *Matcher) dropSkipped() {
	if m.skip != 0 {
		m.hits = slices.DeleteFunc(m.hits, func(h hit) bool { return m.skip&(1<<h.rule) != 0 })
	}
}

// MatchAll matches many reports and calls emit with the findings of each
// report that has any, in order. It gives the same findings as Match on each
// report, faster: the address lookups of all the reports' events are made
// together (see lookupMany4), so their cache misses overlap. The findings
// passed to emit are valid until emit returns.
func (m *Matcher) MatchAll(rs []seams.Report, emit func(i int, fs []seams.Finding)) {
	x := m.x
	m.keys = m.keys[:0]
	for i := range rs {
		for k := range rs[i].IPs {
			if a := rs[i].IPs[k].Addr; a.Is4() {
				m.keys = append(m.keys, key4Of(a))
			}
		}
	}
	m.nodes = slices.Grow(m.nodes[:0], len(m.keys))[:len(m.keys)]
	m.pending = x.addrs.lookupMany4(m.keys, m.nodes, m.pending)
	next := 0
	for i := range rs {
		r := &rs[i]
		m.hits = m.hits[:0]
		for k := range r.IPs {
			e := &r.IPs[k]
			var n int32
			if e.Addr.Is4() {
				n = m.nodes[next]
				next++
			} else {
				n = x.addrs.lookup6(key6Of(e.Addr))
			}
			if n >= 0 {
				m.matchAddr(n, int32(k), e)
			}
		}
		m.matchDevices(r)
		m.dropSkipped()
		if len(m.hits) > 0 {
			emit(i, m.findings(r))
		}
	}
}

// matchDevices adds the hits of r's devices.
func (m *Matcher) matchDevices(r *seams.Report) {
	x := m.x
	for j := range r.Devices {
		d := &r.Devices[j]
		if !d.ID.Matchable() {
			continue // its TYPE:VALUE text could spell another device
		}
		m.key = append(append(append(m.key[:0], d.ID.Type...), ':'), d.ID.Value...)
		s, ok := x.devices[string(m.key)] // string(bytes) in a map index does not allocate
		if !ok {
			continue
		}
		at := d.At.UnixNano()
		for k := s.off; k < s.off+s.n; k++ {
			en := &x.metas[k]
			// A device seen with no time matches whatever the window.
			if d.At.IsZero() || en.first <= at && at <= en.last {
				m.hits = append(m.hits, hit{compound: en.compound, seq: int32(len(r.IPs) + j), ord: en.ord, meta: int32(k), rule: seams.RuleDevice, shared: -1})
			}
		}
	}
}

// matchAddr adds the hits of ip event i whose address lies in node n.
func (m *Matcher) matchAddr(n int32, i int32, e *seams.IPEvent) {
	x := m.x
	if seams.NonRoutable(e.Addr) != "" {
		// No index built from validated indicators reaches here, but an
		// unroutable address must never match, whatever the registry.
		return
	}
	start := len(m.hits)
	if e.At.IsZero() {
		m.matchUndated(n, i)
	} else {
		m.matchDated(n, i, e.At.UnixNano())
	}
	if len(m.hits) > start {
		sh := x.shared.lookup(e.Addr)
		for k := start; k < len(m.hits); k++ {
			m.hits[k].shared = sh
		}
	}
}

// matchUndated adds the hits of ip event i, which has no time, whose
// address lies in node n: only the ip indicators of exactly that address,
// whatever their windows (rule ip-undated). Without a time, an address
// says too little to be placed in a range or an AS, and a window cannot
// be checked; the evidence never ties.
func (m *Matcher) matchUndated(n int32, i int32) {
	x := m.x
	nd := &x.nodes[n]
	if !nd.exact {
		return
	}
	for k := nd.off; k < nd.off+nd.n; k++ {
		if en := &x.metas[k]; en.kind != seams.KindASN { // an ip indicator, as matchDated reads it
			m.hits = append(m.hits, hit{compound: en.compound, seq: i, ord: en.ord, meta: int32(k), rule: seams.RuleIPUndated})
		}
	}
}

// matchDated adds the hits of ip event i at time t whose address lies in
// node n.
func (m *Matcher) matchDated(n int32, i int32, t int64) {
	x := m.x
	if nd := &x.nodes[n]; nd.exact {
		for k := nd.off; k < nd.off+nd.n; k++ {
			en := &x.metas[k]
			switch {
			case en.kind == seams.KindASN:
				// A one-address network of an AS: asn evidence, no drift.
				if en.first <= t && t <= en.last {
					m.hits = append(m.hits, hit{compound: en.compound, seq: i, ord: en.ord, meta: int32(k), rule: seams.RuleASN})
				}
			case en.first <= t && t <= en.last:
				m.hits = append(m.hits, hit{compound: en.compound, seq: i, ord: en.ord, meta: int32(k), rule: seams.RuleIP})
			case m.drift > 0:
				// An indicator's own bound narrows the run's: the
				// smaller applies. Zero (a window observed lease by
				// lease) is no drift evidence at all.
				bound := m.drift
				if en.flags&ownDrift != 0 {
					bound = min(bound, uint64(x.driftOf[en.ord]))
				}
				// Unsigned differences cannot overflow: both times are
				// int64, so their distance fits in a uint64.
				var d uint64
				if t < en.first {
					d = uint64(en.first) - uint64(t)
				} else {
					d = uint64(t) - uint64(en.last)
				}
				if d <= bound {
					m.hits = append(m.hits, hit{compound: en.compound, seq: i, ord: en.ord, meta: int32(k), rule: seams.RuleIPDrift, drift: int64(min(d, math.MaxInt64))})
				}
			}
		}
		n = x.addrs.parent[n]
	}
	for ; n >= 0; n = x.addrs.parent[n] {
		nd := &x.nodes[n]
		for k := nd.off; k < nd.off+nd.n; k++ {
			if en := &x.metas[k]; en.first <= t && t <= en.last {
				rule := seams.RuleCIDR
				if en.kind == seams.KindASN {
					rule = seams.RuleASN
				}
				m.hits = append(m.hits, hit{compound: en.compound, seq: i, ord: en.ord, meta: int32(k), rule: rule})
			}
		}
	}
}

// findings groups the hits by compound into findings.
func (m *Matcher) findings(r *seams.Report) []seams.Finding {
	x := m.x
	if len(m.hits) > 1 {
		slices.SortFunc(m.hits, func(a, b hit) int {
			if c := cmp.Compare(a.compound, b.compound); c != 0 {
				return c
			}
			if c := cmp.Compare(a.seq, b.seq); c != 0 {
				return c
			}
			return cmp.Compare(a.ord, b.ord)
		})
		// An asn indicator has a record per network of its AS, and an
		// address in nested networks hits it more than once: one piece
		// of evidence is enough. (Any other indicator hits an event once.)
		if x.counts.ASN > 0 {
			m.hits = slices.CompactFunc(m.hits, func(a, b hit) bool {
				return a.compound == b.compound && a.seq == b.seq && a.ord == b.ord && a.rule == b.rule
			})
		}
	}
	// Rebuild the indicators first: pointers into m.inds are taken only
	// once it has stopped growing.
	m.inds = slices.Grow(m.inds[:0], len(m.hits))[:len(m.hits)]
	for k, h := range m.hits {
		v, cached := m.values[h.meta]
		x.indicator(h.meta, &m.inds[k], v)
		if !cached && x.metas[h.meta].kind != seams.KindDevice {
			m.values[h.meta] = m.inds[k].Value
		}
	}
	m.ev = m.ev[:0]
	for k, h := range m.hits {
		ev := seams.Evidence{Rule: h.rule, Indicator: &m.inds[k], Drift: time.Duration(h.drift), Ref: h.meta}
		if int(h.seq) < len(r.IPs) {
			e := &r.IPs[h.seq]
			ev.Observed = seams.Observation{IP: e.Addr, At: e.At, Event: e.Event, Port: e.Port, Proxy: e.Proxy, Associated: e.Associated}
			if h.shared >= 0 {
				ev.Shared, ev.SharedWhy = x.sharedNames[h.shared], x.sharedWhy[h.shared]
			}
		} else {
			d := &r.Devices[int(h.seq)-len(r.IPs)]
			ev.Observed = seams.Observation{Device: d.ID, At: d.At, Associated: d.Associated}
		}
		m.ev = append(m.ev, ev)
	}
	m.out = m.out[:0]
	for i := 0; i < len(m.hits); {
		j := i + 1
		for j < len(m.hits) && m.hits[j].compound == m.hits[i].compound {
			j++
		}
		ev := m.ev[i:j:j]
		m.out = append(m.out, seams.Finding{
			Report:   r.ID,
			Compound: x.compounds[m.hits[i].compound].ID,
			Tier:     seams.TierOf(ev),
			Evidence: ev,
		})
		i = j
	}
	return m.out
}
