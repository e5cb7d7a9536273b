package stix

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/seams-dev/seams"
)

// ErrComplexPattern is the cause of every pattern that is well formed but
// stands for more than one address, prefix, AS or device (OR, FOLLOWEDBY,
// AND of different observables) or is qualified (WITHIN, START/STOP,
// REPEATS): seams reads one per indicator.
var ErrComplexPattern = errors.New("complex pattern")

// The object paths seams reads, and what they become.
const (
	pathIPv4   = "ipv4-addr:value"          // ip, or cidr with ISSUBSET or a /len value
	pathIPv6   = "ipv6-addr:value"          // likewise
	pathASN    = "autonomous-system:number" // asn
	pathMAC    = "mac-addr:value"           // device mac:VALUE
	pathDevice = "x-seams-device:id"        // device TYPE:VALUE (custom object)
	// A network-traffic's source or destination address, as MISP and
	// other exporters write an ip-src or ip-dst attribute.
	pathTraffic = "network-traffic"
)

// comparison is one property test of a pattern: path op value.
type comparison struct {
	path string
	op   token
	val  token
}

func (c comparison) String() string {
	v := c.val.text
	if c.val.kind == tokString {
		v = quote(v)
	}
	return c.path + " " + c.op.text + " " + v
}

// ParsePattern parses a STIX pattern that names one address, prefix, AS or
// device and returns the indicator it stands for (Kind and Value filled,
// nothing else):
//
//	[ipv4-addr:value = '203.0.113.7']              ip
//	[ipv4-addr:value ISSUBSET '198.51.100.0/24']   cidr (so is = with a prefix)
//	[ipv6-addr:value = '2001:db8::1']              ip
//	[autonomous-system:number = 64500]             asn (also '64500', as MISP writes it)
//	[mac-addr:value = '00:00:5e:00:53:01']         device mac:00:00:5e:00:53:01
//	[x-seams-device:id = 'imei:358240051111110']   device imei:358240051111110
//
// and the network-traffic form of MISP's ip-src, ip-dst, ip-src|port and
// ip-dst|port, whose port is dropped (as the MISP reader drops it):
//
//	[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '198.51.100.7']
//	[network-traffic:dst_ref.value = '2001:db8::7' AND network-traffic:dst_port = '443']
//
// Parentheses are allowed around comparisons. A pattern that compares
// more than one value (an OR, a FOLLOWEDBY, an AND of two addresses or of
// the source and destination), or has qualifiers, fails with an error
// wrapping ErrComplexPattern that says what it holds.
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
		case "FOLLOWEDBY":
			return seams.Indicator{}, fmt.Errorf("%w (%s): give one observation per indicator", ErrComplexPattern, t.text)
		case "WITHIN", "START", "STOP", "REPEATS":
			return seams.Indicator{}, fmt.Errorf("%w (qualifier %s)", ErrComplexPattern, t.text)
		case "NOT", "LIKE", "MATCHES", "IN", "EXISTS", "ISSUPERSET":
			return seams.Indicator{}, fmt.Errorf("comparison %s is not supported (want = or ISSUBSET)", t.text)
		}
	}
	ps := &patternParser{toks: toks}
	cs, err := ps.pattern()
	if err != nil {
		if errors.Is(err, ErrComplexPattern) {
			return seams.Indicator{}, err
		}
		return seams.Indicator{}, fmt.Errorf("pattern %q is not one observation in brackets, such as [ipv4-addr:value = '203.0.113.7']: %v", cut(p), err)
	}
	return fromComparisons(cs)
}

// patternParser reads the observation expression of a pattern: one
// bracketed comparison expression, perhaps in parentheses, whose
// comparisons are joined by AND (an OR anywhere is a choice of values,
// which seams does not read).
type patternParser struct {
	toks []token
	i    int
}

func (p *patternParser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{}
}

func (p *patternParser) next() token { t := p.peek(); p.i++; return t }

func (p *patternParser) pattern() ([]comparison, error) {
	if len(p.toks) == 0 {
		return nil, errors.New("empty pattern")
	}
	cs, err := p.observation()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		if t := p.peek(); t.kind == tokWord && (t.text == "AND" || t.text == "OR") {
			return nil, fmt.Errorf("%w (%s of observations): give one observation per indicator", ErrComplexPattern, t.text)
		}
		return nil, fmt.Errorf("unexpected %q after the observation", p.peek().text)
	}
	return cs, nil
}

func (p *patternParser) observation() ([]comparison, error) {
	switch t := p.next(); t.kind {
	case '(':
		cs, err := p.observation()
		if err != nil {
			return nil, err
		}
		if t := p.peek(); t.kind == tokWord && (t.text == "AND" || t.text == "OR") {
			return nil, fmt.Errorf("%w (%s of observations): give one observation per indicator", ErrComplexPattern, t.text)
		}
		if p.next().kind != ')' {
			return nil, errors.New("unbalanced parentheses")
		}
		return cs, nil
	case '[':
		cs, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		if p.next().kind != ']' {
			return nil, errors.New("no closing bracket")
		}
		return cs, nil
	default:
		return nil, fmt.Errorf("want [ at %q", t.text)
	}
}

// maxPatternDepth bounds the nesting of parentheses.
const maxPatternDepth = 16

// expression reads comparisons joined by AND, in parentheses or not.
func (p *patternParser) expression(depth int) ([]comparison, error) {
	if depth > maxPatternDepth {
		return nil, fmt.Errorf("parentheses nested deeper than %d", maxPatternDepth)
	}
	var cs []comparison
	for {
		if p.peek().kind == '(' {
			p.next()
			in, err := p.expression(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.next().kind != ')' {
				return nil, errors.New("unbalanced parentheses")
			}
			cs = append(cs, in...)
		} else {
			c, err := p.comparison()
			if err != nil {
				return nil, err
			}
			cs = append(cs, c)
		}
		t := p.peek()
		if t.kind != tokWord || (t.text != "AND" && t.text != "OR") {
			return cs, nil
		}
		if t.text == "OR" {
			return nil, fmt.Errorf("%w (OR): give one value per indicator", ErrComplexPattern)
		}
		p.next()
	}
}

func (p *patternParser) comparison() (comparison, error) {
	path := p.next()
	if path.kind != tokWord || !strings.Contains(path.text, ":") {
		return comparison{}, fmt.Errorf("want an object path at %q", path.text)
	}
	op := p.next()
	if op.kind != tokOp && !(op.kind == tokWord && op.text == "ISSUBSET") {
		return comparison{}, fmt.Errorf("no comparison operator after %s", path.text)
	}
	val := p.next()
	if val.kind != tokString && val.kind != tokNumber && val.kind != tokTyped && val.kind != tokWord {
		return comparison{}, fmt.Errorf("no value after %s %s", path.text, op.text)
	}
	return comparison{path: path.text, op: op, val: val}, nil
}

// fromComparisons maps the comparisons of one observation to the
// indicator they name, or says why they name none or several.
func fromComparisons(cs []comparison) (seams.Indicator, error) {
	for _, c := range cs {
		if c.op.text != "=" && c.op.text != "ISSUBSET" {
			return seams.Indicator{}, fmt.Errorf("comparison %s is not supported (want = or ISSUBSET)", c.op.text)
		}
	}
	// Sort the comparisons: the values that name something, the types of
	// network-traffic references, the ports (dropped).
	type named struct {
		subject string // the object compared: ipv4-addr, network-traffic:src_ref, ...
		c       comparison
	}
	var values []named
	types := map[string]comparison{} // subject -> its type comparison
	var objects []string             // object types, in order of first mention
	for _, c := range cs {
		obj, prop, _ := strings.Cut(c.path, ":")
		if !slices.Contains(objects, obj) {
			objects = append(objects, obj)
		}
		switch {
		case c.path == pathIPv4 || c.path == pathIPv6 || c.path == pathASN || c.path == pathMAC || c.path == pathDevice:
			values = append(values, named{obj, c})
		case obj == pathTraffic && (prop == "src_ref.value" || prop == "dst_ref.value"):
			values = append(values, named{obj + ":" + strings.TrimSuffix(prop, ".value"), c})
		case obj == pathTraffic && (prop == "src_ref.type" || prop == "dst_ref.type"):
			subject := obj + ":" + strings.TrimSuffix(prop, ".type")
			if prev, ok := types[subject]; ok && prev.val.text != c.val.text {
				return seams.Indicator{}, fmt.Errorf("%w (AND): %s and %s cannot both hold", ErrComplexPattern, prev, c)
			}
			types[subject] = c
		case obj == pathTraffic && (prop == "src_port" || prop == "dst_port"):
			// The port is dropped, as the MISP reader drops that of
			// ip-src|port: the address is what ties a place.
			if _, err := strconv.ParseUint(c.val.text, 10, 16); err != nil || c.op.text != "=" || c.val.kind != tokNumber && c.val.kind != tokString {
				return seams.Indicator{}, fmt.Errorf("%s takes = and a port number (0-65535), not %s", c.path, cut(c.val.text))
			}
		default:
			return seams.Indicator{}, fmt.Errorf("object path %q is not one seams reads (%s, %s, %s, %s, %s, or network-traffic:src_ref.value or dst_ref.value)",
				cut(c.path), pathIPv4, pathIPv6, pathASN, pathMAC, pathDevice)
		}
	}
	if len(values) == 0 {
		return seams.Indicator{}, errors.New("the pattern compares no address, prefix, AS number or device")
	}
	// In one observation every comparison must hold of the same observed
	// objects: two objects or two values are a conjunction seams cannot
	// hold in one indicator.
	if len(objects) > 1 {
		return seams.Indicator{}, fmt.Errorf("%w (AND): it compares %d kinds of object (%s); seams reads one address, prefix, AS or device per indicator",
			ErrComplexPattern, len(objects), strings.Join(objects, ", "))
	}
	first := values[0]
	var in seams.Indicator
	for i, v := range values {
		got, err := valueOf(v.c)
		if err != nil {
			return seams.Indicator{}, err
		}
		if i == 0 {
			in = got
			continue
		}
		if v.subject != first.subject {
			return seams.Indicator{}, fmt.Errorf("%w (AND): it names both %s and %s (%s, %s); seams reads one address, prefix, AS or device per indicator",
				ErrComplexPattern, first.subject, v.subject, first.c, v.c)
		}
		if got.Kind != in.Kind || got.Value != in.Value {
			return seams.Indicator{}, fmt.Errorf("%w (AND): it compares %d values (%s, %s); seams reads one address, prefix, AS or device per indicator",
				ErrComplexPattern, len(values), first.c, v.c)
		}
	}
	for _, subject := range slices.Sorted(maps.Keys(types)) {
		t := types[subject]
		if subject != first.subject {
			return seams.Indicator{}, fmt.Errorf("%w (AND): it names both %s and %s (%s, %s); seams reads one address, prefix, AS or device per indicator",
				ErrComplexPattern, first.subject, subject, first.c, t)
		}
		want := "ipv6-addr"
		if in.Addr.Is4() || in.Prefix.Addr().Is4() {
			want = "ipv4-addr"
		}
		if t.val.kind != tokString || t.op.text != "=" || t.val.text != want {
			return seams.Indicator{}, fmt.Errorf("%s does not agree with %s (an %s)", t, first.c, want)
		}
	}
	return in, nil
}

// valueOf maps one comparison of a value to an indicator.
func valueOf(c comparison) (seams.Indicator, error) {
	path, op, val := c.path, c.op, c.val
	switch path {
	case pathIPv4, pathIPv6, pathTraffic + ":src_ref.value", pathTraffic + ":dst_ref.value":
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
		if path == pathIPv4 || path == pathIPv6 {
			is4 := in.Addr.Is4() || in.Prefix.Addr().Is4()
			if is4 != (path == pathIPv4) {
				return seams.Indicator{}, fmt.Errorf("%s holds %q, of the other address family", path, val.text)
			}
		}
		return in, nil
	case pathASN:
		// MISP writes the number quoted; a quoted run of digits is taken
		// as the number.
		if op.text != "=" || !(val.kind == tokNumber || val.kind == tokString && val.text != "" && strings.Trim(val.text, "0123456789") == "") {
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
	return seams.Indicator{}, fmt.Errorf("object path %q holds no value seams reads", path)
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
			j, err := lexPath(p, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokWord, text: p[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q in pattern", c)
		}
	}
	return toks, nil
}

// lexPath reads a keyword or an object path starting at p[i] and returns
// where it ends. Besides the bytes of identifiers, a path holds list
// steps ([0], [*]) and quoted keys (extensions.'http-request-ext').
func lexPath(p string, i int) (int, error) {
	j := i + 1
	for j < len(p) {
		switch {
		case isPathByte(p[j]):
			j++
		case p[j] == '[' && j+2 < len(p) && (p[j+1] == '*' || p[j+1] >= '0' && p[j+1] <= '9'):
			k := j + 1
			for k < len(p) && (p[k] == '*' || p[k] >= '0' && p[k] <= '9') {
				k++
			}
			if k >= len(p) || p[k] != ']' {
				return j, nil
			}
			j = k + 1
		case p[j] == '\'' && p[j-1] == '.':
			_, n, err := lexString(p[j:])
			if err != nil {
				return 0, err
			}
			j += n
		default:
			return j, nil
		}
	}
	return j, nil
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
