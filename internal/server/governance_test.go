package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hunt"
)

// Issue 18 over HTTP: a hostile member organisation's tokens against the
// data every organisation shares.

// adminOf adds an admin token of organisation o to the fixture, named
// "admin-o".
func (f *fixture) adminOf(t *testing.T, o string) string {
	t.Helper()
	secret, _, err := f.st.CreateToken(context.Background(), seams.Operator(org, "tester"), seams.NewToken{Org: o, User: "admin-of-" + o, Role: seams.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	f.tokens["admin-"+o] = secret
	return "admin-" + o
}

// tiersNow runs a cross-reference and returns every finding as the
// operator sees it.
func (f *fixture) tiersNow(t *testing.T) string {
	t.Helper()
	op := seams.Operator(org, "tester")
	if _, err := hunt.Run(context.Background(), f.st, op, hunt.NewOptions()); err != nil {
		t.Fatal(err)
	}
	page, err := f.st.Findings(context.Background(), op, seams.FindingQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range page.Findings {
		out = append(out, x.Report+" "+x.Compound+" "+x.Tier.String())
	}
	return strings.Join(out, "\n")
}

func TestSharedSpaceAttacksOverHTTP(t *testing.T) {
	f := newFixture(t)
	b := f.adminOf(t, "org-b")
	before := f.tiersNow(t)
	if !strings.Contains(before, "potential") {
		t.Fatalf("the fixture has no finding weakened by shared space:\n%s", before)
	}
	for _, c := range []struct {
		name, query, body string
		status            int
		says              string
	}{
		{"an empty list under org-a's list name", "name=shared.txt", "", http.StatusOK, ""},
		{"an empty shared list under org-a's list name", "name=shared.txt&shared=true", "", http.StatusOK, ""},
		{"the IPv4 default route", "name=shared.txt&shared=true&confirm=true", "0.0.0.0/0\n", http.StatusUnprocessableEntity, "every address"},
		{"the IPv6 default route", "name=shared.txt&confirm=true", "::/0\n", http.StatusUnprocessableEntity, "every address"},
		{"half of IPv4, unconfirmed", "name=wide.txt", "128.0.0.0/1\n", http.StatusUnprocessableEntity, "confirm=true"},
		{"half of IPv4, confirmed, shared", "name=wide.txt&shared=true&confirm=true", "128.0.0.0/1\n", http.StatusForbidden, "coalition"},
		{"the coalition set", "name=shared.txt&coalition=true", "", http.StatusForbidden, "coalition steward"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.do(t, b, "POST", "/api/upload/shared?"+c.query, strings.NewReader(c.body))
			if resp.StatusCode != c.status || !strings.Contains(errorOf(body), c.says) {
				t.Errorf("%d %s, want %d saying %q", resp.StatusCode, body, c.status, c.says)
			}
			if got := f.tiersNow(t); got != before {
				t.Errorf("org-a's findings changed:\n%s\nwant\n%s", got, before)
			}
		})
	}
	// org-b's own wide list, confirmed, weakens org-b's reports only
	// (none here), and org-a's admin does not see it; a list org-b
	// shares is in org-a's audit view.
	resp, body := f.do(t, b, "POST", "/api/upload/shared?name=wide.txt&confirm=true", strings.NewReader("128.0.0.0/1\n"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("org-b's own wide list: %d %s", resp.StatusCode, body)
	}
	if got := f.tiersNow(t); got != before {
		t.Errorf("org-b's own list changed org-a's findings:\n%s", got)
	}
	resp, body = f.do(t, b, "POST", "/api/upload/shared?name=partner.txt&shared=true", strings.NewReader("198.51.100.0/24\n"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("org-b's shared list: %d %s", resp.StatusCode, body)
	}
	var audit struct {
		Entries []struct{ Org, Action, Object string }
	}
	f.get(t, "admin", "/api/audit?limit=10000", &audit)
	var global []string
	for _, e := range audit.Entries {
		if e.Org == "org-b" {
			global = append(global, e.Action+" "+e.Object)
		}
	}
	// The empty list org-b shared under org-a's list name is org-b's
	// own (it applies to org-a, and is empty); the wide list it keeps
	// to itself is not shown.
	if strings.Join(global, ", ") != "shared.global shared:shared.txt, shared.global shared:partner.txt" {
		t.Errorf("org-a's admin sees org-b's entries %q, want its two shared lists", global)
	}
}

func TestCompoundOfAnotherOrganisation(t *testing.T) {
	f := newFixture(t)
	before, err := f.st.Compounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// org-b's analyst renames org-a's compound, moves it to another
	// country and closes it.
	const moved = "id,name,aliases,country,province,lat,lon,status\nc-kkpark,Renamed,,TH,Bangkok,13.75,100.50,closed\n"
	for _, q := range []string{"name=c.csv", "name=c.csv&confirm=true"} {
		resp, body := f.do(t, "other", "POST", "/api/upload/compounds?"+q, strings.NewReader(moved))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(errorOf(body), "belongs to org-a") {
			t.Errorf("%s: %d %s, want 403", q, resp.StatusCode, body)
		}
	}
	// org-a's own analyst needs confirmation for a move to another
	// country.
	resp, body := f.do(t, "analyst", "POST", "/api/upload/compounds?name=c.csv", strings.NewReader(moved))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorOf(body), "confirm=true") {
		t.Errorf("org-a's unconfirmed move: %d %s, want 422 asking for confirm=true", resp.StatusCode, body)
	}
	after, err := f.st.Compounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(before)
	z, _ := json.Marshal(after)
	if !bytes.Equal(a, z) {
		t.Errorf("compounds changed:\n%s\nwant\n%s", z, a)
	}
}

func TestRunsScopedOverHTTP(t *testing.T) {
	f := newFixture(t)
	var runs struct {
		Runs []struct {
			By      string
			Scanned int
			Counts  map[string]int
		}
	}
	f.get(t, "other", "/api/runs", &runs)
	if len(runs.Runs) != 1 {
		t.Fatalf("runs %+v", runs)
	}
	total := func(counts map[string]int) int {
		n := 0
		for _, c := range counts {
			n += c
		}
		return n
	}
	if r := runs.Runs[0]; r.Scanned != 0 || total(r.Counts) != 0 {
		t.Errorf("org-b, which has no report, reads the run as %+v, want nothing scanned or changed", r)
	}
	var sum struct {
		LastRun struct {
			Scanned int
			Counts  map[string]int
		} `json:"last_run"`
	}
	f.get(t, "other", "/api/summary", &sum)
	if sum.LastRun.Scanned != 0 || total(sum.LastRun.Counts) != 0 {
		t.Errorf("org-b's overview says the last run %+v", sum.LastRun)
	}
	f.get(t, "viewer", "/api/runs", &runs)
	if r := runs.Runs[0]; r.Scanned == 0 || r.Counts["new"] == 0 {
		t.Errorf("org-a reads its own run as %+v", r)
	}
}

func TestUploadRefusesForms(t *testing.T) {
	f := newFixture(t)
	body := "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.jsonl\"\r\n\r\n{\"id\":\"r-form\"}\r\n--x--\r\n"
	req, err := http.NewRequest("POST", f.ts.URL+"/api/upload/reports?name=r.jsonl", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.tokens["analyst"])
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form upload: %d, want 415", resp.StatusCode)
	}
	page, err := f.st.Reports(context.Background(), seams.Operator(org, "tester"), seams.ReportQuery{IDs: []string{"r-form"}})
	if err != nil || len(page.Reports) != 0 {
		t.Errorf("the form's report was stored: %+v, %v", page, err)
	}
}

func TestUploadNamesRefuseInvisibleControls(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"a\u009bb.csv", "invoice\u202ecsv.exe", "x\u2066y.csv", "a\x1b[2Jb.csv"} {
		resp, body := f.do(t, "analyst", "POST", "/api/upload/reports?name="+url.QueryEscape(name), strings.NewReader(""))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("name %q: %d %s, want 400", name, resp.StatusCode, body)
		}
		if strings.ContainsAny(string(body), "\u009b\u202e\u2066\x1b") {
			t.Errorf("the answer quotes the name raw: %q", body)
		}
	}
}

func TestStaleSpoolFilesCleaned(t *testing.T) {
	dir := t.TempDir()
	stale, fresh, other := filepath.Join(dir, "seams-upload-111"), filepath.Join(dir, "seams-upload-222"), filepath.Join(dir, "keep-me")
	for _, p := range []string{stale, fresh, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, p := range []string{stale, other} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	newFixture(t, func(o *Options) { o.TempDir = dir })
	for p, want := range map[string]bool{stale: false, fresh: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
