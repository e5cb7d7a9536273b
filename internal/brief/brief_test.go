package brief

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/redact"
	"github.com/seams-dev/seams/internal/runread"
	"github.com/seams-dev/seams/xref"
)

const small = "../../testdata/small/"

var smallReports = []string{small + "reports.jsonl", small + "reports2.jsonl"}

// smallRun cross-references the hand-made test data of testdata/small.
func smallRun(t *testing.T) (string, *seams.Summary) {
	t.Helper()
	o := xref.NewOptions()
	o.Compounds, o.Indicators, o.Shared = small+"compounds.csv", small+"indicators.csv", small+"shared.txt"
	o.Reports = smallReports
	o.Out = filepath.Join(t.TempDir(), "out")
	sum, err := xref.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return o.Out, sum
}

func render(t *testing.T, d *Data) string {
	t.Helper()
	var b bytes.Buffer
	if err := HTML(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// figure returns the text of the element with id in the page.
func figure(page, id string) string {
	m := regexp.MustCompile(`id="` + id + `">([^<]*)<`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestFromRun(t *testing.T) {
	dir, sum := smallRun(t)
	d, err := FromRun(context.Background(), RunOptions{Dir: dir, Reports: smallReports, Made: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	// The figures are the run's, as summary.json has them.
	for id, want := range map[string]int{"fig-scanned": sum.Reports, "fig-tied": sum.TiedReports, "fig-potential": sum.PotentialReports, "fig-compounds": sum.CompoundsTied} {
		if got := figure(page, id); got != num(want) {
			t.Errorf("%s shows %q, summary.json says %d", id, got, want)
		}
	}
	if sum.TiedReports == 0 || sum.PotentialReports == 0 {
		t.Fatalf("the test data should have tied and potential reports: %+v", sum)
	}
	// The appendix has one chain per tied finding, and the tied reports
	// of the chains are the tied reports of the run.
	tiedFindings, tiedReports := 0, map[string]bool{}
	run, _ := runread.Open(dir)
	run.Findings(func(f *seams.Finding) error {
		if f.Tier == seams.TierTied {
			tiedFindings++
			tiedReports[f.Report] = true
		}
		return nil
	})
	if len(d.Chains) != tiedFindings || len(tiedReports) != sum.TiedReports {
		t.Errorf("%d chains, %d tied findings of %d reports (summary: %d)", len(d.Chains), tiedFindings, len(tiedReports), sum.TiedReports)
	}
	if n := strings.Count(page, `class="chain"`); n != tiedFindings {
		t.Errorf("%d chains in the page, want %d", n, tiedFindings)
	}
	// The method names every input with its SHA-256, and the run's files.
	for _, in := range sum.Inputs {
		if !strings.Contains(page, in.SHA256) {
			t.Errorf("input %s (%s) is not in the method", in.File, in.SHA256)
		}
	}
	if !strings.Contains(page, d.Hashes[1].SHA256) || d.Hashes[1].File != "findings.jsonl" {
		t.Error("the SHA-256 of findings.jsonl is missing")
	}
	// Months: every report with a finding with a time is in one month.
	total := 0
	for _, m := range d.Months {
		total += m.Tied + m.Potential
	}
	if total == 0 || total > sum.TiedReports+sum.PotentialReports {
		t.Errorf("the timeline counts %d reports", total)
	}
	// Every finding has evidence of some source; the sources' findings add
	// up to at least the findings.
	nsrc := 0
	for _, s := range d.Sources {
		nsrc += s.Findings
		if !strings.Contains(page, "<td>"+s.Source+"</td>") && s.Source != "" {
			t.Errorf("source %q is not in the method", s.Source)
		}
	}
	if len(d.Sources) == 0 || nsrc < d.Findings {
		t.Errorf("sources %+v count %d findings of %d", d.Sources, nsrc, d.Findings)
	}
	if len(d.Warnings) > 0 {
		t.Errorf("warnings: %q", d.Warnings)
	}
	if !d.Limits.NoUsableKnown || d.Limits.NoUsable == 0 {
		t.Errorf("reports without usable events not counted: %+v", d.Limits)
	}
	// The map: the located compounds with findings are drawn, the one
	// without a location is said to be missing.
	if n := strings.Count(page, "<circle"); n == 0 {
		t.Error("no compound on the map")
	}
	// Self-contained: nothing to fetch.
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`) {
		t.Error("no Content-Security-Policy")
	}
	if regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).MatchString(page) || strings.Contains(page, "<script") || strings.Contains(page, "@import") {
		t.Error("the page refers to something outside itself")
	}
}

func TestRedaction(t *testing.T) {
	dir, _ := smallRun(t)
	key, _ := redact.NewKey()
	d, err := FromRun(context.Background(), RunOptions{Dir: dir, Redact: key})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	run, _ := runread.Open(dir)
	var ids, devices []string
	run.Findings(func(f *seams.Finding) error {
		if f.Tier == seams.TierTied {
			ids = append(ids, f.Report)
			for _, e := range f.Evidence {
				if e.Observed.Device != (seams.DeviceID{}) {
					devices = append(devices, e.Observed.Device.Value)
				}
			}
		}
		return nil
	})
	if len(ids) == 0 || len(devices) == 0 {
		t.Fatalf("the test data should tie reports, one by a device: %v %v", ids, devices)
	}
	for _, id := range ids {
		if strings.Contains(page, ">"+id+"<") || strings.Contains(page, id+"<") {
			t.Errorf("report id %s is in the redacted brief", id)
		}
		if !strings.Contains(page, key.Report(id)) {
			t.Errorf("the pseudonym of %s is not in the brief", id)
		}
	}
	for _, v := range devices {
		if strings.Contains(page, v) {
			t.Errorf("device %s is in the redacted brief", v)
		}
	}
	// The same key gives the same pseudonyms: two briefs agree.
	d2, _ := FromRun(context.Background(), RunOptions{Dir: dir, Redact: key})
	if d2.Chains[0].Report != d.Chains[0].Report {
		t.Error("pseudonyms differ between two briefs with one key")
	}
	if !strings.Contains(page, key.ID()) {
		t.Error("the brief does not name the redaction key")
	}
}

func TestReportsMustBeTheRuns(t *testing.T) {
	dir, _ := smallRun(t)
	other := filepath.Join(t.TempDir(), "reports.jsonl")
	b, _ := os.ReadFile(smallReports[0])
	os.WriteFile(other, append(b, []byte(`{"id":"r-new","ips":[]}`+"\n")...), 0o600)
	_, err := FromRun(context.Background(), RunOptions{Dir: dir, Reports: []string{other, smallReports[1]}})
	if err == nil || !strings.Contains(err.Error(), "not an input of the run") {
		t.Errorf("a changed report file was accepted: %v", err)
	}
	_, err = FromRun(context.Background(), RunOptions{Dir: dir, Reports: []string{smallReports[1], smallReports[0]}})
	if err == nil || !strings.Contains(err.Error(), "in the order the run read them") {
		t.Errorf("report files out of order were accepted: %v", err)
	}
	_, err = FromRun(context.Background(), RunOptions{Dir: dir, Reports: smallReports[:1]})
	if err == nil || !strings.Contains(err.Error(), "give them all") {
		t.Errorf("half the report files were accepted: %v", err)
	}
}

func TestNum(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 18000: "18,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := num(n); got != want {
			t.Errorf("num(%d) = %q, want %q", n, got, want)
		}
	}
	if pct(1, 3) != "33.3%" || pct(1, 0) != "-" {
		t.Error(pct(1, 3), pct(1, 0))
	}
	_ = strconv.Itoa
}
