package mmdb

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// encodeRecord returns the MMDB data-section encoding of v.
func encodeRecord(t testing.TB, v mmdbtype.DataType) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := bufferWriter{&buf}
	if _, err := v.WriteTo(w); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bufferWriter is the writer mmdbtype values encode to, without pointers.
type bufferWriter struct{ *bytes.Buffer }

func (w bufferWriter) WriteOrWritePointer(v mmdbtype.DataType) (int64, error) { return v.WriteTo(w) }

// FuzzRecord feeds arbitrary bytes, read as one MMDB data value, to seams'
// record decoder (the parser this package adds to maxminddb-golang): it
// must decode or refuse without panicking, within its work budget, and
// what it decodes must keep the record's invariants.
func FuzzRecord(f *testing.F) {
	for _, v := range []mmdbtype.DataType{
		mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(14593), "autonomous_system_organization": mmdbtype.String("Space Exploration Technologies Corporation")},
		mmdbtype.Map{"asn": mmdbtype.String("AS64500"), "as_name": mmdbtype.String("Example"), "country_code": mmdbtype.String("kh"), "country": mmdbtype.String("Cambodia")},
		mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("MM")}, "city": mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Yangon")}},
			"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("TH")}},
		mmdbtype.Map{"city": mmdbtype.String("Vientiane"), "country_code": mmdbtype.String("LA"), "latitude": mmdbtype.Float64(17.9)},
		mmdbtype.Map{"asn": mmdbtype.Uint64(1 << 40), "name": mmdbtype.String("x")},
		mmdbtype.String("not a map"),
	} {
		f.Add(encodeRecord(f, v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dec := mmdbdata.NewDecoder(b, 0)
		var r record
		if _, err := r.UnmarshalMaxMindDBCursor(dec.Cursor()); err != nil {
			return
		}
		r.finish()
		if r.visited > maxEntries {
			t.Fatalf("visited %d map entries", r.visited)
		}
		if r.hasASN != (r.asn != 0) {
			t.Fatalf("hasASN %v with AS%d", r.hasASN, r.asn)
		}
		if len(r.org) > maxOrgLen || len(r.name) > maxOrgLen || len(r.city) > maxNameLen {
			t.Fatalf("field over its limit: %d %d %d", len(r.org), len(r.name), len(r.city))
		}
		if r.country != "" {
			if cc, ok := countryCode(r.country); !ok || cc != r.country {
				t.Fatalf("country %q", r.country)
			}
		}
	})
}

// TestOpenMutated opens thousands of corrupted copies of real and synthetic
// databases: each must be refused or opened without panicking, and one
// opened must answer lookups without error, with a network that holds the
// address. (A fuzz target over whole files is not used: under the fuzzing
// engine's instrumentation it stalls in maxminddb-golang's reader.)
func TestOpenMutated(t *testing.T) {
	tree := newTree(t, "fuzz", 6)
	insert(t, tree, "198.51.100.0/24", mmdbtype.Map{"asn": mmdbtype.String("AS64500"), "country": mmdbtype.Map{"iso_code": mmdbtype.String("KH")}})
	insert(t, tree, "2001:db8::/32", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64501), "country_code": mmdbtype.String("la")})
	seeds := [][]byte{treeBytes(t, tree)}
	for _, p := range []string{extractASN, extractCity} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	addrs := []netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("36.37.128.10"), netip.MustParseAddr("::1")}
	special := [][]byte{{0xff}, {0xff, 0xff, 0xff, 0xff}, {0x7f, 0xff, 0xff, 0xff}, {0}, {0x80}, {0xe0}}
	r := rand.New(rand.NewPCG(3, 4))
	n := 3000
	if testing.Short() {
		n = 500
	}
	opened := 0
	for i := 0; i < n; i++ {
		b := append([]byte(nil), seeds[i%len(seeds)]...)
		for k := 0; k <= r.IntN(4); k++ {
			j := r.IntN(len(b))
			if r.IntN(2) == 0 {
				j = max(0, len(b)-1-r.IntN(300)) // the metadata and the end of the data
			}
			switch r.IntN(3) {
			case 0:
				copy(b[j:], special[r.IntN(len(special))])
			case 1:
				b[j] ^= byte(1 << r.IntN(8))
			case 2:
				b = append(b[:j], b[min(len(b), j+1+r.IntN(16)):]...)
			}
		}
		d, err := OpenBytes("mutated.mmdb", b)
		if err != nil {
			continue
		}
		opened++
		for _, a := range addrs {
			rec, err := d.Lookup(a)
			if err != nil {
				t.Fatalf("mutation %d: opened, then %s: %v", i, a, err)
			}
			if !rec.Network.Contains(a) {
				t.Fatalf("mutation %d: %s: network %s does not hold it", i, a, rec.Network)
			}
		}
		d.Close()
	}
	t.Logf("%d of %d mutated databases opened", opened, n)
}

// FuzzParseASNValue: an AS number read from a database string is always in
// range and prints back to the same number.
func FuzzParseASNValue(f *testing.F) {
	for _, s := range []string{"AS14593", "as13335", "64500", "AS", "AS0", "AS4294967295", "AS4294967296", "+5", " 5", "AS-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseASNValue(s)
		if !ok {
			return
		}
		if n == 0 {
			t.Fatalf("%q: AS0 accepted", s)
		}
		if m, ok := parseASNValue("AS" + itoa(n)); !ok || m != n {
			t.Fatalf("%q: %d does not round-trip", s, n)
		}
	})
}

func itoa(n uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
