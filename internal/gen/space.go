package gen

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// rangesCSV holds real IPv4 ranges registered in Cambodia, Myanmar and Laos,
// plus Starlink's (country SAT). See data/LICENSE.md for source and licence.
//
//go:embed data/sea_ipv4_ranges.csv
var rangesCSV string

// class is what a network is used for, as far as the generator cares.
type class uint8

const (
	classOther     class = iota // banks, ministries, small ISPs: background only
	classMobile                 // mobile carriers
	classFixed                  // fixed-line ISPs
	classSatellite              // Starlink
	classHosting                // hosting and VPN networks: where proxies live
)

type carrierKey struct {
	country string
	asn     uint32
}

type classKey struct {
	country string
	class   class
}

// carrierClasses names the major carriers of each country, whose lines a
// compound's indicators come from. Only large, well-known carriers are used
// for compounds, so that no small company's range is made to look involved;
// every range takes part in background traffic.
var carrierClasses = map[carrierKey]class{
	{"KH", 38623}:  classMobile, // Viettel (Cambodia), Metfone
	{"KH", 17976}:  classMobile, // CamGSM, Cellcard
	{"KH", 38600}:  classMobile, // Smart Axiata
	{"KH", 45498}:  classMobile, // Smart Axiata
	{"KH", 55769}:  classMobile, // South East Asia Telecom
	{"KH", 58424}:  classMobile, // Xinwei (Cambodia)
	{"KH", 38901}:  classFixed,  // EZECOM
	{"KH", 131178}: classFixed,  // EZECOM
	{"KH", 17726}:  classFixed,  // Telecom Cambodia
	{"KH", 23673}:  classFixed,  // COGETEL
	{"KH", 24492}:  classFixed,  // WiCAM
	{"KH", 9902}:   classFixed,  // NeocomISP
	{"KH", 131207}: classFixed,  // S.I Group
	{"KH", 24441}:  classFixed,  // CityLink
	{"KH", 38209}:  classFixed,  // Camintel
	{"MM", 133385}: classMobile, // Atom Myanmar
	{"MM", 9988}:   classMobile, // Myanma Post & Telecommunication
	{"MM", 136255}: classMobile, // Telecom International Myanmar
	{"MM", 132167}: classMobile, // Nine Communications
	{"MM", 18399}:  classFixed,  // Yatanarpon Teleport
	{"MM", 131322}: classFixed,  // Yatanarpon Teleport
	{"MM", 58952}:  classFixed,  // Frontiir
	{"MM", 133524}: classFixed,  // Global Technology
	{"MM", 133384}: classFixed,  // Global Technology
	{"MM", 45558}:  classFixed,  // Myanma Posts and Telecommunications
	{"MM", 135300}: classFixed,  // Myanmar Broadband Telecom
	{"LA", 9873}:   classMobile, // Lao Telecommunication
	{"LA", 10226}:  classMobile, // ETL
	{"LA", 131267}: classMobile, // Star Telecom
	{"LA", 24337}:  classFixed,  // Sky Telecom
	{"LA", 132513}: classFixed,  // Sky Telecom
	{"LA", 23900}:  classFixed,  // Planet Online Laos
	{"SAT", 14593}: classSatellite,
}

// hostingASNs are hosting and VPN networks with ranges in the region: the
// realistic source of proxy-flagged background events.
var hostingASNs = map[uint32]bool{
	9009: true, 16247: true, // M247
	212238: true,               // Datacamp
	137409: true,               // GSL Networks
	53813:  true,               // Zscaler
	13335:  true, 209242: true, // Cloudflare
	21859: true, 139625: true, // Zenlayer
	208172: true, // Proton
	209854: true, // Cyberzone
	58061:  true, // Scalaxy
}

// countries are the codes the data uses, SAT being Starlink.
var countries = []string{"KH", "MM", "LA", "SAT"}

type ipRange struct {
	start, end, asn uint32
	country         string
}

// loadRanges parses the embedded ranges once.
var loadRanges = sync.OnceValues(func() ([]ipRange, error) {
	rows, err := csv.NewReader(strings.NewReader(rangesCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("embedded ranges: %w", err)
	}
	var out []ipRange
	for i, row := range rows[1:] {
		if len(row) != 5 {
			return nil, fmt.Errorf("embedded ranges: line %d: %d fields, want 5", i+2, len(row))
		}
		s, err1 := netip.ParseAddr(row[0])
		e, err2 := netip.ParseAddr(row[1])
		asn, err3 := strconv.ParseUint(row[2], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil || !s.Is4() || !e.Is4() || e.Less(s) {
			return nil, fmt.Errorf("embedded ranges: line %d: invalid range %q", i+2, strings.Join(row, ","))
		}
		out = append(out, ipRange{start: v4(s), end: v4(e), asn: uint32(asn), country: row[4]})
	}
	slices.SortFunc(out, func(a, b ipRange) int { return cmpU32(a.start, b.start) })
	for i := 1; i < len(out); i++ {
		if out[i].start <= out[i-1].end {
			return nil, fmt.Errorf("embedded ranges: %s overlaps the range before it", addr4(out[i].start))
		}
	}
	return out, nil
})

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// span is one range of the embedded data, numbered into a global index so
// that a single bitmap can mark every address an indicator took.
type span struct {
	start, end uint32 // addresses, inclusive
	off        uint32 // global index of start
	asn        uint32
	country    string
	class      class
	shared     bool   // listed in shared.txt
	taken      uint32 // addresses taken by indicators
}

func (s *span) size() uint32 { return s.end - s.start + 1 }

// budget is how many addresses of a span indicators may take: half, so that
// background traffic always finds a free address within a couple of draws.
func (s *span) budget() uint32 { return s.size() / 2 }

// picker draws an address uniformly from a set of spans.
type picker struct {
	spans []int32
	cum   []uint64 // cum[i]: addresses in spans[0..i]
}

func (p *picker) add(i int32, size uint32) {
	var t uint64
	if n := len(p.cum); n > 0 {
		t = p.cum[n-1]
	}
	p.spans = append(p.spans, i)
	p.cum = append(p.cum, t+uint64(size))
}

func (p *picker) total() uint64 {
	if len(p.cum) == 0 {
		return 0
	}
	return p.cum[len(p.cum)-1]
}

// pick returns a span and an address in it.
func (p *picker) pick(r *rng, sp []span) (int32, uint32) {
	x := uint64(r.int64n(int64(p.total())))
	lo, hi := 0, len(p.cum)-1
	for lo < hi { // first i with cum[i] > x
		m := int(uint(lo+hi) >> 1)
		if p.cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	prev := uint64(0)
	if lo > 0 {
		prev = p.cum[lo-1]
	}
	si := p.spans[lo]
	return si, sp[si].start + uint32(x-prev)
}

// carrier is one network of one country, by ASN.
type carrier struct {
	key   carrierKey
	class class
	pick  picker
}

// space is the address space of a data set: every embedded range, which
// addresses indicators took, and the shared prefixes.
type space struct {
	spans     []span
	taken     []uint64 // bitmap over the global index
	byCountry map[string]*picker
	hosting   picker
	carriers  map[carrierKey]*carrier
	byClass   map[classKey][]*carrier // carriers of a country and class, by ASN
	sharedSAT picker                  // Starlink spans listed as shared
	otherSAT  picker                  // the other Starlink spans
	shared    []netip.Prefix          // shared.txt, sorted
}

// sharedSpans is how many Starlink ranges shared.txt lists.
const sharedSpans = 5

func newSpace(r *rng) (*space, error) {
	ranges, err := loadRanges()
	if err != nil {
		return nil, err
	}
	s := &space{byCountry: map[string]*picker{}, carriers: map[carrierKey]*carrier{}, byClass: map[classKey][]*carrier{}}
	var off uint32
	for _, rg := range ranges {
		k := carrierKey{rg.country, rg.asn}
		s.spans = append(s.spans, span{start: rg.start, end: rg.end, off: off, asn: rg.asn, country: rg.country, class: carrierClasses[k]})
		off += rg.end - rg.start + 1
	}
	s.taken = make([]uint64, (off+63)/64)

	// Shared space: a few Starlink ranges of moderate size that are at most
	// two prefixes each, chosen by the seed.
	var candidates []int32
	for i := range s.spans {
		sp := &s.spans[i]
		if sp.country == "SAT" && sp.size() >= 1024 && sp.size() <= 65536 && len(rangePrefixes(sp.start, sp.end)) <= 2 {
			candidates = append(candidates, int32(i))
		}
	}
	for n := 0; n < sharedSpans && len(candidates) > 0; n++ {
		j := r.intn(len(candidates))
		s.spans[candidates[j]].shared = true
		candidates = slices.Delete(candidates, j, j+1)
	}

	for i := range s.spans {
		sp := &s.spans[i]
		si, size := int32(i), sp.size()
		p := s.byCountry[sp.country]
		if p == nil {
			p = new(picker)
			s.byCountry[sp.country] = p
		}
		p.add(si, size)
		if hostingASNs[sp.asn] {
			s.hosting.add(si, size)
		}
		if sp.shared {
			s.sharedSAT.add(si, size)
			s.shared = append(s.shared, rangePrefixes(sp.start, sp.end)...)
		} else if sp.country == "SAT" {
			s.otherSAT.add(si, size)
		}
		if sp.class == classMobile || sp.class == classFixed {
			k := carrierKey{sp.country, sp.asn}
			c := s.carriers[k]
			if c == nil {
				c = &carrier{key: k, class: sp.class}
				s.carriers[k] = c
				ck := classKey{sp.country, sp.class}
				s.byClass[ck] = append(s.byClass[ck], c)
			}
			c.pick.add(si, size)
		}
	}
	for _, cs := range s.byClass {
		slices.SortFunc(cs, func(a, b *carrier) int { return cmpU32(a.key.asn, b.key.asn) })
	}
	return s, nil
}

// carriersOf returns the carriers of a country and class, by ASN.
func (s *space) carriersOf(country string, c class) []*carrier {
	return s.byClass[classKey{country, c}]
}

func (s *space) isTaken(i uint32) bool { return s.taken[i>>6]>>(i&63)&1 != 0 }
func (s *space) take(i uint32)         { s.taken[i>>6] |= 1 << (i & 63) }

// index returns the global index of address a in span si.
func (s *space) index(si int32, a uint32) uint32 { sp := &s.spans[si]; return sp.off + a - sp.start }

// free draws an address from p that no indicator took. It terminates
// quickly because indicators take at most half of any span.
func (s *space) free(r *rng, p *picker) uint32 {
	for {
		si, a := p.pick(r, s.spans)
		if b := a & 0xff; b == 0 || b == 0xff {
			continue // network and broadcast addresses of a /24 look odd in logs
		}
		if !s.isTaken(s.index(si, a)) {
			return a
		}
	}
}

// inShared reports whether a lies in one of the shared prefixes. There are a
// handful, so a loop beats anything cleverer.
func (s *space) inShared(a uint32) bool {
	ad := addr4(a)
	for _, p := range s.shared {
		if p.Contains(ad) {
			return true
		}
	}
	return false
}

// rangePrefixes returns the fewest prefixes that cover [start, end] exactly.
func rangePrefixes(start, end uint32) []netip.Prefix {
	var out []netip.Prefix
	for a := uint64(start); a <= uint64(end); {
		n := bits.TrailingZeros32(uint32(a)) // largest aligned block at a
		if a == 0 {
			n = 32
		}
		for n > 0 && a+(1<<n)-1 > uint64(end) {
			n--
		}
		out = append(out, netip.PrefixFrom(addr4(uint32(a)), 32-n))
		a += 1 << n
	}
	return out
}
