package gen

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestAppendTime compares the hand-made RFC 3339 writer with time.Format.
func TestAppendTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	layouts := map[timeFormat]struct {
		layout string
		zone   *time.Location
	}{
		tfSec:      {"2006-01-02T15:04:05Z07:00", time.UTC},
		tfMilli:    {"2006-01-02T15:04:05.000Z07:00", time.UTC},
		tfMicro:    {"2006-01-02T15:04:05.000000Z07:00", time.UTC},
		tfNano:     {"2006-01-02T15:04:05.000000000Z07:00", time.UTC},
		tfICT:      {"2006-01-02T15:04:05Z07:00", time.FixedZone("ICT", 7*3600)},
		tfICTMicro: {"2006-01-02T15:04:05.000000Z07:00", time.FixedZone("ICT", 7*3600)},
		tfMMT:      {"2006-01-02T15:04:05Z07:00", time.FixedZone("MMT", 6*3600+1800)},
	}
	for i := 0; i < 20000; i++ {
		ns := r.Int64N(int64(200 * 365 * 24 * time.Hour))
		if i < 4 {
			ns = []int64{0, 951782400e9, 951868799e9 + 999999999, nsLast}[i] // 1970, 2000-02-29, its last instant
		}
		for f, l := range layouts {
			q := quantize(ns, f)
			want := time.Unix(0, q).In(l.zone).Format(l.layout)
			if got := string(appendTime(nil, q, f)); got != want {
				t.Fatalf("appendTime(%d, %d) = %s, want %s", q, f, got, want)
			}
			back, err := time.Parse(time.RFC3339, want)
			if err != nil || back.UnixNano() != q {
				t.Fatalf("%s does not parse back to %d: %v", want, q, err)
			}
		}
		if got, want := string(appendDate(nil, ns)), time.Unix(0, ns).UTC().Format(time.DateOnly); got != want {
			t.Fatalf("appendDate(%d) = %s, want %s", ns, got, want)
		}
	}
}

func TestAppendIPv4(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "1.2.3.4", "255.255.255.255", "36.37.128.10", "100.64.0.1"} {
		a := netip.MustParseAddr(s)
		if got := string(appendIPv4(nil, v4(a))); got != s {
			t.Errorf("appendIPv4(%s) = %s", s, got)
		}
	}
}

func TestLuhn(t *testing.T) {
	if got := luhn(35824005111111, 14); got != 0 {
		t.Errorf("check digit of 35824005111111 = %d, want 0 (IMEI 358240051111110)", got)
	}
	if got := luhn(49015420323751, 14); got != 8 {
		t.Errorf("check digit of 49015420323751 = %d, want 8 (IMEI 490154203237518)", got)
	}
}

func TestUUID(t *testing.T) {
	k := uuid4(newRNG(1, 1), devAAID)
	s := string(appendDevValue(nil, k))
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[14] != '4' || s[18] != '-' || s[23] != '-' || !(s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b') {
		t.Errorf("UUID %s is not a version-4 UUID", s)
	}
}

// TestRangePrefixes checks the range-to-prefix split on a few shapes and
// that the prefixes cover the range exactly.
func TestRangePrefixes(t *testing.T) {
	for _, tc := range []struct{ start, end string }{
		{"14.1.64.0", "14.1.95.255"}, {"66.9.160.0", "66.9.187.255"}, {"1.2.3.4", "1.2.3.4"},
		{"10.0.0.1", "10.0.1.254"}, {"0.0.0.0", "255.255.255.255"},
	} {
		s, e := v4(netip.MustParseAddr(tc.start)), v4(netip.MustParseAddr(tc.end))
		next := uint64(s)
		for _, p := range rangePrefixes(s, e) {
			if p.Masked() != p || uint64(v4(p.Addr())) != next {
				t.Fatalf("%s-%s: prefix %s out of place", tc.start, tc.end, p)
			}
			next += 1 << (32 - p.Bits())
		}
		if next != uint64(e)+1 {
			t.Errorf("%s-%s: prefixes end before %d", tc.start, tc.end, next)
		}
	}
}

// TestCarriersPresent checks that every carrier the compounds draw from is
// in the embedded data, so that no line is silently empty.
func TestCarriersPresent(t *testing.T) {
	s, err := newSpace(newRNG(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	for k := range carrierClasses {
		if k.country != "SAT" && s.carriers[k] == nil {
			t.Errorf("carrier AS%d of %s is not in the embedded ranges", k.asn, k.country)
		}
	}
	if len(s.shared) == 0 || s.sharedSAT.total() == 0 {
		t.Error("no shared Starlink space")
	}
}

// TestMillionIndicators checks that the largest registry the options promise
// keeps every span within its budget, so background draws stay cheap.
func TestMillionIndicators(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a registry of a million indicators")
	}
	o := DefaultOptions()
	o.Indicators = 1_000_000
	reg, err := newRegistryFor(&o)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.inds) != o.Indicators {
		t.Fatalf("%d indicators, want %d", len(reg.inds), o.Indicators)
	}
	for i := range reg.space.spans {
		if sp := &reg.space.spans[i]; sp.taken > sp.budget() {
			t.Errorf("span %s: %d taken, budget %d", addr4(sp.start), sp.taken, sp.budget())
		}
	}
}
