package seams

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseStatus(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Status
		err  bool
	}{
		{"empty is the empty status", "", "", false},
		{"spaces only are the empty status", "  \t", "", false},
		{"active", "active", StatusActive, false},
		{"raided in mixed case with spaces", " Raided ", StatusRaided, false},
		{"closed in upper case", "CLOSED", StatusClosed, false},
		{"unknown", "unknown", StatusUnknown, false},
		{"a word not in the list", "open", "", true},
		{"a status with a trailing period", "active.", "", true},
		{"two statuses", "active;raided", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseStatus(c.in)
			if c.err {
				if err == nil {
					t.Fatalf("ParseStatus(%q) = %q, want an error", c.in, got)
				}
				if !strings.Contains(err.Error(), quote(c.in)) {
					t.Errorf("error %q does not quote the input %q", err, c.in)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseStatus(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestValidCompoundID(t *testing.T) {
	cases := []struct {
		name string
		id   string
		want bool
	}{
		{"one lower-case letter", "a", true},
		{"one upper-case letter", "Z", true},
		{"one digit", "7", true},
		{"a dot", ".", true},
		{"an underscore", "_", true},
		{"a hyphen", "-", true},
		{"every class together", "c-Jin.bei_01", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"65 characters", strings.Repeat("a", 65), false},
		{"64 characters of every class", strings.Repeat("aZ0._-", 10) + "abcd", true},
		{"empty", "", false},
		{"inner space", "c jinbei", false},
		{"leading space", " c-jinbei", false},
		{"trailing newline", "c-jinbei\n", false},
		{"tab", "c\tjinbei", false},
		{"accented letter", "c-café", false},
		{"non-Latin script", "កំពង់", false},
		{"fullwidth digit", "c-１", false},
		{"slash", "c/1", false},
		{"colon", "c:1", false},
		{"plus", "c+1", false},
		{"NUL byte", "c\x001", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ValidCompoundID(c.id); got != c.want {
				t.Errorf("ValidCompoundID(%q) = %v, want %v", c.id, got, c.want)
			}
		})
	}
}

func TestParseCountry(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string // "" for an error
	}{
		{"upper case", "KH", "KH"},
		{"lower case is upper-cased", "mm", "MM"},
		{"mixed case", "lA", "LA"},
		{"surrounding spaces trimmed", " th ", "TH"},
		{"user-assigned code passes", "XK", "XK"},
		{"empty", "", ""},
		{"one letter", "K", ""},
		{"three letters (alpha-3)", "KHM", ""},
		{"inner space", "K H", ""},
		{"digit", "K1", ""},
		{"numeric code", "11", ""},
		{"punctuation", "K-", ""},
		{"two-byte letter is not two letters", "é", ""},
		{"non-ASCII letters", "ÄÖ", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCountry(c.in)
			if c.want == "" {
				if err == nil {
					t.Fatalf("ParseCountry(%q) = %q, want an error", c.in, got)
				}
				if !strings.Contains(err.Error(), quote(c.in)) {
					t.Errorf("error %q does not quote the input %q", err, c.in)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseCountry(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Kind // 0 for an error
	}{
		{"ip", "ip", KindIP},
		{"IP in upper case", "IP", KindIP},
		{"cidr with spaces and mixed case", " Cidr ", KindCIDR},
		{"device", "device", KindDevice},
		{"DEVICE", "DEVICE", KindDevice},
		{"empty", "", 0},
		{"ipv4 is not a kind", "ipv4", 0},
		{"prefix is not a kind", "prefix", 0},
		{"imei is a device type, not a kind", "imei", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseKind(c.in)
			if c.want == 0 {
				if err == nil {
					t.Fatalf("ParseKind(%q) = %v, want an error", c.in, got)
				}
				if !strings.Contains(err.Error(), quote(c.in)) {
					t.Errorf("error %q does not quote the input %q", err, c.in)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseKind(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
			// The name round-trips.
			if again, err := ParseKind(got.String()); err != nil || again != got {
				t.Errorf("ParseKind(%q.String()) = %v, %v", got, again, err)
			}
		})
	}
	if s := Kind(0).String(); s != "unknown" {
		t.Errorf("Kind(0).String() = %q, want unknown", s)
	}
}

func TestParseIndicatorValue(t *testing.T) {
	cases := []struct {
		name  string
		kind  Kind
		in    string
		kindW Kind   // kind of the result; 0 when an error is wanted
		value string // canonical value, or a substring of the error
	}{
		// ip
		{"ip IPv4", KindIP, "203.0.113.7", KindIP, "203.0.113.7"},
		{"ip with surrounding spaces", KindIP, " 203.0.113.7 ", KindIP, "203.0.113.7"},
		{"ip IPv6 is lower-cased and compressed", KindIP, "2001:DB8:0:0::1", KindIP, "2001:db8::1"},
		{"ip IPv4-mapped becomes IPv4", KindIP, "::ffff:203.0.113.7", KindIP, "203.0.113.7"},
		{"ip IPv4-mapped in hex becomes IPv4", KindIP, "::ffff:cb00:7107", KindIP, "203.0.113.7"},
		{"ip IPv6 zone is dropped", KindIP, "2001:db8::1%eth0", KindIP, "2001:db8::1"},
		{"ip given as /32 is accepted", KindIP, "203.0.113.7/32", KindIP, "203.0.113.7"},
		{"ip given as /128 is accepted", KindIP, "2001:db8::1/128", KindIP, "2001:db8::1"},
		{"ip given as IPv4-mapped /128 becomes IPv4", KindIP, "::ffff:203.0.113.7/128", KindIP, "203.0.113.7"},
		{"ip given as /24 is refused with a hint", KindIP, "203.0.113.0/24", 0,
			"kind ip takes one address, not the prefix 203.0.113.0/24 (use kind cidr)"},
		{"ip given as IPv6 /64 is refused with a hint", KindIP, "2001:db8::/64", 0,
			"not the prefix 2001:db8::/64 (use kind cidr)"},
		{"ip given as /24 with host bits is refused", KindIP, "203.0.113.7/24", 0, `"203.0.113.7/24"`},
		{"ip not an address", KindIP, "N/A", 0, `invalid IP address "N/A"`},
		{"ip empty", KindIP, "", 0, `invalid IP address ""`},
		{"ip three octets", KindIP, "203.0.113", 0, `invalid IP address "203.0.113"`},
		{"ip leading zero", KindIP, "203.0.113.07", 0, `invalid IP address "203.0.113.07"`},
		{"ip octet over 255", KindIP, "203.0.113.256", 0, `invalid IP address "203.0.113.256"`},

		// cidr
		{"cidr IPv4", KindCIDR, "203.0.113.0/24", KindCIDR, "203.0.113.0/24"},
		{"cidr IPv6", KindCIDR, "2001:DB8::/48", KindCIDR, "2001:db8::/48"},
		{"cidr /32 becomes kind ip", KindCIDR, "203.0.113.7/32", KindIP, "203.0.113.7"},
		{"cidr /128 becomes kind ip", KindCIDR, "2001:db8::7/128", KindIP, "2001:db8::7"},
		{"cidr ::ffff:x.x.x.x/120 becomes an IPv4 /24", KindCIDR, "::ffff:203.0.113.0/120", KindCIDR, "203.0.113.0/24"},
		{"cidr ::ffff:x.x.x.x/128 becomes kind ip", KindCIDR, "::ffff:203.0.113.9/128", KindIP, "203.0.113.9"},
		{"cidr with host bits names the canonical prefix", KindCIDR, "203.0.113.7/24", 0,
			`prefix "203.0.113.7/24" has host bits set (did you mean 203.0.113.0/24?)`},
		{"cidr IPv6 with host bits names the canonical prefix", KindCIDR, "2001:db8::1/32", 0,
			"did you mean 2001:db8::/32?"},
		{"cidr without a length", KindCIDR, "203.0.113.7", 0, `invalid CIDR prefix "203.0.113.7" (no /length)`},
		{"cidr length too long", KindCIDR, "203.0.113.0/33", 0, `invalid CIDR prefix "203.0.113.0/33"`},
		{"cidr length not a number", KindCIDR, "203.0.113.0/x", 0, `invalid CIDR prefix "203.0.113.0/x"`},
		{"cidr covering IPv4-mapped space", KindCIDR, "::fffe:0:0/95", 0, "overlaps IPv4-mapped space ::ffff:0:0/96"},

		// Non-routable addresses, given as kind ip.
		{"ip 10/8 is private", KindIP, "10.1.2.3", 0, "address 10.1.2.3 is private: it cannot identify a place"},
		{"ip 172.16/12 is private", KindIP, "172.31.255.255", 0, "address 172.31.255.255 is private"},
		{"ip 192.168/16 is private", KindIP, "192.168.0.1", 0, "address 192.168.0.1 is private"},
		{"ip 127/8 is loopback", KindIP, "127.8.9.10", 0, "address 127.8.9.10 is loopback"},
		{"ip 169.254/16 is link-local", KindIP, "169.254.1.1", 0, "address 169.254.1.1 is link-local"},
		{"ip 224/4 is multicast", KindIP, "239.255.255.255", 0, "address 239.255.255.255 is multicast"},
		{"ip 0.0.0.0 is unspecified", KindIP, "0.0.0.0", 0, "address 0.0.0.0 is unspecified"},
		{"ip 100.64/10 is carrier-grade NAT", KindIP, "100.64.0.1", 0, "address 100.64.0.1 is carrier-grade NAT"},
		{"ip 100.127.255.255 is carrier-grade NAT", KindIP, "100.127.255.255", 0, "is carrier-grade NAT"},
		{"ip fc00::/7 is private", KindIP, "fd12:3456::1", 0, "address fd12:3456::1 is private"},
		{"ip ::1 is loopback", KindIP, "::1", 0, "address ::1 is loopback"},
		{"ip fe80::/10 is link-local", KindIP, "fe80::1", 0, "address fe80::1 is link-local"},
		{"ip ff00::/8 is multicast", KindIP, "ff02::1", 0, "address ff02::1 is multicast"},
		{"ip :: is unspecified", KindIP, "::", 0, "address :: is unspecified"},
		{"ip IPv4-mapped private is private", KindIP, "::ffff:10.0.0.1", 0, "address 10.0.0.1 is private"},
		{"ip 0.0.0.0/32 is unspecified", KindCIDR, "0.0.0.0/32", 0, "address 0.0.0.0 is unspecified"},
		{"cidr ::1/128 is loopback", KindCIDR, "::1/128", 0, "address ::1 is loopback"},

		// Non-routable blocks given as cidr, and prefixes that overlap them.
		{"cidr 10/8", KindCIDR, "10.0.0.0/8", 0, "prefix 10.0.0.0/8 overlaps private range 10.0.0.0/8: it cannot identify a place"},
		{"cidr inside 10/8", KindCIDR, "10.20.0.0/16", 0, "overlaps private range 10.0.0.0/8"},
		{"cidr 172.16/12", KindCIDR, "172.16.0.0/12", 0, "overlaps private range 172.16.0.0/12"},
		{"cidr 192.168/16", KindCIDR, "192.168.0.0/16", 0, "overlaps private range 192.168.0.0/16"},
		{"cidr 127/8", KindCIDR, "127.0.0.0/8", 0, "overlaps loopback range 127.0.0.0/8"},
		{"cidr 169.254/16", KindCIDR, "169.254.0.0/16", 0, "overlaps link-local range 169.254.0.0/16"},
		{"cidr 224/4", KindCIDR, "224.0.0.0/4", 0, "overlaps multicast range 224.0.0.0/4"},
		{"cidr 0/8 overlaps 0.0.0.0", KindCIDR, "0.0.0.0/8", 0, "overlaps unspecified range 0.0.0.0/32"},
		{"cidr 100.64/10", KindCIDR, "100.64.0.0/10", 0, "overlaps carrier-grade NAT range 100.64.0.0/10"},
		{"cidr fc00::/7", KindCIDR, "fc00::/7", 0, "overlaps private range fc00::/7"},
		{"cidr fe80::/10", KindCIDR, "fe80::/10", 0, "overlaps link-local range fe80::/10"},
		{"cidr ff00::/8", KindCIDR, "ff00::/8", 0, "overlaps multicast range ff00::/8"},
		{"cidr ::/127 overlaps :: and ::1", KindCIDR, "::/127", 0, "range ::"},
		{"cidr 8/5 overlaps 10/8", KindCIDR, "8.0.0.0/5", 0, "prefix 8.0.0.0/5 overlaps private range 10.0.0.0/8"},
		{"cidr 172/8 overlaps 172.16/12", KindCIDR, "172.0.0.0/8", 0, "overlaps private range 172.16.0.0/12"},
		{"cidr 100/8 overlaps carrier-grade NAT", KindCIDR, "100.0.0.0/8", 0, "overlaps carrier-grade NAT range"},
		{"cidr 0/0 overlaps everything", KindCIDR, "0.0.0.0/0", 0, "overlaps"},
		{"cidr ::/0 overlaps everything", KindCIDR, "::/0", 0, "overlaps"},
		{"cidr 192/8 overlaps 192.168/16", KindCIDR, "192.0.0.0/8", 0, "overlaps private range 192.168.0.0/16"},
		{"cidr fe00::/7 overlaps fe80::/10", KindCIDR, "fe00::/7", 0, "overlaps link-local range fe80::/10"},

		// Near misses and documentation ranges are accepted.
		{"ip just below 100.64/10", KindIP, "100.63.255.255", KindIP, "100.63.255.255"},
		{"ip just above 100.64/10", KindIP, "100.128.0.0", KindIP, "100.128.0.0"},
		{"ip just below 172.16/12", KindIP, "172.15.255.255", KindIP, "172.15.255.255"},
		{"ip just above 172.16/12", KindIP, "172.32.0.0", KindIP, "172.32.0.0"},
		{"cidr 11/8 beside 10/8", KindCIDR, "11.0.0.0/8", KindCIDR, "11.0.0.0/8"},
		{"cidr 100.128/9 beside 100.64/10", KindCIDR, "100.128.0.0/9", KindCIDR, "100.128.0.0/9"},
		{"cidr 2000::/3 global unicast", KindCIDR, "2000::/3", KindCIDR, "2000::/3"},
		{"documentation 192.0.2.0/24", KindCIDR, "192.0.2.0/24", KindCIDR, "192.0.2.0/24"},
		{"documentation 198.51.100.0/24", KindCIDR, "198.51.100.0/24", KindCIDR, "198.51.100.0/24"},
		{"documentation 203.0.113.0/24", KindCIDR, "203.0.113.0/24", KindCIDR, "203.0.113.0/24"},
		{"documentation 2001:db8::/32", KindCIDR, "2001:db8::/32", KindCIDR, "2001:db8::/32"},
		{"documentation address 192.0.2.1", KindIP, "192.0.2.1", KindIP, "192.0.2.1"},
		{"documentation address 198.51.100.255", KindIP, "198.51.100.255", KindIP, "198.51.100.255"},

		// device
		{"device", KindDevice, "imei:358240051111110", KindDevice, "imei:358240051111110"},
		{"device type lower-cased", KindDevice, "IMEI:358240051111110", KindDevice, "imei:358240051111110"},
		{"device spaces trimmed around both parts", KindDevice, " Imei : 358240051111110 ", KindDevice, "imei:358240051111110"},
		{"device value keeps its case", KindDevice, "idfa:AbC-def", KindDevice, "idfa:AbC-def"},
		{"device split at the first colon", KindDevice, "mac:00:1a:2b:3c:4d:5e", KindDevice, "mac:00:1a:2b:3c:4d:5e"},
		{"device value keeps inner spaces", KindDevice, "serial:A B", KindDevice, "serial:A B"},
		{"device without a colon", KindDevice, "358240051111110", 0, `invalid device "358240051111110" (want TYPE:VALUE`},
		{"device empty", KindDevice, "", 0, `invalid device ""`},
		{"device empty type", KindDevice, ":358240051111110", 0, "device type is empty"},
		{"device type only spaces", KindDevice, "  :358240051111110", 0, "device type is empty"},
		{"device empty value", KindDevice, "imei:", 0, "device value is empty"},
		{"device value only spaces", KindDevice, "imei: \t", 0, "device value is empty"},

		// kind
		{"kind zero", 0, "203.0.113.7", 0, "unknown kind 0"},
		{"kind out of range", Kind(9), "203.0.113.7", 0, "unknown kind 9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseIndicatorValue(c.kind, c.in)
			if c.kindW == 0 {
				if err == nil {
					t.Fatalf("ParseIndicatorValue(%v, %q) = %v %q, want an error", c.kind, c.in, got.Kind, got.Value)
				}
				if !strings.Contains(err.Error(), c.value) {
					t.Fatalf("ParseIndicatorValue(%v, %q) error %q, want it to contain %q", c.kind, c.in, err, c.value)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIndicatorValue(%v, %q): %v", c.kind, c.in, err)
			}
			if got.Kind != c.kindW || got.Value != c.value {
				t.Fatalf("ParseIndicatorValue(%v, %q) = %v %q, want %v %q", c.kind, c.in, got.Kind, got.Value, c.kindW, c.value)
			}
			// The typed field agrees with the canonical text, and the text
			// parses back to the same indicator.
			switch got.Kind {
			case KindIP:
				if got.Addr.String() != got.Value || got.Addr.Zone() != "" || got.Addr.Is4In6() {
					t.Errorf("Addr = %v, want %s, unmapped and without zone", got.Addr, got.Value)
				}
				if got.Prefix.IsValid() || got.Device != (DeviceID{}) {
					t.Errorf("kind ip has Prefix %v, Device %v", got.Prefix, got.Device)
				}
			case KindCIDR:
				if got.Prefix.String() != got.Value || got.Prefix.Masked() != got.Prefix {
					t.Errorf("Prefix = %v, want %s, masked", got.Prefix, got.Value)
				}
				if got.Addr.IsValid() || got.Device != (DeviceID{}) {
					t.Errorf("kind cidr has Addr %v, Device %v", got.Addr, got.Device)
				}
			case KindDevice:
				if got.Device.String() != got.Value {
					t.Errorf("Device = %v, want %s", got.Device, got.Value)
				}
			}
			again, err := ParseIndicatorValue(got.Kind, got.Value)
			if err != nil || again.Kind != got.Kind || again.Value != got.Value {
				t.Errorf("canonical value %q does not parse back: %v %q, %v", got.Value, again.Kind, again.Value, err)
			}
		})
	}
}

func TestParseConfidence(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want float64
		ok   bool
		err  bool
	}{
		{"empty is absent", "", 0, false, false},
		{"spaces are absent", "   ", 0, false, false},
		{"low", "low", 0.15, true, false},
		{"medium in mixed case", "Medium", 0.5, true, false},
		{"high in upper case with spaces", " HIGH ", 0.85, true, false},
		{"lower bound 0", "0", 0, true, false},
		{"upper bound 1", "1", 1, true, false},
		{"1.0", "1.0", 1, true, false},
		{"a half", "0.5", 0.5, true, false},
		{"leading dot", ".25", 0.25, true, false},
		{"exponent", "1e-3", 0.001, true, false},
		{"negative zero gives positive zero", "-0", 0, true, false},
		{"negative zero with decimals gives positive zero", "-0.000", 0, true, false},
		{"just above 1", "1.0001", 0, false, true},
		{"just below 0", "-0.0001", 0, false, true},
		{"percent scale", "85", 0, false, true},
		{"NaN", "NaN", 0, false, true},
		{"nan in lower case", "nan", 0, false, true},
		{"Inf", "Inf", 0, false, true},
		{"+Inf", "+Inf", 0, false, true},
		{"-Inf", "-Inf", 0, false, true},
		{"infinity", "infinity", 0, false, true},
		{"a word not in the list", "certain", 0, false, true},
		{"percent sign", "50%", 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := ParseConfidence(c.in)
			if c.err {
				if err == nil {
					t.Fatalf("ParseConfidence(%q) = %v, %v; want an error", c.in, got, ok)
				}
				if !strings.Contains(err.Error(), quote(c.in)) {
					t.Errorf("error %q does not quote the input %q", err, c.in)
				}
				if ok {
					t.Errorf("ParseConfidence(%q): ok with an error", c.in)
				}
				return
			}
			if err != nil || ok != c.ok || got != c.want {
				t.Fatalf("ParseConfidence(%q) = %v, %v, %v; want %v, %v", c.in, got, ok, err, c.want, c.ok)
			}
			if math.Signbit(got) {
				t.Errorf("ParseConfidence(%q) = -0, want +0", c.in)
			}
		})
	}
}

func TestDeviceID(t *testing.T) {
	cases := []struct {
		name     string
		typ, val string
		want     DeviceID
		err      error
	}{
		{"plain", "imei", "358240051111110", DeviceID{"imei", "358240051111110"}, nil},
		{"type lower-cased", "IMEI", "358240051111110", DeviceID{"imei", "358240051111110"}, nil},
		{"non-ASCII type lower-cased", "ÄDID", "x", DeviceID{"ädid", "x"}, nil},
		{"both trimmed", " idfa\t", " AbC ", DeviceID{"idfa", "AbC"}, nil},
		{"value keeps case and colons", "mac", "00:1A:2b", DeviceID{"mac", "00:1A:2b"}, nil},
		{"empty type", "", "x", DeviceID{}, ErrEmptyDeviceType},
		{"type only spaces", "  ", "x", DeviceID{}, ErrEmptyDeviceType},
		{"empty value", "imei", "", DeviceID{}, ErrEmptyDeviceValue},
		{"value only spaces", "imei", " \t ", DeviceID{}, ErrEmptyDeviceValue},
		{"both empty names the type", "", "", DeviceID{}, ErrEmptyDeviceType},
		{"type with a colon", "imei:x", "1", DeviceID{}, ErrDeviceTypeColon},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := NewDeviceID(c.typ, c.val)
			if !errors.Is(err, c.err) || got != c.want {
				t.Fatalf("NewDeviceID(%q, %q) = %#v, %v; want %#v, %v", c.typ, c.val, got, err, c.want, c.err)
			}
			if c.err != nil {
				return
			}
			// The TYPE:VALUE form parses back to the same identifier.
			again, err := ParseDeviceID(got.String())
			if err != nil || again != got {
				t.Errorf("ParseDeviceID(%q) = %#v, %v; want %#v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseDeviceID(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want DeviceID
		err  error // nil: no error; errNoColon: an error wrapping nothing in particular
	}{
		{"plain", "imei:358240051111110", DeviceID{"imei", "358240051111110"}, nil},
		{"type case folded", "IMEI:358240051111110", DeviceID{"imei", "358240051111110"}, nil},
		{"spaces trimmed around both parts", "  imei :  358240051111110  ", DeviceID{"imei", "358240051111110"}, nil},
		{"split at the first colon", "mac:00:1a:2b", DeviceID{"mac", "00:1a:2b"}, nil},
		{"value a single colon", "x::", DeviceID{"x", ":"}, nil},
		{"no colon", "imei358240051111110", DeviceID{}, errNoColon},
		{"empty", "", DeviceID{}, errNoColon},
		{"empty type", ":358240051111110", DeviceID{}, ErrEmptyDeviceType},
		{"empty value", "imei:", DeviceID{}, ErrEmptyDeviceValue},
		{"value only spaces", "imei:   ", DeviceID{}, ErrEmptyDeviceValue},
		{"colon only", ":", DeviceID{}, ErrEmptyDeviceType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseDeviceID(c.in)
			switch {
			case c.err == nil:
				if err != nil || got != c.want {
					t.Fatalf("ParseDeviceID(%q) = %#v, %v; want %#v", c.in, got, err, c.want)
				}
				return
			case err == nil:
				t.Fatalf("ParseDeviceID(%q) = %#v, want an error", c.in, got)
			case c.err != errNoColon && !errors.Is(err, c.err):
				t.Errorf("ParseDeviceID(%q) error %v, want it to wrap %v", c.in, err, c.err)
			}
			if !strings.Contains(err.Error(), quote(c.in)) {
				t.Errorf("error %q does not quote the input %q", err, c.in)
			}
		})
	}
}

var errNoColon = errors.New("no colon")

func TestNonRoutable(t *testing.T) {
	cases := []struct {
		addr string
		want string
	}{
		{"10.0.0.0", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.0", "private"},
		{"172.31.255.255", "private"},
		{"192.168.255.255", "private"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.255", "loopback"},
		{"169.254.0.0", "link-local"},
		{"224.0.0.0", "multicast"},
		{"239.255.255.255", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"100.64.0.0", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"fc00::", "private"},
		{"fdff:ffff::1", "private"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"ff00::", "multicast"},
		{"ff02::1", "multicast"},
		{"::", "unspecified"},

		{"9.255.255.255", ""},
		{"11.0.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.167.255.255", ""},
		{"192.169.0.0", ""},
		{"126.255.255.255", ""},
		{"128.0.0.0", ""},
		{"169.253.255.255", ""},
		{"223.255.255.255", ""},
		{"0.0.0.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"192.0.2.1", ""},
		{"198.51.100.1", ""},
		{"203.0.113.7", ""},
		{"2001:db8::1", ""},
		{"fbff:ffff::1", ""},
		{"fec0::1", ""},
		{"::2", ""},
		{"2001:4860:4860::8888", ""},
	}
	for _, c := range cases {
		t.Run(c.addr, func(t *testing.T) {
			if got := NonRoutable(netip.MustParseAddr(c.addr)); got != c.want {
				t.Errorf("NonRoutable(%s) = %q, want %q", c.addr, got, c.want)
			}
		})
	}
}

// TestNonRoutableAgreesWithBlocks holds the address test (NonRoutable) to
// the list of blocks the prefix test uses: an address is non-routable exactly
// when its /32 or /128 overlaps a listed block.
func TestNonRoutableAgreesWithBlocks(t *testing.T) {
	for _, b := range nonRoutable {
		first := b.prefix.Addr()
		last := lastAddr(b.prefix)
		for _, a := range []netip.Addr{first, last} {
			if got := NonRoutable(a); got != b.why {
				t.Errorf("NonRoutable(%s) = %q, want %q (block %s)", a, got, b.why, b.prefix)
			}
			if got := NonRoutablePrefix(netip.PrefixFrom(a, a.BitLen())); got == "" {
				t.Errorf("NonRoutablePrefix(%s/%d) = \"\", want a reason", a, a.BitLen())
			}
		}
		// The addresses just outside the block are routable, unless they
		// fall in another block.
		for _, a := range []netip.Addr{first.Prev(), last.Next()} {
			if !a.IsValid() {
				continue
			}
			in := ""
			for _, o := range nonRoutable {
				if o.prefix.Contains(a) {
					in = o.why
				}
			}
			if got := NonRoutable(a); got != in {
				t.Errorf("NonRoutable(%s) = %q, want %q (beside block %s)", a, got, in, b.prefix)
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestEvidenceTies(t *testing.T) {
	shared := netip.MustParsePrefix("198.51.100.0/24")
	cases := []struct {
		name      string
		rule      Rule
		proxy     bool
		shared    bool
		ties      bool
		weakened  bool
		tierAlone Tier
	}{
		{"device ties", RuleDevice, false, false, true, false, TierTied},
		{"ip in window ties", RuleIP, false, false, true, false, TierTied},
		{"ip from a proxy does not tie", RuleIP, true, false, false, true, TierPotential},
		{"ip in shared space does not tie", RuleIP, false, true, false, true, TierPotential},
		{"ip from a proxy in shared space does not tie", RuleIP, true, true, false, true, TierPotential},
		{"ip-drift does not tie", RuleIPDrift, false, false, false, false, TierPotential},
		{"ip-drift from a proxy does not tie", RuleIPDrift, true, false, false, true, TierPotential},
		{"ip-drift in shared space does not tie", RuleIPDrift, false, true, false, true, TierPotential},
		{"cidr does not tie", RuleCIDR, false, false, false, false, TierPotential},
		{"cidr from a proxy does not tie", RuleCIDR, true, false, false, true, TierPotential},
		{"cidr in shared space does not tie", RuleCIDR, false, true, false, true, TierPotential},
		{"cidr from a proxy in shared space does not tie", RuleCIDR, true, true, false, true, TierPotential},
		{"ip-undated does not tie", RuleIPUndated, false, false, false, false, TierPotential},
		{"ip-undated from a proxy does not tie", RuleIPUndated, true, false, false, true, TierPotential},
		{"ip-undated in shared space does not tie", RuleIPUndated, false, true, false, true, TierPotential},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := Evidence{Rule: c.rule, Observed: Observation{IP: netip.MustParseAddr("198.51.100.7"), Proxy: c.proxy}}
			if c.shared {
				e.Shared = shared
			}
			if got := e.Ties(); got != c.ties {
				t.Errorf("Ties() = %v, want %v", got, c.ties)
			}
			if got := e.Weakened(); got != c.weakened {
				t.Errorf("Weakened() = %v, want %v", got, c.weakened)
			}
			if got := TierOf([]Evidence{e}); got != c.tierAlone {
				t.Errorf("TierOf([e]) = %v, want %v", got, c.tierAlone)
			}
		})
	}
}

func TestTierOf(t *testing.T) {
	ev := func(r Rule, proxy, shared bool) Evidence {
		e := Evidence{Rule: r, Observed: Observation{Proxy: proxy}}
		if shared {
			e.Shared = CarrierNAT
		}
		return e
	}
	cases := []struct {
		name string
		ev   []Evidence
		want Tier
	}{
		{"no evidence", nil, TierNone},
		{"empty evidence", []Evidence{}, TierNone},
		{"cidr only", []Evidence{ev(RuleCIDR, false, false)}, TierPotential},
		{"ip-drift and cidr", []Evidence{ev(RuleIPDrift, false, false), ev(RuleCIDR, false, false)}, TierPotential},
		{"proxy ip and shared ip", []Evidence{ev(RuleIP, true, false), ev(RuleIP, false, true)}, TierPotential},
		{"weak evidence then a clean ip", []Evidence{ev(RuleCIDR, false, false), ev(RuleIP, true, false), ev(RuleIP, false, false)}, TierTied},
		{"clean ip then weak evidence", []Evidence{ev(RuleIP, false, false), ev(RuleIPDrift, false, false)}, TierTied},
		{"ip-undated alone", []Evidence{ev(RuleIPUndated, false, false)}, TierPotential},
		{"ip-undated and a clean ip", []Evidence{ev(RuleIPUndated, false, false), ev(RuleIP, false, false)}, TierTied},
		{"device after proxy ip", []Evidence{ev(RuleIP, true, true), ev(RuleDevice, false, false)}, TierTied},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := TierOf(c.ev); got != c.want {
				t.Errorf("TierOf = %v, want %v", got, c.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"tier none", TierNone.String(), "none"},
		{"tier potential", TierPotential.String(), "potential"},
		{"tier tied", TierTied.String(), "tied"},
		{"tier out of range", Tier(7).String(), "none"},
		{"rule device", RuleDevice.String(), "device"},
		{"rule ip", RuleIP.String(), "ip"},
		{"rule ip-drift", RuleIPDrift.String(), "ip-drift"},
		{"rule cidr", RuleCIDR.String(), "cidr"},
		{"rule zero", Rule(0).String(), "unknown"},
		{"kind ip", KindIP.String(), "ip"},
		{"kind cidr", KindCIDR.String(), "cidr"},
		{"kind device", KindDevice.String(), "device"},
		{"kind asn", KindASN.String(), "asn"},
		{"rule asn", RuleASN.String(), "asn"},
		{"rule ip-undated", RuleIPUndated.String(), "ip-undated"},
		{"kind out of range", Kind(5).String(), "unknown"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	// Every rule's name parses back to it: stores and findings files
	// keep rules by name.
	for r := RuleDevice; r.String() != "unknown"; r++ {
		if got, err := ParseRule(r.String()); err != nil || got != r {
			t.Errorf("ParseRule(%q) = %v, %v; want %v", r.String(), got, err, r)
		}
	}
	if _, err := ParseRule("ip-undated"); err != nil {
		t.Errorf("ParseRule(ip-undated): %v", err)
	}
	if !(TierNone < TierPotential && TierPotential < TierTied) {
		t.Error("tiers are not ordered weakest first")
	}
}

func TestReportClone(t *testing.T) {
	at := time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC)
	orig := Report{
		ID:       "r-1",
		Received: at.Add(time.Hour),
		Incident: "sextortion",
		IPs: []IPEvent{
			{Addr: netip.MustParseAddr("203.0.113.7"), At: at, Event: "login", Port: 51234},
			{Addr: netip.MustParseAddr("2001:db8::1"), At: at, Proxy: true, Associated: true},
		},
		Devices: []Device{
			{ID: DeviceID{"imei", "358240051111110"}, At: at},
			{ID: DeviceID{"idfa", "x"}, Associated: true},
		},
	}
	c := orig.Clone()
	if !c.Equal(&orig) {
		t.Fatalf("Clone = %+v, want %+v", c, orig)
	}
	if &c.IPs[0] == &orig.IPs[0] || &c.Devices[0] == &orig.Devices[0] {
		t.Fatal("Clone shares the backing array of IPs or Devices")
	}

	// Changes to the clone do not reach the original, and the other way.
	c.IPs[0].Event, c.IPs[0].Port = "upload", 1
	c.Devices[0].ID.Value = "changed"
	c.IPs = append(c.IPs[:1], IPEvent{Event: "appended"})
	orig.IPs[1].Proxy = false
	orig.Devices[1].ID.Type = "gaid"
	if orig.IPs[0].Event != "login" || orig.IPs[0].Port != 51234 || orig.Devices[0].ID.Value != "358240051111110" {
		t.Errorf("changing the clone changed the original: %+v", orig)
	}
	if orig.IPs[1].Event != "" || !orig.IPs[1].Addr.Is6() {
		t.Errorf("appending to the clone overwrote the original: %+v", orig.IPs[1])
	}
	if c.Devices[1].ID.Type != "idfa" {
		t.Errorf("changing the original changed the clone: %+v", c.Devices[1])
	}

	// A report without events clones to one without events.
	empty := Report{ID: "r-2"}
	ec := empty.Clone()
	if ec.ID != "r-2" || len(ec.IPs) != 0 || len(ec.Devices) != 0 || !ec.Received.IsZero() {
		t.Errorf("Clone of an empty report = %+v", ec)
	}
}

// TestReportEqual changes each field of a report, of an event and of a
// device in turn, found by reflection: Equal must see every change, so a
// field added to the types and forgotten by Equal fails here (and a field
// of a type this test cannot change fails it too, until it is taught).
func TestReportEqual(t *testing.T) {
	at := time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC)
	base := func() Report {
		return Report{ID: "r-1", Received: at.Add(time.Hour), Incident: "sextortion",
			IPs: []IPEvent{
				{Addr: netip.MustParseAddr("203.0.113.7"), At: at, Event: "login", Port: 51234},
				{Addr: netip.MustParseAddr("2001:db8::1"), At: at, Proxy: true, Associated: true},
			},
			Devices: []Device{
				{ID: DeviceID{"imei", "358240051111110"}, At: at},
				{ID: DeviceID{"idfa", "x"}, Associated: true},
			}}
	}
	a := base()
	// The same report with times in another location: equal.
	same := base()
	same.Received = same.Received.In(time.FixedZone("ICT", 7*3600))
	same.IPs[0].At = same.IPs[0].At.In(time.FixedZone("ICT", 7*3600))
	if !a.Equal(&same) || !same.Equal(&a) {
		t.Fatalf("Equal is false for the same report with times in another zone")
	}
	// No events and devices: a nil list equals an empty one.
	x, y := Report{ID: "r-2"}, Report{ID: "r-2", IPs: []IPEvent{}, Devices: []Device{}}
	if !x.Equal(&y) {
		t.Errorf("a report with nil lists differs from one with empty lists")
	}

	changed := 0
	// change sets v (a field) to another value of its type.
	change := func(name string, v reflect.Value) {
		t.Helper()
		switch x := v.Addr().Interface().(type) {
		case *string:
			*x += "-other"
		case *int:
			*x++
		case *bool:
			*x = !*x
		case *time.Time:
			*x = x.Add(time.Nanosecond)
		case *netip.Addr:
			*x = x.Next()
		case *DeviceID:
			x.Value += "-other"
		case *[]IPEvent:
			*x = append(*x, IPEvent{})
		case *[]Device:
			*x = append(*x, Device{})
		default:
			t.Fatalf("field %s of type %s: teach TestReportEqual how to change it", name, v.Type())
		}
		changed++
	}
	check := func(name string, b *Report) {
		t.Helper()
		if a.Equal(b) || b.Equal(&a) {
			t.Errorf("Equal does not see a change of %s", name)
		}
	}
	for i := range reflect.TypeFor[Report]().NumField() {
		b := base()
		f := reflect.TypeFor[Report]().Field(i)
		change("Report."+f.Name, reflect.ValueOf(&b).Elem().Field(i))
		check("Report."+f.Name, &b)
	}
	for k := range a.IPs {
		for i := range reflect.TypeFor[IPEvent]().NumField() {
			b := base()
			f := reflect.TypeFor[IPEvent]().Field(i)
			change("IPEvent."+f.Name, reflect.ValueOf(&b.IPs[k]).Elem().Field(i))
			check(fmt.Sprintf("IPs[%d].%s", k, f.Name), &b)
		}
	}
	for k := range a.Devices {
		for i := range reflect.TypeFor[Device]().NumField() {
			b := base()
			f := reflect.TypeFor[Device]().Field(i)
			change("Device."+f.Name, reflect.ValueOf(&b.Devices[k]).Elem().Field(i))
			check(fmt.Sprintf("Devices[%d].%s", k, f.Name), &b)
		}
	}
	want := reflect.TypeFor[Report]().NumField() + len(a.IPs)*reflect.TypeFor[IPEvent]().NumField() + len(a.Devices)*reflect.TypeFor[Device]().NumField()
	if changed != want {
		t.Errorf("changed %d fields, want %d", changed, want)
	}
}

func TestRecordErrorError(t *testing.T) {
	cases := []struct {
		name string
		e    RecordError
		want string
	}{
		{"file, line, item and reason",
			RecordError{File: "reports.jsonl", Line: 12, Item: "ips[3]", Reason: `invalid IP address "N/A"`},
			`reports.jsonl:12: ips[3]: invalid IP address "N/A"`},
		{"whole line has no item",
			RecordError{File: "reports.jsonl", Line: 3, Reason: "invalid id"},
			"reports.jsonl:3: invalid id"},
		{"line 0 is not written",
			RecordError{File: "shared.txt", Reason: "unreadable"},
			"shared.txt: unreadable"},
		{"line 0 with an item",
			RecordError{File: "x", Item: "received", Reason: "bad"},
			"x: received: bad"},
		{"standard input",
			RecordError{File: "-", Line: 1, Reason: "not valid JSON"},
			"-:1: not valid JSON"},
		{"raw text is not part of the message",
			RecordError{File: "f", Line: 2, Reason: "r", Raw: "secret"},
			"f:2: r"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.e.Error(); got != c.want {
				t.Errorf("Error() = %q, want %q", got, c.want)
			}
		})
	}
	e := Errorf("compounds.csv", 7, "duplicate id %q", "c-1")
	if *e != (RecordError{File: "compounds.csv", Line: 7, Reason: `duplicate id "c-1"`}) {
		t.Errorf("Errorf = %+v", *e)
	}
	var err error = e
	var re *RecordError
	if !errors.As(err, &re) || re.Line != 7 {
		t.Errorf("errors.As failed on %v", err)
	}
}

func TestTruncateRaw(t *testing.T) {
	a := repeatA
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"short", "abc", "abc"},
		{"exactly MaxRaw is kept whole", a(MaxRaw), a(MaxRaw)},
		{"MaxRaw+1 ASCII is cut at MaxRaw", a(MaxRaw + 1), a(MaxRaw) + "…"},
		{"far longer is cut at MaxRaw", a(3 * MaxRaw), a(MaxRaw) + "…"},
		{"two-byte rune across the cut is dropped whole", a(MaxRaw-1) + "é" + "x", a(MaxRaw-1) + "…"},
		{"two-byte rune ending at the cut is kept", a(MaxRaw-2) + "é" + "x", a(MaxRaw-2) + "é…"},
		{"three-byte rune across the cut, one byte in", a(MaxRaw-1) + "€" + "x", a(MaxRaw-1) + "…"},
		{"three-byte rune across the cut, two bytes in", a(MaxRaw-2) + "€" + "x", a(MaxRaw-2) + "…"},
		{"four-byte rune across the cut, three bytes in", a(MaxRaw-3) + "😀" + "x", a(MaxRaw-3) + "…"},
		{"four-byte rune ending at the cut is kept", a(MaxRaw-4) + "😀" + "x", a(MaxRaw-4) + "😀…"},
		{"multi-byte text exactly MaxRaw long is whole", strings.Repeat("€", MaxRaw/3) + a(MaxRaw%3), strings.Repeat("€", MaxRaw/3) + a(MaxRaw%3)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := TruncateRaw([]byte(c.in)); got != c.want {
				t.Errorf("TruncateRaw = %s, want %s", ends(got), ends(c.want))
			}
		})
	}
}

// TestTruncateRawProperties checks, for every rune width and every position
// of a rune around the cut, that the result is a prefix of the input of at
// most MaxRaw bytes, valid UTF-8 when the input is, and marked when cut.
func TestTruncateRawProperties(t *testing.T) {
	for _, r := range []string{"a", "é", "€", "😀"} {
		for lead := MaxRaw - 8; lead <= MaxRaw+2; lead++ {
			in := repeatA(lead) + strings.Repeat(r, 3) + "tail"
			got := TruncateRaw([]byte(in))
			if len(in) <= MaxRaw {
				if got != in {
					t.Fatalf("rune %q at %d: input of %d bytes changed", r, lead, len(in))
				}
				continue
			}
			kept, ok := strings.CutSuffix(got, "…")
			if !ok {
				t.Fatalf("rune %q at %d: cut not marked: %s", r, lead, ends(got))
			}
			if len(kept) > MaxRaw || len(kept) < MaxRaw-utf8.UTFMax+1 {
				t.Fatalf("rune %q at %d: kept %d bytes, want %d-%d", r, lead, len(kept), MaxRaw-utf8.UTFMax+1, MaxRaw)
			}
			if !strings.HasPrefix(in, kept) || !utf8.ValidString(kept) {
				t.Fatalf("rune %q at %d: kept text is not a valid prefix: %s", r, lead, ends(kept))
			}
		}
	}
	// Invalid UTF-8 cannot send the cut far back.
	bad := strings.Repeat("\x80", MaxRaw+10)
	got := TruncateRaw([]byte(bad))
	if kept, ok := strings.CutSuffix(got, "…"); !ok || len(kept) < MaxRaw-utf8.UTFMax || len(kept) > MaxRaw {
		t.Errorf("continuation bytes only: kept %d bytes, marked %v", len(kept), ok)
	}
}

func repeatA(n int) string { return strings.Repeat("a", n) }

// ends shows the length and the last bytes of a long string.
func ends(s string) string {
	if len(s) <= 16 {
		return quote(s)
	}
	return quote("…"+s[len(s)-12:]) + " (" + strconv.Itoa(len(s)) + " bytes)"
}

func quote(s string) string { return strconv.Quote(s) }

func TestParseASN(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"AS14593", 14593, true},
		{"as14593", 14593, true},
		{" 14593 ", 14593, true},
		{"AS64496", 64496, true},   // documentation
		{"AS65551", 65551, true},   // documentation
		{"AS131072", 131072, true}, // first public 32-bit
		{"AS4199999999", 4199999999, true},
		{"AS0", 0, false},
		{"AS23456", 0, false}, // AS_TRANS
		{"AS64512", 0, false}, // private
		{"AS65535", 0, false},
		{"AS65552", 0, false}, // reserved
		{"AS4200000000", 0, false},
		{"AS4294967296", 0, false}, // over 32 bits
		{"AS", 0, false},
		{"", 0, false},
		{"AS-1", 0, false},
		{"+5", 0, false},
		{"ASN14593", 0, false},
		{"14593x", 0, false},
	} {
		got, err := ParseASN(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseASN(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("%q", c.in)) {
			t.Errorf("ParseASN(%q) error %q does not quote the input", c.in, err)
		}
	}
	in, err := ParseIndicatorValue(KindASN, "as14593")
	if err != nil || in.Value != "AS14593" || in.ASN != 14593 || in.Kind != KindASN {
		t.Errorf("ParseIndicatorValue(asn, as14593) = %+v, %v", in, err)
	}
}

func TestParseCountryList(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"KH", "KH", true}, {"mm", "MM", true}, {" la ", "LA", true}, {"TH", "TH", true},
		{"AD", "AD", true}, {"ZW", "ZW", true}, {"XK", "XK", true},
		{"QQ", "", false}, {"ZZ", "", false}, {"UK", "", false}, {"AA", "", false}, {"XX", "", false},
		{"K", "", false}, {"KHM", "", false}, {"", "", false},
	} {
		got, err := ParseCountry(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseCountry(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	n := 0
	for i := 0; i+2 <= len(isoCountries); i += 3 {
		n++
		if i+2 < len(isoCountries) && isoCountries[i+2] != ' ' {
			t.Fatalf("isoCountries is not two letters and a space at %d", i)
		}
	}
	if n != 250 {
		t.Errorf("%d codes, want 249 and XK", n)
	}
}

// TestNonRoutablePrefixes holds the exported blocks to NonRoutable on
// random addresses, and on addresses at the edges of each block.
func TestNonRoutablePrefixes(t *testing.T) {
	blocks := NonRoutablePrefixes()
	in := func(a netip.Addr) bool {
		for _, p := range blocks {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	var addrs []netip.Addr
	for _, p := range blocks {
		addrs = append(addrs, p.Addr(), lastAddr(p), p.Addr().Prev(), lastAddr(p).Next())
	}
	seed := uint64(1)
	next := func() byte { seed = seed*6364136223846793005 + 1442695040888963407; return byte(seed >> 56) }
	for range 100000 {
		var b [16]byte
		for i := range b {
			b[i] = next()
		}
		addrs = append(addrs, netip.AddrFrom4([4]byte(b[:4])), netip.AddrFrom16(b))
	}
	hits := 0
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		if (NonRoutable(a) != "") != in(a) {
			t.Fatalf("NonRoutable(%s) = %q, but in a block of NonRoutablePrefixes: %v", a, NonRoutable(a), in(a))
		}
		if in(a) {
			hits++
		}
	}
	if hits < 1000 {
		t.Fatalf("only %d addresses were non-routable", hits)
	}
}
