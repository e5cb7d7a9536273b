package cryptopan

import "net/netip"

// Cache is an Anonymizer that remembers the flips of the prefixes it met,
// so that addresses of one network cost the AES blocks of their last bits
// only: the flips of an address's first D bits depend on those bits alone.
// It remembers prefixes of a few lengths (IPv4: /16 and /24; IPv6: /32,
// /48 and /64), each in a table of at most MaxEntries, emptied when full.
// A Cache is not safe for concurrent use: give each goroutine its own.
type Cache struct {
	a      *Anonymizer
	levels [2][]level // [0] IPv4, [1] IPv6
	buf    []byte     // the flips' scratch
}

// level is the table of one prefix length.
type level struct {
	depth int
	m     map[u128]u128
}

// MaxEntries bounds each table of a Cache.
const MaxEntries = 1 << 16

// NewCache returns a Cache over a.
func NewCache(a *Anonymizer) *Cache {
	c := &Cache{a: a, buf: make([]byte, 16)}
	for _, d := range []int{16, 24} {
		c.levels[0] = append(c.levels[0], level{depth: d, m: map[u128]u128{}})
	}
	for _, d := range []int{32, 48, 64} {
		c.levels[1] = append(c.levels[1], level{depth: d, m: map[u128]u128{}})
	}
	return c
}

func family(is4 bool) int {
	if is4 {
		return 0
	}
	return 1
}

// prefixOf returns v's first d bits, the rest zero.
func prefixOf(v u128, d int) u128 {
	switch {
	case d == 0:
		return u128{}
	case d < 64:
		return u128{hi: v.hi & (^uint64(0) << (64 - d))}
	case d == 64:
		return u128{hi: v.hi}
	default:
		return u128{hi: v.hi, lo: v.lo & (^uint64(0) << (128 - d))}
	}
}

// lookup returns the flips of v's deepest remembered prefix and the depth
// from which the rest must be computed. Flips before start are 0 (forced),
// remembered or not.
func (c *Cache) lookup(v u128, is4 bool, start int) (u128, int) {
	ls := c.levels[family(is4)]
	for i := len(ls) - 1; i >= 0; i-- {
		l := &ls[i]
		if l.depth <= start {
			break
		}
		if f, ok := l.m[prefixOf(v, l.depth)]; ok {
			return f, l.depth
		}
	}
	return u128{}, start
}

// store remembers flips (of v's first depth bits) when depth is one of the
// remembered lengths.
func (c *Cache) store(v u128, is4 bool, depth int, flips u128) {
	ls := c.levels[family(is4)]
	for i := range ls {
		l := &ls[i]
		if l.depth != depth {
			continue
		}
		if len(l.m) >= MaxEntries {
			clear(l.m)
		}
		l.m[prefixOf(v, depth)] = prefixOf(flips, depth)
	}
}

// Anonymize is Anonymizer.Anonymize, remembering prefixes.
func (c *Cache) Anonymize(addr netip.Addr) netip.Addr {
	if !addr.IsValid() {
		return addr
	}
	is4 := addr.Is4()
	return fromU128(c.a.permute(toU128(addr), is4, c, c.buf), is4, addr.Zone())
}

// AnonymizePrefix is Anonymizer.AnonymizePrefix, remembering prefixes.
func (c *Cache) AnonymizePrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	p = p.Masked()
	return netip.PrefixFrom(c.Anonymize(p.Addr()), p.Bits()).Masked()
}

// Anonymizer returns the Anonymizer the Cache is over.
func (c *Cache) Anonymizer() *Anonymizer { return c.a }
