package seams

import (
	"fmt"
	"net/netip"
	"strings"
)

// CarrierNAT is 100.64.0.0/10, the shared address space of RFC 6598. It is
// shared by definition: it can never identify a place, and it is always part
// of the shared space of a run.
var CarrierNAT = netip.MustParsePrefix("100.64.0.0/10")

// nonRoutable lists the blocks whose addresses cannot identify a place: private
// (RFC 1918, fc00::/7), loopback, link-local, multicast, unspecified and
// carrier-grade NAT. Documentation ranges are deliberately absent: they are
// what test data and examples use.
var nonRoutable = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("0.0.0.0/32"), "unspecified"},
	{CarrierNAT, "carrier-grade NAT"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
}

// NonRoutablePrefixes returns the blocks whose addresses NonRoutable
// refuses, carrier-grade NAT included: exactly the addresses a for which
// NonRoutable(a) is not "". A pseudonymisation that keeps these blocks in
// place keeps what xref makes of an address.
func NonRoutablePrefixes() []netip.Prefix {
	out := make([]netip.Prefix, len(nonRoutable))
	for i, b := range nonRoutable {
		out[i] = b.prefix
	}
	return out
}

// NonRoutable returns why addr cannot identify a place ("private", "loopback",
// "link-local", "multicast", "unspecified", "carrier-grade NAT"), or "" if it
// can. addr should already be unmapped (see NormalizeAddr).
func NonRoutable(addr netip.Addr) string {
	switch {
	case addr.IsPrivate():
		return "private"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsLinkLocalUnicast():
		return "link-local"
	case addr.IsMulticast():
		return "multicast"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.Is4() && CarrierNAT.Contains(addr):
		return "carrier-grade NAT"
	}
	return ""
}

// NormalizeAddr returns addr as seams compares it: an IPv4-mapped IPv6
// address (::ffff:a.b.c.d) becomes the IPv4 address, and any zone is dropped.
func NormalizeAddr(addr netip.Addr) netip.Addr { return addr.Unmap().WithZone("") }

// ParseAddr parses an IPv4 or IPv6 address and normalizes it (NormalizeAddr).
func ParseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("invalid IP address %q", s)
	}
	return NormalizeAddr(a), nil
}

// ParsePrefix parses a CIDR prefix the way an indicator or a shared-space list
// gives it. The prefix must be canonical: host bits set is an error that
// names the canonical prefix. A prefix inside ::ffff:0:0/96 becomes the
// IPv4 prefix it stands for.
func ParsePrefix(s string) (netip.Prefix, error) {
	t := strings.TrimSpace(s)
	p, err := netip.ParsePrefix(t)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR prefix %q", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("prefix %q has host bits set (did you mean %s?)", s, m)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

// NonRoutablePrefix returns a reason if any address of p cannot identify a
// place (see NonRoutable), naming the block it overlaps; "" if none. An IPv6
// prefix that covers IPv4-mapped space is refused too: IPv4 events are
// compared as IPv4, so such a prefix would silently never match them.
func NonRoutablePrefix(p netip.Prefix) string {
	for _, b := range nonRoutable {
		if b.prefix.Overlaps(p) {
			return fmt.Sprintf("overlaps %s range %s", b.why, b.prefix)
		}
	}
	if p.Addr().Is6() && p.Overlaps(mapped4) {
		return "overlaps IPv4-mapped space ::ffff:0:0/96 (give IPv4 prefixes instead)"
	}
	return ""
}

var mapped4 = netip.MustParsePrefix("::ffff:0:0/96")
