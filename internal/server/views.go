package server

import (
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/seams-dev/seams"
)

// The API's JSON shapes. The domain types of package seams have no JSON
// tags (they are written by hand-made writers where bytes matter); these
// views fix the names, leave zero times out and mask device identifiers
// for roles that may not see them (see redactor).

// ts formats an instant as RFC 3339 in UTC, "" for the zero time (left out
// by omitempty).
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// redactor masks device identifiers of reports for principals whose role
// does not allow seeing them: only analysts and admins see them whole.
// A masked device keeps its type and the last 4 characters of its value:
// enough to tell two apart on a screen, not enough to look one up.
type redactor struct{ mask bool }

func redactorFor(p seams.Principal) redactor {
	return redactor{mask: !p.Role.Allows(seams.RoleAnalyst)}
}

func (r redactor) device(d seams.DeviceID) string {
	if d.Type == "" && d.Value == "" {
		return ""
	}
	if !r.mask {
		return d.String()
	}
	return d.Type + ":" + maskValue(d.Value)
}

func maskValue(v string) string {
	rs := []rune(v)
	if len(rs) <= 6 {
		return "…"
	}
	return "…" + string(rs[len(rs)-4:])
}

type compoundView struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Aliases  []string `json:"aliases"`
	Country  string   `json:"country"`
	Province string   `json:"province,omitempty"`
	Lat      *float64 `json:"lat,omitempty"`
	Lon      *float64 `json:"lon,omitempty"`
	Status   string   `json:"status,omitempty"`
}

func viewCompound(c seams.Compound) compoundView {
	v := compoundView{ID: c.ID, Name: c.Name, Aliases: c.Aliases, Country: c.Country, Province: c.Province, Status: string(c.Status)}
	if v.Aliases == nil {
		v.Aliases = []string{}
	}
	if c.HasLocation {
		lat, lon := c.Lat, c.Lon
		v.Lat, v.Lon = &lat, &lon
	}
	return v
}

type compoundStatsView struct {
	compoundView
	Indicators     seams.IndicatorCounts `json:"indicators"`
	Tied           int                   `json:"tied"`
	Potential      int                   `json:"potential"`
	Confirmed      int                   `json:"confirmed"`
	Dismissed      int                   `json:"dismissed"`
	First          string                `json:"first,omitempty"`
	Last           string                `json:"last,omitempty"`
	IndicatorFirst string                `json:"indicator_first,omitempty"`
	IndicatorLast  string                `json:"indicator_last,omitempty"`
}

func viewCompoundStats(cs seams.CompoundStats) compoundStatsView {
	return compoundStatsView{compoundView: viewCompound(cs.Compound), Indicators: cs.Indicators, Tied: cs.Tied, Potential: cs.Potential,
		Confirmed: cs.Confirmed, Dismissed: cs.Dismissed, First: ts(cs.First), Last: ts(cs.Last),
		IndicatorFirst: ts(cs.IndicatorFirst), IndicatorLast: ts(cs.IndicatorLast)}
}

type indicatorView struct {
	ID          int64    `json:"id"`
	Compound    string   `json:"compound"`
	Kind        string   `json:"kind"`
	Value       string   `json:"value"`
	FirstSeen   string   `json:"first_seen,omitempty"`
	LastSeen    string   `json:"last_seen,omitempty"`
	Confidence  *float64 `json:"confidence,omitempty"`
	Drift       string   `json:"drift,omitempty"` // its own bound on rule ip-drift (seams.FormatDrift)
	Source      string   `json:"source,omitempty"`
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Org         string   `json:"org"`
	Shared      bool     `json:"shared"`
	Version     int      `json:"version"`
	FileVersion int      `json:"file_version"`
	AddedBy     string   `json:"added_by"`
	Added       string   `json:"added"`
	Retired     string   `json:"retired,omitempty"`
	// Freshness is its decay score now (docs/decay.md).
	Freshness *freshnessView `json:"freshness,omitempty"`
}

// freshnessView is a decay score (seams.Freshness): shown beside a tier,
// never changing it.
type freshnessView struct {
	Score             float64 `json:"score"`
	Base              float64 `json:"base"`
	Since             string  `json:"since,omitempty"` // the last sighting
	At                string  `json:"at"`
	Decayed           bool    `json:"decayed"`
	Sightings         int     `json:"sightings"`
	FalsePositives    int     `json:"false_positives"`
	LastFalsePositive string  `json:"last_false_positive,omitempty"`
}

func viewFreshness(f *seams.Freshness) *freshnessView {
	if f == nil {
		return nil
	}
	return &freshnessView{Score: f.Score, Base: f.Base, Since: ts(f.Since), At: ts(f.At), Decayed: f.Decayed,
		Sightings: f.Sightings, FalsePositives: f.FalsePositives, LastFalsePositive: ts(f.LastFalsePositive)}
}

func (r redactor) indicator(si *seams.StoredIndicator) indicatorView {
	v := indicatorView{ID: si.ID, Compound: si.Compound, Kind: si.Kind.String(), Value: si.Value, FirstSeen: ts(si.Window.First),
		LastSeen: ts(si.Window.Last), Source: si.Source, File: si.File, Line: si.Line, Org: si.Org, Shared: si.Shared,
		Version: si.Version, FileVersion: si.FileVersion, AddedBy: si.AddedBy, Added: ts(si.Added), Retired: ts(si.Retired),
		Freshness: viewFreshness(si.Freshness)}
	if si.Kind == seams.KindDevice {
		// A device indicator's value is what a report's device would
		// equal: masked alike, or the mask of the report would be moot.
		v.Value = r.device(si.Device)
	}
	if si.HasConfidence {
		c := si.Confidence
		v.Confidence = &c
	}
	if si.HasDrift {
		v.Drift = seams.FormatDrift(si.Drift)
	}
	return v
}

func (r redactor) indicators(list []seams.StoredIndicator) []indicatorView {
	out := make([]indicatorView, len(list))
	for i := range list {
		out[i] = r.indicator(&list[i])
	}
	return out
}

type ipEventView struct {
	IP         string `json:"ip"`
	At         string `json:"at,omitempty"`
	Event      string `json:"event,omitempty"`
	Port       int    `json:"port,omitempty"`
	Proxy      bool   `json:"proxy,omitempty"`
	Associated bool   `json:"associated,omitempty"`
}

type deviceView struct {
	Device     string `json:"device"`
	At         string `json:"at,omitempty"`
	Associated bool   `json:"associated,omitempty"`
}

type reportView struct {
	Seq      int64         `json:"seq"`
	ID       string        `json:"id"`
	Received string        `json:"received,omitempty"`
	Incident string        `json:"incident,omitempty"`
	Org      string        `json:"org"`
	Shared   bool          `json:"shared"`
	Source   string        `json:"source,omitempty"`
	File     string        `json:"file"`
	Line     int           `json:"line"`
	LoadedBy string        `json:"loaded_by"`
	Loaded   string        `json:"loaded"`
	IPs      []ipEventView `json:"ips"`
	Devices  []deviceView  `json:"devices"`
}

func (r redactor) report(sr *seams.StoredReport) reportView {
	v := reportView{Seq: sr.Seq, ID: sr.ID, Received: ts(sr.Received), Incident: sr.Incident, Org: sr.Org, Shared: sr.Shared,
		Source: sr.Source, File: sr.File, Line: sr.Line, LoadedBy: sr.LoadedBy, Loaded: ts(sr.Loaded),
		IPs: make([]ipEventView, len(sr.IPs)), Devices: make([]deviceView, len(sr.Devices))}
	for i, e := range sr.IPs {
		v.IPs[i] = ipEventView{IP: e.Addr.String(), At: ts(e.At), Event: e.Event, Port: e.Port, Proxy: e.Proxy, Associated: e.Associated}
	}
	for i, d := range sr.Devices {
		v.Devices[i] = deviceView{Device: r.device(d.ID), At: ts(d.At), Associated: d.Associated}
	}
	return v
}

func (r redactor) reports(list []seams.StoredReport) []reportView {
	out := make([]reportView, len(list))
	for i := range list {
		out[i] = r.report(&list[i])
	}
	return out
}

type observedView struct {
	IP         string `json:"ip,omitempty"`
	Device     string `json:"device,omitempty"`
	At         string `json:"at,omitempty"`
	Event      string `json:"event,omitempty"`
	Port       int    `json:"port,omitempty"`
	Proxy      bool   `json:"proxy,omitempty"`
	Associated bool   `json:"associated,omitempty"`
	// What the run's enrichment databases say of the address.
	ASN     uint32 `json:"asn,omitempty"`
	ASOrg   string `json:"as_org,omitempty"`
	Country string `json:"country,omitempty"`
	City    string `json:"city,omitempty"`
}

type evidenceView struct {
	Rule      string       `json:"rule"`
	Indicator int64        `json:"indicator"`
	Observed  observedView `json:"observed"`
	Drift     string       `json:"drift,omitempty"`
	Shared    string       `json:"shared,omitempty"`
	SharedWhy string       `json:"shared_why,omitempty"`
	Ties      bool         `json:"ties"`
}

func (r redactor) evidence(ev []seams.StoredEvidence) []evidenceView {
	out := make([]evidenceView, len(ev))
	for i := range ev {
		e := &ev[i]
		o := e.Observed
		v := evidenceView{Rule: e.Rule.String(), Indicator: e.Indicator, Ties: e.Ties(),
			Observed: observedView{Device: r.device(o.Device), At: ts(o.At), Event: o.Event, Port: o.Port, Proxy: o.Proxy, Associated: o.Associated,
				ASN: o.Net.ASN, ASOrg: o.Net.Org, Country: o.Net.Country, City: o.Net.City}}
		if o.IP.IsValid() {
			v.Observed.IP = o.IP.String()
		}
		if e.Drift != 0 {
			v.Drift = e.Drift.String()
		}
		if e.Shared.IsValid() {
			v.Shared, v.SharedWhy = e.Shared.String(), e.SharedWhy
		}
		out[i] = v
	}
	return out
}

type reviewView struct {
	Mark    string `json:"mark"` // confirmed, dismissed or none
	Comment string `json:"comment,omitempty"`
	By      string `json:"by,omitempty"`
	At      string `json:"at,omitempty"`
	Version int64  `json:"version,omitempty"`
	Stale   bool   `json:"stale,omitempty"` // the finding changed since
}

func markName(m seams.Mark) string {
	if m == seams.MarkNone {
		return "none"
	}
	return string(m)
}

func viewReview(rv seams.Review) reviewView {
	return reviewView{Mark: markName(rv.Mark), Comment: rv.Comment, By: rv.By, At: ts(rv.At), Version: rv.Version}
}

type findingView struct {
	ID        int64          `json:"id"`
	Report    string         `json:"report"`
	ReportSeq int64          `json:"report_seq"`
	Org       string         `json:"org"`
	Incident  string         `json:"incident,omitempty"`
	Compound  string         `json:"compound"`
	Tier      string         `json:"tier"` // tied, potential, or none (withdrawn)
	At        string         `json:"at,omitempty"`
	Private   bool           `json:"private"`
	Version   int64          `json:"version"`
	FirstRun  int64          `json:"first_run"`
	Run       int64          `json:"run"`
	Review    reviewView     `json:"review"`
	Evidence  []evidenceView `json:"evidence"`
	Signals   []string       `json:"signals,omitempty"` // cross-border, foreign-asn
	Capped    []capView      `json:"capped,omitempty"`
	// Freshness is that of the freshest indicator of its evidence now
	// (docs/decay.md): beside the tier, never changing it.
	Freshness *freshnessView `json:"freshness,omitempty"`
}

// capView is an over-correlated indicator that capped a finding: the
// distinct stored reports with its evidence and the limit, as the last
// run counted them (a version's own run in its history).
type capView struct {
	Indicator int64 `json:"indicator"`
	Reports   int   `json:"reports"`
	Limit     int   `json:"limit"`
}

func viewCaps(cs []seams.StoredCap) []capView {
	var out []capView
	for _, c := range cs {
		out = append(out, capView{Indicator: c.Indicator, Reports: c.Reports, Limit: c.Limit})
	}
	return out
}

// signalNames names the signals as findings.jsonl does.
func signalNames(s seams.Signals) []string {
	var out []string
	if s.CrossBorder {
		out = append(out, "cross-border")
	}
	if s.ForeignASN {
		out = append(out, "foreign-asn")
	}
	return out
}

func (r redactor) finding(f *seams.StoredFinding) findingView {
	rv := viewReview(f.Review)
	rv.Stale = f.ReviewStale()
	return findingView{ID: f.ID, Report: f.Report, ReportSeq: f.ReportSeq, Org: f.Org, Incident: f.Incident, Compound: f.Compound,
		Tier: f.Tier.String(), At: ts(f.At), Private: f.Private, Version: f.Version, FirstRun: f.FirstRun, Run: f.Run,
		Review: rv, Evidence: r.evidence(f.Evidence), Signals: signalNames(f.Signals), Capped: viewCaps(f.Capped),
		Freshness: viewFreshness(f.Freshness)}
}

func (r redactor) findings(list []seams.StoredFinding) []findingView {
	out := make([]findingView, len(list))
	for i := range list {
		out[i] = r.finding(&list[i])
	}
	return out
}

type findingVersionView struct {
	ID       int64          `json:"id"`
	Run      int64          `json:"run"`
	Kind     string         `json:"kind"`
	From     string         `json:"from"`
	Tier     string         `json:"tier"`
	Private  bool           `json:"private"`
	At       string         `json:"at,omitempty"`
	Evidence []evidenceView `json:"evidence"`
	Signals  []string       `json:"signals,omitempty"`
	Capped   []capView      `json:"capped,omitempty"`
}

type findingDetailView struct {
	findingView
	ReportDetail   reportView           `json:"report_detail"`
	CompoundDetail compoundView         `json:"compound_detail"`
	Indicators     []indicatorView      `json:"indicators"`
	History        []findingVersionView `json:"history"`
	Reviews        []reviewView         `json:"reviews"`
	// Explanation is the evidence chain in plain words, one sentence a
	// piece of evidence, in the order of Evidence.
	Explanation []string `json:"explanation"`
	Summary     string   `json:"summary"`
}

func (r redactor) findingDetail(d *seams.FindingDetail) findingDetailView {
	v := findingDetailView{findingView: r.finding(&d.StoredFinding), ReportDetail: r.report(&d.Report), CompoundDetail: viewCompound(d.Compound),
		Indicators: r.indicators(d.Indicators), History: make([]findingVersionView, len(d.History)), Reviews: make([]reviewView, len(d.Reviews))}
	for i, h := range d.History {
		v.History[i] = findingVersionView{ID: h.ID, Run: h.Run, Kind: string(h.Kind), From: h.From.String(), Tier: h.Tier.String(),
			Private: h.Private, At: ts(h.At), Evidence: r.evidence(h.Evidence), Signals: signalNames(h.Signals), Capped: viewCaps(h.Capped)}
	}
	for i, rv := range d.Reviews {
		v.Reviews[i] = viewReview(rv)
	}
	v.Explanation, v.Summary = r.explain(d)
	return v
}

type runView struct {
	ID              int64          `json:"id"`
	Started         string         `json:"started"`
	Finished        string         `json:"finished"`
	By              string         `json:"by"`
	RegistryVersion int64          `json:"registry_version"`
	Drift           string         `json:"drift"`
	Full            bool           `json:"full"`
	Through         int64          `json:"through"`
	Scanned         int            `json:"scanned"`
	Counts          map[string]int `json:"counts"`
	// Seams is the build that made the run (absent for a run stored
	// before schema version 5); Parameters every rule parameter it ran
	// with; OverCorrelated the indicator versions over its limit that the
	// token may see.
	Seams          *seams.Build             `json:"seams,omitempty"`
	Parameters     seams.StoreRunParameters `json:"parameters"`
	OverCorrelated []overView               `json:"over_correlated"`
	Warnings       []string                 `json:"warnings,omitempty"` // with the run just made
	// AsOf is the record time of the registry the run matched (seams
	// xref --store --as-of run:ID replays it; docs/store.md).
	AsOf string `json:"as_of,omitempty"`
}

// overView is an over-correlated indicator version of a run.
type overView struct {
	Indicator int64 `json:"indicator"`
	seams.OverCorrelated
}

// run shapes a run; a viewer sees the device indicators of its list and
// lift list masked.
func (red redactor) run(r seams.Run) runView {
	v := runView{ID: r.ID, Started: ts(r.Started), Finished: ts(r.Finished), By: r.By, RegistryVersion: r.RegistryVersion,
		Drift: r.Drift.String(), Full: r.Full, Through: r.Through, Scanned: r.Scanned, Counts: map[string]int{}, Warnings: r.Warnings,
		Parameters: r.Parameters, OverCorrelated: []overView{}, AsOf: ts(r.AsOf)}
	for _, k := range seams.ChangeKinds {
		v.Counts[string(k)] = r.Counts[k]
	}
	if r.Seams != (seams.Build{}) {
		b := r.Seams
		v.Seams = &b
	}
	for _, o := range r.OverCorrelated {
		ov := overView{Indicator: o.Indicator, OverCorrelated: o.OverCorrelated}
		if o.Kind == seams.KindDevice.String() {
			ov.Value = red.deviceValue(ov.Value)
		}
		v.OverCorrelated = append(v.OverCorrelated, ov)
	}
	if red.mask {
		lift := make([]string, len(v.Parameters.LiftCap))
		for i, l := range v.Parameters.LiftCap {
			lift[i] = red.deviceValue(l) // an address is not masked
		}
		v.Parameters.LiftCap = lift
	}
	return v
}

// deviceValue masks a device written as type:value; anything else (an
// address) is returned as it is.
func (red redactor) deviceValue(s string) string {
	if _, err := netip.ParseAddr(s); err == nil {
		return s
	}
	d, err := seams.ParseDeviceID(s)
	if err != nil {
		return s
	}
	return red.device(d)
}

type changeView struct {
	Run      int64  `json:"run"`
	Finding  int64  `json:"finding"`
	Report   string `json:"report"`
	Compound string `json:"compound"`
	Kind     string `json:"kind"`
	From     string `json:"from"`
	To       string `json:"to"`
	Version  int64  `json:"version"`
}

type tokenView struct {
	ID      string `json:"id"`
	Org     string `json:"org"`
	User    string `json:"user,omitempty"`
	Role    string `json:"role"`
	Label   string `json:"label,omitempty"`
	Created string `json:"created"`
	Expires string `json:"expires,omitempty"`
	Revoked string `json:"revoked,omitempty"`
	// Expired: its expiry has passed (the store refuses it as it refuses
	// a revoked one).
	Expired bool `json:"expired,omitempty"`
}

// viewToken shapes a token; now decides whether it has expired.
func viewToken(t seams.Token, now time.Time) tokenView {
	return tokenView{ID: t.ID, Org: t.Org, User: t.User, Role: string(t.Role), Label: t.Label, Created: ts(t.Created),
		Expires: ts(t.Expires), Revoked: ts(t.Revoked), Expired: !t.Expires.IsZero() && !now.Before(t.Expires)}
}

type auditView struct {
	Seq    int64  `json:"seq"`
	At     string `json:"at"`
	Actor  string `json:"actor"`
	Org    string `json:"org"`
	Action string `json:"action"`
	Object string `json:"object"`
	Detail string `json:"detail,omitempty"`
	Prev   string `json:"prev"`
	Hash   string `json:"hash"`
}

func viewAudit(e seams.AuditEntry) auditView {
	return auditView{Seq: e.Seq, At: ts(e.At), Actor: e.Actor, Org: e.Org, Action: e.Action, Object: e.Object, Detail: e.Detail,
		Prev: hex.EncodeToString(e.Prev[:]), Hash: hex.EncodeToString(e.Hash[:])}
}

type fileVersionView struct {
	Org        string `json:"org"`
	Name       string `json:"name"`
	Version    int    `json:"version"`
	Shared     bool   `json:"shared"`
	SHA256     string `json:"sha256"`
	Indicators int    `json:"indicators"`
	Added      int    `json:"added"`
	Retired    int    `json:"retired"`
	LoadedBy   string `json:"loaded_by"`
	Loaded     string `json:"loaded"`
}

func viewFileVersion(f seams.IndicatorFileVersion) fileVersionView {
	return fileVersionView{Org: f.Org, Name: f.Name, Version: f.Version, Shared: f.Shared, SHA256: hex.EncodeToString(f.SHA256[:]),
		Indicators: f.Indicators, Added: f.Added, Retired: f.Retired, LoadedBy: f.LoadedBy, Loaded: ts(f.Loaded)}
}

type searchView struct {
	Kind       string          `json:"kind"`
	Query      string          `json:"query"`
	Reports    []reportView    `json:"reports"`
	More       bool            `json:"more"`
	Indicators []indicatorView `json:"indicators"`
	Shared     []string        `json:"shared"`
	Findings   []findingView   `json:"findings"`
}

func (r redactor) search(res *seams.SearchResult) searchView {
	q := res.Query.String()
	if res.Query.Kind == seams.SearchDevice {
		q = r.device(res.Query.Device)
	}
	v := searchView{Kind: string(res.Query.Kind), Query: q, Reports: r.reports(res.Reports), More: res.More,
		Indicators: r.indicators(res.Indicators), Shared: prefixes(res.Shared), Findings: r.findings(res.Findings)}
	return v
}

func prefixes(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
