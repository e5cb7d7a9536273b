package enrich

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/mmdb"
)

func TestObjectMembers(t *testing.T) {
	b := []byte(` {"a": 1, "b\u0022":{"x":[1,2]} ,"c":"s"} `)
	ms, err := objectMembers(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ key, val string }{{"a", "1"}, {`b"`, `{"x":[1,2]}`}, {"c", `"s"`}}
	if len(ms) != len(want) {
		t.Fatalf("%+v", ms)
	}
	for i, w := range want {
		if ms[i].key != w.key || string(b[ms[i].start:ms[i].end]) != w.val {
			t.Errorf("member %d: %q = %q, want %q = %q", i, ms[i].key, b[ms[i].start:ms[i].end], w.key, w.val)
		}
	}
	for _, bad := range []string{`[1]`, `{"a":1} x`, `{"a":}`, `{"a":1`, strings.Repeat("[", 2000) + strings.Repeat("]", 2000)} {
		if _, err := objectMembers([]byte(bad)); err == nil {
			t.Errorf("objectMembers(%.20q) accepted", bad)
		}
	}
}

// TestFileOptionsValidate: every mistake is reported at once, by field.
func TestFileOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		f      func(*FileOptions)
		fields []string
	}{
		{"valid", func(*FileOptions) {}, nil},
		{"nothing given", func(o *FileOptions) { *o = NewFileOptions() }, []string{"In", "Out", "ASNDB"}},
		{"output is the input", func(o *FileOptions) { o.Out = o.In }, []string{"Out"}},
		{"standard input to standard output", func(o *FileOptions) { o.In, o.Out = "-", "-" }, nil},
		{"line limit too small", func(o *FileOptions) { o.MaxLine = 10 }, []string{"MaxLine"}},
		{"unknown kind", func(o *FileOptions) { o.Kind = "stix" }, []string{"Kind"}},
		{"a location database is enough", func(o *FileOptions) { o.ASNDB, o.GeoDB = nil, []string{"geo.mmdb"} }, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := NewFileOptions()
			o.In, o.Out, o.ASNDB = "reports.jsonl", "enriched.jsonl", []string{"asn.mmdb"}
			c.f(&o)
			fes, others := seams.FieldErrors(o.Validate())
			var fields []string
			for _, fe := range fes {
				fields = append(fields, fe.Field)
			}
			if !slices.Equal(fields, c.fields) || len(others) != 0 {
				t.Errorf("fields %v (and %v), want %v", fields, others, c.fields)
			}
		})
	}
}

// TestAnnotateStreams annotates a report and a finding from standard input
// to standard output, each as its own file, and counts what it did.
func TestAnnotateStreams(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		kind           Kind
		asn, rejected  int
	}{
		{"report", `{"id":"r-1","ips":[{"ip":"192.0.2.7","asn":1},{"ip":"N/A"}]}` + "\n",
			`{"id":"r-1","ips":[{"ip":"192.0.2.7","asn":64496,"as_org":"Example Fixed Line (synthetic)"},{"ip":"N/A"}]}` + "\n",
			KindReports, 1, 1},
		{"finding", `{"report":"r-1","compound":"c-1","evidence":[{"observed":{"ip":"203.0.113.200"}},{"observed":{"device":"x"}}]}`,
			`{"report":"r-1","compound":"c-1","evidence":[{"observed":{"ip":"203.0.113.200","asn":64499,"as_org":"Example Hosting (synthetic)"}},{"observed":{"device":"x"}}]}`,
			KindFindings, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			var rejected []string
			o := NewFileOptions()
			o.In, o.Out, o.ASNDB = "-", "-", []string{"../../mmdb/testdata/doc-asn.mmdb"}
			o.Stdin, o.Stdout = strings.NewReader(c.in), &out
			o.Rejected = func(r *seams.RecordError) { rejected = append(rejected, r.Error()) }
			s, err := Annotate(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Errorf("wrote\n%s\nwant\n%s", out.String(), c.want)
			}
			if s.Kind != c.kind || s.WithASN != c.asn || s.Rejected != c.rejected || len(rejected) != c.rejected || len(s.Databases) != 1 {
				t.Errorf("stats %+v, rejected %q", s, rejected)
			}
		})
	}
}

// FuzzEdit: editing a line never fails but on a database error, never
// touches a line it cannot read as an object of a known kind, and is a
// fixed point: editing its own output changes nothing more.
func FuzzEdit(f *testing.F) {
	for _, s := range []string{
		`{"id":"r-1","ips":[{"ip":"192.0.2.7","at":"2024-05-01T22:14:03Z","asn":1}]}`,
		`{"report":"r-1","compound":"c-1","evidence":[{"observed":{"ip":"2001:db8::5"}}]}`,
		`{"id":"r-2","ips":null}`, `{"id":"r-3","ips":"x"}`, `[1]`, `not json`, "\xEF\xBB\xBF{\"id\":\"r\",\"ips\":[]}",
	} {
		f.Add([]byte(s))
	}
	mo := mmdb.NewOptions()
	mo.ASN, mo.Geo = []string{"../../mmdb/testdata/doc-asn.mmdb"}, []string{"../../mmdb/testdata/doc-geo.mmdb"}
	en, err := mmdb.New(mo)
	if err != nil {
		f.Fatal(err)
	}
	defer en.Close()
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return // one line at a time
		}
		x := &lineEditor{en: en, file: "fuzz.jsonl"}
		out, _, err := x.edit(line, 1)
		if err != nil {
			t.Fatalf("edit: %v", err)
		}
		if x.stats.Records == 0 && !bytes.Equal(out, line) {
			t.Fatalf("a line that is not a record was changed:\n%q\n%q", line, out)
		}
		again, _, err := (&lineEditor{en: en, kind: x.kind, file: "fuzz.jsonl"}).edit(out, 1)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("editing twice changed the line:\n%q\n%q (%v)", out, again, err)
		}
	})
}
