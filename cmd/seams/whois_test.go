package main

import (
	"encoding/json"
	"flag"
	"strings"
	"testing"

	"github.com/seams-dev/seams/internal/enrich"
)

// Databases for the command-line tests: the committed extract of the real
// registries, and synthetic ones in documentation ranges.
const (
	seaASN     = "../../mmdb/testdata/sea-asn.mmdb"
	seaCountry = "../../mmdb/testdata/sea-country.mmdb"
	seaCity    = "../../mmdb/testdata/sea-city.mmdb"
	docASN     = "../../mmdb/testdata/doc-asn.mmdb"
	docGeo     = "../../mmdb/testdata/doc-geo.mmdb"
)

func TestWhoisTable(t *testing.T) {
	code, stdout, stderr := run(t, "", "whois-ip", "--asn-db", seaASN, "--geo-db", seaCity, "--geo-db", seaCountry, "14.1.64.1", "36.37.128.10", "10.1.2.3", "1.1.1.1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	for _, c := range []struct {
		line  int
		words []string
	}{
		{0, []string{"address", "asn", "organisation", "network", "country", "city", "presets"}},
		{1, []string{"14.1.64.1", "AS14593", "Space Exploration Technologies Corporation", "14.1.64.0/19", "PH", "Manila", "satellite"}},
		{2, []string{"36.37.128.10", "AS38623", "VIETTEL (CAMBODIA) PTE., LTD", "36.37.128.0/17", "KH", "Phnom Penh"}},
		{3, []string{"10.1.2.3", "(private address)"}},
		{4, []string{"1.1.1.1", "AS13335", "Cloudflare, Inc.", "AU", "Sydney", "cdn,public-dns"}},
		{5, []string{"asn database: ../../mmdb/testdata/sea-asn.mmdb (seams-test-extract-ASN, built 2026-06-17"}},
		{6, []string{"geo database: ../../mmdb/testdata/sea-city.mmdb (seams-test-extract-city, built 2026-06-05"}},
	} {
		if c.line >= len(lines) {
			t.Fatalf("only %d lines:\n%s", len(lines), stdout)
		}
		for _, w := range c.words {
			if !strings.Contains(lines[c.line], w) {
				t.Errorf("line %d %q lacks %q", c.line, lines[c.line], w)
			}
		}
	}
}

func TestWhoisJSON(t *testing.T) {
	// Flags after the addresses are read too.
	code, stdout, stderr := run(t, "", "whois-ip", "192.0.2.9", "2001:db8::1", "--json", "--asn-db", docASN, "--geo-db", docGeo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Databases []struct{ Role, File, Type, Built string }
		Addresses []whoisAnswer
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(got.Databases) != 2 || got.Databases[0].Role != "asn" || got.Databases[1].Type != "seams-test-synthetic-geo" || got.Databases[0].Built != "2026-01-01T00:00:00Z" {
		t.Errorf("databases: %+v", got.Databases)
	}
	want := []whoisAnswer{
		{IP: "192.0.2.9", ASN: 64496, Org: "Example Fixed Line (synthetic)", Network: "192.0.2.0/24", Country: "KH", City: "Phnom Penh", GeoNetwork: "192.0.2.0/24", Presets: []string{}},
		{IP: "2001:db8::1", ASN: 64497, Org: "Example Mobile (synthetic)", Network: "2001:db8::/32", Country: "TH", City: "Mae Sot", GeoNetwork: "2001:db8::/33", Presets: []string{}},
	}
	if len(got.Addresses) != len(want) {
		t.Fatalf("addresses: %+v", got.Addresses)
	}
	for i := range want {
		g, w := got.Addresses[i], want[i]
		if g.IP != w.IP || g.ASN != w.ASN || g.Org != w.Org || g.Network != w.Network || g.Country != w.Country || g.City != w.City || g.GeoNetwork != w.GeoNetwork || len(g.Presets) != 0 {
			t.Errorf("address %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestWhoisWithoutDatabases(t *testing.T) {
	code, stdout, stderr := run(t, "", "whois-ip", "8.8.8.8")
	if code != 0 || !strings.Contains(stdout, "public-dns") || !strings.Contains(stderr, "no --asn-db or --geo-db given") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

func TestWhoisErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no address", []string{"whois-ip", "--asn-db", docASN}, 2, "no address given\nTry: seams help whois-ip"},
		{"invalid address", []string{"whois-ip", "nope"}, 2, `invalid IP address "nope"`},
		{"unknown flag", []string{"whois-ip", "--frob", "1.1.1.1"}, 2, "flag provided but not defined: -frob"},
		{"missing database", []string{"whois-ip", "--asn-db", "nope.mmdb", "1.1.1.1"}, 1, "nope.mmdb"},
		{"location database as ASN", []string{"whois-ip", "--asn-db", docGeo, "1.1.1.1"}, 1, "give it as the geo database"},
		{"not a database", []string{"whois-ip", "--geo-db", "whois.go", "1.1.1.1"}, 1, "whois.go: not a valid MaxMind DB file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, "", c.args...)
			if code != c.code || !strings.Contains(stderr, c.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.msg)
			}
		})
	}
}

// TestManualsOfEnrichment holds the manuals of whois-ip and enrich to their
// flag sets, as TestManualsDocumentEveryFlag does for the others.
func TestManualsOfEnrichment(t *testing.T) {
	sets := map[string]*flag.FlagSet{"whois-ip": whoisFlags(&whoisArgs{}), "enrich": enrichFlags(&enrich.FileOptions{}, &dbArgs{})}
	for name, fs := range sets {
		usage := commands[name].usage
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(usage, "--"+f.Name) {
				t.Errorf("seams help %s does not document --%s", name, f.Name)
			}
		})
		code, stdout, _ := run(t, "", "help", name)
		if code != 0 || stdout != usage {
			t.Errorf("seams help %s: exit %d", name, code)
		}
	}
}
