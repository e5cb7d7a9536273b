package jsonl

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/seams-dev/seams"
)

// generalEvent decodes the ip event object at the start of obj with the
// general path alone, as the slow twin of ipEventCompact.
func generalEvent(t *testing.T, obj []byte) (e seams.IPEvent, end int, ok bool) {
	t.Helper()
	var p Parser
	p.s.data = obj
	var r seams.Report
	if err := p.ipEventGeneral(&r, 0); err != nil || len(p.Problems) > 0 || len(r.IPs) != 1 {
		return e, 0, false
	}
	return r.IPs[0], p.s.pos, true
}

// checkCompact holds ipEventCompact to the general path on obj: whenever
// it takes an object, the general path takes it too, with the same event
// and the same end.
func checkCompact(t *testing.T, obj []byte) (taken bool) {
	t.Helper()
	var e seams.IPEvent
	end, ok := ipEventCompact(obj, 0, &e)
	if !ok {
		return false
	}
	want, wantEnd, wantOK := generalEvent(t, obj)
	if !wantOK {
		t.Fatalf("ipEventCompact(%q) took an object the general path does not", obj)
	}
	if end != wantEnd || describeEvent(e) != describeEvent(want) {
		t.Fatalf("ipEventCompact(%q) = %s end %d, general path %s end %d", obj, describeEvent(e), end, describeEvent(want), wantEnd)
	}
	return true
}

// generalDevice decodes the device object at the start of obj with the
// general path alone, as the slow twin of deviceCompact.
func generalDevice(t *testing.T, obj []byte) (dev seams.Device, end int, ok bool) {
	t.Helper()
	var p Parser
	p.s.data = obj
	var r seams.Report
	if err := p.deviceGeneral(&r, 0); err != nil || len(p.Problems) > 0 || len(r.Devices) != 1 {
		return dev, 0, false
	}
	return r.Devices[0], p.s.pos, true
}

// checkDeviceCompact is checkCompact for deviceCompact.
func checkDeviceCompact(t *testing.T, obj []byte) (taken bool) {
	t.Helper()
	var dev seams.Device
	end, ok := deviceCompact(obj, 0, &dev)
	if !ok {
		return false
	}
	want, wantEnd, wantOK := generalDevice(t, obj)
	if !wantOK {
		t.Fatalf("deviceCompact(%q) took an object the general path does not", obj)
	}
	if end != wantEnd || describeDevice(dev) != describeDevice(want) {
		t.Fatalf("deviceCompact(%q) = %s end %d, general path %s end %d", obj, describeDevice(dev), end, describeDevice(want), wantEnd)
	}
	return true
}

func describeDevice(d seams.Device) string {
	r := seams.Report{Devices: []seams.Device{d}}
	return describeReport(&r)
}

func describeEvent(e seams.IPEvent) string {
	r := seams.Report{IPs: []seams.IPEvent{e}}
	return describeReport(&r)
}

func TestIPEventCompact(t *testing.T) {
	const at = `"at":"2024-05-01T22:14:03Z"`
	for _, c := range []struct {
		obj   string
		taken bool // by the fast path; otherwise the general path decides
	}{
		{`{"ip":"203.0.113.7",` + at + `}`, true},
		{`{"ip":"0.0.0.0",` + at + `}`, true},
		{`{"ip":"255.255.255.255","at":"2024-05-01T22:14:03.123+07:00"}`, true},
		{`{"ip":"203.0.113.7",` + at + `,"event":"login"}`, true},
		{`{"ip":"203.0.113.7",` + at + `,"event":""}`, true},
		{`{"ip":"203.0.113.7",` + at + `,"event":"login","port":51234}`, true},
		{`{"ip":"203.0.113.7",` + at + `,"port":0}`, true},
		{`{"ip":"203.0.113.7",` + at + `,"port":65535,"proxy":true}`, true},
		{`{"ip":"203.0.113.7",` + at + `,"event":"upload","port":1,"proxy":false}`, true},
		{`{"ip":"2001:db8::1",` + at + `}`, true},
		{`{"ip":"::ffff:198.51.100.9",` + at + `}`, true},
		{`{"ip":"fe80::1%eth0",` + at + `}`, true},

		{`{"ip":"203.0.113.07",` + at + `}`, false}, // a leading zero: the general path's problem
		{`{"ip":"203.0.113.256",` + at + `}`, false},
		{`{"ip":"203.0.113",` + at + `}`, false},
		{`{"ip":"203.0.113.7.1",` + at + `}`, false},
		{`{"ip":"1000.0.113.7",` + at + `}`, false},
		{`{"ip":"N/A",` + at + `}`, false},
		{`{"ip":"\u0032.0.113.7",` + at + `}`, false}, // an escape
		{`{"ip":"203.0.113.7"}`, false},
		{`{"ip":"203.0.113.7","at":"2024-05-01T22:14:03,5Z"}`, false},
		{`{"ip":"203.0.113.7","at":"1600-01-01T00:00:00Z"}`, false},
		{`{"ip":"203.0.113.7","at":null}`, false},
		{`{"ip":"203.0.113.7", ` + at + `}`, false}, // whitespace
		{`{"ip":"203.0.113.7",` + at + ` }`, false},
		{`{ "ip":"203.0.113.7",` + at + `}`, false},
		{`{"at":"2024-05-01T22:14:03Z","ip":"203.0.113.7"}`, false}, // another order
		{`{"ip":"203.0.113.7",` + at + `,"port":65536}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"port":01}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"port":1.5}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"port":1e3}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"port":-1}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"port":123456}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"proxy":tru}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"proxy":truex}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"proxy":null}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"event":"log\"in"}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"event":"é"}`, false}, // UTF-8 to check
		{`{"ip":"203.0.113.7",` + at + `,"event":null}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"port":1,"event":"login"}`, false},
		{`{"ip":"203.0.113.7",` + at + `,"event":"a","event":"b"}`, false}, // a repeated key
		{`{"ip":"203.0.113.7",` + at + `,"client":{}}`, false},
		{`{"ip":"203.0.113.7",` + at + `,}`, false},
		{`{"ip":"203.0.113.7",` + at, false},
	} {
		if got := checkCompact(t, []byte(c.obj)); got != c.taken {
			t.Errorf("ipEventCompact(%s) ok = %v, want %v", c.obj, got, c.taken)
		}
		// The same object inside a line gives the reference's outcome.
		compareWithReference(t, []byte(`{"id":"r","ips":[`+c.obj+`,`+c.obj+`]}`))
	}
}

func TestDeviceCompact(t *testing.T) {
	for _, c := range []struct {
		obj   string
		taken bool
	}{
		{`{"type":"imei","value":"358240051111110"}`, true},
		{`{"type":"imei","value":"358240051111110","at":"2024-05-01T22:10:00Z"}`, true},
		{`{"type":"IDFA","value":"6D92078A-8246-4BA4-AE5B-76104861E7DC","at":"2024-07-08T08:44:19+07:00"}`, true},
		{`{"type":" imei ","value":" 1 "}`, true},
		{`{"type":"a:b","value":"c"}`, true}, // a type with a colon is kept, not matchable
		{`{"type":"imei","value":"1","at":""}`, true},

		{`{"type":"","value":"c"}`, false},
		{`{"type":"imei","value":""}`, false},
		{`{"type":"  ","value":"1"}`, false},
		{`{"type":"imei","value":"1","at":5}`, false},
		{`{"type":"imei","value":"1","at":"yesterday"}`, false},
		{`{"type":"imei","value":"1","at":null}`, false},
		{`{"value":"1","type":"imei"}`, false},
		{`{"type":"imei"}`, false},
		{`{"type":"im\u0065i","value":"1"}`, false},
		{`{"type":"imei","value":"1","x":1}`, false},
		{`{"type":"imei","value":"1","at":"2024-05-01T22:10:00Z","at":"2024-05-01T22:10:00Z"}`, false},
		{`{"type":"imei", "value":"1"}`, false},
		{`{"type":"imei","value":"1"`, false},
	} {
		if got := checkDeviceCompact(t, []byte(c.obj)); got != c.taken {
			t.Errorf("deviceCompact(%s) ok = %v, want %v", c.obj, got, c.taken)
		}
		compareWithReference(t, []byte(`{"id":"r","devices":[`+c.obj+`,`+c.obj+`]}`))
	}
}

// FuzzDeviceCompact holds the fast path of devices to the general path.
func FuzzDeviceCompact(f *testing.F) {
	for _, s := range []string{
		`{"type":"imei","value":"358240051111110","at":"2024-05-01T22:10:00Z"}`,
		`{"type":"IDFA","value":" x "}`,
		`{"type":"a:b","value":"c","at":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		checkDeviceCompact(t, obj)
	})
}

// FuzzIPEventCompact holds the fast path of ip events to the general path:
// it may leave any object to the general path, but one that it takes must
// come out the same.
func FuzzIPEventCompact(f *testing.F) {
	for _, s := range []string{
		`{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":"login","port":51234,"proxy":false}`,
		`{"ip":"2001:db8::1","at":"2024-05-01T22:14:03.123456789+07:00","proxy":true}`,
		`{"ip":"1.2.3.4","at":"2024-05-01T22:14:03Z","port":0}`,
		`{"ip":"01.2.3.4","at":"2024-05-01T22:14:03Z"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		checkCompact(t, obj)
	})
}

// FuzzParseIPv4Quoted holds the quoted dotted-quad reader to parseIPv4: it
// takes exactly the strings of digits and dots that parseIPv4 takes, with
// the same address.
func FuzzParseIPv4Quoted(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "0.0.0.0", "255.255.255.255", "256.0.0.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4\"5", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The quote ends the string; the bytes after it stand for the rest
		// of the line, which the reader may look at but not take.
		if i := bytes.IndexByte(b, '"'); i >= 0 {
			b = b[:i]
		}
		d := append(append(append([]byte(nil), b...), '"'), "}]}"...)
		a, end, ok := parseIPv4Quoted(d, 0)
		want, wantOK := parseIPv4(b)
		if ok != wantOK || ok && (a != want || end != len(b)+1) {
			t.Fatalf("parseIPv4Quoted(%q) = %v, %d, %v; parseIPv4 = %v, %v", d, a, end, ok, want, wantOK)
		}
	})
}

func TestParseIPv4Quoted(t *testing.T) {
	for _, s := range []string{"203.0.113.7", "0.0.0.0", "255.255.255.255", "9.99.199.10", "256.0.0.1", "01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "", "1.2.3.4a", "1.2.3.4 "} {
		d := []byte(s + `"}]}`)
		a, end, ok := parseIPv4Quoted(d, 0)
		want, wantOK := parseIPv4([]byte(s))
		if ok != wantOK || ok && (a != want || end != len(s)+1) {
			t.Errorf("parseIPv4Quoted(%q) = %v, %d, %v; parseIPv4 = %v, %v", d, a, end, ok, want, wantOK)
		}
		if wantOK && want != netip.MustParseAddr(s) {
			t.Errorf("parseIPv4(%q) = %v", s, want)
		}
	}
	// Too near the end of the line to read a field's three bytes: left to
	// the general path, which gives the same address.
	if _, _, ok := parseIPv4Quoted([]byte(`1.2.3.4"`), 0); ok {
		t.Error("parseIPv4Quoted read past the end of the line")
	}
}
