package psinet

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/psi"
)

// Registry is what a holder matches privately: its compounds, its ip and
// device indicators (others have no items) and the shared-space prefixes
// it publishes, so that the querier weakens evidence as a
// cross-reference over the holder's registry would.
type Registry struct {
	Compounds  []seams.Compound
	Indicators []seams.Indicator
	Shared     []netip.Prefix
}

// Source is what a holder's table is built from: a registry (the
// holder of compounds serves) or reports (the reverse direction).
type Source interface {
	// Fill adds the source's items to a builder of a new table.
	Fill(b *psi.Builder) error
	// LabelCompounds are the compounds of the labels (none for reports).
	LabelCompounds() []seams.Compound
	// Serves says what the labels describe: "registry" or "reports".
	Serves() string
}

// Fill adds the registry's indicators.
func (r *Registry) Fill(b *psi.Builder) error {
	for i := range r.Indicators {
		if err := b.Add(&r.Indicators[i]); err != nil {
			return err
		}
	}
	return nil
}

// LabelCompounds returns the registry's compounds.
func (r *Registry) LabelCompounds() []seams.Compound { return r.Compounds }

// Serves returns "registry".
func (r *Registry) Serves() string { return "registry" }

// HolderOptions configures a holder. NewHolderOptions fills the defaults.
type HolderOptions struct {
	Name   string // how the holder calls itself in its hello
	Peers  []Peer
	Expand psi.ExpandOptions
	Fields psi.LabelField // optional label fields revealed
	// Limits, per peer: elements per evaluation request, items per
	// session, items per UTC day over all sessions (count sessions count
	// every element sent, padding included), items per second, and the
	// fewest report groups a count session may have.
	MaxBatch, MaxItems, DailyItems, RatePerSec, MinReports int
	// SessionIdle ends a session no request touched for this long.
	SessionIdle time.Duration
	Count       bool // allow count-only sessions
	Workers     int  // goroutines evaluating; 0 means GOMAXPROCS
	// Audit records every exchange when it ends (nil: none).
	Audit  func(Exchange)
	Logger *slog.Logger
	Now    func() time.Time
}

// NewHolderOptions returns the defaults: batches of 4096, 20 million items
// a session and 40 million a day per peer, 200,000 items a second, count
// sessions of at least 100 reports, sessions ended after 10 idle minutes.
func NewHolderOptions() HolderOptions {
	return HolderOptions{Expand: psi.NewExpandOptions(), Fields: psi.DefaultLabelFields, MaxBatch: 4096,
		MaxItems: 20_000_000, DailyItems: 40_000_000, RatePerSec: 200_000, MinReports: 100,
		SessionIdle: 10 * time.Minute, Count: true, Logger: slog.New(slog.DiscardHandler), Now: time.Now}
}

// Exchange is the audit record of one session, as each side keeps it.
type Exchange struct {
	Peer    string
	Mode    string // labels or count
	Session string
	Epoch   uint64
	Items   int // items evaluated (count: elements, padding included)
	Batches int // evaluation requests
	Reports int // count: report groups
	Matches int // querier only: items that opened a label; count: reports tied or potential
	Started time.Time
	Ended   time.Time
	End     string // closed, idle, rotated, shutdown, refused, failed
}

// Detail renders an exchange for an audit entry's detail.
func (e *Exchange) Detail() string {
	s := fmt.Sprintf("mode=%s session=%s epoch=%d items=%d batches=%d", e.Mode, e.Session, e.Epoch, e.Items, e.Batches)
	if e.Mode == "count" {
		s += fmt.Sprintf(" reports=%d", e.Reports)
	}
	if e.Matches >= 0 {
		s += fmt.Sprintf(" matches=%d", e.Matches)
	}
	return s + fmt.Sprintf(" started=%s ended=%s end=%s", e.Started.UTC().Format(time.RFC3339), e.Ended.UTC().Format(time.RFC3339), e.End)
}

// epochState is what a holder serves in one epoch.
type epochState struct {
	key   *psi.Key
	table []byte // WriteTable's bytes
	t     *psi.Table
}

type session struct {
	id      string
	peer    string
	epoch   uint64
	day     psi.Day
	items   int // reserved
	used    int
	batches int
	started time.Time
	last    time.Time
	busy    int
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Holder is the holder's server of private matching.
type Holder struct {
	o        HolderOptions
	src      Source
	reg      *Registry // when src is one: count sessions and shared space
	shared   []byte    // the shared prefixes, one a line
	lim      psi.Limits
	mu       sync.Mutex
	cur      *epochState
	sessions map[string]*session
	used     map[string]map[psi.Day]int // items reserved or used, per peer and day
	buckets  map[string]*bucket
}

// NewHolder builds the table of key's epoch over reg and returns the
// server.
func NewHolder(reg *Registry, key *psi.Key, o HolderOptions) (*Holder, error) {
	return NewSourceHolder(reg, key, o)
}

// NewSourceHolder is NewHolder over any source: a holder of reports
// serves labels of events, and no count sessions (o.Count is ignored).
func NewSourceHolder(src Source, key *psi.Key, o HolderOptions) (*Holder, error) {
	reg, _ := src.(*Registry)
	if reg == nil {
		o.Count = false
		reg = &Registry{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Holder{o: o, src: src, reg: reg, lim: psi.NewLimits(), sessions: map[string]*session{}, used: map[string]map[psi.Day]int{}, buckets: map[string]*bucket{}}
	h.lim.MaxBatch = o.MaxBatch
	var sb bytes.Buffer
	for _, p := range reg.Shared {
		sb.WriteString(p.String())
		sb.WriteByte('\n')
	}
	h.shared = sb.Bytes()
	st, err := h.build(key)
	if err != nil {
		return nil, err
	}
	h.cur = st
	return h, nil
}

// Spent counts n items as already taken by peer on day: what an audit log
// says earlier runs of the server gave, so that a restart does not give
// a peer its day's budget again.
func (h *Holder) Spent(peer string, day psi.Day, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reserve(peer, day, n)
}

// Table returns the current epoch's table.
func (h *Holder) Table() *psi.Table {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur.t
}

func (h *Holder) build(key *psi.Key) (*epochState, error) {
	start := time.Now()
	b := psi.NewBuilder(key, h.o.Expand, h.o.Fields, h.src.LabelCompounds())
	if err := h.src.Fill(b); err != nil {
		return nil, err
	}
	items, labels := b.Items(), b.LabelCount()
	t, err := b.Build(h.o.Workers)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := psi.WriteTable(&buf, t); err != nil {
		return nil, err
	}
	h.o.Logger.Info("psi table built", "epoch", key.Epoch, "items", items, "labels", labels,
		"bytes", buf.Len(), "took", time.Since(start).Round(time.Millisecond))
	return &epochState{key: key, table: buf.Bytes(), t: t}, nil
}

// Rotate builds the table of a new key and serves it from then on. The
// sessions of the old epoch end (audited as rotated): their outputs would
// open nothing in the new table, and the old key is forgotten.
func (h *Holder) Rotate(key *psi.Key) error {
	st, err := h.build(key)
	if err != nil {
		return err
	}
	h.mu.Lock()
	old := h.cur.key.Epoch
	h.cur = st
	ended := h.endSessions(func(s *session) bool { return s.epoch == old }, "rotated")
	h.mu.Unlock()
	h.audit(ended)
	return nil
}

// Close ends every session (audited as shutdown).
func (h *Holder) Close() {
	h.mu.Lock()
	ended := h.endSessions(func(*session) bool { return true }, "shutdown")
	h.mu.Unlock()
	h.audit(ended)
}

// endSessions removes the sessions that match and returns their records;
// h.mu is held.
func (h *Holder) endSessions(match func(*session) bool, why string) []Exchange {
	var out []Exchange
	now := h.o.Now()
	for id, s := range h.sessions {
		if match(s) {
			delete(h.sessions, id)
			h.used[s.peer][s.day] -= s.items - s.used // give back what was not used
			out = append(out, Exchange{Peer: s.peer, Mode: "labels", Session: s.id, Epoch: s.epoch, Items: s.used,
				Batches: s.batches, Matches: -1, Started: s.started, Ended: now, End: why})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Session < out[j].Session })
	return out
}

func (h *Holder) audit(es []Exchange) {
	for i := range es {
		h.o.Logger.Info("psi exchange", "peer", es[i].Peer, "mode", es[i].Mode, "items", es[i].Items, "end", es[i].End)
		if h.o.Audit != nil {
			h.o.Audit(es[i])
		}
	}
}

// Expire ends the sessions idle for longer than SessionIdle. The server
// calls it on every request; a caller may call it on a timer.
func (h *Holder) Expire() {
	h.mu.Lock()
	now := h.o.Now()
	ended := h.endSessions(func(s *session) bool { return s.busy == 0 && now.Sub(s.last) > h.o.SessionIdle }, "idle")
	h.mu.Unlock()
	h.audit(ended)
}

// Errors a querier can act on, sent with their HTTP status.
var (
	ErrBudget       = errors.New("daily item budget spent")
	ErrTooMany      = errors.New("more items than a session may have")
	ErrNoSession    = errors.New("no such session (ended, idle, or another peer's)")
	ErrEpochChanged = errors.New("the holder's key was rotated: start again")
)

type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }

func fail(code int, format string, a ...any) error {
	return &httpError{code, fmt.Errorf(format, a...)}
}

// ServeHTTP serves the protocol's routes under /psi/v1/.
func (h *Holder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.Expire()
	p, ok := peerOf(r.TLS, h.o.Peers)
	if !ok {
		writeError(w, fail(http.StatusUnauthorized, "unknown peer"))
		return
	}
	var err error
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/psi/v1/hello":
		err = h.hello(w, p)
	case r.Method == http.MethodGet && r.URL.Path == "/psi/v1/table":
		h.mu.Lock()
		st := h.cur
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(st.table)))
		w.Write(st.table)
	case r.Method == http.MethodGet && r.URL.Path == "/psi/v1/shared":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(h.shared)
	case r.Method == http.MethodPost && r.URL.Path == "/psi/v1/sessions":
		err = h.open(w, r, p)
	case r.Method == http.MethodPost && r.URL.Path == "/psi/v1/count":
		err = h.count(w, r, p)
	case r.Method == http.MethodPost && len(r.URL.Path) > len("/psi/v1/sessions/"):
		id, op, _ := cutLast(r.URL.Path[len("/psi/v1/sessions/"):])
		switch op {
		case "eval":
			err = h.eval(w, r, p, id)
		case "close":
			err = h.close(w, p, id)
		default:
			err = fail(http.StatusNotFound, "no route %s", r.URL.Path)
		}
	default:
		err = fail(http.StatusNotFound, "no route %s %s", r.Method, r.URL.Path)
	}
	if err != nil {
		writeError(w, err)
	}
}

func cutLast(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusBadRequest
	var he *httpError
	if errors.As(err, &he) {
		code = he.code
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

// itemsLeft returns how many items peer may still use today; h.mu is held.
func (h *Holder) itemsLeft(peer string, day psi.Day) int {
	return max(0, h.o.DailyItems-h.used[peer][day])
}

func (h *Holder) reserve(peer string, day psi.Day, n int) {
	m := h.used[peer]
	if m == nil {
		m = map[psi.Day]int{}
		h.used[peer] = m
	}
	m[day] += n
}

func (h *Holder) hello(w http.ResponseWriter, p Peer) error {
	h.mu.Lock()
	st := h.cur
	left := h.itemsLeft(p.Name, psi.DayOf(h.o.Now()))
	h.mu.Unlock()
	modes := []string{"labels"}
	if h.o.Count {
		modes = append(modes, "count")
	}
	return writeJSON(w, &psi.Hello{Protocol: psi.Protocol, Suite: psi.SuiteName, Holder: h.o.Name, Peer: p.Name, Serves: h.src.Serves(),
		Epoch: st.key.Epoch, Families: st.t.Families.Names(), LabelFields: h.o.Fields.Names(),
		Entries: st.t.Len(), Labels: len(st.t.Labels), Shared: len(h.reg.Shared), Modes: modes,
		Limits: psi.HelloLimits{MaxBatch: h.o.MaxBatch, MaxItems: h.o.MaxItems, DailyItems: h.o.DailyItems, ItemsLeft: left,
			RatePerSec: h.o.RatePerSec, MinReports: h.o.MinReports, SessionIdle: int(h.o.SessionIdle / time.Second)}})
}

// SessionRequest opens a session of Items items.
type SessionRequest struct {
	Items int `json:"items"`
}

// SessionResponse names the session and its epoch.
type SessionResponse struct {
	Session string `json:"session"`
	Epoch   uint64 `json:"epoch"`
}

func (h *Holder) open(w http.ResponseWriter, r *http.Request, p Peer) error {
	var req SessionRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		return fail(http.StatusBadRequest, "session request: %v", err)
	}
	if req.Items < 1 || req.Items > h.o.MaxItems {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %d items (1 to %d)", ErrTooMany, req.Items, h.o.MaxItems)}
	}
	var id [16]byte
	rand.Read(id[:])
	now := h.o.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	day := psi.DayOf(now)
	if left := h.itemsLeft(p.Name, day); req.Items > left {
		return &httpError{http.StatusTooManyRequests, fmt.Errorf("%w: %d items asked, %d left today", ErrBudget, req.Items, left)}
	}
	h.reserve(p.Name, day, req.Items)
	s := &session{id: hex.EncodeToString(id[:]), peer: p.Name, epoch: h.cur.key.Epoch, day: day, items: req.Items, started: now, last: now}
	h.sessions[s.id] = s
	return writeJSON(w, &SessionResponse{Session: s.id, Epoch: s.epoch})
}

// take waits until peer may evaluate n more items under the rate limit.
func (h *Holder) take(r *http.Request, peer string, n int) error {
	if h.o.RatePerSec <= 0 {
		return nil
	}
	h.mu.Lock()
	b := h.buckets[peer]
	now := h.o.Now()
	burst := float64(max(h.o.RatePerSec, h.o.MaxBatch))
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		h.buckets[peer] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*float64(h.o.RatePerSec))
	b.last = now
	b.tokens -= float64(n)
	wait := time.Duration(0)
	if b.tokens < 0 {
		wait = time.Duration(-b.tokens / float64(h.o.RatePerSec) * float64(time.Second))
	}
	h.mu.Unlock()
	if wait == 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.Context().Done():
		return r.Context().Err()
	}
}

func (h *Holder) eval(w http.ResponseWriter, r *http.Request, p Peer, id string) error {
	req, err := psi.ReadEvalRequest(http.MaxBytesReader(w, r.Body, int64(h.o.MaxBatch*psi.ElementSize+64)), h.lim)
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	n := len(req.Elements) / psi.ElementSize
	h.mu.Lock()
	s := h.sessions[id]
	switch {
	case s == nil || s.peer != p.Name:
		h.mu.Unlock()
		return &httpError{http.StatusNotFound, ErrNoSession}
	case s.epoch != h.cur.key.Epoch || req.Epoch != s.epoch:
		h.mu.Unlock()
		return &httpError{http.StatusConflict, ErrEpochChanged}
	case s.used+n > s.items:
		h.mu.Unlock()
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Errorf("%w: the session was opened for %d items, %d used", ErrTooMany, s.items, s.used)}
	}
	s.used += n
	s.batches++
	s.busy++
	key := h.cur.key
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		s.busy--
		s.last = h.o.Now()
		h.mu.Unlock()
	}()
	if err := h.take(r, p.Name, n); err != nil {
		return err
	}
	out := make([]byte, len(req.Elements))
	if err := key.Evaluate(out, req.Elements); err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, err = w.Write(psi.AppendEvalResponse(nil, &psi.EvalResponse{Epoch: key.Epoch, Elements: out}))
	return err
}

// CloseResponse says what the holder recorded of a session.
type CloseResponse struct {
	Items   int `json:"items"`
	Batches int `json:"batches"`
}

func (h *Holder) close(w http.ResponseWriter, p Peer, id string) error {
	h.mu.Lock()
	s := h.sessions[id]
	if s == nil || s.peer != p.Name {
		h.mu.Unlock()
		return &httpError{http.StatusNotFound, ErrNoSession}
	}
	ended := h.endSessions(func(x *session) bool { return x == s }, "closed")
	h.mu.Unlock()
	h.audit(ended)
	return writeJSON(w, &CloseResponse{Items: s.used, Batches: s.batches})
}

func (h *Holder) count(w http.ResponseWriter, r *http.Request, p Peer) error {
	if !h.o.Count {
		return fail(http.StatusForbidden, "this holder does not allow count sessions")
	}
	lim := h.lim
	lim.MaxElements, lim.MaxGroups = h.o.MaxItems, h.o.MaxItems
	req, err := psi.ReadCountRequest(http.MaxBytesReader(w, r.Body, int64(h.o.MaxItems)*(psi.ElementSize+1)+64), lim)
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	n := len(req.Elements) / psi.ElementSize
	if len(req.Sizes) < h.o.MinReports {
		return fail(http.StatusBadRequest, "a count session needs at least %d reports (got %d)", h.o.MinReports, len(req.Sizes))
	}
	now := h.o.Now()
	day := psi.DayOf(now)
	h.mu.Lock()
	if left := h.itemsLeft(p.Name, day); n > left {
		h.mu.Unlock()
		return &httpError{http.StatusTooManyRequests, fmt.Errorf("%w: %d elements sent, %d left today", ErrBudget, n, left)}
	}
	h.reserve(p.Name, day, n)
	epoch := h.cur.key.Epoch
	h.mu.Unlock()
	var id [16]byte
	rand.Read(id[:])
	e := Exchange{Peer: p.Name, Mode: "count", Session: hex.EncodeToString(id[:]), Epoch: epoch, Items: n, Batches: 1,
		Reports: len(req.Sizes), Matches: -1, Started: now, End: "closed"}
	if err := h.take(r, p.Name, n); err != nil {
		return err
	}
	b := psi.NewCountSecret()
	items, err := psi.CountHolderItems(h.reg.Indicators, req.From, req.To, h.o.Expand.Undated, h.o.MaxItems)
	if err != nil {
		e.Ended, e.End = h.o.Now(), "refused"
		h.audit([]Exchange{e})
		return fail(http.StatusRequestEntityTooLarge, "%v", err)
	}
	resp, err := b.AnswerCount(req, h.reg.Compounds, items, h.o.Fields, h.o.Workers)
	e.Ended = h.o.Now()
	if err != nil {
		e.End = "failed"
		h.audit([]Exchange{e})
		return fail(http.StatusBadRequest, "%v", err)
	}
	h.audit([]Exchange{e})
	w.Header().Set("Content-Type", "application/octet-stream")
	_, err = w.Write(psi.AppendCountResponse(nil, resp))
	return err
}
