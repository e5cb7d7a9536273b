package mmdb

import (
	"math/bits"
	"net/netip"
	"sync/atomic"
)

// entry is one cached answer: res holds for every address in valid.
// Entries are immutable once published.
type entry struct {
	valid netip.Prefix
	res   Result
}

// cache is a fixed-size, two-way set-associative table of answers, shared
// by every goroutine without a lock: a hit is an atomic load (a plain load
// on amd64 and arm64) and a prefix check, so readers never write to shared
// memory and never contend. A miss publishes a new entry with an atomic
// store, possibly evicting another; two goroutines missing on the same slot
// both store, and either entry is right. Memory is bounded by the slot count
// whatever the number of distinct addresses.
//
// Slots are chosen by the address's /24 (IPv4) or /48 (IPv6), and an entry
// answers for its whole valid network, so one entry serves every address of
// a network at least that large; a finer network shares its slots with its
// neighbours and is checked by valid.Contains like any other.
type cache struct {
	slots []slot
	shift uint // 64 - log2(len(slots))
}

// slot is one way of a set. tag is the key (the /24 or /48) of the entry
// last stored, so that a lookup of another network need not load the entry
// at all: on a miss, only the set's cache line is read. The tag is a
// filter, not the proof: a reader may see a tag and an entry from two
// different stores, and e.valid.Contains decides.
type slot struct {
	tag atomic.Uint64 // 0: empty
	e   atomic.Pointer[entry]
}

func newCache(n int) *cache {
	if n < 2 {
		n = 2
	}
	b := bits.Len(uint(n - 1)) // round up to a power of two
	return &cache{slots: make([]slot, 1<<b), shift: uint(64 - b)}
}

// slot returns the first of the two slots for addr (the second is i|1)
// and the tag of addr's network.
func (c *cache) slot(a netip.Addr) (i, tag uint64) {
	var k uint64
	if a.Is4() {
		b := a.As4()
		k = uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
	} else {
		// As16 rather than AsSlice: it returns an array, which stays on
		// the stack.
		b := a.As16()
		k = 1<<62 | uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
	}
	tag = k | 1<<63 // never 0
	// Fibonacci hashing: the high bits of the product are well mixed.
	return (k * 0x9E3779B97F4A7C15) >> c.shift &^ 1, tag
}

func (c *cache) get(i, tag uint64, a netip.Addr) *entry {
	s := &c.slots[i]
	if s.tag.Load() == tag {
		if e := s.e.Load(); e != nil && e.valid.Contains(a) {
			return e
		}
	}
	s = &c.slots[i|1]
	if s.tag.Load() == tag {
		if e := s.e.Load(); e != nil && e.valid.Contains(a) {
			return e
		}
	}
	return nil
}

// put stores e in the set i. An empty way is always filled; a full set
// admits the new entry only for one address in evictEvery, chosen by a hash
// of the address itself, so that a stream of networks never seen twice (the
// worst case: addresses from everywhere) does not allocate and evict on
// every lookup, while a network looked up again and again gets in after a
// few misses.
func (c *cache) put(i, tag uint64, a netip.Addr, e *entry) {
	switch {
	case c.slots[i].tag.Load() == 0:
	case c.slots[i|1].tag.Load() == 0:
		i |= 1
	default:
		if addrHash(a)%evictEvery != 0 {
			return
		}
		// Evict the older, which is always the second way, by moving the
		// first way down. A reader in between may miss once; it then
		// looks up and stores again, which is only slower.
		c.slots[i|1].e.Store(c.slots[i].e.Load())
		c.slots[i|1].tag.Store(c.slots[i].tag.Load())
	}
	c.slots[i].e.Store(e)
	c.slots[i].tag.Store(tag)
}

const evictEvery = 8

// addrHash mixes the whole address (cache.slot uses only its network).
func addrHash(a netip.Addr) uint64 {
	b := a.As16()
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	return ((hi * 0x9E3779B97F4A7C15) ^ lo) * 0xC2B2AE3D27D4EB4F >> 32
}
