package seams

import "net/netip"

// RunDiff explains how the figures changed from one run of a store to
// another: what changed in the registry between what each run matched
// (indicator versions added, retired, or changed, that is one version
// retired and another of the same file and compound, kind and value
// added; sharing; shared space; compounds), how many reports came in
// between, whether the parameters differ, and which findings appeared,
// disappeared, changed tier or were revised, with the rules and indicator
// versions of their evidence before and after.
type RunDiff struct {
	From, To Run
	// ParametersSame says whether the two runs decided with the same
	// parameters (StoreRunParameters.Same); both runs carry theirs.
	ParametersSame bool
	// Reports counts the reports stored between the two runs' Through.
	Reports int
	// Indicators added, retired and changed, as the reader may see them,
	// in id order (Changed by the version retired).
	Added, Retired []StoredIndicator
	Changed        []IndicatorChange
	// Resharing lists the indicator versions active in both whose
	// sharing changed.
	Resharing []StoredIndicator
	// SharedAdded and SharedRemoved are the shared prefixes, sorted.
	SharedAdded, SharedRemoved []netip.Prefix
	// Compounds new or changed (what the later run read), by id.
	Compounds []CompoundChange
	// Findings whose state differs, by finding id.
	Findings []FindingDiff
}

// IndicatorChange is an indicator corrected between two runs: the version
// the first run matched and the one the second did.
type IndicatorChange struct {
	From, To StoredIndicator
}

// CompoundChange is a compound as two runs read it; From is zero (its ID
// empty) for a compound new to the second.
type CompoundChange struct {
	From, To Compound
}

// FindingDiff is a finding whose state after the first run differs from
// its state after the second.
type FindingDiff struct {
	Finding  int64
	Report   string
	Compound string
	Kind     ChangeKind // new, withdrawn, upgraded, downgraded or revised
	From, To Tier
	// Rules of the evidence before and after, in the order of the
	// evidence, each once.
	FromRules, ToRules []Rule
	// Gained and Lost are the indicator versions of the evidence after
	// and not before, and before and not after, in id order.
	Gained, Lost []int64
	// CappedBefore and CappedAfter say whether over-correlated
	// indicators capped it.
	CappedBefore, CappedAfter bool
}
