package mmdb

import (
	"fmt"
	"net/netip"
	"slices"
)

// NetworksOf returns, for each AS number in asns, the networks whose
// addresses Lookup maps to it, sorted, IPv4 first. It walks the ASN
// databases once (about 0.1 s for a full one), so that a caller can turn
// AS numbers into prefixes before a run (for --shared-asn, or asn
// indicators) and pay nothing per event: an address lies in one of the
// networks returned for N exactly when Lookup(addr).ASN == N.
//
// With several ASN databases the first with a record for an address
// answers, so a later database's network loses the parts an earlier one
// covers. An AS number no database maps to has no entry.
func (e *Enricher) NetworksOf(asns []uint32) (map[uint32][]netip.Prefix, error) {
	want := map[uint32]bool{}
	for _, a := range asns {
		want[a] = true
	}
	out := map[uint32][]netip.Prefix{}
	if len(want) == 0 {
		return out, nil
	}
	for i, d := range e.asn {
		for res := range d.r.Networks() {
			if err := res.Err(); err != nil {
				return nil, fmt.Errorf("%s: %w", d.info.File, err)
			}
			// Open decoded every record: read its AS number from there.
			ri, ok := d.index[res.Offset()]
			if !ok {
				return nil, fmt.Errorf("%s: record for %s at an offset the search tree walk never reached", d.info.File, res.Prefix())
			}
			n := d.records[ri].asn
			if !want[n] {
				continue
			}
			p := res.Prefix()
			if i == 0 {
				out[n] = append(out[n], p)
				continue
			}
			pieces, err := uncovered(p, e.asn[:i], nil)
			if err != nil {
				return nil, err
			}
			out[n] = append(out[n], pieces...)
		}
	}
	for _, ps := range out {
		slices.SortFunc(ps, comparePrefix)
	}
	return out, nil
}

// uncovered appends to out the parts of p where none of dbs has a record.
func uncovered(p netip.Prefix, dbs []*DB, out []netip.Prefix) ([]netip.Prefix, error) {
	whole, some := false, false
	for _, d := range dbs {
		if p.Addr().Is6() && d.info.IPVersion == 4 {
			continue
		}
		for res := range d.r.NetworksWithin(p) {
			if err := res.Err(); err != nil {
				return nil, fmt.Errorf("%s: %w", d.info.File, err)
			}
			some = true
			// NetworksWithin yields the one network containing p when p
			// lies inside it.
			if res.Prefix().Bits() <= p.Bits() {
				whole = true
			}
			break
		}
		if whole {
			break
		}
	}
	switch {
	case !some:
		return append(out, p), nil
	case whole || p.Bits() == p.Addr().BitLen():
		return out, nil
	}
	lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	hi := netip.PrefixFrom(lastAddr(lo).Next(), p.Bits()+1)
	out, err := uncovered(lo, dbs, out)
	if err != nil {
		return nil, err
	}
	return uncovered(hi, dbs, out)
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

// comparePrefix orders IPv4 before IPv6, then by address, then shorter
// prefixes first.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
