package seams

import (
	"net/netip"
	"time"
)

// Finding says that a report is connected to a compound, how strongly (Tier),
// and why (Evidence). There is one finding per (report, compound) pair that
// has any evidence.
type Finding struct {
	Report   string // report id
	Compound string // compound id
	Tier     Tier
	// Evidence lists every indicator that fired, in the order of the
	// report's events (ip events first, then devices), and for one event in
	// the order the indicators were read.
	Evidence []Evidence
	// Signals are consistency signals, set when enrichment databases are
	// given. They are reported, never used to decide the tier.
	Signals Signals
	// Capped names the over-correlated indicators whose evidence alone
	// tied the finding, which is why it is potential (a run's
	// --max-reports-per-indicator). The run sets it in findings.jsonl;
	// readers of that file fill it in.
	Capped []CapNote
}

// CapNote is an over-correlated indicator that capped a finding.
type CapNote struct {
	Kind    string
	Value   string
	Reports int // distinct reports with evidence from it
	Limit   int // the run's limit
}

// Signals are what enrichment says of a finding's addresses beside its
// tier: worth a look, not a reason to doubt it (cross-border lines are
// common at the compounds).
type Signals struct {
	// CrossBorder: an observed address is located in another country
	// than the compound's.
	CrossBorder bool
	// ForeignASN: an observed address is on an AS that none of the
	// compound's own address indicators is on.
	ForeignASN bool
}

// Any reports whether any signal is set.
func (s Signals) Any() bool { return s.CrossBorder || s.ForeignASN }

// AddrInfo is what enrichment databases say of an address: the AS that
// announces it and where it is. Zero fields are unknown.
type AddrInfo struct {
	ASN     uint32
	Org     string // the AS's organisation
	Country string // ISO 3166-1 alpha-2
	City    string
}

// Evidence is one indicator of the compound firing on one event of the report.
type Evidence struct {
	Rule      Rule
	Indicator *Indicator
	Observed  Observation
	// Drift is how far outside the indicator's window the event was, for
	// RuleIPDrift; zero otherwise.
	Drift time.Duration
	// Shared is the shared-space prefix containing the observed address,
	// when it lies in shared space; the zero Prefix otherwise.
	Shared netip.Prefix
	// SharedWhy says why Shared is shared space, as the list that made it
	// so said: "listed in shared.txt", "AS14593 SpaceX Starlink, listed in
	// shared-asn". Empty when not given.
	SharedWhy string
	// Ref names the indicator among those of the index that matched it
	// (match.Index.Indicator), so that a run can count what each indicator
	// matched. It is meaningful only in evidence made by a match.Matcher.
	Ref int32
}

// Observation is what the report showed: an IP event or a device.
type Observation struct {
	IP     netip.Addr // an ip event's address; invalid for a device
	Device DeviceID   // a device; zero for an ip event
	At     time.Time  // zero if the device had no time
	Event  string
	Port   int
	Proxy  bool
	// Associated: the event or device is an associated account's.
	Associated bool
	// Net is what enrichment says of IP, when databases were given.
	Net AddrInfo
}

// Weakened reports whether this piece of evidence, though of rule ip, cannot
// tie a report: the event was flagged as a proxy or its address lies in
// shared space.
func (e *Evidence) Weakened() bool { return e.Observed.Proxy || e.Shared.IsValid() }

// Ties reports whether this evidence alone makes a finding tied: a device in
// its window, or an exact address in its window from an event that is
// neither a proxy nor in shared space.
func (e *Evidence) Ties() bool {
	return e.Rule == RuleDevice || e.Rule == RuleIP && !e.Weakened()
}

// TierOf returns the tier that a list of evidence earns: tied if any piece
// ties, potential if there is any evidence at all, none otherwise.
func TierOf(ev []Evidence) Tier {
	if len(ev) == 0 {
		return TierNone
	}
	for i := range ev {
		if ev[i].Ties() {
			return TierTied
		}
	}
	return TierPotential
}
