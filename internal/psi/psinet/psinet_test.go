package psinet

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/psi"
)

func testRegistry(t *testing.T) *Registry {
	w, err := seams.ParseWindow("2024-03-01", "2024-03-10")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := seams.ParseIndicatorValue(seams.KindIP, "203.0.113.7")
	in.Compound, in.Window, in.Source = "c-a", w, "osint"
	return &Registry{Compounds: []seams.Compound{{ID: "c-a", Name: "Synthetic A", Country: "KH"}},
		Indicators: []seams.Indicator{in}, Shared: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}
}

type fixture struct {
	h       *Holder
	url     string
	holder  *Identity
	querier *Identity
	mu      sync.Mutex
	audited []Exchange
}

// serve starts a holder on loopback that pins the querier's certificate.
func serve(t *testing.T, o HolderOptions) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{}
	var err error
	if f.holder, _, err = LoadOrCreateIdentity(filepath.Join(dir, "holder"), "ngo"); err != nil {
		t.Fatal(err)
	}
	if f.querier, _, err = LoadOrCreateIdentity(filepath.Join(dir, "querier"), "hotline"); err != nil {
		t.Fatal(err)
	}
	o.Name = "ngo"
	o.Peers = []Peer{{Name: "hotline", Fingerprint: f.querier.Fingerprint}}
	o.Audit = func(e Exchange) { f.mu.Lock(); f.audited = append(f.audited, e); f.mu.Unlock() }
	key, err := psi.NewKey(1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f.h, err = NewHolder(testRegistry(t), key, o); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f.h, TLSConfig: ServerTLS(f.holder, o.Peers)}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	f.url = "https://" + ln.Addr().String()
	return f
}

func (f *fixture) client() *Client {
	return NewClient(f.url, ClientTLS(f.querier, f.holder.Fingerprint))
}

// TestExchange: over loopback, with pinned certificates both ways, a
// querier reads the hello, the table and the shared space, evaluates its
// items in a session and opens the label of the one it holds; the holder
// records the session with the items it evaluated.
func TestExchange(t *testing.T) {
	f := serve(t, NewHolderOptions())
	c := f.client()
	ctx := context.Background()
	h, err := c.Hello(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Peer != "hotline" || h.Holder != "ngo" || h.Epoch != 1 || h.Entries != 10 || h.Labels != 1 || h.Shared != 1 {
		t.Errorf("hello: %+v", h)
	}
	table, err := c.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := c.Shared(ctx)
	if err != nil || len(shared) != 1 || shared[0].String() != "198.51.100.0/24" {
		t.Errorf("shared: %v, %v", shared, err)
	}
	items := [][]byte{psi.AppendIPDay(nil, netip.MustParseAddr("203.0.113.7"), psi.DayOf(time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC))),
		psi.AppendIPDay(nil, netip.MustParseAddr("203.0.113.8"), psi.DayOf(time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)))}
	s, err := c.Open(ctx, len(items))
	if err != nil {
		t.Fatal(err)
	}
	bl, err := psi.Blind(items)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := c.Eval(ctx, s, bl.Elements)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := bl.Finalize(ev)
	if err != nil {
		t.Fatal(err)
	}
	l0, err := table.Open(outs[0])
	if err != nil || len(l0) != 1 || l0[0].Label.Compound != "c-a" || l0[0].Label.Source != "osint" {
		t.Errorf("the held item opened %v, %v", l0, err)
	}
	if l1, err := table.Open(outs[1]); err != nil || len(l1) != 0 {
		t.Errorf("the other item opened %v, %v", l1, err)
	}
	// A session takes no more than it was opened for.
	if _, err := c.Eval(ctx, s, bl.Elements); !errors.Is(err, ErrHolder) {
		t.Errorf("a batch beyond the session's items: %v", err)
	}
	cl, err := c.Close(ctx, s)
	if err != nil || cl.Items != 2 {
		t.Fatalf("close: %+v, %v", cl, err)
	}
	if len(f.audited) != 1 || f.audited[0].Peer != "hotline" || f.audited[0].Items != 2 || f.audited[0].End != "closed" || f.audited[0].Matches != -1 {
		t.Errorf("audited %+v", f.audited)
	}
	if !strings.Contains(f.audited[0].Detail(), "items=2") || strings.Contains(f.audited[0].Detail(), "matches") {
		t.Errorf("detail %q", f.audited[0].Detail())
	}
	if c.Sent.Load() == 0 || c.Received.Load() == 0 {
		t.Error("bytes not counted")
	}
}

// TestPins: a holder refuses a querier whose certificate it did not pin,
// and a querier refuses a holder whose fingerprint is not the one pinned.
func TestPins(t *testing.T) {
	f := serve(t, NewHolderOptions())
	stranger, _, err := LoadOrCreateIdentity(filepath.Join(t.TempDir(), "x"), "stranger")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(f.url, ClientTLS(stranger, f.holder.Fingerprint)).Hello(context.Background()); err == nil {
		t.Error("an unpinned querier was served")
	}
	if _, err := NewClient(f.url, ClientTLS(f.querier, stranger.Fingerprint)).Hello(context.Background()); err == nil {
		t.Error("a holder with another certificate was trusted")
	}
}

// TestLimits: the daily budget, the session size and rotation are held to.
func TestLimits(t *testing.T) {
	o := NewHolderOptions()
	o.DailyItems, o.MaxItems = 10, 8
	f := serve(t, o)
	c := f.client()
	ctx := context.Background()
	if _, err := c.Open(ctx, 9); !errors.Is(err, ErrHolder) {
		t.Errorf("a session above MaxItems: %v", err)
	}
	s, err := c.Open(ctx, 8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(ctx, 3); !errors.Is(err, ErrHolder) || !strings.Contains(err.Error(), "budget") {
		t.Errorf("beyond the daily budget: %v", err)
	}
	h, _ := c.Hello(ctx)
	if h.Limits.ItemsLeft != 2 {
		t.Errorf("items left %d, want 2", h.Limits.ItemsLeft)
	}
	key2, _ := psi.NewKey(2, time.Now())
	if err := f.h.Rotate(key2); err != nil {
		t.Fatal(err)
	}
	bl, _ := psi.Blind([][]byte{psi.AppendIPAny(nil, netip.MustParseAddr("192.0.2.1"))})
	if _, err := c.Eval(ctx, s, bl.Elements); err == nil {
		t.Error("a session of the old epoch evaluated after rotation")
	}
	if len(f.audited) != 1 || f.audited[0].End != "rotated" {
		t.Errorf("audited %+v", f.audited)
	}
	// The unused reservation was given back: 10 - 0 used.
	if h, _ := c.Hello(ctx); h.Limits.ItemsLeft != 10 || h.Epoch != 2 {
		t.Errorf("after rotation: %d items left, epoch %d", h.Limits.ItemsLeft, h.Epoch)
	}
	// A count session needs MinReports groups.
	a := psi.NewCountSecret()
	g, _ := psi.CountGroup([][]byte{psi.AppendIPAny(nil, netip.MustParseAddr("192.0.2.1"))}, nil, a, a)
	if _, err := c.Count(ctx, &psi.CountRequest{From: 1, To: 2, Sizes: []int{len(g) / psi.ElementSize}, Elements: g}); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Errorf("a count session of one report: %v", err)
	}
}

// TestIdle: a session idle past SessionIdle ends, audited as idle.
func TestIdle(t *testing.T) {
	o := NewHolderOptions()
	now := time.Now()
	var mu sync.Mutex
	o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := serve(t, o)
	c := f.client()
	s, err := c.Open(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(o.SessionIdle + time.Second)
	mu.Unlock()
	f.h.Expire()
	if len(f.audited) != 1 || f.audited[0].End != "idle" {
		t.Errorf("audited %+v", f.audited)
	}
	if _, err := c.Close(context.Background(), s); !errors.Is(err, ErrHolder) {
		t.Errorf("closing an expired session: %v", err)
	}
}

// TestParsePeers: a peers file's lines, and the mistakes it names.
func TestParsePeers(t *testing.T) {
	fp := "sha256:" + strings.Repeat("ab", 32)
	ps, err := ParsePeers(strings.NewReader("# peers\nhotline-a "+strings.ToUpper(fp)+"\n\n"), "peers.txt")
	if err != nil || len(ps) != 1 || ps[0].Name != "hotline-a" || ps[0].Fingerprint != fp {
		t.Fatalf("%+v, %v", ps, err)
	}
	for _, bad := range []string{"a", "a b c", "a sha256:12", "a b" + fp, "bad/name " + fp, "a " + fp + "\na " + strings.Replace(fp, "ab", "cd", 1), "a " + fp + "\nb " + fp} {
		if _, err := ParsePeers(strings.NewReader(bad), "peers.txt"); err == nil || !strings.Contains(err.Error(), "peers.txt:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// FuzzParsePeers: never panics; every peer it returns has a valid name and
// a normalized fingerprint.
func FuzzParsePeers(f *testing.F) {
	f.Add("hotline sha256:" + strings.Repeat("0", 64) + "\n# x\n")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePeers(strings.NewReader(s), "f")
		if err != nil {
			return
		}
		for _, p := range ps {
			if !peerName.MatchString(p.Name) || !fingerprintPattern.MatchString(p.Fingerprint) {
				t.Fatalf("peer %+v", p)
			}
		}
	})
}
