package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/server"
	"github.com/seams-dev/seams/sharedlist"
)

var serveCommand = &command{
	summary: "serve the case store over HTTP: the API and the web dashboard",
	usage: `Usage:
  seams serve (--data DIR | --db URL) [--listen ADDR] [flags]

Serve the store to a team: a JSON API under /api/ (docs/api.md; the OpenAPI
document is at /api/openapi.json) and a web dashboard at / that needs no
internet (every asset is in the binary). Every API request but /api/health
and /api/openapi.json carries a token made with seams token create:
  Authorization: Bearer seams_...
and does what the token's role allows: viewer reads (device ids masked),
analyst also uploads, reviews and runs cross-references, admin also
manages the organisation's tokens and reads its audit log. Each
organisation sees its own data and what others shared. Every read of
findings or reports and every change is in the audit log.

The server logs one line per request on standard error (method, route,
status, size, time, the token's public id; never a secret, a device id or
a search), and stops on SIGTERM or Ctrl-C: it stops accepting connections,
lets requests in flight finish (an upload being received or loaded, a
run) for up to --shutdown-timeout, then exits.

Flags:
` + storeFlagsHelp + `  --listen ADDR       host:port to listen on (default 127.0.0.1:8080). An
                      address other than loopback needs --tls-cert and
                      --tls-key, or --allow-plaintext behind a TLS proxy.
  --tls-cert FILE     serve HTTPS with this certificate (PEM)...
  --tls-key FILE      ...and this key
  --allow-plaintext   listen beyond loopback without TLS (tokens then cross
                      the network in the clear unless a proxy adds TLS)
  --max-upload BYTES  largest uploaded file (default 536870912: 512 MiB)
  --max-body BYTES    largest JSON request body (default 1048576)
  --max-uploads-per-org N, --max-uploads-per-token N
                      uploads an organisation (default 4) and a token
                      (default 2) may have in progress at once; more get
                      429. Another organisation's uploads are never held
                      up by them: receiving a body takes no load slot
  --min-upload-rate BYTES
                      an upload whose body comes in slower than this many
                      bytes a second over --upload-grace, or that sends
                      nothing for that long, is cut off with 408 and
                      nothing is stored (default 4096; 0: no minimum)
  --upload-grace D    the window of --min-upload-rate (default 30s)
  --rate N            requests a second each token may make on average
                      (default 20; 0: no limit)
  --burst N           requests a token may make at once (default 60)
  --shutdown-timeout D
                      how long a stop waits for requests in flight
                      (default 5m)
  --tmp-dir DIR       where uploads are kept while they are loaded (default
                      the system's temporary directory); at start, upload
                      files a crash left there (seams-upload-*, older than
                      the upload timeout) are removed
  --drift DURATION    default drift of runs started over the API (default
                      90d)
  --max-reports-per-indicator N
                      default over-correlation limit of runs started over
                      the API, as seams xref's (default 500; 0: no cap); a
                      request may give its own (docs/api.md)
  --lift-cap VALUE    exempt an indicator from the cap by default (an
                      address, or a device as TYPE:VALUE); repeat for
                      several; a request may give its own list
  --asn-db FILE       IP-to-ASN database (MaxMind DB format) for every run
                      started over the API, as seams xref --asn-db: asn
                      indicators match, findings give the AS of each
                      address, shared ASNs can be given. Repeat for several.
  --geo-db FILE       IP-to-location database for every run, as seams xref
                      --geo-db: findings give country and city, and the
                      cross-border signal
  --shared-asn LIST   ASes whose every address is shared space, for every
                      run (needs --asn-db)
  --shared-preset LIST
                      curated shared-space lists for every run: satellite,
                      cdn, public-dns, vpn (docs/enrich.md)
                      Each run records the databases (file, type, build
                      date) and lists it used; a run whose parameters differ
                      from the last run's (another database build, another
                      limit) matches every stored report again.
  --allow-root        run as root anyway (refused by default: the server
                      needs no privilege, and a flaw in it should not be
                      root's)
  --log-format F      text (default) or json
  --verbose           debug logs too (paths and queries of requests, which
                      may hold report ids or devices)

Examples:
  seams token create --data case/ --org hotline --role analyst --user alice
  seams serve --data case/
  seams serve --db postgres://seams@db.internal/seams --listen :8443 \
              --tls-cert cert.pem --tls-key key.pem
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/summary

Exit status: 0 after a clean stop; 1 when the server could not start or
failed; 2 for a usage error.
`,
	run: runServe,
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags("serve")
	var sa storeArgs
	sa.register(fs)
	o := server.NewOptions()
	listen := "127.0.0.1:8080"
	var allowRoot, allowPlain, verbose bool
	var logFormat = "text"
	shutdown := durationFlag(o.ShutdownTimeout)
	drift := durationFlag(o.Drift)
	fs.StringVar(&listen, "listen", listen, "")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "")
	fs.StringVar(&o.TLSKey, "tls-key", "", "")
	fs.BoolVar(&allowPlain, "allow-plaintext", false, "")
	fs.Int64Var(&o.MaxUpload, "max-upload", o.MaxUpload, "")
	fs.Int64Var(&o.MaxBody, "max-body", o.MaxBody, "")
	fs.IntVar(&o.MaxUploadsPerOrg, "max-uploads-per-org", o.MaxUploadsPerOrg, "")
	fs.IntVar(&o.MaxUploadsPerToken, "max-uploads-per-token", o.MaxUploadsPerToken, "")
	fs.Float64Var(&o.MinUploadRate, "min-upload-rate", o.MinUploadRate, "")
	grace := durationFlag(o.UploadGrace)
	fs.Var(&grace, "upload-grace", "")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "")
	fs.IntVar(&o.Burst, "burst", o.Burst, "")
	fs.Var(&shutdown, "shutdown-timeout", "")
	fs.StringVar(&o.TempDir, "tmp-dir", "", "")
	fs.Var(&drift, "drift", "")
	fs.IntVar(&o.MaxReportsPerIndicator, "max-reports-per-indicator", o.MaxReportsPerIndicator, "")
	fs.Var((*listFlag)(&o.LiftCap), "lift-cap", "")
	fs.Var((*listFlag)(&o.Enrich.ASNDB), "asn-db", "")
	fs.Var((*listFlag)(&o.Enrich.GeoDB), "geo-db", "")
	var sharedASN string
	fs.StringVar(&sharedASN, "shared-asn", "", "")
	fs.StringVar(&o.Enrich.SharedPresets, "shared-preset", "", "")
	fs.BoolVar(&allowRoot, "allow-root", false, "")
	fs.StringVar(&logFormat, "log-format", logFormat, "")
	fs.BoolVar(&verbose, "verbose", false, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case o.MaxUpload < 1024:
		return usagef("serve", "--max-upload %d is too small (at least 1024)", o.MaxUpload)
	case o.MaxBody < 1024:
		return usagef("serve", "--max-body %d is too small (at least 1024)", o.MaxBody)
	case o.MaxUploadsPerOrg < 1 || o.MaxUploadsPerToken < 1:
		return usagef("serve", "--max-uploads-per-org and --max-uploads-per-token must be 1 or more")
	case o.MinUploadRate < 0 || time.Duration(grace) < time.Second:
		return usagef("serve", "--min-upload-rate must be 0 or more and --upload-grace at least 1s")
	case o.Rate < 0 || o.Burst < 1:
		return usagef("serve", "--rate must be 0 or more and --burst 1 or more")
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return usagef("serve", "--tls-cert and --tls-key go together")
	case logFormat != "text" && logFormat != "json":
		return usagef("serve", "--log-format %q (want text or json)", logFormat)
	}
	o.ShutdownTimeout, o.Drift, o.UploadGrace = time.Duration(shutdown), time.Duration(drift), time.Duration(grace)
	if sharedASN != "" {
		asns, err := sharedlist.ParseASNs(sharedASN)
		if err != nil {
			return usagef("serve", "--shared-asn: %v", err)
		}
		o.Enrich.SharedASN = asns
	}
	// The run options are checked, and the databases opened once, now:
	// a mistake is found at start, not at the first run.
	runs := hunt.NewOptions()
	runs.Drift, runs.MaxReportsPerIndicator, runs.LiftCap, runs.Enrich = o.Drift, o.MaxReportsPerIndicator, o.LiftCap, o.Enrich
	if err := runs.Validate(); err != nil {
		return huntUsage("serve", err)
	}
	dbs, err := enrich.OpenDatabases(o.Enrich)
	if err != nil {
		return fmt.Errorf("enrichment databases: %w", err)
	}
	dbs.Close()
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return usagef("serve", "--listen %q: want host:port, e.g. 127.0.0.1:8080", listen)
	}
	if o.TLSCert == "" && !allowPlain && !isLoopback(host) {
		return usagef("serve", "--listen %s is not a loopback address: give --tls-cert and --tls-key (tokens must not cross a network in the clear), or --allow-plaintext behind a TLS proxy", listen)
	}
	if !sa.given() {
		return usagef("serve", "missing --data DIR (or --db URL)")
	}
	if os.Geteuid() == 0 && !allowRoot {
		return fmt.Errorf("refusing to run as root: run seams serve as an unprivileged user that owns the data directory (or pass --allow-root)")
	}

	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	ho := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	if logFormat == "json" {
		log = slog.New(slog.NewJSONHandler(e.stderr, ho))
	} else {
		log = slog.New(slog.NewTextHandler(e.stderr, ho))
	}
	o.Logger = log
	st, err := sa.open(ctx, "serve", log)
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String()+"/", "store", sa.flagText())
	return server.New(st, o).Serve(ctx, ln)
}

// isLoopback reports whether host names only this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
