// Package jsonl reads reports from JSON Lines and writes findings and
// rejections as JSON Lines.
//
// The report reader is a scanner written for the report schema: one pass
// over the bytes of a line, no generic map, no reflection, and no allocation
// per event in the steady state. It keeps every rule of the contract, and its
// fuzz test holds it equal to a plain encoding/json decoder.
package jsonl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

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
			key, err := s.str()
			if err != nil {
				return err
			}
			if err := s.consume(':', "expected ':' after key"); err != nil {
				return err
			}
			s.ws()
			switch string(key) {
			case "id":
				idKind = s.kind()
				id = nil
				if idKind == kString {
					if id, err = s.str(); err != nil {
						return err
					}
				} else if err := s.skip(); err != nil {
					return err
				}
			case "received":
				receivedAt, receivedK, received = s.pos, s.kind(), nil
				if receivedK == kString {
					if received, err = s.str(); err != nil {
						return err
					}
				} else if err := s.skip(); err != nil {
					return err
				}
			case "incident":
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
			case "ips":
				// A repeated key replaces the earlier value, as in encoding/json.
				r.IPs = r.IPs[:0]
				p.dropProblems("ips", -2)
				if err := p.array(r, "ips"); err != nil {
					return err
				}
			case "devices":
				r.Devices = r.Devices[:0]
				p.dropProblems("devices", -2)
				if err := p.array(r, "devices"); err != nil {
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

// array reads the value of "ips" or "devices".
func (p *Parser) array(r *seams.Report, field string) error {
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
		if field == "ips" {
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

// field is a member of an event object: where its value starts and what
// kind it is, or kind 0 when absent.
type field struct {
	k   kind
	str []byte // decoded, for strings
	num []byte // text, for numbers
}

// member reads the value of an object member we care about.
func (s *scanner) member(f *field) error {
	*f = field{k: s.kind()}
	var err error
	switch f.k {
	case kString:
		f.str, err = s.str()
	case kNumber:
		f.num, err = s.number()
	default:
		err = s.skip()
	}
	return err
}

// object iterates the members of an object at the current position, calling
// set for each key; set reads the value (or skips it).
func (s *scanner) object(set func(key []byte) error) error {
	s.pos++ // {
	s.ws()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if s.peek() != '"' {
			return s.syntaxError("expected a string key")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.consume(':', "expected ':' after key"); err != nil {
			return err
		}
		s.ws()
		if err := set(key); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.syntaxError("expected ',' or '}' after a value")
		}
	}
}

// ipEvent reads element i of "ips" and appends it to r, or records why not.
func (p *Parser) ipEvent(r *seams.Report, i int) error {
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
	var ip, at, event, port, proxy field
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "ip":
			return s.member(&ip)
		case "at":
			return s.member(&at)
		case "event":
			return s.member(&event)
		case "port":
			return s.member(&port)
		case "proxy":
			return s.member(&proxy)
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	raw := s.data[start:s.pos]
	var e seams.IPEvent
	switch ip.k {
	case 0, kNull:
		p.problem("ips", i, raw, "missing \"ip\"")
		return nil
	case kString:
		a, ok := parseAddr(ip.str)
		if !ok {
			p.problem("ips", i, raw, "invalid IP address %q", ip.str)
			return nil
		}
		e.Addr = a
	default:
		p.problem("ips", i, raw, "ip: expected a string, got %s", ip.k)
		return nil
	}
	var ok bool
	if e.At, ok = p.requiredTime(&at, "ips", i, raw); !ok {
		return nil
	}
	switch event.k {
	case 0, kNull:
	case kString:
		e.Event = bytesString(event.str)
	default:
		p.problem("ips", i, raw, "event: expected a string, got %s", event.k)
		return nil
	}
	switch port.k {
	case 0, kNull:
	case kNumber:
		n, err := strconv.ParseUint(bytesString(port.num), 10, 16)
		if err != nil {
			p.problem("ips", i, raw, "invalid port %s (want an integer 0-65535)", port.num)
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
	r.IPs = append(r.IPs, e)
	return nil
}

// requiredTime decodes a required RFC 3339 member.
func (p *Parser) requiredTime(f *field, list string, i int, raw []byte) (time.Time, bool) {
	switch f.k {
	case 0, kNull:
		p.problem(list, i, raw, "missing \"at\"")
		return time.Time{}, false
	case kString:
		t, err := seams.ParseTime(bytesString(f.str))
		if err != nil {
			p.problem(list, i, raw, "at: %v", err)
			return time.Time{}, false
		}
		return t, true
	}
	p.problem(list, i, raw, "at: expected a string, got %s", f.k)
	return time.Time{}, false
}

// device reads element i of "devices" and appends it to r, or records why not.
func (p *Parser) device(r *seams.Report, i int) error {
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
	var typ, value, at field
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "type":
			return s.member(&typ)
		case "value":
			return s.member(&value)
		case "at":
			return s.member(&at)
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	raw := s.data[start:s.pos]
	if !p.requiredString(&typ, "type", i, raw) || !p.requiredString(&value, "value", i, raw) {
		return nil
	}
	id, err := seams.NewReportDeviceID(bytesString(typ.str), bytesString(value.str))
	if err != nil {
		p.problem("devices", i, raw, "%v", err)
		return nil
	}
	d := seams.Device{ID: id}
	switch at.k {
	case 0, kNull:
	case kString:
		if len(at.str) > 0 {
			t, err := seams.ParseTime(bytesString(at.str))
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
