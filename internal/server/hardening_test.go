package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	paths := append(uiRoutes(), "/api/summary", "/api/health", "/api/openapi.json", "/api/nothing")
	for _, p := range paths {
		resp, _ := f.do(t, "viewer", "GET", p, nil)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
			t.Errorf("%s: CSP %q allows inline or remote content", p, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s %q, want %q", p, k, h.Get(k), v)
			}
		}
		cache := h.Get("Cache-Control")
		switch {
		case strings.HasPrefix(p, "/api/openapi.json"):
		case strings.HasPrefix(p, "/api/"):
			if cache != "no-store" {
				t.Errorf("%s: Cache-Control %q, want no-store", p, cache)
			}
		default:
			if cache != "no-cache" || h.Get("ETag") == "" {
				t.Errorf("%s: Cache-Control %q, ETag %q: want revalidation", p, cache, h.Get("ETag"))
			}
		}
	}
}

func TestBodyLimits(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxBody, o.MaxUpload = 2048, 8192 })
	id := f.findingID(t, "r-tied-ip", "c-jinbei")
	big := `{"mark":"confirmed","comment":"` + strings.Repeat("x", 4000) + `"}`
	resp, b := f.do(t, "analyst", "POST", fmt.Sprintf("/api/findings/%d/review", id), strings.NewReader(big))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("review body over MaxBody: %d %s, want 413", resp.StatusCode, b)
	}
	// An upload over MaxUpload is refused whole, whether its length is
	// announced or not: nothing of it is stored.
	var lines strings.Builder
	for i := 0; lines.Len() < 20000; i++ {
		fmt.Fprintf(&lines, `{"id":"r-big-%d","ips":[{"ip":"192.0.2.%d","at":"2024-05-01T00:00:00Z"}]}`+"\n", i, i%250+1)
	}
	resp, b = f.do(t, "analyst", "POST", "/api/upload/reports?name=big.jsonl", strings.NewReader(lines.String()))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("upload with a length over MaxUpload: %d %s, want 413", resp.StatusCode, b)
	}
	resp, b = f.do(t, "analyst", "POST", "/api/upload/reports?name=big.jsonl", io.MultiReader(strings.NewReader(lines.String()))) // no length: chunked
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked upload over MaxUpload: %d %s, want 413", resp.StatusCode, b)
	}
	page, err := f.st.Reports(context.Background(), seams.Operator(org, "tester"), seams.ReportQuery{IDs: []string{"r-big-0"}})
	if err != nil || len(page.Reports) != 0 {
		t.Errorf("a refused upload stored %d reports (%v)", len(page.Reports), err)
	}
}

func TestRateLimitPerToken(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, func(o *Options) { o.Rate, o.Burst, o.Now = 1, 3, clock })
	for i := 0; i < 3; i++ {
		if resp, b := f.do(t, "viewer", "GET", "/api/me", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i+1, resp.StatusCode, b)
		}
	}
	resp, b := f.do(t, "viewer", "GET", "/api/me", nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("request over the burst: %d %s, want 429", resp.StatusCode, b)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q, want whole seconds", resp.Header.Get("Retry-After"))
	}
	// Another token has its own bucket.
	if resp, _ := f.do(t, "analyst", "GET", "/api/me", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("another token: %d, want 200", resp.StatusCode)
	}
	mu.Lock()
	now = now.Add(1100 * time.Millisecond)
	mu.Unlock()
	if resp, _ := f.do(t, "viewer", "GET", "/api/me", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after a second's refill: %d, want 200", resp.StatusCode)
	}
	if resp, _ := f.do(t, "viewer", "GET", "/api/me", nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("one token refilled, two taken: %d, want 429", resp.StatusCode)
	}
}

func TestLimiterForgetsFullBuckets(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(10, 5, func() time.Time { return now })
	for i := 0; i < 1000; i++ {
		l.allow(fmt.Sprint("k", i))
	}
	now = now.Add(2 * time.Minute)
	l.allow("fresh")
	if n := len(l.buckets); n != 1 {
		t.Errorf("%d buckets kept after all refilled, want 1", n)
	}
}

// Neither a token's secret nor (above debug) a device, a search or a
// report id ever reaches the log.
func TestNoSecretsInLogs(t *testing.T) {
	f := newFixture(t)
	// A token made over the API: its secret is in a response body.
	resp, b := f.post(t, "admin", "/api/tokens", map[string]string{"role": "viewer", "label": "logged?"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatal(resp.StatusCode)
	}
	created := regexp.MustCompile(`seams_[A-Za-z0-9_-]{43}`).FindString(string(b))
	f.do(t, created, "GET", "/api/search?q=r-device", nil)
	f.do(t, "analyst", "GET", "/api/search?q=imei:358240051111110", nil)
	f.do(t, "analyst", "GET", "/api/search?q=203.0.113.7", nil)
	f.do(t, "analyst", "GET", "/api/findings?report=r-tied-ip", nil)
	f.do(t, "seams_"+strings.Repeat("B", 43), "GET", "/api/summary", nil) // refused
	f.do(t, "not even a token", "GET", "/api/summary", nil)
	// A client that puts a secret where it does not belong.
	f.do(t, "viewer", "GET", "/api/findings?cursor="+f.tokens["viewer"], nil)
	f.do(t, "viewer", "GET", "/api/compounds/"+f.tokens["admin"], nil)
	logs := f.logs.String()
	if !strings.Contains(logs, "route=\"GET /api/search\"") {
		t.Fatalf("no request log lines:\n%s", logs)
	}
	secrets := []string{created}
	for _, s := range f.tokens {
		secrets = append(secrets, s)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) || strings.Contains(logs, s[6:]) {
			t.Errorf("a token secret is in the log:\n%s", logs)
		}
	}
	// Above debug: no device, no search text, no report id.
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=DEBUG") {
			continue
		}
		for _, bad := range []string{"358240051111110", "203.0.113.7", "r-tied-ip", "r-device"} {
			if strings.Contains(line, bad) {
				t.Errorf("%q is in a log line above debug: %s", bad, line)
			}
		}
	}
}

// On a stop, an upload whose request was accepted is received and loaded
// whole, and answered; new connections are refused.
func TestGracefulShutdownFinishesUploads(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- f.srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", url+"/api/upload/reports?name=slow.jsonl", pr)
	req.Header.Set("Authorization", "Bearer "+f.tokens["analyst"])
	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- answer{status: resp.StatusCode, body: string(b)}
	}()
	const n = 3000
	line := func(i int) string {
		return fmt.Sprintf(`{"id":"r-slow-%d","ips":[{"ip":"198.51.100.%d","at":"2024-05-%02dT00:00:00Z"}]}`+"\n", i, i%250+1, i%28+1)
	}
	for i := 0; i < n/2; i++ {
		io.WriteString(pw, line(i))
	}
	// The stop comes when the request is in the handler, its body half
	// sent: the handler's spool file exists.
	for i := 0; ; i++ {
		if m, _ := filepath.Glob(filepath.Join(f.srv.o.TempDir, "seams-upload-*")); len(m) > 0 {
			break
		}
		if i == 500 {
			t.Fatal("the upload never reached its handler")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	// New connections are refused once the listener is closed.
	refused := false
	for i := 0; i < 50 && !refused; i++ {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	if !refused {
		t.Error("the server still accepts connections after the stop")
	}
	for i := n / 2; i < n; i++ {
		io.WriteString(pw, line(i))
	}
	pw.Close()
	a := <-answered
	if a.err != nil || a.status != http.StatusCreated {
		t.Fatalf("upload during the stop: %d %s %v, want 201", a.status, a.body, a.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after the stop: %v", err)
	}
	got := 0
	q := seams.ReportQuery{Limit: 1000}
	for {
		page, err := f.st.Reports(context.Background(), seams.Operator(org, "tester"), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Reports {
			if strings.HasPrefix(r.ID, "r-slow-") {
				got++
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if got != n {
		t.Errorf("the store holds %d of the %d reports of the upload answered 201", got, n)
	}
}

// Timeouts are set on the HTTP server: a client that sends its headers
// slower than ReadHeaderTimeout is cut off.
func TestSlowHeadersAreCut(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.ReadHeaderTimeout = 200 * time.Millisecond })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	defer func() { stop(); <-done }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /api/health HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a connection whose headers never ended")
	}
	if bytes.Contains(b, []byte("200 OK")) {
		t.Errorf("answered a request whose headers never ended: %s", b)
	}
}
