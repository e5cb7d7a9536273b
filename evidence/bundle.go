// Package evidence makes and checks signed evidence bundles: what a
// finding rests on (the report's record and its hash, every indicator
// with its source, window and version, the rules and parameters of the
// run, the registry it matched against, the seams that ran it and, from a
// store, the reviews), in one JSON document signed with Ed25519 in a DSSE
// envelope, so that it keeps its integrity away from the server that
// made it. Verify checks a bundle offline with nothing but the signer's
// public key, and says what the check proves and what it does not.
package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// PayloadType is the DSSE payload type of a bundle.
const PayloadType = "application/vnd.seams.evidence+json"

// Type is the _type of a bundle's payload, with its version.
const Type = "https://github.com/seams-dev/seams/docs/evidence.md#v1"

// Bundle is the signed payload. Field order is fixed, so the same bundle
// is always the same bytes.
type Bundle struct {
	Type    string      `json:"_type"`
	Created time.Time   `json:"created"` // the signer's clock: a claim, not proof
	Seams   seams.Build `json:"seams"`   // the seams that made the bundle
	Source  Source      `json:"source"`
	Rules   []RuleText  `json:"rules"`
	// Subjects are files the bundle vouches for, by hash: a brief.
	Subjects []Subject `json:"subjects,omitempty"`
	Findings []Finding `json:"findings"`
}

// Source says where the findings come from: a run's output folder or a
// store, with what is known of the run that made them.
type Source struct {
	Kind string `json:"kind"` // "run" or "store"
	// RunSeams is the seams that made the findings (summary.json's), for
	// a run.
	RunSeams *seams.Build `json:"run_seams,omitempty"`
	// Parameters are the rule parameters of the run, where recorded.
	Parameters *seams.RunParameters `json:"parameters,omitempty"`
	// Summary and Findings are the SHA-256 of the run's summary.json and
	// findings.jsonl.
	SummarySHA256  string `json:"summary_sha256,omitempty"`
	FindingsSHA256 string `json:"findings_sha256,omitempty"`
	// Inputs are every input the run read, with size and SHA-256.
	Inputs []seams.InputCount `json:"inputs,omitempty"`
	// RegistrySHA256 is the registry snapshot hash: for a run, RegistryHash
	// of its inputs; for a store, RegistryHash of the indicators it held
	// when the bundle was made, given only when the store's registry
	// version is still the one the finding's run matched against.
	RegistrySHA256 string               `json:"registry_sha256,omitempty"`
	Databases      []seams.DatabaseInfo `json:"databases,omitempty"`
	SharedLists    []seams.SharedList   `json:"shared_lists,omitempty"`
	// Store only: the run that made the current version of the findings.
	Run             int64  `json:"run,omitempty"`
	RunStarted      string `json:"run_started,omitempty"`
	RegistryVersion int64  `json:"registry_version,omitempty"`
	Drift           string `json:"drift,omitempty"`
	// Missing lists what the source does not record, in words.
	Missing []string `json:"missing,omitempty"`
}

// RuleText is a rule as the bundle states it: its name, what it means and
// the tier its evidence earns.
type RuleText struct {
	Rule    string `json:"rule"`
	Meaning string `json:"meaning"`
	Ties    string `json:"tier"`
}

// Rules is what seams's rules say (docs/xref.md, "Matching").
var Rules = []RuleText{
	{"device", "a device of the report equals a device indicator of the compound, the device's time missing or inside the indicator's window", "tied"},
	{"ip", "an ip event of the report has exactly the address of an ip indicator of the compound, its time inside the window", "tied, unless the event is flagged proxy or the address lies in shared space: potential"},
	{"ip-drift", "the same address, the event's time outside the window by at most the run's drift", "potential"},
	{"cidr", "the event's address lies inside a cidr indicator of the compound, its time inside the window", "potential"},
	{"asn", "the event's address is announced by the AS of an asn indicator of the compound (by the run's ASN database), its time inside the window", "potential"},
	{"ip-undated", "an ip event without a time has exactly the address of an ip indicator of the compound", "potential"},
	{"over-correlation", "a finding tied only by indicators that matched more distinct reports than max_reports_per_indicator is capped at potential (its capped list names them)", "potential"},
}

// Subject is a file the bundle vouches for.
type Subject struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Finding is one finding with everything it rests on.
type Finding struct {
	// ID is the store's id of the finding; 0 for a run's.
	ID int64 `json:"id,omitempty"`
	// Finding is the finding as findings.jsonl writes it (one line,
	// without its newline): report, compound, tier, evidence with each
	// indicator (kind, value, window, confidence, source) and the
	// observation that fired it, signals and caps.
	Finding  json.RawMessage `json:"finding"`
	Compound Compound        `json:"compound"`
	Report   ReportRecord    `json:"report"`
	// Indicators are the versions of the evidence's indicators, where a
	// store keeps them, in the order of the evidence.
	Indicators []IndicatorVersion `json:"indicators,omitempty"`
	Reviews    []Review           `json:"reviews,omitempty"`
	// History is the store's versions of the finding, oldest first.
	History []HistoryEntry `json:"history,omitempty"`
}

// Compound is what the bundle says of the compound.
type Compound struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Country  string `json:"country,omitempty"`
	Province string `json:"province,omitempty"`
	Status   string `json:"status,omitempty"`
}

// ReportRecord is a report's metadata as JSON (the JSON Lines report
// format of docs/xref.md), the SHA-256 of exactly those bytes, and where
// it was read.
type ReportRecord struct {
	Record json.RawMessage `json:"record"`
	SHA256 string          `json:"sha256"`
	File   string          `json:"file,omitempty"`
	Line   int             `json:"line,omitempty"`
	// FileSHA256 is the SHA-256 of the whole file it was read from.
	FileSHA256 string `json:"file_sha256,omitempty"`
	Org        string `json:"org,omitempty"`
	Source     string `json:"source,omitempty"`
	Loaded     string `json:"loaded,omitempty"`
}

// IndicatorVersion is a stored version of an indicator.
type IndicatorVersion struct {
	ID          int64  `json:"id"`
	Kind        string `json:"kind"`
	Value       string `json:"value"`
	Version     int    `json:"version"`
	File        string `json:"file,omitempty"`
	Line        int    `json:"line,omitempty"`
	FileVersion int    `json:"file_version"`
	Org         string `json:"org"`
	Source      string `json:"source,omitempty"`
	AddedBy     string `json:"added_by"`
	Added       string `json:"added"`
	Retired     string `json:"retired,omitempty"`
}

// Review is a review mark of a finding.
type Review struct {
	Mark    string `json:"mark"`
	Comment string `json:"comment,omitempty"`
	By      string `json:"by"`
	At      string `json:"at"`
	Version int64  `json:"version"`
}

// HistoryEntry is one version of a stored finding.
type HistoryEntry struct {
	Version int64  `json:"version"`
	Run     int64  `json:"run"`
	Kind    string `json:"kind"`
	From    string `json:"from,omitempty"`
	Tier    string `json:"tier"`
}

// reportJSON is a report in the JSON Lines report format.
type reportJSON struct {
	ID       string       `json:"id"`
	Received string       `json:"received,omitempty"`
	Incident string       `json:"incident,omitempty"`
	IPs      []ipJSON     `json:"ips,omitempty"`
	Devices  []deviceJSON `json:"devices,omitempty"`
}

type ipJSON struct {
	IP         string `json:"ip"`
	At         string `json:"at,omitempty"`
	Event      string `json:"event,omitempty"`
	Port       int    `json:"port,omitempty"`
	Proxy      bool   `json:"proxy,omitempty"`
	Associated bool   `json:"associated,omitempty"`
}

type deviceJSON struct {
	Type       string `json:"type"`
	Value      string `json:"value"`
	At         string `json:"at,omitempty"`
	Associated bool   `json:"associated,omitempty"`
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// NewReportRecord returns the record of a report and its hash.
func NewReportRecord(r *seams.Report) ReportRecord {
	j := reportJSON{ID: r.ID, Received: timeText(r.Received), Incident: r.Incident}
	for _, e := range r.IPs {
		port := e.Port
		j.IPs = append(j.IPs, ipJSON{IP: e.Addr.String(), At: timeText(e.At), Event: e.Event, Port: port, Proxy: e.Proxy, Associated: e.Associated})
	}
	for _, d := range r.Devices {
		j.Devices = append(j.Devices, deviceJSON{Type: d.ID.Type, Value: d.ID.Value, At: timeText(d.At), Associated: d.Associated})
	}
	b, _ := json.Marshal(j) // strings and numbers only: cannot fail
	return ReportRecord{Record: b, SHA256: SHA256(b)}
}

// SHA256 returns the hex SHA-256 of b.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// RegistryHash is the registry snapshot hash of a run: the SHA-256 of one
// line "KIND SHA256\n" per registry input (compounds, indicators, shared),
// sorted, so that the same registry files give the same hash whatever
// their names and order.
func RegistryHash(inputs []seams.InputCount) string {
	var lines []string
	for _, in := range inputs {
		switch in.Kind {
		case "compounds", "indicators", "shared":
			lines = append(lines, in.Kind+" "+in.SHA256+"\n")
		}
	}
	if len(lines) == 0 {
		return ""
	}
	sort.Strings(lines)
	return SHA256([]byte(strings.Join(lines, "")))
}

// StoreRegistryHash is the registry snapshot hash of a store: the SHA-256
// of one line per active indicator version "ID KIND VALUE COMPOUND\n" in
// id order, then one line per shared prefix, sorted.
func StoreRegistryHash(reg *seams.StoredRegistry) string {
	h := sha256.New()
	ids := make([]int, len(reg.Indicators))
	for i := range ids {
		ids[i] = i
	}
	sort.Slice(ids, func(a, b int) bool { return reg.Indicators[ids[a]].ID < reg.Indicators[ids[b]].ID })
	for _, i := range ids {
		in := &reg.Indicators[i]
		b, _ := json.Marshal([]any{in.ID, in.Kind.String(), in.Value, in.Compound})
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	var sh []string
	for _, p := range reg.SharedPrefixes() {
		sh = append(sh, p.String())
	}
	sort.Strings(sh)
	for _, s := range sh {
		h.Write([]byte("shared " + s + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}
