package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pendingUpload is an upload whose body the test sends by hand, through
// the server's handler in-process: a write to the pipe returns only once
// the handler has read it, so the test knows, without waiting on a timer,
// that the upload is being received.
type pendingUpload struct {
	pw   *io.PipeWriter
	done chan *httptest.ResponseRecorder
}

func startUpload(f *fixture, secret, path string) *pendingUpload {
	pr, pw := io.Pipe()
	u := &pendingUpload{pw: pw, done: make(chan *httptest.ResponseRecorder, 1)}
	req := httptest.NewRequest("POST", path, pr)
	req.Header.Set("Authorization", "Bearer "+secret)
	go func() {
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		pr.CloseWithError(io.ErrClosedPipe) // unblock a writer the handler left
		u.done <- rec
	}()
	return u
}

// reportLines is a reports file of n reports with ids of prefix.
func reportLines(prefix string, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"id":"%s-%04d","ips":[{"ip":"198.51.100.%d","at":"2024-05-01T00:00:00Z","event":"login"}]}`+"\n", prefix, i, i%250+1)
	}
	return b.Bytes()
}

// Slow uploads of one organisation (one byte, then nothing while the
// test holds them) take that organisation's allowance, never what another
// organisation needs: with a single load slot on the whole server, another
// organisation's upload is received and stored while they hang; a third
// upload of the same token or organisation is refused at once (429); the
// slow one that stays below the minimum rate past the grace period is cut
// off with 408 and frees its allowance; the other, once it sends its
// body, is stored. The clock is the test's: no step waits for time to pass.
func TestSlowUploadsDoNotBlockOtherOrgs(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)}
	f := newFixture(t, func(o *Options) {
		o.Now = clock.now
		o.MaxUploads = 1
		o.MaxUploadsPerOrg = 2
		o.MaxUploadsPerToken = 1
		o.MinUploadRate = 100
		o.UploadGrace = 30 * time.Second
	})
	extra, _, err := f.st.CreateToken(context.Background(), seams.Operator(org, "tester"),
		seams.NewToken{Org: org, User: "user-extra", Role: seams.RoleAnalyst, Label: "test"})
	if err != nil {
		t.Fatal(err)
	}

	// Two slow uploads of org-a, each of its own token: one byte each.
	trickle := startUpload(f, f.tokens["analyst"], "/api/upload/reports?name=slow-1.jsonl")
	body2 := reportLines("r-slow", 60) // over MinUploadRate * UploadGrace bytes
	late := startUpload(f, f.tokens["admin"], "/api/upload/reports?name=slow-2.jsonl")
	for _, u := range []struct {
		u *pendingUpload
		b byte
	}{{trickle, '{'}, {late, body2[0]}} {
		if _, err := u.u.pw.Write([]byte{u.b}); err != nil {
			t.Fatalf("first byte: %v", err)
		}
	}

	// The token and the organisation are at their limits: refused at once.
	for _, tt := range []struct{ name, secret, want string }{
		{"same token", f.tokens["analyst"], "this token has 1 uploads in progress"},
		{"same organisation, another token", extra, "organisation org-a has 2 uploads in progress"},
	} {
		resp, b := f.do(t, tt.secret, "POST", "/api/upload/reports?name=more.jsonl", bytes.NewReader(reportLines("r-more", 1)))
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(errorOf(b), tt.want) || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s while two slow uploads hang: %d %s, want 429 saying %q", tt.name, resp.StatusCode, b, tt.want)
		}
	}

	// Another organisation's upload goes through, received and loaded,
	// while org-a's hang.
	resp, b := f.do(t, "other", "POST", "/api/upload/reports?name=fast.jsonl", bytes.NewReader(reportLines("r-fast", 50)))
	var got uploadResult
	json.Unmarshal(b, &got)
	if resp.StatusCode != http.StatusCreated || got.New != 50 {
		t.Fatalf("org-b's upload while org-a's hang: %d %s, want 201 with 50 new", resp.StatusCode, b)
	}

	// Past the grace period, the trickle (two bytes in 31 s, against 100
	// a second) is cut off; the late one sends its body in one go and is
	// stored.
	clock.advance(31 * time.Second)
	trickle.pw.Write([]byte{'"'})
	rec := <-trickle.done
	if rec.Code != http.StatusRequestTimeout || !strings.Contains(errorOf(rec.Body.Bytes()), "slower than 100 bytes a second over 30s") {
		t.Errorf("the trickle: %d %s, want 408 saying it was too slow", rec.Code, rec.Body)
	}
	if _, err := late.pw.Write(body2[1:]); err != nil {
		t.Fatal(err)
	}
	late.pw.Close()
	rec = <-late.done
	got = uploadResult{}
	json.Unmarshal(rec.Body.Bytes(), &got)
	if rec.Code != http.StatusCreated || got.New != 60 {
		t.Errorf("the late upload: %d %s, want 201 with 60 new", rec.Code, rec.Body)
	}

	// The cut-off freed its allowance: the token uploads again.
	resp, b = f.do(t, "analyst", "POST", "/api/upload/reports?name=again.jsonl", bytes.NewReader(reportLines("r-again", 3)))
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("after the cut-off, the same token: %d %s, want 201", resp.StatusCode, b)
	}

	// Nothing of the trickle was stored; the others were.
	for _, tt := range []struct {
		who, id string
		want    int
	}{{"analyst", "r-slow-0000", 1}, {"other", "r-fast-0049", 1}, {"analyst", "r-again-0002", 1}} {
		var page struct{ Reports []reportView }
		f.get(t, tt.who, "/api/reports?id="+tt.id, &page)
		if len(page.Reports) != tt.want {
			t.Errorf("report %s: %d stored, want %d", tt.id, len(page.Reports), tt.want)
		}
	}
}

// The rate check alone, on a reader: windows end by the clock; a window
// with enough bytes starts the next; a deadline error is "too slow".
func TestRateReader(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)}
	extended := 0
	pr, pw := io.Pipe()
	rr := newRateReader(pr, clock.now, func(d time.Duration) {
		if d != 10*time.Second {
			t.Errorf("deadline moved %v ahead, want the grace period", d)
		}
		extended++
	}, 10, 10*time.Second)
	buf := make([]byte, 1000)
	read := func(data []byte, step time.Duration) error {
		go func() { clock.advance(step); pw.Write(data) }()
		_, err := rr.Read(buf)
		return err
	}
	if err := read(make([]byte, 150), 11*time.Second); err != nil { // 150 bytes in 11 s: enough
		t.Fatalf("enough bytes: %v", err)
	}
	if err := read(make([]byte, 50), 5*time.Second); err != nil { // inside the new window
		t.Fatalf("inside a window: %v", err)
	}
	if err := read(make([]byte, 10), 6*time.Second); err == nil || !strings.Contains(err.Error(), "60 bytes in 11s") { // 60 in 11 s
		t.Fatalf("too few bytes: %v, want too slow", err)
	}
	if extended != 3 { // at the start, and after each of the two reads that were not cut off
		t.Errorf("read deadline moved %d times, want 3", extended)
	}
	// A deadline passing is the same: nothing came for a grace period.
	rr = newRateReader(deadlineReader{}, clock.now, func(time.Duration) {}, 10, 10*time.Second)
	if _, err := rr.Read(buf); !errors.Is(err, errTooSlow) {
		t.Errorf("a read past the deadline: %v, want too slow", err)
	}
}

// deadlineReader fails as a connection past its read deadline does.
type deadlineReader struct{}

func (deadlineReader) Read([]byte) (int, error) {
	return 0, fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)
}
