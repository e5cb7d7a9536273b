package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// httpError is an error with the status it answers.
type httpError struct {
	status     int
	msg        string
	retryAfter int // seconds, for 429 and 503
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// errBodyTooLarge: a request body over its limit.
var errBodyTooLarge = errors.New("request body too large")

// statusOf maps an error to its HTTP status and the message the client
// sees. Errors the client cannot act on are 500 with a generic message;
// the log has the rest.
func statusOf(err error) (int, string, int) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg, he.retryAfter
	case errors.As(err, &mbe), errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error(), 0
	case errors.Is(err, seams.ErrUnauthorized):
		return http.StatusUnauthorized, "invalid token", 0
	case errors.Is(err, seams.ErrForbidden):
		return http.StatusForbidden, err.Error(), 0
	case errors.Is(err, seams.ErrNotFound):
		return http.StatusNotFound, err.Error(), 0
	case errors.Is(err, seams.ErrInvalid):
		return http.StatusBadRequest, err.Error(), 0
	case errors.Is(err, seams.ErrConflict):
		return http.StatusConflict, err.Error(), 0
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "the request was cancelled (the client left, or the server is shutting down)", 0
	}
	var re *seams.RecordError
	if errors.As(err, &re) {
		return http.StatusBadRequest, err.Error(), 0
	}
	return http.StatusInternalServerError, "internal error (the server log has the details)", 0
}

// reqInfo is what the request log says about a request; handlers fill it
// as they learn.
type reqInfo struct {
	token  string // public id of the token
	route  string
	status int
	bytes  int64
	err    error
}

type infoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// recorder captures the status and size of a response. Unwrap lets
// http.ResponseController reach the connection (to extend deadlines).
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// contentSecurityPolicy lets the dashboard load its own scripts, styles and
// data and nothing else: no inline script, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// outer is the middleware around every request: security headers, the
// request log, and recovery from a panic.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.o.Now()
		info := &reqInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving a request", "route", info.route, "panic", fmt.Sprint(v))
				if rec.status == 0 {
					writeError(rec, http.StatusInternalServerError, "internal error (the server log has the details)", 0)
				}
			}
			s.logRequest(r, info, rec, s.o.Now().Sub(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

// logRequest writes the request log line. Above debug it names the route
// pattern, not the path or query: a path or a search can hold a device id
// or a report id, which stay out of logs kept at info. Tokens are named by
// their public id; the secret is never logged (and any secret-shaped text
// in what debug logs is masked).
func (s *Server) logRequest(r *http.Request, info *reqInfo, rec *recorder, took time.Duration) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case r.URL.Path == "/api/health" && status == http.StatusOK:
		level = slog.LevelDebug
	}
	route := info.route
	if route == "" {
		route = r.Pattern
	}
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
		slog.Int64("bytes", rec.bytes), slog.Duration("took", took), slog.String("remote", remoteHost(r))}
	if info.token != "" {
		attrs = append(attrs, slog.String("token", info.token))
	}
	if info.err != nil && status >= 500 {
		attrs = append(attrs, slog.String("err", redactSecrets(info.err.Error())))
	}
	ctx := context.Background()
	s.log.LogAttrs(ctx, level, "request", attrs...)
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.LogAttrs(ctx, slog.LevelDebug, "request detail", slog.String("path", redactSecrets(r.URL.Path)),
			slog.String("query", redactSecrets(r.URL.RawQuery)), slog.String("user_agent", redactSecrets(r.UserAgent())))
	}
}

var secretPattern = regexp.MustCompile(`seams_[A-Za-z0-9_-]{20,}`)

// redactSecrets masks anything shaped like a token secret.
func redactSecrets(s string) string { return secretPattern.ReplaceAllString(s, "seams_[redacted]") }

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// refusedPrincipal is who the audit log names for a refused token: nobody
// the store knows (not the operator: it never acts over the network).
var refusedPrincipal = seams.Principal{Org: "unauthenticated", Role: seams.RoleViewer, Token: "none"}

// api wraps one route: authentication, rate limit, role, body limit, and
// the mapping of its error to a JSON answer.
func (s *Server) api(rt route) http.Handler {
	h := func(w http.ResponseWriter, r *http.Request, p seams.Principal) error { return rt.h(s, w, r, p) }
	pattern := rt.method + " " + rt.path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.route = pattern
		if rt.method == "" {
			info.route = "(no route)"
		}
		w.Header().Set("Cache-Control", "no-store")
		var p seams.Principal
		if rt.role != public {
			var err error
			if p, err = s.authenticate(r); err != nil {
				s.fail(w, r, err)
				return
			}
			info.token = p.Token
			if ok, wait := s.limits.allow("token:" + p.Token); !ok {
				s.fail(w, r, &httpError{status: http.StatusTooManyRequests, msg: "rate limit of this token exceeded; retry later", retryAfter: retryAfter(wait)})
				return
			}
			if !p.Role.Allows(rt.role) {
				s.fail(w, r, fmt.Errorf("%w: %s needs role %s (this token has role %s)", seams.ErrForbidden, pattern, rt.role, p.Role))
				return
			}
		}
		limit := s.o.MaxBody
		if rt.upload {
			limit = s.o.MaxUpload
		}
		if r.ContentLength > limit {
			s.fail(w, r, errorf(http.StatusRequestEntityTooLarge, "request body of %d bytes is over the limit of %d bytes", r.ContentLength, limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := h(w, r, p); err != nil {
			s.fail(w, r, err)
		}
	})
}

// authenticate returns the principal of the request's bearer token. A
// refused token is audited (at most a few a minute per remote address:
// past that the address is refused with 429, unaudited, so that a flood
// of bad tokens cannot grow the log).
func (s *Server) authenticate(r *http.Request) (seams.Principal, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return seams.Principal{}, errorf(http.StatusUnauthorized, "missing token: send Authorization: Bearer <token> (seams token create makes one)")
	}
	scheme, secret, found := strings.Cut(auth, " ")
	if !found || !strings.EqualFold(scheme, "bearer") {
		return seams.Principal{}, errorf(http.StatusUnauthorized, "unsupported authorization scheme (want Bearer <token>)")
	}
	p, err := s.st.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err == nil {
		if p.Operator { // never over the network, whatever a store says
			return seams.Principal{}, fmt.Errorf("%w: operator principal refused", seams.ErrUnauthorized)
		}
		return p, nil
	}
	if !errors.Is(err, seams.ErrUnauthorized) {
		return seams.Principal{}, err
	}
	host := remoteHost(r)
	if ok, wait := s.refused.allow("refused:" + host); !ok {
		return seams.Principal{}, &httpError{status: http.StatusTooManyRequests, msg: "too many refused tokens from this address; retry later", retryAfter: retryAfter(wait)}
	}
	if aerr := s.st.Audit(r.Context(), refusedPrincipal, seams.AuditEvent{Action: "login.refused", Object: "remote:" + host,
		Detail: "invalid, revoked or expired token on " + r.Method + " " + clip(r.URL.Path, 128)}); aerr != nil {
		s.log.Warn("audit of a refused token failed", "err", aerr)
	}
	return seams.Principal{}, err
}

// fail writes err as a JSON error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, retry := statusOf(err)
	info := infoOf(r)
	info.err = err
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.log.Error("request failed", "route", info.route, "err", redactSecrets(err.Error()))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="seams"`)
	}
	writeError(w, status, msg, retry)
}

func writeError(w http.ResponseWriter, status int, msg string, retry int) {
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeJSON writes v as the response, indented for people reading it with
// curl.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// readJSON decodes the request body into v: one JSON object, no unknown
// fields, within MaxBody.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: empty body (want a JSON object)", seams.ErrInvalid)
		}
		return fmt.Errorf("%w: body: %v", seams.ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: body: more than one JSON value", seams.ErrInvalid)
	}
	return nil
}
