package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// uploadGate admits uploads so that no client can hold what another
// organisation needs. Receiving a body is the client's pace, loading it the
// store's: an upload is admitted for receiving by its token's and its
// organisation's allowance (and a bound on all bodies being received, for
// the server's sake), and only once its body is in does it wait for one of
// the few load slots. A client that trickles its body in holds its own
// organisation's allowance, never a load slot, and is cut off once it is
// slower than the minimum rate for longer than the grace period
// (rateReader).
type uploadGate struct {
	perOrg, perToken, total int

	mu      sync.Mutex
	byOrg   map[string]int
	byToken map[string]int
	active  int
}

func newUploadGate(perOrg, perToken, total int) *uploadGate {
	return &uploadGate{perOrg: perOrg, perToken: perToken, total: total, byOrg: map[string]int{}, byToken: map[string]int{}}
}

// admit takes an allowance of org and token, or says which limit refused
// it. release gives it back; it is safe to call once.
func (g *uploadGate) admit(org, token string) (release func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.byToken[token] >= g.perToken:
		return nil, &httpError{status: 429, retryAfter: 5,
			msg: fmt.Sprintf("this token has %d uploads in progress, its most at once; retry when one is done", g.byToken[token])}
	case g.byOrg[org] >= g.perOrg:
		return nil, &httpError{status: 429, retryAfter: 5,
			msg: fmt.Sprintf("organisation %s has %d uploads in progress, its most at once; retry when one is done", org, g.byOrg[org])}
	case g.active >= g.total:
		return nil, &httpError{status: 429, retryAfter: 5, msg: "too many uploads in progress on this server; retry later"}
	}
	g.byToken[token]++
	g.byOrg[org]++
	g.active++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.active--
			if g.byToken[token]--; g.byToken[token] == 0 {
				delete(g.byToken, token)
			}
			if g.byOrg[org]--; g.byOrg[org] == 0 {
				delete(g.byOrg, org)
			}
		})
	}, nil
}

// errTooSlow: an upload's body came in slower than the minimum rate for
// longer than the grace period.
var errTooSlow = errors.New("upload too slow")

// rateReader reads an upload's body and cuts it off when, over a window of
// grace, fewer than min bytes a second came in: a client sending a byte
// every few seconds would otherwise hold its connection, its allowance and
// a temporary file for the whole upload timeout. Each window starts when
// the last one ended with enough bytes. The connection's read deadline is
// kept at grace after the last byte (extend), so that a client sending
// nothing at all is cut off too, not only one whose bytes trickle in. The
// windows go by the server's clock (a test's clock decides when one
// ends); the deadline is the connection's, in wall time.
type rateReader struct {
	r      io.Reader
	now    func() time.Time
	extend func(time.Duration) // moves the connection's read deadline to this long from now
	min    float64             // bytes a second
	grace  time.Duration

	start time.Time
	n     int64
}

func newRateReader(r io.Reader, now func() time.Time, extend func(time.Duration), min float64, grace time.Duration) *rateReader {
	rr := &rateReader{r: r, now: now, extend: extend, min: min, grace: grace, start: now()}
	if min > 0 {
		extend(grace)
	}
	return rr
}

func (rr *rateReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	rr.n += int64(n)
	if rr.min <= 0 {
		return n, err
	}
	now := rr.now()
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, fmt.Errorf("%w: nothing received for %v", errTooSlow, rr.grace)
	}
	if el := now.Sub(rr.start); el >= rr.grace {
		if float64(rr.n) < rr.min*el.Seconds() {
			return n, fmt.Errorf("%w: %d bytes in %v", errTooSlow, rr.n, el.Round(time.Second))
		}
		rr.start, rr.n = now, 0
	}
	if n > 0 {
		rr.extend(rr.grace)
	}
	return n, err
}
