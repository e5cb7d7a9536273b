package registryfile

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/misp"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/stix"
)

const small = "../testdata/small/"

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// head is what Detect is given: the first SniffSize bytes.
func head(b []byte) []byte { return b[:min(len(b), SniffSize)] }

func TestDetect(t *testing.T) {
	files := map[string][]byte{
		"compounds.csv":   readFixture(t, small+"compounds.csv"),
		"indicators.csv":  readFixture(t, small+"indicators.csv"),
		"shared.txt":      readFixture(t, small+"shared.txt"),
		"stix bundle":     readFixture(t, "../stix/testdata/partner.json"),
		"stix small":      readFixture(t, "../stix/testdata/small.bundle.json"),
		"misp events":     readFixture(t, "../misp/testdata/partner-event.json"),
		"misp small":      readFixture(t, "../misp/testdata/small.misp.json"),
		"warninglist":     readFixture(t, "../misp/testdata/warninglist.json"),
		"warninglist str": readFixture(t, "../misp/testdata/warninglist-string.json"),
		"ftm entities":    readFixture(t, "../ftm/testdata/entities.ftm.json"),
		"ftm compounds":   readFixture(t, "testdata/compounds.ftm.json"),
		"empty":           nil,
		"bom csv":         []byte("\uFEFFid,name,country\nc-1,One,KH\n"),
		"json array":      []byte(`[{"id":"c-1"}]`),
		"taxii envelope":  []byte(`{"objects":[{"type":"indicator","id":"indicator--6f3b2d8e-0000-4000-8000-000000000001"}]}`),
		"misp one event":  []byte(` {"Event":{"info":"x","Attribute":[]}}`),
	}
	cases := []struct {
		file string
		kind Kind
		want Format
	}{
		{"compounds.csv", Compounds, CSV},
		{"indicators.csv", Indicators, CSV},
		{"shared.txt", Shared, CSV},
		{"stix bundle", Indicators, STIX},
		{"stix small", Indicators, STIX},
		{"taxii envelope", Indicators, STIX},
		{"misp events", Indicators, MISP},
		{"misp small", Indicators, MISP},
		{"misp one event", Indicators, MISP},
		{"warninglist", Shared, Warninglist},
		{"warninglist str", Shared, Warninglist},
		{"ftm entities", Compounds, FtM},
		{"ftm compounds", Compounds, FtM},
		{"empty", Compounds, CSV},
		{"empty", Indicators, CSV},
		{"empty", Shared, CSV},
		{"bom csv", Compounds, CSV},
		{"json array", Indicators, CSV}, // not a format seams reads: the CSV reader says what is wrong
		// A file given as the wrong kind is still recognised, so that
		// the reader can say what it is.
		{"stix bundle", Compounds, STIX},
		{"stix bundle", Shared, STIX},
		{"misp events", Shared, MISP},
		{"warninglist", Indicators, Warninglist},
		{"ftm entities", Indicators, FtM},
		{"ftm compounds", Shared, FtM},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s as %s", c.file, c.kind), func(t *testing.T) {
			b, ok := files[c.file]
			if !ok {
				t.Fatalf("no file %q", c.file)
			}
			if got := Detect(c.kind, head(b)); got != c.want {
				t.Errorf("Detect = %s, want %s", got, c.want)
			}
		})
	}
}

func TestTakes(t *testing.T) {
	want := map[Kind][]Format{
		Compounds:  {CSV, FtM},
		Indicators: {CSV, STIX, MISP},
		Shared:     {CSV, Warninglist},
	}
	for k, fs := range want {
		for _, f := range []Format{CSV, STIX, MISP, Warninglist, FtM} {
			if got := Takes(k, f); got != slices.Contains(fs, f) {
				t.Errorf("Takes(%s, %s) = %v", k, f, got)
			}
		}
	}
}

// TestWrongKind: a file in a format of another kind is an error naming
// the file, what it is and where to give it; nothing is rejected.
func TestWrongKind(t *testing.T) {
	cases := []struct {
		kind    Kind
		fixture string
		want    string
	}{
		{Compounds, "../stix/testdata/partner.json", "is a STIX 2.1 bundle, which holds no compounds: give it as the indicators"},
		{Compounds, "../misp/testdata/partner-event.json", "is MISP events, which holds no compounds: give it as the indicators"},
		{Compounds, "../misp/testdata/warninglist.json", "is a MISP warninglist, which holds no compounds: give it as the shared space"},
		{Indicators, "../misp/testdata/warninglist.json", "is a MISP warninglist, which holds no indicators: give it as the shared space"},
		{Indicators, "testdata/compounds.ftm.json", "is FollowTheMoney entities, which holds no indicators: give it as the compounds"},
		{Shared, "../stix/testdata/partner.json", "is a STIX 2.1 bundle, which holds no shared space: give it as the indicators"},
		{Shared, "testdata/compounds.ftm.json", "is FollowTheMoney entities, which holds no shared space: give it as the compounds"},
	}
	for _, c := range cases {
		t.Run(string(c.kind)+" "+filepath.Base(c.fixture), func(t *testing.T) {
			b := readFixture(t, c.fixture)
			f := Detect(c.kind, head(b))
			rejected := 0
			reject := func(*seams.RecordError) { rejected++ }
			var err error
			switch c.kind {
			case Compounds:
				_, err = ReadCompounds(f, bytes.NewReader(b), "in.json", reject)
			case Indicators:
				_, _, err = ReadIndicators(f, bytes.NewReader(b), "in.json", nil, reject)
			case Shared:
				_, _, err = ReadShared(f, bytes.NewReader(b), "in.json", reject)
			}
			if err == nil || !strings.HasPrefix(err.Error(), "in.json: this ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one saying %q", err, c.want)
			}
			if rejected != 0 {
				t.Errorf("%d rejections for a file not read", rejected)
			}
		})
	}
}

// smallRegistry reads the hand-made registry's CSV files.
func smallRegistry(t *testing.T) ([]seams.Compound, []seams.Indicator) {
	t.Helper()
	cs, err := registry.ReadCompounds(bytes.NewReader(readFixture(t, small+"compounds.csv")), "compounds.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := registry.ReadIndicators(bytes.NewReader(readFixture(t, small+"indicators.csv")), "indicators.csv", IDs(cs), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cs, ins
}

// exchange writes the small registry in an exchange format.
func exchange(t *testing.T, f Format, cs []seams.Compound, ins []seams.Indicator) []byte {
	t.Helper()
	at := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	var err error
	switch f {
	case STIX:
		err = stix.WriteBundle(&buf, &stix.Export{Org: "Hotline Example", Time: at, Compounds: cs, Indicators: ins})
	case MISP:
		_, err = misp.WriteEvents(&buf, &misp.Export{Org: "Hotline Example", Time: at, Compounds: cs, Indicators: ins})
	default:
		t.Fatalf("no writer of %s", f)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// what is an indicator without where it was read.
func what(ins []seams.Indicator) []string {
	var out []string
	for _, in := range ins {
		out = append(out, fmt.Sprintf("%s %s %s %v %v %v/%v %q", in.Compound, in.Kind, in.Value,
			in.Window.First.UTC(), in.Window.Last.UTC(), in.Confidence, in.HasConfidence, in.Source))
	}
	slices.Sort(out)
	return out
}

// compoundText is a compound as the store keeps it.
func compoundText(cs []seams.Compound) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %q %q %s %q %v,%v,%v %s", c.ID, c.Name, c.Aliases, c.Country, c.Province,
			c.HasLocation, c.Lat, c.Lon, c.Status))
	}
	slices.Sort(out)
	return out
}

// TestExchangeFormatsAgree: the small registry written as a STIX bundle and
// as MISP events reads back as the indicators the CSV gives, with the
// compounds they name.
func TestExchangeFormatsAgree(t *testing.T) {
	cs, ins := smallRegistry(t)
	for _, f := range []Format{STIX, MISP} {
		t.Run(string(f), func(t *testing.T) {
			b := exchange(t, f, cs, ins)
			if got := Detect(Indicators, head(b)); got != f {
				t.Fatalf("Detect = %s, want %s", got, f)
			}
			var rejected []string
			added, got, err := ReadIndicators(f, bytes.NewReader(b), "registry.json", nil, func(e *seams.RecordError) {
				rejected = append(rejected, e.Error())
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(rejected) > 0 {
				t.Errorf("rejected: %q", rejected)
			}
			if w, g := what(ins), what(got); !slices.Equal(w, g) {
				t.Errorf("indicators differ from the CSV's:\ngot  %q\nwant %q", g, w)
			}
			named := map[string]bool{}
			for _, in := range ins {
				named[in.Compound] = true
			}
			var want []seams.Compound
			for _, c := range cs {
				if named[c.ID] {
					want = append(want, c)
				}
			}
			if f == MISP {
				// MISP events carry a compound's id, name and country
				// only (docs/formats.md).
				for i, c := range want {
					want[i] = seams.Compound{ID: c.ID, Name: c.Name, Country: c.Country}
				}
			}
			if w, g := compoundText(want), compoundText(added); !slices.Equal(w, g) {
				t.Errorf("compounds differ from the CSV's:\ngot  %q\nwant %q", g, w)
			}
		})
	}
}

// TestKnownCompoundsWin: the compounds a file brings are added only when
// unknown; a known one keeps what is known (the file's version of it is
// dropped). Every indicator comes back, naming a known or an added
// compound.
func TestKnownCompoundsWin(t *testing.T) {
	cs, ins := smallRegistry(t)
	renamed := slices.Clone(cs)
	for i := range renamed {
		renamed[i].Name += " (from the file)"
	}
	for _, f := range []Format{STIX, MISP} {
		t.Run(string(f), func(t *testing.T) {
			b := exchange(t, f, renamed, ins)
			known := IDs(cs[:1]) // c-jinbei
			var rejected []string
			added, got, err := ReadIndicators(f, bytes.NewReader(b), "r.json", known, func(e *seams.RecordError) { rejected = append(rejected, e.Error()) })
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range added {
				ids = append(ids, c.ID)
				if !strings.HasSuffix(c.Name, " (from the file)") {
					t.Errorf("added compound %s is not the file's: %q", c.ID, c.Name)
				}
			}
			slices.Sort(ids)
			if want := []string{"c-kings", "c-kkpark"}; !slices.Equal(ids, want) {
				t.Errorf("added %q, want %q (c-jinbei is known)", ids, want)
			}
			if len(rejected) > 0 || len(got) != len(ins) {
				t.Errorf("%d indicators of %d, rejected %q", len(got), len(ins), rejected)
			}
		})
	}
}

// TestUnknownCompoundRejected: an indicator whose compound the file does
// not define, and that is not known, is rejected naming the compound.
func TestUnknownCompoundRejected(t *testing.T) {
	inds := []seams.Indicator{
		{Compound: "c-1", Kind: seams.KindIP, Value: "192.0.2.1", File: "f", Line: 3},
		{Compound: "c-2", Kind: seams.KindIP, Value: "192.0.2.2", File: "f", Line: 4},
		{Compound: "c-3", Kind: seams.KindIP, Value: "192.0.2.3", File: "f", Line: 5},
	}
	var rejected []string
	got := KnownCompounds(inds, map[string]int{"c-1": 0}, []seams.Compound{{ID: "c-3"}}, func(e *seams.RecordError) { rejected = append(rejected, e.Error()) })
	if len(got) != 2 || got[0].Compound != "c-1" || got[1].Compound != "c-3" {
		t.Errorf("kept %+v", got)
	}
	if want := []string{`f:4: 192.0.2.2: unknown compound "c-2"`}; !slices.Equal(rejected, want) {
		t.Errorf("rejected %q, want %q", rejected, want)
	}
}

// TestCompoundsAsFtM: the hand-made compounds written as FollowTheMoney
// entities read as the compounds the CSV gives, with the same kind of
// rejections (a bad id, a repeated id).
func TestCompoundsAsFtM(t *testing.T) {
	csv, _ := smallRegistry(t)
	b := readFixture(t, "testdata/compounds.ftm.json")
	f := Detect(Compounds, head(b))
	if f != FtM {
		t.Fatalf("Detect = %s", f)
	}
	var rejected []string
	got, err := ReadCompounds(f, bytes.NewReader(b), "compounds.ftm.json", func(e *seams.RecordError) { rejected = append(rejected, e.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	// The CSV's compounds that have a country (the FtM file leaves out
	// the ones the CSV rejects, and c-nocountry, c-badlat).
	var want []seams.Compound
	for _, c := range csv {
		if c.ID == "c-jinbei" || c.ID == "c-kkpark" || c.ID == "c-kings" {
			want = append(want, c)
		}
	}
	if w, g := compoundText(want), compoundText(got); !slices.Equal(w, g) {
		t.Errorf("compounds:\ngot  %q\nwant %q", g, w)
	}
	if len(rejected) != 2 || !strings.Contains(strings.Join(rejected, "\n"), "c bad id") {
		t.Errorf("rejected %q, want the bad id and the repeated c-jinbei", rejected)
	}
}

// TestSharedAsWarninglist: the hand-made shared list as a warninglist
// reads as the prefixes the text list gives, and its AS.
func TestSharedAsWarninglist(t *testing.T) {
	txt := readFixture(t, small+"shared.txt")
	var txtRejected int
	want, _, err := ReadShared(Detect(Shared, head(txt)), bytes.NewReader(txt), "shared.txt", func(*seams.RecordError) { txtRejected++ })
	if err != nil {
		t.Fatal(err)
	}
	b := readFixture(t, "testdata/shared.warninglist.json")
	var rejected int
	got, asns, err := ReadShared(Detect(Shared, head(b)), bytes.NewReader(b), "wl.json", func(*seams.RecordError) { rejected++ })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prefixes %v, want %v", got, want)
	}
	if !slices.Equal(asns, []uint32{64500}) {
		t.Errorf("ASNs %v", asns)
	}
	if rejected != txtRejected || rejected != 2 {
		t.Errorf("%d rejected, the text list %d; want 2 each", rejected, txtRejected)
	}
	if len(want) != 1 || want[0] != netip.MustParsePrefix("203.0.113.96/27") {
		t.Errorf("text list gives %v", want)
	}
}

// TestPeek: the reader Peek returns still holds the bytes it looked at.
func TestPeek(t *testing.T) {
	for _, n := range []int{0, 10, SniffSize - 1, SniffSize, SniffSize + 1, 3 * SniffSize} {
		b := bytes.Repeat([]byte("x"), n)
		br, h, err := Peek(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != min(n, SniffSize) {
			t.Errorf("n=%d: head of %d bytes", n, len(h))
		}
		all, _ := io.ReadAll(br)
		if !bytes.Equal(all, b) {
			t.Errorf("n=%d: read back %d bytes", n, len(all))
		}
	}
	if _, _, err := Peek(iotestErr{}); err == nil {
		t.Error("Peek of a failing reader: no error")
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, fmt.Errorf("disk on fire") }

// TestNewCompounds: of the compounds a file brings, those known are
// dropped, and of two with one id the first stands.
func TestNewCompounds(t *testing.T) {
	more := []seams.Compound{{ID: "c-1", Name: "known"}, {ID: "c-2", Name: "first"}, {ID: "c-3"}, {ID: "c-2", Name: "second"}}
	got := NewCompounds(map[string]int{"c-1": 0}, more)
	if len(got) != 2 || got[0].ID != "c-2" || got[0].Name != "first" || got[1].ID != "c-3" {
		t.Errorf("NewCompounds = %+v", got)
	}
	if ids := IDs([]seams.Compound{{ID: "a"}, {ID: "b"}, {ID: "a"}}); len(ids) != 2 || ids["a"] != 0 || ids["b"] != 1 {
		t.Errorf("IDs = %v", ids)
	}
}
