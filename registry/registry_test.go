package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/seams-dev/seams/internal/golden"

	"github.com/seams-dev/seams"
)

func TestMain(m *testing.M) { golden.Main(m, "testdata/*.golden") }

// collector gathers the records a reader rejects.
type collector []*seams.RecordError

func (c *collector) reject(e *seams.RecordError) { *c = append(*c, e) }

// reasons lists "line: reason" for each rejected record.
func (c collector) reasons() []string {
	var s []string
	for _, e := range c {
		s = append(s, fmt.Sprintf("%d: %s", e.Line, e.Reason))
	}
	return s
}

func readCompoundsString(t *testing.T, s string) ([]seams.Compound, collector, error) {
	t.Helper()
	var rej collector
	got, err := ReadCompounds(strings.NewReader(s), "compounds.csv", rej.reject)
	return got, rej, err
}

func ids(cs []seams.Compound) []string {
	var s []string
	for _, c := range cs {
		s = append(s, c.ID)
	}
	return s
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestHeader covers what makes a whole file unreadable, and what a header
// may look like.
func TestHeader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string   // the fatal error, or "" if the file reads
		wantIDs []string // when it reads
	}{
		{"empty file", "", "compounds.csv:1: empty file (want a header line naming the columns)", nil},
		{"only blank lines", "\n\n\r\n", "compounds.csv:1: empty file (want a header line naming the columns)", nil},
		{"only a byte order mark", "\uFEFF", "compounds.csv:1: empty file (want a header line naming the columns)", nil},
		{"missing required column", "id,name\nc-1,One\n", `compounds.csv:1: missing required column "country"`, nil},
		{"missing two required columns", "id,lat,lon\n", `compounds.csv:1: missing required columns "name", "country"`, nil},
		{"header after blank lines names its own line", "\n\nid,name\n", `compounds.csv:3: missing required column "country"`, nil},
		{"duplicate column", "id,name,country,ID\n", `compounds.csv:1: duplicate column "id" (columns 1 and 4)`, nil},
		{"duplicate column after trimming", "id,name, country ,country\n", `compounds.csv:1: duplicate column "country" (columns 3 and 4)`, nil},
		{"duplicate unknown columns are ignored", "id,name,country,note,note\nc-1,One,KH,a,b\n", "", []string{"c-1"}},
		{"bare quote in header", "id,na\"me,country\n", `compounds.csv:1: header: parse error on line 1, column 6: bare " in non-quoted-field`, nil},
		{"header only", "id,name,country\n", "", nil},
		{"byte order mark", "\uFEFFid,name,country\nc-1,One,KH\n", "", []string{"c-1"}},
		{"byte order mark before a quoted name", "\uFEFF\"id\",name,country\nc-1,One,KH\n", "", []string{"c-1"}},
		{"byte order mark is not stripped from a row", "id,name,country\n\uFEFFc-1,One,KH\n", "", nil},
		{"names trimmed and case-insensitive", " ID ,Name,  COUNTRY\t\nc-1,One,KH\n", "", []string{"c-1"}},
		{"column order free, unknown columns ignored", "notes,country,status,name,id,extra\nfree text,KH,active,One,c-1,x\n", "", []string{"c-1"}},
		{"CRLF line endings", "id,name,country\r\nc-1,One,KH\r\nc-2,Two,KH\r\n", "", []string{"c-1", "c-2"}},
		{"no newline at end", "id,name,country\nc-1,One,KH", "", []string{"c-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := readCompoundsString(t, tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				var re *seams.RecordError
				if !errors.As(err, &re) {
					t.Errorf("err is %T, want *seams.RecordError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalStrings(ids(got), tc.wantIDs) {
				t.Errorf("ids = %q, want %q", ids(got), tc.wantIDs)
			}
		})
	}
}

// TestIndicatorsHeader checks that the indicators file has the same header
// rules, with its own required columns.
func TestIndicatorsHeader(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty", "", "indicators.csv:1: empty file (want a header line naming the columns)"},
		{"missing value", "compound,kind\n", `indicators.csv:1: missing required column "value"`},
		{"duplicate source", "compound,kind,value,source,Source\n", `indicators.csv:1: duplicate column "source" (columns 4 and 5)`},
		{"order free", "value,kind,compound\n203.0.113.7,ip,c-1\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadIndicators(strings.NewReader(tc.in), "indicators.csv", map[string]int{"c-1": 0}, nil)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestRowSyntax covers rows that are not well-formed CSV or have the wrong
// number of fields: each is rejected on its own line, with its raw text, and
// reading goes on.
func TestRowSyntax(t *testing.T) {
	const header = "id,name,country\n"
	type rejected struct {
		line   int
		reason string
		raw    string
	}
	tests := []struct {
		name    string
		rows    string
		wantIDs []string
		want    []rejected
	}{
		{
			name:    "too few fields",
			rows:    "c-1,One\nc-2,Two,KH\n",
			wantIDs: []string{"c-2"},
			want:    []rejected{{2, "row has 2 fields, header has 3", "c-1,One"}},
		},
		{
			name:    "too many fields",
			rows:    "c-1,One,KH,extra\nc-2,Two,KH\n",
			wantIDs: []string{"c-2"},
			want:    []rejected{{2, "row has 4 fields, header has 3", "c-1,One,KH,extra"}},
		},
		{
			name:    "one field",
			rows:    "c-1\n",
			want:    []rejected{{2, "row has 1 field, header has 3", "c-1"}},
			wantIDs: nil,
		},
		{
			name: "white space only line is a row of one field",
			rows: "   \nc-2,Two,KH\n",
			// csv reads it as one empty field; the raw text is as written.
			want:    []rejected{{2, "row has 1 field, header has 3", "   "}},
			wantIDs: []string{"c-2"},
		},
		{
			name:    "raw is re-encoded CSV",
			rows:    "c-1,\"One, \"\"quoted\"\"\"\n",
			want:    []rejected{{2, "row has 2 fields, header has 3", `c-1,"One, ""quoted"""`}},
			wantIDs: nil,
		},
		{
			name:    "bare quote",
			rows:    "c-1,On\"e,KH\nc-2,Two,KH\n",
			wantIDs: []string{"c-2"},
			want:    []rejected{{2, `parse error on line 2, column 7: bare " in non-quoted-field`, "c-1,On\"e,KH"}},
		},
		{
			name:    "extraneous quote after a closed one",
			rows:    "c-1,\"One\"x,KH\nc-2,Two,KH\n",
			wantIDs: []string{"c-2"},
			want:    []rejected{{2, `parse error on line 2, column 9: extraneous or missing " in quoted-field`, "c-1,\"One\"x,KH"}},
		},
		{
			name:    "extraneous quote on the last line without newline",
			rows:    "c-2,Two,KH\nc-1,\"One\"x,KH",
			wantIDs: []string{"c-2"},
			want:    []rejected{{3, `parse error on line 3, column 9: extraneous or missing " in quoted-field`, "c-1,\"One\"x,KH"}},
		},
		{
			name:    "unterminated quote swallows the rest of the file",
			rows:    "c-0,Zero,KH\nc-1,\"One,KH\nc-2,Two,KH\n\nc-3,Three,KH\n",
			wantIDs: []string{"c-0"},
			want: []rejected{{3, `extraneous or missing " in quoted-field: a quoted field is never closed, so the rest of the file (lines 3 to 6) was read as this one record`,
				"c-1,\"One,KH\nc-2,Two,KH\n\nc-3,Three,KH"}},
		},
		{
			name:    "unterminated quote on the last line",
			rows:    "c-1,\"One,KH",
			wantIDs: nil,
			want: []rejected{{2, `extraneous or missing " in quoted-field: a quoted field is never closed, so the rest of the file (line 2) was read as this one record`,
				"c-1,\"One,KH"}},
		},
		{
			name:    "unterminated quote after a leading space",
			rows:    "c-1, \"One,KH\n",
			wantIDs: nil,
			want: []rejected{{2, `extraneous or missing " in quoted-field: a quoted field is never closed, so the rest of the file (line 2) was read as this one record`,
				"c-1, \"One,KH"}},
		},
		{
			name:    "quoted field over two lines is one row",
			rows:    "c-1,\"One\nand a half\",KH\nc-2,Two,KH\n",
			wantIDs: []string{"c-1", "c-2"},
		},
		{
			name:    "space before an opening quote",
			rows:    "c-1, \"One, Inc\" ,KH\n",
			wantIDs: nil,
			want:    []rejected{{2, `parse error on line 2, column 15: extraneous or missing " in quoted-field`, "c-1, \"One, Inc\" ,KH"}},
		},
		{
			name:    "space before an opening quote, none after the closing one",
			rows:    "c-1, \"One, Inc\",KH\n",
			wantIDs: []string{"c-1"},
		},
		{
			name:    "blank lines skipped",
			rows:    "\nc-1,One,KH\n\n\nc-2,Two\n",
			wantIDs: []string{"c-1"},
			want:    []rejected{{6, "row has 2 fields, header has 3", "c-2,Two"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rej, err := readCompoundsString(t, header+tc.rows)
			if err != nil {
				t.Fatal(err)
			}
			if !equalStrings(ids(got), tc.wantIDs) {
				t.Errorf("ids = %q, want %q", ids(got), tc.wantIDs)
			}
			if len(rej) != len(tc.want) {
				t.Fatalf("rejected %q, want %d records", rej.reasons(), len(tc.want))
			}
			for i, w := range tc.want {
				e := rej[i]
				if e.File != "compounds.csv" || e.Line != w.line || e.Item != "" || e.Reason != w.reason || e.Raw != w.raw {
					t.Errorf("rejected %+v\nwant line %d reason %s raw %q", *e, w.line, w.reason, w.raw)
				}
			}
		})
	}
}

func TestEndsInQuote(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{`a,"b`, true},
		{`a,"b""`, true},
		{`a,"b"""`, false},
		{`a,"b"x`, false},
		{`a,"b"x,"c`, false},
		{`a,b"c,"d`, false},
		{"a,\"b\",\"c\nd", true},
		{"a,\"b\"\r\n", false},
		{"a, \t\"b", true},
		{"a,\u00a0\"b", true},
		{`"`, true},
		{``, false},
	}
	for _, tc := range tests {
		if got := endsInQuote([]byte(tc.raw)); got != tc.want {
			t.Errorf("endsInQuote(%q) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}

// TestLineTooLong checks the guard against lines encoding/csv and
// bufio.Scanner would buffer whole: MaxLine bytes is the most a line may
// have, one more is fatal and names the line.
func TestLineTooLong(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name    string
		read    func(string) error
		in      string
		wantErr string
	}{
		{"compounds row of MaxLine bytes", readC, "id,name,country\nc-1," + long(MaxLine-7) + ",KH\n", ""},
		{"compounds row of MaxLine+1 bytes", readC, "id,name,country\nc-0,Zero,KH\nc-1," + long(MaxLine-6) + ",KH\n", "compounds.csv:3: line longer than 1048576 bytes"},
		{"compounds last line without newline", readC, "id,name,country\nc-1," + long(MaxLine-6) + ",KH", "compounds.csv:2: line longer than 1048576 bytes"},
		{"compounds header", readC, "id,name,country" + long(MaxLine), "compounds.csv:1: line longer than 1048576 bytes"},
		{"compounds inside a quoted field", readC, "id,name,country\nc-1,\"" + long(10) + "\n" + long(MaxLine+1) + "\",KH\n", "compounds.csv:3: line longer than 1048576 bytes"},
		{"compounds after a byte order mark", readC, "\uFEFFid,name,country\nc-1," + long(MaxLine-7) + ",KH\n", ""},
		{"indicators row", readI, "compound,kind,value,source\nc-1,ip,203.0.113.7," + long(MaxLine) + "\n", "indicators.csv:2: line longer than 1048576 bytes"},
		{"shared line of MaxLine bytes", readS, "203.0.113.0/24 #" + long(MaxLine-16) + "\n", ""},
		{"shared line of MaxLine bytes, CRLF", readS, "203.0.113.0/24 #" + long(MaxLine-17) + "\r\n", ""},
		{"shared line of MaxLine+1 bytes", readS, "\n# comment\n203.0.113.0/24 #" + long(MaxLine-15) + "\n", "shared.txt:3: line longer than 1048576 bytes"},
		{"shared last line without newline", readS, "203.0.113.0/24 #" + long(MaxLine), "shared.txt:1: line longer than 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read(tc.in)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func readC(s string) error {
	got, err := ReadCompounds(strings.NewReader(s), "compounds.csv", failReject)
	if err == nil && len(got) != 1 {
		return fmt.Errorf("read %d compounds, want 1", len(got))
	}
	return err
}

func readI(s string) error {
	_, err := ReadIndicators(strings.NewReader(s), "indicators.csv", map[string]int{"c-1": 0}, failReject)
	return err
}

func readS(s string) error {
	got, err := ReadShared(strings.NewReader(s), "shared.txt", failReject)
	if err == nil && len(got) != 1 {
		return fmt.Errorf("read %d prefixes, want 1", len(got))
	}
	return err
}

func failReject(e *seams.RecordError) { panic("unexpected reject: " + e.Error()) }

// TestReadErrors checks that an I/O error is fatal, wrapped with the file
// name, and still recognisable.
func TestReadErrors(t *testing.T) {
	boom := errors.New("boom")
	broken := func(s string) io.Reader { return io.MultiReader(strings.NewReader(s), iotest.ErrReader(boom)) }
	tests := []struct {
		name string
		read func(io.Reader) error
		in   io.Reader
		want string
	}{
		{"compounds at once", func(r io.Reader) error { _, err := ReadCompounds(r, "c.csv", nil); return err }, iotest.ErrReader(boom), "c.csv: boom"},
		{"compounds in the header", func(r io.Reader) error { _, err := ReadCompounds(r, "c.csv", nil); return err }, broken("id,na"), "c.csv: boom"},
		{"compounds in a row", func(r io.Reader) error { _, err := ReadCompounds(r, "c.csv", nil); return err }, broken("id,name,country\nc-1,One,KH\nc-2,"), "c.csv: boom"},
		{"compounds inside a quoted field", func(r io.Reader) error { _, err := ReadCompounds(r, "c.csv", nil); return err }, broken("id,name,country\nc-1,\"One"), "c.csv: boom"},
		{"indicators", func(r io.Reader) error { _, err := ReadIndicators(r, "i.csv", nil, nil); return err }, broken("compound,kind,value\n"), "i.csv: boom"},
		{"shared", func(r io.Reader) error { _, err := ReadShared(r, "s.txt", nil); return err }, broken("203.0.113.0/24\n"), "s.txt: boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read(tc.in)
			if err == nil || err.Error() != tc.want || !errors.Is(err, boom) {
				t.Fatalf("err = %v, want %s wrapping boom", err, tc.want)
			}
		})
	}
}

// TestAwkwardReaders reads the test data through readers that return a byte
// at a time or data with io.EOF, and expects the same result as reading it
// whole.
func TestAwkwardReaders(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "compounds.csv"))
	if err != nil {
		t.Fatal(err)
	}
	data = append([]byte("\uFEFF"), data...)
	read := func(r io.Reader) string {
		var rej collector
		got, err := ReadCompounds(r, "compounds.csv", rej.reject)
		if err != nil {
			t.Fatal(err)
		}
		return dumpCompounds(got, rej)
	}
	want := read(bytes.NewReader(data))
	for name, r := range map[string]io.Reader{
		"one byte":  iotest.OneByteReader(bytes.NewReader(data)),
		"data+EOF":  iotest.DataErrReader(bytes.NewReader(data)),
		"half read": iotest.HalfReader(bytes.NewReader(data)),
	} {
		if got := read(r); got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
		}
	}
}
