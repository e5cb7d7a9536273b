// Package cryptopan is Crypto-PAn, the keyed prefix-preserving address
// permutation of Xu, Fan, Ammar and Moon ("Prefix-Preserving IP Address
// Anonymization: Measurement-based Security Evaluation and a New
// Cryptography-based Scheme", ICNP 2002), for IPv4 and IPv6 addresses.
//
// Two addresses that share their first k bits have pseudonyms that share
// their first k bits, and no more: a prefix maps to a prefix of the same
// length. Without the key the permutation cannot be computed or reversed;
// with it, Deanonymize reverses it.
//
// The construction is the published one. The 32-byte key is an AES-128 key
// K (bytes 0-15) and a pad seed (bytes 16-31); the pad P is AES_K of the
// seed. Bit i of the output (counting from the most significant) is bit i
// of the input XOR the first bit of AES_K(B_i), where B_i is the 128-bit
// block holding the input's first i bits followed by P's bits from i on.
// An IPv4 address stands in the first 32 bits of the block, so it is
// permuted exactly as the reference implementation permutes it; an IPv6
// address fills the block, which is the natural extension to 128 bits that
// other implementations also use (the tests hold both to published
// vectors).
//
// Options.Keep adds what a system that treats some ranges specially needs:
// each kept prefix maps onto itself (its addresses stay inside it, their
// remaining bits still permuted), so no address outside it ever lands in
// it. It is done by forcing to 0 the flip of every proper ancestor of a
// kept prefix: a prefix-preserving map that keeps a prefix in place must
// keep each of its ancestors in place, so that is all it costs (see
// docs/pseudonymize.md for what it shows of an address).
package cryptopan

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// KeySize is the size of a Crypto-PAn key: 16 bytes of AES-128 key and 16
// of pad seed.
const KeySize = 32

// ErrKeySize is returned for a key that is not KeySize bytes long.
var ErrKeySize = errors.New("cryptopan: the key must be 32 bytes (16 for AES-128, 16 for the pad)")

// Options change the permutation.
type Options struct {
	// Keep lists prefixes that map onto themselves: an address inside one
	// stays inside it, and no address outside it is mapped into it.
	// Without Keep the permutation is the published Crypto-PAn.
	Keep []netip.Prefix
}

// Anonymizer permutes addresses with one key. It holds no mutable state:
// it is safe for concurrent use. Cache adds memory of recent prefixes for
// speed.
type Anonymizer struct {
	block  cipher.Block
	padHi  uint64
	padLo  uint64
	keep4  []kept
	keep6  []kept
	kept46 []netip.Prefix // the kept prefixes, masked, for Keeps
}

// kept is a kept prefix as 128 bits and its length in bits.
type kept struct {
	addr u128
	bits int
}

// u128 is an address as 128 bits, most significant first; an IPv4 address
// stands in the top 32 bits of hi.
type u128 struct{ hi, lo uint64 }

// New returns the Anonymizer of a 32-byte key.
func New(key []byte, o Options) (*Anonymizer, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	b, err := aes.NewCipher(key[:16])
	if err != nil {
		return nil, fmt.Errorf("cryptopan: %w", err)
	}
	var pad [16]byte
	b.Encrypt(pad[:], key[16:32])
	a := &Anonymizer{block: b, padHi: binary.BigEndian.Uint64(pad[:8]), padLo: binary.BigEndian.Uint64(pad[8:])}
	for _, p := range o.Keep {
		if !p.IsValid() {
			return nil, fmt.Errorf("cryptopan: invalid kept prefix %v", p)
		}
		p = p.Masked()
		a.kept46 = append(a.kept46, p)
		k := kept{addr: toU128(p.Addr()), bits: p.Bits()}
		if p.Addr().Is4() {
			a.keep4 = append(a.keep4, k)
		} else {
			a.keep6 = append(a.keep6, k)
		}
	}
	return a, nil
}

// Kept returns the kept prefixes (Options.Keep, masked).
func (a *Anonymizer) Kept() []netip.Prefix { return append([]netip.Prefix(nil), a.kept46...) }

func toU128(addr netip.Addr) u128 {
	if addr.Is4() {
		b := addr.As4()
		return u128{hi: uint64(binary.BigEndian.Uint32(b[:])) << 32}
	}
	b := addr.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

func fromU128(v u128, is4 bool, zone string) netip.Addr {
	if is4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.hi>>32))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b).WithZone(zone)
}

// bit returns bit i (0 the most significant) of v.
func (v u128) bit(i int) uint64 {
	if i < 64 {
		return v.hi >> (63 - i) & 1
	}
	return v.lo >> (127 - i) & 1
}

// setBit returns v with bit i set to b (0 or 1).
func (v u128) setBit(i int, b uint64) u128 {
	if i < 64 {
		v.hi = v.hi&^(1<<(63-i)) | b<<(63-i)
	} else {
		v.lo = v.lo&^(1<<(127-i)) | b<<(127-i)
	}
	return v
}

// commonBits returns how many leading bits x and y share (128 if equal).
func commonBits(x, y u128) int {
	if d := x.hi ^ y.hi; d != 0 {
		return bits.LeadingZeros64(d)
	}
	return 64 + bits.LeadingZeros64(x.lo^y.lo)
}

// flip returns the flip bit of the node made of the first i bits of v: the
// first bit of AES_K(v's first i bits, then the pad's bits from i on). buf
// is 16 bytes of scratch: a buffer passed to the cipher (an interface)
// escapes to the heap, so callers allocate it once per address, not once
// per bit.
func (a *Anonymizer) flip(v u128, i int, buf []byte) uint64 {
	var hi, lo uint64
	switch {
	case i == 0:
		hi, lo = a.padHi, a.padLo
	case i < 64:
		m := ^uint64(0) << (64 - i)
		hi, lo = v.hi&m|a.padHi&^m, a.padLo
	case i == 64:
		hi, lo = v.hi, a.padLo
	default:
		m := ^uint64(0) << (128 - i)
		hi, lo = v.hi, v.lo&m|a.padLo&^m
	}
	binary.BigEndian.PutUint64(buf[:8], hi)
	binary.BigEndian.PutUint64(buf[8:16], lo)
	a.block.Encrypt(buf, buf)
	return uint64(buf[0] >> 7)
}

// forced returns the depth of the deepest node on v's path whose flip is
// forced to 0 by a kept prefix, or -1 for none. A node of depth i (v's
// first i bits) is forced when it is a proper ancestor of a kept prefix
// P: i < len(P) and v agrees with P on its first i bits. The nodes forced
// are a path from the root, so bits 0..forced of the output are the
// input's. The same depth comes out for the output (Deanonymize relies on
// it): it agrees with the input on every bit that decides it.
func (a *Anonymizer) forced(v u128, is4 bool) int {
	ks := a.keep6
	if is4 {
		ks = a.keep4
	}
	d := -1
	for _, k := range ks {
		t := min(commonBits(v, k.addr), k.bits-1)
		d = max(d, t)
	}
	return d
}

// Anonymize returns the pseudonym of addr: an IPv4 address for an IPv4
// address, an IPv6 one (with addr's zone) for an IPv6 one; an
// IPv4-mapped IPv6 address is permuted as the IPv6 address it is (unmap
// it first to permute it as IPv4). The zero Addr is returned unchanged.
func (a *Anonymizer) Anonymize(addr netip.Addr) netip.Addr {
	if !addr.IsValid() {
		return addr
	}
	is4 := addr.Is4()
	v := toU128(addr)
	return fromU128(a.permute(v, is4, nil, make([]byte, 16)), is4, addr.Zone())
}

// permute computes the pseudonym of v. c, when not nil, remembers the
// flips of prefixes. buf is flip's scratch.
func (a *Anonymizer) permute(v u128, is4 bool, c *Cache, buf []byte) u128 {
	n := 128
	if is4 {
		n = 32
	}
	start := a.forced(v, is4) + 1
	var flips u128
	from := start
	if c != nil {
		flips, from = c.lookup(v, is4, start)
	}
	for i := from; i < n; i++ {
		if a.flip(v, i, buf) != 0 {
			flips = flips.setBit(i, 1)
		}
		if c != nil {
			c.store(v, is4, i+1, flips)
		}
	}
	return u128{v.hi ^ flips.hi, v.lo ^ flips.lo}
}

// Deanonymize returns the address whose pseudonym is addr: the inverse of
// Anonymize.
func (a *Anonymizer) Deanonymize(addr netip.Addr) netip.Addr {
	if !addr.IsValid() {
		return addr
	}
	is4 := addr.Is4()
	n := 128
	if is4 {
		n = 32
	}
	out := toU128(addr)
	// Bits 0..forced are unchanged, and forced is the same for an address
	// and its pseudonym; each later bit is undone with the flip of the
	// node the bits already recovered make.
	v := out
	buf := make([]byte, 16)
	for i := a.forced(out, is4) + 1; i < n; i++ {
		v = v.setBit(i, out.bit(i)^a.flip(v, i, buf))
	}
	return fromU128(v, is4, addr.Zone())
}

// AnonymizePrefix returns the pseudonym of a prefix: the prefix of the same
// length that holds the pseudonyms of its addresses. p is masked first.
func (a *Anonymizer) AnonymizePrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	p = p.Masked()
	return netip.PrefixFrom(a.Anonymize(p.Addr()), p.Bits()).Masked()
}

// DeanonymizePrefix returns the prefix whose pseudonym is p.
func (a *Anonymizer) DeanonymizePrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	p = p.Masked()
	return netip.PrefixFrom(a.Deanonymize(p.Addr()), p.Bits()).Masked()
}
