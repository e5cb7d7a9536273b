package server

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBrief: the dashboard's brief is the store's figures for the caller,
// a self-contained HTML download, with devices masked for viewers as the
// rest of the API masks them, and nothing of another organisation.
func TestBrief(t *testing.T) {
	f := newFixture(t)
	var sum struct {
		Reports          int `json:"reports"`
		TiedReports      int `json:"tied_reports"`
		PotentialReports int `json:"potential_reports"`
	}
	f.get(t, "analyst", "/api/summary", &sum)
	if sum.TiedReports == 0 {
		t.Fatal("the fixture should have tied reports")
	}
	figure := func(page []byte, id string) string {
		m := regexp.MustCompile(`id="` + id + `">([^<]*)<`).FindSubmatch(page)
		if m == nil {
			return ""
		}
		return string(m[1])
	}
	for _, who := range []string{"viewer", "analyst"} {
		resp, b := f.do(t, who, "GET", "/api/brief?title=Case+brief", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", who, resp.StatusCode, b)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s: Content-Type %q, Content-Disposition %q", who, ct, resp.Header.Get("Content-Disposition"))
		}
		if got := figure(b, "fig-tied"); got != strconv.Itoa(sum.TiedReports) {
			t.Errorf("%s: tied %q, /api/summary says %d", who, got, sum.TiedReports)
		}
		if got := figure(b, "fig-scanned"); got != strconv.Itoa(sum.Reports) {
			t.Errorf("%s: scanned %q, /api/summary says %d", who, got, sum.Reports)
		}
		if !bytes.Contains(b, []byte("<title>Case brief</title>")) {
			t.Errorf("%s: title not used", who)
		}
		whole := bytes.Contains(b, []byte("358240051111110"))
		if whole != (who == "analyst") {
			t.Errorf("%s: device shown whole: %v", who, whole)
		}
		if who == "viewer" && !bytes.Contains(b, []byte("imei:…1110")) {
			t.Errorf("viewer: no masked device in the appendix")
		}
	}
	// Another organisation sees none of org-a's unshared reports.
	resp0, b := f.do(t, "other", "GET", "/api/brief", nil)
	if resp0.StatusCode != http.StatusOK {
		t.Fatalf("org-b: %d %s", resp0.StatusCode, b)
	}
	if bytes.Contains(b, []byte("r-tied-ip")) || bytes.Contains(b, []byte("r-device")) {
		t.Error("org-b's brief shows org-a's reports")
	}
	resp, _ := f.do(t, "", "GET", "/api/brief", nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: %d", resp.StatusCode)
	}
	resp, _ = f.do(t, "viewer", "GET", "/api/brief?nope=1", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown parameter: %d", resp.StatusCode)
	}
}
