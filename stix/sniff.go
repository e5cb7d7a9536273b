package stix

import (
	"bytes"
	"regexp"
)

var bundleType = regexp.MustCompile(`"type"\s*:\s*"bundle"`)
var objectsKey = regexp.MustCompile(`"objects"\s*:\s*\[`)
var stixID = regexp.MustCompile(`"id"\s*:\s*"[a-z][a-z0-9-]*--[0-9a-fA-F-]{36}"`)

// Sniff reports whether the first bytes of a file (4 KiB is plenty) look
// like a STIX bundle or TAXII envelope: a JSON object with "type":"bundle",
// or with an "objects" array and a STIX id (type--uuid) in view.
func Sniff(head []byte) bool {
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\uFEFF")), " \t\r\n")
	if len(head) == 0 || head[0] != '{' {
		return false
	}
	return bundleType.Match(head) || objectsKey.Match(head) && stixID.Match(head)
}
