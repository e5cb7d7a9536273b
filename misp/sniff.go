package misp

import (
	"bytes"
	"regexp"
)

var (
	eventKey    = regexp.MustCompile(`^\[?\s*\{\s*"(Event|response)"\s*:`)
	listKey     = regexp.MustCompile(`"list"\s*:\s*\[`)
	wlTypeKey   = regexp.MustCompile(`"type"\s*:\s*"(cidr|string|hostname|substring|regex)"`)
	matchingKey = regexp.MustCompile(`"(matching_attributes|version)"\s*:`)
)

// SniffEvents reports whether the first bytes of a file look like MISP
// event JSON: an object (or an array of objects) whose first key is
// "Event" or "response".
func SniffEvents(head []byte) bool {
	return eventKey.Match(trim(head))
}

// SniffWarninglist reports whether the first bytes of a file look like a
// MISP warninglist: an object with a "list" array, a warninglist "type"
// and "matching_attributes" or "version", in any order.
func SniffWarninglist(head []byte) bool {
	h := trim(head)
	return len(h) > 0 && h[0] == '{' && listKey.Match(h) && wlTypeKey.Match(h) && matchingKey.Match(h)
}

func trim(b []byte) []byte { return bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\uFEFF")), " \t\r\n") }
