package server

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/internal/storetest"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/postgres"
	"github.com/seams-dev/seams/sqlite"
)

// The kill tests run the server in a child process (this test binary
// again, TestServerChild), kill it with SIGKILL while it loads an upload
// and while it runs a cross-reference it was asked for, start it again on
// the same store, and check from the parent that nothing it answered 2xx
// for was lost and nothing was left half-written: every stored report
// equals the file's, no event lacks its report, a run is there whole or not
// at all, and the audit log verifies.

// TestServerChild is the child's body; it does nothing in a normal run.
func TestServerChild(t *testing.T) {
	store := os.Getenv("SEAMS_SERVER_CHILD")
	if store == "" {
		t.Skip("only run as the child of a kill test")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st := openStore(t, store)
	defer st.Close()
	o := NewOptions()
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Rate = 0
	o.TempDir = os.Getenv("SEAMS_SERVER_TMP")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The address goes to a file the parent polls (renamed into place,
	// so that it is never read half-written).
	addrFile := os.Getenv("SEAMS_SERVER_ADDR")
	if err := os.WriteFile(addrFile+".tmp", []byte(ln.Addr().String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(addrFile+".tmp", addrFile); err != nil {
		t.Fatal(err)
	}
	if err := New(st, o).Serve(ctx, ln); err != nil {
		t.Fatal(err)
	}
}

// openStore opens sqlite:DIR or a postgres URL.
func openStore(t testing.TB, name string) seams.Store {
	t.Helper()
	var st seams.Store
	var err error
	if dir, ok := strings.CutPrefix(name, "sqlite:"); ok {
		st, err = sqlite.Open(context.Background(), dir, sqlite.NewOptions())
	} else {
		st, err = postgres.Open(context.Background(), name, postgres.NewOptions())
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// child is a running server process.
type child struct {
	cmd   *exec.Cmd
	url   string
	lines chan string // its log, line by line
	done  chan error
}

func startChild(t *testing.T, store string) *child {
	t.Helper()
	dir := t.TempDir()
	addr := filepath.Join(dir, "addr")
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SEAMS_SERVER_CHILD="+store, "SEAMS_SERVER_ADDR="+addr, "SEAMS_SERVER_TMP="+dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 100000), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			default: // nobody reads: drop
			}
		}
		c.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	for i := 0; ; i++ {
		if b, err := os.ReadFile(addr); err == nil {
			c.url = "http://" + string(b)
			return c
		}
		if i == 1000 {
			t.Fatal("the server child did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLog waits for a log line holding want, skipping the others.
func (c *child) waitLog(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l := <-c.lines:
			if strings.Contains(l, want) {
				return
			}
		case err := <-c.done:
			t.Fatalf("the server exited (%v) before logging %q", err, want)
		case <-timeout:
			t.Fatalf("the server never logged %q", want)
		}
	}
}

func (c *child) drain() {
	for {
		select {
		case <-c.lines:
		default:
			return
		}
	}
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-c.done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the server was not killed: %v", err)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-c.done; err != nil {
		t.Fatalf("the server did not stop cleanly on SIGTERM: %v", err)
	}
}

func (c *child) request(method, path, token string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequest(method, c.url+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type killEngine struct {
	name string
	new  func(t *testing.T) string // returns how a child opens the store
}

func killEngines(t *testing.T) []killEngine {
	es := []killEngine{{"sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() }}}
	if base := os.Getenv("SEAMS_TEST_POSTGRES"); base != "" {
		es = append(es, killEngine{"postgres", func(t *testing.T) string { return postgresSchema(t, base) }})
	} else {
		t.Log("SEAMS_TEST_POSTGRES is not set: the kill tests run against SQLite only")
	}
	return es
}

var schemas atomic.Int64

// postgresSchema makes a fresh schema in the database at base, dropped at
// the end, and returns the URL that opens it.
func postgresSchema(t *testing.T, base string) string {
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatalf("SEAMS_TEST_POSTGRES: %v", err)
	}
	admin := stdlib.OpenDB(*cfg)
	schema := fmt.Sprintf("srv_%d_%d", time.Now().UnixNano(), schemas.Add(1))
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, _ := url.Parse(base)
	qv := u.Query()
	qv.Set("search_path", schema)
	u.RawQuery = qv.Encode()
	return u.String()
}

func TestKillDuringUploadAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("kill tests re-exec the test binary")
	}
	dir := t.TempDir()
	o := gen.DefaultOptions()
	o.Seed, o.Compounds, o.Indicators, o.Reports, o.TiedRate, o.PotentialRate = 5, 20, 800, 24000, 0.03, 0.06
	files, err := gen.Generate(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	// Upload A is small and answered before the kill; B is large and
	// killed in flight.
	raw, err := os.ReadFile(files.Reports)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(raw, []byte("\n"))
	a, b := bytes.Join(lines[:1000], nil), bytes.Join(lines[1000:], nil)
	wantA, wantB := parseReports(t, a), parseReports(t, b)
	wantLines, _ := storetest.XrefLines(t, files.Compounds, files.Indicators, files.Shared, []string{files.Reports})

	for _, e := range killEngines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			store := e.new(t)
			st := openStore(t, store)
			op := seams.Operator(org, "tester")
			for _, step := range []func() (load.Result, error){
				func() (load.Result, error) { return load.Compounds(ctx, st, op, files.Compounds, load.NewOptions()) },
				func() (load.Result, error) { return load.Indicators(ctx, st, op, files.Indicators, load.NewOptions()) },
				func() (load.Result, error) { return load.Shared(ctx, st, op, files.Shared, load.NewOptions()) },
			} {
				if _, err := step(); err != nil {
					t.Fatal(err)
				}
			}
			token, _, err := st.CreateToken(ctx, op, seams.NewToken{Org: org, User: "uploader", Role: seams.RoleAnalyst})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()

			// 1. Killed while it loads B, after its first batch commits.
			c := startChild(t, store)
			status, body, err := c.request("POST", "/api/upload/reports?name=a.jsonl", token, bytes.NewReader(a))
			if err != nil || status != http.StatusCreated {
				t.Fatalf("upload A: %d %s %v", status, body, err)
			}
			c.drain()
			answered := make(chan int, 1)
			go func() {
				status, _, _ := c.request("POST", "/api/upload/reports?name=b.jsonl", token, bytes.NewReader(b))
				answered <- status
			}()
			// B's first batch (A, of 1,000 lines, never reaches line
			// 2,000: a late line of A's cannot be taken for B's).
			c.waitLog(t, `msg="reports committed" file=- through_line=2000 `)
			c.kill(t)
			if s := <-answered; s != 0 {
				t.Fatalf("upload B was answered %d before the kill: the test did not kill it in flight", s)
			}

			st = openStore(t, store)
			stored := storedByID(t, st)
			for id, w := range wantA {
				r, ok := stored[id]
				if !ok || !w.Equal(&r.Report) {
					t.Fatalf("report %s of upload A, answered 201, is lost or changed after the kill", id)
				}
			}
			nB := 0
			for id, r := range stored {
				if _, inA := wantA[id]; inA {
					continue
				}
				w, ok := wantB[id]
				if !ok || !w.Equal(&r.Report) {
					t.Fatalf("stored report %s is not the one uploaded (half written?)\nstored %+v\nfile   %+v", id, r.Report, w)
				}
				nB++
			}
			if nB == 0 || nB%load.DefaultBatch != 0 || nB >= len(wantB) {
				t.Errorf("after the kill %d reports of B are stored: want whole batches of %d, and not all", nB, load.DefaultBatch)
			}
			checkInvariants(t, st)
			st.Close()

			// 2. Started again, B uploaded again: the rest is stored.
			c = startChild(t, store)
			status, body, err = c.request("POST", "/api/upload/reports?name=b.jsonl", token, bytes.NewReader(b))
			var res uploadResult
			json.Unmarshal(body, &res)
			if err != nil || status != http.StatusCreated || res.Unchanged != nB || res.New != len(wantB)-nB {
				t.Fatalf("upload B again: %d %s %v; want %d already stored, %d new", status, body, err, nB, len(wantB)-nB)
			}

			// 3. Killed during a run it started.
			c.drain()
			go c.request("POST", "/api/runs", token, strings.NewReader(`{}`))
			c.waitLog(t, `msg="cross-referencing the store"`)
			c.kill(t)
			st = openStore(t, store)
			runs, err := st.Runs(ctx, op, 10)
			if err != nil {
				t.Fatal(err)
			}
			got := storetest.FindingLines(t, st, op)
			switch {
			case len(runs) == 0 && len(got) == 0:
				t.Log("the run was killed before its commit: it left nothing")
			case len(runs) == 1 && slices.Equal(got, wantLines):
				t.Log("the run committed just before the kill: it is there whole")
			default:
				t.Errorf("after a killed run: %d runs, %d findings (xref finds %d): half written", len(runs), len(got), len(wantLines))
			}
			checkInvariants(t, st)
			st.Close()

			// 4. Started again, the run completes; SIGTERM stops the
			// server cleanly.
			c = startChild(t, store)
			status, body, err = c.request("POST", "/api/runs", token, nil)
			if err != nil || status != http.StatusCreated {
				t.Fatalf("run after the kill: %d %s %v", status, body, err)
			}
			c.stop(t)
			st = openStore(t, store)
			defer st.Close()
			if got := storetest.FindingLines(t, st, op); !slices.Equal(got, wantLines) {
				t.Errorf("after the restart and a run the store holds %d findings, xref finds %d (or they differ)", len(got), len(wantLines))
			}
			if n := len(storedByID(t, st)); n != len(wantA)+len(wantB) {
				t.Errorf("the store holds %d reports, the uploads %d", n, len(wantA)+len(wantB))
			}
			checkInvariants(t, st)
		})
	}
}

func parseReports(t *testing.T, b []byte) map[string]seams.Report {
	t.Helper()
	rd := jsonl.NewReader(bytes.NewReader(b), "reports")
	out := map[string]seams.Report{}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Whole == nil {
			if _, dup := out[rec.Report.ID]; !dup {
				r := rec.Report.Clone() // the reader reuses its buffers: key by the copy
				out[r.ID] = r
			}
		}
	}
}

func storedByID(t *testing.T, st seams.Store) map[string]seams.StoredReport {
	t.Helper()
	out := map[string]seams.StoredReport{}
	q := seams.ReportQuery{Limit: 1000}
	for {
		page, err := st.Reports(context.Background(), seams.Operator(org, "tester"), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Reports {
			out[r.ID] = r
		}
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
}

// checkInvariants: no event or device without its report, no finding
// without its run, and an audit log that verifies.
func checkInvariants(t *testing.T, st seams.Store) {
	t.Helper()
	db := storetest.DB(t, st)
	for _, q := range []string{
		`SELECT COUNT(*) FROM report_ips e LEFT JOIN reports r ON r.seq = e.report WHERE r.seq IS NULL`,
		`SELECT COUNT(*) FROM report_devices e LEFT JOIN reports r ON r.seq = e.report WHERE r.seq IS NULL`,
		`SELECT COUNT(*) FROM finding_versions v LEFT JOIN runs r ON r.id = v.run WHERE r.id IS NULL`,
		`SELECT COUNT(*) FROM findings f LEFT JOIN finding_versions v ON v.id = f.version WHERE v.id IS NULL`,
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d orphan rows: %s", n, q)
		}
	}
	if _, err := st.VerifyAudit(context.Background(), seams.Operator(org, "tester")); err != nil {
		t.Errorf("audit log: %v", err)
	}
}
