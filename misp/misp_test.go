package misp

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
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

func TestMain(m *testing.M) { golden.Main(m, "testdata/*.golden", "testdata/small.misp.json") }

func decodeFile(t *testing.T, path string) (*Feed, []*seams.RecordError) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rej []*seams.RecordError
	feed, err := Decode(f, filepath.Base(path), DefaultLimits(), func(e *seams.RecordError) { rej = append(rej, e) })
	if err != nil {
		t.Fatal(err)
	}
	return feed, rej
}

func TestDecodeGolden(t *testing.T) {
	feed, rej := decodeFile(t, "testdata/partner-event.json")
	var b bytes.Buffer
	for _, c := range feed.Compounds {
		fmt.Fprintf(&b, "compound %s name=%q aliases=%q country=%s\n", c.ID, c.Name, c.Aliases, c.Country)
	}
	for _, in := range feed.Indicators {
		fmt.Fprintf(&b, "indicator %s %s %s window=%s confidence=%v,%v source=%q\n",
			in.Compound, in.Kind, in.Value, in.Window, in.HasConfidence, in.Confidence, in.Source)
	}
	for _, s := range feed.Sightings {
		fmt.Fprintf(&b, "sighting %s %s %s at=%s source=%q type=%d\n", s.Compound, s.Kind, s.Value, s.At.Format(time.RFC3339), s.Source, s.Type)
	}
	for _, e := range rej {
		fmt.Fprintf(&b, "rejected %s\n", e.Error())
	}
	goldenFile(t, "partner-event.golden", b.Bytes())
}

func TestDecodeShapes(t *testing.T) {
	attr := `{"type":"ip-src","value":"203.0.113.7","Tag":[{"name":"seams:compound=\"c-x\""}]}`
	for _, tc := range []struct{ name, in string }{
		{"one event", `{"Event":{"Attribute":[` + attr + `]}}`},
		{"response", `{"response":[{"Event":{"Attribute":[` + attr + `]}}]}`},
		{"array", `[{"Event":{"Attribute":[` + attr + `]}}]`},
		{"byte order mark", "\uFEFF" + `{"Event":{"Attribute":[` + attr + `]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, ins, err := ReadEvents(strings.NewReader(tc.in), "e.json", func(e *seams.RecordError) { t.Errorf("rejected: %v", e) })
			if err != nil || len(cs) != 1 || len(ins) != 1 || ins[0].Value != "203.0.113.7" || ins[0].Compound != "c-x" {
				t.Errorf("got %v %v %v", cs, ins, err)
			}
		})
	}
	for _, tc := range []struct{ name, in, want string }{
		{"not json", "nope", "not valid JSON"},
		{"no event", `{"x":1}`, "not MISP event JSON"},
		{"number", `7`, "want a JSON object"},
		{"response not list", `{"response":{"Attribute":[]}}`, "not a list of events"},
		{"too deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), "nested deeper than 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadEvents(strings.NewReader(tc.in), "e.json", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "e.json: ") {
				t.Errorf("error %v, want one naming e.json and containing %q", err, tc.want)
			}
		})
	}
	_, err := Decode(strings.NewReader(`{"Event":{}}`), "e.json", Limits{MaxBytes: 5, MaxDepth: 32}, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than 5 bytes") {
		t.Errorf("size limit: %v", err)
	}
}

func TestWarninglist(t *testing.T) {
	var rej []*seams.RecordError
	f, _ := os.Open("testdata/warninglist.json")
	defer f.Close()
	ps, asns, err := ReadWarninglist(f, "warninglist.json", func(e *seams.RecordError) { rej = append(rej, e) })
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("203.0.113.96/27"), netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("2001:db8:1::/48")}
	if fmt.Sprint(ps) != fmt.Sprint(want) || len(asns) != 0 {
		t.Errorf("prefixes %v asns %v, want %v", ps, asns, want)
	}
	var got []string
	for _, e := range rej {
		got = append(got, e.Item+": "+e.Reason)
	}
	wantRej := []string{
		`list[3]: prefix "203.0.113.97/27" has host bits set (did you mean 203.0.113.96/27?)`,
		`list[4]: invalid IP address "not-an-address"`,
		`list[5]: entry is not a string`,
	}
	if strings.Join(got, "\n") != strings.Join(wantRej, "\n") {
		t.Errorf("rejections:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRej, "\n"))
	}

	f2, _ := os.Open("testdata/warninglist-string.json")
	defer f2.Close()
	rej = nil
	ps, asns, err = ReadWarninglist(f2, "s.json", func(e *seams.RecordError) { rej = append(rej, e) })
	if err != nil || fmt.Sprint(ps) != "[192.0.2.0/24]" || fmt.Sprint(asns) != "[64500]" || len(rej) != 2 {
		t.Errorf("string list: %v %v %v %v", ps, asns, rej, err)
	}

	_, _, err = ReadWarninglist(strings.NewReader(`{"name":"h","type":"hostname","list":["a.example"]}`), "h.json", nil)
	if err == nil || !strings.Contains(err.Error(), `of type "hostname"`) {
		t.Errorf("hostname list: %v", err)
	}
	_, _, err = ReadWarninglist(strings.NewReader(`{"name":"h"}`), "h.json", nil)
	if err == nil || !strings.Contains(err.Error(), "no \"list\"") {
		t.Errorf("no list: %v", err)
	}
}

// sample builds an export on the foundation's small registry with findings
// of every kind of evidence, including one without a time.
func sample(t *testing.T) *Export {
	t.Helper()
	cf, _ := os.Open("../testdata/small/compounds.csv")
	defer cf.Close()
	cs, err := registry.ReadCompounds(cf, "compounds.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for i, c := range cs {
		ids[c.ID] = i
	}
	inf, _ := os.Open("../testdata/small/indicators.csv")
	defer inf.Close()
	ins, err := registry.ReadIndicators(inf, "indicators.csv", ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	asn, err := seams.ParseIndicatorValue(seams.KindASN, "AS64500")
	if err != nil {
		t.Fatal(err)
	}
	asn.Compound, asn.Source = "c-kings", "partner-d"
	asn.Window, _ = seams.ParseWindow("2024-01-01T06:30:00.123456Z", "")
	ins = append(ins, asn)
	pick := func(compound string, kind seams.Kind) *seams.Indicator {
		for i := range ins {
			if ins[i].Kind == kind && ins[i].Compound == compound {
				return &ins[i]
			}
		}
		t.Fatalf("no %s indicator of %s", kind, compound)
		return nil
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	a := netip.MustParseAddr("203.0.113.7")
	ip, cidr, dev := pick("c-jinbei", seams.KindIP), pick("c-jinbei", seams.KindCIDR), pick("c-jinbei", seams.KindDevice)
	kk := pick("c-kkpark", seams.KindIP)
	fs := []seams.Finding{
		{Report: "r-1", Compound: "c-jinbei", Tier: seams.TierTied, Evidence: []seams.Evidence{
			{Rule: seams.RuleIP, Indicator: ip, Observed: seams.Observation{IP: a, At: at("2024-05-01T22:14:03Z")}},
			{Rule: seams.RuleIP, Indicator: ip, Observed: seams.Observation{IP: a, At: at("2024-04-02T08:00:00.75Z")}},
			{Rule: seams.RuleDevice, Indicator: dev, Observed: seams.Observation{Device: dev.Device}},
		}},
		{Report: "r-1", Compound: "c-kkpark", Tier: seams.TierPotential, Evidence: []seams.Evidence{
			{Rule: seams.RuleIPDrift, Indicator: kk, Observed: seams.Observation{IP: a, At: at("2024-05-01T22:14:03Z")}, Drift: time.Hour},
		}},
		{Report: "r-2", Compound: "c-jinbei", Tier: seams.TierPotential, Evidence: []seams.Evidence{
			{Rule: seams.RuleCIDR, Indicator: cidr, Observed: seams.Observation{IP: netip.MustParseAddr("198.51.100.23"), At: at("2024-07-01T00:00:00Z")}},
			{Rule: seams.RuleDevice, Indicator: dev, Observed: seams.Observation{Device: dev.Device, At: at("2024-07-01T00:00:05Z")}},
		}},
	}
	return &Export{Org: "Hotline Example", Time: time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC), Compounds: cs, Indicators: ins, Findings: fs}
}

func TestWriteEventsGolden(t *testing.T) {
	var a, b bytes.Buffer
	n, err := WriteEvents(&a, sample(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteEvents(&b, sample(t)); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two writes differ (%v)", err)
	}
	if n.Events != 3 || n.Sightings != 5 || n.Undated != 1 {
		t.Errorf("written %+v, want 3 events, 5 sightings, 1 undated", n)
	}
	goldenFile(t, "small.misp.json", a.Bytes())
}

// TestRoundTripSightings: findings -> MISP -> read back gives the same
// sightings, computed here from the findings directly: one per dated
// evidence item, at its time cut to whole seconds (MISP's date_sighting).
func TestRoundTripSightings(t *testing.T) {
	e := sample(t)
	var want []string
	for _, f := range e.Findings {
		for _, ev := range f.Evidence {
			if ev.Observed.At.IsZero() {
				continue
			}
			want = append(want, fmt.Sprintf("%s %s %s %d %s 0", f.Compound, ev.Indicator.Kind, ev.Indicator.Value,
				ev.Observed.At.Unix(), e.Org))
		}
	}
	var buf bytes.Buffer
	if _, err := WriteEvents(&buf, e); err != nil {
		t.Fatal(err)
	}
	feed, err := Decode(&buf, "x.json", DefaultLimits(), func(r *seams.RecordError) { t.Errorf("rejected: %v", r) })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range feed.Sightings {
		got = append(got, fmt.Sprintf("%s %s %s %d %s %d", s.Compound, s.Kind, s.Value, s.At.Unix(), s.Source, s.Type))
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sightings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The indicators come back too: windows at microsecond precision,
	// which the registry's (whole days) are.
	if len(feed.Indicators) != len(e.Indicators) {
		t.Fatalf("%d indicators back, want %d", len(feed.Indicators), len(e.Indicators))
	}
	for i := range e.Indicators {
		a, b := e.Indicators[i], feed.Indicators[i]
		a.File, a.Line, b.File, b.Line = "", 0, "", 0
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("indicator %d:\n got %+v\nwant %+v", i, b, a)
		}
	}
}

func TestMachineTag(t *testing.T) {
	for _, v := range []string{"c-jinbei", `partner "b"`, `back\slash`, "", `"`} {
		name, got, ok := parseMachineTag(machineTag(TagSource, v))
		if !ok || name != TagSource || got != v {
			t.Errorf("%q: got %q %q %v", v, name, got, ok)
		}
	}
	for _, s := range []string{"tlp:amber", `seams:compound=c-x`, `x="`} {
		if _, _, ok := parseMachineTag(s); ok {
			t.Errorf("%q parsed as a machine tag", s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"testdata/partner-event.json", "testdata/small.misp.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"response":[{"Event":{"info":"x","Tag":[{"name":"seams:compound=\"c-a\""}],"Attribute":[` +
		`{"type":"ip-src","value":"203.0.113.7","Tag":[{"name":"seams:drift=\"0\""}]},` +
		`{"type":"ip-src","value":"203.0.113.8","Tag":[{"name":"seams:drift=\"7d\""}]},` +
		`{"type":"ip-src","value":"203.0.113.9","Tag":[{"name":"seams:drift=\"-1h\""}]}]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		feed, err := Decode(bytes.NewReader(b), "f.json", Limits{MaxBytes: 1 << 20, MaxDepth: 16}, func(e *seams.RecordError) {
			if e.File != "f.json" || e.Reason == "" {
				t.Fatalf("rejection without file or reason: %+v", e)
			}
		})
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, c := range feed.Compounds {
			ids[c.ID] = true
		}
		for _, in := range feed.Indicators {
			if !ids[in.Compound] || !seams.ValidCompoundID(in.Compound) {
				t.Fatalf("indicator of unknown or invalid compound %q", in.Compound)
			}
		}
		var buf bytes.Buffer
		if _, err := WriteEvents(&buf, &Export{Org: "o", Time: time.Unix(1e9, 0), Compounds: feed.Compounds, Indicators: feed.Indicators}); err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(&buf, "g.json", DefaultLimits(), func(e *seams.RecordError) { t.Fatalf("rewritten events rejected: %v", e) }); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzWarninglist(f *testing.F) {
	for _, name := range []string{"testdata/warninglist.json", "testdata/warninglist-string.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := DecodeWarninglist(bytes.NewReader(b), "w.json", Limits{MaxBytes: 1 << 20, MaxDepth: 16}, nil)
		if err != nil {
			return
		}
		for _, p := range w.Prefixes {
			if !p.IsValid() || p.Masked() != p {
				t.Fatalf("prefix %v is not canonical", p)
			}
		}
	})
}

// TestRoundTripDrift: an indicator's drift bound is written as the machine
// tag seams:drift and read back; an attribute without it has none; a bad
// one rejects the attribute, naming the tag.
func TestRoundTripDrift(t *testing.T) {
	e := sample(t)
	e.Findings = nil
	bounds := []time.Duration{0, 7 * 24 * time.Hour, 90 * time.Minute}
	for k, d := range bounds {
		e.Indicators[k].Drift, e.Indicators[k].HasDrift = d, true
	}
	var buf bytes.Buffer
	if _, err := WriteEvents(&buf, e); err != nil {
		t.Fatal(err)
	}
	feed, err := Decode(bytes.NewReader(buf.Bytes()), "x.json", DefaultLimits(), func(r *seams.RecordError) { t.Errorf("rejected: %v", r) })
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, in := range feed.Indicators {
		got[in.Compound+" "+in.Value] = fmt.Sprint(in.HasDrift, in.Drift)
	}
	for _, in := range e.Indicators {
		if g, w := got[in.Compound+" "+in.Value], fmt.Sprint(in.HasDrift, in.Drift); g != w {
			t.Errorf("%s %s: drift %s, want %s", in.Compound, in.Value, g, w)
		}
	}
	if !strings.Contains(buf.String(), `seams:drift=\"7d\"`) {
		t.Errorf("no seams:drift=\"7d\" tag written")
	}

	bad := strings.Replace(buf.String(), `seams:drift=\"7d\"`, `seams:drift=\"-7d\"`, 1)
	var rejected []string
	if _, err := Decode(strings.NewReader(bad), "x.json", DefaultLimits(), func(r *seams.RecordError) { rejected = append(rejected, r.Reason) }); err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 1 || !strings.Contains(rejected[0], `tag seams:drift: invalid drift "-7d"`) {
		t.Errorf("a negative drift tag: rejected %q", rejected)
	}
}
