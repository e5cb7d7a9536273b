package seams

// Summary is the outcome of a cross-reference run, written as summary.json.
// The first fields are the contract; the rest describe the run's inputs.
type Summary struct {
	Reports          int             `json:"reports"`  // reports accepted
	Events           int             `json:"events"`   // ip events accepted
	Devices          int             `json:"devices"`  // devices accepted
	Rejected         int             `json:"rejected"` // records listed in rejected.jsonl
	TiedReports      int             `json:"tied_reports"`
	PotentialReports int             `json:"potential_reports"` // potential and not tied
	CompoundsTied    int             `json:"compounds_tied"`
	ByCompound       []CompoundCount `json:"by_compound"`
	ByCountry        []CountryCount  `json:"by_country"`
	Unroutable       int             `json:"events_unroutable"` // accepted ip events that can never match
	Undated          int             `json:"events_undated"`    // accepted ip events without a time: ip-undated at most
	Findings         int             `json:"findings"`          // lines in findings.jsonl
	Registry         RegistryCounts  `json:"registry"`
	Drift            string          `json:"drift"`
	// MaxReportsPerIndicator is the over-correlation limit of the run (0:
	// none); OverCorrelated lists the address and device indicators that
	// matched more distinct reports than that.
	MaxReportsPerIndicator int              `json:"max_reports_per_indicator"`
	OverCorrelated         []OverCorrelated `json:"over_correlated"`
	// What enrichment put in force, when databases or shared lists were
	// given: the databases with their build dates, the shared-space lists
	// with their sources and dates, what could not be used and why, the
	// reports by the AS of their evidence, and the consistency signals.
	Databases   []DatabaseInfo `json:"databases,omitempty"`
	SharedLists []SharedList   `json:"shared_lists,omitempty"`
	Unusable    []Unusable     `json:"unusable,omitempty"`
	ByASN       []ASNCount     `json:"by_asn,omitempty"`
	Signals     *SignalCounts  `json:"signals,omitempty"`
	Inputs      []InputCount   `json:"inputs"`
	// Seams is the build that made the run, and Parameters every rule
	// parameter it ran with: with the inputs' sizes and SHA-256, what
	// it takes to make the same figures again.
	Seams      Build         `json:"seams"`
	Parameters RunParameters `json:"parameters"`
	// Warnings are what a person should know about the inputs that did
	// not stop the run (an input of which every record was rejected, an
	// empty input beside others).
	Warnings []string `json:"warnings,omitempty"`
}

// RunParameters are the rule parameters of a run, as given (defaults
// filled in).
type RunParameters struct {
	Drift                  string   `json:"drift"`
	MaxReportsPerIndicator int      `json:"max_reports_per_indicator"`
	LiftCap                []string `json:"lift_cap"`
	SharedASN              []uint32 `json:"shared_asn"`
	SharedPresets          []string `json:"shared_presets"`
	// Rules lists the rules a run was restricted to (xref --rules; a
	// private match sees only device and ip); absent when every rule
	// was in force.
	Rules []string `json:"rules,omitempty"`
	// MinConfidence: indicators with a stated confidence below it were
	// left out (0: none).
	MinConfidence float64 `json:"min_confidence,omitempty"`
	// Format is the report format given; "" when each input's was found
	// from its name and content.
	Format string `json:"format"`
}

// CompoundCount counts distinct reports by the tier of their finding for one
// compound.
type CompoundCount struct {
	Compound  string `json:"compound"`
	Name      string `json:"name"`
	Country   string `json:"country"`
	Tied      int    `json:"tied"`
	Potential int    `json:"potential"`
}

// CountryCount counts distinct reports tied to any compound of a country, and
// those with a potential finding there and no tied one.
type CountryCount struct {
	Country   string `json:"country"`
	Tied      int    `json:"tied"`
	Potential int    `json:"potential"`
}

// RegistryCounts describes the registry a run used.
type RegistryCounts struct {
	Compounds        int `json:"compounds"`
	IPIndicators     int `json:"ip_indicators"`
	CIDRIndicators   int `json:"cidr_indicators"`
	DeviceIndicators int `json:"device_indicators"`
	ASNIndicators    int `json:"asn_indicators,omitempty"` // usable ones: with networks in the ASN database
	SharedPrefixes   int `json:"shared_prefixes"`          // including 100.64.0.0/10
	// BelowMinConfidence counts the indicators left out of the index for a
	// stated confidence below the run's minimum.
	BelowMinConfidence int `json:"below_min_confidence,omitempty"`
}

// InputCount says what was read from one input file.
type InputCount struct {
	File     string `json:"file"`
	Kind     string `json:"kind"`     // compounds, indicators, shared or reports
	Records  int    `json:"records"`  // records read: lines of reports, rows of CSV
	Rejected int    `json:"rejected"` // records rejected whole
	// PartsRejected counts parts of accepted reports rejected on their own
	// (an ip event, a device, a field).
	PartsRejected int `json:"parts_rejected"`
	// Size and SHA256 are those of every byte of the input as read (the
	// compressed bytes of a compressed file), so that a figure can be
	// traced to the exact inputs it came from.
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// SkippedElements counts the elements of a CyberTipline XML input
	// that its schema version does not have (a newer schema's), skipped
	// whole and not rejections; ReplacedChars the characters read as
	// U+FFFD (not of the file's encoding, or not allowed in XML).
	SkippedElements int `json:"skipped_elements,omitempty"`
	ReplacedChars   int `json:"replaced_chars,omitempty"`
}

// OverCorrelated is an address or device indicator that matched more
// distinct reports than the run's limit: probably shared infrastructure. The
// findings it alone tied were capped at potential, unless the analyst
// lifted the cap for it.
type OverCorrelated struct {
	Compound string `json:"compound"`
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Reports  int    `json:"reports"` // distinct reports with evidence from it
	Capped   bool   `json:"capped"`  // false when the cap was lifted
	// Downgraded counts the findings that were tied by it alone (with other
	// capped indicators) and are potential instead.
	Downgraded int `json:"downgraded"`
}

// DatabaseInfo describes an enrichment database a run used.
type DatabaseInfo struct {
	Role     string   `json:"role"` // asn or geo
	File     string   `json:"file"`
	Type     string   `json:"type"`  // the database's own type name
	Built    string   `json:"built"` // YYYY-MM-DD
	Networks int      `json:"networks"`
	Provides []string `json:"provides"` // asn, country, city
}

// SharedList describes a list of shared space a run used.
type SharedList struct {
	Name     string `json:"name"`   // a file, a preset or "shared-asn"
	Source   string `json:"source"` // where its entries come from
	Date     string `json:"date,omitempty"`
	Prefixes int    `json:"prefixes"` // prefixes in force, ASNs' networks included
	ASNs     int    `json:"asns"`
}

// Unusable says what a run could not use, and why: asn indicators without
// an ASN database, an AS with no networks in it.
type Unusable struct {
	What   string `json:"what"`
	Count  int    `json:"count"`
	Reason string `json:"reason"`
}

// ASNCount counts distinct reports by the AS of their evidence addresses:
// Tied, the reports with a tied finding with evidence on that AS;
// Potential, those with potential evidence on it and no tied one.
type ASNCount struct {
	ASN       uint32 `json:"asn"`
	Org       string `json:"org"`
	Tied      int    `json:"tied"`
	Potential int    `json:"potential"`
}

// SignalCounts counts findings by consistency signal.
type SignalCounts struct {
	CrossBorder int `json:"cross_border"`
	ForeignASN  int `json:"foreign_asn"`
}
