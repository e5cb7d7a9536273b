package stix

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams/internal/golden"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/registry"
)

// goldenFile compares got with testdata/name (see package golden).
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

func TestMain(m *testing.M) { golden.Main(m, "testdata/*.golden", "testdata/small.bundle.json") }

// describe renders what a reader returned, one line each, for golden files.
func describe(cs []seams.Compound, ins []seams.Indicator, rej []*seams.RecordError) []byte {
	var b bytes.Buffer
	for _, c := range cs {
		fmt.Fprintf(&b, "compound %s name=%q aliases=%q country=%s province=%q loc=%v,%v,%v status=%s\n",
			c.ID, c.Name, c.Aliases, c.Country, c.Province, c.HasLocation, c.Lat, c.Lon, c.Status)
	}
	for _, in := range ins {
		fmt.Fprintf(&b, "indicator %s %s %s window=%s confidence=%v,%v source=%q file=%s line=%d\n",
			in.Compound, in.Kind, in.Value, in.Window, in.HasConfidence, in.Confidence, in.Source, in.File, in.Line)
	}
	for _, e := range rej {
		fmt.Fprintf(&b, "rejected %s\n", e.Error())
	}
	return b.Bytes()
}

func readFile(t *testing.T, path string) ([]seams.Compound, []seams.Indicator, []*seams.RecordError) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rej []*seams.RecordError
	cs, ins, err := ReadBundle(f, filepath.Base(path), func(e *seams.RecordError) { rej = append(rej, e) })
	if err != nil {
		t.Fatal(err)
	}
	return cs, ins, rej
}

func TestReadBundleGolden(t *testing.T) {
	cs, ins, rej := readFile(t, "testdata/partner.json")
	goldenFile(t, "partner.golden", describe(cs, ins, rej))
}

// TestReadBundleMISPExport reads a bundle in the shape misp-stix exports a
// MISP event (its published examples of ip-src, ip-dst, ip-dst|port,
// ip-src|port, AS, domain|ip and an ip-port object, with documentation
// addresses), tied to a compound as a partner would tie it.
func TestReadBundleMISPExport(t *testing.T) {
	cs, ins, rej := readFile(t, "testdata/misp-export.json")
	goldenFile(t, "misp-export.golden", describe(cs, ins, rej))
	if len(ins) != 6 {
		t.Errorf("%d indicators, want the ip-src, ip-dst, ip-dst|port, ip-src|port, AS and nanosecond ones", len(ins))
	}
}

// TestReadBundleAccountsForEveryObject checks that every object of the
// bundle is used or rejected: the count of objects equals the objects that
// produced something plus the rejections of distinct objects.
func TestReadBundleAccountsForEveryObject(t *testing.T) {
	for _, name := range []string{"partner.json", "misp-export.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeBundle(bytes.NewReader(raw), name, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		b := &bundle{file: name, objs: objs, byID: map[string]*object{}, rejections: map[int][]*seams.RecordError{}}
		b.resolve()
		for _, o := range objs {
			if o.used == (len(b.rejections[o.index]) > 0) {
				t.Errorf("%s: %s: used=%v with %d rejections; want exactly one of the two", name, o.item(), o.used, len(b.rejections[o.index]))
			}
		}
	}
}

func TestReadBundleFatal(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"not json", "hello", "not valid JSON"},
		{"array", "[]", "not a STIX bundle"},
		{"no objects", `{"type":"bundle","id":"bundle--x"}`, "no \"objects\" array"},
		{"wrong type", `{"type":"report","objects":[]}`, "not \"bundle\""},
		{"objects not array", `{"objects":{}}`, "not an array"},
		{"cut short", `{"type":"bundle","objects":[{"type":"x"`, "ends early"},
		{"trailing", `{"objects":[]} {}`, "data after the bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadBundle(strings.NewReader(tc.in), "b.json", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "b.json: ") {
				t.Errorf("error %v, want one naming b.json and containing %q", err, tc.want)
			}
		})
	}
}

func TestReadBundleLimits(t *testing.T) {
	in := `{"type":"bundle","objects":[{"type":"note","id":"note--1","x":[[[[[[1]]]]]]}]}`
	_, _, err := ReadBundleLimits(strings.NewReader(in), "b.json", Limits{MaxBytes: 20, MaxDepth: 32}, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than 20 bytes") {
		t.Errorf("size: got %v", err)
	}
	// Exactly at the limit is fine.
	if _, _, err := ReadBundleLimits(strings.NewReader(in), "b.json", Limits{MaxBytes: int64(len(in)), MaxDepth: 32}, nil); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	var rej []*seams.RecordError
	_, _, err = ReadBundleLimits(strings.NewReader(in), "b.json", Limits{MaxBytes: 1 << 20, MaxDepth: 4}, func(e *seams.RecordError) { rej = append(rej, e) })
	if err != nil || len(rej) != 1 || !strings.Contains(rej[0].Reason, "nested deeper than 4") {
		t.Errorf("depth: err %v, rejections %v", err, rej)
	}
}

func TestParsePattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		kind    seams.Kind
		value   string
		err     string // part of the error, or "" for none
	}{
		{"[ipv4-addr:value = '203.0.113.7']", seams.KindIP, "203.0.113.7", ""},
		{"  [ ipv4-addr:value='203.0.113.7' ]  ", seams.KindIP, "203.0.113.7", ""},
		{"[ipv4-addr:value = '203.0.113.7/32']", seams.KindIP, "203.0.113.7", ""},
		{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", seams.KindCIDR, "198.51.100.0/24", ""},
		{"[ipv4-addr:value = '198.51.100.0/24']", seams.KindCIDR, "198.51.100.0/24", ""},
		{"[ipv4-addr:value ISSUBSET '198.51.100.7']", seams.KindIP, "198.51.100.7", ""},
		{"[ipv6-addr:value = '2001:DB8::7']", seams.KindIP, "2001:db8::7", ""},
		{"[ipv6-addr:value ISSUBSET '2001:db8::/32']", seams.KindCIDR, "2001:db8::/32", ""},
		{"[autonomous-system:number = 64500]", seams.KindASN, "AS64500", ""},
		{"[mac-addr:value = '00:00:5e:00:53:01']", seams.KindDevice, "mac:00:00:5e:00:53:01", ""},
		{`[x-seams-device:id = 'IMEI:35824\'005']`, seams.KindDevice, "imei:35824'005", ""},
		// As MISP (misp-stix) exports ip-src, ip-dst, ip-dst|port and AS,
		// and as the STIX 2.1 specification's examples write addresses.
		{"[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '198.51.100.7']", seams.KindIP, "198.51.100.7", ""},
		{"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = '5678']", seams.KindIP, "198.51.100.7", ""},
		{"[network-traffic:src_ref.type = 'ipv6-addr' AND network-traffic:src_ref.value = '2001:db8::7' AND network-traffic:src_port = 1234]", seams.KindIP, "2001:db8::7", ""},
		{"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']", seams.KindIP, "203.0.113.33", ""},
		{"[network-traffic:dst_ref.value = '203.0.113.0/24']", seams.KindCIDR, "203.0.113.0/24", ""},
		{"[network-traffic:dst_ref.value ISSUBSET '2001:db8::/32']", seams.KindCIDR, "2001:db8::/32", ""},
		{"[(network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '198.51.100.7')]", seams.KindIP, "198.51.100.7", ""},
		{"([network-traffic:src_ref.value = '198.51.100.7'])", seams.KindIP, "198.51.100.7", ""},
		{"[autonomous-system:number = '64500']", seams.KindASN, "AS64500", ""},
		{"[ipv4-addr:value = '203.0.113.7' AND ipv4-addr:value = '203.0.113.7']", seams.KindIP, "203.0.113.7", ""},
		{"[ipv4-addr:value = '203.0.113.7' OR ipv4-addr:value = '203.0.113.8']", 0, "", "complex pattern (OR)"},
		{"[ipv4-addr:value = '203.0.113.7' AND ipv4-addr:value = '203.0.113.8']", 0, "", "complex pattern (AND): it compares 2 values"},
		{"[ipv4-addr:value = '203.0.113.7'] AND [ipv4-addr:value = '203.0.113.8']", 0, "", "complex pattern (AND of observations)"},
		{"([ipv4-addr:value = '203.0.113.7'] OR [ipv4-addr:value = '203.0.113.8'])", 0, "", "complex pattern (OR of observations)"},
		{"[(network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '198.51.100.7') AND (network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.8')]",
			0, "", "complex pattern (AND): it names both network-traffic:src_ref and network-traffic:dst_ref"},
		{"[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7']", 0, "", "names both network-traffic:dst_ref and network-traffic:src_ref"},
		{"[network-traffic:dst_port = '443' AND ipv4-addr:value = '198.51.100.7']", 0, "", "complex pattern (AND): it compares 2 kinds of object (network-traffic, ipv4-addr)"},
		{"[network-traffic:src_ref.type = 'ipv6-addr' AND network-traffic:src_ref.value = '198.51.100.7']", 0, "", "does not agree"},
		{"[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.type = 'ipv6-addr' AND network-traffic:src_ref.value = '198.51.100.7']", 0, "", "cannot both hold"},
		{"[network-traffic:src_ref.type = 'ipv4-addr']", 0, "", "compares no address"},
		{"[network-traffic:src_ref.value = '198.51.100.7' AND network-traffic:src_port = 'https']", 0, "", "takes = and a port number"},
		{"[domain-name:value = 'scam.example' AND domain-name:resolves_to_refs[*].value = '198.51.100.7']", 0, "", `object path "domain-name:value" is not one seams reads`},
		{"[network-traffic:extensions.'http-request-ext'.request_value = '/x']", 0, "", `object path "network-traffic:extensions.'http-request-ext'.request_value"`},
		{"[autonomous-system:number = 'AS1']", 0, "", "takes = and a number"},
		{"[ipv4-addr:value = '203.0.113.7'] FOLLOWEDBY [ipv4-addr:value = '203.0.113.8']", 0, "", "complex pattern (FOLLOWEDBY)"},
		{"[ipv4-addr:value = '203.0.113.7'] WITHIN 300 SECONDS", 0, "", "qualifier WITHIN"},
		{"[ipv4-addr:value != '203.0.113.7']", 0, "", "comparison != is not supported"},
		{"[ipv4-addr:value LIKE '203.%']", 0, "", "comparison LIKE"},
		{"[ipv4-addr:value = '2001:db8::1']", 0, "", "other address family"},
		{"[ipv6-addr:value = '203.0.113.7']", 0, "", "other address family"},
		{"[ipv4-addr:value = '10.0.0.1']", 0, "", "private"},
		{"[ipv4-addr:value ISSUBSET '198.51.100.1/24']", 0, "", "host bits set"},
		{"[domain-name:value = 'scam.example']", 0, "", "not one seams reads"},
		{"[ipv4-addr:value = 203]", 0, "", "quoted address"},
		{"[ipv4-addr:value = '203.0.113.7'", 0, "", "not one observation in brackets"},
		{"[ipv4-addr:value = '203.0.113.7]", 0, "", "unterminated string"},
		{`[x-seams-device:id = 'a\b']`, 0, "", "invalid escape"},
		{"", 0, "", "not one observation"},
		{"[ipv4-addr:value = '203.0.113.7'] [", 0, "", "not one observation"},
		{"[(ipv4-addr:value = '203.0.113.7']", 0, "", "unbalanced parentheses"},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			in, err := ParsePattern(tc.pattern)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(tc.err, "complex") || strings.Contains(tc.err, "qualifier") {
					if !errors.Is(err, ErrComplexPattern) {
						t.Errorf("error %v does not wrap ErrComplexPattern", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Kind != tc.kind || in.Value != tc.value {
				t.Fatalf("got %s %s, want %s %s", in.Kind, in.Value, tc.kind, tc.value)
			}
			back, err := ParsePattern(FormatPattern(&in))
			if err != nil || back.Value != in.Value || back.Kind != in.Kind {
				t.Errorf("FormatPattern %q does not parse back: %v %v", FormatPattern(&in), back.Value, err)
			}
		})
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"KK Park":                 "kk-park",
		"  Jinbei -- Casino  ":    "jinbei-casino",
		"Kings Romans (Bokeo)":    "kings-romans-bokeo",
		"!!!":                     "",
		strings.Repeat("ab ", 40): strings.Repeat("ab-", 21) + "a",
	} {
		if got := Slug(in); got != want || len(got) > 64 {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// smallRegistry reads the hand-made registry of the foundation's tests.
func smallRegistry(t *testing.T) ([]seams.Compound, []seams.Indicator) {
	t.Helper()
	cf, err := os.Open("../testdata/small/compounds.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	cs, err := registry.ReadCompounds(cf, "compounds.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for i, c := range cs {
		ids[c.ID] = i
	}
	inf, err := os.Open("../testdata/small/indicators.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer inf.Close()
	ins, err := registry.ReadIndicators(inf, "indicators.csv", ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cs, ins
}

var exportTime = time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)

// sampleFindings builds findings on the small registry's indicators:
// one tied by two events on one address, one potential by a prefix, one
// tied by a device without a time.
func sampleFindings(ins []seams.Indicator) []seams.Finding {
	pick := func(kind seams.Kind) *seams.Indicator {
		for i := range ins {
			if ins[i].Kind == kind && ins[i].Compound == "c-jinbei" {
				return &ins[i]
			}
		}
		panic("no indicator of kind " + kind.String())
	}
	ip, cidr, dev := pick(seams.KindIP), pick(seams.KindCIDR), pick(seams.KindDevice)
	a := netip.MustParseAddr("203.0.113.7")
	return []seams.Finding{
		{Report: "r-1", Compound: "c-jinbei", Tier: seams.TierTied, Evidence: []seams.Evidence{
			{Rule: seams.RuleIP, Indicator: ip, Observed: seams.Observation{IP: a, At: time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC), Event: "login", Port: 51234}},
			{Rule: seams.RuleIP, Indicator: ip, Observed: seams.Observation{IP: a, At: time.Date(2024, 4, 2, 8, 0, 0, 0, time.UTC)}},
		}},
		{Report: "r-2", Compound: "c-jinbei", Tier: seams.TierPotential, Evidence: []seams.Evidence{
			{Rule: seams.RuleCIDR, Indicator: cidr, Observed: seams.Observation{IP: netip.MustParseAddr("198.51.100.23"), At: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), Proxy: true}},
		}},
		{Report: "r-3", Compound: "c-jinbei", Tier: seams.TierTied, Evidence: []seams.Evidence{
			{Rule: seams.RuleDevice, Indicator: dev, Observed: seams.Observation{Device: dev.Device}},
		}},
	}
}

func sampleExport(t *testing.T) *Export {
	cs, ins := smallRegistry(t)
	return &Export{Org: "Hotline Example", Time: exportTime, Compounds: cs, Indicators: ins, Findings: sampleFindings(ins)}
}

func TestWriteBundleGolden(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteBundle(&a, sampleExport(t)); err != nil {
		t.Fatal(err)
	}
	if err := WriteBundle(&b, sampleExport(t)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two writes of the same export differ")
	}
	goldenFile(t, "small.bundle.json", a.Bytes())
}

func TestWriteBundleSightings(t *testing.T) {
	e := sampleExport(t)
	var buf bytes.Buffer
	if err := WriteBundle(&buf, e); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// r-1 has two events on one indicator: one sighting with count 2 and
	// the window of the two events.
	ip := &e.Findings[0].Evidence[0]
	sid := SightingID("r-1", IndicatorID("c-jinbei", ip.Indicator))
	line := lineWith(t, out, `"id":"`+sid+`"`)
	for _, want := range []string{`"count":2`, `"first_seen":"2024-04-02T08:00:00.000Z"`, `"last_seen":"2024-05-01T22:14:03.000Z"`,
		`"confidence":85`, `"x_seams_tier":"tied"`, `"where_sighted_refs":["` + IdentityID("Hotline Example") + `"]`} {
		if !strings.Contains(line, want) {
			t.Errorf("sighting of r-1 lacks %s: %s", want, line)
		}
	}
	line = lineWith(t, out, `"x_seams_report":"r-2"`)
	if !strings.Contains(line, `"confidence":50`) || !strings.Contains(line, `"x_seams_rules":["cidr"]`) {
		t.Errorf("sighting of r-2: %s", line)
	}
	line = lineWith(t, out, `"x_seams_report":"r-3"`)
	if strings.Contains(line, "first_seen") {
		t.Errorf("a device without a time has no first_seen: %s", line)
	}
}

func lineWith(t *testing.T, s, sub string) string {
	t.Helper()
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	t.Fatalf("no line with %s", sub)
	return ""
}

// TestRoundTripIndicators: seams indicators (CSV) -> STIX -> seams gives
// the same indicators and compounds.
func TestRoundTripIndicators(t *testing.T) {
	cs, ins := smallRegistry(t)
	// Add what the CSV lacks: an open start, an odd confidence, IPv6, ASN.
	extra := []struct {
		kind  seams.Kind
		value string
		first string
		conf  float64
	}{
		{seams.KindIP, "2001:db8::7", "", 0.123},
		{seams.KindASN, "AS64500", "2024-02-29T12:30:00.5Z", 1},
		{seams.KindDevice, "mac:00:00:5e:00:53:01", "", 0},
		{seams.KindDevice, `idfa:it's\x`, "", 0.5},
		{seams.KindIP, "203.0.113.200", "2024-02-29T12:30:00.123456789Z", 0.5},
	}
	for _, x := range extra {
		in, err := seams.ParseIndicatorValue(x.kind, x.value)
		if err != nil {
			t.Fatal(err)
		}
		in.Compound = "c-kings"
		last := "2025-01-01"
		if strings.Contains(x.first, ".123456789") {
			last = "2024-03-01T00:00:00.000000001Z" // neither edge on a millisecond
		}
		in.Window, _ = seams.ParseWindow(x.first, last)
		in.Confidence, in.HasConfidence = x.conf, true
		ins = append(ins, in)
	}
	// Drift bounds: none (0), whole days, and a duration that is not.
	for k, d := range []time.Duration{0, 7 * 24 * time.Hour, 90 * time.Minute} {
		ins[len(ins)-1-k].Drift, ins[len(ins)-1-k].HasDrift = d, true
	}
	var buf bytes.Buffer
	if err := WriteBundle(&buf, &Export{Org: "Hotline Example", Time: exportTime, Compounds: cs, Indicators: ins}); err != nil {
		t.Fatal(err)
	}
	var rej []*seams.RecordError
	cs2, ins2, err := ReadBundle(&buf, "x.json", func(e *seams.RecordError) { rej = append(rej, e) })
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rej {
		if e.Item != IdentityID("Hotline Example") { // the Identity only creates
			t.Errorf("rejected: %v", e)
		}
	}
	if len(ins2) != len(ins) {
		t.Fatalf("got %d indicators, want %d", len(ins2), len(ins))
	}
	for i := range ins {
		a, b := ins[i], ins2[i]
		a.File, a.Line, b.File, b.Line = "", 0, "", 0
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("indicator %d:\n got %+v\nwant %+v", i, b, a)
		}
	}
	if fmt.Sprint(cs2) != fmt.Sprint(cs) {
		t.Errorf("compounds:\n got %+v\nwant %+v", cs2, cs)
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"[ipv4-addr:value = '203.0.113.7']", "[ipv6-addr:value ISSUBSET '2001:db8::/32']",
		"[autonomous-system:number = 64500]", `[x-seams-device:id = 'imei:1\'2']`,
		"[a:b = 'x'] FOLLOWEDBY [c:d = t'2020-01-01T00:00:00Z'] WITHIN 5 SECONDS", "[",
		"[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '198.51.100.7']",
		"[network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value = '2001:db8::7' AND network-traffic:dst_port = '443']",
		"[(network-traffic:src_ref.value = '198.51.100.7') AND (network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24')]",
		"[autonomous-system:number = '64500']", "[domain-name:resolves_to_refs[*].value = 'x' AND file:hashes.'SHA-256' = 'y']",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		in, err := ParsePattern(p)
		if err != nil {
			return
		}
		back, err := ParsePattern(FormatPattern(&in))
		if err != nil || back.Kind != in.Kind || back.Value != in.Value {
			t.Fatalf("%q -> %q does not parse back: %v", p, FormatPattern(&in), err)
		}
	})
}

func FuzzReadBundle(f *testing.F) {
	for _, name := range []string{"testdata/partner.json", "testdata/small.bundle.json", "testdata/misp-export.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"objects":[{"type":"indicator","id":"indicator--1","pattern":"[","valid_from":"x"}]}`))
	f.Add([]byte(`{"objects":[{"type":"infrastructure","id":"infrastructure--1","name":"X","labels":["scam-compound"]},` +
		`{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '203.0.113.7']","valid_from":"1677-09-21T00:12:43.145Z",` +
		`"x_seams_first_seen":"1677-09-21T00:12:43.145224192Z","valid_until":"2262-04-11T23:47:16.855Z","x_seams_last_seen":"2262-04-11T23:47:16.854775807Z"},` +
		`{"type":"relationship","id":"relationship--1","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"infrastructure--1"}]}`))
	f.Add([]byte(`{"objects":[{"type":"infrastructure","id":"infrastructure--1","name":"X","labels":["scam-compound"]},` +
		`{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '203.0.113.7']","valid_from":"2024-01-01T00:00:00Z","x_seams_drift":"0"},` +
		`{"type":"indicator","id":"indicator--2","pattern":"[ipv4-addr:value = '203.0.113.8']","valid_from":"2024-01-01T00:00:00Z","x_seams_drift":"-1h"},` +
		`{"type":"indicator","id":"indicator--3","pattern":"[ipv4-addr:value = '203.0.113.9']","valid_from":"2024-01-01T00:00:00Z","x_seams_drift":7},` +
		`{"type":"relationship","id":"relationship--1","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"infrastructure--1"},` +
		`{"type":"relationship","id":"relationship--2","relationship_type":"indicates","source_ref":"indicator--2","target_ref":"infrastructure--1"},` +
		`{"type":"relationship","id":"relationship--3","relationship_type":"indicates","source_ref":"indicator--3","target_ref":"infrastructure--1"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		cs, ins, err := ReadBundleLimits(bytes.NewReader(b), "f.json", Limits{MaxBytes: 1 << 20, MaxDepth: 16},
			func(e *seams.RecordError) {
				n++
				if e.File != "f.json" || e.Item == "" || e.Reason == "" {
					t.Fatalf("rejection without file, item or reason: %+v", e)
				}
			})
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, c := range cs {
			if !seams.ValidCompoundID(c.ID) || ids[c.ID] {
				t.Fatalf("invalid or repeated compound id %q", c.ID)
			}
			ids[c.ID] = true
		}
		for _, in := range ins {
			if !ids[in.Compound] {
				t.Fatalf("indicator of unknown compound %q", in.Compound)
			}
			if _, err := seams.ParseIndicatorValue(in.Kind, in.Value); err != nil {
				t.Fatalf("indicator value %q does not parse: %v", in.Value, err)
			}
		}
		// What was read writes back and reads back the same.
		var buf bytes.Buffer
		if err := WriteBundle(&buf, &Export{Org: "o", Time: exportTime, Compounds: cs, Indicators: ins}); err != nil {
			t.Fatal(err)
		}
		distinct := map[string]bool{}
		for i := range ins {
			distinct[IndicatorID(ins[i].Compound, &ins[i])] = true
		}
		_, ins2, err := ReadBundle(&buf, "g.json", nil)
		if err != nil || len(ins2) != len(distinct) {
			t.Fatalf("rewritten bundle reads back %d of %d indicators: %v", len(ins2), len(distinct), err)
		}
		// With the same windows, to the nanosecond.
		for i := range ins2 {
			if !distinct[IndicatorID(ins2[i].Compound, &ins2[i])] {
				t.Fatalf("indicator %s %s of %s came back with window %s, which was not read", ins2[i].Kind, ins2[i].Value, ins2[i].Compound, ins2[i].Window)
			}
		}
	})
}

// TestReadBundleDrift: x_seams_drift is an indicator's drift bound; a bad
// one rejects the indicator, naming the property; none is no bound.
func TestReadBundleDrift(t *testing.T) {
	ind := func(n int, drift string) string {
		return fmt.Sprintf(`{"type":"indicator","id":"indicator--%d","pattern":"[ipv4-addr:value = '203.0.113.%d']","valid_from":"2024-01-01T00:00:00Z"%s},`+
			`{"type":"relationship","id":"relationship--%d","relationship_type":"indicates","source_ref":"indicator--%d","target_ref":"infrastructure--1"}`, n, n, drift, n, n)
	}
	b := `{"type":"bundle","id":"bundle--1","objects":[{"type":"infrastructure","id":"infrastructure--1","name":"X","labels":["scam-compound"]},` +
		ind(1, `,"x_seams_drift":"0"`) + "," + ind(2, `,"x_seams_drift":"7d"`) + "," + ind(3, "") + "," + ind(4, `,"x_seams_drift":"-1h"`) + `]}`
	var rej []string
	_, ins, err := ReadBundle(strings.NewReader(b), "b.json", func(e *seams.RecordError) { rej = append(rej, e.Item+": "+e.Reason) })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range ins {
		got = append(got, fmt.Sprintf("%s %v %v", in.Value, in.HasDrift, in.Drift))
	}
	if want := []string{"203.0.113.1 true 0s", "203.0.113.2 true 168h0m0s", "203.0.113.3 false 0s"}; !slices.Equal(got, want) {
		t.Errorf("indicators %q, want %q", got, want)
	}
	if len(rej) != 1 || !strings.Contains(rej[0], `indicator--4: x_seams_drift: invalid drift "-1h"`) {
		t.Errorf("rejected %q", rej)
	}
}
