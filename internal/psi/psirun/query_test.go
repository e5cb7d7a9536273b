package psirun

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/seams-dev/seams/registry"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/psi/psinet"
	"github.com/seams-dev/seams/psi"
	"github.com/seams-dev/seams/xref"
)

// holderOn starts a holder of reg on loopback and returns a client of it.
func holderOn(t testing.TB, reg *psinet.Registry, o psinet.HolderOptions) (*psinet.Client, *psinet.Holder) {
	t.Helper()
	return holderOnSource(t, reg, o)
}

// holderOnSource is holderOn for any source.
func holderOnSource(t testing.TB, reg psinet.Source, o psinet.HolderOptions) (*psinet.Client, *psinet.Holder) {
	t.Helper()
	dir := t.TempDir()
	hid, _, err := psinet.LoadOrCreateIdentity(filepath.Join(dir, "h"), "ngo")
	if err != nil {
		t.Fatal(err)
	}
	qid, _, err := psinet.LoadOrCreateIdentity(filepath.Join(dir, "q"), "hotline")
	if err != nil {
		t.Fatal(err)
	}
	o.Name = "ngo"
	o.Peers = []psinet.Peer{{Name: "hotline", Fingerprint: qid.Fingerprint}}
	key, err := psi.NewKey(1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, err := psinet.NewSourceHolder(reg, key, o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: psinet.ServerTLS(hid, o.Peers)}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return psinet.NewClient("https://"+ln.Addr().String(), psinet.ClientTLS(qid, hid.Fingerprint)), h
}

func genData(t testing.TB, reports, indicators int) gen.Files {
	o := gen.DefaultOptions()
	o.Seed, o.Compounds, o.Indicators, o.Reports = 17, 12, indicators, reports
	o.TiedRate, o.PotentialRate, o.BadRate = 0.05, 0.1, 0.01
	f, err := gen.Generate(filepath.Join(t.TempDir(), "gen"), o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestQueryEqualsXref: on generated data, a private match writes the
// findings.jsonl and rejected.jsonl of a cross-reference restricted to
// rules device and ip over the same files, byte for byte, and the same
// counts in summary.json; psi.json says what was exchanged.
func TestQueryEqualsXref(t *testing.T) {
	f := genData(t, 4000, 400)
	ctx := context.Background()
	x := xref.NewOptions()
	x.Compounds, x.Indicators, x.Shared, x.Reports = f.Compounds, f.Indicators, f.Shared, []string{f.Reports}
	x.Rules = []seams.Rule{seams.RuleDevice, seams.RuleIP}
	x.MaxReportsPerIndicator = 3 // low enough to cap some findings, so that capping is compared too
	x.Out = filepath.Join(t.TempDir(), "xref")
	want, err := xref.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	var rejected int
	reg, err := LoadRegistry(ctx, RegistryFiles{Compounds: f.Compounds, Indicators: f.Indicators, Shared: f.Shared}, nil, func(*seams.RecordError) { rejected++ })
	if err != nil {
		t.Fatal(err)
	}
	c, _ := holderOn(t, reg, psinet.NewHolderOptions())
	o := NewQueryOptions()
	o.Reports, o.MaxReportsPerIndicator = []string{f.Reports}, 3
	o.Out = filepath.Join(t.TempDir(), "psi")
	var audited []psinet.Exchange
	o.Audit = func(e psinet.Exchange) { audited = append(audited, e) }
	res, err := Query(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	read := func(dir, name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wf, gf := read(x.Out, xref.FindingsFile), read(o.Out, xref.FindingsFile)
	if !bytes.Equal(wf, gf) {
		t.Errorf("findings.jsonl differs: xref %d bytes, psi %d bytes", len(wf), len(gf))
	}
	if rejected == 0 && !bytes.Equal(read(x.Out, xref.RejectedFile), read(o.Out, xref.RejectedFile)) {
		t.Errorf("rejected.jsonl differs")
	}
	got := res.Summary
	for name, pair := range map[string][2]any{
		"reports":         {want.Reports, got.Reports},
		"events":          {want.Events, got.Events},
		"devices":         {want.Devices, got.Devices},
		"rejected":        {want.Rejected - rejected, got.Rejected},
		"tied":            {want.TiedReports, got.TiedReports},
		"potential":       {want.PotentialReports, got.PotentialReports},
		"findings":        {want.Findings, got.Findings},
		"by_compound":     {want.ByCompound, got.ByCompound},
		"by_country":      {want.ByCountry, got.ByCountry},
		"over_correlated": {want.OverCorrelated, got.OverCorrelated},
		"parameters":      {want.Parameters, got.Parameters},
		"report inputs":   {want.Inputs[len(want.Inputs)-1], got.Inputs[len(got.Inputs)-1]},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("summary %s: xref %v, psi %v", name, pair[0], pair[1])
		}
	}
	if want.TiedReports == 0 || want.PotentialReports == 0 || len(want.OverCorrelated) == 0 {
		t.Errorf("the data met too few cases: %d tied, %d potential, %d over-correlated", want.TiedReports, want.PotentialReports, len(want.OverCorrelated))
	}
	var st Stats
	if err := json.Unmarshal(read(o.Out, PSIFile), &st); err != nil {
		t.Fatal(err)
	}
	if st.Items == 0 || st.MatchedItems == 0 || st.Labels == 0 || st.Holder != "ngo" || st.BytesSent < int64(st.Items*psi.ElementSize) {
		t.Errorf("psi.json: %+v", st)
	}
	if len(audited) != 1 || audited[0].Items != st.Items || audited[0].Matches != st.MatchedItems {
		t.Errorf("audited %+v, stats %+v", audited, st)
	}
	t.Logf("%d reports, %d findings (%d tied, %d potential); %d items queried, %d matched, %d labels of %d; %d bytes sent, %d received",
		got.Reports, got.Findings, got.TiedReports, got.PotentialReports, st.Items, st.MatchedItems, st.Labels, st.TableLabels, st.BytesSent, st.BytesRecv)
}

// TestCountEqualsXref: on generated data whose windows are whole days
// (count mode works by day), a count-only run gives the tied and
// potential reports, in all and per compound, of a cross-reference
// restricted to rules device and ip without the over-correlation cap.
func TestCountEqualsXref(t *testing.T) {
	f := genData(t, 3000, 300)
	ctx := context.Background()
	reg, err := LoadRegistry(ctx, RegistryFiles{Compounds: f.Compounds, Indicators: f.Indicators, Shared: f.Shared}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Whole days: a window from the start of its first day to the end
	// of its last.
	for i := range reg.Indicators {
		w := &reg.Indicators[i].Window
		if !w.First.IsZero() {
			w.First = psi.DayOf(w.First).Start()
		}
		if !w.Last.IsZero() {
			w.Last = (psi.DayOf(w.Last) + 1).Start().Add(-1)
		}
	}
	days := filepath.Join(t.TempDir(), "indicators.csv")
	fw, err := os.Create(days)
	if err != nil {
		t.Fatal(err)
	}
	if err := registryWrite(fw, reg.Indicators); err != nil {
		t.Fatal(err)
	}
	fw.Close()
	x := xref.NewOptions()
	x.Compounds, x.Indicators, x.Shared, x.Reports = f.Compounds, days, f.Shared, []string{f.Reports}
	x.Rules = []seams.Rule{seams.RuleDevice, seams.RuleIP}
	x.MaxReportsPerIndicator = 0
	x.Out = filepath.Join(t.TempDir(), "xref")
	want, err := xref.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	o := psinet.NewHolderOptions()
	o.MinReports = 10
	c, _ := holderOn(t, reg, o)
	var audited []psinet.Exchange
	got, err := Count(ctx, c, CountOptions{Reports: []string{f.Reports}, Audit: func(e psinet.Exchange) { audited = append(audited, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if got.TiedReports != want.TiedReports || got.PotentialReports != want.PotentialReports || !reflect.DeepEqual(got.ByCompound, want.ByCompound) {
		t.Errorf("count: %d tied, %d potential, %v; xref: %d, %d, %v", got.TiedReports, got.PotentialReports, got.ByCompound,
			want.TiedReports, want.PotentialReports, want.ByCompound)
	}
	if got.Reports != want.Reports || want.TiedReports == 0 || want.PotentialReports == 0 {
		t.Errorf("%d reports (xref %d); xref found %d tied, %d potential", got.Reports, want.Reports, want.TiedReports, want.PotentialReports)
	}
	if len(audited) != 1 || audited[0].Mode != "count" || audited[0].Reports != got.Groups {
		t.Errorf("audited %+v", audited)
	}
	t.Logf("%d reports, %d groups of %d elements; %d tied, %d potential; span %s to %s", got.Reports, got.Groups, got.Elements, got.TiedReports, got.PotentialReports, got.From, got.To)
}

func registryWrite(w io.Writer, inds []seams.Indicator) error {
	return registry.WriteIndicators(w, inds)
}

// TestQueryNothingMatches: when no item matches, the run still writes its
// outputs: no finding, the reports' rejections, no warning naming the
// learned registry's temporary files.
func TestQueryNothingMatches(t *testing.T) {
	ctx := context.Background()
	w, _ := seams.ParseWindow("2020-01-01", "2020-01-02")
	in, _ := seams.ParseIndicatorValue(seams.KindIP, "192.0.2.250")
	in.Compound, in.Window = "c-none", w
	reg := &psinet.Registry{Compounds: []seams.Compound{{ID: "c-none", Name: "Nothing", Country: "LA"}}, Indicators: []seams.Indicator{in}}
	c, _ := holderOn(t, reg, psinet.NewHolderOptions())
	o := NewQueryOptions()
	o.Reports = []string{"../../../testdata/small/reports.jsonl"}
	o.Out = filepath.Join(t.TempDir(), "out")
	res, err := Query(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Findings != 0 || res.Summary.Reports == 0 || res.Stats.Labels != 0 || res.Stats.Items == 0 {
		t.Errorf("summary %+v, stats %+v", res.Summary, res.Stats)
	}
	for _, w := range res.Summary.Warnings {
		t.Errorf("warning %q", w)
	}
	if b, err := os.ReadFile(filepath.Join(o.Out, xref.FindingsFile)); err != nil || len(b) != 0 {
		t.Errorf("findings: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(o.Out, xref.RejectedFile)); err != nil || !bytes.Contains(b, []byte("reports.jsonl")) {
		t.Errorf("rejected: %q, %v", b, err)
	}
}

// TestReverseEqualsXref: the reverse direction (the reports' holder
// serves, the registry's holder queries) writes the findings.jsonl of a
// cross-reference restricted to rules device and ip, byte for byte, and
// its counts of tied and potential reports.
func TestReverseEqualsXref(t *testing.T) {
	f := genData(t, 3000, 300)
	ctx := context.Background()
	x := xref.NewOptions()
	x.Compounds, x.Indicators, x.Shared, x.Reports = f.Compounds, f.Indicators, f.Shared, []string{f.Reports}
	x.Rules = []seams.Rule{seams.RuleDevice, seams.RuleIP}
	x.MaxReportsPerIndicator = 3
	x.Out = filepath.Join(t.TempDir(), "xref")
	want, err := xref.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	src := &Reports{Files: []string{f.Reports}}
	c, _ := holderOnSource(t, src, psinet.NewHolderOptions())
	o := NewRegistryQueryOptions()
	o.Registry = RegistryFiles{Compounds: f.Compounds, Indicators: f.Indicators, Shared: f.Shared}
	o.MaxReportsPerIndicator = 3
	o.Out = filepath.Join(t.TempDir(), "psi")
	res, err := QueryRegistry(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	wf, _ := os.ReadFile(filepath.Join(x.Out, xref.FindingsFile))
	gf, _ := os.ReadFile(filepath.Join(o.Out, xref.FindingsFile))
	if len(wf) == 0 || !bytes.Equal(wf, gf) {
		t.Errorf("findings.jsonl differs: xref %d bytes, psi %d bytes", len(wf), len(gf))
	}
	got := res.Summary
	if got.TiedReports != want.TiedReports || got.PotentialReports != want.PotentialReports || !reflect.DeepEqual(got.ByCompound, want.ByCompound) ||
		!reflect.DeepEqual(got.OverCorrelated, want.OverCorrelated) {
		t.Errorf("summary: psi %d tied, %d potential, %v; xref %d, %d, %v", got.TiedReports, got.PotentialReports, got.ByCompound,
			want.TiedReports, want.PotentialReports, want.ByCompound)
	}
	t.Logf("%d items queried, %d matched, %d events learned of %d; %d findings", res.Stats.Items, res.Stats.MatchedItems, res.Stats.Labels, res.Stats.TableLabels, got.Findings)
}
