// Package pseudonym rewrites seams' files with keyed pseudonyms, so that
// partners who share a key can cross-reference each other's data without
// seeing it in clear: addresses and prefixes through Crypto-PAn (package
// cryptopan), which keeps prefixes and so every address rule of xref;
// device identifiers through HMAC-SHA-256, which keeps equality. Times,
// ids, compounds and AS numbers are left as they are. The key holder
// reverses addresses (Reverser); a device's pseudonym is reversed only by
// recomputing it from the clear data the key holder has.
//
// docs/pseudonymize.md says what each choice protects and what it does
// not.
package pseudonym

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/netip"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/cryptopan"
)

// The labels of the keys derived from a Key (HKDF-SHA-256, RFC 5869, no
// salt): one for addresses, one for devices, so that neither key says
// anything of the other.
const (
	labelAddr   = "seams pseudonym v1: address (crypto-pan)"
	labelDevice = "seams pseudonym v1: device (hmac-sha-256)"
)

func (k Key) derive(label string) []byte {
	b, err := hkdf.Key(sha256.New, k.b[:], nil, label, 32)
	if err != nil { // only for a length HKDF cannot give
		panic(err)
	}
	return b
}

// Kept returns the prefixes that map onto themselves: the blocks seams
// treats as non-routable (private, loopback, link-local, multicast,
// unspecified, carrier-grade NAT: seams.NonRoutablePrefixes), so that an
// address keeps that property and no routable address becomes one; and
// ::ffff:0:0/96, so that no IPv6 address becomes an IPv4-mapped one,
// which seams would read as IPv4.
//
// Teredo (2001::/32) and 6to4 (2002::/16), which MaxMind-format databases
// alias to their IPv4 data, are not kept: keeping a prefix keeps the
// leading bits of every address near it, and keeping 2001::/32 would keep
// the first twenty bits of every address in 2001::/16, where much of IPv6
// is allocated. RewriteMMDB writes its database without those aliases
// instead (docs/pseudonymize.md).
func Kept() []netip.Prefix {
	return append(seams.NonRoutablePrefixes(), netip.MustParsePrefix("::ffff:0:0/96"))
}

func newAnonymizer(k Key) *cryptopan.Anonymizer {
	a, err := cryptopan.New(k.derive(labelAddr), cryptopan.Options{Keep: Kept()})
	if err != nil { // the derived key has the right size
		panic(err)
	}
	return a
}

// Mapper maps what a record identifies: addresses, prefixes, devices. A
// Pseudonymizer maps clear to pseudonyms; a Reverser the other way.
type Mapper interface {
	Addr(netip.Addr) netip.Addr
	Prefix(netip.Prefix) netip.Prefix
	// Device returns the mapped device, or false when it cannot: a
	// Reverser that has not learned the device's clear form.
	Device(seams.DeviceID) (seams.DeviceID, bool)
}

// Pseudonymizer maps clear addresses, prefixes and devices to their
// pseudonyms. It is not safe for concurrent use.
type Pseudonymizer struct {
	pan *cryptopan.Cache
	mac hash.Hash
	sum []byte
	hex []byte
}

// NewPseudonymizer returns the Pseudonymizer of k.
func NewPseudonymizer(k Key) *Pseudonymizer {
	return &Pseudonymizer{
		pan: cryptopan.NewCache(newAnonymizer(k)),
		mac: hmac.New(sha256.New, k.derive(labelDevice)),
		sum: make([]byte, 0, sha256.Size),
		hex: make([]byte, 0, 2*sha256.Size),
	}
}

// Addr returns the pseudonym of an address (normalized first, as seams
// compares addresses).
func (p *Pseudonymizer) Addr(a netip.Addr) netip.Addr {
	return p.pan.Anonymize(seams.NormalizeAddr(a))
}

// Prefix returns the pseudonym of a prefix: the prefix of the same length
// that holds the pseudonyms of its addresses.
func (p *Pseudonymizer) Prefix(q netip.Prefix) netip.Prefix { return p.pan.AnonymizePrefix(q) }

// Device returns the pseudonym of a device: the same type, and as value
// the HMAC-SHA-256 of TYPE:VALUE under the device key, in hexadecimal (64
// digits). The type stays in clear so that rules still see what kind of
// device it is; a type with a colon (a report's device that can never
// match) keeps it, and so still never matches.
func (p *Pseudonymizer) Device(d seams.DeviceID) (seams.DeviceID, bool) {
	p.mac.Reset()
	p.mac.Write([]byte(d.Type))
	p.mac.Write([]byte{':'})
	p.mac.Write([]byte(d.Value))
	p.sum = p.mac.Sum(p.sum[:0])
	p.hex = hex.AppendEncode(p.hex[:0], p.sum)
	return seams.DeviceID{Type: d.Type, Value: string(p.hex)}, true
}

// Reverser maps pseudonyms back: addresses and prefixes by the inverse
// permutation; devices only those it has learned (LearnDevice) from clear
// data, since an HMAC cannot be reversed. It is not safe for concurrent
// use.
type Reverser struct {
	pan     *cryptopan.Anonymizer
	fwd     *Pseudonymizer
	devices map[seams.DeviceID]seams.DeviceID
}

// NewReverser returns the Reverser of k.
func NewReverser(k Key) *Reverser {
	return &Reverser{pan: newAnonymizer(k), fwd: NewPseudonymizer(k), devices: map[seams.DeviceID]seams.DeviceID{}}
}

// LearnDevice computes the pseudonym of a clear device and remembers it,
// so that Device can reverse it.
// d may point into a reader's buffer: what is kept is copied.
func (r *Reverser) LearnDevice(d seams.DeviceID) {
	p, _ := r.fwd.Device(d)
	if _, ok := r.devices[p]; !ok {
		typ := strings.Clone(d.Type)
		r.devices[seams.DeviceID{Type: typ, Value: p.Value}] = seams.DeviceID{Type: typ, Value: strings.Clone(d.Value)}
	}
}

// Devices returns how many devices the Reverser has learned.
func (r *Reverser) Devices() int { return len(r.devices) }

// Addr returns the address whose pseudonym is a.
func (r *Reverser) Addr(a netip.Addr) netip.Addr { return r.pan.Deanonymize(seams.NormalizeAddr(a)) }

// Prefix returns the prefix whose pseudonym is q.
func (r *Reverser) Prefix(q netip.Prefix) netip.Prefix { return r.pan.DeanonymizePrefix(q) }

// Device returns the clear device of a pseudonym learned with
// LearnDevice; false (and d) for any other.
func (r *Reverser) Device(d seams.DeviceID) (seams.DeviceID, bool) {
	c, ok := r.devices[d]
	if !ok {
		return d, false
	}
	return c, true
}

// String hides the keys of a Pseudonymizer or Reverser from %v.
func (p *Pseudonymizer) String() string { return "pseudonym.Pseudonymizer" }

// String hides the keys of a Reverser from %v.
func (r *Reverser) String() string {
	return fmt.Sprintf("pseudonym.Reverser (%d devices learned)", len(r.devices))
}

// GoString hides the keys from %#v.
func (p *Pseudonymizer) GoString() string { return p.String() }

// GoString hides the keys from %#v.
func (r *Reverser) GoString() string { return r.String() }
