package sqlstore

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/seams-dev/seams"
)

// evidenceJSON is how one piece of evidence is stored: a compact JSON
// object in finding_versions.evidence, readable with the engines' own JSON
// functions for ad-hoc queries. Fields are left out when zero, so that
// evidence stored before a field existed reads as it did (associated and
// shared_why came with schema version 4, what enrichment says of an
// observed address, Observed.Net, with version 5: older evidence has none
// of them). The names of Net's fields are those of findings.jsonl.
type evidenceJSON struct {
	Rule      string `json:"rule"`
	Indicator int64  `json:"indicator"`
	IP        string `json:"ip,omitempty"`
	Device    *struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"device,omitempty"`
	At         *int64 `json:"at,omitempty"` // Unix nanoseconds
	Event      string `json:"event,omitempty"`
	Port       int    `json:"port,omitempty"`
	Proxy      bool   `json:"proxy,omitempty"`
	Associated bool   `json:"associated,omitempty"` // since schema version 4
	Drift      int64  `json:"drift,omitempty"`      // nanoseconds
	Shared     string `json:"shared,omitempty"`
	SharedWhy  string `json:"shared_why,omitempty"` // since schema version 4; only with shared
	// Since schema version 5, with an ip observation only.
	ASN     uint32 `json:"asn,omitempty"`
	ASOrg   string `json:"as_org,omitempty"`
	Country string `json:"country,omitempty"`
	City    string `json:"city,omitempty"`
}

// EncodeEvidence encodes evidence as stored.
func EncodeEvidence(ev []seams.StoredEvidence) (string, error) {
	out := make([]evidenceJSON, len(ev))
	for i := range ev {
		e := &ev[i]
		o := &out[i]
		o.Rule, o.Indicator = e.Rule.String(), e.Indicator
		if e.Observed.IP.IsValid() {
			o.IP = e.Observed.IP.String()
		} else {
			o.Device = &struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			}{e.Observed.Device.Type, e.Observed.Device.Value}
		}
		if !e.Observed.At.IsZero() {
			at := e.Observed.At.UnixNano()
			o.At = &at
		}
		o.Event, o.Port, o.Proxy, o.Drift = e.Observed.Event, e.Observed.Port, e.Observed.Proxy, int64(e.Drift)
		o.Associated = e.Observed.Associated
		if n := e.Observed.Net; n != (seams.AddrInfo{}) {
			if !e.Observed.IP.IsValid() {
				return "", fmt.Errorf("evidence %d: what enrichment says of an address (%+v) without an address", i, n)
			}
			o.ASN, o.ASOrg, o.Country, o.City = n.ASN, n.Org, n.Country, n.City
		}
		if e.Shared.IsValid() {
			o.Shared, o.SharedWhy = e.Shared.String(), e.SharedWhy
		} else if e.SharedWhy != "" {
			return "", fmt.Errorf("evidence %d: a reason for shared space (%q) without the shared prefix", i, e.SharedWhy)
		}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// DecodeEvidence decodes stored evidence, checking every field: the
// database is input like any other.
func DecodeEvidence(s string) ([]seams.StoredEvidence, error) {
	var in []evidenceJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	out := make([]seams.StoredEvidence, len(in))
	for i := range in {
		o := &in[i]
		e := &out[i]
		r, err := seams.ParseRule(o.Rule)
		if err != nil {
			return nil, fmt.Errorf("evidence %d: %w", i, err)
		}
		e.Rule = r
		e.Indicator = o.Indicator
		switch {
		case o.IP != "" && o.Device == nil:
			a, err := netip.ParseAddr(o.IP)
			if err != nil {
				return nil, fmt.Errorf("evidence %d: %w", i, err)
			}
			e.Observed.IP = a
		case o.IP == "" && o.Device != nil && e.Rule == seams.RuleDevice:
			d, err := seams.NewDeviceID(o.Device.Type, o.Device.Value)
			if err != nil {
				return nil, fmt.Errorf("evidence %d: %w", i, err)
			}
			e.Observed.Device = d
		default:
			return nil, fmt.Errorf("evidence %d: want an ip or a device observation matching rule %s", i, o.Rule)
		}
		if o.At != nil {
			e.Observed.At = time.Unix(0, *o.At).UTC()
		}
		if o.Port < 0 || o.Port > 65535 || o.Drift < 0 {
			return nil, fmt.Errorf("evidence %d: port or drift out of range", i)
		}
		e.Observed.Event, e.Observed.Port, e.Observed.Proxy, e.Drift = o.Event, o.Port, o.Proxy, time.Duration(o.Drift)
		e.Observed.Associated = o.Associated
		if o.Shared != "" {
			p, err := netip.ParsePrefix(o.Shared)
			if err != nil {
				return nil, fmt.Errorf("evidence %d: %w", i, err)
			}
			e.Shared = p
		}
		if o.SharedWhy != "" && !e.Shared.IsValid() {
			return nil, fmt.Errorf("evidence %d: shared_why without shared", i)
		}
		e.SharedWhy = o.SharedWhy
		e.Observed.Net = seams.AddrInfo{ASN: o.ASN, Org: o.ASOrg, Country: o.Country, City: o.City}
		if e.Observed.Net != (seams.AddrInfo{}) && !e.Observed.IP.IsValid() {
			return nil, fmt.Errorf("evidence %d: asn, as_org, country or city of a device", i)
		}
	}
	return out, nil
}
