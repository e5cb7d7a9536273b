package mmdb

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// checkNetworksOf holds NetworksOf to Lookup: on many addresses, an address
// lies in a network returned for N exactly when Lookup maps it to N.
func checkNetworksOf(t *testing.T, e *Enricher, asns []uint32, addrs func(r *rand.Rand) netip.Addr) {
	t.Helper()
	nets, err := e.NetworksOf(asns)
	if err != nil {
		t.Fatal(err)
	}
	for n, ps := range nets {
		if !slices.IsSortedFunc(ps, comparePrefix) {
			t.Errorf("AS%d: networks not sorted", n)
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 20000; i++ {
		a := addrs(r)
		res, err := e.Lookup(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range asns {
			in := slices.ContainsFunc(nets[n], func(p netip.Prefix) bool { return p.Contains(a) })
			if in != (res.ASN == n) {
				t.Fatalf("%s: Lookup says AS%d, NetworksOf(AS%d) contains it: %v", a, res.ASN, n, in)
			}
		}
	}
}

func TestNetworksOfExtract(t *testing.T) {
	e := extractEnricher(t, 0)
	nets := extractNetworks(t)
	asns := []uint32{14593, 38623, 9873, 13335, 64512}
	checkNetworksOf(t, e, asns, func(r *rand.Rand) netip.Addr { return randomAddr(r, nets) })
	got, _ := e.NetworksOf(asns)
	if len(got[14593]) < 48 {
		t.Errorf("Starlink: %d networks, want at least the 48 of the extract", len(got[14593]))
	}
	if _, ok := got[64512]; ok {
		t.Error("an AS number no database knows has networks")
	}
	if none, _ := e.NetworksOf(nil); len(none) != 0 {
		t.Error("NetworksOf(nil) is not empty")
	}
}

// TestNetworksOfLayered: with two ASN databases, the first answers where it
// has a record, so a network of the second loses the parts the first holds.
func TestNetworksOfLayered(t *testing.T) {
	first := newTree(t, "first", 6)
	insert(t, first, "203.0.113.64/26", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64501)})
	insert(t, first, "203.0.113.200/30", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500)})
	insert(t, first, "2001:db8:8000::/33", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64501)})
	second := newTree(t, "second", 6)
	insert(t, second, "203.0.113.0/24", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500)})
	insert(t, second, "198.51.100.0/24", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64501)})
	insert(t, second, "2001:db8::/32", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500)})
	v4 := newTree(t, "third, IPv4 only", 4)
	insert(t, v4, "192.0.2.0/24", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500)})
	e, err := New(Options{ASN: []string{writeTree(t, first), writeTree(t, second), writeTree(t, v4)}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	nets, err := e.NetworksOf([]uint32{64500, 64501})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.0/24", "203.0.113.0/26", "203.0.113.128/26", "203.0.113.192/29", "203.0.113.200/30", "203.0.113.204/30", "203.0.113.208/28", "203.0.113.224/27", "2001:db8::/33"}
	var got []string
	for _, p := range nets[64500] {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("AS64500:\n got %v\nwant %v", got, want)
	}
	bases := []netip.Addr{netip.MustParseAddr("203.0.113.0"), netip.MustParseAddr("198.51.100.0"), netip.MustParseAddr("192.0.2.0")}
	checkNetworksOf(t, e, []uint32{64500, 64501}, func(r *rand.Rand) netip.Addr {
		if r.IntN(4) == 0 {
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(r.UintN(256)), byte(r.UintN(256)), 15: byte(r.UintN(256))})
		}
		b := bases[r.IntN(len(bases))].As4()
		b[3] = byte(r.UintN(256))
		return netip.AddrFrom4(b)
	})
}

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.0/24": "203.0.113.255", "0.0.0.0/0": "255.255.255.255", "198.51.100.7/32": "198.51.100.7",
		"2001:db8::/32": "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "::/0": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	} {
		if got := lastAddr(netip.MustParsePrefix(in)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
