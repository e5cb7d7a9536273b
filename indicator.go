package seams

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of an indicator.
type Kind uint8

// The indicator kinds.
const (
	KindIP     Kind = iota + 1 // one address
	KindCIDR                   // a prefix shorter than full length
	KindDevice                 // a device identifier TYPE:VALUE
	KindASN                    // an autonomous system: every address it announces
)

// String returns the kind's name as written in files: ip, cidr or device.
func (k Kind) String() string {
	switch k {
	case KindIP:
		return "ip"
	case KindCIDR:
		return "cidr"
	case KindDevice:
		return "device"
	case KindASN:
		return "asn"
	}
	return "unknown"
}

// ParseKind parses an indicator kind, ignoring case and surrounding spaces.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ip":
		return KindIP, nil
	case "cidr":
		return KindCIDR, nil
	case "device":
		return KindDevice, nil
	case "asn":
		return KindASN, nil
	}
	return 0, fmt.Errorf("unknown kind %q (want ip, cidr, device or asn)", s)
}

// Indicator is one piece of infrastructure attributed to a compound, with the
// window during which it was seen there.
type Indicator struct {
	Compound string // the compound's id
	Kind     Kind
	// Value is the canonical text of the indicator: the address, the
	// prefix, or the device as type:value with the type in lower case.
	Value  string
	Addr   netip.Addr   // KindIP
	Prefix netip.Prefix // KindCIDR
	Device DeviceID     // KindDevice
	ASN    uint32       // KindASN
	Window Window
	// Confidence in [0,1]; meaningful only when HasConfidence.
	Confidence    float64
	HasConfidence bool
	// Drift is the indicator's own bound on rule ip-drift, meaningful only
	// when HasDrift: an event at its address counts as ip-drift evidence
	// when it lies no further outside the window than the smaller of Drift
	// and the run's drift. Zero means no drift evidence at all: a window
	// observed lease by lease (seams derive) says the address was someone
	// else's outside it. Without HasDrift the run's drift alone applies.
	// Only ip indicators have drift evidence; on other kinds it is kept
	// but changes nothing.
	Drift    time.Duration
	HasDrift bool
	Source   string
	// File and Line say where the indicator was read, for provenance.
	File string
	Line int
}

// ParseIndicatorValue parses the value column of an indicator of kind k and
// fills Value and Addr, Prefix or Device. A full-length prefix (/32, /128)
// becomes an ip indicator, as the contract says it is the same thing.
// Non-routable addresses and prefixes are refused: they cannot identify a
// place.
func ParseIndicatorValue(k Kind, value string) (Indicator, error) {
	switch k {
	case KindIP, KindCIDR:
		var p netip.Prefix
		if !strings.Contains(value, "/") {
			if k == KindCIDR {
				return Indicator{}, fmt.Errorf("invalid CIDR prefix %q (no /length)", value)
			}
			a, err := ParseAddr(value)
			if err != nil {
				return Indicator{}, err
			}
			p = netip.PrefixFrom(a, a.BitLen())
		} else {
			var err error
			p, err = ParsePrefix(value)
			switch {
			case err != nil && k == KindIP:
				return Indicator{}, fmt.Errorf("invalid IP address %q", value)
			case err != nil:
				return Indicator{}, err
			case k == KindIP && !p.IsSingleIP():
				return Indicator{}, fmt.Errorf("kind ip takes one address, not the prefix %s (use kind cidr)", p)
			}
		}
		if p.IsSingleIP() {
			if why := NonRoutable(p.Addr()); why != "" {
				return Indicator{}, fmt.Errorf("address %s is %s: it cannot identify a place", p.Addr(), why)
			}
			return Indicator{Kind: KindIP, Value: p.Addr().String(), Addr: p.Addr()}, nil
		}
		if why := NonRoutablePrefix(p); why != "" {
			return Indicator{}, fmt.Errorf("prefix %s %s: it cannot identify a place", p, why)
		}
		return Indicator{Kind: KindCIDR, Value: p.String(), Prefix: p}, nil
	case KindDevice:
		d, err := ParseDeviceID(value)
		if err != nil {
			return Indicator{}, err
		}
		return Indicator{Kind: KindDevice, Value: d.String(), Device: d}, nil
	case KindASN:
		n, err := ParseASN(value)
		if err != nil {
			return Indicator{}, err
		}
		return Indicator{Kind: KindASN, Value: FormatASN(n), ASN: n}, nil
	}
	return Indicator{}, fmt.Errorf("unknown kind %d", k)
}

// ParseConfidence parses a confidence: a number in [0,1], or low, medium or
// high, which stand for 0.15, 0.5 and 0.85 (the midpoints STIX 2.1 gives
// those words on its 0-100 scale). ok is false for an empty string.
func ParseConfidence(s string) (c float64, ok bool, err error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "":
		return 0, false, nil
	case "low":
		return 0.15, true, nil
	case "medium":
		return 0.5, true, nil
	case "high":
		return 0.85, true, nil
	}
	c, err = strconv.ParseFloat(t, 64)
	if err != nil || !(c >= 0 && c <= 1) { // the negation also refuses NaN
		return 0, false, fmt.Errorf("invalid confidence %q (want a number in [0,1], or low, medium or high)", s)
	}
	return c + 0, true, nil // + 0 turns -0 into 0
}

// MaxDriftDays is the largest drift in days that ParseDrift accepts, as
// the command line's --drift does.
const MaxDriftDays = 100000

// ParseDrift parses an indicator's drift bound as the command line's
// --drift takes it: Go duration syntax ("2160h", "0") or a whole number of
// days with a "d" suffix ("90d", "0d"), surrounding spaces ignored. ok is
// false for an empty string (no bound of its own: the run's drift applies).
// Negative durations are refused.
func ParseDrift(s string) (d time.Duration, ok bool, err error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, false, nil
	}
	if n, isDays := strings.CutSuffix(t, "d"); isDays {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil || days > MaxDriftDays {
			return 0, false, fmt.Errorf("invalid drift %q (want e.g. 90d, 2160h or 0)", s)
		}
		return time.Duration(days) * 24 * time.Hour, true, nil
	}
	d, err = time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, false, fmt.Errorf("invalid drift %q (want e.g. 90d, 2160h or 0)", s)
	}
	return d, true, nil
}

// FormatDrift writes a drift bound as ParseDrift reads it back: "0" for
// none, whole days as "90d", anything else in Go duration syntax.
func FormatDrift(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == 0:
		return "0"
	case d > 0 && d%day == 0 && d/day <= MaxDriftDays:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// ParseASN parses an autonomous system number as AS14593, as14593 or
// 14593. Numbers that cannot identify a network are refused: AS0, AS_TRANS
// 23456, the private-use ranges (RFC 6996: 64512-65534, 4200000000 up),
// 65535 and 65552-131071 (reserved). The documentation ranges (RFC 5398:
// 64496-64511, 65536-65551) are allowed, as documentation address ranges
// are: they are what test data and examples use.
func ParseASN(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && (t[0] == 'A' || t[0] == 'a') && (t[1] == 'S' || t[1] == 's') {
		t = t[2:]
	}
	if t == "" || t[0] < '0' || t[0] > '9' {
		return 0, fmt.Errorf("invalid ASN %q (want AS14593 or 14593)", s)
	}
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid ASN %q (want AS14593 or 14593)", s)
	}
	switch {
	case n == 0, n == 23456, n >= 64512 && n <= 65535, n >= 65552 && n <= 131071, n >= 4200000000:
		return 0, fmt.Errorf("ASN %q is reserved or for private use: it cannot identify a network", s)
	}
	return uint32(n), nil
}

// FormatASN writes an ASN as AS14593.
func FormatASN(n uint32) string { return "AS" + strconv.FormatUint(uint64(n), 10) }
