package registry

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/seams-dev/seams"
)

var testCompounds = map[string]int{"c-1": 0, "c-2": 1}

func readIndicatorsString(t *testing.T, s string) ([]seams.Indicator, collector, error) {
	t.Helper()
	var rej collector
	got, err := ReadIndicators(strings.NewReader(s), "indicators.csv", testCompounds, rej.reject)
	return got, rej, err
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestReadIndicatorsRow checks each column rule on a single row, read under
// the full header.
func TestReadIndicatorsRow(t *testing.T) {
	const header = "compound,kind,value,first_seen,last_seen,confidence,source\n"
	ip := func(s string) *seams.Indicator {
		a := netip.MustParseAddr(s)
		return &seams.Indicator{Compound: "c-1", Kind: seams.KindIP, Value: a.String(), Addr: a}
	}
	cidr := func(s string) *seams.Indicator {
		p := netip.MustParsePrefix(s)
		return &seams.Indicator{Compound: "c-1", Kind: seams.KindCIDR, Value: p.String(), Prefix: p}
	}
	device := func(typ, value string) *seams.Indicator {
		d := seams.DeviceID{Type: typ, Value: value}
		return &seams.Indicator{Compound: "c-1", Kind: seams.KindDevice, Value: d.String(), Device: d}
	}
	with := func(ind *seams.Indicator, f func(*seams.Indicator)) *seams.Indicator { f(ind); return ind }
	window := func(first, last string) *seams.Indicator {
		return with(ip("203.0.113.7"), func(i *seams.Indicator) {
			if first != "" {
				i.Window.First = ts(first)
			}
			if last != "" {
				i.Window.Last = ts(last)
			}
		})
	}
	confidence := func(c float64) *seams.Indicator {
		return with(ip("203.0.113.7"), func(i *seams.Indicator) { i.Confidence, i.HasConfidence = c, true })
	}
	tests := []struct {
		name   string
		row    string
		want   *seams.Indicator // nil when the row is rejected
		reason string
	}{
		// compound
		{"known compound", "c-1,ip,203.0.113.7,,,,", ip("203.0.113.7"), ""},
		{"second compound", "c-2,ip,203.0.113.7,,,,", with(ip("203.0.113.7"), func(i *seams.Indicator) { i.Compound = "c-2" }), ""},
		{"compound trimmed", "  c-1  ,ip,203.0.113.7,,,,", ip("203.0.113.7"), ""},
		{"unknown compound", "c-9,ip,203.0.113.7,,,,", nil, `unknown compound "c-9"`},
		{"compound ids are case-sensitive", "C-1,ip,203.0.113.7,,,,", nil, `unknown compound "C-1"`},
		{"compound empty", ",ip,203.0.113.7,,,,", nil, "compound is empty"},

		// kind
		{"kind upper case", "c-1,IP,203.0.113.7,,,,", ip("203.0.113.7"), ""},
		{"kind mixed case and spaces", "c-1, Cidr ,203.0.113.0/24,,,,", cidr("203.0.113.0/24"), ""},
		{"unknown kind", "c-1,domain,example.test,,,,", nil, `unknown kind "domain" (want ip, cidr, device or asn)`},
		{"kind empty", "c-1,,203.0.113.7,,,,", nil, "kind is empty"},

		// ip
		{"ipv4", "c-1,ip,198.51.100.23,,,,", ip("198.51.100.23"), ""},
		{"ipv6 canonicalised", "c-1,ip,2001:DB8:0:0::7,,,,", ip("2001:db8::7"), ""},
		{"ipv4-mapped ipv6 is the ipv4 address", "c-1,ip,::ffff:203.0.113.7,,,,", ip("203.0.113.7"), ""},
		{"ipv4-mapped ipv6 in hex", "c-1,ip,::ffff:cb00:7107,,,,", ip("203.0.113.7"), ""},
		{"ip with a zone drops the zone", "c-1,ip,2001:db8::7%eth0,,,,", ip("2001:db8::7"), ""},
		{"ip not an address", "c-1,ip,N/A,,,,", nil, `value: invalid IP address "N/A"`},
		{"ip with a full-length prefix is the address", "c-1,ip,203.0.113.7/32,,,,", ip("203.0.113.7"), ""},
		{"ip with a shorter prefix", "c-1,ip,203.0.113.0/24,,,,", nil, `value: kind ip takes one address, not the prefix 203.0.113.0/24 (use kind cidr)`},
		{"ip with leading zeros", "c-1,ip,203.0.113.07,,,,", nil, `value: invalid IP address "203.0.113.07"`},
		{"value empty", "c-1,ip,,,,,", nil, "value is empty"},
		{"value blank", "c-1,ip,  ,,,,", nil, "value is empty"},

		// cidr
		{"cidr ipv4", "c-1,cidr,203.0.113.0/24,,,,", cidr("203.0.113.0/24"), ""},
		{"cidr ipv6", "c-1,cidr,2001:db8::/32,,,,", cidr("2001:db8::/32"), ""},
		{"cidr /32 becomes ip", "c-1,cidr,203.0.113.7/32,,,,", ip("203.0.113.7"), ""},
		{"cidr /128 becomes ip", "c-1,cidr,2001:db8::7/128,,,,", ip("2001:db8::7"), ""},
		{"cidr /31 stays cidr", "c-1,cidr,203.0.113.6/31,,,,", cidr("203.0.113.6/31"), ""},
		{"cidr ipv4-mapped becomes ipv4", "c-1,cidr,::ffff:203.0.113.0/120,,,,", cidr("203.0.113.0/24"), ""},
		{"cidr ipv4-mapped /128 becomes ip", "c-1,cidr,::ffff:203.0.113.7/128,,,,", ip("203.0.113.7"), ""},
		{"cidr host bits set", "c-1,cidr,203.0.113.7/24,,,,", nil, `value: prefix "203.0.113.7/24" has host bits set (did you mean 203.0.113.0/24?)`},
		{"cidr ipv6 host bits set", "c-1,cidr,2001:db8::1/32,,,,", nil, `value: prefix "2001:db8::1/32" has host bits set (did you mean 2001:db8::/32?)`},
		{"cidr without length", "c-1,cidr,203.0.113.7,,,,", nil, `value: invalid CIDR prefix "203.0.113.7" (no /length)`},
		{"cidr length too long", "c-1,cidr,203.0.113.0/33,,,,", nil, `value: invalid CIDR prefix "203.0.113.0/33"`},
		{"cidr covering mapped space", "c-1,cidr,::fffe:0:0/95,,,,", nil, "value: prefix ::fffe:0:0/95 overlaps IPv4-mapped space ::ffff:0:0/96 (give IPv4 prefixes instead): it cannot identify a place"},
		{"cidr covering the unspecified address", "c-1,cidr,::/64,,,,", nil, "value: prefix ::/64 overlaps loopback range ::1/128: it cannot identify a place"},

		// non-routable space is refused, documentation ranges are not
		{"private 10/8", "c-1,ip,10.1.2.3,,,,", nil, "value: address 10.1.2.3 is private: it cannot identify a place"},
		{"private 172.16/12", "c-1,ip,172.31.255.255,,,,", nil, "value: address 172.31.255.255 is private: it cannot identify a place"},
		{"private 192.168/16", "c-1,ip,192.168.0.1,,,,", nil, "value: address 192.168.0.1 is private: it cannot identify a place"},
		{"private fc00::/7", "c-1,ip,fd00::1,,,,", nil, "value: address fd00::1 is private: it cannot identify a place"},
		{"private mapped", "c-1,ip,::ffff:10.0.0.1,,,,", nil, "value: address 10.0.0.1 is private: it cannot identify a place"},
		{"carrier-grade NAT first", "c-1,ip,100.64.0.0,,,,", nil, "value: address 100.64.0.0 is carrier-grade NAT: it cannot identify a place"},
		{"carrier-grade NAT last", "c-1,ip,100.127.255.255,,,,", nil, "value: address 100.127.255.255 is carrier-grade NAT: it cannot identify a place"},
		{"loopback ipv4", "c-1,ip,127.0.0.1,,,,", nil, "value: address 127.0.0.1 is loopback: it cannot identify a place"},
		{"loopback ipv6", "c-1,ip,::1,,,,", nil, "value: address ::1 is loopback: it cannot identify a place"},
		{"link-local ipv4", "c-1,ip,169.254.1.1,,,,", nil, "value: address 169.254.1.1 is link-local: it cannot identify a place"},
		{"link-local ipv6", "c-1,ip,fe80::1,,,,", nil, "value: address fe80::1 is link-local: it cannot identify a place"},
		{"multicast ipv4", "c-1,ip,224.0.0.1,,,,", nil, "value: address 224.0.0.1 is multicast: it cannot identify a place"},
		{"multicast ipv6", "c-1,ip,ff02::1,,,,", nil, "value: address ff02::1 is multicast: it cannot identify a place"},
		{"unspecified ipv4", "c-1,ip,0.0.0.0,,,,", nil, "value: address 0.0.0.0 is unspecified: it cannot identify a place"},
		{"unspecified ipv6", "c-1,ip,::,,,,", nil, "value: address :: is unspecified: it cannot identify a place"},
		{"private prefix", "c-1,cidr,10.0.0.0/8,,,,", nil, "value: prefix 10.0.0.0/8 overlaps private range 10.0.0.0/8: it cannot identify a place"},
		{"prefix around private space", "c-1,cidr,0.0.0.0/4,,,,", nil, "value: prefix 0.0.0.0/4 overlaps private range 10.0.0.0/8: it cannot identify a place"},
		{"prefix inside carrier-grade NAT", "c-1,cidr,100.64.1.0/24,,,,", nil, "value: prefix 100.64.1.0/24 overlaps carrier-grade NAT range 100.64.0.0/10: it cannot identify a place"},
		{"cidr /32 private", "c-1,cidr,192.168.1.1/32,,,,", nil, "value: address 192.168.1.1 is private: it cannot identify a place"},
		{"documentation 192.0.2.0/24", "c-1,cidr,192.0.2.0/24,,,,", cidr("192.0.2.0/24"), ""},
		{"documentation 198.51.100.0/24", "c-1,cidr,198.51.100.0/24,,,,", cidr("198.51.100.0/24"), ""},
		{"documentation 203.0.113.0/24", "c-1,cidr,203.0.113.0/24,,,,", cidr("203.0.113.0/24"), ""},
		{"documentation 2001:db8::/32", "c-1,cidr,2001:db8::/32,,,,", cidr("2001:db8::/32"), ""},
		{"documentation address", "c-1,ip,192.0.2.1,,,,", ip("192.0.2.1"), ""},

		// device
		{"device", "c-1,device,imei:000000000000002,,,,", device("imei", "000000000000002"), ""},
		{"device type case and spaces", "c-1,device, IMEI : 0000000000 00002 ,,,,", device("imei", "0000000000 00002"), ""},
		{"device value keeps case", "c-1,device,android_id:AbC123,,,,", device("android_id", "AbC123"), ""},
		{"device split at the first colon", "c-1,device,mac:00:00:5e:00:53:01,,,,", device("mac", "00:00:5e:00:53:01"), ""},
		{"device without colon", "c-1,device,000000000000002,,,,", nil, `value: invalid device "000000000000002" (want TYPE:VALUE, e.g. imei:358240051111110)`},
		{"device without type", "c-1,device, :000000000000002,,,,", nil, `value: invalid device ":000000000000002": device type is empty`},
		{"device without value", "c-1,device,imei: ,,,,", nil, `value: invalid device "imei:": device value is empty`},

		// window
		{"open window", "c-1,ip,203.0.113.7,,,,", window("", ""), ""},
		{"first_seen date is the start of the day", "c-1,ip,203.0.113.7,2024-05-01,,,", window("2024-05-01T00:00:00Z", ""), ""},
		{"last_seen date is the end of the day", "c-1,ip,203.0.113.7,,2024-05-31,,", window("", "2024-05-31T23:59:59.999999999Z"), ""},
		{"same date both sides is the whole day", "c-1,ip,203.0.113.7,2024-05-01,2024-05-01,,", window("2024-05-01T00:00:00Z", "2024-05-01T23:59:59.999999999Z"), ""},
		{"timestamps", "c-1,ip,203.0.113.7,2024-05-01T08:00:00Z,2024-05-02T09:30:00.5Z,,", window("2024-05-01T08:00:00Z", "2024-05-02T09:30:00.5Z"), ""},
		{"timestamp with offset is UTC", "c-1,ip,203.0.113.7,2024-05-01T08:00:00+07:00,,,", window("2024-05-01T01:00:00Z", ""), ""},
		{"first equal to last", "c-1,ip,203.0.113.7,2024-05-01T08:00:00Z,2024-05-01T08:00:00Z,,", window("2024-05-01T08:00:00Z", "2024-05-01T08:00:00Z"), ""},
		{"first one nanosecond after last", "c-1,ip,203.0.113.7,2024-05-01T08:00:00.000000001Z,2024-05-01T08:00:00Z,,", nil,
			"first_seen 2024-05-01T08:00:00.000000001Z is after last_seen 2024-05-01T08:00:00Z"},
		{"first date after last date", "c-1,ip,203.0.113.7,2024-05-02,2024-05-01,,", nil,
			"first_seen 2024-05-02T00:00:00Z is after last_seen 2024-05-01T23:59:59.999999999Z"},
		{"first timestamp late on the last date", "c-1,ip,203.0.113.7,2024-05-01T23:59:59Z,2024-05-01,,", window("2024-05-01T23:59:59Z", "2024-05-01T23:59:59.999999999Z"), ""},
		{"first timestamp on the day after the last date", "c-1,ip,203.0.113.7,2024-05-02T00:00:00Z,2024-05-01,,", nil,
			"first_seen 2024-05-02T00:00:00Z is after last_seen 2024-05-01T23:59:59.999999999Z"},
		{"invalid date", "c-1,ip,203.0.113.7,2024-13-01,,,", nil, `first_seen: invalid date "2024-13-01" (want YYYY-MM-DD or an RFC 3339 timestamp)`},
		{"invalid timestamp", "c-1,ip,203.0.113.7,,2024-05-01 08:00,,", nil, `last_seen: invalid RFC 3339 time "2024-05-01 08:00"`},
		{"date out of range", "c-1,ip,203.0.113.7,1600-01-01,,,", nil, `first_seen: "1600-01-01": time outside the supported range 1677-09-21 to 2262-04-11`},

		// confidence
		{"confidence empty", "c-1,ip,203.0.113.7,,,,", ip("203.0.113.7"), ""},
		{"confidence low", "c-1,ip,203.0.113.7,,,low,", confidence(0.15), ""},
		{"confidence Medium", "c-1,ip,203.0.113.7,,,Medium,", confidence(0.5), ""},
		{"confidence HIGH", "c-1,ip,203.0.113.7,,,HIGH,", confidence(0.85), ""},
		{"confidence 0", "c-1,ip,203.0.113.7,,,0,", confidence(0), ""},
		{"confidence 1", "c-1,ip,203.0.113.7,,,1,", confidence(1), ""},
		{"confidence 0.7", "c-1,ip,203.0.113.7,,,0.7,", confidence(0.7), ""},
		{"confidence above 1", "c-1,ip,203.0.113.7,,,1.01,", nil, `invalid confidence "1.01" (want a number in [0,1], or low, medium or high)`},
		{"confidence negative", "c-1,ip,203.0.113.7,,,-0.1,", nil, `invalid confidence "-0.1" (want a number in [0,1], or low, medium or high)`},
		{"confidence percent", "c-1,ip,203.0.113.7,,,85,", nil, `invalid confidence "85" (want a number in [0,1], or low, medium or high)`},
		{"confidence NaN", "c-1,ip,203.0.113.7,,,NaN,", nil, `invalid confidence "NaN" (want a number in [0,1], or low, medium or high)`},
		{"confidence word", "c-1,ip,203.0.113.7,,,certain,", nil, `invalid confidence "certain" (want a number in [0,1], or low, medium or high)`},

		// source
		{"source trimmed", "c-1,ip,203.0.113.7,,,, Test feed 1 ", with(ip("203.0.113.7"), func(i *seams.Indicator) { i.Source = "Test feed 1" }), ""},
		{"source quoted", `c-1,ip,203.0.113.7,,,,"Test, feed"`, with(ip("203.0.113.7"), func(i *seams.Indicator) { i.Source = "Test, feed" }), ""},

		// order of problems
		{"compound checked first", "c-9,bogus,N/A,x,y,z,", nil, `unknown compound "c-9"`},
		{"kind before value", "c-1,bogus,N/A,x,y,z,", nil, `unknown kind "bogus" (want ip, cidr, device or asn)`},
		{"value before window", "c-1,ip,N/A,x,y,z,", nil, `value: invalid IP address "N/A"`},
		{"window before confidence", "c-1,ip,203.0.113.7,x,y,z,", nil, `first_seen: invalid RFC 3339 time "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rej, err := readIndicatorsString(t, header+tc.row+"\n")
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(got) != 0 || len(rej) != 1 {
					t.Fatalf("got %+v, rejected %q; want the row rejected", got, rej.reasons())
				}
				if e := rej[0]; e.Reason != tc.reason || e.Line != 2 || e.File != "indicators.csv" || e.Item != "" || e.Raw == "" {
					t.Errorf("rejected %+v\nwant line 2 reason %s", *e, tc.reason)
				}
				return
			}
			if len(rej) != 0 || len(got) != 1 {
				t.Fatalf("got %+v, rejected %q; want one indicator", got, rej.reasons())
			}
			want := *tc.want
			want.File, want.Line = "indicators.csv", 2
			if !reflect.DeepEqual(got[0], want) {
				t.Errorf("got  %+v\nwant %+v", got[0], want)
			}
		})
	}
}

// TestReadIndicatorsDrift checks the optional drift column: empty or absent
// is no bound of the indicator's own, a duration or days is one, 0 is no
// drift evidence, and anything else is rejected naming the value.
func TestReadIndicatorsDrift(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		row      string
		want     time.Duration
		hasDrift bool
		reason   string
	}{
		{"no drift column", "compound,kind,value", "c-1,ip,203.0.113.7", 0, false, ""},
		{"empty drift", "compound,kind,value,drift", "c-1,ip,203.0.113.7,", 0, false, ""},
		{"blank drift", "compound,kind,value,drift", "c-1,ip,203.0.113.7,  ", 0, false, ""},
		{"zero", "compound,kind,value,drift", "c-1,ip,203.0.113.7,0", 0, true, ""},
		{"zero days", "compound,kind,value,drift", "c-1,ip,203.0.113.7,0d", 0, true, ""},
		{"zero seconds", "compound,kind,value,drift", "c-1,ip,203.0.113.7,0s", 0, true, ""},
		{"days", "compound,kind,value,drift", "c-1,ip,203.0.113.7,7d", 7 * 24 * time.Hour, true, ""},
		{"duration", "compound,kind,value,drift", "c-1,ip,203.0.113.7, 36h ", 36 * time.Hour, true, ""},
		{"column anywhere, any case", "Drift,compound,kind,value", "1h30m,c-1,ip,203.0.113.7", 90 * time.Minute, true, ""},
		{"on a cidr", "compound,kind,value,drift", "c-1,cidr,203.0.113.0/24,0", 0, true, ""},
		{"negative", "compound,kind,value,drift", "c-1,ip,203.0.113.7,-1h", 0, false, `invalid drift "-1h" (want e.g. 90d, 2160h or 0)`},
		{"negative days", "compound,kind,value,drift", "c-1,ip,203.0.113.7,-1d", 0, false, `invalid drift "-1d" (want e.g. 90d, 2160h or 0)`},
		{"no unit", "compound,kind,value,drift", "c-1,ip,203.0.113.7,90", 0, false, `invalid drift "90" (want e.g. 90d, 2160h or 0)`},
		{"too many days", "compound,kind,value,drift", "c-1,ip,203.0.113.7,100001d", 0, false, `invalid drift "100001d" (want e.g. 90d, 2160h or 0)`},
		{"fractional days", "compound,kind,value,drift", "c-1,ip,203.0.113.7,1.5d", 0, false, `invalid drift "1.5d" (want e.g. 90d, 2160h or 0)`},
		{"word", "compound,kind,value,drift", "c-1,ip,203.0.113.7,none", 0, false, `invalid drift "none" (want e.g. 90d, 2160h or 0)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rej, err := readIndicatorsString(t, tc.header+"\n"+tc.row+"\n")
			if err != nil {
				t.Fatal(err)
			}
			if tc.reason != "" {
				if len(got) != 0 || !equalStrings(rej.reasons(), []string{"2: " + tc.reason}) {
					t.Fatalf("got %+v, rejected %q; want rejected %q", got, rej.reasons(), tc.reason)
				}
				return
			}
			if len(rej) != 0 || len(got) != 1 {
				t.Fatalf("got %+v, rejected %q; want one indicator", got, rej.reasons())
			}
			if got[0].Drift != tc.want || got[0].HasDrift != tc.hasDrift {
				t.Errorf("drift %v (%v), want %v (%v)", got[0].Drift, got[0].HasDrift, tc.want, tc.hasDrift)
			}
		})
	}
}

// TestReadIndicatorsDuplicates checks that only exact repeats, after
// normalisation, are rejected, naming the line of the first.
func TestReadIndicatorsDuplicates(t *testing.T) {
	const header = "compound,kind,value,first_seen,last_seen,confidence,source\n"
	tests := []struct {
		name      string
		rows      string
		wantLines []int
		want      []string // "line: reason"
	}{
		{"same row twice", "c-1,ip,203.0.113.7,2024-05-01,2024-05-31,high,feed\nc-1,ip,203.0.113.7,2024-05-01,2024-05-31,high,feed\n",
			[]int{2}, []string{"3: duplicate of line 2"}},
		{"three times names the first", "c-1,ip,203.0.113.7,,,,\nc-1,ip,203.0.113.7,,,,\nc-1,ip,203.0.113.7,,,,\n",
			[]int{2}, []string{"3: duplicate of line 2", "4: duplicate of line 2"}},
		{"cidr /32 repeats ip", "c-1,ip,203.0.113.7,,,,\nc-1,cidr,203.0.113.7/32,,,,\n",
			[]int{2}, []string{"3: duplicate of line 2"}},
		{"mapped address repeats ipv4", "c-1,ip,203.0.113.7,,,,\nc-1,IP,::ffff:203.0.113.7,,,,\n",
			[]int{2}, []string{"3: duplicate of line 2"}},
		{"ipv6 spelling repeats", "c-1,ip,2001:db8::7,,,,\nc-1,ip,2001:DB8:0::7,,,,\n",
			[]int{2}, []string{"3: duplicate of line 2"}},
		{"device type case repeats", "c-1,device,imei:1,,,,\nc-1,device,IMEI: 1,,,,\n",
			[]int{2}, []string{"3: duplicate of line 2"}},
		{"same window spelled differently", "c-1,ip,203.0.113.7,2024-05-01,2024-05-01,,\nc-1,ip,203.0.113.7,2024-05-01T07:00:00+07:00,2024-05-01T23:59:59.999999999Z,,\n",
			[]int{2}, []string{"3: duplicate of line 2"}},
		{"same confidence spelled differently", "c-1,ip,203.0.113.7,,,medium,\nc-1,ip,203.0.113.7,,,0.5,\n",
			[]int{2}, []string{"3: duplicate of line 2"}},
		{"source trimmed before comparing", "c-1,ip,203.0.113.7,,,,feed\nc-1,ip,203.0.113.7,,,, feed \n",
			[]int{2}, []string{"3: duplicate of line 2"}},
		{"other compound", "c-1,ip,203.0.113.7,,,,\nc-2,ip,203.0.113.7,,,,\n", []int{2, 3}, nil},
		{"other window", "c-1,ip,203.0.113.7,2024-05-01,,,\nc-1,ip,203.0.113.7,2024-06-01,,,\n", []int{2, 3}, nil},
		{"open and closed window", "c-1,ip,203.0.113.7,,,,\nc-1,ip,203.0.113.7,,2024-06-01,,\n", []int{2, 3}, nil},
		{"other confidence", "c-1,ip,203.0.113.7,,,low,\nc-1,ip,203.0.113.7,,,high,\n", []int{2, 3}, nil},
		{"confidence given and not", "c-1,ip,203.0.113.7,,,0,\nc-1,ip,203.0.113.7,,,,\n", []int{2, 3}, nil},
		{"other source", "c-1,ip,203.0.113.7,,,,feed a\nc-1,ip,203.0.113.7,,,,feed b\n", []int{2, 3}, nil},
		// Rows of eight fields: the drift column is added to the header.
		{"drift given and not", "c-1,ip,203.0.113.7,,,,,0\nc-1,ip,203.0.113.7,,,,,\n", []int{2, 3}, nil},
		{"other drift", "c-1,ip,203.0.113.7,,,,,0\nc-1,ip,203.0.113.7,,,,,7d\n", []int{2, 3}, nil},
		{"same drift spelled differently", "c-1,ip,203.0.113.7,,,,,7d\nc-1,ip,203.0.113.7,,,,,168h\n",
			[]int{2}, []string{"3: duplicate of line 2"}},
		{"source case matters", "c-1,ip,203.0.113.7,,,,feed\nc-1,ip,203.0.113.7,,,,Feed\n", []int{2, 3}, nil},
		{"device value case matters", "c-1,device,imei:a1,,,,\nc-1,device,imei:A1,,,,\n", []int{2, 3}, nil},
		{"an invalid first row is not a first", "c-1,ip,203.0.113.7,,,2,\nc-1,ip,203.0.113.7,,,,\nc-1,ip,203.0.113.7,,,,\n",
			[]int{3}, []string{`2: invalid confidence "2" (want a number in [0,1], or low, medium or high)`, "4: duplicate of line 3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := header
			if strings.Count(tc.rows[:strings.IndexByte(tc.rows, '\n')], ",") == 7 {
				h = strings.Replace(header, "\n", ",drift\n", 1)
			}
			got, rej, err := readIndicatorsString(t, h+tc.rows)
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, ind := range got {
				lines = append(lines, ind.Line)
			}
			if !reflect.DeepEqual(lines, tc.wantLines) {
				t.Errorf("lines = %v, want %v", lines, tc.wantLines)
			}
			if !equalStrings(rej.reasons(), tc.want) {
				t.Errorf("rejected %q, want %q", rej.reasons(), tc.want)
			}
		})
	}
}

// TestIndicatorsShareStrings checks that the compound ids and sources of
// indicators are copies shared between indicators, not substrings of the
// rows encoding/csv read, which would keep every row of a large file alive.
func TestIndicatorsShareStrings(t *testing.T) {
	got, _, err := readIndicatorsString(t, "compound,kind,value,source\nc-1,device,imei:1,feed\nc-1,ip,203.0.113.7,feed\n")
	if err != nil || len(got) != 2 {
		t.Fatal(got, err)
	}
	if got[0].Source != "feed" || got[1].Source != "feed" || got[0].Compound != "c-1" {
		t.Fatal(got)
	}
	// Interned: both indicators share one copy of each repeated string.
	if unsafe.StringData(got[0].Source) != unsafe.StringData(got[1].Source) {
		t.Error("sources not shared")
	}
	if unsafe.StringData(got[0].Compound) != unsafe.StringData(got[1].Compound) {
		t.Error("compound ids not shared")
	}
}

// BenchmarkReadIndicators measures reading a registry-sized indicators file.
func BenchmarkReadIndicators(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("compound,kind,value,first_seen,last_seen,confidence,source\n")
	for i := range 10000 {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&sb, "c-1,ip,203.0.113.%d,2024-01-%02d,2024-06-30T12:00:00Z,high,test-feed-%d\n", i%256, i%28+1, i%5)
		case 1:
			fmt.Fprintf(&sb, "c-2,cidr,2001:db8:%x::/48,,,0.5,test-feed-%d\n", i, i%5)
		case 2:
			fmt.Fprintf(&sb, "c-1,device,imei:%015d,2024-01-01,,,test-feed-%d\n", i, i%5)
		}
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadIndicators(strings.NewReader(data), "indicators.csv", testCompounds, nil); err != nil {
			b.Fatal(err)
		}
	}
}
