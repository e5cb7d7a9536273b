package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/reportfile"
)

// The write side of the API: reviews, uploads, sharing, runs, tokens and
// the audit log. Each change is one store call, audited by the store in
// its own transaction.

type reviewBody struct {
	Mark    string `json:"mark"` // confirmed, dismissed or none
	Comment string `json:"comment"`
}

func (s *Server) review(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var b reviewBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if b.Mark == "" {
		return fmt.Errorf("%w: missing mark (confirmed, dismissed or none)", seams.ErrInvalid)
	}
	m, err := seams.ParseMark(b.Mark)
	if err != nil {
		return fmt.Errorf("%w: %v", seams.ErrInvalid, err)
	}
	rv, err := s.st.Review(r.Context(), p, id, m, b.Comment)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewReview(rv))
}

// uploadResult is what an upload did: load.Result, and the first
// rejections (file, line, item, reason; not the raw text, which the
// uploader has).
type uploadResult struct {
	Kind          string `json:"kind"`
	Name          string `json:"name"`
	Bytes         int64  `json:"bytes"`
	Read          int    `json:"read"`
	New           int    `json:"new"`
	Updated       int    `json:"updated"`
	Unchanged     int    `json:"unchanged"`
	Retired       int    `json:"retired"`
	Rejected      int    `json:"rejected"`
	PartsRejected int    `json:"parts_rejected"`
	Version       int    `json:"version,omitempty"`
	// CompoundsNew counts the compounds an indicators file (a STIX
	// bundle, MISP events) defined that the store lacked, now stored.
	CompoundsNew int             `json:"compounds_new,omitempty"`
	Rejections   []rejectionView `json:"rejections"`
	// RejectionsOmitted counts rejections beyond the first maxRejections.
	RejectionsOmitted int `json:"rejections_omitted"`
	// Run is the cross-reference run=true asked for once the file was
	// stored; RunError why it did not run (the file is stored all the
	// same: another run was in progress, or the run failed).
	Run      *runView `json:"run,omitempty"`
	RunError string   `json:"run_error,omitempty"`
}

type rejectionView struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Item   string `json:"item,omitempty"`
	Reason string `json:"reason"`
}

// maxRejections is how many rejections an upload's answer lists.
const maxRejections = 1000

// upload is POST /api/upload/KIND. The body is the file, as bytes, in any
// format seams load takes for KIND (package registryfile for compounds,
// indicators and shared space, package reportfile for reports), gzip or
// zstd data decompressed (package internal/input, from the first bytes).
// It is received whole into a temporary file first, so that a
// body cut short or over the limit stores nothing; then it is loaded,
// detached from the client: once the body is in, the load runs to its end
// even if the client leaves or the server is asked to stop (within the
// shutdown timeout), and a 2xx answer means it is all stored.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, p seams.Principal, kind string) error {
	up, err := parseUpload(r.URL.Query())
	if err != nil {
		return err
	}
	if err := notMultipart(r); err != nil {
		return err
	}
	format, err := reportfile.ParseFormat(up.format)
	if err != nil {
		return fmt.Errorf("%w: format: %v", seams.ErrInvalid, err)
	}
	if kind != "reports" && (up.format != "" || up.source != "") {
		return fmt.Errorf("%w: format and source are parameters of report uploads", seams.ErrInvalid)
	}
	if kind == "compounds" && up.shared {
		return fmt.Errorf("%w: compounds are visible to every organisation; shared is a parameter of indicator, shared-space and report uploads", seams.ErrInvalid)
	}
	if up.coalition && kind != "shared" {
		return fmt.Errorf("%w: coalition is a parameter of shared-space uploads", seams.ErrInvalid)
	}
	if up.confirm && kind != "shared" && kind != "compounds" {
		return fmt.Errorf("%w: confirm is a parameter of shared-space and compound uploads", seams.ErrInvalid)
	}
	// Receiving takes the token's and the organisation's allowance, not a
	// load slot: a slow client holds only its own.
	release, err := s.gate.admit(p.Org, p.Token)
	if err != nil {
		return err
	}
	defer release()
	// The connection's deadlines are wall time, whatever the server's
	// clock: the read deadline follows the bytes (rateReader), never
	// past the upload's own.
	rc := http.NewResponseController(w)
	hardEnd := time.Now().Add(s.o.UploadTimeout)
	_ = rc.SetReadDeadline(hardEnd) // not every writer supports it (tests' recorders)
	_ = rc.SetWriteDeadline(hardEnd)

	f, err := os.CreateTemp(s.o.TempDir, spoolPattern)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	extend := func(d time.Duration) {
		end := time.Now().Add(d)
		if end.After(hardEnd) {
			end = hardEnd
		}
		_ = rc.SetReadDeadline(end)
	}
	body := newRateReader(r.Body, s.o.Now, extend, s.o.MinUploadRate, s.o.UploadGrace)
	n, err := io.Copy(f, body)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return errorf(http.StatusRequestEntityTooLarge, "upload over the limit of %d bytes (nothing was stored)", s.o.MaxUpload)
		case errors.Is(err, errTooSlow):
			s.log.Info("upload cut off: too slow", "kind", kind, "bytes", n, "token", p.Token, "err", err)
			return errorf(http.StatusRequestTimeout, "upload cut off after %d bytes: slower than %.0f bytes a second over %v (%v); nothing was stored, send it again faster",
				n, s.o.MinUploadRate, s.o.UploadGrace, err)
		}
		return errorf(http.StatusBadRequest, "upload cut short after %d bytes (nothing was stored): %v", n, err)
	}
	_ = rc.SetReadDeadline(hardEnd)
	// The body is in: wait for a load slot (loads go at the store's pace,
	// so the wait is short), unless the client leaves first.
	select {
	case s.uploads <- struct{}{}:
		defer func() { <-s.uploads }()
	case <-r.Context().Done():
		return r.Context().Err()
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("upload: %w", err)
	}

	// From here the work belongs to the server, not the client.
	ctx := s.hard
	s.log.Info("upload received", "kind", kind, "name", up.name, "bytes", n, "token", p.Token)
	if err := s.st.Audit(ctx, p, seams.AuditEvent{Action: "upload.received", Object: "file:" + up.name,
		Detail: fmt.Sprintf("%s, %d bytes, shared %v", kind, n, up.shared)}); err != nil {
		return err
	}
	res := uploadResult{Kind: kind, Name: up.name, Bytes: n, Rejections: []rejectionView{}}
	o := load.NewOptions()
	o.Name, o.Stdin, o.Shared, o.Format, o.Source, o.Logger = up.name, f, up.shared, format, up.source, s.log
	o.Coalition, o.Confirm = up.coalition, up.confirm
	o.Reject = func(e *seams.RecordError) {
		if len(res.Rejections) == maxRejections {
			res.RejectionsOmitted++
			return
		}
		res.Rejections = append(res.Rejections, rejectionView{File: up.name, Line: e.Line, Item: e.Item, Reason: e.Reason})
	}
	var lr load.Result
	switch kind {
	case "compounds":
		lr, err = load.Compounds(ctx, s.st, p, "-", o)
	case "indicators":
		lr, err = load.Indicators(ctx, s.st, p, "-", o)
	case "shared":
		lr, err = load.Shared(ctx, s.st, p, "-", o)
	case "reports":
		lr, err = load.Reports(ctx, s.st, p, []string{"-"}, o)
	default:
		return errorf(http.StatusNotFound, "no upload of %q", kind)
	}
	if errors.Is(err, seams.ErrNeedsConfirm) {
		err = fmt.Errorf("%w (upload it again with confirm=true if that is meant)", err)
	}
	if err != nil {
		return uploadError(err, up.name, lr)
	}
	res.Read, res.New, res.Updated, res.Unchanged, res.Retired = lr.Read, lr.New, lr.Updated, lr.Unchanged, lr.Retired
	res.Rejected, res.PartsRejected, res.Version = lr.Rejected, lr.PartsRejected, lr.Version
	res.CompoundsNew = lr.Compounds.New
	s.log.Info("upload stored", "kind", kind, "name", up.name, "read", lr.Read, "new", lr.New, "rejected", lr.Rejected, "token", p.Token)
	status := http.StatusOK
	if lr.Changed() {
		status = http.StatusCreated
	}
	if up.run {
		run, err := s.run(w, r, p, s.runOptions())
		if err != nil {
			_, msg, _ := statusOf(err)
			res.RunError = msg
			s.log.Warn("run after upload", "name", up.name, "err", err, "token", p.Token)
		} else {
			v := redactorFor(p).run(run)
			res.Run = &v
		}
	}
	return writeJSON(w, status, res)
}

// notMultipart refuses a form upload (multipart/form-data: curl -F, an
// HTML form): the body of an upload is the file itself, and a form's
// framing lines (boundaries, part headers) would be read as the file's
// records. 415 says how to send it instead.
func notMultipart(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && !strings.HasPrefix(mt, "multipart/") {
		return nil
	}
	if err != nil && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "multipart/") {
		return nil // a malformed type that is not a form: the content decides, as without one
	}
	return errorf(http.StatusUnsupportedMediaType,
		"an upload's body is the file itself, not a form (%s): send it with e.g. curl --data-binary @FILE; nothing was stored", clip(mt, 64))
}

// CleanSpool removes the upload spool files (seams-upload-*) in dir last
// written before cutoff: those of uploads a server stopped by a crash or a
// kill left behind (a running server removes its own when each upload
// ends). It returns how many it removed. On Unix, removing the file of an
// upload still being loaded elsewhere does not disturb that load, which
// reads it through a descriptor it holds.
func CleanSpool(dir string, cutoff time.Time) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, spoolPattern))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		fi, err := os.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(name); err == nil {
			n++
		}
	}
	return n, nil
}

// spoolPattern is the name of an upload's spool file (os.CreateTemp).
const spoolPattern = "seams-upload-*"

// uploadError explains a failed load. An error the store names (role,
// invalid argument) keeps its status; any other stops the file where it
// was (a malformed CSV header, a broken gzip stream, a line over the
// limit) and is the uploader's to read: 422 with the message. What was
// committed before it (whole batches of reports) stays, and uploading the
// file again stores the rest.
func uploadError(err error, name string, lr load.Result) error {
	status, msg, _ := statusOf(err)
	switch status {
	case http.StatusInternalServerError:
		msg = "the file could not be loaded: " + redactSecrets(err.Error())
		fallthrough
	case http.StatusBadRequest:
		// The request was good (its parameters were checked before the
		// body was read); what the store or a reader refused is the
		// file: a header without its columns, a record over a limit.
		status = http.StatusUnprocessableEntity
	}
	if !strings.Contains(msg, name) {
		msg = name + ": " + msg
	}
	if lr.New > 0 {
		msg += fmt.Sprintf(" (%d records before it were stored; uploading the file again stores the rest)", lr.New)
	}
	return errorf(status, "%s", msg)
}

type shareIndicatorsBody struct {
	Name   string `json:"name"`
	Shared *bool  `json:"shared"`
}

func (s *Server) shareIndicators(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	var b shareIndicatorsBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if err := checkUploadName(b.Name); err != nil {
		return err
	}
	if b.Shared == nil {
		return fmt.Errorf("%w: missing shared (true or false)", seams.ErrInvalid)
	}
	res, err := s.st.ShareIndicators(r.Context(), p, b.Name, *b.Shared)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"name": b.Name, "shared": *b.Shared, "version": res.Version,
		"updated": res.Updated, "unchanged": res.Unchanged})
}

type shareReportsBody struct {
	IDs    []string `json:"ids"`
	Shared *bool    `json:"shared"`
}

func (s *Server) shareReports(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	var b shareReportsBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if len(b.IDs) == 0 || len(b.IDs) > 1000 {
		return fmt.Errorf("%w: ids: want 1 to 1000 report ids, got %d", seams.ErrInvalid, len(b.IDs))
	}
	if b.Shared == nil {
		return fmt.Errorf("%w: missing shared (true or false)", seams.ErrInvalid)
	}
	n, err := s.st.ShareReports(r.Context(), p, b.IDs, *b.Shared)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reports": n, "shared": *b.Shared})
}

type runBody struct {
	Full  bool   `json:"full"`
	Drift string `json:"drift"` // e.g. "90d"; default the server's
	// The over-correlation limit (0 turns the cap off) and the lift list;
	// default the server's.
	MaxReportsPerIndicator *int     `json:"max_reports_per_indicator"`
	LiftCap                []string `json:"lift_cap"`
}

// startRun cross-references the store (hunt.Run) and answers with the
// run. One run at a time: another request meanwhile gets 409. The run
// stops if the client leaves or the server stops (a run is all or
// nothing: a stopped one leaves no trace).
func (s *Server) startRun(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	b := runBody{}
	if r.ContentLength != 0 {
		if err := readJSON(r, &b); err != nil {
			return err
		}
	}
	o := s.runOptions()
	o.Full = b.Full
	if b.Drift != "" {
		d, err := parseDuration(b.Drift)
		if err != nil {
			return err
		}
		o.Drift = d
	}
	if b.MaxReportsPerIndicator != nil {
		if *b.MaxReportsPerIndicator < 0 {
			return fmt.Errorf("%w: max_reports_per_indicator %d (want 0, no cap, or more)", seams.ErrInvalid, *b.MaxReportsPerIndicator)
		}
		o.MaxReportsPerIndicator = *b.MaxReportsPerIndicator
	}
	if b.LiftCap != nil {
		o.LiftCap = b.LiftCap
	}
	if err := o.Validate(); err != nil {
		// Only the request's own fields can be wrong: seams serve
		// checked the server's at start.
		return fmt.Errorf("%w: %s", seams.ErrInvalid, strings.ReplaceAll(err.Error(), "LiftCap: ", "lift_cap: "))
	}
	run, err := s.run(w, r, p, o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, redactorFor(p).run(run))
}

// runOptions are the options of a run with the server's defaults.
func (s *Server) runOptions() hunt.Options {
	o := hunt.NewOptions()
	o.Drift, o.Logger = s.o.Drift, s.log
	o.MaxReportsPerIndicator, o.LiftCap, o.Enrich = s.o.MaxReportsPerIndicator, s.o.LiftCap, s.o.Enrich
	return o
}

// errRunBusy: another run holds the store.
var errRunBusy = errorf(http.StatusConflict, "a cross-reference run is in progress; retry when it is done")

// run cross-references the store (hunt.Run), one run at a time
// (errRunBusy otherwise), within the request's life and the run timeout;
// a store changed during the run is run again, up to three times.
func (s *Server) run(w http.ResponseWriter, r *http.Request, p seams.Principal, o hunt.Options) (seams.Run, error) {
	if !s.runMu.TryLock() {
		return seams.Run{}, errRunBusy
	}
	defer s.runMu.Unlock()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(s.o.Now().Add(s.o.RunTimeout))
	ctx, cancel := context.WithTimeout(r.Context(), s.o.RunTimeout)
	defer cancel()
	var run seams.Run
	var err error
	for try := 1; ; try++ {
		run, err = hunt.Run(ctx, s.st, p, o)
		if !errors.Is(err, seams.ErrConflict) || try == 3 {
			break
		}
		s.log.Warn("the store changed during the run; running again", "try", try+1)
	}
	return run, err
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	list, err := s.st.Tokens(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]tokenView, len(list))
	for i := range list {
		out[i] = viewToken(list[i], s.o.Now())
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

type tokenBody struct {
	User      string `json:"user"`
	Role      string `json:"role"`
	Label     string `json:"label"`
	ExpiresIn string `json:"expires_in"` // e.g. "90d"; empty for never
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	var b tokenBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	role, err := seams.ParseRole(b.Role)
	if err != nil {
		return fmt.Errorf("%w: %v", seams.ErrInvalid, err)
	}
	nt := seams.NewToken{Org: p.Org, User: b.User, Role: role, Label: b.Label}
	if b.ExpiresIn != "" {
		d, err := parseDuration(b.ExpiresIn)
		if err != nil {
			return err
		}
		if d == 0 {
			return fmt.Errorf("%w: expires_in must be more than 0 (or left out for never)", seams.ErrInvalid)
		}
		nt.Expires = s.o.Now().Add(d).UTC()
	}
	secret, tok, err := s.st.CreateToken(r.Context(), p, nt)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"secret": secret, "token": viewToken(tok, s.o.Now()),
		"note": "the secret is shown once: store it now; seams keeps only its hash"})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	if err := s.st.RevokeToken(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	ps := newParams(r.URL.Query())
	q := seams.AuditQuery{After: ps.int64("after"), Limit: ps.limit("limit", 10000), Action: ps.str("action"), Object: ps.str("object"),
		Latest: ps.boolean("latest")}
	if err := ps.done(); err != nil {
		return err
	}
	list, err := s.st.AuditEntries(r.Context(), p, q)
	if err != nil {
		return err
	}
	out := make([]auditView, len(list))
	for i := range list {
		out[i] = viewAudit(list[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}

// verifyAudit walks the chain. A log that does not verify is an answer,
// not a failure of the request: 200 with ok false and the entry named.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	q := newParams(r.URL.Query())
	full := q.boolean("full")
	if err := q.done(); err != nil {
		return err
	}
	start := time.Now()
	verify := s.st.VerifyAudit
	if full {
		verify = s.st.VerifyAuditFull
	}
	head, err := verify(r.Context(), p)
	if errors.Is(err, seams.ErrAuditTampered) {
		return writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": err.Error()})
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": true, "seq": head.Seq, "hash": hex.EncodeToString(head.Hash[:]),
		"from": head.From, "checked": head.Checked, "took": time.Since(start).Round(time.Millisecond).String()})
}
