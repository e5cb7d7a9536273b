package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServeUsage(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no store", []string{"serve"}, 2, "missing --data DIR"},
		{"beyond loopback in the clear", []string{"serve", "--data", data, "--listen", "0.0.0.0:8080"}, 2, "not a loopback address"},
		{"half of TLS", []string{"serve", "--data", data, "--tls-cert", "c.pem"}, 2, "--tls-cert and --tls-key go together"},
		{"bad listen", []string{"serve", "--data", data, "--listen", "8080"}, 2, "want host:port"},
		{"tiny upload limit", []string{"serve", "--data", data, "--max-upload", "10"}, 2, "too small"},
		{"bad log format", []string{"serve", "--data", data, "--log-format", "xml"}, 2, "--log-format"},
		{"negative rate", []string{"serve", "--data", data, "--rate", "-1"}, 2, "--rate"},
		{"bad lift value", []string{"serve", "--data", data, "--lift-cap", "nope"}, 2, "--lift-cap: "},
		{"shared ASNs without an ASN database", []string{"serve", "--data", data, "--shared-asn", "AS14593"}, 2, "--shared-asn: shared ASNs need an ASN database"},
		{"preset of ASes without an ASN database", []string{"serve", "--data", data, "--shared-preset", "satellite"}, 2, "--shared-preset: preset satellite lists autonomous systems"},
		{"missing database", []string{"serve", "--data", data, "--asn-db", "x.mmdb"}, 1, "x.mmdb"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, "", c.args...)
			if code != c.code || !strings.Contains(stderr, c.says) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.says)
			}
		})
	}
	if os.Geteuid() == 0 {
		code, _, stderr := run(t, "", "serve", "--data", data, "--listen", "127.0.0.1:0")
		if code != 1 || !strings.Contains(stderr, "refusing to run as root") {
			t.Errorf("as root without --allow-root: exit %d, %q", code, stderr)
		}
	}
	var b strings.Builder
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`fs\.\w+\(&?[\w.]+, "([a-z-]+)"`).FindAllStringSubmatch(serveSource(t), -1) {
		flags[m[1]] = true
	}
	for f := range flags {
		if !strings.Contains(serveCommand.usage, "--"+f) {
			b.WriteString(" --" + f)
		}
	}
	if b.Len() > 0 {
		t.Errorf("seams help serve does not document%s", b.String())
	}
}

func serveSource(t *testing.T) string {
	b, err := os.ReadFile("serve.go")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lockedBuffer is written by the server's goroutines and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// seams serve starts on a store, answers, and stops cleanly when its
// context ends (as on SIGTERM).
func TestServeStartsAndStops(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--allow-root"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	url := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+/)`)
	var base string
	for i := 0; i < 1000 && base == ""; i++ {
		if m := url.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("seams serve exited %d: %s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if base == "" {
		t.Fatalf("seams serve did not say where it listens: %s", stderr.String())
	}
	resp, err := http.Get(base + "api/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health: %d", resp.StatusCode)
	}
	resp, err = http.Get(base + "api/summary")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("summary without a token: %d, want 401", resp.StatusCode)
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after the stop: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shut down") {
		t.Errorf("no word of the shutdown in the log: %s", stderr.String())
	}
}
