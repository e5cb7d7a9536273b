package load_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/sqlite"
	"github.com/seams-dev/seams/stix"
)

const small = "../../testdata/small/"

var operator = seams.Operator("org-a", "tester")

func ctx() context.Context { return context.Background() }

func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(ctx(), t.TempDir(), sqlite.NewOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(b []byte) []byte {
	w, _ := zstd.NewWriter(nil)
	return w.EncodeAll(b, nil)
}

// stored is what a store holds of the registry, as sorted text.
func stored(t *testing.T, st *sqlite.Store) string {
	t.Helper()
	snap, err := st.Snapshot(ctx())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	reg, err := snap.Registry(ctx())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range reg.Compounds {
		lines = append(lines, fmt.Sprintf("compound %s %q %q %s %q %v,%v,%v %s", c.ID, c.Name, c.Aliases, c.Country, c.Province, c.HasLocation, c.Lat, c.Lon, c.Status))
	}
	for _, si := range reg.Indicators {
		in := &si.Indicator
		lines = append(lines, fmt.Sprintf("indicator %s %s %s %v %v %v/%v %q %s", in.Compound, in.Kind, in.Value,
			in.Window.First.UTC(), in.Window.Last.UTC(), in.Confidence, in.HasConfidence, in.Source, in.File))
	}
	for _, p := range reg.SharedPrefixes() {
		lines = append(lines, "shared "+p.String())
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// loadAll loads compounds, indicators and shared space, each from a path
// or, for "-", from the bytes given, named name.
type source struct {
	path string
	body []byte // for "-"
	name string // for "-"
}

func loadAll(t *testing.T, st *sqlite.Store, compounds, indicators, shared source) []load.Result {
	t.Helper()
	var out []load.Result
	for _, l := range []struct {
		src source
		fn  func(context.Context, *sqlite.Store, seams.Principal, string, load.Options) (load.Result, error)
	}{
		{compounds, func(c context.Context, st *sqlite.Store, p seams.Principal, path string, o load.Options) (load.Result, error) {
			return load.Compounds(c, st, p, path, o)
		}},
		{indicators, func(c context.Context, st *sqlite.Store, p seams.Principal, path string, o load.Options) (load.Result, error) {
			return load.Indicators(c, st, p, path, o)
		}},
		{shared, func(c context.Context, st *sqlite.Store, p seams.Principal, path string, o load.Options) (load.Result, error) {
			return load.Shared(c, st, p, path, o)
		}},
	} {
		o := load.NewOptions()
		if l.src.path == "-" {
			o.Stdin, o.Name = bytes.NewReader(l.src.body), l.src.name
		} else {
			// Stored under the same name whichever way it came.
			o.Name = l.src.name
		}
		// Rejections name the file by its path, or standard input by the
		// name it is stored under.
		label := l.src.path
		if label == "-" {
			label = l.src.name
		}
		o.Reject = func(e *seams.RecordError) {
			if e.File != label {
				t.Errorf("a rejection of %s names %q: %v", label, e.File, e)
			}
		}
		res, err := l.fn(ctx(), st, operator, l.src.path, o)
		if err != nil {
			t.Fatalf("load %s: %v", l.src.path, err)
		}
		out = append(out, res)
	}
	return out
}

// TestStdinCompressed: the registry files loaded from standard input,
// gzipped and zstd-compressed (no name says so), store what the files on
// disk store, and say the same counts.
func TestStdinCompressed(t *testing.T) {
	files := func() (c, i, s source) {
		return source{path: small + "compounds.csv", name: "compounds.csv"},
			source{path: small + "indicators.csv", name: "indicators.csv"},
			source{path: small + "shared.txt", name: "shared.txt"}
	}
	st := newStore(t)
	c, i, s := files()
	wantRes := loadAll(t, st, c, i, s)
	want := stored(t, st)
	if !strings.Contains(want, "indicator c-jinbei ip 203.0.113.7") || !strings.Contains(want, "shared 203.0.113.96/27") {
		t.Fatalf("the files store little:\n%s", want)
	}
	for _, z := range []struct {
		name string
		fn   func([]byte) []byte
	}{{"plain", func(b []byte) []byte { return b }}, {"gzip", gz}, {"zstd", zst}} {
		t.Run(z.name, func(t *testing.T) {
			st := newStore(t)
			stdin := func(src source) source {
				return source{path: "-", body: z.fn(read(t, src.path)), name: src.name}
			}
			gotRes := loadAll(t, st, stdin(c), stdin(i), stdin(s))
			if got := stored(t, st); got != want {
				t.Errorf("stored from stdin:\n%s\nfrom files:\n%s", got, want)
			}
			for k := range gotRes {
				g, w := gotRes[k], wantRes[k]
				if g.Read != w.Read || g.Rejected != w.Rejected || g.New != w.New {
					t.Errorf("load %d: %+v, from the file %+v", k, g, w)
				}
			}
		})
	}
}

// TestReportsStdinCompressed: reports from standard input, compressed,
// are read in the format the name says.
func TestReportsStdinCompressed(t *testing.T) {
	csv := "report_id,ip,at\nr-1,203.0.113.7,2024-05-01T22:14:03Z\nr-2,198.51.100.7,2024-05-02T10:00:00Z\n"
	for _, z := range []struct {
		name string
		fn   func([]byte) []byte
	}{{"gzip", gz}, {"zstd", zst}} {
		t.Run(z.name, func(t *testing.T) {
			st := newStore(t)
			o := load.NewOptions()
			o.Stdin, o.Name = bytes.NewReader(z.fn([]byte(csv))), "today.csv"
			res, err := load.Reports(ctx(), st, operator, []string{"-"}, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Read != 2 || res.New != 2 || res.Rejected != 0 {
				t.Errorf("%+v", res)
			}
		})
	}
}

// TestWrongKind: a file of another kind's format is an error naming it;
// nothing is stored.
func TestWrongKind(t *testing.T) {
	st := newStore(t)
	_, err := load.Compounds(ctx(), st, operator, "../../stix/testdata/partner.json", load.NewOptions())
	if err == nil || !strings.Contains(err.Error(), "partner.json: this is a STIX 2.1 bundle, which holds no compounds: give it as the indicators") {
		t.Errorf("compounds from a bundle: %v", err)
	}
	_, err = load.Shared(ctx(), st, operator, "../../registryfile/testdata/compounds.ftm.json", load.NewOptions())
	if err == nil || !strings.Contains(err.Error(), "this is FollowTheMoney entities, which holds no shared space") {
		t.Errorf("shared from FtM: %v", err)
	}
	if got := stored(t, st); got != "" {
		t.Errorf("stored:\n%s", got)
	}
}

// TestWarninglistASNKept: an AS in a warninglist is kept with the list's
// prefixes (a run given an ASN database applies it); the records that are
// neither are rejected.
func TestWarninglistASNKept(t *testing.T) {
	st := newStore(t)
	o := load.NewOptions()
	var rejected []string
	o.Reject = func(e *seams.RecordError) { rejected = append(rejected, e.Error()) }
	res, err := load.Shared(ctx(), st, operator, "../../registryfile/testdata/shared.warninglist.json", o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 4 || res.New != 2 || res.Rejected != 2 || len(rejected) != 2 {
		t.Errorf("%+v, rejected %q; want 4 read, 2 new (a prefix and an AS), 2 rejected", res, rejected)
	}
	sn, err := st.Snapshot(ctx())
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	reg, err := sn.Registry(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.SharedLists) != 1 || fmt.Sprint(reg.SharedLists[0].Prefixes, reg.SharedLists[0].ASNs) != "[203.0.113.96/27] [64500]" ||
		reg.SharedLists[0].Scope != seams.SharedOwn || reg.SharedLists[0].Org != operator.Org {
		t.Errorf("stored lists %+v", reg.SharedLists)
	}
}

// TestBundleCompounds: a bundle's compounds that the store lacks are
// stored with its indicators; one the store holds keeps what the store
// says; a compound the store cannot keep takes its indicators with it.
func TestBundleCompounds(t *testing.T) {
	st := newStore(t)
	o := load.NewOptions()
	if _, err := load.Compounds(ctx(), st, operator, small+"compounds.csv", o); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	cs := []seams.Compound{
		{ID: "c-jinbei", Name: "Jinbei renamed", Country: "KH"},
		{ID: "c-new", Name: "New compound", Country: "MM"},
		{ID: "c-nul", Name: "Bad\x00name", Country: "MM"},
	}
	var ins []seams.Indicator
	for k, c := range []string{"c-jinbei", "c-new", "c-nul"} {
		in, err := seams.ParseIndicatorValue(seams.KindIP, fmt.Sprintf("192.0.2.%d", k+1))
		if err != nil {
			t.Fatal(err)
		}
		in.Compound, in.Source = c, "partner-s"
		ins = append(ins, in)
	}
	var b bytes.Buffer
	if err := stix.WriteBundle(&b, &stix.Export{Org: "Partner S", Time: at, Compounds: cs, Indicators: ins}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "partner-s.json")
	os.WriteFile(p, b.Bytes(), 0o600)
	var rejected []string
	o.Reject = func(e *seams.RecordError) { rejected = append(rejected, e.Error()) }
	res, err := load.Indicators(ctx(), st, operator, p, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Compounds.New != 1 || res.Compounds.Updated != 0 || res.New != 2 || res.Read != 4 || res.Rejected != 2 {
		t.Errorf("%+v: want 1 new compound, 2 new indicators, 4 read (3 indicators and the compound), 2 rejected", res)
	}
	if len(rejected) != 2 || !strings.Contains(rejected[0], "compound c-nul: name, aliases or province contains a NUL") ||
		!strings.Contains(rejected[1], `192.0.2.3: compound "c-nul", which the file defines, cannot be stored`) {
		t.Errorf("rejected %q", rejected)
	}
	got := stored(t, st)
	for _, want := range []string{`compound c-jinbei "Jinbei"`, `compound c-new "New compound" [] MM`,
		"indicator c-jinbei ip 192.0.2.1", "indicator c-new ip 192.0.2.2"} {
		if !strings.Contains(got, want) {
			t.Errorf("the store lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"renamed", "c-nul", "192.0.2.3"} {
		if strings.Contains(got, not) {
			t.Errorf("the store holds %q:\n%s", not, got)
		}
	}
	// Loading it again changes nothing.
	res, err = load.Indicators(ctx(), st, operator, p, load.NewOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() || res.Compounds.New != 0 {
		t.Errorf("second load: %+v", res)
	}
}

// TestFormatsDetected: every format the registryfile package detects is
// what load reads it as (the detection is registryfile's, not load's).
func TestFormatsDetected(t *testing.T) {
	for _, c := range []struct {
		path string
		kind registryfile.Kind
	}{
		{"../../stix/testdata/small.bundle.json", registryfile.Indicators},
		{"../../misp/testdata/small.misp.json", registryfile.Indicators},
		{"../../registryfile/testdata/compounds.ftm.json", registryfile.Compounds},
		{"../../registryfile/testdata/shared.warninglist.json", registryfile.Shared},
	} {
		st := newStore(t)
		o := load.NewOptions()
		rejected := 0
		o.Reject = func(*seams.RecordError) { rejected++ }
		var res load.Result
		var err error
		switch c.kind {
		case registryfile.Compounds:
			res, err = load.Compounds(ctx(), st, operator, c.path, o)
		case registryfile.Indicators:
			res, err = load.Indicators(ctx(), st, operator, c.path, o)
		case registryfile.Shared:
			res, err = load.Shared(ctx(), st, operator, c.path, o)
		}
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if res.New == 0 || res.Read != res.New+res.Rejected || res.Rejected != rejected {
			t.Errorf("%s: %+v (%d rejections)", c.path, res, rejected)
		}
	}
}
