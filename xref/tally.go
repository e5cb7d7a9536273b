package xref

import (
	"cmp"
	"slices"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/match"
)

// tally counts what the summary reports, one accepted report at a time.
type tally struct {
	compounds                                               []seams.Compound
	reports, events, devices, unroutable, undated, findings int
	tiedReports, potentialReports                           int
	tied, potential                                         []int // distinct reports per compound
	countryTied, countryPotential                           map[string]int
	tiedC, potC                                             []string // scratch: countries of one report
	asn                                                     asnTally
	signals                                                 seams.SignalCounts
}

func newTally(x *match.Index) *tally {
	n := len(x.Compounds())
	return &tally{compounds: x.Compounds(), tied: make([]int, n), potential: make([]int, n),
		countryTied: map[string]int{}, countryPotential: map[string]int{}}
}

// add counts one accepted report and its findings (one per compound).
func (t *tally) add(r *rec, cts []compoundTier, asns []asnOrg) {
	t.reports++
	t.events += r.events
	t.devices += r.devices
	t.unroutable += r.unroute
	t.undated += r.undated
	t.findings += len(cts)
	for _, ct := range cts {
		if ct.signals.CrossBorder {
			t.signals.CrossBorder++
		}
		if ct.signals.ForeignASN {
			t.signals.ForeignASN++
		}
	}
	t.addFindings(cts, asns, 1)
}

// addFindings counts (sign 1) or uncounts (sign -1) the findings of one
// report: uncounting and counting again is how a run revises the tiers of
// a report it has already counted (see capping.go).
func (t *tally) addFindings(cts []compoundTier, asns []asnOrg, sign int) {
	if len(cts) == 0 {
		return
	}
	t.asn.add(cts, asns, sign)
	t.tiedC, t.potC = t.tiedC[:0], t.potC[:0]
	for _, ct := range cts {
		// A compound from an exchange format may have no country: it
		// counts for itself, and for no country.
		country := t.compounds[ct.compound].Country
		if ct.tier == seams.TierTied {
			t.tied[ct.compound] += sign
			if country != "" && !slices.Contains(t.tiedC, country) {
				t.tiedC = append(t.tiedC, country)
			}
		} else {
			t.potential[ct.compound] += sign
			if country != "" && !slices.Contains(t.potC, country) {
				t.potC = append(t.potC, country)
			}
		}
	}
	if slices.ContainsFunc(cts, func(ct compoundTier) bool { return ct.tier == seams.TierTied }) {
		t.tiedReports += sign
	} else {
		t.potentialReports += sign
	}
	for _, c := range t.tiedC {
		t.countryTied[c] += sign
	}
	// A country counts a report as potential only if no compound of that
	// country tied it.
	for _, c := range t.potC {
		if !slices.Contains(t.tiedC, c) {
			t.countryPotential[c] += sign
		}
	}
}

// summary returns the counts as a Summary, lists sorted by tied, then
// potential, descending, then id. Compounds and countries without any
// finding are left out.
func (t *tally) summary(x *match.Index) *seams.Summary {
	s := &seams.Summary{
		Reports: t.reports, Events: t.events, Devices: t.devices, Unroutable: t.unroutable, Undated: t.undated, Findings: t.findings,
		TiedReports: t.tiedReports, PotentialReports: t.potentialReports,
		ByCompound: []seams.CompoundCount{}, ByCountry: []seams.CountryCount{},
	}
	for i, c := range x.Compounds() {
		if t.tied[i] > 0 {
			s.CompoundsTied++
		}
		if t.tied[i]+t.potential[i] > 0 {
			s.ByCompound = append(s.ByCompound, seams.CompoundCount{Compound: c.ID, Name: c.Name, Country: c.Country, Tied: t.tied[i], Potential: t.potential[i]})
		}
	}
	slices.SortFunc(s.ByCompound, func(a, b seams.CompoundCount) int {
		return rank(a.Tied, a.Potential, a.Compound, b.Tied, b.Potential, b.Compound)
	})
	countries := map[string]bool{}
	for c := range t.countryTied {
		countries[c] = true
	}
	for c := range t.countryPotential {
		countries[c] = true
	}
	for c := range countries {
		if t.countryTied[c]+t.countryPotential[c] == 0 {
			continue // all its findings were revised away
		}
		s.ByCountry = append(s.ByCountry, seams.CountryCount{Country: c, Tied: t.countryTied[c], Potential: t.countryPotential[c]})
	}
	slices.SortFunc(s.ByCountry, func(a, b seams.CountryCount) int {
		return rank(a.Tied, a.Potential, a.Country, b.Tied, b.Potential, b.Country)
	})
	return s
}

func rank(at, ap int, aid string, bt, bp int, bid string) int {
	if c := cmp.Compare(bt, at); c != 0 {
		return c
	}
	if c := cmp.Compare(bp, ap); c != 0 {
		return c
	}
	return cmp.Compare(aid, bid)
}
