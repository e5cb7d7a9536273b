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

// ParseCountry validates an ISO 3166-1 alpha-2 code (two ASCII letters) and
// returns it in upper case. It checks the form, not membership in the list,
// so that user-assigned codes (XK) and codes new to the list still pass.
func ParseCountry(s string) (string, error) {
	c := strings.TrimSpace(s)
	if len(c) != 2 || !isASCIILetter(c[0]) || !isASCIILetter(c[1]) {
		return "", fmt.Errorf("invalid country %q (want an ISO 3166-1 alpha-2 code such as KH)", s)
	}
	return strings.ToUpper(c), nil
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

// The rules. Their order is the order of strength used when evidence is sorted.
const (
	RuleDevice  Rule = iota + 1 // a report device equals a device indicator, in its window
	RuleIP                      // an event address equals an ip indicator, in its window
	RuleIPDrift                 // same address, outside the window by at most the drift
	RuleCIDR                    // the event address lies in a cidr indicator, in its window
	RuleASN                     // the event address is announced by an asn indicator's AS, in its window
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
	}
	return "unknown"
}
