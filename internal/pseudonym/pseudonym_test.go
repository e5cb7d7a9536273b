package pseudonym

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/seams-dev/seams"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func testKey(t testing.TB, seed byte) Key {
	t.Helper()
	var k Key
	for i := range k.b {
		k.b[i] = seed + byte(i)*7 + 1
	}
	return k
}

// randAddr returns random addresses, a quarter of them at the edges of or
// inside a kept prefix.
func randAddr(r *rand.Rand) netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if r.IntN(4) == 0 {
		ks := Kept()
		k := ks[r.IntN(len(ks))]
		x := k.Addr().AsSlice()
		y := b[:len(x)]
		m := max(0, min(len(x)*8, k.Bits()+r.IntN(3)-1))
		for i := 0; i < m; i++ {
			bit := x[i/8] >> (7 - i%8) & 1
			y[i/8] = y[i/8]&^(1<<(7-i%8)) | bit<<(7-i%8)
		}
		a, _ := netip.AddrFromSlice(y)
		return a
	}
	if r.IntN(2) == 0 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

// TestXrefSeesTheSame: what xref makes of an address or a prefix (its
// non-routable reason, the overlap that refuses an indicator prefix, being
// carrier NAT) is the same for its pseudonym, and the reverse undoes it.
func TestXrefSeesTheSame(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	k := testKey(t, 1)
	p, rv := NewPseudonymizer(k), NewReverser(k)
	nonRoutable, changed := 0, 0
	for range 50000 {
		a := seams.NormalizeAddr(randAddr(r))
		fa := p.Addr(a)
		if got, want := seams.NonRoutable(fa), seams.NonRoutable(a); got != want {
			t.Fatalf("NonRoutable(%s) = %q, of its pseudonym %s %q", a, want, fa, got)
		}
		if seams.CarrierNAT.Contains(a) != seams.CarrierNAT.Contains(fa) {
			t.Fatalf("%s and its pseudonym %s differ in being carrier NAT", a, fa)
		}
		if fa.Is4() != a.Is4() || seams.NormalizeAddr(fa) != fa {
			t.Fatalf("pseudonym %s of %s is of another family, or not normalized", fa, a)
		}
		if back := rv.Addr(fa); back != a {
			t.Fatalf("Reverser.Addr(%s) = %s, want %s", fa, back, a)
		}
		q := netip.PrefixFrom(a, r.IntN(a.BitLen()+1)).Masked()
		fq := p.Prefix(q)
		if got, want := seams.NonRoutablePrefix(fq), seams.NonRoutablePrefix(q); got != want {
			t.Fatalf("NonRoutablePrefix(%s) = %q, of its pseudonym %s %q", q, want, fq, got)
		}
		if back := rv.Prefix(fq); back != q {
			t.Fatalf("Reverser.Prefix(%s) = %s, want %s", fq, back, q)
		}
		if seams.NonRoutable(a) != "" {
			nonRoutable++
		}
		if fa != a {
			changed++
		}
	}
	if nonRoutable < 2000 || changed < 45000 {
		t.Fatalf("%d non-routable addresses, %d changed: the test did not test", nonRoutable, changed)
	}
}

func TestDevice(t *testing.T) {
	k := testKey(t, 1)
	p := NewPseudonymizer(k)
	d := seams.DeviceID{Type: "imei", Value: "358240051111110"}
	fd, _ := p.Device(d)
	if fd.Type != "imei" || len(fd.Value) != 64 {
		t.Fatalf("pseudonym %v: want type imei and 64 hexadecimal digits", fd)
	}
	if _, err := hex.DecodeString(fd.Value); err != nil {
		t.Fatalf("pseudonym value %q is not hexadecimal", fd.Value)
	}
	if again, _ := NewPseudonymizer(k).Device(d); again != fd {
		t.Fatalf("same key, same device, another pseudonym: %v, %v", again, fd)
	}
	// Never an unkeyed hash: the value is not the SHA-256 of the device.
	for _, s := range []string{"imei:358240051111110", "358240051111110"} {
		if h := sha256.Sum256([]byte(s)); hex.EncodeToString(h[:]) == fd.Value {
			t.Fatalf("the pseudonym is the unkeyed SHA-256 of %q", s)
		}
	}
	other, _ := NewPseudonymizer(testKey(t, 2)).Device(d)
	if other.Value == fd.Value {
		t.Fatal("another key gives the same pseudonym")
	}
	typ, _ := p.Device(seams.DeviceID{Type: "imsi", Value: d.Value})
	if typ.Value == fd.Value {
		t.Fatal("another type gives the same pseudonym value")
	}
	// The device key is not the address key: a device whose text is an
	// address does not become that address's pseudonym.
	if a := p.Addr(netip.MustParseAddr("203.0.113.7")); fd.Value == a.String() {
		t.Fatal("device and address pseudonyms coincide")
	}
	// A report device with a colon in its type keeps it, and so still
	// never matches an indicator.
	odd, _ := p.Device(seams.DeviceID{Type: "a:b", Value: "c"})
	if odd.Matchable() {
		t.Fatalf("pseudonym %v of an unmatchable device is matchable", odd)
	}
	// A pseudonym reads back as a device unchanged.
	if back, err := seams.ParseDeviceID(fd.String()); err != nil || back != fd {
		t.Fatalf("pseudonym %v reads back as %v, %v", fd, back, err)
	}

	rv := NewReverser(k)
	if _, ok := rv.Device(fd); ok {
		t.Fatal("a Reverser reverses a device it has not learned")
	}
	rv.LearnDevice(d)
	if back, ok := rv.Device(fd); !ok || back != d {
		t.Fatalf("Reverser.Device(%v) = %v, %v; want %v", fd, back, ok, d)
	}
}

// TestLearnDeviceCopies: readers hand out devices whose strings point
// into their buffers, reused for the next record; what a Reverser keeps
// must not change when the buffer does.
func TestLearnDeviceCopies(t *testing.T) {
	k := testKey(t, 1)
	buf := []byte("imei358240051111110")
	d := seams.DeviceID{Type: unsafe.String(&buf[0], 4), Value: unsafe.String(&buf[4], 15)}
	p, _ := NewPseudonymizer(k).Device(d)
	p = seams.DeviceID{Type: "imei", Value: p.Value}
	rv := NewReverser(k)
	rv.LearnDevice(d)
	copy(buf, "abcdefghijklmnopqrs")
	got, ok := rv.Device(p)
	if !ok || got != (seams.DeviceID{Type: "imei", Value: "358240051111110"}) {
		t.Fatalf("after the reader's buffer changed: %v, %v", got, ok)
	}
}
