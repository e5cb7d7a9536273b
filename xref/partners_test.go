package xref

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/reportfile"
)

// The partners set: the same reports written by hand three times, as
// JSON Lines, as CSV and as CyberTipline XML the way providers write it
// from the Reporting API's documentation (empty annotation flags, several
// reported persons, peer-to-peer addresses, events without a time, XML
// Schema spellings of numbers and times, ISO-8859-1, UTF-16, a mislabelled
// byte, a newer schema's elements). Issue 14.
const partners = "../testdata/partners/"

var partnersXML = []string{partners + "reports.xml", partners + "reports-latin1.xml", partners + "reports-utf16.xml"}

func partnersOptions(t *testing.T, reports ...string) Options {
	o := NewOptions()
	o.Compounds = partners + "compounds.csv"
	o.Indicators = partners + "indicators.csv"
	o.Shared = partners + "shared.txt"
	o.Reports = reports
	o.Out = t.TempDir()
	return o
}

// TestPartnersFormatsAgree runs the partners set in each format and expects
// byte-identical findings, the same summary counts and no rejection; the
// findings must show every rule the set was written to reach.
func TestPartnersFormatsAgree(t *testing.T) {
	want := runFormat(t, partnersOptions(t, partners+"reports.jsonl"))
	if want.rejected != 0 {
		t.Fatalf("the JSON Lines run rejected %d records", want.rejected)
	}
	for _, c := range []struct {
		name    string
		reports []string
	}{
		{"cybertip", partnersXML},
		{"csv", []string{partners + "reports.csv"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := runFormat(t, partnersOptions(t, c.reports...))
			if !bytes.Equal(got.findings, want.findings) {
				t.Errorf("findings.jsonl differs from the JSON Lines run\ngot:\n%s\nwant:\n%s", got.findings, want.findings)
			}
			if !reflect.DeepEqual(got.counts, want.counts) {
				t.Errorf("summary counts differ:\ngot  %+v\nwant %+v", got.counts, want.counts)
			}
			if got.rejected != 0 || got.inputs != want.inputs {
				t.Errorf("%d rejections, inputs %+v; want none and %+v", got.rejected, got.inputs, want.inputs)
			}
		})
	}

	// Not vacuous: what each report was written to show is in the
	// findings.
	type ev struct {
		Rule     string `json:"rule"`
		Observed struct {
			IP     string `json:"ip"`
			Device string `json:"device"`
			At     string `json:"at"`
			Proxy  bool   `json:"proxy"`
		} `json:"observed"`
		Shared string `json:"shared"`
	}
	found := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(want.findings)), "\n") {
		var f struct {
			Report, Compound, Tier string
			Evidence               []ev
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		for _, e := range f.Evidence {
			o := e.Observed.IP + e.Observed.Device
			if e.Observed.Proxy {
				o += " proxy"
			}
			if e.Shared != "" {
				o += " shared"
			}
			found[fmt.Sprintf("%s %s %s %s %s", f.Report, f.Compound, f.Tier, e.Rule, o)] = true
		}
	}
	for _, w := range []string{
		"p-annotations c-jinbei tied ip 203.0.113.7",
		"p-two-persons c-kings tied ip 198.51.100.77",
		"p-two-persons c-kings tied device idfa:AAAA-BBBB",          // the second person's device
		"p-two-persons c-kkpark potential cidr 2001:db8:1::5 proxy", // the second person is A1
		"p-p2p c-kkpark tied ip 203.0.113.7",                        // a peer-to-peer address
		"p-p2p-anonymous c-kkpark potential ip 203.0.113.7 proxy",   // ... of an A2 person
		"p-undated c-jinbei potential ip-undated 203.0.113.7",
		"p-undated c-kkpark potential ip-undated 203.0.113.7",
		"p-undated c-kings potential ip-undated 203.0.113.99 proxy shared",
		"p-undated c-jinbei potential cidr 198.51.100.5", // the dated event only: no cidr without a time
		"p-undated-and-dated c-kings tied ip-undated 198.51.100.77",
		"p-undated-and-dated c-kings tied ip 198.51.100.77",
		"p-midnight c-kings potential ip-drift 198.51.100.77", // 24:00:00 is one second past the window
		"p-newer c-jinbei tied ip 203.0.113.7",
		"p-mislabelled c-jinbei tied ip 203.0.113.7",
		"p-latin1 c-kings tied device ssid:Café-Wi-Fi",
		"p-utf16 c-kkpark tied device ssid:カフェWi-Fi",
	} {
		if !found[w] {
			t.Errorf("no evidence %q", w)
		}
	}
	for k := range found {
		if strings.HasPrefix(k, "p-batched ") || strings.Contains(k, "cidr 198.51.100.5") && !strings.HasPrefix(k, "p-undated c-jinbei") {
			t.Errorf("unexpected evidence %q", k)
		}
	}
}

// TestPartnersReportsAgree reads the partners set through each format's
// reader and compares the reports themselves, every field: the incident
// with its annotation flags, received, every event and device.
func TestPartnersReportsAgree(t *testing.T) {
	read := func(paths ...string) []seams.Report {
		var out []seams.Report
		for _, p := range paths {
			in, err := reportfile.Open(p, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			for {
				rec, err := in.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Whole != nil || len(rec.Parts) > 0 {
					t.Errorf("%s:%d: rejected %+v %+v", p, rec.Line, rec.Whole, rec.Parts)
					continue
				}
				out = append(out, rec.Report.Clone())
			}
			in.Close()
		}
		return out
	}
	want := read(partners + "reports.jsonl")
	if len(want) != 13 {
		t.Fatalf("%d reports in reports.jsonl, want 13", len(want))
	}
	for _, c := range []struct {
		name  string
		paths []string
	}{{"cybertip", partnersXML}, {"csv", []string{partners + "reports.csv"}}} {
		got := read(c.paths...)
		if len(got) != len(want) {
			t.Fatalf("%s: %d reports, want %d", c.name, len(got), len(want))
		}
		for i := range got {
			if g, w := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", want[i]); g != w {
				t.Errorf("%s: report %d\ngot  %s\nwant %s", c.name, i, g, w)
			}
		}
	}
}
