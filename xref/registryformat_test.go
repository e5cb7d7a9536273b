package xref

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/misp"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/stix"
)

// smallRegistry reads the hand-made registry as the CSV path does.
func smallRegistry(t *testing.T) ([]seams.Compound, []seams.Indicator) {
	t.Helper()
	f, err := os.Open(small + "compounds.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := registry.ReadCompounds(f, "compounds.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for i, c := range cs {
		ids[c.ID] = i
	}
	g, err := os.Open(small + "indicators.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ins, err := registry.ReadIndicators(g, "indicators.csv", ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cs, ins
}

// tiers returns "report compound tier rule+rule" for every finding written.
func tiers(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(out, FindingsFile)))), "\n") {
		if l == "" {
			continue
		}
		var f struct {
			Report, Compound, Tier string
			Evidence               []struct{ Rule string }
		}
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, e := range f.Evidence {
			rules = append(rules, e.Rule)
		}
		got = append(got, f.Report+" "+f.Compound+" "+f.Tier+" "+strings.Join(rules, "+"))
	}
	slices.Sort(got)
	return got
}

// TestRegistryInExchangeFormats writes the hand-made registry as a STIX 2.1
// bundle and as MISP events, runs with each as --indicators and no
// compounds file (the compounds come with the indicators), and expects the
// findings of the CSV run.
func TestRegistryInExchangeFormats(t *testing.T) {
	base := smallOptions(t)
	if _, err := Run(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	want := tiers(t, base.Out)
	cs, ins := smallRegistry(t)
	at := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		write func(w io.Writer) error
	}{
		{"stix", func(w io.Writer) error {
			return stix.WriteBundle(w, &stix.Export{Org: "Hotline Example", Time: at, Compounds: cs, Indicators: ins})
		}},
		{"misp", func(w io.Writer) error {
			_, err := misp.WriteEvents(w, &misp.Export{Org: "Hotline Example", Time: at, Compounds: cs, Indicators: ins})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := c.write(&buf); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "registry.json")
			if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			o := smallOptions(t)
			o.Compounds, o.Indicators = "", p
			s, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if got := tiers(t, o.Out); !slices.Equal(got, want) {
				t.Errorf("findings from %s differ from the CSV run's:\n%s\nwant:\n%s", c.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if s.Registry.IPIndicators+s.Registry.CIDRIndicators+s.Registry.DeviceIndicators != len(ins) {
				t.Errorf("registry %+v, want %d indicators", s.Registry, len(ins))
			}
		})
	}
}

// TestCompoundsNeededWithCSV: without a compounds file, an indicators CSV
// is a usage error: a FieldError naming the field (which the command line
// turns into its flag).
func TestCompoundsNeededWithCSV(t *testing.T) {
	o := smallOptions(t)
	o.Compounds = ""
	_, err := Run(context.Background(), o)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "Compounds" || !fe.Missing || !errors.Is(err, ErrUsage) {
		t.Errorf("Run = %v, want a usage error: Compounds missing", err)
	}
}

// TestWarninglistAsShared reads a MISP warninglist as the shared space: an
// exact address in it can no longer tie.
func TestWarninglistAsShared(t *testing.T) {
	base := smallOptions(t)
	base.Shared = ""
	if _, err := Run(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	wl := `{"name":"Test list","version":1,"description":"test","type":"string","matching_attributes":["ip-src","ip-dst"],"list":["203.0.113.7/32","AS64500"]}`
	p := filepath.Join(t.TempDir(), "warninglist.json")
	os.WriteFile(p, []byte(wl), 0o600)
	o := smallOptions(t)
	o.Shared = p
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(tiers(t, o.Out), "\n")
	if !strings.Contains(got, "r-tied-ip c-jinbei potential ip") {
		t.Errorf("r-tied-ip should be potential once 203.0.113.7 is shared:\n%s", got)
	}
	var shared *seams.InputCount
	for i := range s.Inputs {
		if s.Inputs[i].Kind == "shared" {
			shared = &s.Inputs[i]
		}
	}
	if shared == nil || shared.Records != 2 || shared.Rejected != 0 {
		t.Errorf("shared input %+v, want 2 records, none rejected", shared)
	}
	// The AS cannot be used without an ASN database: said once.
	if len(s.Unusable) != 1 || s.Unusable[0].What != "shared ASNs" || s.Unusable[0].Count != 1 {
		t.Errorf("unusable = %+v, want the shared AS", s.Unusable)
	}
}

// TestRegistryWrongKind: a registry file in another kind's format is an
// error saying what it is; the run writes nothing.
func TestRegistryWrongKind(t *testing.T) {
	for _, c := range []struct {
		set  func(*Options)
		want string
	}{
		{func(o *Options) { o.Compounds = "../stix/testdata/small.bundle.json" }, "is a STIX 2.1 bundle, which holds no compounds: give it as the indicators"},
		{func(o *Options) { o.Shared = "../misp/testdata/small.misp.json" }, "is MISP events, which holds no shared space: give it as the indicators"},
		{func(o *Options) { o.Indicators = "../misp/testdata/warninglist.json" }, "is a MISP warninglist, which holds no indicators: give it as the shared space"},
	} {
		o := smallOptions(t)
		c.set(&o)
		if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run = %v, want %q", err, c.want)
		}
		if _, err := os.Stat(filepath.Join(o.Out, FindingsFile)); err == nil {
			t.Error("a failed run wrote findings")
		}
	}
}
