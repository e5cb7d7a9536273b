package match

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// benchRegistry builds a registry of nIP addresses, nCIDR prefixes and nDev
// devices over 400 compounds, addresses spread over 4 /8s as a region's
// carriers would be, with windows over three years.
func benchRegistry(nIP, nCIDR, nDev int) ([]seams.Compound, []seams.Indicator) {
	rng := rand.New(rand.NewPCG(1, 2))
	compounds := make([]seams.Compound, 400)
	for i := range compounds {
		compounds[i] = seams.Compound{ID: fmt.Sprintf("c-%03d", i), Country: "KH"}
	}
	inds := make([]seams.Indicator, 0, nIP+nCIDR+nDev)
	window := func() seams.Window {
		f := base.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
		return seams.Window{First: f, Last: f.Add(time.Duration(rng.Int64N(int64(120 * 24 * time.Hour))))}
	}
	for range nIP {
		a := netip.AddrFrom4([4]byte{byte(36 + rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		inds = append(inds, seams.Indicator{Compound: compounds[rng.IntN(400)].ID, Kind: seams.KindIP, Addr: a, Value: a.String(), Window: window()})
	}
	for range nCIDR {
		a := netip.AddrFrom4([4]byte{byte(36 + rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
		p := netip.PrefixFrom(a, 24+rng.IntN(6)).Masked()
		inds = append(inds, seams.Indicator{Compound: compounds[rng.IntN(400)].ID, Kind: seams.KindCIDR, Prefix: p, Value: p.String(), Window: window()})
	}
	for i := range nDev {
		d := seams.DeviceID{Type: "imei", Value: fmt.Sprintf("35824005%07d", i)}
		inds = append(inds, seams.Indicator{Compound: compounds[rng.IntN(400)].ID, Kind: seams.KindDevice, Device: d, Value: d.String(), Window: window()})
	}
	return compounds, inds
}

var benchRegistryCached = sync.OnceValues(func() ([]seams.Compound, []seams.Indicator) {
	return benchRegistry(1_000_000, 100_000, 100_000)
})

var benchIndex = sync.OnceValues(func() (*Index, error) {
	compounds, inds := benchRegistryCached()
	return NewIndex(compounds, inds, nil)
})

// benchReports makes n reports of 3 events each, one device in four
// reports. In the dense mix every address is drawn from the registry's /8s,
// where 1.1M indicators crowd: the worst case for the index. In the mixed
// mix, closer to a hotline's reports, 90% of addresses come from anywhere
// in routable IPv4, 9% from the registry's /8s and 1% are exact indicator
// addresses.
func benchReports(n int, dense bool, inds []seams.Indicator) []seams.Report {
	rng := rand.New(rand.NewPCG(3, 4))
	out := make([]seams.Report, n)
	for i := range out {
		r := seams.Report{ID: fmt.Sprintf("r-%d", i)}
		for range 3 {
			var a netip.Addr
			switch p := rng.IntN(100); {
			case dense || p < 9:
				a = netip.AddrFrom4([4]byte{byte(36 + rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			case p < 10:
				a = inds[rng.IntN(1_000_000)].Addr
			default:
				for a = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}); seams.NonRoutable(a) != ""; {
					a = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
				}
			}
			r.IPs = append(r.IPs, seams.IPEvent{Addr: a, At: base.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))})
		}
		if i%4 == 0 {
			r.Devices = append(r.Devices, seams.Device{ID: seams.DeviceID{Type: "imei", Value: fmt.Sprintf("35824005%07d", rng.IntN(400_000))}})
		}
		out[i] = r
	}
	return out
}

// BenchmarkLookup measures one random address lookup in the table of 1.1M
// addresses and prefixes: memory-latency bound.
func BenchmarkLookup(b *testing.B) {
	x, err := benchIndex()
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	addrs := make([]netip.Addr, 1<<16)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{byte(36 + rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	b.ResetTimer()
	hits := 0
	for i := 0; b.Loop(); i++ {
		if x.addrs.lookup(addrs[i&(len(addrs)-1)]) >= 0 {
			hits++
		}
	}
	b.ReportMetric(float64(hits)/float64(b.N), "hit/op")
}

// BenchmarkMatch measures whole reports (3 ip events, a device in one of
// four) against the index of 1M addresses, 100k prefixes and 100k devices,
// one report at a time (Match) and a chunk's worth at a time (MatchAll, as
// the pipeline does); it reports events per second on one core.
func BenchmarkMatch(b *testing.B) {
	x, err := benchIndex()
	if err != nil {
		b.Fatal(err)
	}
	_, inds := benchRegistryCached()
	for _, mix := range []struct {
		name  string
		dense bool
	}{{"mixed", false}, {"dense", true}} {
		reports := benchReports(1<<14, mix.dense, inds)
		b.Run("one/"+mix.name, func(b *testing.B) {
			m := NewMatcher(x, DefaultDrift)
			for i := 0; b.Loop(); i++ {
				m.Match(&reports[i&(len(reports)-1)])
			}
			b.ReportMetric(float64(b.N)*3.25/b.Elapsed().Seconds(), "events/s")
		})
		b.Run("all/"+mix.name, func(b *testing.B) {
			m := NewMatcher(x, DefaultDrift)
			const batch = 4096 // about a 1 MiB chunk of reports
			for i := 0; b.Loop(); i++ {
				off := (i * batch) & (len(reports) - 1)
				m.MatchAll(reports[off:off+batch], func(int, []seams.Finding) {})
			}
			b.ReportMetric(float64(b.N)*batch*3.25/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkIndexBuild measures building the index of 1.2M indicators and
// the memory it holds beyond the indicators.
func BenchmarkIndexBuild(b *testing.B) {
	compounds, inds := benchRegistry(1_000_000, 100_000, 100_000)
	var x *Index
	for b.Loop() {
		var err error
		if x, err = NewIndex(compounds, inds, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(x.Bytes())/float64(len(inds)), "index-bytes/indicator")
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/float64(len(inds)), "heap-bytes/indicator")
}

// BenchmarkLookupMany measures the interleaved lookup on the same addresses
// as BenchmarkLookup, per address.
func BenchmarkLookupMany(b *testing.B) {
	x, err := benchIndex()
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	keys := make([]uint32, 1<<16)
	for i := range keys {
		keys[i] = key4Of(netip.AddrFrom4([4]byte{byte(36 + rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}))
	}
	out := make([]int32, 256)
	var pending []uint32
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		off := (i * 256) & (len(keys) - 1)
		pending = x.addrs.lookupMany4(keys[off:off+256], out, pending)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/lookup")
}
