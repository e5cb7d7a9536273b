package match

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/seams-dev/seams"
)

// Over-correlation: an address or device indicator that has evidence in far
// more distinct reports than a compound's infrastructure plausibly serves
// is probably shared (a carrier NAT address, a popular VPN exit, a device
// id that a broken app reports for everyone). It is flagged, and the
// findings it alone ties are capped at potential, unless the analyst lifts
// the cap for it.
//
// The rule is three pure functions, the same for every door (seams xref
// over files, a store's runs): which indicators a report counts for
// (CountedRefs), which counts are over the limit (CapRule.Decide), and what
// a tied finding becomes when the indicators that tie it are capped (Cap).
// How the counts are gathered (in one pass over files, spilling to disk;
// over every stored report) is the door's business.

// DefaultMaxReportsPerIndicator is the default over-correlation limit.
const DefaultMaxReportsPerIndicator = 500

// Counted reports whether evidence of an indicator of kind k counts toward
// its over-correlation: only ip and device indicators are capped (a prefix
// or an AS is shared space by nature, and never ties).
func Counted(k seams.Kind) bool { return k == seams.KindIP || k == seams.KindDevice }

// CountedRefs appends to dst the distinct indicators (by Evidence.Ref) of a
// report's findings fs whose evidence counts toward over-correlation, each
// once however many findings and pieces of evidence name it.
func CountedRefs(dst []int32, fs []seams.Finding) []int32 {
	start := len(dst)
	for f := range fs {
		for e := range fs[f].Evidence {
			ev := &fs[f].Evidence[e]
			if Counted(ev.Indicator.Kind) && !slices.Contains(dst[start:], ev.Ref) {
				dst = append(dst, ev.Ref)
			}
		}
	}
	return dst
}

// TieRefs appends to dst the distinct indicators (by Evidence.Ref) whose
// evidence ties finding f: the ones Cap looks at.
func TieRefs(dst []int32, f *seams.Finding) []int32 {
	start := len(dst)
	for e := range f.Evidence {
		ev := &f.Evidence[e]
		if ev.Ties() && !slices.Contains(dst[start:], ev.Ref) {
			dst = append(dst, ev.Ref)
		}
	}
	return dst
}

// CapRule is the over-correlation limit of a run and the indicators exempt
// from it.
type CapRule struct {
	// Limit: an indicator with evidence in more distinct reports than this
	// is over-correlated. Zero or less turns the rule off.
	Limit int
	// Lift holds the canonical values of indicators exempt from the cap
	// (an address, or a device as type:value): still listed, not capped.
	Lift map[string]bool
}

// LiftValue returns the canonical value of an indicator a lift list names
// (an address, or a device as type:value), as CapRule.Lift holds it.
func LiftValue(v string) (string, error) {
	if in, err := seams.ParseIndicatorValue(seams.KindIP, v); err == nil {
		return in.Value, nil
	}
	in, err := seams.ParseIndicatorValue(seams.KindDevice, v)
	if err != nil {
		return "", fmt.Errorf("%q is neither an IP address nor a device TYPE:VALUE (the cap applies to ip and device indicators)", v)
	}
	return in.Value, nil
}

// On reports whether the rule is on.
func (r CapRule) On() bool { return r.Limit > 0 }

// Over is an over-correlated indicator, by the caller's key.
type Over[K comparable] struct {
	seams.OverCorrelated
	Key K
}

// Decide returns the over-correlated indicators among counted ones: for
// each key, its indicator and the number of distinct reports with its
// evidence. It returns them as the summary lists them (most reports first,
// then in the order of keys, which the caller gives in registry order) and
// the notes of the capped ones, by key, for Cap. (Over.Downgraded is the
// caller's to count.)
func Decide[K comparable](r CapRule, keys []K, indicator func(K) *seams.Indicator, reports func(K) int) ([]Over[K], map[K]seams.CapNote) {
	if !r.On() {
		return nil, nil
	}
	type ordered struct {
		Over[K]
		order int
	}
	var list []ordered
	capped := map[K]seams.CapNote{}
	for i, k := range keys {
		n := reports(k)
		if n <= r.Limit {
			continue
		}
		in := indicator(k)
		oc := seams.OverCorrelated{Compound: in.Compound, Kind: in.Kind.String(), Value: in.Value, Reports: n, Capped: !r.Lift[in.Value]}
		if oc.Capped {
			capped[k] = seams.CapNote{Kind: oc.Kind, Value: oc.Value, Reports: n, Limit: r.Limit}
		}
		list = append(list, ordered{Over[K]{oc, k}, i})
	}
	slices.SortFunc(list, func(a, b ordered) int {
		if c := cmp.Compare(b.Reports, a.Reports); c != 0 {
			return c
		}
		return cmp.Compare(a.order, b.order)
	})
	out := make([]Over[K], len(list))
	for i := range list {
		out[i] = list[i].Over
	}
	return out, capped
}

// Cap revises a tied finding whose every tying indicator is capped
// (capped gives the note of a capped one by Evidence.Ref): its tier becomes
// potential and Capped names those indicators, in the order of the
// evidence. It reports whether f changed. A finding tied by one indicator
// that is not capped stays tied.
func Cap(f *seams.Finding, capped func(ref int32) (seams.CapNote, bool)) bool {
	if f.Tier != seams.TierTied {
		return false
	}
	var refs [8]int32
	notes, ok := CapNotes(TieRefs(refs[:0], f), capped)
	if !ok {
		return false
	}
	f.Tier = seams.TierPotential
	f.Capped = notes
	return true
}

// CapNotes is Cap's decision for a tied finding that the indicators tie
// (TieRefs gives them, in order): when every one is capped, the notes
// that name them and true; otherwise false. A door that keeps the tying
// indicators of a finding rather than the finding decides with it: seams
// xref, which revises findings.jsonl at the end of a run, by index record;
// a store's run, by stored indicator version.
func CapNotes[K comparable](tie []K, capped func(K) (seams.CapNote, bool)) ([]seams.CapNote, bool) {
	if len(tie) == 0 {
		return nil, false
	}
	notes := make([]seams.CapNote, 0, len(tie))
	for _, k := range tie {
		n, ok := capped(k)
		if !ok {
			return nil, false
		}
		notes = append(notes, n)
	}
	return notes, true
}
