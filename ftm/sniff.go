package ftm

import (
	"bytes"
	"regexp"
)

var (
	schemaKey     = regexp.MustCompile(`"schema"\s*:\s*"[A-Z][A-Za-z]*"`)
	propertiesKey = regexp.MustCompile(`"properties"\s*:\s*\{`)
)

// Sniff reports whether the first line of a file looks like a
// FollowTheMoney entity: a JSON object with a "schema" naming a schema
// (capitalised) and a "properties" object.
func Sniff(head []byte) bool {
	h := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\uFEFF")), " \t\r\n")
	if i := bytes.IndexByte(h, '\n'); i >= 0 {
		h = h[:i]
	}
	return len(h) > 0 && h[0] == '{' && schemaKey.Match(h) && propertiesKey.Match(h)
}
