package reportfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/seams-dev/seams/csvreport"
	"github.com/seams-dev/seams/cybertip"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/jsonl"
)

func TestDetect(t *testing.T) {
	const (
		xmlHead  = "<?xml version=\"1.0\"?>\n<reports>"
		csvHead  = "report_id,received,incident,ip,at\nr-1,,,203.0.113.7,2024-05-01T22:14:03Z\n"
		jsonHead = `{"id":"r-1"}`
	)
	cases := []struct {
		name   string
		given  Format
		file   string
		head   string
		format Format
	}{
		{"xml by name", "", "reports.xml", jsonHead, CyberTip},
		{"xml by name, gzipped", "", "REPORTS.XML.GZ", "", CyberTip},
		{"csv by name, zstd", "", "r.csv.zst", "", CSV},
		{"jsonl by name", "", "r.ndjson", xmlHead, JSONL},
		{"xml sniffed", "", "reports", xmlHead, CyberTip},
		{"xml sniffed after a byte order mark and spaces", "", "-", "\uFEFF \n<report>", CyberTip},
		{"csv sniffed", "", "reports.txt", csvHead, CSV},
		{"csv sniffed, quoted header", "", "-", `"report_id","ip","at"` + "\n", CSV},
		{"json sniffed", "", "-", jsonHead, JSONL},
		{"empty is JSON Lines", "", "-", "", JSONL},
		{"given wins", CSV, "reports.xml", xmlHead, CSV},
		{"xml sniffed in UTF-16LE", "", "-", "\xff\xfe<\x00?\x00x\x00", CyberTip},
		{"xml sniffed in UTF-16BE", "", "-", "\xfe\xff\x00<\x00?", CyberTip},
		{"csv sniffed in UTF-16LE, cut inside a unit", "", "-", "\xff\xfer\x00,\x00i\x00p\x00\n\x00r", CSV},
	}
	for _, c := range cases {
		if got := Detect(c.given, c.file, []byte(c.head)); got != c.format {
			t.Errorf("%s: Detect = %q, want %q", c.name, got, c.format)
		}
	}
}

func TestNewReaderFormats(t *testing.T) {
	for f, want := range map[Format]any{JSONL: (*jsonl.Reader)(nil), CyberTip: (*cybertip.Reader)(nil), CSV: (*csvreport.Reader)(nil)} {
		rd, err := NewReader(f, bytes.NewReader(nil), "x")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if g, w := fmt.Sprintf("%T", rd), fmt.Sprintf("%T", want); g != w {
			t.Errorf("%s: reader %s, want %s", f, g, w)
		}
	}
	if _, err := NewReader("parquet", bytes.NewReader(nil), "x"); err == nil {
		t.Error("an unknown format gave a reader")
	}
}

// TestOpenFormats opens one report in each format, plain, gzipped and
// zstd-compressed (under a name that says so, and one that does not), from
// a file and from standard input, and reads it through Open.
func TestOpenFormats(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"r.jsonl": `{"id":"r-1","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z"}]}` + "\n",
		"r.xml":   "<report><reportId>r-1</reportId><personOrUserReported><ipCaptureEvent><ipAddress>203.0.113.7</ipAddress><dateTime>2024-05-01T22:14:03Z</dateTime></ipCaptureEvent></personOrUserReported></report>\n",
		"r.csv":   "report_id,ip,at\nr-1,203.0.113.7,2024-05-01T22:14:03Z\n",
	}
	compress := map[string]func([]byte) []byte{
		"": func(b []byte) []byte { return b },
		".gz": func(b []byte) []byte {
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			w.Write(b)
			w.Close()
			return buf.Bytes()
		},
		".zst": func(b []byte) []byte {
			w, _ := zstd.NewWriter(nil)
			return w.EncodeAll(b, nil)
		},
	}
	for name, body := range files {
		for suffix, z := range compress {
			data := z([]byte(body))
			for _, named := range []bool{true, false} {
				p := filepath.Join(dir, name)
				if named {
					p += suffix
				} else {
					p = filepath.Join(dir, "unnamed"+suffix+"-"+name)
				}
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
				for _, stdin := range []bool{false, true} {
					var in *Input
					var err error
					if stdin {
						var label string
						in0, oerr := input.Open(context.Background(), "-", bytes.NewReader(data))
						if oerr != nil {
							t.Fatal(oerr)
						}
						label = filepath.Base(p)
						in, err = FromInput(in0, label, "", NewReaderOptionsDefault())
					} else {
						in, err = Open(p, "", nil)
					}
					if err != nil {
						t.Fatalf("%s (stdin %v): %v", p, stdin, err)
					}
					rec, err := in.Next()
					if err != nil || rec.Whole != nil || rec.Report.ID != "r-1" || len(rec.Report.IPs) != 1 {
						t.Errorf("%s (stdin %v): %+v %v", p, stdin, rec, err)
					}
					if _, err := in.Next(); err != io.EOF {
						t.Errorf("%s: after the report: %v", p, err)
					}
					if err := in.Close(); err != nil {
						t.Errorf("%s: close: %v", p, err)
					}
				}
			}
		}
	}
}

// TestOpenChecksHead: a file that is not report data at all is an error
// naming it and what it is, from a file and from standard input.
func TestOpenChecksHead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.jsonl")
	os.WriteFile(p, []byte("BZh91AY&SY"), 0o600)
	if _, err := Open(p, "", nil); err == nil || !strings.Contains(err.Error(), p+": this is bzip2 data") {
		t.Errorf("Open = %v", err)
	}
	in, err := input.Open(context.Background(), "-", strings.NewReader("PK\x03\x04zip"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromInput(in, "upload.csv", "", NewReaderOptionsDefault()); err == nil || !strings.Contains(err.Error(), "upload.csv: this is a zip archive") {
		t.Errorf("FromInput = %v", err)
	}
}
