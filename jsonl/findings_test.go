package jsonl

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
)

const goldenFindings = "../testdata/small/golden/findings.jsonl"

func readAllFindings(t testing.TB, b []byte) ([]seams.Finding, error) {
	t.Helper()
	var fs []seams.Finding
	err := ReadFindings(bytes.NewReader(b), "f.jsonl", func(f *seams.Finding) error { fs = append(fs, *f); return nil })
	return fs, err
}

// TestReadFindingsGolden: the golden findings read and written back with
// AppendFinding are the same bytes; their keys are what ReadFindingKeys
// reads.
func TestReadFindingsGolden(t *testing.T) {
	want, err := os.ReadFile(goldenFindings)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := readAllFindings(t, want)
	if err != nil || len(fs) < 5 {
		t.Fatalf("%d findings, %v", len(fs), err)
	}
	var got []byte
	for i := range fs {
		got = AppendFinding(got, &fs[i])
	}
	if !bytes.Equal(got, want) {
		t.Errorf("read and written back:\n%s\nwant:\n%s", got, want)
	}
	k := 0
	err = ReadFindingKeys(bytes.NewReader(want), "f.jsonl", func(report, compound string, tier seams.Tier) error {
		if f := fs[k]; f.Report != report || f.Compound != compound || f.Tier != tier {
			t.Errorf("key %d: %s %s %s, the finding %s %s %s", k, report, compound, tier, f.Report, f.Compound, f.Tier)
		}
		k++
		return nil
	})
	if err != nil || k != len(fs) {
		t.Errorf("%d keys of %d findings: %v", k, len(fs), err)
	}
}

// TestReadFindingsErrors: a line that is not a finding is an error naming
// the file and line; blank lines, a CRLF file and a last line without a
// newline read.
func TestReadFindingsErrors(t *testing.T) {
	golden, err := os.ReadFile(goldenFindings)
	if err != nil {
		t.Fatal(err)
	}
	first := string(golden[:bytes.IndexByte(golden, '\n')])
	cases := []struct {
		name, text, err string
		n               int
	}{
		{"crlf, blank lines, no last newline", "\r\n" + first + "\r\n\r\n  \n" + first, "", 2},
		{"not json", first + "\n{oops\n", "f.jsonl:2: not a finding", 0},
		{"no evidence", `{"report":"r","compound":"c-1","tier":"tied","evidence":[]}`, "f.jsonl:1: finding without evidence", 0},
		{"bad tier", `{"report":"r","compound":"c-1","tier":"maybe"}`, `f.jsonl:1: tier "maybe"`, 0},
		{"bad compound", `{"report":"r","compound":"c 1","tier":"tied"}`, "f.jsonl:1: finding without a report id or with an invalid compound", 0},
		{"unknown rule", strings.Replace(first, `"rule":"ip"`, `"rule":"guess"`, 1), `f.jsonl:1: evidence[0]: unknown rule "guess"`, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, err := readAllFindings(t, []byte(c.text))
			if c.err == "" {
				if err != nil || len(fs) != c.n {
					t.Errorf("%d findings, %v; want %d", len(fs), err, c.n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %v, want %q", err, c.err)
			}
		})
	}
}

// TestReadFindingKeysTruth reads lines without evidence, as seams gen's
// truth.jsonl has them; ReadFindings refuses them.
func TestReadFindingKeysTruth(t *testing.T) {
	truth := `{"report":"r-1","compound":"c-1","tier":"tied"}` + "\n" + `{"report":"r-2","compound":"c-2","tier":"potential"}` + "\n"
	var got []string
	if err := ReadFindingKeys(strings.NewReader(truth), "truth.jsonl", func(r, c string, tier seams.Tier) error {
		got = append(got, r+" "+c+" "+tier.String())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "r-1 c-1 tied,r-2 c-2 potential" {
		t.Errorf("keys %q", got)
	}
	if _, err := readAllFindings(t, []byte(truth)); err == nil {
		t.Error("ReadFindings read a line without evidence")
	}
}

// TestFindingLineLimit: a line of the limit reads; one more byte is an
// error naming the line (the limit of 64 MiB is too large to test cheaply:
// the line reader is tested at 1 KiB, with the bufio buffer of 1 MiB
// behind it as in ReadFindings).
func TestFindingLineLimit(t *testing.T) {
	const max = 1024
	line := func(n int) string { return "\n" + strings.Repeat("x", n) + "\r\n" }
	var got []int
	err := findingLines(strings.NewReader(line(max)+line(3)), "big.jsonl", max, func(n int, l []byte) error {
		got = append(got, len(l))
		return nil
	})
	if err != nil || len(got) != 2 || got[0] != max || got[1] != 3 {
		t.Errorf("lines of the limit: %v, %v", got, err)
	}
	err = findingLines(strings.NewReader(line(max+1)), "big.jsonl", max, func(int, []byte) error { return nil })
	if err == nil || err.Error() != "big.jsonl:2: line longer than 1024 bytes" {
		t.Errorf("a line over the limit: %v", err)
	}
	// Over the bufio buffer, under the limit.
	big := 3 << 20
	got = nil
	err = findingLines(strings.NewReader(line(big)), "big.jsonl", 4<<20, func(n int, l []byte) error {
		got = append(got, len(l))
		return nil
	})
	if err != nil || len(got) != 1 || got[0] != big {
		t.Errorf("a line of 3 MiB: %v, %v", got, err)
	}
}

// TestReadFindingsStops: an error from fn stops the read and is returned.
func TestReadFindingsStops(t *testing.T) {
	golden, _ := os.ReadFile(goldenFindings)
	stop := errors.New("stop")
	n := 0
	err := ReadFindings(bytes.NewReader(golden), "f.jsonl", func(*seams.Finding) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("%d calls, %v", n, err)
	}
}

// FuzzReadFindings: what reads writes back with AppendFinding and reads
// the same; ReadFindingKeys reads every line ReadFindings reads.
func FuzzReadFindings(f *testing.F) {
	b, err := os.ReadFile(goldenFindings)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := readAllFindings(t, b)
		if err != nil {
			return
		}
		var buf []byte
		for i := range fs {
			buf = AppendFinding(buf, &fs[i])
		}
		again, err := readAllFindings(t, buf)
		if err != nil {
			t.Fatalf("rewritten findings do not read: %v", err)
		}
		var buf2 []byte
		for i := range again {
			buf2 = AppendFinding(buf2, &again[i])
		}
		if !bytes.Equal(buf, buf2) {
			t.Fatalf("written twice, different bytes:\n%s\n%s", buf, buf2)
		}
		keys := 0
		if err := ReadFindingKeys(bytes.NewReader(b), "f.jsonl", func(string, string, seams.Tier) error { keys++; return nil }); err != nil || keys != len(fs) {
			t.Fatalf("%d keys of %d findings: %v", keys, len(fs), err)
		}
	})
}
