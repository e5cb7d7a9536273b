// Package stix reads and writes STIX 2.1 bundles: compounds as
// Infrastructure (with a Location), indicators as Indicator objects with
// simple patterns, and findings as Sighting objects.
//
// ReadBundle takes a bundle (or a TAXII 2.1 envelope, which holds an
// "objects" array too) and returns the compounds and indicators it can map;
// every other object, and every object it cannot map, is handed to reject
// with its id and the reason. WriteBundle writes a bundle with deterministic
// ids (UUIDv5) and bytes, so that a re-export deduplicates at the receiver.
// docs/formats.md has the full mapping.
package stix

import (
	"encoding/json"
	"strings"

	"github.com/google/uuid"
)

// Namespace is the UUIDv5 namespace of every id seams writes in STIX:
// UUIDv5 of the URL namespace and "https://github.com/seams-dev/seams/stix".
// An object's id is its type, "--", and UUIDv5(Namespace, key), where key is
// the JSON array of the fields that identify it (see the key functions).
var Namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/seams-dev/seams/stix"))

// ID returns the deterministic STIX id of an object of type typ whose
// identifying fields are parts.
func ID(typ string, parts ...string) string {
	return typ + "--" + uuid.NewSHA1(Namespace, Key(typ, parts...)).String()
}

// Key returns the canonical key of an object: the JSON array of its type and
// identifying fields. JSON makes the key unambiguous whatever the fields hold.
func Key(typ string, parts ...string) []byte {
	b, _ := json.Marshal(append([]string{typ}, parts...)) // strings always marshal
	return b
}

// The relationship types that tie an indicator to a compound, and a compound
// to its place.
const (
	RelIndicates = "indicates"
	RelLocatedAt = "located-at"
	RelRelatedTo = "related-to"
)

// LabelCompound is the label that marks an Infrastructure or Location as a
// scam compound when it carries no x_seams_compound_id; the compound id is
// then derived from its name (see Slug).
const LabelCompound = "scam-compound"

// ExternalSource is the source_name of an external reference whose
// external_id is a seams compound id.
const ExternalSource = "seams-compound"

// Slug derives a compound id from a name: lower case, runs of anything but
// ASCII letters and digits become one "-", trimmed, cut to 64 characters.
// "KK Park" becomes "kk-park". It returns "" when nothing is left.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 64 {
			break
		}
	}
	s := b.String()
	if len(s) > 64 {
		s = strings.TrimRight(s[:64], "-")
	}
	return s
}
