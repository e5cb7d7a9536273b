package server

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/termsafe"
)

// Query parameters are parsed strictly: an unknown parameter, a repeated
// one or a malformed value is a 400 that names it, so that a typo
// ("teir=tied") never silently lists everything.

// maxParam is the longest query parameter value accepted, in bytes.
const maxParam = seams.MaxKey

// params reads the query parameters of one request.
type params struct {
	v    url.Values
	used map[string]bool
	err  error
}

func newParams(v url.Values) *params { return &params{v: v, used: map[string]bool{}} }

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s", seams.ErrInvalid, fmt.Sprintf(format, args...))
	}
}

// str returns the value of name, "" when absent.
func (p *params) str(name string) string {
	p.used[name] = true
	vs := p.v[name]
	switch {
	case len(vs) == 0:
		return ""
	case len(vs) > 1:
		p.fail("parameter %s given %d times", name, len(vs))
		return ""
	case len(vs[0]) > maxParam:
		p.fail("parameter %s longer than %d bytes", name, maxParam)
		return ""
	case !utf8.ValidString(vs[0]) || strings.IndexByte(vs[0], 0) >= 0:
		p.fail("parameter %s is not valid text", name)
		return ""
	}
	return vs[0]
}

func (p *params) boolean(name string) bool {
	switch s := p.str(name); s {
	case "", "false", "0":
		return false
	case "true", "1":
		return true
	default:
		p.fail("parameter %s=%q (want true or false)", name, s)
		return false
	}
}

// limit reads a page size in [1, most]; 0 when absent (the store's default).
func (p *params) limit(name string, most int) int {
	s := p.str(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		p.fail("parameter %s=%q (want a number from 1 to %d)", name, s, most)
		return 0
	}
	return n
}

func (p *params) int64(name string) int64 {
	s := p.str(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		p.fail("parameter %s=%q (want a whole number, 0 or more)", name, s)
		return 0
	}
	return n
}

// time reads an instant: RFC 3339, or a date YYYY-MM-DD meaning its start
// (00:00 UTC).
func (p *params) time(name string) time.Time {
	s := p.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := parseInstant(s)
	if err != nil {
		p.fail("parameter %s: %v", name, err)
	}
	return t
}

// parseInstant parses RFC 3339 or YYYY-MM-DD (the start of that day, UTC).
func parseInstant(s string) (time.Time, error) {
	if len(s) == len(time.DateOnly) {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid date %q (want YYYY-MM-DD or an RFC 3339 time)", s)
		}
		// The range seams holds times in, as for an RFC 3339 time: a date
		// outside it could not be encoded back in a cursor or a link.
		if d.Before(seams.MinTime) || d.After(seams.MaxTime) {
			return time.Time{}, fmt.Errorf("%q: %w", s, seams.ErrTimeRange)
		}
		return d, nil
	}
	t, err := seams.ParseTime(s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// done fails on parameters the handler did not read.
func (p *params) done() error {
	if p.err != nil {
		return p.err
	}
	for name := range p.v {
		if !p.used[name] {
			return fmt.Errorf("%w: unknown parameter %q", seams.ErrInvalid, clip(name, 64))
		}
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:n], "?") + "…"
}

// parseFindingQuery reads the filters of GET /api/findings.
func parseFindingQuery(v url.Values) (seams.FindingQuery, error) {
	p := newParams(v)
	q := findingFilters(p, v)
	q.Cursor = p.str("cursor")
	q.Limit = p.limit("limit", 1000)
	q.Count = p.boolean("count")
	return q, p.done()
}

// findingFilters reads the filters of a list of findings, as
// GET /api/findings and its export take them (no paging).
func findingFilters(p *params, v url.Values) seams.FindingQuery {
	var q seams.FindingQuery
	if s := p.str("tier"); s != "" {
		t, err := seams.ParseTier(s)
		if err != nil {
			p.fail("parameter tier: %v", err)
		}
		q.Tier = t
	}
	q.Compound = p.str("compound")
	if q.Compound != "" && !seams.ValidCompoundID(q.Compound) {
		p.fail("parameter compound=%q is not a compound id", clip(q.Compound, 64))
	}
	if s := p.str("country"); s != "" {
		c, err := seams.ParseCountry(s)
		if err != nil {
			p.fail("parameter country: %v", err)
		}
		q.Country = c
	}
	q.Incident = p.str("incident")
	q.Report = p.str("report")
	if s, ok := v["review"]; ok && len(s) == 1 {
		m, err := seams.ParseMark(p.str("review"))
		if err != nil {
			p.fail("parameter review: %v", err)
		}
		q.Mark = &m
	} else {
		p.str("review") // reports a repeated parameter
	}
	q.From, q.To = p.time("from"), p.time("to")
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		p.fail("parameter from must be before to")
	}
	q.Withdrawn = p.boolean("withdrawn")
	q.Stale = p.boolean("stale")
	if s := p.str("rule"); s != "" {
		r, err := seams.ParseRule(s)
		if err != nil {
			p.fail("parameter rule: %v", err)
		}
		q.Rule = r
	}
	q.Source = p.str("source")
	if s := p.str("asn"); s != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(s), "AS"), 10, 32)
		if err != nil || n == 0 {
			p.fail("parameter asn=%q (want an AS number, e.g. 64500 or AS64500)", clip(s, 32))
		}
		q.ASN = uint32(n)
	}
	switch s := p.str("sort"); s {
	case "", "oldest":
	case "newest":
		q.Sort = seams.SortNewest
	case "recent":
		q.Sort = seams.SortRecent
	case "tier":
		q.Sort = seams.SortTier
	default:
		p.fail("parameter sort=%q (want oldest, newest, recent or tier)", clip(s, 32))
	}
	return q
}

// parseReportQuery reads the filters of GET /api/reports.
func parseReportQuery(v url.Values) (seams.ReportQuery, error) {
	p := newParams(v)
	var q seams.ReportQuery
	p.used["id"] = true
	if ids := v["id"]; len(ids) > 0 {
		if len(ids) > 100 {
			p.fail("more than 100 id parameters")
		}
		for _, id := range ids {
			if id == "" || len(id) > seams.MaxKey || !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
				p.fail("parameter id: not a report id")
				break
			}
			q.IDs = append(q.IDs, id)
		}
	}
	q.Incident = p.str("incident")
	q.File = p.str("file")
	q.From, q.To = p.time("from"), p.time("to")
	q.Cursor = p.str("cursor")
	q.Limit = p.limit("limit", 1000)
	return q, p.done()
}

// parseIndicatorQuery reads the filters of GET /api/indicators.
func parseIndicatorQuery(v url.Values) (seams.IndicatorQuery, error) {
	p := newParams(v)
	var q seams.IndicatorQuery
	q.Compound = p.str("compound")
	if q.Compound != "" && !seams.ValidCompoundID(q.Compound) {
		p.fail("parameter compound=%q is not a compound id", clip(q.Compound, 64))
	}
	if s := p.str("kind"); s != "" {
		k, err := seams.ParseKind(s)
		if err != nil {
			p.fail("parameter kind: %v", err)
		}
		q.Kind = k
	}
	q.File = p.str("file")
	q.Org = p.str("org")
	q.Retired = p.boolean("retired")
	q.Cursor = p.str("cursor")
	q.Limit = p.limit("limit", 10000)
	return q, p.done()
}

// parseSearch reads GET /api/search?q=TEXT[&kind=KIND][&limit=N].
func parseSearch(v url.Values) (seams.SearchQuery, error) {
	p := newParams(v)
	text, kind := p.str("q"), p.str("kind")
	limit := p.limit("limit", 1000)
	if err := p.done(); err != nil {
		return seams.SearchQuery{}, err
	}
	if text == "" {
		return seams.SearchQuery{}, fmt.Errorf("%w: missing parameter q (an address, a prefix, a device TYPE:VALUE or a report id)", seams.ErrInvalid)
	}
	q, err := seams.ParseSearch(kind, text)
	if err != nil {
		return q, err
	}
	q.Limit = limit
	return q, nil
}

// parseChangeQuery reads GET /api/runs/{id}/changes.
func parseChangeQuery(run string, v url.Values) (seams.ChangeQuery, error) {
	id, err := parseID(run)
	if err != nil {
		return seams.ChangeQuery{}, err
	}
	p := newParams(v)
	q := seams.ChangeQuery{Run: id}
	if s := p.str("kind"); s != "" {
		k := seams.ChangeKind(s)
		ok := false
		for _, known := range seams.ChangeKinds {
			ok = ok || k == known
		}
		if !ok {
			p.fail("parameter kind=%q (want new, upgraded, downgraded, withdrawn or revised)", clip(s, 32))
		}
		q.Kind = k
	}
	q.Cursor = p.str("cursor")
	q.Limit = p.limit("limit", 1000)
	return q, p.done()
}

// parseID reads a numeric id from a path: 1 or more.
func parseID(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || strings.HasPrefix(s, "+") || strings.HasPrefix(s, "0") {
		return 0, fmt.Errorf("%w: id %q (want a whole number from 1)", seams.ErrNotFound, clip(s, 32))
	}
	return n, nil
}

// parseDuration parses Go duration syntax or whole days ("90d"); negative
// durations are refused.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil || days > 100000 {
			return 0, fmt.Errorf("%w: duration %q (want e.g. 90d or 2160h)", seams.ErrInvalid, clip(s, 32))
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: duration %q (want e.g. 90d or 2160h)", seams.ErrInvalid, clip(s, 32))
	}
	return d, nil
}

// uploadParams reads the query of POST /api/upload/{kind}.
type uploadParams struct {
	name   string
	shared bool
	// coalition loads a shared-space list into the coalition-wide set;
	// confirm stores a change that needs confirmation (a wide list, a
	// compound moved far).
	coalition, confirm bool
	format             string
	source             string
	run                bool // cross-reference the store once the file is stored
}

func parseUpload(v url.Values) (uploadParams, error) {
	p := newParams(v)
	u := uploadParams{name: p.str("name"), shared: p.boolean("shared"), format: p.str("format"), source: p.str("source"),
		coalition: p.boolean("coalition"), confirm: p.boolean("confirm"), run: p.boolean("run")}
	if err := p.done(); err != nil {
		return u, err
	}
	if err := checkUploadName(u.name); err != nil {
		return u, err
	}
	return u, nil
}

// checkUploadName refuses names that are empty, long, paths, or hold
// control characters (C0, DEL, C1) or bidirectional controls, which would
// make the name read other than it is: the name is provenance kept for
// years.
func checkUploadName(s string) error {
	if s == "" {
		return fmt.Errorf("%w: missing parameter name (the file's name, e.g. partner-a.csv)", seams.ErrInvalid)
	}
	if len(s) > 256 || strings.ContainsAny(s, "/\\") || s == "." || s == ".." || strings.TrimSpace(s) != s {
		return fmt.Errorf("%w: name %q (a file name of at most 256 bytes, no slashes or surrounding spaces)", seams.ErrInvalid, clip(s, 64))
	}
	for _, r := range s {
		if termsafe.Unsafe(r) {
			return fmt.Errorf("%w: name %q holds a control character or a bidirectional control", seams.ErrInvalid, termsafe.String(clip(s, 64)))
		}
	}
	return nil
}
