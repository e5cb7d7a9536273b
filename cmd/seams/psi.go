package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/psi/psinet"
	"github.com/seams-dev/seams/internal/psi/psirun"
	"github.com/seams-dev/seams/psi"
	"github.com/seams-dev/seams/reportfile"
)

var psiCommand = &command{
	summary: "match privately with another organisation: learn the overlap, nothing else",
	usage: `Usage:
  seams psi init   --state DIR --name NAME
  seams psi serve  --state DIR --peers FILE --indicators FILE [--compounds FILE]
                   [--shared FILE] [--listen ADDR] [limits] [--data DIR | --db URL]
  seams psi query  --state DIR --peer URL --peer-fingerprint FP --reports FILE...
                   --out DIR [--shared FILE] [--data DIR | --db URL]

The reverse direction (the reports' holder serves):
  seams psi serve  --state DIR --peers FILE --reports FILE... [--listen ADDR] [limits]
  seams psi query  --state DIR --peer URL --peer-fingerprint FP
                   --indicators FILE [--compounds FILE] [--shared FILE] --out DIR
  seams psi count  --state DIR --peer URL --peer-fingerprint FP --reports FILE...
                   [--shared FILE] [--out FILE]
  seams psi rotate --state DIR

Private matching between two seams instances (docs/psi.md). The holder of
a registry (compounds, their ip and device indicators with windows) serves;
the querier holds reports. The querier learns which of its items (an
address on a UTC day, a device) the holder has, and the labels of those
only: the compound, the indicator's window, and its source and confidence
as far as the holder reveals them. The holder learns how many items were
asked, nothing else. The protocol is an RFC 9497 oblivious PRF
(ristretto255, SHA-512): the holder evaluates its items once per key, the
querier obtains the PRF outputs of its items blinded, one round trip per
batch.

init makes DIR's identity: a TLS key and a self-signed certificate for
NAME (psi-cert.pem, psi-key.pem), and the holder's PRF key of epoch 1
(psi-oprf-key.json, mode 0600). It prints the certificate's fingerprint:
give it to the other organisation by a channel you trust (read it out on
a call). Running init again changes nothing and prints it again.

serve builds the table of the current key and serves it over HTTPS with
mutual TLS: a peer is served only if the fingerprint of its certificate
is in --peers. Every exchange (a session of a querier, or a count) is
logged, and recorded in the audit log of the store given with --data or
--db (action psi.serve: the peer, the items, the epoch, when). Rotating
the key (seams psi rotate, or --rotate-every) starts a new epoch: the
server rebuilds its table, the sessions of the old epoch end, and old
tables and PRF outputs open nothing.

query runs the querier's side and writes into DIR what
  seams xref --rules device,ip --compounds C --indicators I --shared S
writes over the holder's registry, byte for byte when the holder reveals
every label field: findings.jsonl, summary.json, rejected.jsonl, plus
psi.json (what was exchanged: items, matches, bytes, times). Rules cidr,
asn, ip-drift and ip-undated need the addresses themselves and are not
matched. The report files are read twice (regular files, not stdin).

count asks how many reports would be tied or potentially associated per
compound, and not which: both sides blind, the holder shuffles the reports.
It works by day (an event on any day a window touches) and applies no
over-correlation cap. It prints count.json (or writes --out FILE).

In the reverse direction the hotline serves its reports: each dated ip
event is an item on its day and on any day, each device likewise, an
undated device a device-undated item; a label holds the report id and what
a finding shows of the event (time, event, port, proxy). The registry's
holder queries the items of its ip and device indicators (each day of a
window, or any day for an open or long one, and device-undated) and
writes what xref --rules device,ip writes over its registry and the
reports, byte for byte: the reports with an event it matched. The hotline
learns how many items were asked. An associated account's event is shown
as the suspect's (the reports' JSON Lines format has no field for it); the
holder is told how many such events it serves. Count sessions are for a
holder of a registry only.

rotate writes the next epoch's PRF key into DIR; a running serve picks
it up within a minute.

Flags of all:
  --state DIR         the organisation's psi folder (identity, key)
  --verbose           log progress on standard error
Flags of init:
  --name NAME         the organisation's name in its certificate
Flags of serve:
  --peers FILE        who may query: one peer a line, NAME FINGERPRINT
                      (the fingerprint its seams psi init printed); # starts
                      a comment. NAME is how the audit log names it.
  --compounds FILE, --indicators FILE, --shared FILE
                      the registry, in any format seams xref takes. The
                      shared-space prefixes are published to queriers, who
                      weaken evidence in them as xref does.
  --reports FILE      serve reports instead (the reverse direction); repeat
                      for several. Read again at each rotation.
  --format FORMAT     the reports' format (default: found per file)
  --listen ADDR       host:port (default 127.0.0.1:8443)
  --name NAME         how the server calls itself (default: from init)
  --label-fields LIST optional label fields revealed: name, source,
                      confidence, or none (default all three). The compound
                      id and country and the window are always revealed.
  --no-undated-devices
                      a device without a time in a report matches nothing
                      (default: it matches every device indicator, as xref)
  --max-window-days N a window longer than N days is one any-day item
                      (default 3660)
  --calendar FROM..TO close open windows at these dates (2019-01-01..2027-12-31)
                      and expand them to days: the querier then queries one
                      item an event instead of two (half the work), but an
                      event outside the calendar no longer matches an open
                      window. Default: off, exact.
  --max-batch N       items per evaluation request (default 4096)
  --max-items N       items per session (default 20000000)
  --daily-items N     items per peer per UTC day (default 40000000)
  --rate N            items per peer per second (default 200000; 0: none)
  --min-reports N     reports a count must have at least (default 100)
  --no-count          refuse count sessions
  --session-idle D    end a session idle this long (default 10m)
  --rotate-every D    rotate the key this often (default: never)
  --data DIR, --db URL
                      the store whose audit log records the exchanges; what
                      it says each peer took today counts against the
                      day's budget when serve starts again
  --org ORG           the organisation the store records them for (default
                      local)
Flags of query and count:
  --peer URL          the holder, https://host:port
  --peer-fingerprint FP
                      the holder's certificate fingerprint (sha256:...)
  --reports FILE      reports in any format xref takes; repeat for several
  --compounds FILE, --indicators FILE
                      query: your registry instead of reports, against a
                      holder that serves reports (the reverse direction)
  --format FORMAT     jsonl, cybertip or csv (default: found per file)
  --shared FILE       your own shared-space list, applied with the holder's
  --out DIR           query: the output folder (replaced as a whole, as
                      xref's). count: the file for count.json
  --max-reports-per-indicator N, --lift-cap VALUE
                      query: xref's over-correlation cap (default 500)
  --batch N           query: items per request (default: the holder's most)
  --data DIR, --db URL, --org ORG
                      query and count: record the exchange in this store's
                      audit log (action psi.query)

Examples:
  # Each organisation, once:
  seams psi init --state ngo-psi/ --name ngo
  seams psi init --state hotline-psi/ --name hotline
  # The holder (peers.txt: "hotline sha256:...")
  seams psi serve --state ngo-psi/ --peers peers.txt --compounds compounds.csv \
      --indicators indicators.csv --shared shared.txt --listen 0.0.0.0:8443
  # The querier
  seams psi query --state hotline-psi/ --peer https://ngo.example:8443 \
      --peer-fingerprint sha256:... --reports reports.jsonl --out matches/
  seams psi count --state hotline-psi/ --peer https://ngo.example:8443 \
      --peer-fingerprint sha256:... --reports reports.jsonl
`,
	run: runPSI,
}

// The files of a psi state folder beside the identity's.
const psiKeyFile = "psi-oprf-key.json"

func runPSI(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("psi", "want init, serve, query, count or rotate (before the flags)")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "init":
		return psiInit(e, args)
	case "serve":
		return psiServe(ctx, e, args)
	case "query":
		return psiQuery(ctx, e, args)
	case "count":
		return psiCount(ctx, e, args)
	case "rotate":
		return psiRotate(e, args)
	}
	return usagef("psi", "unknown subcommand %q (want init, serve, query, count or rotate)", sub)
}

// readPSIKey reads the holder's PRF key in dir.
func readPSIKey(dir string) (*psi.Key, error) {
	f, err := os.Open(filepath.Join(dir, psiKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%w (run seams psi init first)", err)
	}
	defer f.Close()
	k, err := psi.ReadKey(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return k, nil
}

func writePSIKey(dir string, k *psi.Key) error {
	b, err := k.MarshalJSON()
	if err != nil {
		return err
	}
	f, err := atomicfile.Create(filepath.Join(dir, psiKeyFile))
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

func psiInit(e *env, args []string) error {
	fs := newFlags("psi")
	var state, name string
	var verbose bool
	fs.StringVar(&state, "state", "", "")
	fs.StringVar(&name, "name", "", "")
	fs.BoolVar(&verbose, "verbose", false, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if state == "" || name == "" {
		return usagef("psi", "init needs --state DIR and --name NAME")
	}
	id, created, err := psinet.LoadOrCreateIdentity(state, name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(state, psiKeyFile)); errors.Is(err, os.ErrNotExist) {
		k, err := psi.NewKey(1, time.Now())
		if err != nil {
			return err
		}
		if err := writePSIKey(state, k); err != nil {
			return err
		}
	}
	if created {
		fmt.Fprintf(e.stderr, "made a certificate for %s in %s\n", name, state)
	}
	fmt.Fprintln(e.stdout, id.Fingerprint)
	return nil
}

func psiRotate(e *env, args []string) error {
	fs := newFlags("psi")
	var state string
	fs.StringVar(&state, "state", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if state == "" {
		return usagef("psi", "rotate needs --state DIR")
	}
	old, err := readPSIKey(state)
	if err != nil {
		return err
	}
	k, err := psi.NewKey(old.Epoch+1, time.Now())
	if err != nil {
		return err
	}
	if err := writePSIKey(state, k); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "epoch %d\n", k.Epoch)
	return nil
}

// psiAudit returns the function that records exchanges in the store the
// flags name, or nil when none is named; and, for the holder, what the
// log says each peer took today (spent is nil without a store).
func psiAudit(ctx context.Context, sa *storeArgs, org, action string, log *slog.Logger) (func(psinet.Exchange), func(), error) {
	f, _, closeStore, err := psiAuditSpent(ctx, sa, org, action, log)
	return f, closeStore, err
}

func psiAuditSpent(ctx context.Context, sa *storeArgs, org, action string, log *slog.Logger) (func(psinet.Exchange), map[string]int, func(), error) {
	if !sa.given() {
		return nil, nil, func() {}, nil
	}
	st, err := sa.open(ctx, "psi", log)
	if err != nil {
		return nil, nil, nil, storeError(err)
	}
	p := operator(org)
	spent := map[string]int{}
	today := psi.DayOf(time.Now())
	for after := int64(0); ; {
		es, err := st.AuditEntries(ctx, p, seams.AuditQuery{After: after, Limit: 10000, Action: action})
		if err != nil {
			st.Close()
			return nil, nil, nil, storeError(err)
		}
		for _, e := range es {
			after = e.Seq
			if psi.DayOf(e.At) != today {
				continue
			}
			for _, f := range strings.Fields(e.Detail) {
				if v, ok := strings.CutPrefix(f, "items="); ok {
					var n int
					fmt.Sscan(v, &n)
					spent[strings.TrimPrefix(e.Object, "peer:")] += n
				}
			}
		}
		if len(es) < 10000 {
			break
		}
	}
	return func(x psinet.Exchange) {
		if err := st.Audit(context.WithoutCancel(ctx), p, seams.AuditEvent{Action: action, Object: "peer:" + x.Peer, Detail: x.Detail()}); err != nil {
			log.Error("psi: audit", "err", err)
		}
	}, spent, func() { st.Close() }, nil
}

// psiServeArgs are the flags of psi serve that are not HolderOptions fields.
type psiServeArgs struct {
	state, peers, listen, fields, org string
	files                             psirun.RegistryFiles
	reports                           []string
	format, calendar                  string
	noUndated, noCount, verbose       bool
	idle, rotate                      durationFlag
	sa                                storeArgs
}

func psiServeFlags(o *psinet.HolderOptions, a *psiServeArgs) *flag.FlagSet {
	fs := newFlags("psi")
	a.idle, a.rotate = durationFlag(o.SessionIdle), durationFlag(0)
	a.sa.register(fs)
	fs.StringVar(&a.state, "state", "", "")
	fs.StringVar(&a.peers, "peers", "", "")
	fs.StringVar(&a.files.Compounds, "compounds", "", "")
	fs.StringVar(&a.files.Indicators, "indicators", "", "")
	fs.StringVar(&a.files.Shared, "shared", "", "")
	fs.Var((*listFlag)(&a.reports), "reports", "")
	fs.StringVar(&a.format, "format", "", "")
	fs.StringVar(&a.listen, "listen", "127.0.0.1:8443", "")
	fs.StringVar(&o.Name, "name", "", "")
	fs.StringVar(&a.fields, "label-fields", strings.Join(psi.DefaultLabelFields.Names(), ","), "")
	fs.BoolVar(&a.noUndated, "no-undated-devices", false, "")
	fs.IntVar(&o.Expand.MaxWindowDays, "max-window-days", psi.DefaultMaxWindowDays, "")
	fs.StringVar(&a.calendar, "calendar", "", "")
	fs.IntVar(&o.MaxBatch, "max-batch", o.MaxBatch, "")
	fs.IntVar(&o.MaxItems, "max-items", o.MaxItems, "")
	fs.IntVar(&o.DailyItems, "daily-items", o.DailyItems, "")
	fs.IntVar(&o.RatePerSec, "rate", o.RatePerSec, "")
	fs.IntVar(&o.MinReports, "min-reports", o.MinReports, "")
	fs.BoolVar(&a.noCount, "no-count", false, "")
	fs.Var(&a.idle, "session-idle", "")
	fs.Var(&a.rotate, "rotate-every", "")
	fs.StringVar(&a.org, "org", defaultOrg, "")
	fs.BoolVar(&a.verbose, "verbose", false, "")
	return fs
}

// psiServe is psi serve: check the flags, load the peers, the identity,
// the key and what is served (a registry or reports), then serve until
// interrupted, rotating the key when it changes.
func psiServe(ctx context.Context, e *env, args []string) error {
	o := psinet.NewHolderOptions()
	var a psiServeArgs
	if err := parseFlags(psiServeFlags(&o, &a), args); err != nil {
		return err
	}
	if err := a.apply(&o); err != nil {
		return err
	}
	log := newLogger(e.stderr, a.verbose)
	o.Logger = log
	id, key, err := a.loadIdentity(&o)
	if err != nil {
		return err
	}
	src, describe, err := a.source(ctx, e, log)
	if err != nil {
		return err
	}
	audit, spent, closeStore, err := psiAuditSpent(ctx, &a.sa, a.org, "psi.serve", log)
	if err != nil {
		return err
	}
	defer closeStore()
	o.Audit = func(x psinet.Exchange) {
		fmt.Fprintf(e.stderr, "psi: %s %s\n", x.Peer, x.Detail())
		if audit != nil {
			audit(x)
		}
	}
	h, err := psinet.NewSourceHolder(src, key, o)
	if err != nil {
		return err
	}
	defer h.Close()
	for peer, n := range spent {
		h.Spent(peer, psi.DayOf(time.Now()), n)
	}
	describe(h.Table(), key)
	return a.serve(ctx, e, h, id, &o, key, log)
}

// apply checks the flags and sets what they say in o.
func (a *psiServeArgs) apply(o *psinet.HolderOptions) error {
	switch {
	case a.state == "":
		return usagef("psi", "serve needs --state DIR (made by seams psi init)")
	case a.peers == "":
		return usagef("psi", "serve needs --peers FILE: who may query")
	case a.files.Indicators == "" && len(a.reports) == 0:
		return usagef("psi", "serve needs --indicators FILE (a registry) or --reports FILE (the reverse direction)")
	case a.files.Indicators != "" && len(a.reports) > 0:
		return usagef("psi", "serve takes a registry (--indicators) or reports (--reports), not both")
	case o.MaxBatch < 1 || o.MaxItems < 1 || o.DailyItems < 1 || o.RatePerSec < 0 || o.MinReports < 0 || o.Expand.MaxWindowDays < 1:
		return usagef("psi", "limits must be positive")
	}
	var err error
	if o.Fields, err = psi.ParseLabelFields(a.fields); err != nil {
		return usagef("psi", "--label-fields: %v", err)
	}
	if a.calendar != "" {
		from, to, ok := strings.Cut(a.calendar, "..")
		f, err1 := time.Parse(time.DateOnly, from)
		t, err2 := time.Parse(time.DateOnly, to)
		if !ok || err1 != nil || err2 != nil || !f.Before(t) {
			return usagef("psi", "--calendar: want FROM..TO, two dates YYYY-MM-DD in order, got %q", a.calendar)
		}
		o.Expand.Calendar.From, o.Expand.Calendar.To = psi.DayOf(f), psi.DayOf(t)
	}
	o.Expand.Undated, o.Count, o.SessionIdle = !a.noUndated, !a.noCount, time.Duration(a.idle)
	return nil
}

// loadIdentity reads the peers, the holder's identity (its name, when
// --name did not give one) and its key.
func (a *psiServeArgs) loadIdentity(o *psinet.HolderOptions) (*psinet.Identity, *psi.Key, error) {
	pf, err := os.Open(a.peers)
	if err != nil {
		return nil, nil, err
	}
	o.Peers, err = psinet.ParsePeers(pf, a.peers)
	pf.Close()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(a.state, psinet.CertFile)); err != nil {
		return nil, nil, fmt.Errorf("%s has no identity (run seams psi init --state %s --name NAME first)", a.state, a.state)
	}
	id, _, err := psinet.LoadOrCreateIdentity(a.state, o.Name)
	if err != nil {
		return nil, nil, err
	}
	if o.Name == "" {
		o.Name = id.Cert.Leaf.Subject.CommonName
	}
	key, err := readPSIKey(a.state)
	if err != nil {
		return nil, nil, err
	}
	return id, key, nil
}

// source returns what is served, a registry or reports, and a function
// that says on standard error what its table holds.
func (a *psiServeArgs) source(ctx context.Context, e *env, log *slog.Logger) (psinet.Source, func(*psi.Table, *psi.Key), error) {
	if len(a.reports) > 0 {
		f, err := reportfile.ParseFormat(a.format)
		if err != nil {
			return nil, nil, usagef("psi", "--format: %v", err)
		}
		for _, r := range a.reports {
			if r == "-" {
				return nil, nil, usagef("psi", "--reports: standard input cannot be read again at each rotation: give a file")
			}
		}
		src := &psirun.Reports{Files: a.reports, Format: f, Readers: reportfile.NewReaderOptionsDefault()}
		return src, func(t *psi.Table, key *psi.Key) {
			fmt.Fprintf(e.stderr, "psi: reports; epoch %d: %d items, %d events\n", key.Epoch, t.Len(), len(t.Labels))
			if n := src.Associated; n > 0 {
				fmt.Fprintf(e.stderr, "psi: %d events of associated accounts: a querier's findings show them as the suspect's (docs/psi.md)\n", n)
			}
		}, nil
	}
	var rejected int
	reg, err := psirun.LoadRegistry(ctx, a.files, e.stdin, func(r *seams.RecordError) {
		rejected++
		log.Warn("registry record rejected", "file", r.File, "line", r.Line, "reason", r.Reason)
	})
	if err != nil {
		return nil, nil, err
	}
	return reg, func(t *psi.Table, key *psi.Key) {
		fmt.Fprintf(e.stderr, "psi: %d compounds, %d indicators (%d rejected), %d shared prefixes; epoch %d: %d items, %d labels\n",
			len(reg.Compounds), len(reg.Indicators), rejected, len(reg.Shared), key.Epoch, t.Len(), len(t.Labels))
	}, nil
}

// serve serves h until ctx ends; every minute it expires idle sessions and
// rotates to a new key when the state folder has one (or makes one, with
// --rotate-every).
func (a *psiServeArgs) serve(ctx context.Context, e *env, h *psinet.Holder, id *psinet.Identity, o *psinet.HolderOptions, key *psi.Key, log *slog.Logger) error {
	ln, err := net.Listen("tcp", a.listen)
	if err != nil {
		return err
	}
	// A refused handshake (an unpinned certificate) is the server's
	// business: a debug line, not a line on every terminal.
	srv := &http.Server{Handler: h, TLSConfig: psinet.ServerTLS(id, o.Peers), ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	fmt.Fprintf(e.stderr, "psi: serving %s as %s (fingerprint %s) to %d peers\n", ln.Addr(), o.Name, id.Fingerprint, len(o.Peers))
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			return nil
		case <-tick.C:
			h.Expire()
			if next := a.nextKey(key, last, log); next != nil {
				if err := h.Rotate(next); err != nil {
					log.Error("psi: rotate", "err", err)
					continue
				}
				key, last = next, time.Now()
				fmt.Fprintf(e.stderr, "psi: rotated to epoch %d\n", key.Epoch)
			}
		}
	}
}

// nextKey returns the key to rotate to, or nil to keep key: a key of
// another epoch in the state folder, or a new one made there when
// --rotate-every has passed since the last rotation.
func (a *psiServeArgs) nextKey(key *psi.Key, last time.Time, log *slog.Logger) *psi.Key {
	next, err := readPSIKey(a.state)
	if err != nil {
		log.Error("psi: key", "err", err)
		return nil
	}
	if a.rotate > 0 && time.Since(last) >= time.Duration(a.rotate) && next.Epoch == key.Epoch {
		if next, err = psi.NewKey(key.Epoch+1, time.Now()); err == nil {
			err = writePSIKey(a.state, next)
		}
		if err != nil {
			log.Error("psi: rotate", "err", err)
			return nil
		}
	}
	if next.Epoch == key.Epoch {
		return nil
	}
	return next
}

// psiClientArgs are the flags of query and count.
type psiClientArgs struct {
	state, peer, fingerprint, format, shared, out, org string
	reports                                            []string
	verbose                                            bool
	sa                                                 storeArgs
}

func (a *psiClientArgs) register(fs *flag.FlagSet) {
	a.sa.register(fs)
	fs.StringVar(&a.state, "state", "", "")
	fs.StringVar(&a.peer, "peer", "", "")
	fs.StringVar(&a.fingerprint, "peer-fingerprint", "", "")
	fs.Var((*listFlag)(&a.reports), "reports", "")
	fs.StringVar(&a.format, "format", "", "")
	fs.StringVar(&a.shared, "shared", "", "")
	fs.StringVar(&a.out, "out", "", "")
	fs.StringVar(&a.org, "org", defaultOrg, "")
	fs.BoolVar(&a.verbose, "verbose", false, "")
}

// client checks the flags and returns the client of the holder.
func (a *psiClientArgs) client(sub string) (*psinet.Client, reportfile.Format, error) {
	switch {
	case a.state == "":
		return nil, "", usagef("psi", "%s needs --state DIR (made by seams psi init)", sub)
	case !strings.HasPrefix(a.peer, "https://"):
		return nil, "", usagef("psi", "%s needs --peer https://host:port", sub)
	}
	fp, err := psinet.ParseFingerprint(a.fingerprint)
	if err != nil {
		return nil, "", usagef("psi", "--peer-fingerprint: %v", err)
	}
	f, err := reportfile.ParseFormat(a.format)
	if err != nil {
		return nil, "", usagef("psi", "--format: %v", err)
	}
	if _, err := os.Stat(filepath.Join(a.state, psinet.CertFile)); err != nil {
		return nil, "", fmt.Errorf("%s has no identity (run seams psi init --state %s --name NAME first)", a.state, a.state)
	}
	id, _, err := psinet.LoadOrCreateIdentity(a.state, "")
	if err != nil {
		return nil, "", err
	}
	return psinet.NewClient(a.peer, psinet.ClientTLS(id, fp)), f, nil
}

func psiQuery(ctx context.Context, e *env, args []string) error {
	fs := newFlags("psi")
	var a psiClientArgs
	a.register(fs)
	o := psirun.NewQueryOptions()
	var files psirun.RegistryFiles
	fs.IntVar(&o.MaxReportsPerIndicator, "max-reports-per-indicator", o.MaxReportsPerIndicator, "")
	fs.Var((*listFlag)(&o.LiftCap), "lift-cap", "")
	fs.IntVar(&o.Batch, "batch", 0, "")
	fs.StringVar(&files.Compounds, "compounds", "", "")
	fs.StringVar(&files.Indicators, "indicators", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if a.out == "" {
		return usagef("psi", "query needs --out DIR")
	}
	reverse := files.Indicators != ""
	if reverse {
		if len(a.reports) > 0 {
			return usagef("psi", "query takes reports (--reports) or a registry (--indicators, the reverse direction), not both")
		}
	} else if len(a.reports) == 0 {
		return usagef("psi", "query needs --reports FILE (or, against a holder of reports, --indicators FILE)")
	}
	c, f, err := a.client("query")
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, a.verbose)
	audit, closeStore, err := psiAudit(ctx, &a.sa, a.org, "psi.query", log)
	if err != nil {
		return err
	}
	defer closeStore()
	var res *psirun.QueryResult
	if reverse {
		files.Shared = a.shared
		ro := psirun.NewRegistryQueryOptions()
		ro.Registry, ro.Out, ro.Logger, ro.Audit = files, a.out, log, audit
		ro.MaxReportsPerIndicator, ro.LiftCap, ro.Batch = o.MaxReportsPerIndicator, o.LiftCap, o.Batch
		res, err = psirun.QueryRegistry(ctx, c, ro)
	} else {
		o.Reports, o.Format, o.Shared, o.Out, o.Logger, o.Audit = a.reports, f, a.shared, a.out, log, audit
		res, err = psirun.Query(ctx, c, o)
	}
	if err != nil {
		return err
	}
	st := &res.Stats
	fmt.Fprintf(e.stderr, "psi: %s epoch %d: %d items queried, %d matched, %d indicators learned; %.1f MB sent, %.1f MB received\n",
		st.Holder, st.Epoch, st.Items, st.MatchedItems, st.Labels, float64(st.BytesSent)/1e6, float64(st.BytesRecv)/1e6)
	printSummary(e.stdout, res.Summary, o.Out)
	return nil
}

func psiCount(ctx context.Context, e *env, args []string) error {
	fs := newFlags("psi")
	var a psiClientArgs
	a.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(a.reports) == 0 {
		return usagef("psi", "count needs --reports FILE")
	}
	c, f, err := a.client("count")
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, a.verbose)
	audit, closeStore, err := psiAudit(ctx, &a.sa, a.org, "psi.query", log)
	if err != nil {
		return err
	}
	defer closeStore()
	res, err := psirun.Count(ctx, c, psirun.CountOptions{Reports: a.reports, Format: f, Readers: reportfile.NewReaderOptionsDefault(),
		Shared: a.shared, Stdin: e.stdin, Logger: log, Audit: audit})
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if a.out == "" {
		_, err = e.stdout.Write(b)
		return err
	}
	w, err := atomicfile.Create(a.out)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}
