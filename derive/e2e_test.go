package derive

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seams-dev/seams/gen"
	"github.com/seams-dev/seams/xref"
)

// TestDeriveThenXref is the whole chain: footprints, observations and
// reports from the generator; derive makes the registry; xref, unchanged,
// cross-references the reports against it. Reports planted on resident
// devices and compound addresses must be tied to their compound; reports on
// shared carrier addresses, commuters, visitors and the background must
// find nothing.
func TestDeriveThenXref(t *testing.T) {
	t.Skip("the observation generator is being rewritten with the phenomena of issue 15; this test returns with it")
	o := gen.ObservationOptions{Seed: 3, Compounds: 15, Observations: 200_000, Reports: 5000, BadRate: 0.001}
	f, opts, s := generated(t, o)
	r := readResult(t, opts.Out, opts.Compounds, s)

	xo := xref.NewOptions()
	xo.Compounds = f.Compounds
	xo.Indicators = filepath.Join(opts.Out, IndicatorsFile)
	xo.Shared = filepath.Join(opts.Out, SharedFile)
	xo.Reports = []string{f.Reports}
	xo.Out = filepath.Join(f.Dir, "xref")
	xs, err := xref.Run(context.Background(), xo)
	if err != nil {
		t.Fatal(err)
	}
	if xs.Rejected != 0 {
		t.Fatalf("xref rejected %d records of the derived registry or the reports", xs.Rejected)
	}
	if xs.Registry.DeviceIndicators != s.DeviceIndicators || xs.Registry.IPIndicators != s.IPIndicators || xs.Registry.SharedPrefixes != s.SharedAddresses+1 {
		t.Fatalf("xref read %+v of the registry, derive wrote %d devices, %d ips, %d shared", xs.Registry, s.DeviceIndicators, s.IPIndicators, s.SharedAddresses)
	}

	type key struct{ report, compound string }
	readLines := func(path string, fn func([]byte)) {
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			fn(sc.Bytes())
		}
	}
	truth := map[key]bool{}
	readLines(f.Truth, func(b []byte) {
		var v struct{ Report, Compound, Tier string }
		json.Unmarshal(b, &v)
		truth[key{v.Report, v.Compound}] = true
	})
	findings := map[key]string{}
	readLines(filepath.Join(xo.Out, xref.FindingsFile), func(b []byte) {
		var v struct{ Report, Compound, Tier string }
		json.Unmarshal(b, &v)
		findings[key{v.Report, v.Compound}] = v.Tier
	})
	// What each planted report carries, to tell a miss of derive from a
	// miss of the chain.
	type planted struct {
		at     time.Time
		device string
		ip     string
	}
	reports := map[string]planted{}
	readLines(f.Reports, func(b []byte) {
		var v struct {
			ID  string
			IPs []struct {
				IP string
				At time.Time
			}
			Devices []struct {
				Type, Value string
				At          time.Time
			}
		}
		json.Unmarshal(b, &v)
		var p planted
		if len(v.IPs) > 0 {
			p.ip, p.at = v.IPs[0].IP, v.IPs[0].At
		}
		if len(v.Devices) > 0 {
			p.device, p.at = v.Devices[0].Type+":"+v.Devices[0].Value, v.Devices[0].At
		}
		reports[v.ID] = p
	})

	tied, missedByDerive := 0, 0
	for k := range truth {
		if findings[k] == "tied" {
			tied++
			continue
		}
		// Not tied: the registry must lack what the report carries, in
		// its window. Anything else is a break in the chain.
		p := reports[k.report]
		kind, value := "ip", p.ip
		if p.device != "" {
			kind, value = "device", p.device
			if in, _, ok := r.find(k.compound, kind, normalizeDevice(t, value)); ok && in.Window.Contains(p.at) {
				t.Errorf("%s: the registry has %s %s in its window %s, but xref found %q", k.report, kind, value, in.Window, findings[k])
			}
		} else if in, _, ok := r.find(k.compound, kind, value); ok && in.Window.Contains(p.at) {
			t.Errorf("%s: the registry has %s %s in its window, but xref found %q", k.report, kind, value, findings[k])
		}
		missedByDerive++
	}
	var extra []key
	for k, tier := range findings {
		if !truth[k] {
			extra = append(extra, k)
			t.Logf("finding not planted: %s %s %s (%+v)", k.report, k.compound, tier, reports[k.report])
		}
	}
	recall := float64(tied) / float64(len(truth))
	precision := float64(tied) / float64(tied+len(extra))
	t.Logf("planted tied reports %d: tied %d (recall %.3f), missed because derive missed the resident %d; findings not planted %d (precision %.3f)",
		len(truth), tied, recall, missedByDerive, len(extra), precision)
	if len(truth) < 500 {
		t.Fatalf("only %d planted tied reports", len(truth))
	}
	if recall < 0.95 || precision < 0.98 {
		t.Errorf("recall %.3f, precision %.3f of tied findings: want at least 0.95 and 0.98", recall, precision)
	}
}
