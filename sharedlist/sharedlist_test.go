package sharedlist

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	names := Names()
	if want := []string{"cdn", "public-dns", "satellite", "vpn"}; !slices.Equal(names, want) {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	for _, n := range names {
		l, err := Preset(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if l.Name != n || l.Title == "" || l.Date == "" || len(l.Sources) == 0 || len(l.Entries) == 0 {
			t.Errorf("%s: incomplete: %+v", n, l)
		}
		if len(l.Entries) != len(l.Prefixes)+len(l.ASNs) {
			t.Errorf("%s: %d entries, %d prefixes, %d ASNs", n, len(l.Entries), len(l.Prefixes), len(l.ASNs))
		}
		for _, e := range l.Entries {
			if e.Note == "" || e.Source == "" {
				t.Errorf("%s:%d: %s lacks a note or a source", n, e.Line, e)
			}
		}
	}
	sat, _ := Preset("satellite")
	if !slices.Contains(sat.ASNs, 14593) || sat.Note(14593) != "SpaceX Starlink" {
		t.Errorf("satellite: %v, note %q", sat.ASNs, sat.Note(14593))
	}
	dns, _ := Preset("public-dns")
	for _, a := range []string{"8.8.8.8", "1.1.1.1", "9.9.9.9", "2606:4700:4700::1111"} {
		p := netip.PrefixFrom(netip.MustParseAddr(a), netip.MustParseAddr(a).BitLen())
		if !slices.Contains(dns.Prefixes, p) {
			t.Errorf("public-dns lacks %s", p)
		}
	}
	if i := slices.IndexFunc(dns.Entries, func(e Entry) bool { return e.Prefix.Addr() == netip.MustParseAddr("9.9.9.9") }); i < 0 || !strings.Contains(dns.Entries[i].Source, "quad9.net") {
		t.Errorf("9.9.9.9 is not sourced to Quad9's documentation")
	}
}

func TestPresetErrors(t *testing.T) {
	for _, n := range []string{"nope", "", "../cdn", "CDN", "cdn.txt"} {
		_, err := Preset(n)
		if !errors.Is(err, ErrUnknownPreset) || !strings.Contains(err.Error(), "known: cdn, public-dns, satellite, vpn") {
			t.Errorf("Preset(%q): %v", n, err)
		}
	}
}

func TestPresetsList(t *testing.T) {
	ls, err := Presets(" satellite, cdn,satellite")
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].Name != "satellite" || ls[1].Name != "cdn" {
		t.Errorf("got %d lists", len(ls))
	}
	for _, bad := range []string{"", "satellite,", "satellite,,cdn", "satellite,mars"} {
		if _, err := Presets(bad); err == nil {
			t.Errorf("Presets(%q) accepted", bad)
		}
	}
}

func TestParseASN(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
		err  string
	}{
		{"AS14593", 14593, ""},
		{"as14593", 14593, ""},
		{"14593", 14593, ""},
		{" AS13335 ", 13335, ""},
		{"AS4294967294", 4294967294, ""},
		{"AS0", 0, "reserved"},
		{"AS4294967295", 0, "reserved"},
		{"AS4294967296", 0, "invalid AS number"},
		{"AS", 0, "invalid AS number"},
		{"", 0, "invalid AS number"},
		{"AS-5", 0, "invalid AS number"},
		{"AS+5", 0, "invalid AS number"},
		{"AS 5", 0, "invalid AS number"},
		{"ASN5", 0, "invalid AS number"},
		{"AS1.5", 0, "invalid AS number"},
		{"0x10", 0, "invalid AS number"},
	} {
		got, err := ParseASN(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseASN(%q) = %d, %v; want %d", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseASN(%q) = %d, %v; want an error with %q", c.in, got, err, c.err)
		}
	}
}

func TestFromFlag(t *testing.T) {
	l, err := FromFlag("AS14593,13335, as14593")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "shared-asn" || !slices.Equal(l.ASNs, []uint32{14593, 13335}) || len(l.Entries) != 2 || l.Source != "command line" {
		t.Errorf("got %+v", l)
	}
	if _, err := FromFlag("AS14593,Starlink"); err == nil || !strings.Contains(err.Error(), `--shared-asn: invalid AS number "Starlink"`) {
		t.Errorf("error %v", err)
	}
}

const goodList = `# name: test-list
# title: a list for tests
# date: 2026-12-02
# source: https://example.com/one
AS64500            # Example One
203.0.113.0/24     # a prefix
# source: https://example.com/two
2001:db8::1        # an address
198.51.100.7
64501
`

func TestParse(t *testing.T) {
	l, err := Parse(strings.NewReader(goodList), "test.txt")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "test-list" || l.Title != "a list for tests" || l.Date != "2026-12-02" || l.Source != "https://example.com/one; https://example.com/two" {
		t.Errorf("header: %+v", l)
	}
	if !slices.Equal(l.ASNs, []uint32{64500, 64501}) {
		t.Errorf("ASNs %v", l.ASNs)
	}
	want := []string{"203.0.113.0/24", "2001:db8::1/128", "198.51.100.7/32"}
	var got []string
	for _, p := range l.Prefixes {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("prefixes %v, want %v", got, want)
	}
	e := l.Entries[2]
	if e.Note != "an address" || e.Source != "https://example.com/two" || e.Line != 8 || e.String() != "2001:db8::1/128" {
		t.Errorf("entry %+v", e)
	}
	if l.Entries[0].String() != "AS64500" || l.Note(64500) != "Example One" || l.Note(64501) != "" || l.Note(1) != "" {
		t.Errorf("notes: %q %q", l.Entries[0].String(), l.Note(64500))
	}
}

func TestParseErrors(t *testing.T) {
	head := "# name: t\n# date: 2026-12-02\n# source: https://example.com\n"
	cases := []struct {
		name, in, err string
	}{
		{"no name", "# date: 2026-12-02\n# source: s\nAS1\n", `no "# name:" header`},
		{"no date", "# name: t\n# source: s\nAS1\n", `no "# date:" header`},
		{"no source", "# name: t\n# date: 2026-12-02\n", `no "# source:" header`},
		{"entry before source", "# name: t\n# date: 2026-12-02\nAS1\n", `t.txt:3: entry "AS1" before any "# source:" header`},
		{"no entries", head, "no entries"},
		{"bad date", "# name: t\n# date: 2 Dec 2026\n", `t.txt:2: invalid date "2 Dec 2026"`},
		{"bad name", "# name: Not OK\n", `invalid list name "Not OK"`},
		{"second name", "# name: t\n# name: u\n", "second name header"},
		{"header after entries", head + "AS1\n# title: late\n", `t.txt:5: header "title" after the first entry`},
		{"bad ASN", head + "AS-1\n", `t.txt:4: invalid AS number "AS-1"`},
		{"reserved ASN", head + "AS0\n", "reserved"},
		{"bad entry", head + "starlink\n", `t.txt:4: invalid entry "starlink"`},
		{"host bits set", head + "203.0.113.1/24\n", `did you mean 203.0.113.0/24?`},
		{"private range", head + "10.0.0.0/8\n", "overlaps private range"},
		{"carrier NAT", head + "100.64.0.0/10\n", "carrier-grade NAT"},
		{"repeated ASN", head + "AS1\nas1\n", "t.txt:5: AS1 repeats line 4"},
		{"repeated prefix", head + "203.0.113.7\n203.0.113.7/32\n", "repeats line 4"},
		{"invalid UTF-8", head + "AS1 # \xff\n", "not valid UTF-8"},
		{"long line", head + "AS1 # " + strings.Repeat("x", MaxLine) + "\n", "line longer than"},
		{"empty source", "# name: t\n# source:\n", "empty source"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(c.in), "t.txt")
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %v, want %q", err, c.err)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	big := "# name: t\n# date: 2026-12-02\n# source: s\n" + strings.Repeat("# filler line to make the file large\n", MaxFileSize/36+1)
	if _, err := Parse(strings.NewReader(big), "big.txt"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("error %v", err)
	}
}

func TestParseCRLF(t *testing.T) {
	l, err := Parse(strings.NewReader(strings.ReplaceAll(goodList, "\n", "\r\n")), "crlf.txt")
	if err != nil || len(l.Entries) != 5 || l.Entries[0].Note != "Example One" {
		t.Errorf("CRLF: %v, %+v", err, l)
	}
}
