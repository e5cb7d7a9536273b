package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seams-dev/seams"
)

// chromium returns the path of Debian's Chromium, or skips the test loudly
// when it is missing outside CI (CI installs it: .ci/chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("SEAMS_CHROMIUM"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing in CI: .ci/run must call .ci/chromium")
	}
	t.Skip(strings.Repeat("!", 72) + "\n" +
		"SKIPPING the browser end-to-end test: /usr/bin/chromium is not installed.\n" +
		"Install it with: .ci/chromium  (apt-get install chromium; CI always does)\n" +
		strings.Repeat("!", 72))
	return ""
}

// browser starts a headless Chromium with a fresh profile, offline except
// for loopback: without the background-networking flags Chromium's own
// connections to the Internet are refused on closed machines and slow it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	parent, cancelParent := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancelParent)
	actx, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900), // a laptop screen
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	return ctx
}

// session is a browser tab on a fixture's server that fails the test on
// any console error of the page (a script error, a refused
// Content-Security-Policy).
type session struct {
	t      *testing.T
	ctx    context.Context
	f      *fixture
	mu     sync.Mutex
	errors []string
	// expected are console errors a test provokes on purpose (a refused
	// upload is logged by the browser as a failed resource).
	expected []string
}

// expect lets console errors containing substr pass.
func (ss *session) expect(substr string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expected = append(ss.expected, substr)
}

func newSession(t *testing.T, f *fixture) *session {
	ss := &session{t: t, ctx: browser(t), f: f}
	messages := chromedp.Console(ss.ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				ss.mu.Lock()
				ss.errors = append(ss.errors, m.String())
				ss.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
	next:
		for _, e := range ss.errors {
			for _, x := range ss.expected {
				if strings.Contains(e, x) {
					continue next
				}
			}
			t.Errorf("browser console: %s", e)
		}
	})
	return ss
}

// failed stops the test, naming the console errors too: a script that
// failed to load shows there first.
func (ss *session) failed(format string, args ...any) {
	ss.t.Helper()
	ss.mu.Lock()
	errs := strings.Join(ss.errors, "\n")
	ss.mu.Unlock()
	ss.t.Fatalf(format+"\nbrowser console errors:\n%s", append(args, errs)...)
}

func (ss *session) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	ss.t.Helper()
	sctx, cancel := context.WithTimeout(ss.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		ss.failed("%s: %v", what, err)
	}
}

func (ss *session) text(sel string) string {
	ss.t.Helper()
	sctx, cancel := context.WithTimeout(ss.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		ss.failed("text of %s: %v", sel, err)
	}
	return s
}

func (ss *session) waitFor(what, js string) {
	ss.t.Helper()
	sctx, cancel := context.WithTimeout(ss.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(sctx, chromedp.Poll[bool](js)); err != nil {
		ss.failed("waiting for %s: %v", what, err)
	}
}

// shot saves a screenshot into $SEAMS_E2E_SCREENSHOTS, when it is set, to
// look at what the pages show.
func (ss *session) shot(name string) {
	dir := os.Getenv("SEAMS_E2E_SCREENSHOTS")
	if dir == "" {
		return
	}
	b, err := chromedp.Run(ss.ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		ss.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
}

func (ss *session) login(who string) {
	ss.t.Helper()
	ss.step("open the dashboard", chromedp.Navigate(ss.f.ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	ss.step("log in", chromedp.SendKeys(chromedp.ID("token"), ss.f.tokens[who]), chromedp.Click(chromedp.ID("login")))
}

// TestBrowserReviewFlow drives the dashboard as an analyst would: log in
// with a token, read the overview, click through to a compound and one of
// its findings, confirm it with a comment, and then checks through the
// store that the review is recorded and audited.
func TestBrowserReviewFlow(t *testing.T) {
	f := newFixture(t)
	ss := newSession(t, f)
	step, text, waitFor, shot := ss.step, ss.text, ss.waitFor, ss.shot
	ss.login("analyst")
	step("overview", chromedp.WaitVisible(chromedp.CSS(".cards")), chromedp.WaitVisible(chromedp.CSS("svg.map circle")))
	cards := text(".cards")
	sum, err := f.st.Summary(context.Background(), seams.Operator(org, "tester"), seams.SummaryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprint(sum.Reports), "reports scanned", fmt.Sprint(sum.TiedReports), "tied",
		fmt.Sprint(sum.PotentialReports), "potentially associated", fmt.Sprint(sum.CompoundsTied), "compounds with tied reports"} {
		if !strings.Contains(cards, want) {
			t.Errorf("overview totals %q lack %q", cards, want)
		}
	}
	shot("overview")

	step("click through to Jinbei", chromedp.Click(chromedp.CSS(`svg.map a[href="#/compound/c-jinbei"] circle`)))
	waitFor("the compound page", `document.querySelector("h1") && document.querySelector("h1").textContent === "Jinbei"`)
	step("compound page", chromedp.WaitVisible(chromedp.Search(`//tr[td//span[text()="r-tied-ip"]]//a[starts-with(@href,"#/finding/")]`)))
	shot("compound")

	id := f.findingID(t, "r-tied-ip", "c-jinbei")
	step("click through to the finding", chromedp.Click(chromedp.Search(`//tr[td//span[text()="r-tied-ip"]]//a[starts-with(@href,"#/finding/")]`)))
	waitFor("the finding page", fmt.Sprintf(`document.querySelector("h1") && document.querySelector("h1").textContent.startsWith("Finding #%d")`, id))
	chain := text("ol.chain")
	want := "report r-tied-ip logged in from 203.0.113.7 on 1 May 2024 22:14 UTC; that address was seen at Jinbei from 3 Mar to 9 Jun 2024, source partner-a"
	if !strings.Contains(chain, want) {
		t.Errorf("evidence chain %q\nwant %q", chain, want)
	}
	shot("finding")

	step("confirm it", chromedp.SendKeys(chromedp.ID("comment"), "same login, same week"), chromedp.Click(chromedp.ID("confirm")))
	waitFor("the confirmation", `document.getElementById("status").textContent === "Marked confirmed."`)
	if got := text(".review"); !strings.Contains(got, "confirmed") || !strings.Contains(got, "same login, same week") {
		t.Errorf("review section after confirming: %q", got)
	}
	shot("confirmed")

	// The store has the mark, and the audit log the review, by the
	// analyst's token.
	op := seams.Operator(org, "tester")
	d, err := f.st.Finding(context.Background(), op, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Review.Mark != seams.MarkConfirmed || d.Review.Comment != "same login, same week" {
		t.Errorf("stored review %+v", d.Review)
	}
	entries, err := f.st.AuditEntries(context.Background(), op, seams.AuditQuery{Action: "finding.review", Object: fmt.Sprintf("finding:%d", id)})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !strings.Contains(entries[0].Actor, f.tokenID["analyst"]) {
		t.Errorf("audit entries of the review: %+v", entries)
	}
	if _, err := f.st.VerifyAudit(context.Background(), op); err != nil {
		t.Error(err)
	}
}

// TestBrowserPages opens every other page as an admin: each renders its
// heading and content with no console error, and the search box and the
// findings filters work from the keyboard.
func TestBrowserPages(t *testing.T) {
	f := newFixture(t)
	ss := newSession(t, f)
	ss.login("admin")
	ss.step("overview", chromedp.WaitVisible(chromedp.CSS(".cards")))
	heading := func(want string) {
		t.Helper()
		ss.waitFor("heading "+want, fmt.Sprintf(`document.querySelector("h1") && document.querySelector("h1").textContent.startsWith(%q) && document.getElementById("status").textContent !== "Loading…"`, want))
	}
	for _, p := range []struct{ hash, heading, name string }{
		{"#/compounds", "Compounds", "compounds"},
		{"#/findings?tier=tied&sort=newest", "Findings", "findings"},
		{"#/runs", "Runs", "runs"},
		{"#/upload", "Upload", "upload"},
		{"#/admin", "Admin", "admin"},
	} {
		ss.step("open "+p.hash, chromedp.Navigate(f.ts.URL+"/"+p.hash))
		heading(p.heading)
		ss.shot(p.name)
	}
	// The chain is verified when asked, not on every visit.
	ss.step("verify the audit chain", chromedp.Click(chromedp.ID("verify")))
	if got := ss.text("#verify-result .ok"); !strings.Contains(got, "The chain verifies") {
		t.Errorf("admin page: %q", got)
	}
	// Search from the keyboard: type, press Enter.
	ss.step("search", chromedp.SendKeys(chromedp.ID("search-q"), "203.0.113.7\n"))
	heading("Search: 203.0.113.7")
	if got := ss.text("main"); !strings.Contains(got, "r-tied-ip") || !strings.Contains(got, "Indicators (2)") {
		t.Errorf("search page: %q", got)
	}
	ss.shot("search")
	// The findings filters: only tied findings are listed.
	ss.step("findings", chromedp.Navigate(f.ts.URL+"/#/findings?tier=potential"))
	heading("Findings")
	if got := ss.text("main table"); strings.Contains(got, "\ttied\t") || !strings.Contains(got, "\tpotential\t") {
		t.Errorf("potential findings list shows %q", got)
	}
}
