package psinet

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seams-dev/seams/psi"
)

// Client is the querier's side of the protocol, talking to one holder.
type Client struct {
	base string
	hc   *http.Client
	lim  psi.Limits
	// Sent and Received count the bytes of request and response bodies.
	Sent, Received atomic.Int64
}

// NewClient returns a client of the holder at base (https://host:port)
// over conf (ClientTLS).
func NewClient(base string, conf *tls.Config) *Client {
	tr := &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 8,
		IdleConnTimeout: time.Minute, TLSHandshakeTimeout: 30 * time.Second}
	return &Client{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr}, lim: psi.NewLimits()}
}

// Base returns the holder's address.
func (c *Client) Base() string { return c.base }

// ErrHolder is the cause of the errors the holder answered with.
var ErrHolder = errors.New("holder refused")

// do sends a request and returns the response body, or the holder's error.
func (c *Client) do(ctx context.Context, method, path string, body []byte, max int64) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		c.Sent.Add(int64(len(body)))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	c.Received.Add(int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s %s: answer longer than %d bytes", method, path, max)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b[:min(len(b), 200)]))
		}
		err := fmt.Errorf("%s %s: %w (HTTP %d): %s", method, path, ErrHolder, resp.StatusCode, e.Error)
		if resp.StatusCode == http.StatusConflict {
			err = fmt.Errorf("%w: %w", ErrEpochChanged, err)
		}
		return nil, err
	}
	return b, nil
}

// Hello asks the holder what it serves and the limits in force.
func (c *Client) Hello(ctx context.Context) (*psi.Hello, error) {
	b, err := c.do(ctx, http.MethodGet, "/psi/v1/hello", nil, 1<<16)
	if err != nil {
		return nil, err
	}
	return psi.ParseHello(b)
}

// Table downloads the holder's table of the current epoch.
func (c *Client) Table(ctx context.Context) (*psi.Table, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/psi/v1/table", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("table: %w (HTTP %d)", ErrHolder, resp.StatusCode)
	}
	cr := &countingReader{r: resp.Body}
	t, err := psi.ReadTable(cr, c.lim)
	c.Received.Add(cr.n)
	return t, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Shared returns the shared-space prefixes the holder publishes.
func (c *Client) Shared(ctx context.Context) ([]netip.Prefix, error) {
	b, err := c.do(ctx, http.MethodGet, "/psi/v1/shared", nil, 1<<28)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for i, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		p, err := netip.ParsePrefix(line)
		if err != nil {
			return nil, fmt.Errorf("shared: line %d: %w", i+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Open opens a session for items items.
func (c *Client) Open(ctx context.Context, items int) (*SessionResponse, error) {
	body, _ := json.Marshal(&SessionRequest{Items: items})
	b, err := c.do(ctx, http.MethodPost, "/psi/v1/sessions", body, 4096)
	if err != nil {
		return nil, err
	}
	var s SessionResponse
	if err := json.Unmarshal(b, &s); err != nil || s.Session == "" {
		return nil, fmt.Errorf("session: %w: %s", psi.ErrMessage, b)
	}
	return &s, nil
}

// Eval has the holder evaluate a batch of blinded elements.
func (c *Client) Eval(ctx context.Context, s *SessionResponse, elements []byte) ([]byte, error) {
	n := len(elements) / psi.ElementSize
	b, err := c.do(ctx, http.MethodPost, "/psi/v1/sessions/"+s.Session+"/eval",
		psi.AppendEvalRequest(nil, &psi.EvalRequest{Epoch: s.Epoch, Elements: elements}), int64(n*psi.ElementSize+64))
	if err != nil {
		return nil, err
	}
	r, err := psi.ReadEvalResponse(bytes.NewReader(b), n)
	if err != nil {
		return nil, err
	}
	if r.Epoch != s.Epoch {
		return nil, ErrEpochChanged
	}
	return r.Elements, nil
}

// Close ends a session; the holder records it.
func (c *Client) Close(ctx context.Context, s *SessionResponse) (*CloseResponse, error) {
	b, err := c.do(ctx, http.MethodPost, "/psi/v1/sessions/"+s.Session+"/close", []byte{}, 4096)
	if err != nil {
		return nil, err
	}
	var r CloseResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("close: %w: %s", psi.ErrMessage, b)
	}
	return &r, nil
}

// Count runs a count session.
func (c *Client) Count(ctx context.Context, req *psi.CountRequest) (*psi.CountResponse, error) {
	b, err := c.do(ctx, http.MethodPost, "/psi/v1/count", psi.AppendCountRequest(nil, req), 1<<34)
	if err != nil {
		return nil, err
	}
	return psi.ReadCountResponse(bytes.NewReader(b), req, c.lim)
}
