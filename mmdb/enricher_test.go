package mmdb

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// extractEnricher opens the committed extract: ASN, then city before
// country, as scripts/fetch-ipdb orders them.
func extractEnricher(t testing.TB, cacheSize int) *Enricher {
	t.Helper()
	o := NewOptions()
	o.ASN = []string{extractASN}
	o.Geo = []string{extractCity, extractCountry}
	o.CacheSize = cacheSize
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestLookupKnown checks addresses whose holder and place the public
// registries give (the committed extract is cut from them).
func TestLookupKnown(t *testing.T) {
	e := extractEnricher(t, 0)
	const (
		viettel  = "VIETTEL (CAMBODIA) PTE., LTD"
		starlink = "Space Exploration Technologies Corporation"
	)
	cases := []struct {
		name    string
		addr    string
		asn     uint32
		org     string
		country string
		city    string
		network string // the ASN network; "" for none
	}{
		{"Viettel Cambodia (Metfone)", "36.37.128.10", 38623, viettel, "KH", "Phnom Penh", "36.37.128.0/17"},
		{"IPv4-mapped form of the same", "::ffff:36.37.128.10", 38623, viettel, "KH", "Phnom Penh", "36.37.128.0/17"},
		{"Viettel outside the city networks: the country database answers", "36.37.200.1", 38623, viettel, "KH", "", "36.37.128.0/17"},
		{"CamGSM (Cellcard)", "103.193.204.77", 17976, "CAMGSM Company Ltd", "KH", "Phnom Penh", "103.193.204.0/24"},
		{"Myanma Post & Telecommunication", "43.224.40.5", 9988, "Myanma Post & Telecommunication", "MM", "Yangon", "43.224.40.0/23"},
		{"Lao Telecom", "43.224.36.9", 9873, "Lao Telecommunication Public Company", "LA", "Vientiane", "43.224.36.0/22"},
		{"Lao Telecom IPv6", "2400:aa00::1", 9873, "Lao Telecommunication Public Company", "LA", "Vientiane", "2400:aa00::/32"},
		{"AIS Thailand", "49.0.64.1", 45430, "ADVANCED WIRELESS NETWORK COMPANY LIMITED", "TH", "Bang Bua Thong", "49.0.64.0/19"},
		{"Starlink, Manila point of presence", "14.1.64.1", 14593, starlink, "PH", "Manila", "14.1.64.0/19"},
		{"Starlink, Dallas", "64.226.208.1", 14593, starlink, "US", "Dallas", "64.226.208.0/24"},
		{"Starlink IPv6, Kuala Lumpur", "2406:2d40:400::1", 14593, starlink, "MY", "Kuala Lumpur", "2406:2d40::/32"},
		{"Cloudflare 1.1.1.1", "1.1.1.1", 13335, "Cloudflare, Inc.", "AU", "Sydney", "1.1.1.0/24"},
		{"private address: no record", "10.0.0.1", 0, "", "", "", ""},
		{"documentation range: no record", "192.0.2.1", 0, "", "", "", ""},
		{"IPv6 documentation range: no record", "2001:db8::1", 0, "", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for pass := 0; pass < 2; pass++ { // uncached, then cached
				r, err := e.Lookup(netip.MustParseAddr(c.addr))
				if err != nil {
					t.Fatal(err)
				}
				if r.ASN != c.asn || r.Org != c.org || r.Country != c.country || r.City != c.city {
					t.Errorf("pass %d: got AS%d %q %s %q, want AS%d %q %s %q", pass, r.ASN, r.Org, r.Country, r.City, c.asn, c.org, c.country, c.city)
				}
				if got := prefixString(r.Network); got != c.network {
					t.Errorf("pass %d: network %s, want %s", pass, got, c.network)
				}
				if r.HasASN != (c.asn != 0) || r.HasGeo != (c.country != "") {
					t.Errorf("pass %d: flags HasASN %v HasGeo %v", pass, r.HasASN, r.HasGeo)
				}
			}
		})
	}
}

func prefixString(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

func TestDatabases(t *testing.T) {
	e := extractEnricher(t, 0)
	dbs := e.Databases()
	if len(dbs) != 3 {
		t.Fatalf("%d databases", len(dbs))
	}
	want := []struct{ role, file, typ, date, provides string }{
		{"asn", extractASN, "seams-test-extract-ASN", "2026-06-17", "asn"},
		{"geo", extractCity, "seams-test-extract-city", "2026-06-05", "country,city"},
		{"geo", extractCountry, "seams-test-extract-country", "2026-06-17", "country"},
	}
	for i, w := range want {
		d := dbs[i]
		if d.Role != w.role || d.File != w.file || d.Type != w.typ || d.Date() != w.date || strings.Join(d.Provides, ",") != w.provides {
			t.Errorf("database %d: %+v, want %+v", i, d, w)
		}
		if d.Networks == 0 || d.Records == 0 || d.Records > d.Networks || d.IPVersion != 6 {
			t.Errorf("database %d: counts %+v", i, d)
		}
	}
	if s := e.String(); !strings.Contains(s, "asn: testdata/sea-asn.mmdb (seams-test-extract-ASN, 2026-06-17)") {
		t.Errorf("String() = %q", s)
	}
}

// randomAddr draws an address near the extract's networks most of the
// time (so that most have records, at many prefix lengths), elsewhere
// otherwise.
func randomAddr(r *rand.Rand, nets []netip.Prefix) netip.Addr {
	if r.IntN(10) == 0 {
		if r.IntN(3) == 0 {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.UintN(256))
			}
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))})
	}
	p := nets[r.IntN(len(nets))]
	b := p.Addr().As16()
	start := p.Bits()
	if p.Addr().Is4() {
		start += 96
	}
	// Randomize the host bits, and now and then a few bits above them, to
	// land just outside the network too.
	if r.IntN(4) == 0 {
		start = max(start-3, 96*boolInt(p.Addr().Is4()))
	}
	for i := start; i < 128; i++ {
		if r.IntN(2) == 0 {
			b[i/8] ^= 1 << (7 - i%8)
		}
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func extractNetworks(t testing.TB) []netip.Prefix {
	var nets []netip.Prefix
	for _, s := range extractSpec {
		for _, row := range readTable(t, s.csv) {
			nets = append(nets, netip.MustParsePrefix(row["network"]))
		}
	}
	return nets
}

// slowLookup is the obviously correct twin of Enricher.lookup: ask each
// database in turn, first record wins.
func slowLookup(t testing.TB, asn, geo []*DB, a netip.Addr) Result {
	var res Result
	for _, d := range asn {
		rec, err := d.Lookup(a)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Found {
			res.ASN, res.Org, res.Network, res.HasASN = rec.ASN, rec.Org, rec.Network, rec.ASN != 0
			break
		}
	}
	for _, d := range geo {
		rec, err := d.Lookup(a)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Found {
			res.Country, res.City, res.GeoNetwork, res.HasGeo = rec.Country, rec.City, rec.Network, rec.Country != "" || rec.City != ""
			break
		}
	}
	return res
}

// TestCacheMatchesUncached compares cached lookups from several goroutines
// at once with the slow twin, for caches from tiny (constant eviction and
// slot sharing) to the default. Run it with -race.
func TestCacheMatchesUncached(t *testing.T) {
	nets := extractNetworks(t)
	ref := extractEnricher(t, -1)
	for _, size := range []int{2, 16, 1024, 0} {
		e := extractEnricher(t, size)
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, uint64(size)))
				// A small working set, drawn again and again, so that
				// hits, misses and evictions all happen.
				pool := make([]netip.Addr, 500)
				for i := range pool {
					pool[i] = randomAddr(r, nets)
				}
				for i := 0; i < 20000; i++ {
					a := pool[r.IntN(len(pool))]
					got, err := e.Lookup(a)
					if err != nil {
						errs <- err.Error()
						return
					}
					if want := slowLookup(t, ref.asn, ref.geo, a); got != want {
						select {
						case errs <- a.String() + ": cached " + resultString(got) + ", uncached " + resultString(want):
						default:
						}
						return
					}
				}
			}(uint64(g))
		}
		wg.Wait()
		close(errs)
		for msg := range errs {
			t.Errorf("cache size %d: %s", size, msg)
		}
	}
}

func resultString(r Result) string {
	return strings.Join([]string{r.Network.String(), r.GeoNetwork.String(), r.Org, r.Country, r.City}, "|")
}

// TestCacheFineNetworks builds a database whose /24 is split into networks
// of different holders, all sharing the /24's cache slots, and checks that
// every address still gets its own network's answer.
func TestCacheFineNetworks(t *testing.T) {
	tree := newTree(t, "test-ASN", 6)
	for i, n := range []string{"203.0.113.0/26", "203.0.113.64/27", "203.0.113.96/27", "203.0.113.128/25"} {
		insert(t, tree, n, mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500 + i), "autonomous_system_organization": mmdbtype.String("Example " + n)})
	}
	path := writeTree(t, tree)
	o := NewOptions()
	o.ASN = []string{path}
	o.CacheSize = 2 // one set: every lookup shares it
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	want := func(a netip.Addr) uint32 {
		switch b := a.As4()[3]; {
		case b < 64:
			return 64500
		case b < 96:
			return 64501
		case b < 128:
			return 64502
		}
		return 64503
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		a := netip.AddrFrom4([4]byte{203, 0, 113, byte(r.UintN(256))})
		got, err := e.Lookup(a)
		if err != nil {
			t.Fatal(err)
		}
		if got.ASN != want(a) || !got.Network.Contains(a) {
			t.Fatalf("%s: AS%d in %s, want AS%d", a, got.ASN, got.Network, want(a))
		}
	}
}

// TestCachedLookupAllocates nothing on a hit.
func TestCachedLookupAllocates(t *testing.T) {
	e := extractEnricher(t, 0)
	a := netip.MustParseAddr("36.37.128.10")
	if _, err := e.Lookup(a); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { e.Lookup(a) }); n != 0 {
		t.Errorf("cached Lookup allocates %v times", n)
	}
}

func TestNoDatabases(t *testing.T) {
	e, err := New(NewOptions())
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Lookup(netip.MustParseAddr("36.37.128.10"))
	if err != nil || r != (Result{}) || e.HasASN() || e.HasGeo() || e.String() != "no databases" {
		t.Errorf("got %+v, %v, %q", r, err, e.String())
	}
	if r, _ := e.Lookup(netip.Addr{}); r != (Result{}) {
		t.Errorf("zero Addr: %+v", r)
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a database\n"), 0o644)
	cases := []struct {
		name     string
		asn, geo []string
		is       error
		contains string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.mmdb")}, nil, os.ErrNotExist, "nope.mmdb"},
		{"a directory", []string{dir}, nil, nil, "is a directory"},
		{"not a database", []string{text}, nil, ErrNotMMDB, "notes.txt"},
		{"location database as ASN", []string{extractCountry}, nil, ErrNoASNData, "give it as the geo database"},
		{"ASN database as location", nil, []string{extractASN}, ErrNoGeoData, "give it as the ASN database"},
		{"empty name", []string{""}, nil, nil, "empty asn database file name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(Options{ASN: c.asn, Geo: c.geo})
			if err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.contains) {
				t.Errorf("error %q lacks %q", err, c.contains)
			}
		})
	}
}

// TestSameFileInBothRoles opens a file that holds ASN and country data once
// and uses it in both roles.
func TestSameFileInBothRoles(t *testing.T) {
	tree := newTree(t, "ipinfo_lite.mmdb", 6)
	insert(t, tree, "198.51.100.0/24", mmdbtype.Map{"asn": mmdbtype.String("AS64500"), "as_name": mmdbtype.String("Example Net"), "country_code": mmdbtype.String("KH"), "country": mmdbtype.String("Cambodia")})
	path := writeTree(t, tree)
	e, err := New(Options{ASN: []string{path}, Geo: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if len(e.opened) != 1 {
		t.Errorf("opened %d times", len(e.opened))
	}
	r, _ := e.Lookup(netip.MustParseAddr("198.51.100.9"))
	if r.ASN != 64500 || r.Org != "Example Net" || r.Country != "KH" {
		t.Errorf("got %+v", r)
	}
}

// Helpers to write synthetic databases in documentation ranges.

func newTree(t testing.TB, typ string, ipVersion int) *mmdbwriter.Tree {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: typ, IPVersion: ipVersion, IncludeReservedNetworks: true, BuildEpoch: 1767225600, Description: map[string]string{"en": "synthetic test database"}})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func insert(t testing.TB, tree *mmdbwriter.Tree, cidr string, v mmdbtype.DataType) {
	t.Helper()
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Insert(n, v); err != nil {
		t.Fatal(err)
	}
}

func treeBytes(t testing.TB, tree *mmdbwriter.Tree) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTree(t testing.TB, tree *mmdbwriter.Tree) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.mmdb")
	if err := os.WriteFile(path, treeBytes(t, tree), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
