package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/reportfile"
	"github.com/seams-dev/seams/sqlite"
)

// The summary over the API counts what seams xref counts for the same
// files (the golden summary.json of testdata/small).
func TestSummaryMatchesXref(t *testing.T) {
	f := newFixture(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "small", "golden", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want seams.Summary
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	var got summaryDecoded
	f.get(t, "viewer", "/api/summary", &got)
	if got.Reports != want.Reports || got.TiedReports != want.TiedReports || got.PotentialReports != want.PotentialReports ||
		got.CompoundsTied != want.CompoundsTied || got.Findings != want.Findings {
		t.Errorf("summary %+v\nwant the counts of xref's %+v", got, want)
	}
	if !slices.Equal(got.ByCompound, want.ByCompound) || !slices.Equal(got.ByCountry, want.ByCountry) {
		t.Errorf("by compound %v by country %v\nwant %v %v", got.ByCompound, got.ByCountry, want.ByCompound, want.ByCountry)
	}
	months := 0
	for _, m := range got.ByMonth {
		months += m.Tied + m.Potential
	}
	if months != want.Findings {
		t.Errorf("findings by month add up to %d, want %d", months, want.Findings)
	}
}

// summaryDecoded reads summaryView back.
type summaryDecoded struct {
	seams.StoreSummary
	LastRun *runView `json:"last_run"`
}

func TestFindingsFiltersAndPages(t *testing.T) {
	f := newFixture(t)
	type page struct {
		Findings []findingView
		Next     string
		Total    *int
	}
	var all page
	f.get(t, "viewer", "/api/findings?limit=1000&count=true", &all)
	if all.Total == nil || *all.Total != len(all.Findings) || len(all.Findings) == 0 {
		t.Fatalf("total %v for %d findings", all.Total, len(all.Findings))
	}
	// Pages of 2 cover the list once, in order.
	var paged []int64
	cursor := ""
	for i := 0; ; i++ {
		var p page
		f.get(t, "viewer", "/api/findings?limit=2&cursor="+url.QueryEscape(cursor), &p)
		for _, x := range p.Findings {
			paged = append(paged, x.ID)
		}
		if p.Next == "" {
			break
		}
		if i > 100 {
			t.Fatal("pages do not end")
		}
		cursor = p.Next
	}
	var ids []int64
	for _, x := range all.Findings {
		ids = append(ids, x.ID)
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("paged ids %v, want %v", paged, ids)
	}
	// Newest first is the reverse.
	var newest page
	f.get(t, "viewer", "/api/findings?limit=1000&sort=newest", &newest)
	if len(newest.Findings) != len(ids) || newest.Findings[0].ID != ids[len(ids)-1] {
		t.Errorf("newest first starts at %v, want %d", newest.Findings, ids[len(ids)-1])
	}

	filters := []struct {
		name  string
		query string
		keep  func(findingView) bool
	}{
		{"tied only", "tier=tied", func(x findingView) bool { return x.Tier == "tied" }},
		{"potential only", "tier=potential", func(x findingView) bool { return x.Tier == "potential" }},
		{"one compound", "compound=c-kings", func(x findingView) bool { return x.Compound == "c-kings" }},
		{"one country, lower case", "country=mm", func(x findingView) bool { return x.Compound == "c-kkpark" }},
		{"incident", "incident=sextortion", func(x findingView) bool { return x.Incident == "sextortion" }},
		{"report", "report=r-tied-ip", func(x findingView) bool { return x.Report == "r-tied-ip" }},
		{"unreviewed", "review=none", func(x findingView) bool { return true }},
		{"time range by dates", "from=2024-05-01&to=2024-06-01", func(x findingView) bool {
			return x.At != "" && x.At >= "2024-05-01" && x.At < "2024-06-01"
		}},
	}
	for _, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			var p page
			f.get(t, "viewer", "/api/findings?limit=1000&"+tt.query, &p)
			var want []int64
			for _, x := range all.Findings {
				if tt.keep(x) {
					want = append(want, x.ID)
				}
			}
			var got []int64
			for _, x := range p.Findings {
				got = append(got, x.ID)
			}
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", tt.query, got, want)
			}
		})
	}

	bad := []struct{ query, says string }{
		{"tier=strong", "tier"},
		{"teir=tied", `unknown parameter "teir"`},
		{"tier=tied&tier=potential", "given 2 times"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"country=XX", "country"},
		{"from=2024-13-01", "from"},
		{"from=2024-06-01&to=2024-05-01", "before"},
		{"review=maybe", "review"},
		{"sort=sideways", "sort"},
		{"cursor=r12", "cursor"},
		{"compound=" + url.QueryEscape("no spaces"), "compound"},
	}
	for _, tt := range bad {
		resp, b := f.do(t, "viewer", "GET", "/api/findings?"+tt.query, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(errorOf(b), tt.says) {
			t.Errorf("?%s: %d %s, want 400 saying %q", tt.query, resp.StatusCode, errorOf(b), tt.says)
		}
	}
}

func TestFindingDetailExplains(t *testing.T) {
	f := newFixture(t)
	id := f.findingID(t, "r-tied-ip", "c-jinbei")
	var d findingDetailView
	f.get(t, "viewer", fmt.Sprintf("/api/findings/%d", id), &d)
	want := "report r-tied-ip logged in from 203.0.113.7 on 1 May 2024 22:14 UTC; that address was seen at Jinbei from 3 Mar to 9 Jun 2024, source partner-a"
	if !slices.Contains(d.Explanation, want) {
		t.Errorf("explanation %q\nwant it to hold %q", d.Explanation, want)
	}
	if d.Tier != "tied" || d.ReportDetail.ID != "r-tied-ip" || d.CompoundDetail.Name != "Jinbei" || len(d.Indicators) == 0 || len(d.History) != 1 {
		t.Errorf("detail %+v", d)
	}
	if !strings.HasPrefix(d.Summary, "Tied to Jinbei") {
		t.Errorf("summary %q", d.Summary)
	}
	// Each piece of evidence has its sentence, naming its indicator's
	// compound.
	if len(d.Explanation) != len(d.Evidence) {
		t.Errorf("%d sentences for %d pieces of evidence", len(d.Explanation), len(d.Evidence))
	}
	for _, tt := range []struct{ report, compound, says string }{
		{"r-proxy", "c-jinbei", "flagged the address as a possible proxy"},
		{"r-shared", "c-kings", "shared address space 203.0.113.96/27"},
		{"r-cidr", "c-jinbei", "lies in 198.51.100.0/24"},
		{"r-after-window", "c-jinbei", "1 day after that window"},
		{"r-partly-bad", "c-kkpark", "from 203.0.113.7 (with no time); that address was seen at KK Park"},
		{"r-partly-bad", "c-kkpark", "the report gives no time for the event, so it cannot be placed in that window and does not tie the report"},
	} {
		var d findingDetailView
		f.get(t, "analyst", fmt.Sprintf("/api/findings/%d", f.findingID(t, tt.report, tt.compound)), &d)
		if !strings.Contains(strings.Join(d.Explanation, "\n"), tt.says) {
			t.Errorf("%s at %s: %q, want it to say %q", tt.report, tt.compound, d.Explanation, tt.says)
		}
	}
	resp, _ := f.do(t, "viewer", "GET", "/api/findings/999999", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing finding: %d, want 404", resp.StatusCode)
	}
	resp, _ = f.do(t, "viewer", "GET", "/api/findings/0x1", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("malformed id: %d, want 404", resp.StatusCode)
	}
}

func TestReviewIsAuditedAndScoped(t *testing.T) {
	f := newFixture(t)
	id := f.findingID(t, "r-device", "c-jinbei")
	path := fmt.Sprintf("/api/findings/%d/review", id)
	body := map[string]string{"mark": "confirmed", "comment": "same handset"}
	if resp, b := f.post(t, "viewer", path, body); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer review: %d %s, want 403", resp.StatusCode, b)
	}
	// Another organisation may not see the finding at all (the report is
	// not shared).
	if resp, b := f.post(t, "other", path, body); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other organisation's review: %d %s, want 404", resp.StatusCode, b)
	}
	if resp, b := f.post(t, "analyst", path, map[string]string{"mark": "sure"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad mark: %d %s", resp.StatusCode, b)
	}
	if resp, b := f.post(t, "analyst", path, map[string]any{"mark": "confirmed", "extra": 1}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown field: %d %s", resp.StatusCode, b)
	}
	resp, b := f.post(t, "analyst", path, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("review: %d %s", resp.StatusCode, b)
	}
	var d findingDetailView
	f.get(t, "viewer", fmt.Sprintf("/api/findings/%d", id), &d)
	if d.Review.Mark != "confirmed" || d.Review.Comment != "same handset" || !strings.Contains(d.Review.By, f.tokenID["analyst"]) {
		t.Errorf("review after marking: %+v", d.Review)
	}
	entries, err := f.st.AuditEntries(context.Background(), seams.Operator(org, "tester"), seams.AuditQuery{Action: "finding.review", Object: fmt.Sprintf("finding:%d", id)})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !strings.Contains(entries[0].Actor, f.tokenID["analyst"]) || !strings.HasPrefix(entries[0].Detail, "confirmed") {
		t.Errorf("audit of the review: %+v", entries)
	}
}

// Viewers see devices masked, everywhere a device appears; analysts see
// them whole. Viewers may not search by device.
func TestDeviceMasking(t *testing.T) {
	f := newFixture(t)
	id := f.findingID(t, "r-device", "c-jinbei")
	const device = "imei:358240051111110"
	for _, tt := range []struct {
		who   string
		whole bool
	}{{"viewer", false}, {"analyst", true}, {"admin", true}} {
		var paths = []string{fmt.Sprintf("/api/findings/%d", id), "/api/reports?id=r-device", "/api/findings?report=r-device",
			"/api/indicators?kind=device", "/api/search?q=r-device"}
		for _, p := range paths {
			_, b := f.do(t, tt.who, "GET", p, nil)
			has := bytes.Contains(b, []byte("358240051111110"))
			if has != tt.whole {
				t.Errorf("%s GET %s: device shown whole %v, want %v\n%s", tt.who, p, has, tt.whole, b)
			}
			if !tt.whole && !bytes.Contains(b, []byte("imei:…1110")) {
				t.Errorf("%s GET %s: no masked device", tt.who, p)
			}
		}
	}
	resp, _ := f.do(t, "viewer", "GET", "/api/search?q="+device, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer device search: %d, want 403", resp.StatusCode)
	}
	var res searchView
	f.get(t, "analyst", "/api/search?q="+device, &res)
	if res.Kind != "device" || len(res.Reports) != 2 || len(res.Indicators) != 1 {
		t.Errorf("device search: %+v", res)
	}
}

func TestSearchKinds(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		q, kind    string
		reports    int
		indicators int
	}{
		{"203.0.113.7", "ip", 8, 2}, // 7 in reports.jsonl, 1 in reports2.jsonl
		{"198.51.100.0/24", "prefix", 3, 2},
		{"r-tied-ip", "report", 1, 0},
		{"2001:db8:1::5", "ip", 1, 1},
	} {
		var res searchView
		f.get(t, "viewer", "/api/search?q="+url.QueryEscape(tt.q), &res)
		if res.Kind != tt.kind || len(res.Reports) != tt.reports || len(res.Indicators) != tt.indicators {
			t.Errorf("search %s: kind %s, %d reports, %d indicators; want %s, %d, %d", tt.q, res.Kind, len(res.Reports), len(res.Indicators), tt.kind, tt.reports, tt.indicators)
		}
	}
	for _, q := range []string{"", "q=", "q=1.2.3.4&kind=colour", "q=not-an-ip&kind=ip"} {
		resp, b := f.do(t, "viewer", "GET", "/api/search?"+q, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("search ?%s: %d %s, want 400", q, resp.StatusCode, b)
		}
	}
}

func TestCompoundPage(t *testing.T) {
	f := newFixture(t)
	var c struct {
		Compound compoundStatsView
		Summary  summaryDecoded
	}
	f.get(t, "viewer", "/api/compounds/c-jinbei", &c)
	if c.Compound.Name != "Jinbei" || c.Compound.Lat == nil || len(c.Compound.Aliases) != 2 || c.Compound.Tied == 0 {
		t.Errorf("compound %+v", c.Compound)
	}
	for _, cc := range c.Summary.ByCompound {
		if cc.Compound != "c-jinbei" {
			t.Errorf("compound summary counts %s too", cc.Compound)
		}
	}
	var list struct{ Compounds []compoundStatsView }
	f.get(t, "viewer", "/api/compounds", &list)
	if len(list.Compounds) != 3 {
		t.Errorf("%d compounds, want 3", len(list.Compounds))
	}
	var plain struct{ Compounds []map[string]any }
	f.get(t, "viewer", "/api/compounds?counts=false", &plain)
	if len(plain.Compounds) != 3 || plain.Compounds[0]["tied"] != nil || plain.Compounds[0]["name"] == nil {
		t.Errorf("compounds without counts: %+v", plain.Compounds)
	}
	if resp, _ := f.do(t, "viewer", "GET", "/api/compounds?counts=maybe", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("counts=maybe: %d, want 400", resp.StatusCode)
	}
	resp, _ := f.do(t, "viewer", "GET", "/api/compounds/c-missing", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing compound: %d", resp.StatusCode)
	}
}

func TestUploadAndRun(t *testing.T) {
	f := newFixture(t)
	reports := `{"id":"r-new-1","ips":[{"ip":"203.0.113.7","at":"2024-05-03T10:00:00Z","event":"login"}]}
{"id":"r-new-2","devices":[{"type":"imei","value":"358240051111110","at":"2024-05-04T00:00:00Z"}]}
not json
`
	up := func(who, query, body string) (*http.Response, uploadResult) {
		resp, b := f.do(t, who, "POST", "/api/upload/reports?"+query, strings.NewReader(body))
		var res uploadResult
		json.Unmarshal(b, &res)
		if resp.StatusCode >= 300 {
			t.Logf("upload: %d %s", resp.StatusCode, b)
		}
		return resp, res
	}
	if resp, _ := up("viewer", "name=new.jsonl", reports); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer upload: %d, want 403", resp.StatusCode)
	}
	if resp, _ := up("analyst", "", reports); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("upload without a name: %d, want 400", resp.StatusCode)
	}
	if resp, _ := up("analyst", "name=../x.jsonl", reports); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("upload with a path as name: %d, want 400", resp.StatusCode)
	}
	resp, res := up("analyst", "name=new.jsonl", reports)
	if resp.StatusCode != http.StatusCreated || res.New != 2 || res.Rejected != 1 || len(res.Rejections) != 1 || res.Rejections[0].Line != 3 {
		t.Fatalf("upload: %d %+v", resp.StatusCode, res)
	}
	resp, res = up("analyst", "name=new.jsonl", reports)
	if resp.StatusCode != http.StatusOK || res.Unchanged != 2 || res.New != 0 {
		t.Errorf("second upload: %d %+v, want 200 and all unchanged", resp.StatusCode, res)
	}
	entries, err := f.st.AuditEntries(context.Background(), seams.Operator(org, "tester"), seams.AuditQuery{Action: "upload.received"})
	if err != nil || len(entries) != 2 || entries[0].Object != "file:new.jsonl" {
		t.Errorf("upload audit: %+v %v", entries, err)
	}

	resp, b := f.post(t, "viewer", "/api/runs", map[string]any{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer run: %d", resp.StatusCode)
	}
	resp, b = f.do(t, "analyst", "POST", "/api/runs", nil)
	var run runView
	json.Unmarshal(b, &run)
	if resp.StatusCode != http.StatusCreated || run.Full || run.Scanned != 2 || run.Counts["new"] != 3 {
		t.Fatalf("run: %d %s (want an incremental run over the 2 new reports: 3 new findings)", resp.StatusCode, b)
	}
	var changes struct{ Changes []changeView }
	f.get(t, "viewer", fmt.Sprintf("/api/runs/%d/changes", run.ID), &changes)
	if len(changes.Changes) != 3 {
		t.Errorf("changes of run %d: %+v", run.ID, changes)
	}
	var runs struct{ Runs []runView }
	f.get(t, "viewer", "/api/runs", &runs)
	if len(runs.Runs) != 2 || runs.Runs[0].ID != run.ID {
		t.Errorf("runs %+v", runs)
	}
	if resp, b := f.post(t, "analyst", "/api/runs", map[string]any{"drift": "ninety"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad drift: %d %s", resp.StatusCode, b)
	}

	// Indicators: a new version of the set, shared, then unshared.
	ind := "compound,kind,value,first_seen,last_seen,confidence,source\nc-kings,ip,192.0.2.77,2024-01-01,2024-12-31,high,partner-b\n"
	resp, b = f.do(t, "analyst", "POST", "/api/upload/indicators?name=partner-b.csv&shared=true", strings.NewReader(ind))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("indicator upload: %d %s", resp.StatusCode, b)
	}
	resp, b = f.post(t, "analyst", "/api/share/indicators", map[string]any{"name": "partner-b.csv", "shared": false})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"version": 2`) {
		t.Errorf("unshare: %d %s", resp.StatusCode, b)
	}
	resp, b = f.do(t, "analyst", "POST", "/api/upload/indicators?name=bad.csv", strings.NewReader("not,a,header\n"))
	if resp.StatusCode != http.StatusUnprocessableEntity && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad indicator file: %d %s", resp.StatusCode, b)
	}
	// Shared space takes an admin.
	resp, _ = f.do(t, "analyst", "POST", "/api/upload/shared?name=vpn.txt", strings.NewReader("192.0.2.0/24\n"))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("analyst shared-space upload: %d, want 403", resp.StatusCode)
	}
	resp, b = f.do(t, "admin", "POST", "/api/upload/shared?name=vpn.txt", strings.NewReader("192.0.2.0/24\n"))
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("admin shared-space upload: %d %s", resp.StatusCode, b)
	}
	resp, b = f.post(t, "analyst", "/api/share/reports", map[string]any{"ids": []string{"r-new-1", "r-missing"}, "shared": true})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"reports": 1`) {
		t.Errorf("share reports: %d %s", resp.StatusCode, b)
	}
	// Now org-b sees the shared report.
	var rep struct{ Reports []reportView }
	f.get(t, "other", "/api/reports?id=r-new-1&id=r-new-2", &rep)
	if len(rep.Reports) != 1 || rep.Reports[0].ID != "r-new-1" {
		t.Errorf("org-b sees %+v, want only the shared r-new-1", rep.Reports)
	}
}

func TestTokensAndAudit(t *testing.T) {
	f := newFixture(t)
	resp, b := f.post(t, "admin", "/api/tokens", map[string]string{"role": "viewer", "user": "carol", "label": "laptop", "expires_in": "30d"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var created struct {
		Secret string
		Token  tokenView
	}
	json.Unmarshal(b, &created)
	if !strings.HasPrefix(created.Secret, "seams_") || created.Token.Org != org || created.Token.Expires == "" {
		t.Fatalf("created %+v", created)
	}
	var me meView
	f.get(t, created.Secret, "/api/me", &me)
	if me.Role != "viewer" || me.User != "carol" || me.Can.Review {
		t.Errorf("me %+v", me)
	}
	var list struct{ Tokens []tokenView }
	_, lb := f.do(t, "admin", "GET", "/api/tokens", nil)
	json.Unmarshal(lb, &list)
	if bytes.Contains(lb, []byte("seams_")) || len(list.Tokens) != 4 { // three of org-a and carol's
		t.Errorf("tokens %+v", list)
	}
	if resp, _ := f.do(t, "admin", "DELETE", "/api/tokens/"+f.tokenID["other"], nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoking another organisation's token: %d, want 404", resp.StatusCode)
	}
	if resp, _ := f.do(t, "admin", "DELETE", "/api/tokens/"+created.Token.ID, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("revoke: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, created.Secret, "GET", "/api/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", resp.StatusCode)
	}
	if resp, b := f.post(t, "admin", "/api/tokens", map[string]string{"role": "owner"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad role: %d %s", resp.StatusCode, b)
	}
	var v struct {
		OK  bool
		Seq int64
	}
	f.get(t, "admin", "/api/audit/verify", &v)
	if !v.OK || v.Seq == 0 {
		t.Errorf("verify %+v", v)
	}
	var entries struct{ Entries []auditView }
	f.get(t, "admin", "/api/audit?action=token.revoke", &entries)
	if len(entries.Entries) != 1 || entries.Entries[0].Object != "token:"+created.Token.ID {
		t.Errorf("audit of the revocation: %+v", entries)
	}
	// A refused token is on the record, under no organisation.
	entriesOf := func() []seams.AuditEntry {
		es, err := f.st.AuditEntries(context.Background(), seams.Operator(org, "tester"), seams.AuditQuery{Action: "login.refused"})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	n := len(entriesOf())
	if resp, _ := f.do(t, "seams_"+strings.Repeat("A", 43), "GET", "/api/summary", nil); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("unknown token: %d", resp.StatusCode)
	}
	if es := entriesOf(); len(es) != n+1 || es[len(es)-1].Org != "unauthenticated" {
		t.Errorf("refused logins audited: %d, want %d", len(es), n+1)
	}
}

// Uploads take every report format seams load reads, compressed or not,
// and store what a load of the same file stores.
func TestUploadFormats(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ path, name string }{
		{"../../csvreport/testdata/reports.csv", "reports.csv"},
		{"../../cybertip/testdata/reports.xml", "reports.xml"},
		{"../../cybertip/testdata/reports.xml", "again.xml.gz"},
	} {
		raw, err := os.ReadFile(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body := raw
		if strings.HasSuffix(tt.name, ".gz") {
			var b bytes.Buffer
			z := gzip.NewWriter(&b)
			z.Write(raw)
			z.Close()
			body = b.Bytes()
		}
		// What seams load makes of the file, in a store of its own.
		ref, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.NewOptions())
		if err != nil {
			t.Fatal(err)
		}
		want, err := load.Reports(context.Background(), ref, seams.Operator(org, "tester"), []string{tt.path}, load.NewOptions())
		ref.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp, b := f.do(t, "analyst", "POST", "/api/upload/reports?name="+tt.name, bytes.NewReader(body))
		var got uploadResult
		json.Unmarshal(b, &got)
		if resp.StatusCode >= 300 || got.Read != want.Read || got.Rejected != want.Rejected || got.PartsRejected != want.PartsRejected ||
			got.New+got.Unchanged != want.New {
			t.Errorf("upload %s as %s: %d %+v\nwant the counts of seams load: %+v", tt.path, tt.name, resp.StatusCode, got, want)
		}
	}
}

// TestAssociatedAccountsShown: a report's associated accounts, as a
// CyberTipline file gives them, are shown as such in the report's detail,
// in the evidence and in its sentences.
func TestAssociatedAccountsShown(t *testing.T) {
	f := newFixture(t)
	const path = "../../cybertip/testdata/reports.xml"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if resp, b := f.do(t, "analyst", "POST", "/api/upload/reports?name=reports.xml", bytes.NewReader(raw)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	if resp, b := f.do(t, "analyst", "POST", "/api/runs", nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("run: %d %s", resp.StatusCode, b)
	}
	in, err := reportfile.Open(path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := in.Next()
	in.Close()
	if err != nil || rec.Whole != nil {
		t.Fatalf("read %s: %v %+v", path, err, rec)
	}
	want := rec.Report

	var d findingDetailView
	f.get(t, "analyst", fmt.Sprintf("/api/findings/%d", f.findingID(t, want.ID, "c-jinbei")), &d)
	r := d.ReportDetail
	if len(r.IPs) != len(want.IPs) || len(r.Devices) != len(want.Devices) {
		t.Fatalf("report detail %+v, want the file's %+v", r, want)
	}
	associated := 0
	for i, e := range want.IPs {
		if g := r.IPs[i]; g.IP != e.Addr.String() || g.Associated != e.Associated || g.Proxy != e.Proxy {
			t.Errorf("ips[%d] %+v, want %+v", i, g, e)
		}
		if e.Associated {
			associated++
		}
	}
	for i, dv := range want.Devices {
		if g := r.Devices[i]; g.Device != dv.ID.String() || g.Associated != dv.Associated {
			t.Errorf("devices[%d] %+v, want %+v", i, g, dv)
		}
		if dv.Associated {
			associated++
		}
	}
	if associated == 0 {
		t.Fatal("the file has no associated account: the test tests nothing")
	}
	found := false
	for i, e := range d.Evidence {
		if e.Observed.IP != "198.51.100.20" {
			if e.Observed.Associated || strings.Contains(d.Explanation[i], "associated") {
				t.Errorf("evidence %d (%+v) of the suspect's own event is said to be an associated account's: %q", i, e, d.Explanation[i])
			}
			continue
		}
		found = true
		if !e.Observed.Associated || !strings.Contains(d.Explanation[i], "(an account associated with the suspect)") {
			t.Errorf("evidence %d of the associated account: %+v, %q", i, e, d.Explanation[i])
		}
	}
	if !found {
		t.Errorf("no evidence observed the associated account's 198.51.100.20: %+v", d.Evidence)
	}
}

// TestSharedWhyShown: the reason an address is shared space, when the
// stored evidence has one, is in the evidence and in its sentence. A
// store's own runs give none yet (no lists by AS or presets), so the test
// commits a revision that has one, as such a run would.
func TestSharedWhyShown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	op := seams.Operator(org, "tester")
	id := f.findingID(t, "r-shared", "c-kings")
	var before findingDetailView
	f.get(t, "analyst", fmt.Sprintf("/api/findings/%d", id), &before)
	if len(before.Evidence) != 1 || before.Evidence[0].Shared == "" || before.Evidence[0].SharedWhy != "" ||
		!strings.HasSuffix(before.Explanation[0], "(the address is in shared address space 203.0.113.96/27, so it does not tie the report)") {
		t.Fatalf("r-shared before: %+v %q", before.Evidence, before.Explanation)
	}
	sf, err := f.st.Finding(ctx, op, id)
	if err != nil {
		t.Fatal(err)
	}
	const why = "AS64500 Example Satellite, listed in shared-asn"
	ev := slices.Clone(sf.Evidence)
	ev[0].SharedWhy = why
	snap, err := f.st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	state := snap.State()
	snap.Close()
	if _, err := f.st.CommitRun(ctx, op, &seams.RunResult{Base: state.LastRun.ID, RegistryVersion: state.RegistryVersion, Drift: state.LastRun.Drift,
		Through: state.MaxReport, Changes: []seams.FindingChange{{Finding: id, Report: sf.ReportSeq, Compound: sf.StoredFinding.Compound, Kind: seams.ChangeRevised,
			From: sf.Tier, To: sf.Tier, Evidence: ev, Digest: hunt.Digest(ev, sf.Private, sf.Signals, nil), At: sf.At}}}); err != nil {
		t.Fatal(err)
	}
	var d findingDetailView
	f.get(t, "viewer", fmt.Sprintf("/api/findings/%d", id), &d)
	if len(d.Evidence) != 1 || d.Evidence[0].SharedWhy != why || d.Evidence[0].Shared != "203.0.113.96/27" {
		t.Errorf("evidence %+v, want shared_why %q", d.Evidence, why)
	}
	wantSentence := "(the address is in shared address space 203.0.113.96/27, " + why + ", so it does not tie the report)"
	if !strings.HasSuffix(d.Explanation[0], wantSentence) {
		t.Errorf("sentence %q, want it to end %q", d.Explanation[0], wantSentence)
	}
	if len(d.History) != 2 || d.History[0].Evidence[0].SharedWhy != "" || d.History[1].Evidence[0].SharedWhy != why {
		t.Errorf("history %+v", d.History)
	}
	var list struct{ Findings []findingView }
	f.get(t, "viewer", "/api/findings?report=r-shared", &list)
	if len(list.Findings) != 1 || list.Findings[0].Evidence[0].SharedWhy != why {
		t.Errorf("listed %+v, want shared_why %q", list.Findings, why)
	}
}
