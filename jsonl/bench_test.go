package jsonl_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/jsonl"
)

// benchLines generates realistic report lines with the project's generator
// (about 300 bytes and 2.6 ip events each).
func benchLines(b *testing.B) [][]byte {
	b.Helper()
	dir := b.TempDir()
	o := gen.DefaultOptions()
	o.Reports, o.Indicators, o.Compounds = 20000, 2000, 40
	files, err := gen.Generate(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(files.Reports)
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// BenchmarkParse measures the report scanner on one core, in bytes of JSON
// Lines per second.
func BenchmarkParse(b *testing.B) {
	lines := benchLines(b)
	var p jsonl.Parser
	var r seams.Report
	var size int64
	for _, l := range lines {
		size += int64(len(l)) + 1
	}
	b.SetBytes(size / int64(len(lines)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%len(lines) == 0 {
			p.Reset()
		}
		if err := p.Parse(lines[i%len(lines)], &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSpaced is BenchmarkParse on the same reports written with a
// space after each ':' and ',', as a pretty-printer would: the shape that the
// compact fast paths leave to the general path.
func BenchmarkParseSpaced(b *testing.B) {
	lines := benchLines(b)
	var size int64
	for i, l := range lines {
		l = bytes.ReplaceAll(l, []byte(`":`), []byte(`": `))
		lines[i] = bytes.ReplaceAll(l, []byte(`,"`), []byte(`, "`))
		size += int64(len(lines[i])) + 1
	}
	var p jsonl.Parser
	var r seams.Report
	b.SetBytes(size / int64(len(lines)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%len(lines) == 0 {
			p.Reset()
		}
		if err := p.Parse(lines[i%len(lines)], &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseEncodingJSON is the baseline: the standard library decoding
// the same lines into structs of the same shape (without the contract's
// checks, which only make it slower).
func BenchmarkParseEncodingJSON(b *testing.B) {
	lines := benchLines(b)
	type event struct {
		IP    string `json:"ip"`
		At    string `json:"at"`
		Event string `json:"event"`
		Port  int    `json:"port"`
		Proxy bool   `json:"proxy"`
	}
	type device struct{ Type, Value, At string }
	type report struct {
		ID       string   `json:"id"`
		Received string   `json:"received"`
		Incident string   `json:"incident"`
		IPs      []event  `json:"ips"`
		Devices  []device `json:"devices"`
	}
	var size int64
	for _, l := range lines {
		size += int64(len(l)) + 1
	}
	b.SetBytes(size / int64(len(lines)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var r report
		json.Unmarshal(lines[i%len(lines)], &r) // malformed seeds are fine to skip
	}
}
