package match

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

func mustTime(s string) time.Time {
	t, err := seams.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

func ind(compound, kind, value, first, last string) seams.Indicator {
	k, err := seams.ParseKind(kind)
	if err != nil {
		panic(err)
	}
	in, err := seams.ParseIndicatorValue(k, value)
	if err != nil {
		panic(err)
	}
	if in.Window, err = seams.ParseWindow(first, last); err != nil {
		panic(err)
	}
	in.Compound = compound
	return in
}

// testIndex is a small registry in which each case below picks its events.
func testIndex(t *testing.T) *Index {
	compounds := []seams.Compound{{ID: "c-a", Country: "KH"}, {ID: "c-b", Country: "MM"}}
	inds := []seams.Indicator{
		ind("c-a", "ip", "203.0.113.7", "2024-03-03", "2024-06-09"),
		ind("c-a", "cidr", "198.51.100.0/24", "2024-01-01", "2024-12-31"),
		ind("c-a", "device", "IMEI:358240051111110", "2024-01-01", "2024-12-31"),
		ind("c-b", "device", "x:y:z", "", ""), // type x, value y:z
		ind("c-b", "ip", "203.0.113.7", "2024-07-01", "2024-09-30"),
		ind("c-b", "ip", "::ffff:192.0.2.10", "", ""),
		ind("c-b", "cidr", "192.0.2.200/32", "2024-01-01", "2024-12-31"),
		ind("c-b", "cidr", "2001:db8:1::/48", "2024-01-01", ""),
		ind("c-b", "ip", "198.51.100.77", "2024-05-01", "2024-05-31"),
		ind("c-b", "ip", "203.0.113.99", "2024-05-01", "2024-05-31"),
		ind("c-a", "cidr", "198.51.100.64/26", "2024-01-01", "2024-12-31"),
	}
	shared := []netip.Prefix{netip.MustParsePrefix("203.0.113.96/27")}
	x, err := NewIndex(compounds, inds, shared)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// undated is an ip event whose report did not say when.
func undated(addr string) seams.IPEvent {
	return seams.IPEvent{Addr: seams.NormalizeAddr(netip.MustParseAddr(addr))}
}

func ipEvent(addr, at string) seams.IPEvent {
	return seams.IPEvent{Addr: seams.NormalizeAddr(netip.MustParseAddr(addr)), At: mustTime(at)}
}

// summarize renders findings as "compound:tier:rule+rule" joined by spaces.
func summarize(fs []seams.Finding) string {
	var parts []string
	for _, f := range fs {
		var rules []string
		for _, e := range f.Evidence {
			rules = append(rules, e.Rule.String())
		}
		parts = append(parts, f.Compound+":"+f.Tier.String()+":"+strings.Join(rules, "+"))
	}
	return strings.Join(parts, " ")
}

func TestMatchRules(t *testing.T) {
	x := testIndex(t)
	proxy := func(e seams.IPEvent) seams.IPEvent { e.Proxy = true; return e }
	dev := func(typ, value, at string) seams.Device {
		id, err := seams.NewDeviceID(typ, value)
		if err != nil {
			panic(err)
		}
		d := seams.Device{ID: id}
		if at != "" {
			d.At = mustTime(at)
		}
		return d
	}
	cases := []struct {
		name    string
		drift   time.Duration
		ips     []seams.IPEvent
		devices []seams.Device
		want    string
	}{
		{name: "exact address inside window", ips: []seams.IPEvent{ipEvent("203.0.113.7", "2024-05-01T22:14:03Z")},
			want: "c-a:tied:ip c-b:potential:ip-drift"},
		{name: "event at first_seen is inside", ips: []seams.IPEvent{ipEvent("203.0.113.7", "2024-03-03T00:00:00Z")},
			want: "c-a:tied:ip"},
		{name: "event one nanosecond before first_seen, inside drift", ips: []seams.IPEvent{ipEvent("203.0.113.7", "2024-03-02T23:59:59.999999999Z")},
			want: "c-a:potential:ip-drift"},
		{name: "event at the last instant of the last_seen date is inside", ips: []seams.IPEvent{ipEvent("203.0.113.7", "2024-06-09T23:59:59.999999999Z")},
			want: "c-a:tied:ip c-b:potential:ip-drift"},
		{name: "event one second after window, inside drift", ips: []seams.IPEvent{ipEvent("203.0.113.7", "2024-06-10T00:00:01Z")},
			want: "c-a:potential:ip-drift c-b:potential:ip-drift"},
		{name: "event exactly drift after window", ips: []seams.IPEvent{ipEvent("192.0.2.200", "2025-03-31T23:59:59.999999999Z")},
			want: "c-b:potential:ip-drift"},
		{name: "event one nanosecond beyond drift", ips: []seams.IPEvent{ipEvent("192.0.2.200", "2025-04-01T00:00:00Z")},
			want: ""},
		{name: "drift zero turns ip-drift off", drift: -1, ips: []seams.IPEvent{ipEvent("203.0.113.7", "2024-06-10T00:00:01Z")},
			want: ""},
		{name: "short drift", drift: time.Second, ips: []seams.IPEvent{ipEvent("203.0.113.7", "2024-06-10T00:00:01Z")},
			want: ""},
		{name: "full-length cidr behaves as ip", ips: []seams.IPEvent{ipEvent("192.0.2.200", "2024-05-01T00:00:00Z")},
			want: "c-b:tied:ip"},
		{name: "IPv4-mapped event matches IPv4 indicator", ips: []seams.IPEvent{ipEvent("::ffff:192.0.2.10", "2020-01-01T00:00:00Z")},
			want: "c-b:tied:ip"},
		{name: "open window matches any time", ips: []seams.IPEvent{ipEvent("192.0.2.10", "1999-01-01T00:00:00Z")},
			want: "c-b:tied:ip"},
		{name: "proxy event makes exact match potential", ips: []seams.IPEvent{proxy(ipEvent("203.0.113.7", "2024-05-01T00:00:00Z"))},
			want: "c-a:potential:ip c-b:potential:ip-drift"},
		{name: "proxy and non-proxy events: the clean one ties", ips: []seams.IPEvent{proxy(ipEvent("203.0.113.7", "2024-05-01T00:00:00Z")), ipEvent("203.0.113.7", "2024-05-02T00:00:00Z")},
			want: "c-a:tied:ip+ip c-b:potential:ip-drift+ip-drift"},
		{name: "shared space makes exact match potential", ips: []seams.IPEvent{ipEvent("203.0.113.99", "2024-05-10T00:00:00Z")},
			want: "c-b:potential:ip"},
		{name: "cidr inside window is potential", ips: []seams.IPEvent{ipEvent("198.51.100.5", "2024-02-01T00:00:00Z")},
			want: "c-a:potential:cidr"},
		{name: "cidr outside window is nothing, no drift for cidr", ips: []seams.IPEvent{ipEvent("198.51.100.5", "2025-01-01T00:00:00Z")},
			want: ""},
		{name: "nested cidrs of one compound both fire", ips: []seams.IPEvent{ipEvent("198.51.100.70", "2024-02-01T00:00:00Z")},
			want: "c-a:potential:cidr+cidr"},
		{name: "ip of one compound inside cidr of another", ips: []seams.IPEvent{ipEvent("198.51.100.77", "2024-05-15T00:00:00Z")},
			want: "c-a:potential:cidr+cidr c-b:tied:ip"},
		{name: "IPv6 cidr", ips: []seams.IPEvent{ipEvent("2001:db8:1::5", "2024-03-01T00:00:00Z")},
			want: "c-b:potential:cidr"},
		{name: "IPv6 outside cidr", ips: []seams.IPEvent{ipEvent("2001:db8:2::5", "2024-03-01T00:00:00Z")},
			want: ""},
		{name: "private address never matches", ips: []seams.IPEvent{ipEvent("10.0.0.1", "2024-03-01T00:00:00Z")},
			want: ""},
		{name: "device in window ties", devices: []seams.Device{dev("imei", "358240051111110", "2024-05-01T00:00:00Z")},
			want: "c-a:tied:device"},
		{name: "device type compared case-insensitively", devices: []seams.Device{dev("IMEI", " 358240051111110 ", "2024-05-01T00:00:00Z")},
			want: "c-a:tied:device"},
		{name: "device value compared exactly", devices: []seams.Device{dev("imei", "358240051111111", "2024-05-01T00:00:00Z")},
			want: ""},
		{name: "device value with a colon matches", devices: []seams.Device{{ID: seams.DeviceID{Type: "x", Value: "y:z"}}},
			want: "c-b:tied:device"},
		{name: "report device whose type has a colon never matches, though its text spells one", devices: []seams.Device{{ID: seams.DeviceID{Type: "x:y", Value: "z"}}},
			want: ""},
		{name: "device without time matches whatever the window", devices: []seams.Device{dev("imei", "358240051111110", "")},
			want: "c-a:tied:device"},
		{name: "device outside window is nothing", devices: []seams.Device{dev("imei", "358240051111110", "2025-01-01T00:00:00Z")},
			want: ""},
		{name: "device ties even when addresses only drift", ips: []seams.IPEvent{ipEvent("203.0.113.7", "2024-06-20T00:00:00Z")}, devices: []seams.Device{dev("imei", "358240051111110", "")},
			want: "c-a:tied:ip-drift+device c-b:potential:ip-drift"},
		{name: "no evidence, no finding", ips: []seams.IPEvent{ipEvent("192.0.2.55", "2024-03-01T00:00:00Z")},
			want: ""},
		{name: "undated event: exact address of every compound, whatever the windows, potential", ips: []seams.IPEvent{undated("203.0.113.7")},
			want: "c-a:potential:ip-undated c-b:potential:ip-undated"},
		{name: "undated event, full-length cidr is an ip", ips: []seams.IPEvent{undated("192.0.2.200")},
			want: "c-b:potential:ip-undated"},
		{name: "undated IPv4-mapped event, open window", ips: []seams.IPEvent{undated("::ffff:192.0.2.10")},
			want: "c-b:potential:ip-undated"},
		{name: "undated event inside a cidr only is nothing", ips: []seams.IPEvent{undated("198.51.100.5")},
			want: ""},
		{name: "undated event at an ip inside a cidr: the ip only", ips: []seams.IPEvent{undated("198.51.100.77")},
			want: "c-b:potential:ip-undated"},
		{name: "undated IPv6 event inside a cidr is nothing", ips: []seams.IPEvent{undated("2001:db8:1::5")},
			want: ""},
		{name: "undated event in shared space stays potential", ips: []seams.IPEvent{undated("203.0.113.99")},
			want: "c-b:potential:ip-undated"},
		{name: "undated event from a proxy stays potential", ips: []seams.IPEvent{proxy(undated("203.0.113.7"))},
			want: "c-a:potential:ip-undated c-b:potential:ip-undated"},
		{name: "undated private address never matches", ips: []seams.IPEvent{undated("10.0.0.1")},
			want: ""},
		{name: "undated and dated events of one address: the dated one ties", ips: []seams.IPEvent{undated("203.0.113.7"), ipEvent("203.0.113.7", "2024-05-01T22:14:03Z")},
			want: "c-a:tied:ip-undated+ip c-b:potential:ip-undated+ip-drift"},
		{name: "undated event beside a device without time: the device ties", ips: []seams.IPEvent{undated("203.0.113.7")}, devices: []seams.Device{dev("imei", "358240051111110", "")},
			want: "c-a:tied:ip-undated+device c-b:potential:ip-undated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			drift := DefaultDrift
			if c.drift != 0 {
				drift = c.drift
			}
			m := NewMatcher(x, drift)
			r := seams.Report{ID: "r-1", IPs: c.ips, Devices: c.devices}
			if got := summarize(m.Match(&r)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestEvidenceDetail checks what a finding carries beyond its rules: the
// drift distance, the shared prefix, the observation.
func TestEvidenceDetail(t *testing.T) {
	x := testIndex(t)
	m := NewMatcher(x, DefaultDrift)
	r := seams.Report{ID: "r-1", IPs: []seams.IPEvent{
		ipEvent("203.0.113.7", "2024-06-10T01:00:00Z"),
		ipEvent("203.0.113.99", "2024-05-10T00:00:00Z"),
	}}
	fs := m.Match(&r)
	if len(fs) != 2 {
		t.Fatalf("got %d findings: %s", len(fs), summarize(fs))
	}
	a := fs[0].Evidence[0]
	if a.Drift != time.Hour+time.Nanosecond {
		t.Errorf("drift = %s, want 1h0m0.000000001s", a.Drift)
	}
	if a.Observed.IP.String() != "203.0.113.7" || a.Indicator.Compound != "c-a" {
		t.Errorf("evidence observed %s from %s", a.Observed.IP, a.Indicator.Compound)
	}
	var shared *seams.Evidence
	for i := range fs[1].Evidence {
		if fs[1].Evidence[i].Observed.IP.String() == "203.0.113.99" {
			shared = &fs[1].Evidence[i]
		}
	}
	if shared == nil || shared.Shared.String() != "203.0.113.96/27" {
		t.Errorf("shared evidence = %+v, want shared prefix 203.0.113.96/27", shared)
	}
	// An undated event's evidence shows no time, no drift, and its shared
	// prefix.
	r = seams.Report{ID: "r-2", IPs: []seams.IPEvent{undated("203.0.113.99")}}
	fs = m.Match(&r)
	if len(fs) != 1 || len(fs[0].Evidence) != 1 {
		t.Fatalf("undated: %s", summarize(fs))
	}
	if u := fs[0].Evidence[0]; !u.Observed.At.IsZero() || u.Drift != 0 || u.Shared.String() != "203.0.113.96/27" || u.Indicator.Value != "203.0.113.99" {
		t.Errorf("undated evidence %+v, want no time, no drift, shared 203.0.113.96/27, indicator 203.0.113.99", u)
	}
	if _, ok := x.Shared(netip.MustParseAddr("100.64.0.1")); !ok {
		t.Error("100.64.0.0/10 must always be shared")
	}
}

// TestNewIndexErrors checks that an index refuses what the registry reader
// should have refused before it.
func TestNewIndexErrors(t *testing.T) {
	c := []seams.Compound{{ID: "c-a"}}
	if _, err := NewIndex(c, []seams.Indicator{ind("c-z", "ip", "203.0.113.1", "", "")}, nil); err == nil {
		t.Error("indicator of an unknown compound accepted")
	}
	if _, err := NewIndex(append(c, c[0]), nil, nil); err == nil {
		t.Error("duplicate compound accepted")
	}
}

// TestMatchAllocations checks the steady state of the hot path allocates
// nothing, matched or not.
func TestMatchAllocations(t *testing.T) {
	x := testIndex(t)
	m := NewMatcher(x, DefaultDrift)
	id, _ := seams.NewDeviceID("imei", "358240051111110")
	r := seams.Report{ID: "r-1", IPs: []seams.IPEvent{ipEvent("203.0.113.7", "2024-05-01T00:00:00Z"), ipEvent("192.0.2.55", "2024-05-01T00:00:00Z"), undated("203.0.113.99")},
		Devices: []seams.Device{{ID: id}}}
	m.Match(&r)
	if n := testing.AllocsPerRun(100, func() { m.Match(&r) }); n != 0 {
		t.Errorf("Match allocates %.1f times per report, want 0", n)
	}
}

// TestASNIndicator: an asn indicator matches the addresses of its AS's
// networks in its window, as potential evidence of rule asn, once per event
// however its networks nest; it does not drift.
func TestASNIndicator(t *testing.T) {
	compounds := []seams.Compound{{ID: "c-a", Country: "KH"}}
	b, err := NewBuilder(compounds)
	if err != nil {
		t.Fatal(err)
	}
	in, err := seams.ParseIndicatorValue(seams.KindASN, "AS64497")
	if err != nil {
		t.Fatal(err)
	}
	in.Compound = "c-a"
	in.Window, _ = seams.ParseWindow("2024-01-01", "2024-12-31")
	nets := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("198.51.100.0/25"), netip.MustParsePrefix("198.51.100.77/32")}
	if err := b.AddASN(&in, nets); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(&in); err == nil {
		t.Error("Add took an asn indicator without its networks")
	}
	x, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if c := x.Counts(); c.ASN != 1 || c.IP+c.CIDR != 0 {
		t.Errorf("counts %+v, want one asn indicator", c)
	}
	m := NewMatcher(x, DefaultDrift)
	for _, c := range []struct {
		name, addr, at string
		want           string
	}{
		{"inside nested networks: one piece of evidence", "198.51.100.9", "2024-05-01T00:00:00Z", "c-a:potential:asn"},
		{"a one-address network of the AS", "198.51.100.77", "2024-05-01T00:00:00Z", "c-a:potential:asn"},
		{"outside the AS", "198.51.101.1", "2024-05-01T00:00:00Z", ""},
		{"outside the window, no drift for an AS", "198.51.100.9", "2025-01-01T00:00:01Z", ""},
		{"undated event in the AS is nothing", "198.51.100.9", "", ""},
		{"undated event at a one-address network of the AS is nothing", "198.51.100.77", "", ""},
	} {
		e := undated(c.addr)
		if c.at != "" {
			e = ipEvent(c.addr, c.at)
		}
		r := seams.Report{ID: "r", IPs: []seams.IPEvent{e}}
		fs := m.Match(&r)
		if got := summarize(fs); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		if len(fs) == 1 && fs[0].Evidence[0].Indicator.Value != "AS64497" {
			t.Errorf("%s: evidence names %q", c.name, fs[0].Evidence[0].Indicator.Value)
		}
	}
}

// TestOnly: a matcher restricted to some rules gives the findings of those
// rules alone, tiers recomputed from what is left, the same through Match
// and MatchAll.
func TestOnly(t *testing.T) {
	x := testIndex(t)
	r := seams.Report{ID: "r-1", IPs: []seams.IPEvent{
		ipEvent("203.0.113.7", "2024-04-09T00:00:00Z"),   // c-a ip; c-b ip-drift
		ipEvent("198.51.100.77", "2024-05-02T00:00:00Z"), // c-a cidr x2; c-b ip
		undated("192.0.2.10"),                            // c-b ip-undated
	}, Devices: []seams.Device{{ID: seams.DeviceID{Type: "imei", Value: "358240051111110"}, At: mustTime("2024-02-01T00:00:00Z")}}}
	for _, tc := range []struct {
		name  string
		rules []seams.Rule
		want  string
	}{
		{"every rule", nil, "c-a:tied:ip+cidr+cidr+device c-b:tied:ip-drift+ip+ip-undated"},
		{"device and ip", []seams.Rule{seams.RuleDevice, seams.RuleIP}, "c-a:tied:ip+device c-b:tied:ip"},
		{"cidr only: potential", []seams.Rule{seams.RuleCIDR}, "c-a:potential:cidr+cidr"},
		{"undated only", []seams.Rule{seams.RuleIPUndated}, "c-b:potential:ip-undated"},
		{"a rule that does not fire", []seams.Rule{seams.RuleASN}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMatcher(x, DefaultDrift)
			m.Only(tc.rules...)
			if got := summarize(m.Match(&r)); got != tc.want {
				t.Errorf("Match: got %q, want %q", got, tc.want)
			}
			var all string
			m.MatchAll([]seams.Report{r}, func(_ int, fs []seams.Finding) { all = summarize(fs) })
			if all != tc.want {
				t.Errorf("MatchAll: got %q, want %q", all, tc.want)
			}
		})
	}
}

// TestMatchOwnDrift: an indicator's own drift bound narrows the run's (the
// smaller applies); zero is no ip-drift evidence at all; inside the window,
// and for an undated event, the bound changes nothing; the evidence's
// indicator carries its bound.
func TestMatchOwnDrift(t *testing.T) {
	compounds := []seams.Compound{{ID: "c-zero"}, {ID: "c-none"}, {ID: "c-hour"}, {ID: "c-year"}}
	bound := func(in seams.Indicator, d time.Duration) seams.Indicator {
		in.Drift, in.HasDrift = d, true
		return in
	}
	inds := []seams.Indicator{
		bound(ind("c-zero", "ip", "192.0.2.1", "2024-05-01", "2024-05-31"), 0),
		ind("c-none", "ip", "192.0.2.1", "2024-05-01", "2024-05-31"),
		bound(ind("c-hour", "ip", "192.0.2.1", "2024-05-01", "2024-05-31"), time.Hour),
		bound(ind("c-year", "ip", "192.0.2.1", "2024-05-01", "2024-05-31"), 365*24*time.Hour),
	}
	x, err := NewIndex(compounds, inds, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		drift time.Duration
		event seams.IPEvent
		want  string
	}{
		{"inside the window: every one ties", DefaultDrift, ipEvent("192.0.2.1", "2024-05-15T00:00:00Z"),
			"c-zero:tied:ip c-none:tied:ip c-hour:tied:ip c-year:tied:ip"},
		{"a second after: all but zero", DefaultDrift, ipEvent("192.0.2.1", "2024-06-01T00:00:00Z"),
			"c-none:potential:ip-drift c-hour:potential:ip-drift c-year:potential:ip-drift"},
		{"exactly an hour after: the hour is closed", DefaultDrift, ipEvent("192.0.2.1", "2024-06-01T00:59:59.999999999Z"),
			"c-none:potential:ip-drift c-hour:potential:ip-drift c-year:potential:ip-drift"},
		{"just over an hour after", DefaultDrift, ipEvent("192.0.2.1", "2024-06-01T01:00:00Z"),
			"c-none:potential:ip-drift c-year:potential:ip-drift"},
		{"15 minutes before, run drift 30 minutes: the run's is smaller", 30 * time.Minute, ipEvent("192.0.2.1", "2024-04-30T23:45:00Z"),
			"c-none:potential:ip-drift c-hour:potential:ip-drift c-year:potential:ip-drift"},
		{"100 days after: beyond the run's 90, within the year's own", DefaultDrift, ipEvent("192.0.2.1", "2024-09-08T00:00:00Z"),
			""},
		{"run drift zero: none, whatever the bounds", -1, ipEvent("192.0.2.1", "2024-06-01T00:00:00Z"), ""},
		{"undated: ip-undated whatever the bound", DefaultDrift, undated("192.0.2.1"),
			"c-zero:potential:ip-undated c-none:potential:ip-undated c-hour:potential:ip-undated c-year:potential:ip-undated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewMatcher(x, c.drift)
			r := seams.Report{ID: "r-1", IPs: []seams.IPEvent{c.event}}
			fs := m.Match(&r)
			if got := summarize(fs); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			for _, f := range fs {
				got := f.Evidence[0].Indicator
				want := inds[slices.IndexFunc(compounds, func(k seams.Compound) bool { return k.ID == f.Compound })]
				if got.HasDrift != want.HasDrift || got.Drift != want.Drift {
					t.Errorf("%s: evidence indicator's bound %v,%v; want %v,%v", f.Compound, got.HasDrift, got.Drift, want.HasDrift, want.Drift)
				}
			}
		})
	}
}
