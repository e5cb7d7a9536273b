// Package server is seams' HTTP API and web dashboard over a case store:
// JSON over HTTP under /api/ (documented in docs/api.md and served as an
// OpenAPI 3 document at /api/openapi.json), and the dashboard's static
// assets, embedded, at /. Every request but the public ones (health, the
// OpenAPI document, the dashboard's files) carries an API token as
// "Authorization: Bearer seams_..."; the store gives the token's
// principal, and each route names the least role it needs.
//
// The server adds what a network service needs and the store does not
// know about: body size limits, timeouts, security headers, per-token rate
// limits, request logs without secrets or report data, and a graceful
// shutdown that lets accepted uploads finish.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/match"
)

// Options configures a Server. Use NewOptions for the defaults.
type Options struct {
	Logger *slog.Logger
	// MaxBody bounds the body of a JSON request, in bytes.
	MaxBody int64
	// MaxUpload bounds an uploaded file, in bytes (as sent: compressed
	// if the client sends it compressed).
	MaxUpload int64
	// MaxUploads is how many uploads may be loaded into the store at
	// once. An upload waits for a slot only once its whole body is in:
	// receiving does not take one.
	MaxUploads int
	// MaxUploadsPerOrg and MaxUploadsPerToken bound the uploads an
	// organisation and a token may have in progress (received or
	// loaded); MaxUploadsReceiving the bodies being received on the
	// whole server. Past any of them an upload gets 429, at once.
	MaxUploadsPerOrg, MaxUploadsPerToken, MaxUploadsReceiving int
	// MinUploadRate (bytes a second) and UploadGrace: an upload whose
	// body comes in slower than MinUploadRate over UploadGrace, or that
	// sends nothing for UploadGrace, is cut off with 408 (nothing
	// stored). MinUploadRate 0 turns the check off.
	MinUploadRate float64
	UploadGrace   time.Duration
	// Timeouts of the HTTP server. An upload or a cross-reference run
	// extends its own deadlines to UploadTimeout and RunTimeout.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	UploadTimeout, RunTimeout                                 time.Duration
	// ShutdownTimeout is how long a shutdown waits for requests in
	// flight (an upload being loaded, a run) before it cancels them.
	ShutdownTimeout time.Duration
	// Rate and Burst are the token bucket of each API token: Rate
	// requests a second on average, Burst at once. Rate 0 turns the
	// limit off.
	Rate  float64
	Burst int
	// TempDir is where uploads are spooled before they are loaded
	// (default: the system's temporary directory).
	TempDir string
	// Drift is the default drift of a cross-reference run the API starts.
	Drift time.Duration
	// MaxReportsPerIndicator and LiftCap are the default over-correlation
	// limit and lift list of a run the API starts (hunt.Options); a
	// request may give its own.
	MaxReportsPerIndicator int
	LiftCap                []string
	// Enrich names the enrichment databases and shared lists of every run
	// the API starts (files on the server: a request cannot name them).
	Enrich enrich.Options
	// TLSCert and TLSKey, when set, make Serve speak HTTPS.
	TLSCert, TLSKey string
	// Now is the clock, for tests.
	Now func() time.Time
}

// NewOptions returns the default options.
func NewOptions() Options {
	return Options{
		MaxBody:    1 << 20,
		MaxUpload:  512 << 20,
		MaxUploads: 4,

		MaxUploadsPerOrg:    4,
		MaxUploadsPerToken:  2,
		MaxUploadsReceiving: 64,
		MinUploadRate:       4096,
		UploadGrace:         30 * time.Second,

		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		UploadTimeout:     30 * time.Minute,
		RunTimeout:        time.Hour,
		ShutdownTimeout:   5 * time.Minute,
		Rate:              20,
		Burst:             60,
		Drift:             match.DefaultDrift,

		MaxReportsPerIndicator: match.DefaultMaxReportsPerIndicator,
	}
}

// Server serves the API and the dashboard over a store.
type Server struct {
	st  seams.Store
	o   Options
	log *slog.Logger

	limits  *limiter      // per token
	refused *limiter      // per remote address, for refused logins
	uploads chan struct{} // load slots
	gate    *uploadGate
	runMu   sync.Mutex

	// hard is cancelled when a shutdown runs out of time: the context of
	// uploads being loaded and runs, which outlive their client.
	hard     context.Context
	stopHard context.CancelFunc

	handler http.Handler
}

// New returns a server over st. It does not take ownership of st.
func New(st seams.Store, o Options) *Server {
	d := NewOptions()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&o.ReadHeaderTimeout, d.ReadHeaderTimeout}, {&o.ReadTimeout, d.ReadTimeout}, {&o.WriteTimeout, d.WriteTimeout},
		{&o.IdleTimeout, d.IdleTimeout}, {&o.UploadTimeout, d.UploadTimeout}, {&o.UploadGrace, d.UploadGrace}, {&o.RunTimeout, d.RunTimeout}, {&o.ShutdownTimeout, d.ShutdownTimeout}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	if o.MaxBody <= 0 {
		o.MaxBody = d.MaxBody
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = d.MaxUpload
	}
	if o.MaxUploads <= 0 {
		o.MaxUploads = d.MaxUploads
	}
	for _, f := range []struct {
		v   *int
		def int
	}{{&o.MaxUploadsPerOrg, d.MaxUploadsPerOrg}, {&o.MaxUploadsPerToken, d.MaxUploadsPerToken},
		{&o.MaxUploadsReceiving, d.MaxUploadsReceiving}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	s := &Server{st: st, o: o, log: o.Logger,
		limits:  newLimiter(o.Rate, o.Burst, o.Now),
		refused: newLimiter(1.0/6, 10, o.Now),
		uploads: make(chan struct{}, o.MaxUploads),
		gate:    newUploadGate(o.MaxUploadsPerOrg, o.MaxUploadsPerToken, o.MaxUploadsReceiving)}
	s.hard, s.stopHard = context.WithCancel(context.Background())
	s.handler = s.routes()
	// A crash leaves the spool file of an upload in flight: remove those
	// older than an upload may take to arrive.
	if n, err := CleanSpool(o.TempDir, o.Now().Add(-o.UploadTimeout)); err != nil {
		s.log.Warn("spool: stale upload files not cleaned", "dir", o.TempDir, "err", err)
	} else if n > 0 {
		s.log.Info("spool: stale upload files removed", "dir", o.TempDir, "files", n)
	}
	return s
}

// Handler returns the server's HTTP handler: the API, the dashboard, and
// the middleware around both.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx is done, then shuts down gracefully: it
// stops accepting connections, lets requests in flight finish (an upload
// whose body is being received or loaded, a run) for up to
// ShutdownTimeout, then cancels what is left and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.o.ReadHeaderTimeout,
		ReadTimeout:       s.o.ReadTimeout,
		WriteTimeout:      s.o.WriteTimeout,
		IdleTimeout:       s.o.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return s.hard },
	}
	if s.o.TLSCert != "" {
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	errc := make(chan error, 1)
	go func() {
		var err error
		if s.o.TLSCert != "" {
			err = hs.ServeTLS(ln, s.o.TLSCert, s.o.TLSKey)
		} else {
			err = hs.Serve(ln)
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		s.stopHard()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing requests in flight", "timeout", s.o.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		s.log.Warn("shutdown timed out: cancelling requests in flight", "err", err)
		s.stopHard()
		hs.Close()
	}
	s.stopHard()
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err == nil {
		s.log.Info("shut down")
	}
	return err
}
