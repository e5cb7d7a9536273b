package sharedlist

import (
	"net/netip"
	"slices"
)

// PresetIndex holds every embedded preset, to find which list an address
// or an AS number (seams whois-ip).
type PresetIndex []*List

// LoadPresets returns the index of every embedded preset, in the order of
// Names.
func LoadPresets() (PresetIndex, error) {
	var idx PresetIndex
	for _, n := range Names() {
		l, err := Preset(n)
		if err != nil {
			return nil, err
		}
		idx = append(idx, l)
	}
	return idx, nil
}

// Listing returns the names of the presets that list addr, or asn when it
// is not 0; an empty list (not nil) when none does.
func (idx PresetIndex) Listing(addr netip.Addr, asn uint32) []string {
	out := []string{}
	for _, l := range idx {
		hit := asn != 0 && slices.Contains(l.ASNs, asn)
		for _, p := range l.Prefixes {
			hit = hit || p.Contains(addr)
		}
		if hit {
			out = append(out, l.Name)
		}
	}
	return out
}
