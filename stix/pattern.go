package stix

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/seams-dev/seams"
)

// ErrComplexPattern is the cause of every pattern that is well formed but
// more than one comparison (AND, OR, FOLLOWEDBY) or qualified (WITHIN,
// START/STOP, REPEATS): seams reads one comparison per indicator.
var ErrComplexPattern = errors.New("complex pattern")

// The object paths seams reads, and what they become.
const (
	pathIPv4   = "ipv4-addr:value"          // ip, or cidr with ISSUBSET or a /len value
	pathIPv6   = "ipv6-addr:value"          // likewise
	pathASN    = "autonomous-system:number" // asn
	pathMAC    = "mac-addr:value"           // device mac:VALUE
	pathDevice = "x-seams-device:id"        // device TYPE:VALUE (custom object)
)

// ParsePattern parses a STIX pattern of one comparison and returns the
// indicator it stands for (Kind and Value filled, nothing else):
//
//	[ipv4-addr:value = '203.0.113.7']              ip
//	[ipv4-addr:value ISSUBSET '198.51.100.0/24']   cidr (so is = with a prefix)
//	[ipv6-addr:value = '2001:db8::1']              ip
//	[autonomous-system:number = 64500]             asn
//	[mac-addr:value = '00:00:5e:00:53:01']         device mac:00:00:5e:00:53:01
//	[x-seams-device:id = 'imei:358240051111110']   device imei:358240051111110
//
// A pattern of several comparisons or with qualifiers fails with an error
// wrapping ErrComplexPattern.
func ParsePattern(p string) (seams.Indicator, error) {
	toks, err := lexPattern(p)
	if err != nil {
		return seams.Indicator{}, err
	}
	for _, t := range toks {
		if t.kind != tokWord {
			continue
		}
		switch t.text {
		case "AND", "OR", "FOLLOWEDBY":
			return seams.Indicator{}, fmt.Errorf("%w (%s): give one comparison per indicator", ErrComplexPattern, t.text)
		case "WITHIN", "START", "STOP", "REPEATS":
			return seams.Indicator{}, fmt.Errorf("%w (qualifier %s)", ErrComplexPattern, t.text)
		case "NOT", "LIKE", "MATCHES", "IN", "EXISTS", "ISSUPERSET":
			return seams.Indicator{}, fmt.Errorf("comparison %s is not supported (want = or ISSUBSET)", t.text)
		}
	}
	if len(toks) != 5 || toks[0].kind != '[' || toks[4].kind != ']' || toks[1].kind != tokWord {
		return seams.Indicator{}, fmt.Errorf("pattern %q is not one comparison in brackets, such as [ipv4-addr:value = '203.0.113.7']", cut(p))
	}
	path, op, val := toks[1].text, toks[2], toks[3]
	if op.kind != tokOp && !(op.kind == tokWord && op.text == "ISSUBSET") {
		return seams.Indicator{}, fmt.Errorf("pattern %q has no comparison operator", cut(p))
	}
	if op.text != "=" && op.text != "ISSUBSET" {
		return seams.Indicator{}, fmt.Errorf("comparison %s is not supported (want = or ISSUBSET)", op.text)
	}
	switch path {
	case pathIPv4, pathIPv6:
		if val.kind != tokString {
			return seams.Indicator{}, fmt.Errorf("%s takes a quoted address or prefix", path)
		}
		kind := seams.KindIP
		if op.text == "ISSUBSET" || strings.Contains(val.text, "/") {
			kind = seams.KindCIDR
			if !strings.Contains(val.text, "/") {
				// ISSUBSET of a bare address is the address itself.
				kind = seams.KindIP
			}
		}
		in, err := seams.ParseIndicatorValue(kind, val.text)
		if err != nil {
			return seams.Indicator{}, err
		}
		is4 := in.Addr.Is4() || in.Prefix.Addr().Is4()
		if is4 != (path == pathIPv4) {
			return seams.Indicator{}, fmt.Errorf("%s holds %q, of the other address family", path, val.text)
		}
		return in, nil
	case pathASN:
		if val.kind != tokNumber || op.text != "=" {
			return seams.Indicator{}, fmt.Errorf("%s takes = and a number", path)
		}
		return seams.ParseIndicatorValue(seams.KindASN, val.text)
	case pathMAC, pathDevice:
		if val.kind != tokString || op.text != "=" {
			return seams.Indicator{}, fmt.Errorf("%s takes = and a quoted value", path)
		}
		v := val.text
		if path == pathMAC {
			v = "mac:" + v
		}
		return seams.ParseIndicatorValue(seams.KindDevice, v)
	}
	return seams.Indicator{}, fmt.Errorf("object path %q is not one seams reads (%s, %s, %s, %s or %s)",
		path, pathIPv4, pathIPv6, pathASN, pathMAC, pathDevice)
}

// FormatPattern writes the pattern of an indicator, the inverse of
// ParsePattern.
func FormatPattern(in *seams.Indicator) string {
	switch in.Kind {
	case seams.KindIP:
		return "[" + addrPath(in.Addr.Is4()) + " = " + quote(in.Value) + "]"
	case seams.KindCIDR:
		return "[" + addrPath(in.Prefix.Addr().Is4()) + " ISSUBSET " + quote(in.Value) + "]"
	case seams.KindASN:
		return "[" + pathASN + " = " + strconv.FormatUint(uint64(in.ASN), 10) + "]"
	case seams.KindDevice:
		if in.Device.Type == "mac" {
			return "[" + pathMAC + " = " + quote(in.Device.Value) + "]"
		}
		return "[" + pathDevice + " = " + quote(in.Value) + "]"
	}
	return ""
}

func addrPath(is4 bool) string {
	if is4 {
		return pathIPv4
	}
	return pathIPv6
}

// quote writes a STIX string literal: single quotes, with \ and ' escaped.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}

// The kinds of pattern tokens that are not single characters.
const (
	tokWord   = 'w' // a keyword or an object path
	tokString = 's' // a quoted string, unescaped
	tokNumber = 'n'
	tokOp     = 'o' // = != < <= > >=
	tokTyped  = 't' // t'...', h'...', b'...'
)

type token struct {
	kind byte
	text string
}

// maxPatternTokens bounds the work on a hostile pattern; a pattern seams can
// read has five.
const maxPatternTokens = 256

// lexPattern splits a STIX pattern into tokens, following the lexical rules
// of the STIX 2.1 patterning grammar closely enough to tell one comparison
// from anything else.
func lexPattern(p string) ([]token, error) {
	var toks []token
	for i := 0; i < len(p); {
		if len(toks) > maxPatternTokens {
			return nil, fmt.Errorf("pattern longer than %d tokens", maxPatternTokens)
		}
		c := p[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '[' || c == ']' || c == '(' || c == ')' || c == ',':
			toks = append(toks, token{kind: c, text: string(c)})
			i++
		case c == '\'':
			s, n, err := lexString(p[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, text: s})
			i += n
		case (c == 't' || c == 'h' || c == 'b') && i+1 < len(p) && p[i+1] == '\'':
			s, n, err := lexString(p[i+1:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokTyped, text: s})
			i += 1 + n
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(p) && p[j] == '=' {
				j++
			}
			op := p[i:j]
			if op == "!" {
				return nil, fmt.Errorf("invalid operator %q in pattern", op)
			}
			toks = append(toks, token{kind: tokOp, text: op})
			i = j
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(p) && (p[j] >= '0' && p[j] <= '9' || p[j] == '.') {
				j++
			}
			toks = append(toks, token{kind: tokNumber, text: p[i:j]})
			i = j
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			j := i + 1
			for j < len(p) && isPathByte(p[j]) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: p[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q in pattern", c)
		}
	}
	return toks, nil
}

func isPathByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == ':' || c == '.' || c == '*'
}

// lexString reads a quoted string at the start of s and returns its value
// and the bytes it took. Only \' and \\ are escapes.
func lexString(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || s[i+1] != '\'' && s[i+1] != '\\' {
				return "", 0, errors.New(`invalid escape in pattern string (only \' and \\ are allowed)`)
			}
			i++
			b.WriteByte(s[i])
		case '\'':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errors.New("unterminated string in pattern")
}

// cut shortens text quoted in an error.
func cut(s string) string {
	if len(s) > 200 {
		return seams.CutRaw([]byte(s), 200)
	}
	return s
}
