package mmdb

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// TestSchemas reads one record of each layout that providers ship, written
// into a synthetic database in a documentation range.
func TestSchemas(t *testing.T) {
	names := func(en string) mmdbtype.Map {
		return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(en), "de": mmdbtype.String(en + " (de)")}}
	}
	cases := []struct {
		name     string
		typ      string
		record   mmdbtype.DataType
		want     Record // Found and Network are filled in
		provides string
	}{
		{"GeoLite2-ASN", "GeoLite2-ASN",
			mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500), "autonomous_system_organization": mmdbtype.String("Example Telecom")},
			Record{ASN: 64500, Org: "Example Telecom"}, "asn"},
		{"DB-IP ASN lite with a 64-bit number", "DBIP-ASN-Lite",
			mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint64(64501), "autonomous_system_organization": mmdbtype.String("Example Mobile")},
			Record{ASN: 64501, Org: "Example Mobile"}, "asn"},
		{"IPinfo lite: asn as a string, country a name beside its code", "ipinfo lite.mmdb",
			mmdbtype.Map{"asn": mmdbtype.String("AS64502"), "as_name": mmdbtype.String("Example Cable"), "as_domain": mmdbtype.String("example.com"),
				"country_code": mmdbtype.String("KH"), "country": mmdbtype.String("Cambodia"), "continent": mmdbtype.String("Asia")},
			Record{ASN: 64502, Org: "Example Cable", Country: "KH"}, "asn,country"},
		{"IPinfo ASN: organisation in name", "ipinfo asn.mmdb",
			mmdbtype.Map{"asn": mmdbtype.String("AS64503"), "name": mmdbtype.String("Example Satellite"), "route": mmdbtype.String("198.51.100.0/24")},
			Record{ASN: 64503, Org: "Example Satellite"}, "asn"},
		{"IPinfo country: country is a code", "ipinfo country.mmdb",
			mmdbtype.Map{"country": mmdbtype.String("mm"), "country_name": mmdbtype.String("Myanmar")},
			Record{Country: "MM"}, "country"},
		{"GeoLite2-City nested layout", "GeoLite2-City",
			mmdbtype.Map{
				"city":               names("Phnom Penh"),
				"country":            mmdbtype.Map{"iso_code": mmdbtype.String("KH"), "geoname_id": mmdbtype.Uint32(1831722), "names": names("Cambodia")["names"]},
				"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("VN")},
				"location":           mmdbtype.Map{"latitude": mmdbtype.Float64(11.56), "longitude": mmdbtype.Float64(104.92)},
				"subdivisions":       mmdbtype.Slice{names("Phnom Penh")},
			},
			Record{Country: "KH", City: "Phnom Penh"}, "country,city"},
		{"GeoLite2-Country with only a registered country (anycast, satellite)", "GeoLite2-Country",
			mmdbtype.Map{"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("US")}},
			Record{Country: "US"}, "country"},
		{"ip-location-db flat city", "city ipv4",
			mmdbtype.Map{"city": mmdbtype.String(" Vientiane "), "country_code": mmdbtype.String("LA"), "latitude": mmdbtype.Float32(17.97), "state1": mmdbtype.String("Vientiane Prefecture")},
			Record{Country: "LA", City: "Vientiane"}, "country,city"},
		{"ip-location-db country", "country ipvAll",
			mmdbtype.Map{"country_code": mmdbtype.String("TH")},
			Record{Country: "TH"}, "country"},
		{"fields of unexpected kinds are skipped", "odd",
			mmdbtype.Map{"autonomous_system_number": mmdbtype.String("n/a"), "autonomous_system_organization": mmdbtype.Uint32(7),
				"country_code": mmdbtype.String("Cambodia"), "city": mmdbtype.Bool(true), "country": mmdbtype.Slice{mmdbtype.String("KH")}},
			Record{}, ""},
		{"a negative or zero AS number is none", "odd",
			mmdbtype.Map{"autonomous_system_number": mmdbtype.Int32(-5), "asn": mmdbtype.Uint32(0)},
			Record{}, ""},
		{"a record that is not a map", "odd", mmdbtype.String("KH"), Record{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree := newTree(t, c.typ, 6)
			insert(t, tree, "198.51.100.0/24", c.record)
			d, err := OpenBytes("test.mmdb", treeBytes(t, tree))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got := strings.Join(d.Info().Provides, ","); got != c.provides {
				t.Errorf("provides %q, want %q", got, c.provides)
			}
			r, err := d.Lookup(netip.MustParseAddr("198.51.100.77"))
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.Found, want.Network = true, netip.MustParsePrefix("198.51.100.0/24")
			if r != want {
				t.Errorf("got %+v, want %+v", r, want)
			}
		})
	}
}

// TestIPv4OnlyDatabase: an IPv6 address has no record in an IPv4 database,
// and the answer holds for all of IPv6.
func TestIPv4OnlyDatabase(t *testing.T) {
	tree := newTree(t, "v4", 4)
	insert(t, tree, "203.0.113.0/24", mmdbtype.Map{"country_code": mmdbtype.String("KH")})
	d, err := OpenBytes("v4.mmdb", treeBytes(t, tree))
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Lookup(netip.MustParseAddr("2001:db8::1"))
	if err != nil || r.Found || r.Network != netip.MustParsePrefix("::/0") {
		t.Errorf("IPv6 in IPv4 database: %+v, %v", r, err)
	}
	r, err = d.Lookup(netip.MustParseAddr("203.0.113.5"))
	if err != nil || r.Country != "KH" || r.Network != netip.MustParsePrefix("203.0.113.0/24") {
		t.Errorf("IPv4: %+v, %v", r, err)
	}
	r, err = d.Lookup(netip.MustParseAddr("198.51.100.1"))
	if err != nil || r.Found || !r.Network.Contains(netip.MustParseAddr("198.51.100.1")) {
		t.Errorf("no record: %+v, %v", r, err)
	}
}

// TestIPv6OnlyData: a database holding only IPv6 networks answers no IPv4
// address, for all of IPv4 at once.
func TestIPv6OnlyData(t *testing.T) {
	tree := newTree(t, "v6", 6)
	insert(t, tree, "2001:db8::/32", mmdbtype.Map{"country_code": mmdbtype.String("KH")})
	d, err := OpenBytes("v6.mmdb", treeBytes(t, tree))
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("203.0.113.5")
	r, err := d.Lookup(a)
	if err != nil || r.Found || !r.Network.Contains(a) {
		t.Errorf("got %+v, %v", r, err)
	}
}

// TestHostileRecords: a record too large to be real is refused when the
// database is opened, naming the network.
func TestHostileRecords(t *testing.T) {
	many := mmdbtype.Map{}
	for i := 0; i < maxEntries+10; i++ {
		many[mmdbtype.String("k"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676%26)))] = mmdbtype.Uint32(uint32(i))
	}
	cases := []struct {
		name   string
		record mmdbtype.DataType
		want   string
	}{
		{"organisation name of 1 MB", mmdbtype.Map{"autonomous_system_organization": mmdbtype.String(strings.Repeat("x", 1<<20))}, "198.51.100.0/24"},
		{"city name over the limit", mmdbtype.Map{"city": mmdbtype.String(strings.Repeat("y", maxNameLen+1))}, "198.51.100.0/24"},
		{"more map entries than the budget", many, "record too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree := newTree(t, "hostile", 6)
			insert(t, tree, "198.51.100.0/24", c.record)
			_, err := OpenBytes("hostile.mmdb", treeBytes(t, tree))
			if err == nil {
				t.Fatal("opened")
			}
			if !errors.Is(err, ErrNotMMDB) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "hostile.mmdb") {
				t.Errorf("error %q", err)
			}
		})
	}
}

func TestParseASNValue(t *testing.T) {
	for _, c := range []struct {
		in string
		n  uint32
		ok bool
	}{
		{"AS14593", 14593, true}, {"as13335", 13335, true}, {"64500", 64500, true},
		{"AS", 0, false}, {"AS0", 0, false}, {"", 0, false}, {"AS-1", 0, false}, {"AS4294967296", 0, false}, {"ASN1", 0, false},
	} {
		n, ok := parseASNValue(c.in)
		if n != c.n || ok != c.ok {
			t.Errorf("parseASNValue(%q) = %d, %v", c.in, n, ok)
		}
	}
}
