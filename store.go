package seams

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the domain of the case store: what a team keeps between
// runs (compounds, indicator versions with provenance, report metadata,
// findings with their history and review marks, organisations, tokens and
// the audit log), and the interfaces an engine implements. The engines live
// in their own packages, sqlite/ and postgres/, and behave the same: the
// suite in storetest/ holds them to it.

// Store is a persistent case store. Every method that changes the store
// runs in one transaction, takes the Principal who acts, and appends an
// entry to the audit log in that same transaction: a change and its audit
// entry are committed together or not at all. Every method that reads
// findings or reports appends an entry too, before it returns them.
type Store interface {
	Loader
	Hunter
	Reader
	FindingStore
	Access
	AuditLog
	Close() error
}

// Errors of a Store that callers branch on.
var (
	// ErrNotFound: no such object, or not one the principal may see.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the store changed under a cross-reference run (another
	// run completed, or indicators changed); run again.
	ErrConflict = errors.New("the store changed during the run; run it again")
	// ErrUnauthorized: the token is unknown, revoked, expired or malformed.
	ErrUnauthorized = errors.New("invalid token")
	// ErrForbidden: the principal's role does not allow the action.
	ErrForbidden = errors.New("not allowed for this role")
	// ErrSchemaTooNew: the database was migrated by a newer seams.
	ErrSchemaTooNew = errors.New("database schema is newer than this seams")
	// ErrInvalid: an argument is malformed (a cursor, a query, a name).
	ErrInvalid = errors.New("invalid argument")
)

// Loader imports registry and report files into the store. Loading what is
// already stored changes no data (the attempt is audited).
type Loader interface {
	// PutCompounds adds new compounds and updates changed ones. Compounds
	// are reference data, visible to every organisation; they are never
	// deleted by a load, since another file may still use them. A new
	// compound belongs to p.Org; only its organisation or a coalition
	// steward may change it (ErrForbidden), and a change that moves it far
	// or to another country needs f.Confirm (ErrNeedsConfirm).
	PutCompounds(ctx context.Context, p Principal, f CompoundFile, cs []Compound) (LoadResult, error)
	// PutIndicators makes inds the active indicators of the indicator file
	// f.Name of p.Org. Rows already active are kept as they are; new rows
	// become new indicator versions; active rows missing from inds are
	// retired. Only when the set (or its sharing) changes is a new file
	// version recorded. Every indicator must name a stored compound.
	PutIndicators(ctx context.Context, p Principal, f IndicatorFile, inds []Indicator) (LoadResult, error)
	// ShareIndicators sets the sharing of the indicator file name of p.Org:
	// a new version of the file with the same indicators.
	ShareIndicators(ctx context.Context, p Principal, name string, shared bool) (LoadResult, error)
	// PutShared makes l the shared-space list l.Name of p.Org (of the
	// coalition for SharedCoalition, which takes RoleCoalition),
	// replacing what an earlier load of that list held. Its scope says
	// whose reports it applies to. It takes an admin; a default route is
	// refused, and a list covering more than MaxSharedCover needs
	// l.Confirm (ErrNeedsConfirm).
	PutShared(ctx context.Context, p Principal, l SharedSpaceList) (LoadResult, error)
	// PutReports stores the metadata of a batch of reports of p.Org, in
	// one transaction. A report whose id p.Org already stored with the same
	// content is unchanged (its sharing follows b.Shared); with other
	// content it is rejected: the first one stands. Reports that cannot be
	// stored (see Unstorable) and repeated ids within rs are rejected too.
	PutReports(ctx context.Context, p Principal, b ReportBatch, rs []Report) (LoadResult, []*RecordError, error)
	// ShareReports sets the sharing of reports of p.Org by id and returns
	// how many exist.
	ShareReports(ctx context.Context, p Principal, ids []string, shared bool) (int, error)
}

// Reader answers questions about what is stored. Every answer is limited
// to what p may see; reads of reports are audited.
type Reader interface {
	// Compounds returns every stored compound, by id: reference data,
	// visible to all.
	Compounds(ctx context.Context) ([]Compound, error)
	// CompoundStats returns the compounds (all, or those of ids) with
	// counts of their active indicators and findings visible to p.
	CompoundStats(ctx context.Context, p Principal, ids ...string) ([]CompoundStats, error)
	// Indicators lists indicator versions visible to p, in id order.
	Indicators(ctx context.Context, p Principal, q IndicatorQuery) (IndicatorPage, error)
	// IndicatorFiles lists the versions of the indicator files visible to
	// p, by organisation, name and version.
	IndicatorFiles(ctx context.Context, p Principal) ([]IndicatorFileVersion, error)
	// Reports lists stored reports visible to p, in Seq order.
	Reports(ctx context.Context, p Principal, q ReportQuery) (ReportPage, error)
	// Summary returns the statistics of summary.json over the findings and
	// reports visible to p, and findings by month.
	Summary(ctx context.Context, p Principal, q SummaryQuery) (*StoreSummary, error)
	// Search finds what the store holds about an address, a prefix, a
	// device or a report id (see ParseSearch).
	Search(ctx context.Context, p Principal, q SearchQuery) (*SearchResult, error)
}

// Hunter is the side of the store that a cross-reference run uses: a
// consistent read of everything, and one transaction that records the run.
type Hunter interface {
	// Snapshot opens a read-only, consistent view of the store.
	Snapshot(ctx context.Context) (Snapshot, error)
	// CommitRun records a run and its changes in one transaction. It fails
	// with ErrConflict if r.Base is no longer the last run or the registry
	// changed since r.RegistryVersion was read.
	CommitRun(ctx context.Context, p Principal, r *RunResult) (Run, error)
}

// Snapshot is a consistent read-only view of a store for a cross-reference
// run. Its sequences must be consumed one at a time, not interleaved.
type Snapshot interface {
	// State says where the store stands: registry version, last run,
	// highest report sequence.
	State() StoreState
	// Registry returns the compounds, the active indicators of every
	// organisation, and the shared space.
	Registry(ctx context.Context) (*StoredRegistry, error)
	// Reports yields the reports with sequence > after, in sequence order,
	// each with its stored findings (withdrawn ones too), sorted by
	// compound id. A yielded value is valid until the next one.
	Reports(ctx context.Context, after int64) iter.Seq2[*SnapshotReport, error]
	// FindingRefs yields the current findings (withdrawn ones left out)
	// of the reports with sequence <= through, each with the indicator
	// versions its evidence names and those that capped it: what a run
	// counts of the reports it does not match again. A yielded value is
	// valid until the next one.
	FindingRefs(ctx context.Context, through int64) iter.Seq2[*FindingRefs, error]
	Close() error
}

// FindingRefs is what a run counts of a stored finding.
type FindingRefs struct {
	Report     int64   // report Seq
	Indicators []int64 // the indicator versions of its evidence, in its order (repeats kept)
	Capped     []int64 // the indicator versions that capped it
}

// SnapshotReport is a stored report with its stored findings.
type SnapshotReport struct {
	StoredReport
	Findings []CurrentFinding
}

// FindingStore answers questions about findings and keeps review marks.
// Every read is audited.
type FindingStore interface {
	// Findings lists the current findings visible to p that match q, a
	// page at a time: pass the page's Next as the next query's Cursor.
	Findings(ctx context.Context, p Principal, q FindingQuery) (FindingPage, error)
	// Finding returns one finding visible to p with its report, compound,
	// the indicator versions its evidence names (now and in the past),
	// its history and its reviews.
	Finding(ctx context.Context, p Principal, id int64) (*FindingDetail, error)
	// Review marks a finding confirmed or dismissed (or clears the mark
	// with MarkNone). The mark belongs to the (report, compound) pair and
	// survives re-runs; it remembers the finding version it was made on.
	// Only the organisation of the report (or the operator) reviews.
	Review(ctx context.Context, p Principal, id int64, m Mark, comment string) (Review, error)
	// Runs lists the most recent cross-reference runs, newest first.
	Runs(ctx context.Context, p Principal, limit int) ([]Run, error)
	// Changes lists what a run changed, among findings visible to p.
	Changes(ctx context.Context, p Principal, q ChangeQuery) (ChangePage, error)
}

// Access keeps organisations, users and API tokens.
type Access interface {
	// CreateToken creates a token (and its organisation and user when
	// they are new) and returns its secret, which is stored only hashed
	// and cannot be read again. It takes an admin; a token's holder
	// creates tokens only for its own organisation.
	CreateToken(ctx context.Context, p Principal, t NewToken) (secret string, tok Token, err error)
	// Authenticate returns the principal of a token secret, or
	// ErrUnauthorized.
	Authenticate(ctx context.Context, secret string) (Principal, error)
	// RevokeToken revokes a token by its public id: of p.Org, or any for
	// the operator.
	RevokeToken(ctx context.Context, p Principal, id string) error
	// Tokens lists the tokens of p.Org (every token for the operator),
	// without secrets. It takes an admin.
	Tokens(ctx context.Context, p Principal) ([]Token, error)
}

// AuditLog is the append-only, hash-chained record of what was done.
type AuditLog interface {
	// Audit appends an entry, for actions of the caller that the store
	// does not see (a refused login, an upload received).
	Audit(ctx context.Context, p Principal, e AuditEvent) error
	// AuditEntries returns entries in seq order; an admin sees those of
	// its organisation and every change of data all organisations share
	// (compound.update, shared.global), the operator all.
	AuditEntries(ctx context.Context, p Principal, q AuditQuery) ([]AuditEntry, error)
	// VerifyAudit verifies the chain from the last verified checkpoint
	// to its head (the whole chain the first time), checks the current
	// state of audited objects (review marks, indicator files, shared
	// space, compounds) against what the chain recorded last, records the
	// new checkpoint, and returns the head; or an error naming the first
	// entry or object that does not verify (ErrAuditTampered). It takes
	// an admin.
	VerifyAudit(ctx context.Context, p Principal) (AuditHead, error)
	// VerifyAuditFull is VerifyAudit over the whole chain, whatever the
	// checkpoint.
	VerifyAuditFull(ctx context.Context, p Principal) (AuditHead, error)
}

// Principal is who acts on the store: the holder of an API token (from
// Authenticate), or the operator at the command line.
type Principal struct {
	Org   string // organisation name; required
	User  string // user name; empty for a token without a user
	Role  Role
	Token string // public id of the token
	// Operator is the person at the command line of the machine that
	// holds the database: they can read its files anyway, so the store
	// hides nothing from them. They act on behalf of Org. Never set it
	// for a request that came over the network.
	Operator bool
}

// Operator returns the principal of the command line: an admin who sees
// every organisation's data and acts on behalf of org.
func Operator(org, user string) Principal {
	return Principal{Org: org, User: user, Role: RoleAdmin, Operator: true}
}

// Actor names the principal in the audit log and in provenance:
// "token:ID (user)" or "cli:user".
func (p Principal) Actor() string {
	if p.Operator {
		return "cli:" + p.User
	}
	if p.User != "" {
		return "token:" + p.Token + " (" + p.User + ")"
	}
	return "token:" + p.Token
}

// Role is what a principal may do. Each role may do what the roles below it
// may: viewer < analyst < admin < coalition.
type Role string

// The roles.
const (
	RoleViewer  Role = "viewer"  // read findings, reports, indicators
	RoleAnalyst Role = "analyst" // also upload files, run cross-references, review findings
	RoleAdmin   Role = "admin"   // also manage tokens, load shared space, read the audit log
	// RoleCoalition is a coalition steward: an admin of its organisation
	// who may also change the coalition-wide shared space and any
	// organisation's compounds. Only the operator creates its tokens.
	RoleCoalition Role = "coalition"
)

// ParseRole parses a role name, ignoring case and surrounding spaces.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleViewer, RoleAnalyst, RoleAdmin, RoleCoalition:
		return r, nil
	}
	return "", fmt.Errorf("invalid role %q (want viewer, analyst, admin or coalition)", s)
}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleAnalyst:
		return 2
	case RoleAdmin:
		return 3
	case RoleCoalition:
		return 4
	}
	return 0
}

// Allows reports whether r may do what need may.
func (r Role) Allows(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// Mark is the review state of a finding.
type Mark string

// The marks. MarkNone is a finding nobody has reviewed (or whose mark was
// cleared).
const (
	MarkNone      Mark = ""
	MarkConfirmed Mark = "confirmed"
	MarkDismissed Mark = "dismissed"
)

// ParseMark parses a review mark: confirmed, dismissed, or none (or empty).
func ParseMark(s string) (Mark, error) {
	switch m := strings.ToLower(strings.TrimSpace(s)); m {
	case "", "none":
		return MarkNone, nil
	case string(MarkConfirmed), string(MarkDismissed):
		return Mark(m), nil
	}
	return "", fmt.Errorf("invalid review mark %q (want confirmed, dismissed or none)", s)
}

// MaxComment is the longest review comment stored, in bytes.
const MaxComment = 4096

// ChangeKind is what a run did to a finding.
type ChangeKind string

// The kinds of change. A finding whose evidence changed but not its tier is
// revised; one that reappears after being withdrawn is new again.
const (
	ChangeNew        ChangeKind = "new"
	ChangeUpgraded   ChangeKind = "upgraded"   // potential -> tied
	ChangeDowngraded ChangeKind = "downgraded" // tied -> potential
	ChangeWithdrawn  ChangeKind = "withdrawn"  // no evidence any more
	ChangeRevised    ChangeKind = "revised"    // same tier, other evidence
)

// ChangeKinds lists the kinds of change in the order summaries show them.
var ChangeKinds = []ChangeKind{ChangeNew, ChangeUpgraded, ChangeDowngraded, ChangeWithdrawn, ChangeRevised}

// ChangeOf returns the kind of change from tier from to tier to, given
// whether the evidence is the same; ok is false when nothing changed.
func ChangeOf(from, to Tier, sameEvidence bool) (k ChangeKind, ok bool) {
	switch {
	case from == TierNone && to == TierNone:
		return "", false
	case from == TierNone:
		return ChangeNew, true
	case to == TierNone:
		return ChangeWithdrawn, true
	case to > from:
		return ChangeUpgraded, true
	case to < from:
		return ChangeDowngraded, true
	case !sameEvidence:
		return ChangeRevised, true
	}
	return "", false
}

// ParseRule parses a rule name as written in findings.
func ParseRule(s string) (Rule, error) {
	for r := RuleDevice; r <= RuleLast; r++ {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown rule %q", s)
}

// ParseTier parses "tied" or "potential".
func ParseTier(s string) (Tier, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tied":
		return TierTied, nil
	case "potential":
		return TierPotential, nil
	}
	return TierNone, fmt.Errorf("invalid tier %q (want tied or potential)", s)
}

// LoadResult says what a load changed.
type LoadResult struct {
	New int // rows added (compounds, indicator versions, reports, prefixes)
	// Updated: compounds changed, reports or indicators whose sharing
	// changed, and reports stored before schema version 4 whose
	// associated-account flags the load restored.
	Updated   int
	Unchanged int // rows already stored as given
	Retired   int // indicators or prefixes no longer in their file
	// Version is the indicator file's version after the load (0 for
	// other kinds); it grows only when the file's set changed.
	Version int
}

// Changed reports whether the load changed any data.
func (r LoadResult) Changed() bool { return r.New+r.Updated+r.Retired > 0 }

// IndicatorFile describes an indicator file being loaded: its name (the
// identity of the set it replaces, per organisation), whether it is shared
// with other organisations, and the SHA-256 of its bytes.
type IndicatorFile struct {
	Name   string
	Shared bool
	SHA256 [32]byte
}

// IndicatorFileVersion is one stored version of an indicator file.
type IndicatorFileVersion struct {
	Org        string
	Name       string
	Version    int
	Shared     bool
	SHA256     [32]byte
	Indicators int // rows the version holds
	Added      int // new indicator versions it brought
	Retired    int // indicators it retired
	LoadedBy   string
	Loaded     time.Time
}

// ReportBatch describes where a batch of reports comes from.
type ReportBatch struct {
	File   string // the file as named at load time
	Source string // where the reports came from (a hotline, a partner)
	Shared bool   // visible to other organisations
	Lines  []int  // the line of each report in File, parallel to the reports
}

// StoredIndicator is one version of an indicator, immutable once stored
// except for its sharing (which follows its file's) and its retirement:
// findings point at the version that made them. Indicator.File and Line
// say where it was read.
type StoredIndicator struct {
	ID int64
	Indicator
	Org         string
	Shared      bool
	Version     int // 1 for the first indicator of its (file, compound, kind, value)
	FileVersion int // the version of its file that added it
	AddedBy     string
	Added       time.Time
	Retired     time.Time // zero while active
	// Freshness is its decay score now, by the decay model of the last
	// run (DecayParameters), with the sightings and false positives that
	// reviews of findings gave it; set by reads that list indicators.
	Freshness *Freshness
}

// StoredReport is the metadata of a stored report. Seq orders reports by
// the time they were stored; it is what runs use to find new reports.
type StoredReport struct {
	Seq int64
	Report
	Org      string
	Shared   bool
	Source   string
	File     string
	Line     int
	LoadedBy string
	Loaded   time.Time
}

// StoredRegistry is the registry a run matches against.
type StoredRegistry struct {
	Compounds  []Compound
	Indicators []StoredIndicator // active only, in id order
	// SharedLists are the active shared-space lists, by owner (the
	// coalition set first) and name. A run applies to an organisation's
	// reports its own lists, those other organisations share, and the
	// coalition set (StoredSharedList.AppliesTo).
	SharedLists []StoredSharedList
}

// SharedPrefixes returns every prefix of the active shared-space lists,
// whoever they apply to, each once, in the order of their text.
func (r *StoredRegistry) SharedPrefixes() []netip.Prefix {
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	for i := range r.SharedLists {
		for _, p := range r.SharedLists[i].Prefixes {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// CompoundFile names a compounds load.
type CompoundFile struct {
	Name string
	// Confirm stores changes that need confirmation (a compound moved
	// more than MaxCompoundMove, or to another country).
	Confirm bool
}

// Distance returns the great-circle distance between two points given in
// degrees, in kilometres (haversine, on a sphere of the Earth's mean
// radius).
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(min(1, a)))
}

// MaxCompoundMove is how far a load may move a stored compound without
// confirmation, in kilometres.
const MaxCompoundMove = 500

// SharedScope is whose reports a shared-space list applies to.
type SharedScope int

// The scopes. A list of an organisation applies to its own reports unless
// it shares it; the coalition set applies to every organisation's and is
// changed only by a coalition steward (RoleCoalition) or the operator.
const (
	SharedOwn       SharedScope = iota // the owner's reports only
	SharedAll                          // every organisation's: the owner shares it
	SharedCoalition                    // the coalition-wide set
)

// String names the scope: own, shared, coalition.
func (s SharedScope) String() string {
	switch s {
	case SharedOwn:
		return "own"
	case SharedAll:
		return "shared"
	case SharedCoalition:
		return "coalition"
	}
	return fmt.Sprintf("scope(%d)", int(s))
}

// SharedSpaceList is a shared-space list to store (PutShared).
type SharedSpaceList struct {
	Name     string
	Scope    SharedScope
	Prefixes []netip.Prefix
	// ASNs are the autonomous systems the list names (a MISP
	// warninglist's AS64500): a run given an ASN database applies their
	// networks, as seams xref does.
	ASNs []uint32
	// Confirm stores a list that covers more than MaxSharedCover.
	Confirm bool
}

// StoredSharedList is a shared-space list as a run applies it.
type StoredSharedList struct {
	Org      string // the owner; "" for the coalition set
	Name     string
	Scope    SharedScope
	Prefixes []netip.Prefix // sorted
	ASNs     []uint32       // sorted
}

// AppliesTo reports whether the list applies to the reports of org.
func (l *StoredSharedList) AppliesTo(org string) bool {
	return l.Scope != SharedOwn || l.Org == org
}

// MaxSharedCover is how much of an address family one shared-space list
// may cover without confirmation: 1/256 of it (a /8 of IPv4, a /8 of
// IPv6). A default route (a /0) is refused whatever the confirmation:
// shared space that holds every address downgrades every finding.
const MaxSharedCover = 1.0 / 256

// ErrNeedsConfirm: a change that looks absurd (shared space covering much
// of the address space, a compound moved far) and was not confirmed.
var ErrNeedsConfirm = errors.New("needs confirmation")

// StoreState is where a store stands.
type StoreState struct {
	RegistryVersion int64 // grows with every change of indicators or shared space
	LastRun         *Run  // nil before the first run
	MaxReport       int64 // highest report Seq
	// Recorded is the store's record clock: the record time of the last
	// change of the registry (indicators, their sharing, shared space,
	// compounds) this state includes.
	Recorded time.Time
}

// StoredEvidence is Evidence as stored: the indicator is named by the id of
// its version.
type StoredEvidence struct {
	Rule      Rule
	Indicator int64
	Observed  Observation
	Drift     time.Duration
	Shared    netip.Prefix
	SharedWhy string // as Evidence.SharedWhy
}

// Stored returns e as a store keeps it, its indicator named by the id of
// the stored version (Resolve is the way back). Evidence.Ref, which names
// the indicator in one run's index, is not kept.
func (e *Evidence) Stored(indicator int64) StoredEvidence {
	return StoredEvidence{Rule: e.Rule, Indicator: indicator, Observed: e.Observed, Drift: e.Drift, Shared: e.Shared, SharedWhy: e.SharedWhy}
}

// Ties reports whether this evidence alone makes a finding tied, as
// Evidence.Ties does.
func (e *StoredEvidence) Ties() bool {
	return e.Rule == RuleDevice || e.Rule == RuleIP && !e.Observed.Proxy && !e.Shared.IsValid()
}

// CurrentFinding is the stored state of a finding, as a run compares it.
type CurrentFinding struct {
	ID       int64
	Report   int64 // report Seq
	Compound string
	Tier     Tier   // TierNone when withdrawn
	Digest   []byte // of the evidence, as the run that stored it computed it
}

// FindingChange is one change a run makes.
type FindingChange struct {
	Finding  int64 // 0 for a (report, compound) pair never stored
	Report   int64 // report Seq
	Compound string
	Kind     ChangeKind
	From, To Tier
	Evidence []StoredEvidence // empty when withdrawn
	Digest   []byte
	At       time.Time // earliest observation of the evidence; zero if none has a time
	// Private: some evidence comes from an indicator its organisation has
	// not shared, so the finding is visible only to that organisation.
	Private bool
	// Signals are what enrichment says of the evidence addresses (see
	// Finding.Signals).
	Signals Signals
	// Capped names the indicator versions over the run's limit whose
	// evidence alone tied the finding, which is why it is potential, in
	// the order of the evidence (match.TieRefs).
	Capped []int64
}

// RunResult is what a cross-reference run hands to CommitRun.
type RunResult struct {
	Base            int64 // the last run when the run started; 0 for none
	RegistryVersion int64
	Drift           time.Duration
	Full            bool  // every report was re-evaluated (retro-hunt)
	Through         int64 // reports with Seq <= Through have been evaluated
	Scanned         int   // reports evaluated
	Started         time.Time
	Changes         []FindingChange
	// Seams is the build that made the run, and Parameters every rule
	// parameter it ran with.
	Seams      Build
	Parameters StoreRunParameters
	// OverCorrelated lists the indicator versions with evidence in more
	// stored reports than Parameters.MaxReportsPerIndicator, as the run
	// counted them over every stored report (Indicator and Reports, Capped
	// and Downgraded are the run's; the rest is filled in on reading).
	OverCorrelated []RunOverCorrelated
	// AsOf is the record time of the registry the run matched against
	// (StoreState.Recorded of its snapshot).
	AsOf time.Time
}

// StoreRunParameters are the rule parameters of a store's run: those of a
// run over files (but the report format) and the enrichment databases in
// force. A run whose parameters differ from the last run's (Same) matches
// every stored report again.
type StoreRunParameters struct {
	Drift                  string   `json:"drift"`
	MaxReportsPerIndicator int      `json:"max_reports_per_indicator"` // 0: no cap
	LiftCap                []string `json:"lift_cap"`                  // canonical values, sorted
	SharedASN              []uint32 `json:"shared_asn"`
	SharedPresets          []string `json:"shared_presets"`
	// Databases are the enrichment databases (file as given, type, build
	// date, networks); empty without enrichment.
	Databases []DatabaseInfo `json:"databases"`
	// Decay is the decay model the store scores indicators and findings
	// with after the run (zero for a run stored before it was kept, which
	// means the defaults). It never changes a finding, so Same ignores it.
	Decay DecayParameters `json:"decay"`
}

// Same reports whether a run with parameters q decides as one with p: the
// same drift, limit, lift list, shared ASNs and presets, and the same
// databases by role, type, build date and size (the same database under
// another path is the same).
func (p StoreRunParameters) Same(q StoreRunParameters) bool {
	if p.Drift != q.Drift || p.MaxReportsPerIndicator != q.MaxReportsPerIndicator || !slices.Equal(p.LiftCap, q.LiftCap) ||
		!slices.Equal(p.SharedASN, q.SharedASN) || !slices.Equal(p.SharedPresets, q.SharedPresets) || len(p.Databases) != len(q.Databases) {
		return false
	}
	for i := range p.Databases {
		a, b := p.Databases[i], q.Databases[i]
		if a.Role != b.Role || a.Type != b.Type || a.Built != b.Built || a.Networks != b.Networks || !slices.Equal(a.Provides, b.Provides) {
			return false
		}
	}
	return true
}

// RunOverCorrelated is an over-correlated indicator version of a run.
type RunOverCorrelated struct {
	Indicator int64 // the indicator version
	// OverCorrelated says what it is (compound, kind, value: filled in on
	// reading), the distinct stored reports with its evidence, whether it
	// was capped (or lifted) and how many current findings it capped.
	OverCorrelated
}

// Run is a recorded cross-reference run.
type Run struct {
	ID              int64
	Started         time.Time
	Finished        time.Time
	By              string
	RegistryVersion int64
	Drift           time.Duration
	Full            bool
	Through         int64
	Scanned         int
	Counts          map[ChangeKind]int
	// AsOf is the record time of the registry the run matched: every
	// indicator version, sharing, shared prefix and compound recorded at
	// or before it, and nothing recorded after (a run stored before record
	// time was kept reads its finish time). With Through, it is what a
	// replay of the run reads (seams xref --store --as-of run:ID).
	AsOf time.Time
	// Seams is the build that made the run; zero for a run stored before
	// schema version 5, which did not record it.
	Seams Build
	// Parameters are the rule parameters of the run. A run stored before
	// schema version 5 had no cap and no enrichment: its parameters are
	// its drift alone.
	Parameters StoreRunParameters
	// OverCorrelated lists the indicator versions over the run's limit,
	// most reports first (those the reader may see, when listed).
	OverCorrelated []RunOverCorrelated
	// Warnings say what made the run unable to find anything for some
	// reports (an organisation that sees no indicator), or unable to use
	// some indicators (asn ones without an ASN database). They come with
	// the run just made and are not stored.
	Warnings []string
}

// Capped returns the indicator versions the run capped, by id.
func (r *Run) Capped() map[int64]OverCorrelated {
	out := map[int64]OverCorrelated{}
	for _, o := range r.OverCorrelated {
		if o.Capped {
			out[o.Indicator] = o.OverCorrelated
		}
	}
	return out
}

// Review is a review mark of a finding.
type Review struct {
	Mark    Mark
	Comment string
	By      string
	At      time.Time
	Version int64 // the finding version reviewed
}

// StoredFinding is the current state of a finding.
type StoredFinding struct {
	ID        int64
	Report    string // report id as given
	ReportSeq int64
	Org       string // the organisation of the report
	Incident  string // of the report
	Compound  string
	Tier      Tier // TierNone when withdrawn
	Evidence  []StoredEvidence
	At        time.Time // earliest observation of the evidence; zero if none has a time
	Private   bool      // visible only to Org: some evidence is an unshared indicator
	Signals   Signals   // what enrichment says of the evidence addresses
	// Capped names the over-correlated indicators that alone tied the
	// finding, which is why it is potential, with their counts as the
	// store's last run made them.
	Capped   []StoredCap
	Version  int64 // current version id
	FirstRun int64
	Run      int64 // the run that made the current version
	Review   Review
	// Freshness is the freshness of the freshest indicator of its
	// evidence now (see StoredIndicator.Freshness): shown beside the
	// tier, it never changes it. Set by Findings and Finding.
	Freshness *Freshness
}

// StoredCap is an over-correlated indicator version that capped a finding:
// the distinct stored reports with its evidence and the limit, as a run
// counted them (the last run for a current finding, the version's own run
// in its history).
type StoredCap struct {
	Indicator int64
	Reports   int
	Limit     int
}

// ReviewStale reports whether the finding changed since it was reviewed.
func (f *StoredFinding) ReviewStale() bool {
	return f.Review.Mark != MarkNone && f.Review.Version != f.Version
}

// Resolve returns the finding as a cross-reference run writes it
// (findings.jsonl), its evidence pointing at the indicator versions it
// names, looked up in inds by id. It fails if one is missing (not visible,
// or not given).
func (f *StoredFinding) Resolve(inds map[int64]*Indicator) (Finding, error) {
	out := Finding{Report: f.Report, Compound: f.Compound, Tier: f.Tier, Evidence: make([]Evidence, len(f.Evidence)), Signals: f.Signals}
	for i := range f.Evidence {
		e := &f.Evidence[i]
		in, ok := inds[e.Indicator]
		if !ok {
			return Finding{}, fmt.Errorf("finding %d: indicator %d: %w", f.ID, e.Indicator, ErrNotFound)
		}
		out.Evidence[i] = Evidence{Rule: e.Rule, Indicator: in, Observed: e.Observed, Drift: e.Drift, Shared: e.Shared, SharedWhy: e.SharedWhy}
	}
	for _, c := range f.Capped {
		in, ok := inds[c.Indicator]
		if !ok {
			return Finding{}, fmt.Errorf("finding %d: capped by indicator %d: %w", f.ID, c.Indicator, ErrNotFound)
		}
		out.Capped = append(out.Capped, CapNote{Kind: in.Kind.String(), Value: in.Value, Reports: c.Reports, Limit: c.Limit})
	}
	return out, nil
}

// Indicators returns the indicator versions the finding names: those of
// its evidence and those that capped it.
func (f *StoredFinding) Indicators() []int64 {
	out := make([]int64, 0, len(f.Evidence)+len(f.Capped))
	for _, e := range f.Evidence {
		out = append(out, e.Indicator)
	}
	for _, c := range f.Capped {
		out = append(out, c.Indicator)
	}
	return out
}

// FindingVersion is one version of a finding: what one run made of it.
type FindingVersion struct {
	ID       int64
	Run      int64
	Kind     ChangeKind
	From     Tier
	Tier     Tier
	Private  bool
	Evidence []StoredEvidence
	At       time.Time
	Signals  Signals
	Capped   []StoredCap // with the counts of the version's run
}

// FindingDetail is a finding with everything needed to explain it.
type FindingDetail struct {
	StoredFinding
	Report   StoredReport
	Compound Compound
	// Indicators are the indicator versions named by the evidence of the
	// finding's versions that p may see, by id.
	Indicators []StoredIndicator
	History    []FindingVersion // oldest first; versions made of then-private evidence only for Org
	Reviews    []Review         // oldest first
}

// Change is a change a run made, as listed.
type Change struct {
	Run      int64
	Finding  int64
	Report   string
	Compound string
	Kind     ChangeKind
	From, To Tier
	Version  int64
}

// Sort is the order of a listing.
type Sort string

// The orders of findings: by id, oldest (the default) or newest first; by
// recency (the latest earliest observation first, findings without a time
// last); by tier (tied first), then recency: the order of a review queue.
// Ties are broken by id, newest first.
const (
	SortOldest Sort = ""
	SortNewest Sort = "newest"
	SortRecent Sort = "recent"
	SortTier   Sort = "tier"
)

// FindingQuery filters findings. Zero fields do not filter.
type FindingQuery struct {
	Tier      Tier   // TierTied or TierPotential
	Withdrawn bool   // list withdrawn findings instead of current ones
	Compound  string // compound id
	Country   string // of the compound
	Incident  string // of the report
	Report    string // report id
	Mark      *Mark  // review state; a pointer so that MarkNone can filter
	// Stale selects reviewed findings that a later run changed since
	// their review (ReviewStale).
	Stale bool
	// Rule, Source and ASN select findings with a piece of evidence that
	// fired by this rule, from an indicator version of this source, or
	// observed from an address of this autonomous system (as the run's
	// enrichment databases said).
	Rule   Rule
	Source string
	ASN    uint32
	// From and To bound the finding's time (At, its earliest
	// observation): From <= At < To. A finding without a time is left out
	// when either is given.
	From, To time.Time
	Sort     Sort
	Cursor   string // Next (or Prev) of a page; empty for the first
	Limit    int    // default 100, at most 1000
	// Count asks for the number of all findings matching (not only this
	// page) in FindingPage.Total.
	Count bool
}

// FindingPage is one page of findings.
type FindingPage struct {
	Findings []StoredFinding
	Next     string // cursor of the next page; empty after the last
	Prev     string // cursor of the previous page; empty on the first
	Total    int    // when the query asked for Count
}

// ChangeQuery selects the changes of one run.
type ChangeQuery struct {
	Run    int64
	Kind   ChangeKind // empty for every kind
	Cursor string
	Limit  int // default 100, at most 1000
}

// ChangePage is one page of changes.
type ChangePage struct {
	Changes []Change
	Next    string
}

// IndicatorQuery filters indicator versions. Zero fields do not filter.
type IndicatorQuery struct {
	IDs      []int64 // these versions (retired ones included)
	Compound string
	Kind     Kind
	File     string // indicator file name
	Org      string // organisation that loaded it
	Retired  bool   // include retired versions
	Cursor   string
	Limit    int // default 1000, at most 10000
}

// IndicatorPage is one page of indicator versions.
type IndicatorPage struct {
	Indicators []StoredIndicator
	Next       string
}

// ReportQuery filters reports. Zero fields do not filter.
type ReportQuery struct {
	IDs      []string // report ids as given
	Incident string
	File     string
	// From and To bound the received time: From <= Received < To.
	From, To time.Time
	Cursor   string
	Limit    int // default 100, at most 1000
}

// ReportPage is one page of reports.
type ReportPage struct {
	Reports []StoredReport
	Next    string
}

// SummaryQuery narrows a summary. Zero fields do not filter.
type SummaryQuery struct {
	Compound string // only findings of this compound (reports: all)
}

// StoreSummary is summary.json over a store: the same counts with the same
// meaning (see docs/xref.md), over what the principal may see, with the
// findings of each month.
type StoreSummary struct {
	Reports          int             `json:"reports"`
	Events           int             `json:"events"`
	Devices          int             `json:"devices"`
	TiedReports      int             `json:"tied_reports"`
	PotentialReports int             `json:"potential_reports"`
	CompoundsTied    int             `json:"compounds_tied"`
	ByCompound       []CompoundCount `json:"by_compound"`
	ByCountry        []CountryCount  `json:"by_country"`
	Findings         int             `json:"findings"`
	// ByMonth counts findings by the month (UTC, "2024-05") of their
	// earliest observation, oldest first; findings with no time are
	// counted under "".
	ByMonth  []MonthCount   `json:"by_month"`
	Reviews  ReviewCounts   `json:"reviews"`
	Registry RegistryCounts `json:"registry"`
	LastRun  *Run           `json:"last_run,omitempty"`
	// ByASN and Signals are summary.json's: the distinct reports by the AS
	// of their evidence addresses, and the findings by consistency
	// signal. Present when the last run had enrichment databases (as
	// summary.json has them when seams xref had), absent otherwise.
	ByASN   []ASNCount    `json:"by_asn,omitempty"`
	Signals *SignalCounts `json:"signals,omitempty"`
}

// MonthCount counts findings of one month by tier.
type MonthCount struct {
	Month     string `json:"month"`
	Tied      int    `json:"tied"`
	Potential int    `json:"potential"`
}

// ReviewCounts counts current findings by review state.
type ReviewCounts struct {
	Confirmed  int `json:"confirmed"`
	Dismissed  int `json:"dismissed"`
	Unreviewed int `json:"unreviewed"`
	Stale      int `json:"stale"` // reviewed, then changed by a run
}

// IndicatorCounts counts indicators by kind.
type IndicatorCounts struct {
	IP     int `json:"ip"`
	CIDR   int `json:"cidr"`
	Device int `json:"device"`
	ASN    int `json:"asn"`
}

// CompoundStats is a compound with what the store holds about it.
type CompoundStats struct {
	Compound
	Indicators IndicatorCounts // active, visible
	// Tied and Potential count distinct reports, as summary.json's
	// by_compound does.
	Tied, Potential int
	Confirmed       int
	Dismissed       int
	First, Last     time.Time // earliest and latest finding time; zero if none
	IndicatorFirst  time.Time // earliest first_seen of its active indicators
	IndicatorLast   time.Time // latest last_seen
}

// SearchKind is what a search looks for.
type SearchKind string

// The kinds of search.
const (
	SearchIP     SearchKind = "ip"
	SearchPrefix SearchKind = "prefix"
	SearchDevice SearchKind = "device"
	SearchReport SearchKind = "report"
)

// SearchQuery is a search: one address, prefix, device or report id.
type SearchQuery struct {
	Kind   SearchKind
	Addr   netip.Addr   // SearchIP
	Prefix netip.Prefix // SearchPrefix
	Device DeviceID     // SearchDevice
	Report string       // SearchReport
	Limit  int          // reports returned; default 100, at most 1000
}

// String returns the query as ParseSearch reads it.
func (q SearchQuery) String() string {
	switch q.Kind {
	case SearchIP:
		return q.Addr.String()
	case SearchPrefix:
		return q.Prefix.String()
	case SearchDevice:
		return q.Device.String()
	}
	return q.Report
}

// ParseSearch reads what a person types in a search box: an address
// (203.0.113.7, 2001:db8::1), a prefix (198.51.100.0/24), a device
// (imei:358240051111110), or else a report id. kind, when not empty
// (ip, prefix, device or report), says which it must be.
func ParseSearch(kind, s string) (SearchQuery, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxKey {
		return SearchQuery{}, fmt.Errorf("%w: search for %d bytes (want 1 to %d)", ErrInvalid, len(s), MaxKey)
	}
	k := SearchKind(strings.ToLower(strings.TrimSpace(kind)))
	if k == "" || k == SearchIP {
		if a, err := ParseAddr(s); err == nil {
			return SearchQuery{Kind: SearchIP, Addr: a}, nil
		} else if k == SearchIP {
			return SearchQuery{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	if k == "" || k == SearchPrefix {
		if strings.Contains(s, "/") || k == SearchPrefix {
			p, err := ParsePrefix(s)
			if err == nil {
				return SearchQuery{Kind: SearchPrefix, Prefix: p}, nil
			}
			if k == SearchPrefix {
				return SearchQuery{}, fmt.Errorf("%w: %v", ErrInvalid, err)
			}
		}
	}
	if k == "" || k == SearchDevice {
		if strings.Contains(s, ":") || k == SearchDevice {
			d, err := ParseDeviceID(s)
			if err == nil {
				return SearchQuery{Kind: SearchDevice, Device: d}, nil
			}
			if k == SearchDevice {
				return SearchQuery{}, fmt.Errorf("%w: %v", ErrInvalid, err)
			}
		}
	}
	if k != "" && k != SearchReport {
		return SearchQuery{}, fmt.Errorf("%w: search kind %q (want ip, prefix, device or report)", ErrInvalid, kind)
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return SearchQuery{}, fmt.Errorf("%w: report id is not valid text", ErrInvalid)
	}
	return SearchQuery{Kind: SearchReport, Report: s}, nil
}

// SearchResult is what a search found, among what the principal may see.
type SearchResult struct {
	Query SearchQuery
	// Reports: with an event at the address, with an event inside the
	// prefix, with the device, or with the id; up to Query.Limit, in Seq
	// order. More says there were more.
	Reports []StoredReport
	More    bool
	// Indicators: active ip indicators at the address and cidr ones
	// containing it; ip and cidr indicators inside or containing the
	// prefix; device indicators of the device. Reports search: none.
	Indicators []StoredIndicator
	// Shared: shared-space prefixes containing the address, or
	// overlapping the prefix.
	Shared []netip.Prefix
	// Findings: the current findings of Reports.
	Findings []StoredFinding
}

// NewToken is a token to create.
type NewToken struct {
	Org     string
	User    string // optional
	Role    Role
	Label   string    // what it is for
	Expires time.Time // zero for never
}

// Token is a stored API token, without its secret.
type Token struct {
	ID      string
	Org     string
	User    string
	Role    Role
	Label   string
	Created time.Time
	Expires time.Time
	Revoked time.Time
}

// AuditEvent is an action to record.
type AuditEvent struct {
	Action string // e.g. "findings.read", "reports.load"
	Object string // what was acted on, e.g. "finding:42"
	Detail string // short, never report content or secrets
}

// AuditQuery selects audit entries. Zero fields do not filter.
type AuditQuery struct {
	After  int64 // entries with seq > After
	Limit  int   // default 1000, at most 10000
	Action string
	Object string
	// Latest asks for the last Limit entries that match (After still
	// bounds them), still returned in seq order: an organisation's latest
	// entries, however many of other organisations came after them.
	Latest bool
}

// AuditEntry is one link of the audit chain. Hash is the SHA-256 of Prev
// and the entry's fields (see AuditHash).
type AuditEntry struct {
	Seq   int64
	At    time.Time
	Actor string
	Org   string
	AuditEvent
	Prev [32]byte
	Hash [32]byte
}

// AuditHead is the last link of the chain.
type AuditHead struct {
	Seq  int64
	Hash [32]byte
	// From is the checkpoint verification started after (0: the whole
	// chain was verified), and Checked the entries it recomputed.
	From, Checked int64
}

// ErrAuditTampered is the cause of every verification failure.
var ErrAuditTampered = errors.New("audit log does not verify")

// AuditHash returns the hash that chains e: SHA-256 over e.Prev, then Seq
// and At (Unix nanoseconds) as 8 bytes big-endian each, then Actor, Org,
// Action, Object and Detail, each as 4 bytes big-endian length and the
// bytes. Lengths make the encoding unambiguous: no two entries hash the
// same input.
func AuditHash(e *AuditEntry) [32]byte {
	h := sha256.New()
	h.Write(e.Prev[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(e.Seq))
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(e.At.UnixNano()))
	h.Write(b[:])
	for _, s := range []string{e.Actor, e.Org, e.Action, e.Object, e.Detail} {
		binary.BigEndian.PutUint32(b[:4], uint32(len(s)))
		h.Write(b[:4])
		h.Write([]byte(s))
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// MaxKey is the longest report id, device, indicator value or file name a
// store keeps, in bytes: they are indexed, and index keys are bounded
// (PostgreSQL refuses keys of a few kilobytes), so both engines refuse
// longer ones alike.
const MaxKey = 512

// Unstorable returns why a report cannot be stored as it is, or "": an id
// or device too long to index, or a NUL character or invalid UTF-8, which
// PostgreSQL text cannot hold (and the engines must behave alike).
func Unstorable(r *Report) string {
	switch {
	case len(r.ID) > MaxKey:
		return fmt.Sprintf("report id longer than %d bytes", MaxKey)
	case hasNUL(r.ID) || hasNUL(r.Incident):
		return "report id or incident contains a NUL character or invalid UTF-8"
	}
	for i := range r.IPs {
		if hasNUL(r.IPs[i].Event) {
			return fmt.Sprintf("ips[%d]: event contains a NUL character or invalid UTF-8", i)
		}
	}
	for i := range r.Devices {
		d := &r.Devices[i].ID
		if len(d.Type)+len(d.Value) > MaxKey {
			return fmt.Sprintf("devices[%d]: device longer than %d bytes", i, MaxKey)
		}
		if hasNUL(d.Type) || hasNUL(d.Value) {
			return fmt.Sprintf("devices[%d]: device contains a NUL character or invalid UTF-8", i)
		}
	}
	return ""
}

// UnstorableIndicator returns why an indicator cannot be stored, or "".
func UnstorableIndicator(in *Indicator) string {
	switch {
	case len(in.Value) > MaxKey:
		return fmt.Sprintf("value longer than %d bytes", MaxKey)
	case hasNUL(in.Value) || hasNUL(in.Source):
		return "value or source contains a NUL character or invalid UTF-8"
	case in.HasDrift && in.Drift < 0:
		return fmt.Sprintf("negative drift bound %s", in.Drift)
	}
	return ""
}

// UnstorableCompound returns why a compound cannot be stored, or "".
func UnstorableCompound(c *Compound) string {
	if hasNUL(c.Name) || hasNUL(c.Province) || hasNUL(strings.Join(c.Aliases, "")) {
		return "name, aliases or province contains a NUL character or invalid UTF-8"
	}
	return ""
}

// hasNUL reports whether s holds a NUL character or invalid UTF-8, which
// PostgreSQL text refuses.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }
