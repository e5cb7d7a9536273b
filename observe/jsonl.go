package observe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"unsafe"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/chunk"
)

// ParseJSON parses one line of JSON Lines into o: an object with the
// fields device, at, lat, lon and optionally accuracy_m and ip. It returns
// the reason the line cannot be used, or "" when o holds an observation.
// Strings in o may share memory with line.
//
// Field names are exact (lower case); unknown fields are ignored at any
// depth; null, and an empty string for ip, mean absent; of a repeated field
// the last one counts, as in encoding/json. Lines of the common shape (flat,
// no escapes) are decoded by a scanner that allocates nothing; anything else
// by encoding/json, which decides every case the scanner is unsure of. A
// fuzz test holds the two to the same results.
func ParseJSON(line []byte, o *Observation) string {
	var f fields
	if !scanFlat(line, &f) {
		if why := decodeJSON(line, &f); why != "" {
			return why
		}
	}
	return f.observation(o)
}

// decodeJSON is the slow path: encoding/json decides what the line is.
func decodeJSON(line []byte, f *fields) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Sprintf("not a JSON object (a JSON %s)", te.Value)
		}
		return "not a JSON object: " + err.Error()
	}
	if m == nil { // the line was null
		return "not a JSON object (null)"
	}
	*f = fields{}
	var why string
	if f.device, f.hasDevice, why = jsonString(m, "device"); why != "" {
		return why
	}
	if f.at, f.hasAt, why = jsonString(m, "at"); why != "" {
		return why
	}
	if f.ip, _, why = jsonString(m, "ip"); why != "" {
		return why
	}
	if f.lat, f.hasLat, why = jsonNumber(m, "lat"); why != "" {
		return why
	}
	if f.lon, f.hasLon, why = jsonNumber(m, "lon"); why != "" {
		return why
	}
	if f.acc, f.hasAcc, why = jsonNumber(m, "accuracy_m"); why != "" {
		return why
	}
	return ""
}

// jsonString returns the string value of a field; null and absence are
// both absent.
func jsonString(m map[string]json.RawMessage, name string) (string, bool, string) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return "", false, ""
	}
	if raw[0] != '"' {
		return "", false, fmt.Sprintf("%s: want a string, got %s", name, cut(raw, 64))
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, name + ": " + err.Error()
	}
	return v, true, ""
}

// jsonNumber returns the number value of a field; null and absence are
// both absent.
func jsonNumber(m map[string]json.RawMessage, name string) (float64, bool, string) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return 0, false, ""
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return 0, false, fmt.Sprintf("%s: want a number, got %s", name, cut(raw, 64))
	}
	v, why := parseJSONNumber(name, raw)
	return v, why == "", why
}

// parseJSONNumber converts the text of a JSON number; encoding/json has
// already checked its grammar.
func parseJSONNumber(name string, raw []byte) (float64, string) {
	v, err := strconv.ParseFloat(bytesString(raw), 64)
	if err != nil {
		return 0, fmt.Sprintf("%s: number %s out of range", name, cut(raw, 64))
	}
	return v, ""
}

// scanFlat decodes a line of the common shape: one object whose keys and
// used values (device, at, ip, lat, lon, accuracy_m) hold printable ASCII
// without escapes; any other value (nested objects and arrays, strings with
// escapes or other bytes, true, false) is skipped after its grammar is
// checked. It reports false for anything else (an escape or non-ASCII in a
// key or a used value, a used field of the wrong type, a syntax error),
// leaving the decision to encoding/json; so it never decides differently.
func scanFlat(b []byte, f *fields) bool {
	*f = fields{}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ks, ke, ok := scanString(b, i)
		if !ok {
			return false
		}
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		key := b[ks : ke-1]
		// Which kind of value the key wants: 's' string, 'n' number, 0 any.
		var want byte
		var str *string
		var num *float64
		var has *bool
		switch string(key) {
		case "device":
			want, str, has = 's', &f.device, &f.hasDevice
		case "at":
			want, str, has = 's', &f.at, &f.hasAt
		case "ip":
			want, str = 's', &f.ip
		case "lat":
			want, num, has = 'n', &f.lat, &f.hasLat
		case "lon":
			want, num, has = 'n', &f.lon, &f.hasLon
		case "accuracy_m":
			want, num, has = 'n', &f.acc, &f.hasAcc
		}
		switch c := b[i]; {
		case c == '"' && want != 0:
			vs, ve, ok := scanString(b, i)
			if !ok || want == 'n' {
				return false
			}
			if str != nil {
				*str = bytesString(b[vs : ve-1])
				if has != nil {
					*has = true
				}
			}
			i = ve
		case c == '-' || c >= '0' && c <= '9':
			end, ok := scanNumber(b, i)
			if !ok || want == 's' {
				return false
			}
			if num != nil {
				v, err := strconv.ParseFloat(bytesString(b[i:end]), 64)
				if err != nil {
					return false // out of range: the slow path words it
				}
				*num, *has = v, true
			}
			i = end
		case c == 'n':
			if !bytes.HasPrefix(b[i:], []byte("null")) {
				return false
			}
			// null is absent, and undoes an earlier value of the same key.
			switch {
			case str != nil:
				*str = ""
				if has != nil {
					*has = false
				}
			case num != nil:
				*num, *has = 0, false
			}
			i += 4
		case want == 0:
			// A value the reader does not use (true, false, an object, an
			// array, a string with escapes or other bytes): skipped, after
			// checking its grammar as encoding/json would.
			end, ok := skipValue(b, i)
			if !ok {
				return false
			}
			i = end
		default:
			return false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return skipWS(b, i+1) == len(b)
		default:
			return false
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString scans the string starting at b[i] == '"' and returns the start
// of its contents and the index after its closing quote. It fails on an
// escape, a control character or a non-ASCII byte.
func scanString(b []byte, i int) (int, int, bool) {
	j := bytes.IndexByte(b[i+1:], '"')
	if j < 0 {
		return 0, 0, false
	}
	j += i + 1
	for _, c := range b[i+1 : j] {
		if plainByte[c] == 0 {
			return 0, 0, false
		}
	}
	return i + 1, j + 1, true
}

// plainByte marks the bytes a string may hold on the fast path: printable
// ASCII other than the backslash.
var plainByte = func() (t [256]byte) {
	for c := 0x20; c < 0x80; c++ {
		if c != '\\' {
			t[c] = 1
		}
	}
	return t
}()

// scanNumber scans a JSON number starting at b[i] and returns the index
// after it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, bool) {
	digits := func(j int) int {
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

// maxSkipDepth is the deepest nesting skipValue follows; deeper values go
// to encoding/json, which has its own limit.
const maxSkipDepth = 64

// skipValue checks the grammar of the JSON value starting at b[i] (after
// white space) and returns the index after it. Strings may hold escapes
// (checked: one of \" \\ \/ \b \f \n \r \t or \u and four hex digits) and
// any byte from 0x20 up, as encoding/json accepts them (it replaces invalid
// UTF-8, it does not refuse it). It reports false on a syntax error or
// nesting deeper than maxSkipDepth.
func skipValue(b []byte, i int) (int, bool) {
	// expect: what the value just ended inside of, one entry per open
	// object ('}') or array (']').
	var stack [maxSkipDepth]byte
	depth := 0
	for {
		if i >= len(b) {
			return 0, false
		}
		// One value.
		switch c := b[i]; {
		case c == '"':
			end, ok := skipString(b, i)
			if !ok {
				return 0, false
			}
			i = end
		case c == '-' || c >= '0' && c <= '9':
			end, ok := scanNumber(b, i)
			if !ok {
				return 0, false
			}
			i = end
		case c == 't' && bytes.HasPrefix(b[i:], []byte("true")):
			i += 4
		case c == 'f' && bytes.HasPrefix(b[i:], []byte("false")):
			i += 5
		case c == 'n' && bytes.HasPrefix(b[i:], []byte("null")):
			i += 4
		case c == '{' || c == '[':
			if depth == maxSkipDepth {
				return 0, false
			}
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			j := skipWS(b, i+1)
			if j < len(b) && b[j] == closer {
				i = j + 1
				break
			}
			stack[depth] = closer
			depth++
			i = j
			if c == '{' {
				k, ok := skipKey(b, i)
				if !ok {
					return 0, false
				}
				i = k
			}
			continue
		default:
			return 0, false
		}
		// After a value: the end of the whole value, a comma, or the end
		// of the object or array it is in.
		for {
			if depth == 0 {
				return i, true
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == ',' {
				i = skipWS(b, i+1)
				if stack[depth-1] == '}' {
					k, ok := skipKey(b, i)
					if !ok {
						return 0, false
					}
					i = k
				}
				break
			}
			if b[i] != stack[depth-1] {
				return 0, false
			}
			depth--
			i++
		}
	}
}

// skipKey skips an object key at b[i] and the colon after it, and returns
// the index of the value (after white space).
func skipKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	end, ok := skipString(b, i)
	if !ok {
		return 0, false
	}
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		return 0, false
	}
	return skipWS(b, i+1), true
}

// skipString checks the string starting at b[i] == '"' and returns the
// index after its closing quote.
func skipString(b []byte, i int) (int, bool) {
	for i++; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			if i+1 >= len(b) {
				return 0, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, false
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, false
					}
				}
				i += 6
			default:
				return 0, false
			}
		default:
			i++
		}
	}
	return 0, false
}

// bytesString returns a string sharing b's memory. Observations hold such
// strings only until the buffer they were parsed from is reused, as the
// Reader contract says; whoever keeps one copies it.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// jsonReader reads JSON Lines a chunk of lines at a time.
type jsonReader struct {
	cr   *chunk.Reader
	file string
	c    *chunk.Chunk
	rest []byte // unread lines of c
	line int    // number of the next line of rest
}

// NewJSONReader returns a Reader of JSON Lines. Blank lines are skipped and
// are not records; a UTF-8 byte order mark at the start is dropped. A line
// longer than MaxLine is rejected with its first MaxRaw bytes, and the rest
// of it is skipped without being held in memory.
func NewJSONReader(r io.Reader, file string) Reader {
	return &jsonReader{cr: chunk.NewReader(r, 1<<20, MaxLine, seams.MaxRaw), file: file}
}

func (r *jsonReader) Next(o *Observation, reject Reject) (int, error) {
	for {
		if len(r.rest) == 0 {
			if r.c != nil {
				r.cr.Release(r.c)
				r.c = nil
			}
			c, err := r.cr.Next()
			if err == io.EOF {
				return 0, io.EOF
			}
			if err != nil {
				return 0, fmt.Errorf("%s: %w", r.file, err)
			}
			if c.Long {
				if reject != nil {
					reject(&seams.RecordError{File: r.file, Line: c.FirstLine,
						Reason: fmt.Sprintf("line longer than %d bytes", MaxLine), Raw: seams.CutRaw(c.Data, seams.MaxRaw)})
				}
				r.cr.Release(c)
				continue
			}
			r.c, r.rest, r.line = c, c.Data, c.FirstLine
		}
		line, n := r.rest, r.line
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, r.rest = line[:i], r.rest[i+1:]
		} else {
			r.rest = nil
		}
		r.line++
		if why := ParseLine(line, o); why != "" {
			if why == blank {
				continue
			}
			if reject != nil {
				reject(&seams.RecordError{File: r.file, Line: n, Reason: why, Raw: seams.TruncateRaw(line)})
			}
			continue
		}
		return n, nil
	}
}

// QuickIP finds the address of a line of JSON Lines without parsing the
// rest, for a reader that only wants the lines with certain addresses. When
// ok, the address ParseLine gives the line, if it accepts it, is ip or none
// (ip itself may be the zero Addr: none): a reader that does not want ip
// may skip the line. QuickIP is sure only of the plain shape, no backslash
// in the line and "ip" at most once, as "ip":"ADDRESS"; for anything else
// it is not ok. A string cannot hold an unescaped quote, so that one "ip"
// is a key: the address's, or a nested object's (whose line has no address
// at all).
func QuickIP(line []byte) (ip netip.Addr, ok bool) {
	if bytes.IndexByte(line, '\\') >= 0 {
		return netip.Addr{}, false
	}
	// Find `"ip"` by its rarer 'i'.
	at := -1
	for off := 0; ; {
		k := bytes.Index(line[off:], []byte(`ip"`))
		if k < 0 {
			break
		}
		k += off
		if k > 0 && line[k-1] == '"' {
			if at >= 0 {
				return netip.Addr{}, false // twice
			}
			at = k - 1
		}
		off = k + 3
	}
	if at < 0 {
		return netip.Addr{}, true
	}
	rest := line[at+4:]
	if !bytes.HasPrefix(rest, []byte(`:"`)) {
		return netip.Addr{}, false
	}
	rest = rest[2:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return netip.Addr{}, false
	}
	s := strings.TrimSpace(bytesString(rest[:j]))
	if s == "" {
		return netip.Addr{}, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, true // the line is rejected, or has no address
	}
	return seams.NormalizeAddr(a), true
}

// QuickDevice finds the device of a line of JSON Lines without parsing
// the rest, for a reader that only wants the lines of certain devices. When
// ok, the device ParseLine gives the line, if it accepts it, is the one
// whose TYPE:VALUE text is dev, exactly (seams.DeviceID.String); dev may be
// empty when the line has none (ParseLine rejects it then). QuickDevice is
// sure only of the plain shape: no backslash in the line, "device" at most
// once, as "device":"TYPE:VALUE" of printable ASCII, with a type without
// upper case and a type and value that begin and end with a byte other
// than a space (so that normalizing changes nothing); for anything else it
// is not ok. dev shares line's memory.
func QuickDevice(line []byte) (dev []byte, ok bool) {
	if bytes.IndexByte(line, '\\') >= 0 {
		return nil, false
	}
	at := -1
	for off := 0; ; {
		k := bytes.Index(line[off:], []byte(`device"`))
		if k < 0 {
			break
		}
		k += off
		if k > 0 && line[k-1] == '"' {
			if at >= 0 {
				return nil, false // twice
			}
			at = k - 1
		}
		off = k + len(`device"`)
	}
	if at < 0 {
		return nil, true
	}
	rest := line[at+len(`"device"`):]
	if !bytes.HasPrefix(rest, []byte(`:"`)) {
		return nil, false
	}
	rest = rest[2:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil, false
	}
	dev = rest[:j]
	typ, val, found := bytes.Cut(dev, []byte{':'})
	if !found || !plainEnds(typ) || !plainEnds(val) {
		return nil, false
	}
	for _, c := range typ {
		if 'A' <= c && c <= 'Z' {
			return nil, false
		}
	}
	// Only printable ASCII: encoding/json would replace invalid UTF-8.
	for _, c := range dev {
		if c < ' ' || c >= 0x7f {
			return nil, false
		}
	}
	return dev, true
}

// plainEnds reports whether s is not empty and begins and ends with a
// printable ASCII byte other than a space: trimming white space leaves it
// as it is.
func plainEnds(s []byte) bool {
	return len(s) > 0 && s[0] > ' ' && s[0] < 0x7f && s[len(s)-1] > ' ' && s[len(s)-1] < 0x7f
}

// blank is ParseLine's reason for a line that is not a record.
const blank = "blank line"

// ParseLine parses one line of JSON Lines (without its newline) into o, as
// ParseJSON does, after checking its length and dropping a carriage return
// at its end. It returns the reason the line cannot be used, "" when o holds
// an observation, or "blank line" for a line of white space only, which is
// not a record and is not rejected.
func ParseLine(line []byte, o *Observation) string {
	if len(line) > MaxLine {
		return fmt.Sprintf("line longer than %d bytes", MaxLine)
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(bytes.TrimLeft(line, " \t\r\n")) == 0 {
		return blank
	}
	return ParseJSON(line, o)
}

// IsBlank reports whether a reason returned by ParseLine means the line
// was blank.
func IsBlank(reason string) bool { return reason == blank }
