package psi

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// Family is a kind of item: what is compared, at which granularity of
// time. A report's item and an indicator's item can be equal only within a
// family.
type Family uint8

// The families. Their values are part of every item (and so of every tag):
// never renumber them.
const (
	// FamilyIPDay is an address on a UTC day: a dated ip event, and each
	// day of an ip indicator's bounded window.
	FamilyIPDay Family = iota + 1
	// FamilyIPAny is an address, whatever the day: a dated ip event, and
	// an ip indicator whose window is open on a side or longer than
	// ExpandOptions.MaxWindowDays.
	FamilyIPAny
	// FamilyDeviceDay is a device on a UTC day: a dated report device,
	// and each day of a device indicator's bounded window.
	FamilyDeviceDay
	// FamilyDeviceAny is a device, whatever the day: a dated report
	// device, and a device indicator whose window is open or long.
	FamilyDeviceAny
	// FamilyDeviceUndated is a device seen without a time: an undated
	// report device, and every device indicator (xref matches an undated
	// device whatever the window), when the holder offers it.
	FamilyDeviceUndated

	familyLast = FamilyDeviceUndated
)

var familyNames = [...]string{FamilyIPDay: "ip-day", FamilyIPAny: "ip-any", FamilyDeviceDay: "device-day",
	FamilyDeviceAny: "device-any", FamilyDeviceUndated: "device-undated"}

// String returns the family's name: ip-day, ip-any, device-day, device-any
// or device-undated.
func (f Family) String() string {
	if f >= FamilyIPDay && f <= familyLast {
		return familyNames[f]
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

// ParseFamily parses a family's name.
func ParseFamily(s string) (Family, error) {
	for f := FamilyIPDay; f <= familyLast; f++ {
		if familyNames[f] == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown item family %q", s)
}

// Families is a set of families.
type Families uint8

// AllFamilies holds every family.
const AllFamilies = Families(1<<(familyLast+1) - 2)

// Has reports whether f is in s.
func (s Families) Has(f Family) bool { return s&(1<<f) != 0 }

// With returns s with f added.
func (s Families) With(f Family) Families { return s | 1<<f }

// Names returns the names of the families of s, in order.
func (s Families) Names() []string {
	out := []string{}
	for f := FamilyIPDay; f <= familyLast; f++ {
		if s.Has(f) {
			out = append(out, f.String())
		}
	}
	return out
}

// ParseFamilies parses a list of family names.
func ParseFamilies(names []string) (Families, error) {
	var s Families
	for _, n := range names {
		f, err := ParseFamily(n)
		if err != nil {
			return 0, err
		}
		s = s.With(f)
	}
	return s, nil
}

// Day is a UTC day, counted from 1970-01-01 (day 0).
type Day int32

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d-- // floor, for instants before 1970
	}
	return Day(d)
}

// Start returns the first instant of d.
func (d Day) Start() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String returns d as YYYY-MM-DD.
func (d Day) String() string { return d.Start().Format(time.DateOnly) }

// MaxItemLen bounds an item's length: the OPRF takes inputs of at most
// 65535 bytes. A device longer than that has no item (Expand counts it).
const MaxItemLen = 60000

// AppendIPDay appends the item of addr on day d: the family, the address as
// 16 bytes (an IPv4 address as IPv4-mapped IPv6, after NormalizeAddr, so
// that ::ffff:192.0.2.1 and 192.0.2.1 are one item, as xref compares
// them), and the day.
func AppendIPDay(b []byte, addr netip.Addr, d Day) []byte {
	b = appendAddr(append(b, byte(FamilyIPDay)), addr)
	return binary.BigEndian.AppendUint32(b, uint32(d))
}

// AppendIPAny appends the item of addr whatever the day.
func AppendIPAny(b []byte, addr netip.Addr) []byte {
	return appendAddr(append(b, byte(FamilyIPAny)), addr)
}

// AppendDeviceDay appends the item of device dev on day d: the family, the
// day, and the device as TYPE:VALUE (unambiguous: a matchable type has no
// colon).
func AppendDeviceDay(b []byte, dev seams.DeviceID, d Day) []byte {
	b = binary.BigEndian.AppendUint32(append(b, byte(FamilyDeviceDay)), uint32(d))
	return appendDevice(b, dev)
}

// AppendDevice appends the item of dev in family f, which must be
// FamilyDeviceAny or FamilyDeviceUndated.
func AppendDevice(b []byte, f Family, dev seams.DeviceID) []byte {
	return appendDevice(append(b, byte(f)), dev)
}

func appendAddr(b []byte, a netip.Addr) []byte {
	a16 := seams.NormalizeAddr(a).As16()
	return append(b, a16[:]...)
}

func appendDevice(b []byte, d seams.DeviceID) []byte {
	b = append(b, d.Type...)
	b = append(b, ':')
	return append(b, d.Value...)
}

// ItemString renders an item for people (tests, debugging): the family and
// what it holds. It never fails: an item it cannot read is shown in hex.
func ItemString(item []byte) string {
	if len(item) == 0 {
		return "(empty)"
	}
	f := Family(item[0])
	rest := item[1:]
	switch {
	case f == FamilyIPDay && len(rest) == 20:
		a := netip.AddrFrom16([16]byte(rest[:16])).Unmap()
		return fmt.Sprintf("%s %s %s", f, a, Day(binary.BigEndian.Uint32(rest[16:])))
	case f == FamilyIPAny && len(rest) == 16:
		return fmt.Sprintf("%s %s", f, netip.AddrFrom16([16]byte(rest)).Unmap())
	case f == FamilyDeviceDay && len(rest) > 4:
		return fmt.Sprintf("%s %s %s", f, rest[4:], Day(binary.BigEndian.Uint32(rest[:4])))
	case (f == FamilyDeviceAny || f == FamilyDeviceUndated) && strings.Contains(string(rest), ":"):
		return fmt.Sprintf("%s %s", f, rest)
	}
	return fmt.Sprintf("%x", item)
}
