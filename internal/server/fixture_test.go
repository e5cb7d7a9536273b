package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/internal/storetest"
	"github.com/seams-dev/seams/sqlite"
)

// fixture is a server over a SQLite store loaded with the hand-made data
// set (testdata/small) for organisation org-a and cross-referenced once,
// with a token of each role for org-a and an analyst token of org-b.
type fixture struct {
	st      seams.Store
	srv     *Server
	ts      *httptest.Server
	logs    *syncBuffer
	tokens  map[string]string // "viewer", "analyst", "admin", "other" (org-b analyst) -> secret
	tokenID map[string]string
}

// org is the organisation of the fixture's data.
const org = "org-a"

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// loadSmall loads testdata/small into st as the operator of org and runs
// a cross-reference.
func loadSmall(t testing.TB, st seams.Store) {
	t.Helper()
	ctx := context.Background()
	c, i, sh, r := storetest.Small()
	p := seams.Operator(org, "tester")
	o := load.NewOptions()
	if _, err := load.Compounds(ctx, st, p, c, o); err != nil {
		t.Fatal(err)
	}
	if _, err := load.Indicators(ctx, st, p, i, o); err != nil {
		t.Fatal(err)
	}
	if _, err := load.Shared(ctx, st, p, sh, o); err != nil {
		t.Fatal(err)
	}
	if _, err := load.Reports(ctx, st, p, r, o); err != nil {
		t.Fatal(err)
	}
	if _, err := hunt.Run(ctx, st, p, hunt.NewOptions()); err != nil {
		t.Fatal(err)
	}
}

// makeTokens creates a token of each role for org, and an analyst of org-b.
func makeTokens(t testing.TB, st seams.Store) (secrets, ids map[string]string) {
	t.Helper()
	secrets, ids = map[string]string{}, map[string]string{}
	op := seams.Operator(org, "tester")
	for _, tk := range []struct {
		name, org string
		role      seams.Role
	}{{"viewer", org, seams.RoleViewer}, {"analyst", org, seams.RoleAnalyst}, {"admin", org, seams.RoleAdmin}, {"other", "org-b", seams.RoleAnalyst}} {
		secret, tok, err := st.CreateToken(context.Background(), op, seams.NewToken{Org: tk.org, User: "user-" + tk.name, Role: tk.role, Label: "test"})
		if err != nil {
			t.Fatal(err)
		}
		secrets[tk.name], ids[tk.name] = secret, tok.ID
	}
	return secrets, ids
}

func newFixture(t testing.TB, edit ...func(*Options)) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.NewOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	loadSmall(t, st)
	f := &fixture{st: st, logs: &syncBuffer{}}
	f.tokens, f.tokenID = makeTokens(t, st)
	o := NewOptions()
	o.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.TempDir = t.TempDir()
	o.Rate = 0 // tests that exercise the limit set their own
	for _, e := range edit {
		e(&o)
	}
	f.srv = New(st, o)
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	return f
}

// do sends a request as the token named who ("" for none) and returns
// the response with its body read.
func (f *fixture) do(t testing.TB, who, method, path string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if who != "" {
		secret, ok := f.tokens[who]
		if !ok {
			secret = who // a raw secret
		}
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// get sends a GET and decodes a 200 answer into v.
func (f *fixture) get(t testing.TB, who, path string, v any) {
	t.Helper()
	resp, b := f.do(t, who, "GET", path, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s as %s: %d %s", path, who, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
}

// post sends a JSON body.
func (f *fixture) post(t testing.TB, who, path string, v any) (*http.Response, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, who, "POST", path, bytes.NewReader(b))
}

// findingID returns the id of the current finding of (report, compound).
func (f *fixture) findingID(t testing.TB, report, compound string) int64 {
	t.Helper()
	page, err := f.st.Findings(context.Background(), seams.Operator(org, "tester"), seams.FindingQuery{Report: report, Compound: compound})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Findings) != 1 {
		t.Fatalf("findings of %s at %s: %d, want 1", report, compound, len(page.Findings))
	}
	return page.Findings[0].ID
}

func errorOf(b []byte) string {
	var e struct{ Error string }
	json.Unmarshal(b, &e)
	if e.Error == "" {
		return strings.TrimSpace(string(b))
	}
	return e.Error
}
