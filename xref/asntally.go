package xref

import (
	"cmp"
	"slices"

	"github.com/seams-dev/seams"
)

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
