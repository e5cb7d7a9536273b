package seams

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// Report is the metadata of one report to a hotline: who filed it does not
// matter here, only the suspect's IP capture events and device identifiers.
// seams never holds a report's content.
type Report struct {
	ID       string    // unique across all report inputs of a run
	Received time.Time // zero if not given
	Incident string    // e.g. "sextortion"; empty if not given
	IPs      []IPEvent
	Devices  []Device
}

// IPEvent is one IP capture event: the suspect used Addr at At.
type IPEvent struct {
	Addr netip.Addr // normalized (NormalizeAddr)
	// At is zero when the report did not say when (every report format
	// allows it): such an event can match only an ip indicator's exact
	// address, whatever its window, as potential evidence (RuleIPUndated).
	At    time.Time
	Event string // login, registration, upload...; empty if not given
	// Port is the source port; 0 means not given (port 0 is never a real
	// source port, so it is read as absent).
	Port  int
	Proxy bool // the reporter flagged the address as a possible proxy
	// Associated marks the event of an account the reporter associated
	// with the suspect (CyberTipline associatedAccount): it counts as the
	// suspect's, and findings say where it came from.
	Associated bool
}

// Device is a device identifier seen in a report, optionally with when.
type Device struct {
	ID DeviceID
	At time.Time // zero if not given
	// Associated marks a device of an account associated with the
	// suspect, as IPEvent.Associated.
	Associated bool
}

// DeviceID is a normalized device identifier: Type in lower case and Value,
// both trimmed of surrounding white space and neither empty.
type DeviceID struct {
	Type  string
	Value string
}

// String returns the identifier as TYPE:VALUE, the form indicators use.
func (d DeviceID) String() string { return d.Type + ":" + d.Value }

// ParseDeviceID parses TYPE:VALUE, splitting at the first colon.
func ParseDeviceID(s string) (DeviceID, error) {
	t, v, ok := strings.Cut(s, ":")
	if !ok {
		return DeviceID{}, fmt.Errorf("invalid device %q (want TYPE:VALUE, e.g. imei:358240051111110)", s)
	}
	d, err := NewDeviceID(t, v)
	if err != nil {
		return DeviceID{}, fmt.Errorf("invalid device %q: %w", s, err)
	}
	return d, nil
}

// Errors of NewDeviceID.
var (
	ErrEmptyDeviceType  = errors.New("device type is empty")
	ErrEmptyDeviceValue = errors.New("device value is empty")
	ErrDeviceTypeColon  = errors.New("device type contains ':'")
)

// NewDeviceID normalizes a device type and value: both are trimmed of white
// space, the type is lower-cased (types compare case-insensitively, values
// exactly). A type may not contain ':', since TYPE:VALUE splits at the first
// colon and the two spellings must never meet.
func NewDeviceID(typ, value string) (DeviceID, error) {
	typ = strings.TrimSpace(typ)
	value = strings.TrimSpace(value)
	switch {
	case typ == "":
		return DeviceID{}, ErrEmptyDeviceType
	case value == "":
		return DeviceID{}, ErrEmptyDeviceValue
	case strings.IndexByte(typ, ':') >= 0:
		return DeviceID{}, ErrDeviceTypeColon
	}
	return DeviceID{Type: lower(typ), Value: value}, nil
}

// NewReportDeviceID normalizes a device as a report gives it, in two
// fields: as NewDeviceID, except that a type containing ':' is accepted (the
// contract makes a report's device invalid only when its type or value is
// empty). Such a device can never equal an indicator's, whose type ends at
// the first colon of TYPE:VALUE; Matchable reports false for it, and
// matchers skip it rather than compare its ambiguous TYPE:VALUE text.
func NewReportDeviceID(typ, value string) (DeviceID, error) {
	d, err := NewDeviceID(typ, value)
	if err == ErrDeviceTypeColon {
		return DeviceID{Type: lower(strings.TrimSpace(typ)), Value: strings.TrimSpace(value)}, nil
	}
	return d, err
}

// Matchable reports whether d can equal an indicator's device: its type has
// no colon (see NewReportDeviceID).
func (d DeviceID) Matchable() bool { return strings.IndexByte(d.Type, ':') < 0 }

// lower is strings.ToLower without an allocation when s is already lower-case
// ASCII, the common case for device types.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// Equal reports whether r and o hold the same report: every field equal,
// times as instants (time.Time.Equal, so a location does not matter),
// addresses by value, and events and devices element by element, in
// order (a nil list equals an empty one). Tests that hold a stored or
// re-read report to the one given use it, so that a field a door drops
// fails them.
func (r *Report) Equal(o *Report) bool {
	if r.ID != o.ID || !r.Received.Equal(o.Received) || r.Incident != o.Incident ||
		len(r.IPs) != len(o.IPs) || len(r.Devices) != len(o.Devices) {
		return false
	}
	for i := range r.IPs {
		if !r.IPs[i].Equal(&o.IPs[i]) {
			return false
		}
	}
	for i := range r.Devices {
		if !r.Devices[i].Equal(&o.Devices[i]) {
			return false
		}
	}
	return true
}

// Equal reports whether e and o are the same event, as Report.Equal
// compares them.
func (e *IPEvent) Equal(o *IPEvent) bool {
	return e.Addr == o.Addr && e.At.Equal(o.At) && e.Event == o.Event && e.Port == o.Port &&
		e.Proxy == o.Proxy && e.Associated == o.Associated
}

// Equal reports whether d and o are the same device, as Report.Equal
// compares them.
func (d *Device) Equal(o *Device) bool {
	return d.ID == o.ID && d.At.Equal(o.At) && d.Associated == o.Associated
}

// Clone returns a deep copy of r whose strings and slices share nothing with
// r. Readers that reuse their buffers hand out reports valid only until the
// next read; Clone keeps one.
func (r *Report) Clone() Report {
	c := Report{
		ID:       strings.Clone(r.ID),
		Received: r.Received,
		Incident: strings.Clone(r.Incident),
		IPs:      make([]IPEvent, len(r.IPs)),
		Devices:  make([]Device, len(r.Devices)),
	}
	for i, e := range r.IPs {
		e.Event = strings.Clone(e.Event)
		c.IPs[i] = e
	}
	for i, d := range r.Devices {
		d.ID = DeviceID{strings.Clone(d.ID.Type), strings.Clone(d.ID.Value)}
		c.Devices[i] = d
	}
	return c
}
