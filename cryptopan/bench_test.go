package cryptopan

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchAddrs returns n addresses: random ones (spread), or hotline-like
// ones, many to a network (IPv4: 2000 /24s; IPv6: 2000 /64s).
func benchAddrs(n int, v6, spread bool) []netip.Addr {
	r := rand.New(rand.NewPCG(9, 10))
	nets := make([][16]byte, 2000)
	for i := range nets {
		for j := range nets[i] {
			nets[i][j] = byte(r.Uint32())
		}
	}
	out := make([]netip.Addr, n)
	for i := range out {
		var b [16]byte
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if !spread {
			net := nets[r.IntN(len(nets))]
			if v6 {
				copy(b[:8], net[:8])
			} else {
				copy(b[:3], net[:3])
			}
		}
		if v6 {
			out[i] = netip.AddrFrom16(b)
		} else {
			out[i] = netip.AddrFrom4([4]byte(b[:4]))
		}
	}
	return out
}

func BenchmarkAnonymize(b *testing.B) {
	a := mustNew(b, sampleKey, Options{Keep: testKeep})
	for _, bc := range []struct {
		name   string
		v6     bool
		spread bool
		cache  bool
	}{
		{"ipv4/plain", false, true, false},
		{"ipv6/plain", true, true, false},
		{"ipv4/cache/spread", false, true, true},
		{"ipv4/cache/networks", false, false, true},
		{"ipv6/cache/networks", true, false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			addrs := benchAddrs(1<<16, bc.v6, bc.spread)
			c := NewCache(a)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				x := addrs[i&(len(addrs)-1)]
				if bc.cache {
					c.Anonymize(x)
				} else {
					a.Anonymize(x)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "addrs/s")
		})
	}
}

func BenchmarkDeanonymize(b *testing.B) {
	a := mustNew(b, sampleKey, Options{Keep: testKeep})
	for _, v6 := range []bool{false, true} {
		name := "ipv4"
		if v6 {
			name = "ipv6"
		}
		b.Run(name, func(b *testing.B) {
			addrs := benchAddrs(1<<12, v6, true)
			for i := 0; b.Loop(); i++ {
				a.Deanonymize(addrs[i&(len(addrs)-1)])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "addrs/s")
		})
	}
}
