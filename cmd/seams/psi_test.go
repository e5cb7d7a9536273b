package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPSICommandLine: two organisations set up private matching from the
// command line as the manual says (init, a peers file, serve, query,
// count), on loopback; the query writes the findings of xref --rules
// device,ip over the holder's registry byte for byte, and both sides'
// stores record the exchanges in their audit logs.
func TestPSICommandLine(t *testing.T) {
	dir := t.TempDir()
	hs, qs := filepath.Join(dir, "ngo"), filepath.Join(dir, "hotline")
	code, hfp, stderr := run(t, "", "psi", "init", "--state", hs, "--name", "ngo")
	if code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	code, qfp, stderr := run(t, "", "psi", "init", "--state", qs, "--name", "hotline")
	if code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	if _, again, _ := run(t, "", "psi", "init", "--state", qs, "--name", "hotline"); again != qfp {
		t.Errorf("init again printed %q, first %q", again, qfp)
	}
	peers := filepath.Join(dir, "peers.txt")
	os.WriteFile(peers, []byte("# who may query\nhotline "+strings.TrimSpace(qfp)+"\n"), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var serveErr bytes.Buffer
	wg.Add(1)
	go func() {
		defer wg.Done()
		Run(ctx, []string{"psi", "serve", "--state", hs, "--peers", peers, "--compounds", small + "compounds.csv",
			"--indicators", small + "indicators.csv", "--shared", small + "shared.txt", "--listen", addr,
			"--min-reports", "1", "--data", filepath.Join(dir, "ngo-store")}, nil, &bytes.Buffer{}, &serveErr)
	}()
	defer func() { cancel(); wg.Wait() }()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 600 {
			t.Fatalf("serve did not listen: %s", serveErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	reports := []string{"--reports", small + "reports.jsonl", "--reports", small + "reports2.jsonl"}
	client := []string{"--state", qs, "--peer", "https://" + addr, "--peer-fingerprint", strings.TrimSpace(hfp)}
	out := filepath.Join(dir, "psi-out")
	args := append(append(append([]string{"psi", "query"}, client...), reports...), "--out", out, "--data", filepath.Join(dir, "hotline-store"))
	code, stdout, stderr := run(t, "", args...)
	if code != 0 {
		t.Fatalf("query: %d %s", code, stderr)
	}
	if !strings.Contains(stdout, "tied") {
		t.Errorf("query printed no summary: %s", stdout)
	}
	ref := filepath.Join(dir, "xref-out")
	if code, _, stderr := run(t, "", append(smallArgs(ref), "--rules", "device,ip")...); code != 0 {
		t.Fatalf("xref: %s", stderr)
	}
	want, _ := os.ReadFile(filepath.Join(ref, "findings.jsonl"))
	got, _ := os.ReadFile(filepath.Join(out, "findings.jsonl"))
	if len(want) == 0 || !bytes.Equal(want, got) {
		t.Errorf("findings differ:\nxref:\n%s\npsi:\n%s", want, got)
	}
	// The reports' rejections are the querier's, line for line; the
	// registry's are the holder's.
	var wr []byte
	all, _ := os.ReadFile(filepath.Join(ref, "rejected.jsonl"))
	for _, line := range bytes.SplitAfter(all, []byte("\n")) {
		if bytes.Contains(line, []byte(`"file":"`+small+`reports`)) {
			wr = append(wr, line...)
		}
	}
	gr, _ := os.ReadFile(filepath.Join(out, "rejected.jsonl"))
	if len(wr) == 0 || !bytes.Equal(wr, gr) {
		t.Errorf("rejected differ:\nxref:\n%s\npsi:\n%s", wr, gr)
	}
	// A wrong pin is refused before anything is sent.
	bad := append([]string{"psi", "count", "--state", qs, "--peer", "https://" + addr, "--peer-fingerprint", "sha256:" + strings.Repeat("0", 64)}, reports...)
	if code, _, stderr := run(t, "", bad...); code != 1 || !strings.Contains(stderr, "not pinned") {
		t.Errorf("a wrong pin: %d %s", code, stderr)
	}
	code, stdout, stderr = run(t, "", append(append([]string{"psi", "count"}, client...), reports...)...)
	if code != 0 {
		t.Fatalf("count: %d %s", code, stderr)
	}
	var counted struct {
		Tied int `json:"tied_reports"`
	}
	if err := json.Unmarshal([]byte(stdout), &counted); err != nil || counted.Tied == 0 {
		t.Errorf("count printed %s (%v)", stdout, err)
	}
	cancel()
	wg.Wait()
	// Served again with the same store, the holder counts what the peer
	// took today: a budget of just the query's items is spent.
	var st struct {
		Items int `json:"items"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "psi.json"))
	if err := json.Unmarshal(b, &st); err != nil || st.Items == 0 {
		t.Fatalf("psi.json: %s (%v)", b, err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		Run(ctx2, []string{"psi", "serve", "--state", hs, "--peers", peers, "--compounds", small + "compounds.csv",
			"--indicators", small + "indicators.csv", "--listen", addr, "--daily-items", strconv.Itoa(st.Items),
			"--data", filepath.Join(dir, "ngo-store")}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 600 {
			t.Fatal("serve did not listen again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, _, stderr = run(t, "", args...)
	cancel2()
	wg.Wait()
	if code != 1 || !strings.Contains(stderr, "budget") {
		t.Errorf("a query beyond the day's budget after a restart: %d %s", code, stderr)
	}
	for side, action := range map[string]string{"ngo-store": "psi.serve", "hotline-store": "psi.query"} {
		code, list, stderr := run(t, "", "audit", "list", "--data", filepath.Join(dir, side), "--action", action)
		if code != 0 || !strings.Contains(list, "items=") {
			t.Errorf("%s audit: %d %s %s", side, code, list, stderr)
		}
	}
}

// TestPSIManualDocumentsEveryFlag: every flag psi.go defines is in seams
// help psi.
func TestPSIManualDocumentsEveryFlag(t *testing.T) {
	src, err := os.ReadFile("psi.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range regexp.MustCompile(`fs\.\w*Var\([^,]+, "([a-z-]+)"`).FindAllSubmatch(src, -1) {
		n++
		if !strings.Contains(psiCommand.usage, "--"+string(m[1])) {
			t.Errorf("seams help psi does not document --%s", m[1])
		}
	}
	for _, f := range []string{"data", "db"} { // registered by storeArgs
		if !strings.Contains(psiCommand.usage, "--"+f) {
			t.Errorf("seams help psi does not document --%s", f)
		}
	}
	if n < 20 {
		t.Errorf("found only %d flags in psi.go: the pattern no longer reads it", n)
	}
}

// TestPSIReverseCommandLine: the reverse direction from the command line:
// the hotline serves its reports, the registry's holder queries with its
// registry and gets the findings of xref --rules device,ip byte for byte.
func TestPSIReverseCommandLine(t *testing.T) {
	dir := t.TempDir()
	hs, qs := filepath.Join(dir, "hotline"), filepath.Join(dir, "ngo")
	_, hfp, _ := run(t, "", "psi", "init", "--state", hs, "--name", "hotline")
	_, qfp, _ := run(t, "", "psi", "init", "--state", qs, "--name", "ngo")
	peers := filepath.Join(dir, "peers.txt")
	os.WriteFile(peers, []byte("ngo "+strings.TrimSpace(qfp)+"\n"), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		Run(ctx, []string{"psi", "serve", "--state", hs, "--peers", peers, "--reports", small + "reports.jsonl",
			"--reports", small + "reports2.jsonl", "--listen", addr}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	defer func() { cancel(); wg.Wait() }()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 600 {
			t.Fatal("serve did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := filepath.Join(dir, "out")
	code, _, stderr := run(t, "", "psi", "query", "--state", qs, "--peer", "https://"+addr, "--peer-fingerprint", strings.TrimSpace(hfp),
		"--compounds", small+"compounds.csv", "--indicators", small+"indicators.csv", "--shared", small+"shared.txt", "--out", out)
	if code != 0 {
		t.Fatalf("query: %d %s", code, stderr)
	}
	ref := filepath.Join(dir, "ref")
	if code, _, stderr := run(t, "", append(smallArgs(ref), "--rules", "device,ip")...); code != 0 {
		t.Fatalf("xref: %s", stderr)
	}
	want, _ := os.ReadFile(filepath.Join(ref, "findings.jsonl"))
	got, _ := os.ReadFile(filepath.Join(out, "findings.jsonl"))
	if len(want) == 0 || !bytes.Equal(want, got) {
		t.Errorf("findings differ:\nxref:\n%s\npsi:\n%s", want, got)
	}
	// Reports against a holder of reports is refused, saying why.
	if code, _, stderr := run(t, "", "psi", "query", "--state", qs, "--peer", "https://"+addr, "--peer-fingerprint", strings.TrimSpace(hfp),
		"--reports", small+"reports.jsonl", "--out", filepath.Join(dir, "x")); code != 1 || !strings.Contains(stderr, "serves reports") {
		t.Errorf("reports against reports: %d %s", code, stderr)
	}
}
