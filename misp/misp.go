// Package misp reads MISP event JSON and warninglists, and writes findings
// as MISP events.
//
// ReadEvents maps attributes of types ip-src, ip-dst, ip-src|port,
// ip-dst|port and AS (and text attributes tagged seams:kind="device") to
// indicators of the compound that a tag seams:compound="ID" (on the
// attribute or its event) or a galaxy cluster misp-galaxy:seams-compound="ID"
// names. ReadWarninglist reads a warninglist of addresses and prefixes as
// shared infrastructure. WriteEvents writes one event per compound, its
// indicators as attributes and the evidence of findings as their sightings.
// docs/formats.md has the full mapping; the format is the MISP core format
// (draft-dulaunoy-misp-core-format).
package misp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Namespace is the UUIDv5 namespace of every uuid seams writes in MISP:
// UUIDv5 of the URL namespace and "https://github.com/seams-dev/seams/misp".
var Namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/seams-dev/seams/misp"))

// newUUID returns the deterministic uuid of the object identified by parts.
func newUUID(parts ...string) string {
	b, _ := json.Marshal(parts) // strings always marshal
	return uuid.NewSHA1(Namespace, b).String()
}

// The machine tags seams reads and writes. A value is quoted, with " and \
// escaped by a backslash.
const (
	TagCompound     = "seams:compound"      // the compound id of an event or attribute
	TagCompoundName = "seams:compound-name" // its display name
	TagCountry      = "seams:country"       // its ISO 3166-1 alpha-2 country
	TagSource       = "seams:source"        // who saw the indicator
	TagConfidence   = "seams:confidence"    // confidence in [0,1]
	TagKind         = "seams:kind"          // "device" on a text attribute holding TYPE:VALUE
	TagDrift        = "seams:drift"         // the indicator's own bound on rule ip-drift: "0", "90d", a Go duration
	// GalaxyCompound is the prefix of the tag_name of a galaxy cluster
	// naming a compound: misp-galaxy:seams-compound="ID".
	GalaxyCompound = "misp-galaxy:seams-compound"
)

// machineTag formats name="value".
func machineTag(name, value string) string {
	v := strings.ReplaceAll(value, `\`, `\\`)
	v = strings.ReplaceAll(v, `"`, `\"`)
	return name + `="` + v + `"`
}

// parseMachineTag splits name="value"; ok is false for any other tag.
func parseMachineTag(tag string) (name, value string, ok bool) {
	name, rest, found := strings.Cut(tag, "=")
	if !found || len(rest) < 2 || rest[0] != '"' || rest[len(rest)-1] != '"' {
		return "", "", false
	}
	rest = rest[1 : len(rest)-1]
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		if rest[i] == '\\' && i+1 < len(rest) {
			i++
		}
		b.WriteByte(rest[i])
	}
	return strings.TrimSpace(name), b.String(), true
}

// flexString is a JSON string that MISP sometimes writes as a number.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = flexString(n)
	return nil
}

// flexBool is a JSON boolean that older MISP writes as "0"/"1" or 0/1.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(string(b), `"`) {
	case "true", "1":
		*f = true
	case "false", "0", "", "null":
		*f = false
	default:
		return fmt.Errorf("%s is not a boolean", b)
	}
	return nil
}

// itoa is strconv.Itoa for the string-typed numbers of MISP.
func itoa(n int) string { return strconv.Itoa(n) }
