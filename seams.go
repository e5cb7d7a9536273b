// Package seams holds the domain of the seams cross-reference engine: scam
// compounds, the infrastructure attributed to them (indicators with time
// windows), the reports an analyst holds (IP capture events and device IDs),
// and the findings that connect the two, each with the evidence behind it.
//
// The package does no I/O. Readers and writers of each format live in their
// own packages (registry, jsonl), the index and matcher in match, and the
// pipeline that wires them together in xref.
package seams

import (
	"fmt"
	"regexp"
	"strings"
)

// Compound is a named place where infrastructure was seen: a scam compound.
type Compound struct {
	ID       string   // 1-64 of A-Za-z0-9._-, unique in a registry
	Name     string   // display name
	Aliases  []string // other names, from the ;-separated aliases column
	Country  string   // ISO 3166-1 alpha-2, upper case
	Province string   // optional
	Lat, Lon float64  // valid only when HasLocation
	// HasLocation reports whether Lat and Lon were given.
	HasLocation bool
	Status      Status
}

// Status is what is publicly known of a compound's operation.
type Status string

// The statuses a compound can have. The empty status means none was given.
const (
	StatusActive  Status = "active"
	StatusRaided  Status = "raided"
	StatusClosed  Status = "closed"
	StatusUnknown Status = "unknown"
)

// ParseStatus parses a status, ignoring case and surrounding spaces. An empty
// string is the empty status.
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.ToLower(strings.TrimSpace(s))); st {
	case "", StatusActive, StatusRaided, StatusClosed, StatusUnknown:
		return st, nil
	}
	return "", fmt.Errorf("invalid status %q (want active, raided, closed or unknown)", s)
}

var compoundIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidCompoundID reports whether id has the form a compound id must have:
// 1 to 64 characters from A-Za-z0-9._-.
func ValidCompoundID(id string) bool { return compoundIDPattern.MatchString(id) }

// ParseCountry validates an ISO 3166-1 alpha-2 code and returns it in upper
// case. The code must be one of the 249 the standard assigns, or XK
// (Kosovo: user-assigned, but used by the European Commission, the IMF and
// every IP geolocation database for an area the registry may need).
func ParseCountry(s string) (string, error) {
	c := strings.TrimSpace(s)
	if len(c) != 2 || !isASCIILetter(c[0]) || !isASCIILetter(c[1]) {
		return "", fmt.Errorf("invalid country %q (want an ISO 3166-1 alpha-2 code such as KH)", s)
	}
	c = strings.ToUpper(c)
	if !isoCountry(c) {
		return "", fmt.Errorf("invalid country %q (not an ISO 3166-1 alpha-2 code)", s)
	}
	return c, nil
}

// isoCountries lists the ISO 3166-1 alpha-2 codes (assigned as of 2026;
// the list changes rarely: the last new code was SS in 2011), and XK.
const isoCountries = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE " +
	"BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD " +
	"CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM " +
	"DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF " +
	"GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN " +
	"KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME " +
	"MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA " +
	"NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM " +
	"PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI " +
	"SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK " +
	"TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI " +
	"VN VU WF WS YE YT ZA ZM ZW XK"

func isoCountry(c string) bool {
	for i := 0; i+2 <= len(isoCountries); i += 3 {
		if isoCountries[i:i+2] == c {
			return true
		}
	}
	return false
}

func isASCIILetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// Tier is the strength of a finding.
type Tier uint8

// The tiers, weakest first, so that a larger value is a stronger finding.
const (
	TierNone      Tier = iota // no evidence; never written
	TierPotential             // "potentially associated": some evidence, none decisive
	TierTied                  // tied by a device, or by an exact address in its window
)

// String returns the tier's name as written in findings: "tied" or "potential".
func (t Tier) String() string {
	switch t {
	case TierTied:
		return "tied"
	case TierPotential:
		return "potential"
	}
	return "none"
}

// Rule names the matching rule that produced a piece of evidence.
type Rule uint8

// The rules. Their values are kept in digests of evidence (stored findings
// compare them): a new rule is added at the end.
const (
	RuleDevice  Rule = iota + 1 // a report device equals a device indicator, in its window
	RuleIP                      // an event address equals an ip indicator, in its window
	RuleIPDrift                 // same address, outside the window by at most the drift
	RuleCIDR                    // the event address lies in a cidr indicator, in its window
	RuleASN                     // the event address is announced by an asn indicator's AS, in its window
	// RuleIPUndated: an event without a time has exactly the address of
	// an ip indicator, whatever its window. The time cannot be checked,
	// so it never ties.
	RuleIPUndated

	// RuleLast is the last rule: rules run from RuleDevice to RuleLast.
	RuleLast = RuleIPUndated
)

// String returns the rule's name as written in findings.
func (r Rule) String() string {
	switch r {
	case RuleDevice:
		return "device"
	case RuleIP:
		return "ip"
	case RuleIPDrift:
		return "ip-drift"
	case RuleCIDR:
		return "cidr"
	case RuleASN:
		return "asn"
	case RuleIPUndated:
		return "ip-undated"
	}
	return "unknown"
}
