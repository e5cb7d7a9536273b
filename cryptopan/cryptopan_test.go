package cryptopan

import (
	"bufio"
	"crypto/aes"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// sampleKey is the key of the reference implementation's sample.cpp, with
// which sample_trace_sanitized.dat was made.
var sampleKey = []byte{21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
	216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2}

func mustNew(t testing.TB, key []byte, o Options) *Anonymizer {
	t.Helper()
	a, err := New(key, o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSampleTrace holds Anonymize to the reference implementation's
// sample trace (testdata/README.md), and Deanonymize to its inverse.
func TestSampleTrace(t *testing.T) {
	f, err := os.Open("testdata/sample_trace.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := mustNew(t, sampleKey, Options{})
	c := NewCache(a)
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		raw, anon, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("line %d: no tab", n+1)
		}
		in, want := netip.MustParseAddr(raw), netip.MustParseAddr(anon)
		if got := a.Anonymize(in); got != want {
			t.Errorf("Anonymize(%s) = %s, want %s", in, got, want)
		}
		if got := c.Anonymize(in); got != want {
			t.Errorf("Cache.Anonymize(%s) = %s, want %s", in, got, want)
		}
		if got := a.Deanonymize(want); got != in {
			t.Errorf("Deanonymize(%s) = %s, want %s", want, got, in)
		}
		n++
	}
	if n != 100 {
		t.Fatalf("read %d vectors, want the trace's 100", n)
	}
}

// TestPublishedVectors holds Anonymize to single vectors published with
// other implementations, IPv6 ones included: they fix the 128-bit
// construction (the address fills the AES block, the pad the rest).
func TestPublishedVectors(t *testing.T) {
	seq := make([]byte, 32)
	for i := range seq {
		seq[i] = byte(i)
	}
	tests := []struct {
		source   string
		key      []byte
		in, want string
	}{
		// pycryptopan and CryptoPan.jl test with this key (the one of
		// the reference implementation's documentation).
		{"pycryptopan test, CryptoPan.jl README", []byte("boojahyoo3vaeToong0Eijee7Ahz3yee"), "192.0.2.1", "206.2.124.120"},
		// yacryptopan's README and its __main__ check.
		{"yacryptopan README", []byte("32-char-str-for-AES-key-and-pad."), "192.0.2.1", "192.0.125.244"},
		{"yacryptopan README", []byte("32-char-str-for-AES-key-and-pad."), "2001:db8::1", "27fe:8bc7:fee:1e:1e1f:f0fe:f0e1:83fd"},
		{"yacryptopan __main__", seq, "192.0.2.1", "2.90.93.17"},
		{"yacryptopan __main__", seq, "2001:db8::1", "dd92:2c44:3fc0:ff1e:7ff9:c7f0:8180:7e00"},
		// Yawning Angel's Go implementation (cryptopan_test.go), with the
		// sample trace's key.
		{"Yawning/cryptopan", sampleKey, "::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
		{"Yawning/cryptopan", sampleKey, "::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef"},
		{"Yawning/cryptopan", sampleKey, "::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838"},
		{"Yawning/cryptopan", sampleKey, "2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
		{"Yawning/cryptopan", sampleKey, "2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"},
	}
	for _, tt := range tests {
		a := mustNew(t, tt.key, Options{})
		in, want := netip.MustParseAddr(tt.in), netip.MustParseAddr(tt.want)
		if got := a.Anonymize(in); got != want {
			t.Errorf("%s: Anonymize(%s) = %s, want %s", tt.source, in, got, want)
		}
		if got := NewCache(a).Anonymize(in); got != want {
			t.Errorf("%s: Cache.Anonymize(%s) = %s, want %s", tt.source, in, got, want)
		}
		if got := a.Deanonymize(want); got != in {
			t.Errorf("%s: Deanonymize(%s) = %s, want %s", tt.source, want, got, in)
		}
	}
}

func TestKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := New(make([]byte, n), Options{}); err != ErrKeySize {
			t.Errorf("New with a %d-byte key: err %v, want ErrKeySize", n, err)
		}
	}
}

// slowAnonymize is the slow twin: the paper's definition written
// plainly, bit by bit on byte arrays, with the kept prefixes checked
// node by node with netip.
func slowAnonymize(t testing.TB, key []byte, keep []netip.Prefix, addr netip.Addr) netip.Addr {
	b, err := aes.NewCipher(key[:16])
	if err != nil {
		t.Fatal(err)
	}
	var pad [16]byte
	b.Encrypt(pad[:], key[16:])
	in := addr.AsSlice()
	n := len(in) * 8
	out := make([]byte, len(in))
	for i := 0; i < n; i++ {
		var block [16]byte
		copy(block[:], pad[:])
		for j := 0; j < i; j++ { // the input's first i bits
			bit := in[j/8] >> (7 - j%8) & 1
			block[j/8] = block[j/8]&^(1<<(7-j%8)) | bit<<(7-j%8)
		}
		b.Encrypt(block[:], block[:])
		flip := block[0] >> 7
		node := netip.PrefixFrom(addr, i).Masked()
		for _, k := range keep {
			if k.Addr().Is4() == addr.Is4() && i < k.Bits() && node.Contains(k.Addr()) {
				flip = 0 // a proper ancestor of a kept prefix
			}
		}
		bit := in[i/8]>>(7-i%8)&1 ^ flip
		out[i/8] |= bit << (7 - i%8)
	}
	r, _ := netip.AddrFromSlice(out)
	return r
}

// testKeep is a keep list like the one seams uses.
var testKeep = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("0.0.0.0/32"), netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::ffff:0:0/96"), netip.MustParsePrefix("2002::/16"),
}

// randAddr returns a random address: half IPv4, half IPv6; a third of them
// inside or beside (differing in the last bit of, or just below) a kept
// prefix, so that the kept paths are exercised.
func randAddr(r *rand.Rand, keep []netip.Prefix) netip.Addr {
	var a netip.Addr
	if r.IntN(2) == 0 {
		var b [4]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		a = netip.AddrFrom4(b)
	} else {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		a = netip.AddrFrom16(b)
	}
	if len(keep) == 0 || r.IntN(3) != 0 {
		return a
	}
	k := keep[r.IntN(len(keep))]
	// Keep the first m bits of k, where m is around k's length.
	m := max(0, min(k.Addr().BitLen(), k.Bits()-r.IntN(3)+r.IntN(3)))
	if k.Addr().Is4() != a.Is4() {
		return a
	}
	x, y := k.Addr().AsSlice(), a.AsSlice()
	for i := 0; i < m; i++ {
		bit := x[i/8] >> (7 - i%8) & 1
		y[i/8] = y[i/8]&^(1<<(7-i%8)) | bit<<(7-i%8)
	}
	out, _ := netip.AddrFromSlice(y)
	return out
}

// TestSlowTwin compares Anonymize, the Cache and Deanonymize with the
// slow twin on random addresses, with and without kept prefixes.
func TestSlowTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(r.Uint32())
	}
	for _, keep := range [][]netip.Prefix{nil, testKeep} {
		a := mustNew(t, key, Options{Keep: keep})
		c := NewCache(a)
		inKept := 0
		for range 3000 {
			addr := randAddr(r, keep)
			want := slowAnonymize(t, key, keep, addr)
			if got := a.Anonymize(addr); got != want {
				t.Fatalf("keep %v: Anonymize(%s) = %s, slow twin %s", keep, addr, got, want)
			}
			if got := c.Anonymize(addr); got != want {
				t.Fatalf("keep %v: Cache.Anonymize(%s) = %s, slow twin %s", keep, addr, got, want)
			}
			if got := a.Deanonymize(want); got != addr {
				t.Fatalf("keep %v: Deanonymize(%s) = %s, want %s", keep, want, got, addr)
			}
			for _, k := range keep {
				if k.Contains(addr) {
					inKept++
				}
			}
		}
		if keep != nil && inKept < 300 {
			t.Fatalf("only %d addresses inside kept prefixes: the kept paths were hardly tested", inKept)
		}
	}
}

// withCommonPrefix returns an address of a's family that shares exactly
// its first k bits with a (all of them when k is the bit length).
func withCommonPrefix(r *rand.Rand, a netip.Addr, k int) netip.Addr {
	x := a.AsSlice()
	n := len(x) * 8
	if k == n {
		return a
	}
	y := make([]byte, len(x))
	for i := range y {
		y[i] = byte(r.Uint32())
	}
	for i := 0; i < n; i++ {
		bit := x[i/8] >> (7 - i%8) & 1
		switch {
		case i < k:
		case i == k:
			bit ^= 1
		default:
			continue
		}
		y[i/8] = y[i/8]&^(1<<(7-i%8)) | bit<<(7-i%8)
	}
	out, _ := netip.AddrFromSlice(y)
	return out
}

// commonPrefixLen returns how many leading bits a and b share.
func commonPrefixLen(a, b netip.Addr) int {
	return min(commonBits(toU128(a), toU128(b)), a.BitLen())
}

// TestPrefixPreserving is the property: for random pairs of addresses
// sharing exactly k leading bits, for every k, the pseudonyms share
// exactly k leading bits, with and without kept prefixes.
func TestPrefixPreserving(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, keep := range [][]netip.Prefix{nil, testKeep} {
		a := mustNew(t, sampleKey, Options{Keep: keep})
		seen := map[bool]map[int]int{true: {}, false: {}}
		for range 20000 {
			x := randAddr(r, keep)
			k := r.IntN(x.BitLen() + 1)
			y := withCommonPrefix(r, x, k)
			if got := commonPrefixLen(x, y); got != k {
				t.Fatalf("test bug: %s and %s share %d bits, want %d", x, y, got, k)
			}
			fx, fy := a.Anonymize(x), a.Anonymize(y)
			if got := commonPrefixLen(fx, fy); got != k {
				t.Fatalf("keep %v: %s and %s share %d bits; their pseudonyms %s and %s share %d", keep, x, y, k, fx, fy, got)
			}
			seen[x.Is4()][k]++
		}
		for is4, ks := range seen {
			n := 128
			if is4 {
				n = 32
			}
			if len(ks) != n+1 {
				t.Errorf("is4=%v: only %d of the %d shared lengths were tried", is4, len(ks), n+1)
			}
		}
	}
}

// TestKeep checks that a kept prefix maps onto itself: an address is in
// it exactly when its pseudonym is, and the prefix's pseudonym is itself.
func TestKeep(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a := mustNew(t, sampleKey, Options{Keep: testKeep})
	inside := 0
	for range 20000 {
		x := randAddr(r, testKeep)
		fx := a.Anonymize(x)
		for _, k := range testKeep {
			if k.Contains(x) != k.Contains(fx) {
				t.Fatalf("%s (in %s: %v) has pseudonym %s (in it: %v)", x, k, k.Contains(x), fx, k.Contains(fx))
			}
			if k.Contains(x) {
				inside++
			}
		}
	}
	if inside < 2000 {
		t.Fatalf("only %d addresses inside kept prefixes", inside)
	}
	for _, k := range testKeep {
		if got := a.AnonymizePrefix(k); got != k {
			t.Errorf("AnonymizePrefix(%s) = %s, want itself", k, got)
		}
	}
	// Inside a kept prefix that is not a single address, the host bits
	// are still permuted.
	moved := 0
	for range 100 {
		x := withCommonPrefix(r, netip.MustParseAddr("10.1.2.3"), 8+r.IntN(24))
		if a.Anonymize(x) != x {
			moved++
		}
	}
	if moved < 90 {
		t.Errorf("only %d of 100 addresses in 10/8 changed: kept ranges' host bits are not permuted", moved)
	}
}

// TestPrefix checks AnonymizePrefix against Anonymize: the pseudonym of a
// prefix holds the pseudonyms of its addresses, and DeanonymizePrefix
// undoes it.
func TestPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	a := mustNew(t, sampleKey, Options{Keep: testKeep})
	for range 5000 {
		x := randAddr(r, testKeep)
		p := netip.PrefixFrom(x, r.IntN(x.BitLen()+1)).Masked()
		fp := a.AnonymizePrefix(p)
		if fp.Bits() != p.Bits() || !fp.Contains(a.Anonymize(x)) {
			t.Fatalf("AnonymizePrefix(%s) = %s, which does not hold Anonymize(%s) = %s", p, fp, x, a.Anonymize(x))
		}
		if got := a.DeanonymizePrefix(fp); got != p {
			t.Fatalf("DeanonymizePrefix(%s) = %s, want %s", fp, got, p)
		}
	}
}

func TestZone(t *testing.T) {
	a := mustNew(t, sampleKey, Options{})
	x := netip.MustParseAddr("fe80::1%eth0")
	fx := a.Anonymize(x)
	if fx.Zone() != "eth0" || a.Deanonymize(fx) != x {
		t.Fatalf("Anonymize(%s) = %s, Deanonymize back %s", x, fx, a.Deanonymize(fx))
	}
	if got := a.Anonymize(netip.Addr{}); got.IsValid() {
		t.Fatalf("Anonymize(zero) = %s", got)
	}
}
