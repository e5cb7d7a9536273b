package brief

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seams-dev/seams/internal/chromium"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/xref"
)

// browser starts headless Chromium, or skips the test loudly when there is
// none outside CI (CI installs it: .ci/chromium).
func browser(t *testing.T) *chromium.Browser {
	t.Helper()
	path, err := chromium.Find()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is missing in CI: .ci/run must call .ci/chromium")
		}
		t.Skip(strings.Repeat("!", 72) + "\n" +
			"SKIPPING the brief's browser test: Chromium is not installed.\n" +
			"Install it with: .ci/chromium  (apt-get install chromium; CI always does)\n" +
			strings.Repeat("!", 72))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	b, err := chromium.Start(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestBriefInChromium opens the brief in headless Chromium: it shows the
// run's figures and its charts, loads nothing from anywhere (not even
// from disk), and prints to a PDF of several A4 pages.
func TestBriefInChromium(t *testing.T) {
	br := browser(t)
	dir, sum := smallRun(t)
	d, err := FromRun(context.Background(), RunOptions{Dir: dir, Reports: smallReports})
	if err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(t.TempDir(), "brief.html")
	if err := os.WriteFile(html, []byte(render(t, d)), 0o600); err != nil {
		t.Fatal(err)
	}
	u, _ := chromium.URL(html)
	ctx := br.Context()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	if got := eval(`document.getElementById("fig-tied").textContent`); got != num(sum.TiedReports) {
		t.Errorf("the tied figure shows %q, the run says %d", got, sum.TiedReports)
	}
	if got := eval(`document.getElementById("fig-scanned").textContent`); got != num(sum.Reports) {
		t.Errorf("the scanned figure shows %q, the run says %d", got, sum.Reports)
	}
	// Every chart is laid out with a size; the map has its countries.
	if got := eval(`String([...document.querySelectorAll("svg")].filter(s => s.getBoundingClientRect().height > 20).length)`); got != "4" {
		t.Errorf("%s charts laid out, want 4 (map, compounds, countries, months)", got)
	}
	if got := eval(`String(document.querySelectorAll("svg.map path.land").length)`); got != "13" {
		t.Errorf("%s countries on the map, want the 13 of region.json", got)
	}
	if got := eval(`String(performance.getEntriesByType("resource").length)`); got != "0" {
		t.Errorf("the brief loaded %s resources; it must load none", got)
	}
	pdf, err := br.PrintPDF(html)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf[max(0, len(pdf)-64):], []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 16)])
	}
	pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
	if pages < 2 {
		t.Errorf("the PDF has %d pages; the brief with its appendix needs more", pages)
	}
	if !regexp.MustCompile(`/MediaBox\s*\[\s*0 0 59[45]\.?\d* 84[12]\.?\d*\s*\]`).Match(pdf) {
		t.Error("the PDF's pages are not A4")
	}
	// The PDF opens in Chromium too (its viewer, or as a download: either
	// way the navigation must not fail).
	pdfFile := filepath.Join(t.TempDir(), "brief.pdf")
	os.WriteFile(pdfFile, pdf, 0o600)
	pu, _ := chromium.URL(pdfFile)
	if err := chromedp.Do(ctx, chromedp.Navigate(pu)); err != nil && !strings.Contains(err.Error(), "net::ERR_ABORTED") {
		t.Errorf("open the PDF: %v", err)
	}
	t.Logf("brief: %d bytes of HTML, %d bytes of PDF, %d pages", len(render(t, d)), len(pdf), pages)
}

// TestScreenshot writes the README's screenshot of a brief of generated
// data (as seams demo makes) when SEAMS_BRIEF_SCREENSHOT names the PNG.
func TestScreenshot(t *testing.T) {
	out := os.Getenv("SEAMS_BRIEF_SCREENSHOT")
	if out == "" {
		t.Skip("set SEAMS_BRIEF_SCREENSHOT=docs/brief.png to make the README's screenshot")
	}
	br := browser(t)
	tmp := t.TempDir()
	o := gen.DefaultOptions()
	files, err := gen.Generate(tmp, o)
	if err != nil {
		t.Fatal(err)
	}
	xo := xref.NewOptions()
	xo.Compounds, xo.Indicators, xo.Shared, xo.Reports = files.Compounds, files.Indicators, files.Shared, []string{files.Reports}
	xo.ASNDB, xo.GeoDB = []string{files.IPDB}, []string{files.IPDB}
	xo.Out = filepath.Join(tmp, "out")
	if _, err := xref.Run(context.Background(), xo); err != nil {
		t.Fatal(err)
	}
	d, err := FromRun(context.Background(), RunOptions{Dir: xo.Out, Reports: xo.Reports})
	if err != nil {
		t.Fatal(err)
	}
	d.Source = "a seams demo run (synthetic data)"
	d.Made = time.Now()
	html := filepath.Join(tmp, "brief.html")
	os.WriteFile(html, []byte(render(t, d)), 0o600)
	png, err := br.Screenshot(html, 900, 1300)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
