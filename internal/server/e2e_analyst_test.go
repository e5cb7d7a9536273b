package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/storetest"
	"github.com/seams-dev/seams/sqlite"
)

// heading waits until the page's h1 starts with want and it has loaded.
func (ss *session) heading(want string) {
	ss.t.Helper()
	ss.waitFor("heading "+want, fmt.Sprintf(`document.querySelector("h1") && document.querySelector("h1").textContent.startsWith(%q) && document.getElementById("status").textContent !== "Loading…"`, want))
}

// goTo moves the dashboard to a hash route, as a click on a link would.
func (ss *session) goTo(hash string) {
	ss.t.Helper()
	evalIn[string](ss, fmt.Sprintf("location.hash = %q", hash))
}

// evalIn runs a script in the page and returns its value.
func evalIn[T any](ss *session, js string) T {
	ss.t.Helper()
	sctx, cancel := context.WithTimeout(ss.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](js))
	if err != nil {
		ss.failed("evaluate %s: %v", js, err)
	}
	return v
}

// TestBrowserDropsStaleResponses: a page whose answer comes after the user
// has moved on does not replace the page now shown. The server holds the
// compound's answer until the user is on the runs page.
func TestBrowserDropsStaleResponses(t *testing.T) {
	f := newFixture(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	inner := f.srv.Handler()
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/compounds/c-jinbei" {
			entered <- struct{}{}
			<-release
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(gated.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	f.ts = gated
	ss := newSession(t, f)
	ss.login("analyst")
	ss.heading("Overview")
	ss.goTo("#/compound/c-jinbei")
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the compound page never asked for the compound")
	}
	ss.goTo("#/runs")
	ss.heading("Runs")
	ss.waitFor("the compound's answer dropped", `Number(document.getElementById("main").dataset.dropped || 0) >= 1`)
	close(release)
	// The dropped answer has been dealt with (aborted) already; the runs
	// page stays, and it is whole.
	if h1 := ss.text("h1"); h1 != "Runs" {
		t.Errorf("after the late answer the page is %q, want Runs", h1)
	}
	if got := ss.text("main table"); !strings.Contains(got, "#1") {
		t.Errorf("runs page lost its table: %q", got)
	}
}

// TestBrowserSkipLink: the skip link moves the focus to the content and
// leaves the page as it is (it used to route to "Not found").
func TestBrowserSkipLink(t *testing.T) {
	f := newFixture(t)
	ss := newSession(t, f)
	ss.login("viewer")
	ss.heading("Overview")
	ss.step("follow the skip link from the keyboard", chromedp.Focus(chromedp.CSS("a.skip")), chromedp.KeyEvent("\r"))
	ss.waitFor("the focus on the content", `document.activeElement === document.getElementById("main")`)
	if h1 := ss.text("h1"); h1 != "Overview" {
		t.Errorf("after the skip link the page is %q, want Overview", h1)
	}
	if hash := evalIn[string](ss, "location.hash"); hash != "" && hash != "#/" {
		t.Errorf("the skip link changed the route to %q", hash)
	}
}

// TestBrowserAdminPage: the audit table holds the organisation's last 50
// entries even when other organisations wrote many since; the chain is
// verified only when asked, and a broken chain is said so; an expired
// token reads expired.
func TestBrowserAdminPage(t *testing.T) {
	later := time.Now().Add(48 * time.Hour)
	f := newFixture(t, func(o *Options) { o.Now = func() time.Time { return later } })
	// A token that expires tomorrow: expired on the server's clock.
	op := seams.Operator(org, "tester")
	_, expiring, err := f.st.CreateToken(context.Background(), op, seams.NewToken{Org: org, User: "user-expiring", Role: seams.RoleViewer, Label: "short",
		Expires: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// org-b reads 60 times: 60 entries of another organisation after all
	// of org-a's.
	for range 60 {
		f.get(t, "other", "/api/findings?limit=1", &struct{}{})
	}
	all, err := f.st.AuditEntries(context.Background(), op, seams.AuditQuery{Latest: true, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	ownInWindow := 0
	for _, e := range all {
		if e.Org == org {
			ownInWindow++
		}
	}
	ss := newSession(t, f)
	ss.login("admin")
	ss.heading("Overview")
	ss.goTo("#/admin")
	ss.heading("Admin")
	// The table, newest first, against the organisation's latest entries
	// as the API gives them (listing the log is not itself audited).
	auditRows := func() {
		t.Helper()
		var own struct{ Entries []auditView }
		f.get(t, "admin", "/api/audit?latest=true&limit=50", &own)
		if len(own.Entries) <= ownInWindow {
			t.Fatalf("org-a has %d entries among its latest 50 and %d among the store's last 50: the test needs more", len(own.Entries), ownInWindow)
		}
		var want []string
		for i := len(own.Entries) - 1; i >= 0; i-- {
			want = append(want, fmt.Sprint(own.Entries[i].Seq))
		}
		rows := evalIn[[]string](ss, `[...document.querySelectorAll("main table")[0].querySelectorAll("tbody tr td:first-child")].map((td) => td.textContent)`)
		if strings.Join(rows, " ") != strings.Join(want, " ") {
			t.Errorf("audit table shows entries %v, want the organisation's latest %v", rows, want)
		}
	}
	auditRows()
	if got := ss.text("#verify-result"); !strings.Contains(got, "not been verified") {
		t.Errorf("the chain was verified without being asked: %q", got)
	}
	state := evalIn[string](ss, fmt.Sprintf(`[...[...document.querySelectorAll("main table")].at(-1).querySelectorAll("tr")].find((tr) => tr.textContent.includes(%q)).textContent`, expiring.ID))
	if !strings.Contains(state, "expired") || strings.Contains(state, "active") {
		t.Errorf("the expired token's row reads %q", state)
	}
	ss.step("verify", chromedp.Click(chromedp.ID("verify")))
	if got := ss.text("#verify-result .ok"); !strings.Contains(got, "The chain verifies") {
		t.Errorf("verify: %q", got)
	}

	// Break the chain: the entries are still listed, and Verify now says
	// where it breaks.
	db := storetest.DB(t, f.st)
	if _, err := db.Exec(sqlite.Unguard); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit SET detail = 'nothing to see' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	ss.step("reload admin", chromedp.Reload())
	ss.heading("Admin")
	auditRows()
	// The edit lies before the checkpoint the first verification left:
	// the whole chain finds it.
	ss.step("verify the broken chain", chromedp.Click(chromedp.ID("verify-full")))
	if got := ss.text("#verify-result .bad"); !strings.Contains(got, "does not verify") || !strings.Contains(got, "entry 3") {
		t.Errorf("verify of a broken chain: %q", got)
	}
}

// TestBrowserChartLabels: every label of the overview's and a compound's
// charts lies inside its chart: long compound names, country totals and
// the last month are not cut off.
func TestBrowserChartLabels(t *testing.T) {
	f := newFixture(t)
	// A compound renamed to a long name (the upload replaces its name).
	long := "Golden Fortune Resort and Special Economic Zone Compound Number Seven"
	csv := "id,name,country,province,lat,lon,status\nc-jinbei," + long + ",KH,Preah Sihanouk,10.61,103.52,raided\n"
	resp, b := f.do(t, "analyst", "POST", "/api/upload/compounds?name=renamed.csv", strings.NewReader(csv))
	if resp.StatusCode >= 300 {
		t.Fatalf("rename: %d %s", resp.StatusCode, b)
	}
	ss := newSession(t, f)
	ss.login("analyst")
	ss.heading("Overview")
	check := func(where string) {
		t.Helper()
		out := evalIn[[]string](ss, `(() => {
		  const bad = [];
		  let n = 0;
		  for (const svg of document.querySelectorAll("main svg.bars, main svg.timeline")) {
		    const vb = svg.viewBox.baseVal;
		    for (const t of svg.querySelectorAll("text")) {
		      const b = t.getBBox();
		      n++;
		      if (b.x < vb.x - 0.5 || b.x + b.width > vb.x + vb.width + 0.5) bad.push(t.textContent + " " + b.x.toFixed(1) + "+" + b.width.toFixed(1) + " of " + vb.width);
		    }
		  }
		  return [String(n), ...bad];
		})()`)
		if out[0] == "0" {
			t.Fatalf("%s: no chart label to check", where)
		}
		for _, b := range out[1:] {
			t.Errorf("%s: label outside its chart: %s", where, b)
		}
	}
	check("overview")
	if got := evalIn[string](ss, `[...document.querySelectorAll("svg.bars text title")].map((t) => t.textContent).join("|")`); !strings.Contains(got, long) {
		t.Errorf("the long name is not in the bars' tooltips: %q", got)
	}
	months := evalIn[[]string](ss, `[...document.querySelector("main svg.timeline").querySelectorAll("text.month")].map((t) => t.textContent)`)
	var sum struct {
		ByMonth []struct{ Month string } `json:"by_month"`
	}
	f.get(t, "analyst", "/api/summary", &sum)
	if len(months) == 0 || len(sum.ByMonth) == 0 || months[len(months)-1] != sum.ByMonth[len(sum.ByMonth)-1].Month {
		t.Errorf("month labels %q: the last month of %+v is not labelled", months, sum.ByMonth)
	}
	ss.goTo("#/compound/c-jinbei")
	ss.heading(long)
	check("compound")
}

// TestBrowserUpload: a file uploaded from the dashboard shows its progress
// to the end, runs a cross-reference when the box is ticked (the answer
// links the run), and a file the server cannot read is named in the
// error.
func TestBrowserUpload(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	good := dir + "/later.jsonl"
	var b strings.Builder
	for i := range 2000 { // big enough to be sent in more than one piece
		fmt.Fprintf(&b, `{"id":"r-up-%d","ips":[{"ip":"203.0.113.7","at":"2024-05-02T10:00:00Z","event":"login"}]}`+"\n", i)
	}
	bad := dir + "/partner-x.csv"
	for path, body := range map[string]string{good: b.String(), bad: "not,a,header\n1,2,3\n"} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ss := newSession(t, f)
	ss.login("analyst")
	ss.heading("Overview")
	ss.goTo("#/upload")
	ss.heading("Upload")
	ss.step("choose the reports and tick run", chromedp.SetUploadFiles(chromedp.ID("up-file"), []string{good}), chromedp.Click(chromedp.ID("up-run")))
	ss.step("upload", chromedp.Click(chromedp.ID("up-submit")))
	ss.waitFor("the run's answer", `document.getElementById("up-run-result") !== null`)
	if v := evalIn[float64](ss, `document.getElementById("up-progress").value`); v != 100 {
		t.Errorf("progress at the end: %v, want 100", v)
	}
	var runs struct{ Runs []runView }
	f.get(t, "analyst", "/api/runs", &runs)
	last := runs.Runs[0]
	for _, r := range runs.Runs {
		if r.ID > last.ID {
			last = r
		}
	}
	if got := ss.text("#up-run-result"); !strings.Contains(got, fmt.Sprintf("run #%d", last.ID)) || last.Scanned < 2000 {
		t.Errorf("upload answer %q; the last run %d scanned %d", got, last.ID, last.Scanned)
	}
	ss.expect("status of 422")
	ss.step("choose a bad indicators file", chromedp.SetUploadFiles(chromedp.ID("up-file"), []string{bad}),
		chromedp.SetValue(chromedp.ID("up-kind"), "indicators"))
	ss.step("upload it", chromedp.Click(chromedp.ID("up-submit")))
	ss.waitFor("the error", `document.getElementById("up-error") !== null`)
	if got := ss.text("#up-error"); !strings.Contains(got, "partner-x.csv:1: missing required columns") {
		t.Errorf("upload error %q does not name the file", got)
	}
	if got := ss.text("#status"); !strings.Contains(got, "partner-x.csv") {
		t.Errorf("status line %q does not name the file", got)
	}
}

// tableRows returns the cells of the first table in main under selector
// sel, one string a row, cells joined by "|".
func tableRows(ss *session, sel string) []string {
	return evalIn[[]string](ss, fmt.Sprintf(`[...document.querySelectorAll(%q)].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent.trim()).join("|"))`, sel))
}

// TestBrowserReviewQueue: the review queue lists the findings nobody
// reviewed, tied first, with compound names and report links; it lists the
// reviews a later run made stale; the findings list pages both ways and
// sorts on the server across pages; a finding's page highlights the event
// the evidence matched.
func TestBrowserReviewQueue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	op := seams.Operator(org, "tester")
	// A review, then a run that changes the finding: the review is stale.
	id := f.findingID(t, "r-tied-ip", "c-jinbei")
	if resp, b := f.post(t, "analyst", fmt.Sprintf("/api/findings/%d/review", id), map[string]string{"mark": "confirmed", "comment": "seen"}); resp.StatusCode != 200 {
		t.Fatalf("review: %d %s", resp.StatusCode, b)
	}
	extra := "compound,kind,value,first_seen,last_seen,confidence,source\nc-jinbei,ip,203.0.113.7,2024-04-01,2024-05-31,,partner-z\n"
	if resp, b := f.do(t, "analyst", "POST", "/api/upload/indicators?name=extra.csv&run=true", strings.NewReader(extra)); resp.StatusCode != 201 || !strings.Contains(string(b), `"run"`) {
		t.Fatalf("upload and run: %d %s", resp.StatusCode, b)
	}
	d, err := f.st.Finding(ctx, op, id)
	if err != nil || !d.ReviewStale() {
		t.Fatalf("finding %d after the run: %v, stale %v; the test needs a stale review", id, err, err == nil && d.ReviewStale())
	}
	var queue struct {
		Findings []findingView
		Total    int
	}
	f.get(t, "analyst", "/api/findings?review=none&sort=tier&limit=50&count=true", &queue)

	ss := newSession(t, f)
	ss.login("analyst")
	ss.heading("Overview")
	ss.goTo("#/queue")
	ss.heading("Review queue")
	rows := tableRows(ss, "main table:nth-of-type(1) tbody tr")
	if len(rows) != len(queue.Findings) || !strings.Contains(ss.text("#queue-h"), fmt.Sprint(queue.Total)) {
		t.Fatalf("queue shows %d rows (heading %q), want the %d of GET /api/findings?review=none&sort=tier", len(rows), ss.text("#queue-h"), queue.Total)
	}
	seenPotential := false
	for i, r := range rows {
		want := queue.Findings[i]
		cells := strings.Split(r, "|")
		if cells[0] != "#"+fmt.Sprint(want.ID) {
			t.Errorf("queue row %d: %q, want finding %d", i, r, want.ID)
		}
		if strings.Contains(cells[2], "c-") {
			t.Errorf("queue row %d names a compound by id: %q", i, r)
		}
		seenPotential = seenPotential || want.Tier == "potential"
		if want.Tier == "tied" && seenPotential {
			t.Errorf("queue row %d: a tied finding after a potential one", i)
		}
	}
	if !seenPotential || queue.Findings[0].Tier != "tied" {
		t.Error("the queue does not hold both tiers: its order is not tested")
	}
	stale := tableRows(ss, "main table:nth-of-type(2) tbody tr")
	if len(stale) != 1 || !strings.HasPrefix(stale[0], fmt.Sprintf("#%d|", id)) || !strings.Contains(stale[0], "changed since") {
		t.Errorf("stale reviews: %q, want finding %d", stale, id)
	}
	// A report id leads to all findings of that report.
	href := evalIn[string](ss, `document.querySelector("main table tbody tr td:nth-child(2) a").getAttribute("href")`)
	if !strings.HasPrefix(href, "#/findings?report=") {
		t.Errorf("report link %q", href)
	}

	// The findings list, pages of 4 in the queue's order: forward by
	// Next, then back by Previous, each page the API's.
	var api []int64
	cursor := ""
	for {
		var pg struct {
			Findings []findingView
			Next     string
		}
		f.get(t, "analyst", "/api/findings?sort=tier&limit=4&cursor="+cursor, &pg)
		for _, x := range pg.Findings {
			api = append(api, x.ID)
		}
		if pg.Next == "" {
			break
		}
		cursor = pg.Next
	}
	idsOnPage := func() []int64 {
		var out []int64
		for _, r := range tableRows(ss, "main table.server-sorted tbody tr") {
			var n int64
			fmt.Sscanf(r, "#%d", &n)
			out = append(out, n)
		}
		return out
	}
	ss.goTo("#/findings?limit=4")
	ss.heading("Findings")
	ss.step("sort by tier, on the server", chromedp.Click(chromedp.Search(`//main//th/a[text()="Tier"]`)))
	ss.waitFor("the tier order", `location.hash.includes("sort=tier") && document.querySelector("th[aria-sort=descending]") !== null && document.getElementById("status").textContent !== "Loading…"`)
	var fwd []int64
	pages := 0
	for {
		fwd = append(fwd, idsOnPage()...)
		pages++
		if evalIn[bool](ss, `[...document.querySelectorAll(".pager a")].some((a) => a.textContent === "Next page")`) == false {
			break
		}
		before := evalIn[string](ss, "location.hash")
		ss.step("next page", chromedp.Evaluate[chromedp.Void](`[...document.querySelector(".pager").querySelectorAll("a")].find((a) => a.textContent === "Next page").click()`))
		ss.waitFor("the next page", fmt.Sprintf(`location.hash !== %q && document.getElementById("status").textContent !== "Loading…"`, before))
	}
	if fmt.Sprint(fwd) != fmt.Sprint(api) || pages < 3 {
		t.Errorf("pages forward (%d): %v\nwant the API's %v", pages, fwd, api)
	}
	var back []int64
	for {
		back = append(idsOnPage(), back...)
		if !evalIn[bool](ss, `[...document.querySelectorAll(".pager a")].some((a) => a.textContent === "Previous page")`) {
			break
		}
		before := evalIn[string](ss, "location.hash")
		ss.step("previous page", chromedp.Evaluate[chromedp.Void](`[...document.querySelector(".pager").querySelectorAll("a")].find((a) => a.textContent === "Previous page").click()`))
		ss.waitFor("the previous page", fmt.Sprintf(`location.hash !== %q && document.getElementById("status").textContent !== "Loading…"`, before))
	}
	if fmt.Sprint(back) != fmt.Sprint(api) {
		t.Errorf("pages backward: %v\nwant the API's %v", back, api)
	}

	// A filter by rule, on the server.
	var drift struct{ Findings []findingView }
	f.get(t, "analyst", "/api/findings?rule=ip-drift", &drift)
	ss.goTo("#/findings?rule=ip-drift")
	ss.waitFor("the rule filter", `document.getElementById("f-rule").value === "ip-drift" && document.getElementById("status").textContent !== "Loading…"`)
	if got := idsOnPage(); len(got) != len(drift.Findings) || len(got) == 0 {
		t.Errorf("findings by rule ip-drift: %v, want the API's %d", got, len(drift.Findings))
	}

	// The finding's page highlights the matched event.
	ss.goTo(fmt.Sprintf("#/finding/%d", id))
	ss.heading(fmt.Sprintf("Finding #%d", id))
	matched := tableRows(ss, "main tr.matched")
	if len(matched) != 1 || !strings.Contains(matched[0], "203.0.113.7") || !strings.Contains(matched[0], "matched: ip") {
		t.Errorf("highlighted events: %q, want the login from 203.0.113.7", matched)
	}
}

// TestBrowserExport: the findings page downloads what it shows, every page
// of it, in each format: the filter on screen is the export's.
func TestBrowserExport(t *testing.T) {
	f := newFixture(t)
	var tied struct{ Total int }
	f.get(t, "viewer", "/api/findings?tier=tied&country=KH&count=true&limit=1", &tied)
	if tied.Total == 0 {
		t.Fatal("no tied finding in KH to export")
	}
	ss := newSession(t, f)
	ss.login("viewer")
	ss.heading("Overview")
	ss.goTo("#/findings?tier=tied&country=KH&limit=2")
	ss.heading("Findings")
	for format, file := range map[string]string{"csv": "csv", "parquet": "parquet", "stix": "stix.json", "misp": "misp.json"} {
		evalIn[string](ss, `document.getElementById("status").textContent = ""`)
		ss.step("export "+format, chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-format=%q]`, format))))
		want := fmt.Sprintf("%d findings were saved as seams-findings.%s.", tied.Total, file)
		ss.waitFor("the "+format+" export", fmt.Sprintf(`document.getElementById("status").textContent.startsWith(%q)`, want))
	}
}

// TestBrowserMap: compounds are labelled on the map; two compounds too
// close to tell apart are one cluster that zooms in to them when
// followed (from the keyboard), where they are two labelled markers; the
// zoom buttons zoom and reset; nothing is fetched but the server's own
// files.
func TestBrowserMap(t *testing.T) {
	f := newFixture(t)
	// A neighbour 0.15 degrees from Jinbei.
	csv := "id,name,country,province,lat,lon,status\nc-neighbour,Neighbour Tower,KH,Preah Sihanouk,10.66,103.62,active\n"
	if resp, b := f.do(t, "analyst", "POST", "/api/upload/compounds?name=neighbour.csv", strings.NewReader(csv)); resp.StatusCode >= 300 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	ss := newSession(t, f)
	ss.login("analyst")
	ss.heading("Overview")
	ss.step("map", chromedp.WaitVisible(chromedp.CSS("svg.map")))
	labels := evalIn[[]string](ss, `[...document.querySelectorAll("svg.map .mlabel")].map((t) => t.textContent)`)
	if !slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(l, "Jinbei") && strings.Contains(l, "Neighbour Tower") }) {
		t.Errorf("map labels %q: want a cluster of Jinbei and Neighbour Tower", labels)
	}
	if n := evalIn[int](ss, `document.querySelectorAll('svg.map a[data-compound]').length`); n < 2 {
		t.Errorf("%d single markers: want the compounds away from the cluster", n)
	}
	vb := func() float64 { return evalIn[float64](ss, `document.querySelector("svg.map").viewBox.baseVal.width`) }
	whole := vb()
	ss.step("open the cluster from the keyboard", chromedp.Focus(chromedp.CSS(`svg.map g.cluster[data-compounds~="c-neighbour"]`)), chromedp.KeyEvent("\r"))
	ss.waitFor("the two markers", `document.querySelector('svg.map a[data-compound="c-neighbour"]') !== null && document.querySelector('svg.map a[data-compound="c-jinbei"]') !== null`)
	if z := vb(); z >= whole/4 {
		t.Errorf("following the cluster zoomed to a width of %v of %v", z, whole)
	}
	// On screen, the two markers no longer overlap, and each is labelled.
	apart := evalIn[bool](ss, `(() => {
	  const r = (id) => document.querySelector('svg.map a[data-compound="' + id + '"] circle').getBoundingClientRect();
	  const a = r("c-jinbei"), b = r("c-neighbour");
	  return a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
	})()`)
	if !apart {
		t.Error("zoomed in, the two markers still overlap")
	}
	if got := evalIn[string](ss, `document.querySelector('svg.map a[data-compound="c-neighbour"] .mlabel').textContent`); got != "Neighbour Tower" {
		t.Errorf("the neighbour's label: %q", got)
	}
	ss.step("back to the whole region", chromedp.Click(chromedp.ID("map-reset")))
	if z := vb(); z != whole {
		t.Errorf("reset: width %v, want %v", z, whole)
	}
	ss.step("zoom in", chromedp.Click(chromedp.ID("map-zoom-in")))
	if z := vb(); z != whole/2 {
		t.Errorf("zoom in: width %v, want %v", z, whole/2)
	}
	// Every resource the page loaded came from the server itself.
	urls := evalIn[[]string](ss, `performance.getEntriesByType("resource").map((e) => e.name)`)
	for _, u := range urls {
		if !strings.HasPrefix(u, f.ts.URL+"/") {
			t.Errorf("the page fetched %s", u)
		}
	}
}
