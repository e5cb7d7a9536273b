// Package jsonl reads reports from JSON Lines and writes findings and
// rejections as JSON Lines.
//
// The report reader is a scanner written for the report schema: one pass
// over the bytes of a line, no generic map, no reflection, and no allocation
// per event in the steady state. It keeps every rule of the contract, and its
// fuzz test holds it equal to a plain encoding/json decoder. Ip events and
// devices in the compact shape that producers write are decoded by fast
// paths (ipEventCompact, deviceCompact) that leave anything else, untouched,
// to the general scanner; their fuzz tests hold them equal to it.
package jsonl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/seams-dev/seams"
)

// Problem is a part of a report that could not be used, while the rest of
// the report could: an ip event, a device, or a report-level field.
type Problem struct {
	Field  string // "ips", "devices", "received" or "incident"
	Index  int    // the element's index for ips and devices, or -1
	Reason string
	Raw    []byte // the element's JSON text; valid until the next Parse
}

// Item names the problem's part as rejected.jsonl writes it: "ips[3]",
// "devices[0]", "received".
func (p *Problem) Item() string {
	if p.Index < 0 {
		return p.Field
	}
	return p.Field + "[" + strconv.Itoa(p.Index) + "]"
}

// Parser decodes report lines. It is not safe for concurrent use.
//
// The strings of a parsed report (id, incident, event names, devices) share
// memory with the line and with the parser's arena, so a report is valid
// only as long as its line is unchanged and until Reset; Report.Clone keeps
// one for longer.
type Parser struct {
	s scanner
	// Problems lists the parts of the last parsed report that were rejected.
	Problems []Problem
}

// Reset releases the strings of all reports parsed so far, so that the
// arena's memory is reused. Call it when none of them is in use any more.
func (p *Parser) Reset() { p.s.arena = p.s.arena[:0] }

// ErrInvalidID is the cause of rejecting a whole line whose id is missing,
// empty or not a string.
var ErrInvalidID = errors.New("invalid id")

// Parse decodes one line into r, reusing r's slices. It returns an error when
// the whole line must be rejected (not a JSON object, or no valid id); parts
// that are rejected on their own are listed in p.Problems and left out of r.
func (p *Parser) Parse(line []byte, r *seams.Report) error {
	s := &p.s
	s.data, s.pos = line, 0
	p.Problems = p.Problems[:0]
	*r = seams.Report{IPs: r.IPs[:0], Devices: r.Devices[:0]}

	var (
		id         []byte
		idKind     kind
		receivedAt int = -1 // position of the received value, parsed last
		received   []byte
		receivedK  kind
	)
	if err := s.consume('{', "a report is a JSON object"); err != nil {
		return err
	}
	s.ws()
	if s.peek() == '}' {
		s.pos++
	} else {
		for {
			s.ws()
			if s.peek() != '"' {
				return s.syntaxError("expected a string key")
			}
			key, err := s.reportKey()
			if err != nil {
				return err
			}
			s.ws()
			switch key {
			case reportID:
				idKind = s.kind()
				id = nil
				if idKind == kString {
					if id, err = s.str(); err != nil {
						return err
					}
				} else if err := s.skip(); err != nil {
					return err
				}
			case reportReceived:
				receivedAt, receivedK, received = s.pos, s.kind(), nil
				if receivedK == kString {
					if received, err = s.str(); err != nil {
						return err
					}
				} else if err := s.skip(); err != nil {
					return err
				}
			case reportIncident:
				p.dropProblems("incident", -1)
				r.Incident = ""
				start := s.pos
				switch s.kind() {
				case kString:
					b, err := s.str()
					if err != nil {
						return err
					}
					r.Incident = bytesString(b)
				case kNull:
					if err := s.skip(); err != nil {
						return err
					}
				default:
					k := s.kind()
					if err := s.skip(); err != nil {
						return err
					}
					p.problem("incident", -1, line[start:s.pos], "expected a string, got %s", k)
				}
			case reportIPs:
				// A repeated key replaces the earlier value, as in encoding/json.
				r.IPs = r.IPs[:0]
				p.dropProblems("ips", -2)
				if err := p.array(r, "ips", true); err != nil {
					return err
				}
			case reportDevices:
				r.Devices = r.Devices[:0]
				p.dropProblems("devices", -2)
				if err := p.array(r, "devices", false); err != nil {
					return err
				}
			default:
				if err := s.skip(); err != nil {
					return err
				}
			}
			s.ws()
			if s.peek() == ',' {
				s.pos++
				continue
			}
			if s.peek() == '}' {
				s.pos++
				break
			}
			return s.syntaxError("expected ',' or '}' after a value")
		}
	}
	s.ws()
	if s.pos != len(line) {
		return s.syntaxError("text after the report object")
	}

	switch {
	case idKind == 0:
		return fmt.Errorf("%w: missing \"id\"", ErrInvalidID)
	case idKind != kString:
		return fmt.Errorf("%w: \"id\" is %s, not a string", ErrInvalidID, idKind)
	case len(id) == 0:
		return fmt.Errorf("%w: \"id\" is empty", ErrInvalidID)
	}
	r.ID = bytesString(id)

	if receivedAt >= 0 {
		switch receivedK {
		case kString:
			if len(received) > 0 {
				t, err := seams.ParseTime(bytesString(received))
				if err != nil {
					p.problem("received", -1, rawValue(line, receivedAt), "%v", err)
				} else {
					r.Received = t
				}
			}
		case kNull:
		default:
			p.problem("received", -1, rawValue(line, receivedAt), "expected a string, got %s", receivedK)
		}
	}
	return nil
}

// The members of a report, an ip event and a device that the parser reads;
// memberOther is any other key, whose value is skipped.
const (
	memberOther = iota
	reportID
	reportReceived
	reportIncident
	reportIPs
	reportDevices
	eventIP
	eventAt
	eventEvent
	eventPort
	eventProxy
	eventAssociated
	deviceType
	deviceValue
	deviceAt
	deviceAssociated
)

var (
	keyID       = newKeyPattern("id")
	keyReceived = newKeyPattern("received")
	keyIncident = newKeyPattern("incident")
	keyIPs      = newKeyPattern("ips")
	keyDevices  = newKeyPattern("devices")
	keyIP       = newKeyPattern("ip")
	keyAt       = newKeyPattern("at")
	keyEvent    = newKeyPattern("event")
	keyPort     = newKeyPattern("port")
	keyProxy    = newKeyPattern("proxy")
	keyType     = newKeyPattern("type")
	keyValue    = newKeyPattern("value")
)

// reportKey reads the key of a report member and the ':' after it. The
// compact spelling of a known key is matched by its first bytes; anything
// else is decoded and compared.
func (s *scanner) reportKey() (int, error) {
	if w, ok := s.word(); ok {
		switch byte(w >> 8) {
		case 'i':
			if s.matchKey(w, &keyID) {
				return reportID, nil
			}
			if s.matchKey(w, &keyIPs) {
				return reportIPs, nil
			}
			if s.matchKey(w, &keyIncident) {
				return reportIncident, nil
			}
		case 'r':
			if s.matchKey(w, &keyReceived) {
				return reportReceived, nil
			}
		case 'd':
			if s.matchKey(w, &keyDevices) {
				return reportDevices, nil
			}
		}
	}
	key, err := s.key()
	if err != nil {
		return 0, err
	}
	switch string(key) {
	case "id":
		return reportID, nil
	case "received":
		return reportReceived, nil
	case "incident":
		return reportIncident, nil
	case "ips":
		return reportIPs, nil
	case "devices":
		return reportDevices, nil
	}
	return memberOther, nil
}

// eventKey reads the key of an ip event member and the ':' after it.
func (s *scanner) eventKey() (int, error) {
	if w, ok := s.word(); ok {
		switch byte(w >> 8) {
		case 'i':
			if s.matchKey(w, &keyIP) {
				return eventIP, nil
			}
		case 'a':
			if s.matchKey(w, &keyAt) {
				return eventAt, nil
			}
		case 'e':
			if s.matchKey(w, &keyEvent) {
				return eventEvent, nil
			}
		case 'p':
			if s.matchKey(w, &keyPort) {
				return eventPort, nil
			}
			if s.matchKey(w, &keyProxy) {
				return eventProxy, nil
			}
		}
	}
	key, err := s.key()
	if err != nil {
		return 0, err
	}
	switch string(key) {
	case "ip":
		return eventIP, nil
	case "at":
		return eventAt, nil
	case "event":
		return eventEvent, nil
	case "port":
		return eventPort, nil
	case "proxy":
		return eventProxy, nil
	case "associated":
		return eventAssociated, nil
	}
	return memberOther, nil
}

// deviceKey reads the key of a device member and the ':' after it.
func (s *scanner) deviceKey() (int, error) {
	if w, ok := s.word(); ok {
		switch byte(w >> 8) {
		case 't':
			if s.matchKey(w, &keyType) {
				return deviceType, nil
			}
		case 'v':
			if s.matchKey(w, &keyValue) {
				return deviceValue, nil
			}
		case 'a':
			if s.matchKey(w, &keyAt) {
				return deviceAt, nil
			}
		}
	}
	key, err := s.key()
	if err != nil {
		return 0, err
	}
	switch string(key) {
	case "type":
		return deviceType, nil
	case "value":
		return deviceValue, nil
	case "at":
		return deviceAt, nil
	case "associated":
		return deviceAssociated, nil
	}
	return memberOther, nil
}

// rawValue returns the JSON text of the value starting at pos in line.
func rawValue(line []byte, pos int) []byte {
	s := scanner{data: line, pos: pos}
	if s.skip() != nil {
		return line[pos:]
	}
	return line[pos:s.pos]
}

// problem records a rejected part.
func (p *Parser) problem(field string, index int, raw []byte, format string, args ...any) {
	p.Problems = append(p.Problems, Problem{Field: field, Index: index, Raw: raw, Reason: fmt.Sprintf(format, args...)})
}

// dropProblems forgets the problems of a field whose key is repeated: the
// later value replaces the earlier one. index -2 drops all of the field.
func (p *Parser) dropProblems(field string, index int) {
	kept := p.Problems[:0]
	for _, q := range p.Problems {
		if q.Field != field || index != -2 && q.Index != index {
			kept = append(kept, q)
		}
	}
	p.Problems = kept
}

// array reads the value of "ips" (ips true) or "devices".
func (p *Parser) array(r *seams.Report, field string, ips bool) error {
	s := &p.s
	start := s.pos
	switch k := s.kind(); k {
	case kNull:
		return s.skip()
	case kArray:
	default:
		if err := s.skip(); err != nil {
			return err
		}
		p.problem(field, -1, s.data[start:s.pos], "expected an array, got %s", k)
		return nil
	}
	s.pos++ // [
	s.ws()
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		s.ws()
		var err error
		if ips {
			err = p.ipEvent(r, i)
		} else {
			err = p.device(r, i)
		}
		if err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.syntaxError("expected ',' or ']' in " + field)
		}
	}
}

// field is a member of an event object: what kind its value is, or kind 0
// when absent, and the value.
type field struct {
	k    kind
	text []byte // decoded, for strings; as written, for numbers
}

// member reads the value of an object member we care about.
func (s *scanner) member(f *field) error {
	*f = field{k: s.kind()}
	var err error
	switch f.k {
	case kString:
		f.text, err = s.str()
	case kNumber:
		f.text, err = s.number()
	default:
		err = s.skip()
	}
	return err
}

// objectOpen steps into the object at the current position; it reports
// whether a member follows, or steps over the '}' of an empty object.
func (s *scanner) objectOpen() bool {
	s.pos++ // {
	s.ws()
	if s.peek() == '}' {
		s.pos++
		return false
	}
	return true
}

// objectNext steps over what follows a member's value: ',' (more is true)
// or the closing '}'.
func (s *scanner) objectNext() (more bool, err error) {
	s.ws()
	switch s.peek() {
	case ',':
		s.pos++
		return true, nil
	case '}':
		s.pos++
		return false, nil
	}
	return false, s.syntaxError("expected ',' or '}' after a value")
}

// ipEvent reads element i of "ips" and appends it to r, or records why not.
func (p *Parser) ipEvent(r *seams.Report, i int) error {
	n := len(r.IPs)
	r.IPs = append(r.IPs, seams.IPEvent{})
	if end, ok := ipEventCompact(p.s.data, p.s.pos, &r.IPs[n]); ok {
		p.s.pos = end
		return nil
	}
	r.IPs = r.IPs[:n]
	return p.ipEventGeneral(r, i)
}

// ipEventGeneral is ipEvent for objects of any shape.
func (p *Parser) ipEventGeneral(r *seams.Report, i int) error {
	s := &p.s
	start := s.pos
	if s.kind() != kObject {
		k := s.kind()
		if err := s.skip(); err != nil {
			return err
		}
		p.problem("ips", i, s.data[start:s.pos], "expected an object, got %s", k)
		return nil
	}
	var ip, at, event, port, proxy, assoc field
	for more := s.objectOpen(); more; {
		s.ws()
		if s.peek() != '"' {
			return s.syntaxError("expected a string key")
		}
		key, err := s.eventKey()
		if err != nil {
			return err
		}
		s.ws()
		switch key {
		case eventIP:
			err = s.member(&ip)
		case eventAt:
			err = s.member(&at)
		case eventEvent:
			err = s.member(&event)
		case eventPort:
			err = s.member(&port)
		case eventProxy:
			err = s.member(&proxy)
		case eventAssociated:
			err = s.member(&assoc)
		default:
			err = s.skip()
		}
		if err != nil {
			return err
		}
		if more, err = s.objectNext(); err != nil {
			return err
		}
	}
	raw := s.data[start:s.pos]
	var e seams.IPEvent
	switch ip.k {
	case 0, kNull:
		p.problem("ips", i, raw, "missing \"ip\"")
		return nil
	case kString:
		a, ok := parseAddr(ip.text)
		if !ok {
			p.problem("ips", i, raw, "invalid IP address %q", ip.text)
			return nil
		}
		e.Addr = a
	default:
		p.problem("ips", i, raw, "ip: expected a string, got %s", ip.k)
		return nil
	}
	// at is optional: an event without a time (absent, null or "") is
	// kept with a zero At, and can make a potential finding only (rule
	// ip-undated), as in the other report formats.
	switch at.k {
	case 0, kNull:
	case kString:
		if len(at.text) > 0 {
			t, err := seams.ParseTime(bytesString(at.text))
			if err != nil {
				p.problem("ips", i, raw, "at: %v", err)
				return nil
			}
			e.At = t
		}
	default:
		p.problem("ips", i, raw, "at: expected a string, got %s", at.k)
		return nil
	}
	switch event.k {
	case 0, kNull:
	case kString:
		e.Event = bytesString(event.text)
	default:
		p.problem("ips", i, raw, "event: expected a string, got %s", event.k)
		return nil
	}
	switch port.k {
	case 0, kNull:
	case kNumber:
		n, err := strconv.ParseUint(bytesString(port.text), 10, 16)
		if err != nil {
			p.problem("ips", i, raw, "invalid port %s (want an integer 0-65535)", port.text)
			return nil
		}
		e.Port = int(n)
	default:
		p.problem("ips", i, raw, "port: expected a number, got %s", port.k)
		return nil
	}
	switch proxy.k {
	case 0, kNull, kFalse:
	case kTrue:
		e.Proxy = true
	default:
		p.problem("ips", i, raw, "proxy: expected true or false, got %s", proxy.k)
		return nil
	}
	switch assoc.k {
	case 0, kNull, kFalse:
	case kTrue:
		e.Associated = true
	default:
		p.problem("ips", i, raw, "associated: expected true or false, got %s", assoc.k)
		return nil
	}
	r.IPs = append(r.IPs, e)
	return nil
}

// Patterns for ipEventCompact and deviceCompact: the compact spelling of
// each member's key with the '{' or ',' before it and, for a string value,
// the opening quote after it.
var (
	openIP    = newPattern(`{"ip":"`)
	nextAt    = newPattern(`,"at":"`)
	nextEvent = newPattern(`,"event":"`)
	nextPort  = newPattern(`,"port":`)
	nextProxy = newPattern(`,"proxy":`)
	openType  = newPattern(`{"type":"`)
	nextValue = newPattern(`,"value":"`)
	litFalse  = newPattern(`false`)
	litTrue   = newPattern(`true`)
)

// ipEventCompact decodes the ip event object at d[i] into e (which must be
// zero) when it has the shape that nearly every producer writes: no
// whitespace, "ip" first, then "at", then any of "event", "port" and
// "proxy" in that order, each once, and no other member; "ip" a string
// without escapes that is an address, "at" one that is a valid time,
// "event" a string without escapes, "port" a plain integer 0-65535, "proxy"
// true or false. It returns the index after the object, having decoded it
// exactly as the general path would. For anything else ok is false: the
// general path then reads the object, with every rule and message.
//
// It keeps its place in a local index rather than in the scanner, so that
// the common event costs a few word compares besides its values.
func ipEventCompact(d []byte, i int, e *seams.IPEvent) (end int, ok bool) {
	if !openIP.at(d, i) {
		return 0, false
	}
	i += len(openIP.text)
	if a, j, ok := parseIPv4Quoted(d, i); ok {
		e.Addr, i = a, j
	} else {
		j, ok := plainString(d, i)
		if !ok {
			return 0, false
		}
		if e.Addr, ok = parseAddr(d[i:j]); !ok {
			return 0, false
		}
		i = j + 1
	}

	if !nextAt.at(d, i) {
		return 0, false
	}
	i += len(nextAt.text)
	j, ok := plainString(d, i)
	if !ok {
		return 0, false
	}
	t, err := seams.ParseTime(bytesString(d[i:j]))
	if err != nil {
		return 0, false
	}
	e.At, i = t, j+1

	if nextEvent.at(d, i) {
		i += len(nextEvent.text)
		j, ok := plainString(d, i)
		if !ok {
			return 0, false
		}
		e.Event, i = bytesString(d[i:j]), j+1
	}
	if nextPort.at(d, i) {
		i += len(nextPort.text)
		j, n := i, 0
		for ; j < len(d) && j-i < 6 && '0' <= d[j] && d[j] <= '9'; j++ {
			n = n*10 + int(d[j]-'0')
		}
		// One to five digits without a leading zero; a longer number, a
		// fraction or an exponent is left to the general path.
		if j == i || j-i > 5 || d[i] == '0' && j-i > 1 || n > 65535 {
			return 0, false
		}
		e.Port, i = n, j
	}
	if nextProxy.at(d, i) {
		i += len(nextProxy.text)
		switch {
		case litFalse.at(d, i):
			i += len(litFalse.text)
		case litTrue.at(d, i):
			e.Proxy, i = true, i+len(litTrue.text)
		default:
			return 0, false
		}
	}
	if i >= len(d) || d[i] != '}' {
		return 0, false
	}
	return i + 1, true
}

// deviceCompact is ipEventCompact for a device: "type", "value" and
// optionally "at", in that order, all strings without escapes, with a type
// and value that NewReportDeviceID takes and a valid or empty time.
func deviceCompact(d []byte, i int, dev *seams.Device) (end int, ok bool) {
	if !openType.at(d, i) {
		return 0, false
	}
	i += len(openType.text)
	typEnd, ok := plainString(d, i)
	if !ok {
		return 0, false
	}
	typ := bytesString(d[i:typEnd])
	i = typEnd + 1
	if !nextValue.at(d, i) {
		return 0, false
	}
	i += len(nextValue.text)
	valueEnd, ok := plainString(d, i)
	if !ok {
		return 0, false
	}
	value := bytesString(d[i:valueEnd])
	i = valueEnd + 1
	if nextAt.at(d, i) {
		i += len(nextAt.text)
		j, ok := plainString(d, i)
		if !ok {
			return 0, false
		}
		if j > i {
			t, err := seams.ParseTime(bytesString(d[i:j]))
			if err != nil {
				return 0, false
			}
			dev.At = t
		}
		i = j + 1
	}
	if i >= len(d) || d[i] != '}' {
		return 0, false
	}
	id, err := seams.NewReportDeviceID(typ, value)
	if err != nil {
		return 0, false
	}
	dev.ID = id
	return i + 1, true
}

// device reads element i of "devices" and appends it to r, or records why not.
func (p *Parser) device(r *seams.Report, i int) error {
	n := len(r.Devices)
	r.Devices = append(r.Devices, seams.Device{})
	if end, ok := deviceCompact(p.s.data, p.s.pos, &r.Devices[n]); ok {
		p.s.pos = end
		return nil
	}
	r.Devices = r.Devices[:n]
	return p.deviceGeneral(r, i)
}

// deviceGeneral is device for objects of any shape.
func (p *Parser) deviceGeneral(r *seams.Report, i int) error {
	s := &p.s
	start := s.pos
	if s.kind() != kObject {
		k := s.kind()
		if err := s.skip(); err != nil {
			return err
		}
		p.problem("devices", i, s.data[start:s.pos], "expected an object, got %s", k)
		return nil
	}
	var typ, value, at, assoc field
	for more := s.objectOpen(); more; {
		s.ws()
		if s.peek() != '"' {
			return s.syntaxError("expected a string key")
		}
		key, err := s.deviceKey()
		if err != nil {
			return err
		}
		s.ws()
		switch key {
		case deviceType:
			err = s.member(&typ)
		case deviceValue:
			err = s.member(&value)
		case deviceAt:
			err = s.member(&at)
		case deviceAssociated:
			err = s.member(&assoc)
		default:
			err = s.skip()
		}
		if err != nil {
			return err
		}
		if more, err = s.objectNext(); err != nil {
			return err
		}
	}
	raw := s.data[start:s.pos]
	if !p.requiredString(&typ, "type", i, raw) || !p.requiredString(&value, "value", i, raw) {
		return nil
	}
	id, err := seams.NewReportDeviceID(bytesString(typ.text), bytesString(value.text))
	if err != nil {
		p.problem("devices", i, raw, "%v", err)
		return nil
	}
	d := seams.Device{ID: id}
	switch at.k {
	case 0, kNull:
	case kString:
		if len(at.text) > 0 {
			t, err := seams.ParseTime(bytesString(at.text))
			if err != nil {
				p.problem("devices", i, raw, "at: %v", err)
				return nil
			}
			d.At = t
		}
	default:
		p.problem("devices", i, raw, "at: expected a string, got %s", at.k)
		return nil
	}
	switch assoc.k {
	case 0, kNull, kFalse:
	case kTrue:
		d.Associated = true
	default:
		p.problem("devices", i, raw, "associated: expected true or false, got %s", assoc.k)
		return nil
	}
	r.Devices = append(r.Devices, d)
	return nil
}

// requiredString checks that a required member of device i is a string,
// recording the problem if not.
func (p *Parser) requiredString(f *field, name string, i int, raw []byte) bool {
	switch f.k {
	case kString:
		return true
	case 0, kNull:
		p.problem("devices", i, raw, "missing %q", name)
	default:
		p.problem("devices", i, raw, "%s: expected a string, got %s", name, f.k)
	}
	return false
}

// parseAddr parses an address without allocating for IPv4, the common case,
// and normalizes it (IPv4-mapped to IPv4, zone dropped).
func parseAddr(b []byte) (netip.Addr, bool) {
	if a, ok := parseIPv4(b); ok {
		return a, true
	}
	a, err := netip.ParseAddr(bytesString(b))
	if err != nil {
		return netip.Addr{}, false
	}
	return seams.NormalizeAddr(a), true
}

// parseIPv4Quoted parses a plain dotted quad that starts at d[i] and ends
// with a closing quote, returning the index after the quote. It accepts
// only what parseIPv4 accepts, and only strings of digits and dots, which
// need no decoding; ok false leaves the string to the general path. Each
// field is read as three bytes at once and its length chosen without a
// branch, since the lengths of real addresses' fields are too random for
// branch prediction.
func parseIPv4Quoted(d []byte, i int) (a netip.Addr, end int, ok bool) {
	var out [4]byte
	for f := range 4 {
		if len(d)-i < 4 { // near the end of the line: the general path
			return netip.Addr{}, 0, false
		}
		c0, c1, c2 := uint64(d[i]-'0'), uint64(d[i+1]-'0'), uint64(d[i+2]-'0')
		// m1 is 1 when the field has a second digit, m2 when a third:
		// x-10 wraps to a number with the top bit set exactly when x <= 9.
		m1 := (c1 - 10) >> 63
		m2 := m1 & ((c2 - 10) >> 63)
		n := int(1 + m1 + m2)
		v := c0 + m1*(9*c0+c1) + m2*(90*c0+9*c1+c2) // c0, c0c1 or c0c1c2
		if c0 > 9 || c0 == 0 && n > 1 || v > 255 {  // not a digit, a leading zero, or out of range
			return netip.Addr{}, 0, false
		}
		out[f] = byte(v)
		i += n
		sep := byte('.')
		if f == 3 {
			sep = '"'
		}
		if d[i] != sep {
			return netip.Addr{}, 0, false
		}
		i++
	}
	return netip.AddrFrom4(out), i, true
}

// parseIPv4 parses dotted-quad IPv4 with the rules of netip.ParseAddr (four
// decimal fields 0-255, no leading zeros); ok is false for anything else,
// which is then left to netip.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var out [4]byte
	field, val, digits := 0, 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case '0' <= c && c <= '9':
			if digits == 1 && val == 0 {
				return netip.Addr{}, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return netip.Addr{}, false
			}
			out[field] = byte(val)
			field, val, digits = field+1, 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	out[3] = byte(val)
	return netip.AddrFrom4(out), true
}
