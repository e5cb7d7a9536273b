// Command loadgen measures a seams server on this machine: requests a
// second and latency percentiles (p50, p99) of each page of the dashboard
// and read of the API (scenarioNames: the overview, the compounds and a
// compound's page, the findings list following cursors, a finding,
// reports, indicators, IP search with addresses taken from stored
// findings, runs, the admin page's audit list), each for a bounded time
// and number of requests, with a fixed number of concurrent clients. When
// no request of a scenario finished, it says so instead of printing a
// percentile of nothing.
//
// It only talks to loopback addresses, and stops by itself: every
// scenario ends after --duration or --requests, whichever comes first.
//
//	seams serve --data /tmp/bench1m/store --rate 0 --allow-root &
//	go run ./bench/loadgen --url http://127.0.0.1:8080 --token "$TOKEN" --duration 20s --concurrency 8
//
// Start the server with --rate 0: the per-token rate limit (20 a second by
// default) would otherwise be what is measured.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type options struct {
	base        *url.URL
	token       string
	duration    time.Duration
	requests    int
	concurrency int
	scenarios   []string
	seed        uint64
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	raw := fs.String("url", "http://127.0.0.1:8080", "the server (loopback only)")
	token := fs.String("token", os.Getenv("SEAMS_TOKEN"), "an API token (default $SEAMS_TOKEN)")
	duration := fs.Duration("duration", 20*time.Second, "time per scenario (at most 5m)")
	requests := fs.Int("requests", 200000, "most requests per scenario")
	concurrency := fs.Int("concurrency", 8, "concurrent clients (1-256)")
	scen := fs.String("scenarios", "search,findings,overview", "comma-separated: "+strings.Join(scenarioNames, ", "))
	seed := fs.Uint64("seed", 1, "random seed (search addresses, findings filters)")
	settle := fs.Duration("settle", 10*time.Second, "pause between scenarios, for the server to finish requests cut at the end of the last one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := options{token: *token, duration: *duration, requests: *requests, concurrency: *concurrency, scenarios: strings.Split(*scen, ","), seed: *seed}
	u, err := url.Parse(*raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("--url %q: want http://127.0.0.1:PORT", *raw)
	}
	if err := loopbackOnly(u.Hostname()); err != nil {
		return err
	}
	o.base = u
	switch {
	case o.token == "":
		return errors.New("missing --token (or $SEAMS_TOKEN): seams token create --role viewer makes one")
	case o.duration <= 0 || o.duration > 5*time.Minute:
		return fmt.Errorf("--duration %v: want more than 0 and at most 5m", o.duration)
	case o.requests < 1 || o.requests > 10_000_000:
		return fmt.Errorf("--requests %d: want 1 to 10,000,000", o.requests)
	case o.concurrency < 1 || o.concurrency > 256:
		return fmt.Errorf("--concurrency %d: want 1 to 256", o.concurrency)
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency, MaxConnsPerHost: o.concurrency}}
	l := &loader{o: o, c: client}
	if err := l.prepare(); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\trequests\terrors\tcut\treq/s\tp50\tp90\tp99\tmax\t\n")
	for i, s := range o.scenarios {
		if i > 0 && *settle > 0 {
			time.Sleep(min(*settle, time.Minute))
		}
		gen, ok := l.scenario(strings.TrimSpace(s))
		if !ok {
			return fmt.Errorf("unknown scenario %q (want one of %s)", s, strings.Join(scenarioNames, ", "))
		}
		fmt.Fprintf(os.Stderr, "loadgen: %s for %v with %d clients\n", s, o.duration, o.concurrency)
		r := l.measure(gen)
		if r.ok == 0 {
			// No percentile of nothing: say so, rather than print 0 ms.
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t-\tno request finished in %v\t\t\t\t\n", s, r.ok, r.failed, r.cut, o.duration)
		} else {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t\n", s, r.ok, r.failed, r.cut, r.rate(), ms(r.pct(50)), ms(r.pct(90)), ms(r.pct(99)), ms(r.pct(100)))
		}
		if r.cut > 0 && (r.ok == 0 || r.longestCut > r.pct(100)) {
			fmt.Fprintf(os.Stderr, "loadgen: %s: %d requests still running at the end are not counted; one had run %s, longer than any that finished\n",
				s, r.cut, ms(r.longestCut))
		}
		if r.failed > 0 {
			fmt.Fprintf(os.Stderr, "loadgen: %s: %d errors, first: %s\n", s, r.failed, r.firstErr)
		}
	}
	return tw.Flush()
}

// loopbackOnly refuses any host that is not this machine: a load test
// sends its traffic nowhere else.
func loopbackOnly(host string) error {
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("host %q is not a loopback address: loadgen only loads a server on this machine", host)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

type loader struct {
	o         options
	c         *http.Client
	addrs     []string // addresses seen in findings, for search
	compounds []string
	findings  []int64  // finding ids, for the detail page
	reports   []string // report ids
}

// get fetches path and decodes JSON into v (when not nil).
func (l *loader) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", l.o.base.String()+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.o.token)
	resp, err := l.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %d %s", strings.SplitN(path, "?", 2)[0], resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if v == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// prepare collects addresses to search for and compounds to filter by.
func (l *loader) prepare() error {
	ctx := context.Background()
	var cs struct{ Compounds []struct{ ID string } }
	if err := l.get(ctx, "/api/compounds", &cs); err != nil {
		return err
	}
	for _, c := range cs.Compounds {
		l.compounds = append(l.compounds, c.ID)
	}
	seen := map[string]bool{}
	cursor := ""
	for page := 0; page < 20 && len(l.addrs) < 2000; page++ {
		var p struct {
			Findings []struct {
				ID       int64
				Report   string
				Evidence []struct{ Observed struct{ IP string } }
			}
			Next string
		}
		if err := l.get(ctx, "/api/findings?sort=newest&limit=1000&cursor="+url.QueryEscape(cursor), &p); err != nil {
			return err
		}
		for _, f := range p.Findings {
			if len(l.findings) < 2000 {
				l.findings = append(l.findings, f.ID)
				l.reports = append(l.reports, f.Report)
			}
			for _, e := range f.Evidence {
				if ip := e.Observed.IP; ip != "" && !seen[ip] {
					seen[ip] = true
					l.addrs = append(l.addrs, ip)
				}
			}
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if len(l.addrs) == 0 {
		l.addrs = []string{"203.0.113.7"}
	}
	return nil
}

// A scenario hands each client its next request path.
type scenario func(rng *rand.Rand, state *string) string

// scenarioNames are the scenarios: the dashboard's pages and the API's
// reads. Lists follow their cursors (findings, reports, indicators).
var scenarioNames = []string{"overview", "compounds", "compound", "findings", "finding", "reports", "indicators", "search", "runs", "me", "audit"}

// pager follows the cursor of a list under one of filters, starting over
// every 20 pages on average.
func pager(path string, filters []string) scenario {
	return func(rng *rand.Rand, state *string) string {
		if *state == "" || rng.IntN(20) == 0 {
			return path + "?" + filters[rng.IntN(len(filters))] + "limit=100"
		}
		return *state
	}
}

func (l *loader) scenario(name string) (scenario, bool) {
	switch name {
	case "overview":
		return func(*rand.Rand, *string) string { return "/api/summary" }, true
	case "findings":
		// Pages of 100, following the cursor, under one of a few
		// filters.
		filters := []string{"", "tier=tied&", "tier=potential&", "review=none&", "sort=newest&"}
		for _, c := range l.compounds[:min(5, len(l.compounds))] {
			filters = append(filters, "compound="+url.QueryEscape(c)+"&")
		}
		return pager("/api/findings", filters), true
	case "reports":
		return pager("/api/reports", []string{""}), true
	case "indicators":
		filters := []string{""}
		for _, c := range l.compounds[:min(5, len(l.compounds))] {
			filters = append(filters, "compound="+url.QueryEscape(c)+"&")
		}
		return pager("/api/indicators", filters), true
	case "compounds":
		return func(*rand.Rand, *string) string { return "/api/compounds" }, true
	case "compound":
		// The compound page: its counts and summary, its indicators,
		// its latest findings.
		return func(rng *rand.Rand, _ *string) string {
			c := url.QueryEscape(l.compounds[rng.IntN(len(l.compounds))])
			switch rng.IntN(3) {
			case 0:
				return "/api/compounds/" + c
			case 1:
				return "/api/indicators?compound=" + c + "&limit=1000"
			}
			return "/api/findings?compound=" + c + "&sort=newest&limit=20"
		}, true
	case "finding":
		return func(rng *rand.Rand, _ *string) string {
			return fmt.Sprintf("/api/findings/%d", l.findings[rng.IntN(len(l.findings))])
		}, len(l.findings) > 0
	case "runs":
		return func(*rand.Rand, *string) string { return "/api/runs" }, true
	case "me":
		return func(*rand.Rand, *string) string { return "/api/me" }, true
	case "audit":
		// The admin page's list (an admin's token); verifying the chain
		// is measured apart.
		return func(*rand.Rand, *string) string { return "/api/audit?limit=50" }, true
	case "search":
		return func(rng *rand.Rand, _ *string) string {
			return "/api/search?q=" + url.QueryEscape(l.addrs[rng.IntN(len(l.addrs))])
		}, true
	}
	return nil, false
}

type result struct {
	lat        []time.Duration
	ok         int
	failed     int
	cut        int           // in flight when the scenario ended: not counted
	longestCut time.Duration // how long the longest of those had run
	firstErr   string
	took       time.Duration
}

func (r *result) rate() float64 { return float64(r.ok) / r.took.Seconds() }

func (r *result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := (len(r.lat)*p + 99) / 100
	return r.lat[min(max(i-1, 0), len(r.lat)-1)]
}

// measure runs one scenario with o.concurrency clients until the time or
// the request budget runs out.
func (l *loader) measure(next scenario) *result {
	ctx, cancel := context.WithTimeout(context.Background(), l.o.duration)
	defer cancel()
	var mu sync.Mutex
	res := &result{}
	budget := make(chan struct{}, l.o.requests)
	for i := 0; i < l.o.requests; i++ {
		budget <- struct{}{}
	}
	close(budget)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < l.o.concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(l.o.seed, uint64(w)))
			var state string
			var lat []time.Duration
			ok, failed, cut := 0, 0, 0
			var longest time.Duration
			var first string
			for range budget {
				if ctx.Err() != nil {
					break
				}
				path := next(rng, &state)
				t0 := time.Now()
				var p struct{ Next string }
				var err error
				paged := isList(path)
				if paged {
					err = l.get(ctx, path, &p)
				} else {
					err = l.get(ctx, path, nil)
				}
				d := time.Since(t0)
				if ctx.Err() != nil {
					// Cut by the end of the scenario: not counted,
					// but how long it had run is kept.
					cut++
					longest = max(longest, d)
					break
				}
				if err != nil {
					failed++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				ok++
				lat = append(lat, d)
				if paged {
					state = ""
					if p.Next != "" {
						base, _, _ := strings.Cut(path, "&cursor=")
						state = base + "&cursor=" + url.QueryEscape(p.Next)
					}
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.ok += ok
			res.failed += failed
			res.cut += cut
			res.longestCut = max(res.longestCut, longest)
			if res.firstErr == "" {
				res.firstErr = first
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.took = time.Since(start)
	slices.Sort(res.lat)
	return res
}

// isList says whether path is a list that answers a cursor (a pager
// scenario follows it; the others ignore it).
func isList(path string) bool {
	p, _, _ := strings.Cut(path, "?")
	return p == "/api/findings" || p == "/api/reports" || p == "/api/indicators"
}
