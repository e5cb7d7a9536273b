package xref

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMinConfidence: indicators below --min-confidence are left out of the
// index, those at or above it and those without a confidence stay.
func TestMinConfidence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := NewOptions()
	o.Compounds = write("compounds.csv", "id,name,country\nc-a,Test Compound A,KH\n")
	o.Indicators = write("indicators.csv", "compound,kind,value,first_seen,last_seen,confidence,source\n"+
		"c-a,ip,203.0.113.1,2024-01-01,2024-12-31,0.3,test\n"+
		"c-a,ip,203.0.113.2,2024-01-01,2024-12-31,0.7,test\n"+
		"c-a,ip,203.0.113.3,2024-01-01,2024-12-31,,test\n")
	var reports strings.Builder
	for i, a := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		reports.WriteString(`{"id":"r-` + string(rune('1'+i)) + `","received":"2024-06-02T00:00:00Z","ips":[{"ip":"` + a + `","at":"2024-06-01T10:00:00Z"}]}` + "\n")
	}
	o.Reports = []string{write("reports.jsonl", reports.String())}
	for _, c := range []struct {
		min  float64
		tied []string
	}{{0, []string{"r-1", "r-2", "r-3"}}, {0.5, []string{"r-2", "r-3"}}, {0.7, []string{"r-2", "r-3"}}, {0.71, []string{"r-3"}}} {
		o.MinConfidence = c.min
		o.Out = filepath.Join(dir, "out")
		s, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(o.Out, FindingsFile))
		var tied []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l == "" {
				continue
			}
			if i := strings.Index(l, `"report":"`); i >= 0 && strings.Contains(l, `"tier":"tied"`) {
				tied = append(tied, l[i+10:i+13])
			}
		}
		if strings.Join(tied, ",") != strings.Join(c.tied, ",") || s.Registry.IPIndicators != len(c.tied) {
			t.Errorf("--min-confidence %g: tied %v with %d ip indicators, want %v", c.min, tied, s.Registry.IPIndicators, c.tied)
		}
	}
}
