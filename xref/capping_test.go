package xref

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
)

// capCase writes a registry where 203.0.113.7 (compound c-a) is in four
// reports: over a limit of 3. r-4 is also tied to c-a by a device, r-5
// only by another address of c-a; r-6 is tied to c-b (another country)
// by the over-correlated address's neighbour.
func capCase(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := NewOptions()
	o.Compounds = write("compounds.csv", "id,name,country\nc-a,Compound A,KH\nc-b,Compound B,MM\n")
	o.Indicators = write("indicators.csv", "compound,kind,value,first_seen,last_seen\n"+
		"c-a,ip,203.0.113.7,2024-01-01,2024-12-31\n"+
		"c-a,ip,203.0.113.8,2024-01-01,2024-12-31\n"+
		"c-a,device,imei:358240051111110,,\n"+
		"c-b,ip,203.0.113.9,2024-01-01,2024-12-31\n")
	ev := func(ip string) string { return `{"ip":"` + ip + `","at":"2024-05-01T22:14:03Z"}` }
	o.Reports = []string{write("reports.jsonl", strings.Join([]string{
		`{"id":"r-1","ips":[` + ev("203.0.113.7") + `]}`,
		`{"id":"r-2","ips":[` + ev("203.0.113.7") + `,` + ev("203.0.113.9") + `]}`,
		`{"id":"r-3","ips":[` + ev("203.0.113.7") + `]}`,
		`{"id":"r-4","ips":[` + ev("203.0.113.7") + `],"devices":[{"type":"imei","value":"358240051111110"}]}`,
		`{"id":"r-5","ips":[` + ev("203.0.113.8") + `]}`,
		`{"id":"r-6","ips":[` + ev("203.0.113.9") + `]}`,
	}, "\n")+"\n")}
	o.Out = filepath.Join(dir, "out")
	o.MaxReportsPerIndicator = 3
	return o
}

type writtenFinding struct {
	Report   string `json:"report"`
	Compound string `json:"compound"`
	Tier     string `json:"tier"`
	Capped   []struct {
		Kind, Value    string
		Reports, Limit int
	} `json:"capped"`
}

func readCapFindings(t *testing.T, o Options) map[string]writtenFinding {
	t.Helper()
	f, err := os.Open(filepath.Join(o.Out, FindingsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]writtenFinding{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c writtenFinding
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("findings line is not JSON: %v\n%s", err, sc.Bytes())
		}
		out[c.Report+" "+c.Compound] = c
	}
	return out
}

func TestOverCorrelatedCapped(t *testing.T) {
	o := capCase(t)
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := readCapFindings(t, o)
	for _, c := range []struct {
		name, key, tier string
		capped          bool
	}{
		{"tied only by the over-correlated address: capped", "r-1 c-a", "potential", true},
		{"same, with a tied finding for another compound", "r-2 c-a", "potential", true},
		{"the other compound's finding is untouched", "r-2 c-b", "tied", false},
		{"tied also by a device: stays tied", "r-4 c-a", "tied", false},
		{"tied by another address of the compound", "r-5 c-a", "tied", false},
		{"another compound, alone", "r-6 c-b", "tied", false},
	} {
		f, ok := got[c.key]
		if !ok {
			t.Errorf("%s: no finding %s", c.name, c.key)
			continue
		}
		if f.Tier != c.tier || (len(f.Capped) > 0) != c.capped {
			t.Errorf("%s: %s is %s capped=%v, want %s capped=%v", c.name, c.key, f.Tier, f.Capped, c.tier, c.capped)
		}
		if c.capped && (f.Capped[0].Value != "203.0.113.7" || f.Capped[0].Reports != 4 || f.Capped[0].Limit != 3 || f.Capped[0].Kind != "ip") {
			t.Errorf("%s: capped = %+v, want 203.0.113.7 with 4 reports over 3", c.name, f.Capped)
		}
	}
	if len(got) != 7 {
		t.Errorf("%d findings, want 7: %v", len(got), got)
	}
	want := []seams.OverCorrelated{{Compound: "c-a", Kind: "ip", Value: "203.0.113.7", Reports: 4, Capped: true, Downgraded: 3}}
	if len(s.OverCorrelated) != 1 || s.OverCorrelated[0] != want[0] {
		t.Errorf("over_correlated = %+v, want %+v", s.OverCorrelated, want)
	}
	// r-1 and r-3 are potential only; r-2 is tied (by c-b), r-4, r-5, r-6 tied.
	if s.TiedReports != 4 || s.PotentialReports != 2 || s.CompoundsTied != 2 {
		t.Errorf("tied %d potential %d compounds tied %d, want 4, 2, 2", s.TiedReports, s.PotentialReports, s.CompoundsTied)
	}
	wantCompounds := []seams.CompoundCount{
		{Compound: "c-a", Name: "Compound A", Country: "KH", Tied: 2, Potential: 3},
		{Compound: "c-b", Name: "Compound B", Country: "MM", Tied: 2},
	}
	if len(s.ByCompound) != 2 || s.ByCompound[0] != wantCompounds[0] || s.ByCompound[1] != wantCompounds[1] {
		t.Errorf("by_compound = %+v, want %+v", s.ByCompound, wantCompounds)
	}
	wantCountries := []seams.CountryCount{{Country: "KH", Tied: 2, Potential: 3}, {Country: "MM", Tied: 2}}
	if len(s.ByCountry) != 2 || s.ByCountry[0] != wantCountries[0] || s.ByCountry[1] != wantCountries[1] {
		t.Errorf("by_country = %+v, want %+v", s.ByCountry, wantCountries)
	}
	// The written summary says the same as the returned one.
	var written seams.Summary
	b, err := os.ReadFile(filepath.Join(o.Out, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &written); err != nil {
		t.Fatal(err)
	}
	if written.TiedReports != s.TiedReports || len(written.OverCorrelated) != 1 || written.MaxReportsPerIndicator != 3 {
		t.Errorf("summary.json disagrees with the returned summary: %s", b)
	}
}

func TestOverCorrelatedLiftedAndOff(t *testing.T) {
	for _, c := range []struct {
		name   string
		set    func(*Options)
		flags  int // over_correlated entries
		capped bool
	}{
		{"cap lifted for the address: flagged, not capped", func(o *Options) { o.LiftCap = []string{"::ffff:203.0.113.7"} }, 1, false},
		{"limit above the count: nothing flagged", func(o *Options) { o.MaxReportsPerIndicator = 4 }, 0, false},
		{"limit off", func(o *Options) { o.MaxReportsPerIndicator = 0 }, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := capCase(t)
			c.set(&o)
			s, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.OverCorrelated) != c.flags {
				t.Fatalf("over_correlated = %+v, want %d entries", s.OverCorrelated, c.flags)
			}
			if c.flags > 0 && (s.OverCorrelated[0].Capped || s.OverCorrelated[0].Downgraded != 0) {
				t.Errorf("lifted indicator reported capped: %+v", s.OverCorrelated[0])
			}
			if s.TiedReports != 6 || s.PotentialReports != 0 {
				t.Errorf("tied %d potential %d, want 6, 0", s.TiedReports, s.PotentialReports)
			}
			for k, f := range readCapFindings(t, o) {
				if f.Tier != "tied" || len(f.Capped) > 0 {
					t.Errorf("%s: %s capped=%v, want tied", k, f.Tier, f.Capped)
				}
			}
		})
	}
}

func TestLiftCapRejectsJunk(t *testing.T) {
	o := capCase(t)
	o.LiftCap = []string{"not an address"}
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), `"not an address"`) {
		t.Errorf("Run = %v, want an error quoting the bad value", err)
	}
}

// TestCapLogSpills runs the over-correlation check on a generated data set
// with a limit low enough to cap many findings, with its log in memory and
// with the log spilled to disk after every tied report, and expects the
// same bytes.
func TestCapLogSpills(t *testing.T) {
	g := gen.DefaultOptions()
	g.Reports, g.Indicators, g.Compounds = 20_000, 500, 10
	g.TiedRate, g.PotentialRate = 0.1, 0.05
	f, err := gen.Generate(filepath.Join(t.TempDir(), "gen"), g)
	if err != nil {
		t.Fatal(err)
	}
	var outs [2]map[string][]byte
	for k, mem := range []int{capsMemory, 1} {
		func() {
			defer func(m int) { capsMemory = m }(capsMemory)
			capsMemory = mem
			o := NewOptions()
			o.Compounds, o.Indicators, o.Shared, o.Reports = f.Compounds, f.Indicators, f.Shared, []string{f.Reports}
			o.Out, o.Readers.CSV.TempDir = t.TempDir(), t.TempDir()
			o.MaxReportsPerIndicator = 4
			s, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			down := 0
			for _, oc := range s.OverCorrelated {
				down += oc.Downgraded
			}
			if down == 0 {
				t.Fatal("no finding was capped: the test proves nothing")
			}
			outs[k] = map[string][]byte{}
			for _, name := range []string{FindingsFile, SummaryFile, RejectedFile} {
				outs[k][name] = readFile(t, filepath.Join(o.Out, name))
			}
		}()
	}
	for name, want := range outs[0] {
		if !bytes.Equal(outs[1][name], want) {
			t.Errorf("%s with the cap log spilled differs from the one in memory", name)
		}
	}
}
