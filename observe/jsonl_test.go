package observe

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// The device of the examples: a synthetic advertising id.
const testDevice = "aaid:6f1e8a52-0c4b-4c1e-9d2a-7b3e5f9a1c20"

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func testObs(f func(*Observation)) *Observation {
	o := &Observation{Device: seams.DeviceID{Type: "aaid", Value: "6f1e8a52-0c4b-4c1e-9d2a-7b3e5f9a1c20"},
		At: mustTime("2024-05-01T22:14:03Z"), Lat: 10.6, Lon: 103.5}
	if f != nil {
		f(o)
	}
	return o
}

// TestParseJSON checks each field rule on one line. Every row runs through
// ParseJSON and, separately, through the slow path alone: the two must
// agree whenever the fast scanner takes the line.
func TestParseJSON(t *testing.T) {
	base := `"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5`
	tests := []struct {
		name   string
		line   string
		want   *Observation // nil when rejected
		reason string
	}{
		{"minimal", `{` + base + `}`, testObs(nil), ""},
		{"all fields", `{` + base + `,"accuracy_m":12.5,"ip":"203.0.113.7"}`,
			testObs(func(o *Observation) { o.Accuracy, o.HasAccuracy, o.IP = 12.5, true, netip.MustParseAddr("203.0.113.7") }), ""},
		{"white space everywhere", " {\t\"device\" : \"" + testDevice + "\" , \"at\":\"2024-05-01T22:14:03Z\",\"lat\" :10.6,\"lon\": 103.5 } ", testObs(nil), ""},
		{"fields in another order", `{"lon":103.5,"lat":10.6,"at":"2024-05-01T22:14:03Z","device":"` + testDevice + `"}`, testObs(nil), ""},
		{"time with an offset", `{"device":"` + testDevice + `","at":"2024-05-02T05:14:03+07:00","lat":10.6,"lon":103.5}`, testObs(nil), ""},
		{"device type upper case", `{"device":"AAID:6f1e8a52-0c4b-4c1e-9d2a-7b3e5f9a1c20","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, testObs(nil), ""},
		{"device with spaces", `{"device":" aaid : 6f1e8a52-0c4b-4c1e-9d2a-7b3e5f9a1c20 ","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, testObs(nil), ""},
		{"ipv4-mapped ip", `{` + base + `,"ip":"::ffff:203.0.113.7"}`, testObs(func(o *Observation) { o.IP = netip.MustParseAddr("203.0.113.7") }), ""},
		{"ipv6 ip", `{` + base + `,"ip":"2001:db8::7"}`, testObs(func(o *Observation) { o.IP = netip.MustParseAddr("2001:db8::7") }), ""},
		{"private ip is kept", `{` + base + `,"ip":"192.168.1.5"}`, testObs(func(o *Observation) { o.IP = netip.MustParseAddr("192.168.1.5") }), ""},
		{"null ip and accuracy", `{` + base + `,"ip":null,"accuracy_m":null}`, testObs(nil), ""},
		{"empty ip", `{` + base + `,"ip":""}`, testObs(nil), ""},
		{"accuracy zero", `{` + base + `,"accuracy_m":0}`, testObs(func(o *Observation) { o.HasAccuracy = true }), ""},
		{"exponent numbers", `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":1.06e1,"lon":1035E-1}`, testObs(nil), ""},
		{"unknown fields ignored", `{` + base + `,"speed":3,"tags":["a",{"b":null}],"ok":true,"no":false,"n":null}`, testObs(nil), ""},
		{"escapes in strings", `{"device":"aaid:6f1e8a52-0c4b-4c1e-9d2a-7b3e5f9a1c2\u0030","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, testObs(nil), ""},
		{"repeated field, last wins", `{` + base + `,"lat":11}`, testObs(func(o *Observation) { o.Lat = 11 }), ""},
		{"null undoes a repeated field", `{` + base + `,"accuracy_m":5,"accuracy_m":null}`, testObs(nil), ""},
		{"negative zero is zero", `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":-0,"lon":103.5}`, testObs(func(o *Observation) { o.Lat = 0 }), ""},

		{"not JSON", `{"device":`, nil, "not a JSON object: unexpected end of JSON input"},
		{"an array", `[1,2]`, nil, "not a JSON object (a JSON array)"},
		{"a string", `"x"`, nil, "not a JSON object (a JSON string)"},
		{"null", `null`, nil, "not a JSON object (null)"},
		{"trailing garbage", `{` + base + `} x`, nil, "not a JSON object: invalid character 'x' after top-level value"},
		{"device missing", `{"at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, nil, "device is missing"},
		{"device null", `{"device":null,"at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, nil, "device is missing"},
		{"device empty", `{"device":"","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, nil, "device is empty"},
		{"device without type", `{"device":"6f1e8a52","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, nil, `invalid device "6f1e8a52" (want TYPE:VALUE`},
		{"device without value", `{"device":"aaid: ","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, nil, `invalid device "aaid: ": device value is empty`},
		{"device a number", `{"device":7,"at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, nil, "device: want a string, got 7"},
		{"at missing", `{"device":"` + testDevice + `","lat":10.6,"lon":103.5}`, nil, "at is missing (want an RFC 3339 time)"},
		{"at empty", `{"device":"` + testDevice + `","at":"","lat":10.6,"lon":103.5}`, nil, "at is missing"},
		{"at a date", `{"device":"` + testDevice + `","at":"2024-05-01","lat":10.6,"lon":103.5}`, nil, `at: invalid RFC 3339 time "2024-05-01"`},
		{"at out of range", `{"device":"` + testDevice + `","at":"2300-01-01T00:00:00Z","lat":10.6,"lon":103.5}`, nil, "time outside the supported range"},
		{"at a number", `{"device":"` + testDevice + `","at":1714601643,"lat":10.6,"lon":103.5}`, nil, "at: want a string, got 1714601643"},
		{"lat missing", `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lon":103.5}`, nil, "lat is missing"},
		{"lon missing", `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6}`, nil, "lon is missing"},
		{"lat a string", `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":"10.6","lon":103.5}`, nil, `lat: want a number, got "10.6"`},
		{"lat out of range", `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":103.5,"lon":10.6}`, nil, "lat 103.5 outside [-90,90]"},
		{"lon out of range", `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":-190}`, nil, "lon -190 outside [-180,180]"},
		{"number too large", `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":1e999,"lon":103.5}`, nil, "lat: number 1e999 out of range"},
		{"null island", `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":0,"lon":0}`, nil, "null island"},
		{"negative accuracy", `{` + base + `,"accuracy_m":-1}`, nil, "accuracy_m -1: want a radius of 0 meters or more"},
		{"accuracy a string", `{` + base + `,"accuracy_m":"12"}`, nil, `accuracy_m: want a number, got "12"`},
		{"bad ip", `{` + base + `,"ip":"203.0.113"}`, nil, `ip: invalid IP address "203.0.113"`},
		{"ip a number", `{` + base + `,"ip":7}`, nil, "ip: want a string, got 7"},
		{"ip with a zone is the address", `{` + base + `,"ip":"fe80::1%eth0"}`, testObs(func(o *Observation) { o.IP = netip.MustParseAddr("fe80::1") }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Observation
			why := ParseJSON([]byte(tt.line), &o)
			check := func(path, why string, o *Observation) {
				t.Helper()
				if tt.want == nil {
					if why == "" || !strings.Contains(why, tt.reason) {
						t.Fatalf("%s: reason %q, want %q", path, why, tt.reason)
					}
					return
				}
				if why != "" {
					t.Fatalf("%s: rejected: %s", path, why)
				}
				if *o != *tt.want {
					t.Fatalf("%s: got %+v, want %+v", path, *o, *tt.want)
				}
			}
			check("ParseJSON", why, &o)
			var f fields
			var slow Observation
			why = decodeJSON([]byte(tt.line), &f)
			if why == "" {
				why = f.observation(&slow)
			}
			check("slow path", why, &slow)
		})
	}
}

// TestScanFlatTakesTheCommonShape checks that the lines a data provider
// writes go through the fast scanner, which allocates nothing.
func TestScanFlatTakesTheCommonShape(t *testing.T) {
	line := []byte(`{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5,"accuracy_m":12,"ip":"203.0.113.7"}`)
	var f fields
	if !scanFlat(line, &f) {
		t.Fatal("scanFlat refused the common shape")
	}
	var o Observation
	if n := testing.AllocsPerRun(100, func() { ParseJSON(line, &o) }); n != 0 {
		t.Errorf("ParseJSON allocates %v times a line", n)
	}
}

func BenchmarkParseJSON(b *testing.B) {
	line := []byte(`{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.612345,"lon":103.512345,"accuracy_m":12,"ip":"203.0.113.7"}`)
	var o Observation
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if why := ParseJSON(line, &o); why != "" {
			b.Fatal(why)
		}
	}
}

func TestQuickIP(t *testing.T) {
	base := `"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5`
	for _, c := range []struct {
		line string
		ip   string // "" for none
		ok   bool
	}{
		{`{` + base + `,"ip":"203.0.113.7"}`, "203.0.113.7", true},
		{`{` + base + `,"ip":" ::ffff:203.0.113.7 "}`, "203.0.113.7", true},
		{`{` + base + `}`, "", true},
		{`{` + base + `,"ip":""}`, "", true},
		{`{` + base + `,"ip":"not an address"}`, "", true},
		{`{` + base + `,"ip":null}`, "", false},
		{`{` + base + `,"ip" : "203.0.113.7"}`, "", false},
		{`{` + base + `,"ip":"203.0.113.7","ip":"203.0.113.8"}`, "", false},
		{`{` + base + `,"x":"\"","ip":"203.0.113.7"}`, "", false},
		{`{"device":"ip",` + base[len(`"device":"`+testDevice+`",`):] + `}`, "", false},
	} {
		ip, ok := QuickIP([]byte(c.line))
		want := netip.Addr{}
		if c.ip != "" {
			want = netip.MustParseAddr(c.ip)
		}
		if ok != c.ok || ok && ip != want {
			t.Errorf("QuickIP(%s) = %v, %v; want %v, %v", c.line, ip, ok, want, c.ok)
		}
	}
}

// nestedLine is an observation as some providers write it: the common
// fields, and nested objects and arrays the reader does not use.
var nestedLine = []byte(`{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.612345,"lon":103.512345,"accuracy_m":12,"ip":"203.0.113.7",` +
	`"meta":{"sdk":"loc-sdk/4.2.1","os":{"name":"android","version":"14"},"battery":0.82,"charging":false},"wifi":[{"bssid":"02:00:5e:10:00:01","rssi":-61},{"bssid":"02:00:5e:10:00:02","rssi":-74}],"tags":["fg","gps"]}`)

func BenchmarkParseJSONNested(b *testing.B) {
	var o Observation
	b.SetBytes(int64(len(nestedLine)))
	for b.Loop() {
		if why := ParseJSON(nestedLine, &o); why != "" {
			b.Fatal(why)
		}
	}
}

// TestScanFlatSkipsNested checks that nested values of fields the reader
// does not use keep a line on the fast path, and that what the fast path
// cannot be sure of still goes to encoding/json.
func TestScanFlatSkipsNested(t *testing.T) {
	base := `"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5`
	for _, c := range []struct {
		name string
		line string
		fast bool
	}{
		{"nested provider fields", string(nestedLine), true},
		{"empty object and array", `{` + base + `,"a":{},"b":[],"c":[ ],"d":{ }}`, true},
		{"deep", `{` + base + `,"a":[[[[{"x":[1,2,{"y":null}]}]]]]}`, true},
		{"escapes and other bytes in unused strings", `{` + base + `,"note":"caf\u00e9 \"quoted\" \\ \/ \n","city":"Phnom Penh ភ្នំពេញ"}`, true},
		{"true and false", `{` + base + `,"a":true,"b":false,"c":[true,false,null]}`, true},
		{"nested value of a used field", `{` + base + `,"ip":{"v4":"203.0.113.7"}}`, false},
		{"escape in a used field", `{"device":"aaid:6f1e8a52-0c4b-4c1e-9d2a-7b3e5f9a1c2\u0030","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`, false},
		{"escape in a key", `{` + base + `,"\u0069p":"203.0.113.7"}`, false},
		{"bad escape", `{` + base + `,"a":"\x"}`, false},
		{"short unicode escape", `{` + base + `,"a":"\u12"}`, false},
		{"control byte in a string", "{" + base + ",\"a\":\"x\ty\"}", false},
		{"unclosed array", `{` + base + `,"a":[1,2}`, false},
		{"trailing comma", `{` + base + `,"a":[1,2,]}`, false},
		{"missing colon", `{` + base + `,"a":{"b" 1}}`, false},
		{"too deep", `{` + base + `,"a":` + strings.Repeat("[", maxSkipDepth+1) + strings.Repeat("]", maxSkipDepth+1) + `}`, false},
	} {
		var f fields
		if got := scanFlat([]byte(c.line), &f); got != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.name, got, c.fast)
		}
		// Whatever the path, the result is encoding/json's.
		var fast, slow Observation
		why := ParseJSON([]byte(c.line), &fast)
		slowWhy := decodeJSON([]byte(c.line), &f)
		if slowWhy == "" {
			slowWhy = f.observation(&slow)
		}
		if why != slowWhy || fast != slow {
			t.Errorf("%s: ParseJSON %q %+v, encoding/json %q %+v", c.name, why, fast, slowWhy, slow)
		}
	}
	var o Observation
	if n := testing.AllocsPerRun(100, func() { ParseJSON(nestedLine, &o) }); n != 0 {
		t.Errorf("ParseJSON allocates %v times a nested line", n)
	}
}

func TestQuickDevice(t *testing.T) {
	rest := `"at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5`
	for _, c := range []struct {
		line string
		dev  string
		ok   bool
	}{
		{`{"device":"` + testDevice + `",` + rest + `}`, testDevice, true},
		{`{` + rest + `,"device":"idfa:6F1E8A52-0C4B"}`, "idfa:6F1E8A52-0C4B", true},
		{`{` + rest + `}`, "", true},
		{`{"device":"AAID:6f1e",` + rest + `}`, "", false},
		{`{"device":" aaid:6f1e",` + rest + `}`, "", false},
		{`{"device":"aaid:6f1e ",` + rest + `}`, "", false},
		{`{"device":"aaid :6f1e",` + rest + `}`, "", false},
		{`{"device":"aaid:",` + rest + `}`, "", false},
		{`{"device":"6f1e",` + rest + `}`, "", false},
		{`{"device": "aaid:6f1e",` + rest + `}`, "", false},
		{`{"device":null,` + rest + `}`, "", false},
		{`{"device":"aaid:1",` + rest + `,"meta":{"device":"aaid:2"}}`, "", false},
		{`{"device":"aaid:1",` + rest + `,"x":"\"device\":"}`, "", false},
		{`{"device":"émei:1",` + rest + `}`, "", false},
	} {
		dev, ok := QuickDevice([]byte(c.line))
		if ok != c.ok || ok && string(dev) != c.dev {
			t.Errorf("QuickDevice(%s) = %q, %v; want %q, %v", c.line, dev, ok, c.dev, c.ok)
		}
		var o Observation
		if why := ParseJSON([]byte(c.line), &o); ok && why == "" && o.Device.String() != string(dev) {
			t.Errorf("%s: QuickDevice %q, ParseJSON %q", c.line, dev, o.Device)
		}
	}
}
