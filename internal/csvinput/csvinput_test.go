package csvinput

import (
	"io"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
)

func TestInput(t *testing.T) {
	in := New(strings.NewReader("\uFEFFa,b\nc,d\n"), "f.csv", true)
	b, err := io.ReadAll(in)
	if err != nil || string(b) != "a,b\nc,d\n" {
		t.Fatalf("ReadAll = %q, %v; want the text without its byte order mark", b, err)
	}
	if err := in.Fatal(); err != nil {
		t.Errorf("Fatal at the end = %v", err)
	}
	if got := string(in.Take(4)); got != "a,b\n" {
		t.Errorf("Take(4) = %q", got)
	}
	if got := string(in.Take(8)); got != "c,d\n" {
		t.Errorf("Take(8) = %q", got)
	}

	long := New(strings.NewReader("ok\n"+strings.Repeat("x", MaxLine+1)+"\n"), "long.csv", false)
	io.ReadAll(long)
	re, ok := long.Fatal().(*seams.RecordError)
	if !ok || re.Line != 2 || re.File != "long.csv" || !strings.Contains(re.Reason, "line longer than") {
		t.Errorf("Fatal = %v, want a line-2 RecordError of long.csv", long.Fatal())
	}
}
