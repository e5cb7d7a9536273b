package jsonl

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seams-dev/seams"
)

// TestParseLineRejectsWhole checks the exact reason given for each kind of
// line that is rejected whole.
func TestParseLineRejectsWhole(t *testing.T) {
	cases := []struct {
		name   string
		line   string
		reason string
		id     bool // the cause is ErrInvalidID
	}{
		{"not JSON", `not json`,
			`not valid JSON: unexpected 'n' at byte 1 (a report is a JSON object)`, false},
		{"an array, not an object", `[{"id":"r-1"}]`,
			`not valid JSON: unexpected '[' at byte 1 (a report is a JSON object)`, false},
		{"a string, not an object", `"r-1"`,
			`not valid JSON: unexpected '"' at byte 1 (a report is a JSON object)`, false},
		{"null, not an object", `null`,
			`not valid JSON: unexpected 'n' at byte 1 (a report is a JSON object)`, false},
		{"a number after spaces, not an object", `  42`,
			`not valid JSON: unexpected '4' at byte 3 (a report is a JSON object)`, false},
		{"missing id", `{"incident":"sextortion"}`,
			`invalid id: missing "id"`, true},
		{"empty object", `{}`,
			`invalid id: missing "id"`, true},
		{"id a number", `{"id":12}`,
			`invalid id: "id" is a number, not a string`, true},
		{"id null", `{"id":null}`,
			`invalid id: "id" is null, not a string`, true},
		{"id true", `{"id":true}`,
			`invalid id: "id" is true, not a string`, true},
		{"id an object", `{"id":{"v":"r-1"}}`,
			`invalid id: "id" is an object, not a string`, true},
		{"id an array", `{"id":["r-1"]}`,
			`invalid id: "id" is an array, not a string`, true},
		{"empty id", `{"id":""}`,
			`invalid id: "id" is empty`, true},
		{"a later id replaces a valid one", `{"id":"r-1","id":7}`,
			`invalid id: "id" is a number, not a string`, true},
		{"text after the object", `{"id":"r-1"}x`,
			`not valid JSON: unexpected 'x' at byte 13 (text after the report object)`, false},
		{"a second object on the line", `{"id":"r-1"} {"id":"r-2"}`,
			`not valid JSON: unexpected '{' at byte 14 (text after the report object)`, false},
		{"unterminated object", `{"id":"r-1"`,
			`not valid JSON: unexpected end of line (expected ',' or '}' after a value)`, false},
		{"trailing comma", `{"id":"r-1",}`,
			`not valid JSON: unexpected '}' at byte 13 (expected a string key)`, false},
		{"unquoted key", `{id:"r-1"}`,
			`not valid JSON: unexpected 'i' at byte 2 (expected a string key)`, false},
		{"missing colon", `{"id" "r-1"}`,
			`not valid JSON: unexpected '"' at byte 7 (expected ':' after key)`, false},
		{"unterminated string", `{"id":"r-1`,
			`not valid JSON: unexpected end of line (unterminated string)`, false},
		{"control character in a string", "{\"id\":\"r\x01\"}",
			`not valid JSON: unexpected '\x01' at byte 9 (control character in string)`, false},
		{"invalid escape", `{"id":"r\q"}`,
			`not valid JSON: unexpected 'q' at byte 10 (invalid escape)`, false},
		{"bad number in an unknown field", `{"id":"r-1","n":01}`,
			`not valid JSON: unexpected '1' at byte 18 (expected ',' or '}' after a value)`, false},
		{"bad literal", `{"id":"r-1","x":tru}`,
			`not valid JSON: unexpected 't' at byte 17 (invalid literal)`, false},
		{"syntax error inside ips is whole-line", `{"id":"r-1","ips":[{"ip":"203.0.113.7",}]}`,
			`not valid JSON: unexpected '}' at byte 40 (expected a string key)`, false},
		{"unclosed ips array", `{"id":"r-1","ips":[`,
			`not valid JSON: unexpected end of line (expected a value)`, false},
		{"nested deeper than encoding/json allows", `{"id":"r-1","x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
			`not valid JSON: nested deeper than 10000`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Parser
			var r seams.Report
			err := p.Parse([]byte(c.line), &r)
			if err == nil {
				t.Fatalf("Parse(%q) accepted the line: %+v", c.line, r)
			}
			if err.Error() != c.reason {
				t.Errorf("Parse reason\n got %s\nwant %s", err, c.reason)
			}
			if got := errors.Is(err, ErrInvalidID); got != c.id {
				t.Errorf("errors.Is(err, ErrInvalidID) = %v, want %v", got, c.id)
			}

			ok, rej := p.ParseLine("reports.jsonl", 7, []byte(c.line), DefaultMaxLine, &r)
			if ok || rej == nil {
				t.Fatalf("ParseLine: ok=%v rej=%v", ok, rej)
			}
			want := seams.RecordError{File: "reports.jsonl", Line: 7, Reason: c.reason, Raw: seams.TruncateRaw([]byte(c.line))}
			if *rej != want {
				t.Errorf("ParseLine rejection\n got %+v\nwant %+v", *rej, want)
			}
		})
	}
}

func TestParseLineLimits(t *testing.T) {
	cases := []struct {
		name    string
		line    string
		maxLine int
		ok      bool
		reason  string // for a rejection; "" with !ok for a blank line
	}{
		{"line one byte over the limit", `{"id":"r-1"}`, 11, false, "line longer than 11 bytes"},
		{"line exactly at the limit", `{"id":"r-1"}`, 12, true, ""},
		{"long line is rejected before parsing", `not json at all`, 3, false, "line longer than 3 bytes"},
		{"empty line is not a record", ``, 10, false, ""},
		{"spaces only is not a record", " \t ", 10, false, ""},
		{"CR only is not a record", "\r", 10, false, ""},
		{"object with CR of a CRLF ending", "{\"id\":\"r-1\"}\r", 20, true, ""},
		{"object with spaces around", " \t{\"id\":\"r-1\"} ", 20, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Parser
			var r seams.Report
			ok, rej := p.ParseLine("f", 3, []byte(c.line), c.maxLine, &r)
			if ok != c.ok {
				t.Fatalf("ParseLine(%q) ok = %v, want %v (rejection %v)", c.line, ok, c.ok, rej)
			}
			switch {
			case c.reason == "" && rej != nil:
				t.Fatalf("ParseLine(%q) rejected: %v", c.line, rej)
			case c.reason != "" && rej == nil:
				t.Fatalf("ParseLine(%q) gave no rejection", c.line)
			case c.reason != "":
				raw := c.line
				if len(c.line) > c.maxLine { // a long line keeps its first maxLine bytes, marked as cut
					raw = c.line[:c.maxLine] + "…"
				}
				want := seams.RecordError{File: "f", Line: 3, Reason: c.reason, Raw: raw}
				if *rej != want {
					t.Errorf("rejection %+v, want %+v", *rej, want)
				}
			}
			if ok && r.ID != "r-1" {
				t.Errorf("ID = %q", r.ID)
			}
		})
	}
}

// TestParseRejectsParts checks the item and exact reason of each part that is
// rejected on its own, and that the rest of the report is kept.
func TestParseRejectsParts(t *testing.T) {
	const at = `"at":"2024-05-01T22:14:03Z"`
	const good = `{"ip":"203.0.113.7",` + at + `}`
	const dev = `{"type":"imei","value":"358240051111110"}`
	cases := []struct {
		name    string
		line    string
		item    string
		reason  string
		raw     string // the part's JSON text; "" to skip the check
		ips     int    // events kept
		devices int    // devices kept
	}{
		{"ip not an address", `{"id":"r","ips":[` + good + `,` + good + `,` + good + `,{"ip":"N/A",` + at + `}]}`,
			"ips[3]", `invalid IP address "N/A"`, `{"ip":"N/A",` + at + `}`, 3, 0},
		{"ip empty", `{"id":"r","ips":[{"ip":"",` + at + `}]}`,
			"ips[0]", `invalid IP address ""`, "", 0, 0},
		{"ip with a prefix length", `{"id":"r","ips":[{"ip":"203.0.113.0/24",` + at + `}]}`,
			"ips[0]", `invalid IP address "203.0.113.0/24"`, "", 0, 0},
		{"ip with a leading zero", `{"id":"r","ips":[{"ip":"203.0.113.07",` + at + `}]}`,
			"ips[0]", `invalid IP address "203.0.113.07"`, "", 0, 0},
		{"ip missing", `{"id":"r","ips":[{` + at + `}]}`,
			"ips[0]", `missing "ip"`, "", 0, 0},
		{"ip null", `{"id":"r","ips":[{"ip":null,` + at + `}]}`,
			"ips[0]", `missing "ip"`, "", 0, 0},
		{"ip a number", `{"id":"r","ips":[{"ip":3405803783,` + at + `}]}`,
			"ips[0]", `ip: expected a string, got a number`, "", 0, 0},
		{"at a date only", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01"}]}`,
			"ips[0]", `at: invalid RFC 3339 time "2024-05-01"`, "", 0, 0},
		{"at without offset", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03"}]}`,
			"ips[0]", `at: invalid RFC 3339 time "2024-05-01T22:14:03"`, "", 0, 0},
		{"at with a comma fraction (ISO 8601, not RFC 3339)", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03,5Z"}]}`,
			"ips[0]", `at: invalid RFC 3339 time "2024-05-01T22:14:03,5Z"`, "", 0, 0},
		{"at out of range", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"1600-01-01T00:00:00Z"}]}`,
			"ips[0]", `at: "1600-01-01T00:00:00Z": ` + seams.ErrTimeRange.Error(), "", 0, 0},
		{"at a number", `{"id":"r","ips":[{"ip":"203.0.113.7","at":1714601643}]}`,
			"ips[0]", `at: expected a string, got a number`, "", 0, 0},
		{"event a number", `{"id":"r","ips":[{"ip":"203.0.113.7",` + at + `,"event":1}]}`,
			"ips[0]", `event: expected a string, got a number`, "", 0, 0},
		{"port over 65535", `{"id":"r","ips":[{"ip":"203.0.113.7",` + at + `,"port":65536}]}`,
			"ips[0]", `invalid port 65536 (want an integer 0-65535)`, "", 0, 0},
		{"port negative", `{"id":"r","ips":[{"ip":"203.0.113.7",` + at + `,"port":-1}]}`,
			"ips[0]", `invalid port -1 (want an integer 0-65535)`, "", 0, 0},
		{"port a fraction", `{"id":"r","ips":[{"ip":"203.0.113.7",` + at + `,"port":80.5}]}`,
			"ips[0]", `invalid port 80.5 (want an integer 0-65535)`, "", 0, 0},
		{"port with an exponent", `{"id":"r","ips":[{"ip":"203.0.113.7",` + at + `,"port":8e1}]}`,
			"ips[0]", `invalid port 8e1 (want an integer 0-65535)`, "", 0, 0},
		{"port a string", `{"id":"r","ips":[{"ip":"203.0.113.7",` + at + `,"port":"80"}]}`,
			"ips[0]", `port: expected a number, got a string`, "", 0, 0},
		{"proxy a string", `{"id":"r","ips":[{"ip":"203.0.113.7",` + at + `,"proxy":"yes"}]}`,
			"ips[0]", `proxy: expected true or false, got a string`, "", 0, 0},
		{"proxy a number", `{"id":"r","ips":[{"ip":"203.0.113.7",` + at + `,"proxy":1}]}`,
			"ips[0]", `proxy: expected true or false, got a number`, "", 0, 0},
		{"ip event a number", `{"id":"r","ips":[` + good + `,7]}`,
			"ips[1]", `expected an object, got a number`, `7`, 1, 0},
		{"ip event null", `{"id":"r","ips":[null,` + good + `]}`,
			"ips[0]", `expected an object, got null`, `null`, 1, 0},
		{"ip event a string", `{"id":"r","ips":["203.0.113.7"]}`,
			"ips[0]", `expected an object, got a string`, `"203.0.113.7"`, 0, 0},
		{"ips a string", `{"id":"r","ips":"203.0.113.7","devices":[` + dev + `]}`,
			"ips", `expected an array, got a string`, `"203.0.113.7"`, 0, 1},
		{"ips an object", `{"id":"r","ips":` + good + `}`,
			"ips", `expected an array, got an object`, good, 0, 0},
		{"ips a number", `{"id":"r","ips":0}`,
			"ips", `expected an array, got a number`, `0`, 0, 0},
		{"ips false", `{"id":"r","ips":false}`,
			"ips", `expected an array, got false`, `false`, 0, 0},
		{"devices an object", `{"id":"r","devices":` + dev + `,"ips":[` + good + `]}`,
			"devices", `expected an array, got an object`, dev, 1, 0},
		{"device type missing", `{"id":"r","devices":[{"value":"358240051111110"}]}`,
			"devices[0]", `missing "type"`, `{"value":"358240051111110"}`, 0, 0},
		{"device value missing", `{"id":"r","devices":[` + dev + `,{"type":"imei"}]}`,
			"devices[1]", `missing "value"`, `{"type":"imei"}`, 0, 1},
		{"device type null", `{"id":"r","devices":[{"type":null,"value":"1"}]}`,
			"devices[0]", `missing "type"`, "", 0, 0},
		{"device type a number", `{"id":"r","devices":[{"type":1,"value":"1"}]}`,
			"devices[0]", `type: expected a string, got a number`, "", 0, 0},
		{"device value a number", `{"id":"r","devices":[{"type":"imei","value":358240051111110}]}`,
			"devices[0]", `value: expected a string, got a number`, "", 0, 0},
		{"device type empty", `{"id":"r","devices":[{"type":"","value":"1"}]}`,
			"devices[0]", `device type is empty`, "", 0, 0},
		{"device type spaces only", `{"id":"r","devices":[{"type":"  ","value":"1"}]}`,
			"devices[0]", `device type is empty`, "", 0, 0},
		{"device value empty", `{"id":"r","devices":[{"type":"imei","value":""}]}`,
			"devices[0]", `device value is empty`, "", 0, 0},
		{"device value spaces only", `{"id":"r","devices":[{"type":"imei","value":" \t "}]}`,
			"devices[0]", `device value is empty`, "", 0, 0},
		{"device at a number", `{"id":"r","devices":[{"type":"imei","value":"1","at":5}]}`,
			"devices[0]", `at: expected a string, got a number`, "", 0, 0},
		{"device at invalid", `{"id":"r","devices":[{"type":"imei","value":"1","at":"yesterday"}]}`,
			"devices[0]", `at: invalid RFC 3339 time "yesterday"`, "", 0, 0},
		{"device an array", `{"id":"r","devices":[["imei","1"]]}`,
			"devices[0]", `expected an object, got an array`, `["imei","1"]`, 0, 0},
		{"received invalid", `{"id":"r","received":"2024-13-01T00:00:00Z","ips":[` + good + `]}`,
			"received", `invalid RFC 3339 time "2024-13-01T00:00:00Z"`, `"2024-13-01T00:00:00Z"`, 1, 0},
		{"received a number", `{"id":"r","received":1714601643}`,
			"received", `expected a string, got a number`, `1714601643`, 0, 0},
		{"received an object", `{"id":"r","received":{"at":"x"}}`,
			"received", `expected a string, got an object`, `{"at":"x"}`, 0, 0},
		{"received out of range", `{"id":"r","received":"2300-01-01T00:00:00Z"}`,
			"received", `"2300-01-01T00:00:00Z": ` + seams.ErrTimeRange.Error(), "", 0, 0},
		{"incident a number", `{"id":"r","incident":5}`,
			"incident", `expected a string, got a number`, `5`, 0, 0},
		{"incident an array", `{"id":"r","incident":["sextortion"]}`,
			"incident", `expected a string, got an array`, `["sextortion"]`, 0, 0},
		{"received before id still parsed", `{"received":5,"id":"r"}`,
			"received", `expected a string, got a number`, `5`, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Parser
			var r seams.Report
			if err := p.Parse([]byte(c.line), &r); err != nil {
				t.Fatalf("Parse(%s) rejected the whole line: %v", c.line, err)
			}
			if r.ID != "r" {
				t.Errorf("ID = %q, want r", r.ID)
			}
			if len(p.Problems) != 1 {
				t.Fatalf("Problems = %+v, want one", p.Problems)
			}
			q := p.Problems[0]
			if q.Item() != c.item || q.Reason != c.reason {
				t.Errorf("problem %s: %s\n          want %s: %s", q.Item(), q.Reason, c.item, c.reason)
			}
			if c.raw != "" && string(q.Raw) != c.raw {
				t.Errorf("problem raw %s, want %s", q.Raw, c.raw)
			}
			if len(r.IPs) != c.ips || len(r.Devices) != c.devices {
				t.Errorf("kept %d events and %d devices, want %d and %d", len(r.IPs), len(r.Devices), c.ips, c.devices)
			}

			// Rejections turns the problem into a record naming file and line.
			recs := p.Rejections("reports.jsonl", 12)
			want := seams.RecordError{File: "reports.jsonl", Line: 12, Item: c.item, Reason: c.reason, Raw: string(q.Raw)}
			if len(recs) != 1 || recs[0] != want {
				t.Errorf("Rejections = %+v, want [%+v]", recs, want)
			}
		})
	}
}

// TestParseUndated checks that an ip event without a time is kept, with a
// zero At, whether "at" is missing, null or empty, in the compact shape or
// not, and that the rest of the event is read as usual.
func TestParseUndated(t *testing.T) {
	for _, ev := range []string{
		`{"ip":"203.0.113.7"}`,
		`{"ip":"203.0.113.7","at":null}`,
		`{"ip":"203.0.113.7","at":""}`,
		`{"ip":"203.0.113.7","event":"login","port":443,"proxy":true}`,
		`{ "at" : "", "ip" : "203.0.113.7" }`,
	} {
		var p Parser
		var r seams.Report
		if err := p.Parse([]byte(`{"id":"r","ips":[`+ev+`,{"ip":"198.51.100.1","at":"2024-05-01T22:14:03Z"}]}`), &r); err != nil {
			t.Fatalf("%s: %v", ev, err)
		}
		if len(p.Problems) != 0 || len(r.IPs) != 2 {
			t.Fatalf("%s: problems %+v, %d events, want none and 2", ev, p.Problems, len(r.IPs))
		}
		if e := r.IPs[0]; !e.At.IsZero() || e.Addr != netip.MustParseAddr("203.0.113.7") {
			t.Errorf("%s: read as %+v, want 203.0.113.7 with no time", ev, e)
		}
		if strings.Contains(ev, "login") && (r.IPs[0].Event != "login" || r.IPs[0].Port != 443 || !r.IPs[0].Proxy) {
			t.Errorf("%s: the other fields were not read: %+v", ev, r.IPs[0])
		}
		if r.IPs[1].At.IsZero() {
			t.Errorf("%s: the dated event lost its time", ev)
		}
	}
}

// TestParseManyProblems checks that every bad part of one report is listed,
// in the order of the line, and the good parts kept.
func TestParseManyProblems(t *testing.T) {
	line := `{"id":"r","incident":1,"ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z"},{"ip":"x","at":"2024-05-01T22:14:03Z"},{"ip":"203.0.113.8","at":5}],` +
		`"devices":[{"type":"imei"},{"type":"imei","value":"1"}],"received":"soon"}`
	var p Parser
	var r seams.Report
	if err := p.Parse([]byte(line), &r); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range p.Problems {
		got = append(got, q.Item()+": "+q.Reason)
	}
	want := []string{
		"incident: expected a string, got a number",
		`ips[1]: invalid IP address "x"`,
		`ips[2]: at: expected a string, got a number`,
		`devices[0]: missing "value"`,
		`received: invalid RFC 3339 time "soon"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.IPs) != 1 || len(r.Devices) != 1 {
		t.Errorf("kept %d events and %d devices, want 1 and 1", len(r.IPs), len(r.Devices))
	}
	// The next parse starts with no problems.
	if err := p.Parse([]byte(`{"id":"s"}`), &r); err != nil || len(p.Problems) != 0 {
		t.Errorf("next Parse: %v, problems %+v", err, p.Problems)
	}
}

// TestParseAccepts checks edge cases that are accepted, with the report they
// give.
func TestParseAccepts(t *testing.T) {
	at := time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC)
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	cases := []struct {
		name string
		line string
		want seams.Report
	}{
		{"id only", `{"id":"r-1"}`, seams.Report{ID: "r-1"}},
		{"the contract's example",
			`{"id":"r-1","received":"2024-05-02T08:00:00Z","incident":"sextortion","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":"login","port":51234,"proxy":false}],"devices":[{"type":"imei","value":"358240051111110","at":"2024-05-01T22:10:00Z"}]}`,
			seams.Report{ID: "r-1", Received: time.Date(2024, 5, 2, 8, 0, 0, 0, time.UTC), Incident: "sextortion",
				IPs:     []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at, Event: "login", Port: 51234}},
				Devices: []seams.Device{{ID: seams.DeviceID{Type: "imei", Value: "358240051111110"}, At: time.Date(2024, 5, 1, 22, 10, 0, 0, time.UTC)}}}},
		{"null for every optional field",
			`{"id":"r","received":null,"incident":null,"ips":null,"devices":null}`,
			seams.Report{ID: "r"}},
		{"null for optional event fields",
			`{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":null,"port":null,"proxy":null}],"devices":[{"type":"imei","value":"1","at":null}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}, Devices: []seams.Device{{ID: seams.DeviceID{Type: "imei", Value: "1"}}}}},
		{"empty received is absent", `{"id":"r","received":""}`, seams.Report{ID: "r"}},
		{"empty device at is absent", `{"id":"r","devices":[{"type":"imei","value":"1","at":""}]}`,
			seams.Report{ID: "r", Devices: []seams.Device{{ID: seams.DeviceID{Type: "imei", Value: "1"}}}}},
		{"empty arrays", `{"id":"r","ips":[],"devices":[ ]}`, seams.Report{ID: "r"}},
		{"at with lower-case t and z (RFC 3339 5.6)", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01t22:14:03z"}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}}},
		{"device type with a colon is a device (one that never matches)", `{"id":"r","devices":[{"type":" IMEI:x ","value":"1"}]}`,
			seams.Report{ID: "r", Devices: []seams.Device{{ID: seams.DeviceID{Type: "imei:x", Value: "1"}}}}},
		{"port 0 is read as absent", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","port":0}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}}},
		{"port 65535", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","port":65535}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at, Port: 65535}}}},
		{"proxy true", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","proxy":true}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at, Proxy: true}}}},
		{"duplicate id: last wins", `{"id":"r-1","id":"r-2"}`, seams.Report{ID: "r-2"}},
		{"duplicate id: a valid last replaces an invalid first", `{"id":5,"id":"r-2"}`, seams.Report{ID: "r-2"}},
		{"duplicate incident: last wins and its problem goes", `{"id":"r","incident":5,"incident":"sextortion"}`,
			seams.Report{ID: "r", Incident: "sextortion"}},
		{"duplicate received: last wins and its problem goes", `{"id":"r","received":"bad","received":"2024-05-01T22:14:03Z"}`,
			seams.Report{ID: "r", Received: at}},
		{"duplicate ips: last wins and its problems go",
			`{"id":"r","ips":[{"ip":"x"},{"ip":"203.0.113.1","at":"2024-05-01T22:14:03Z"}],"ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z"}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}}},
		{"duplicate ips: a later null empties the list", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z"}],"ips":null}`,
			seams.Report{ID: "r"}},
		{"duplicate devices: last wins", `{"id":"r","devices":[{"type":"a","value":"1"}],"devices":[{"type":"b","value":"2"}]}`,
			seams.Report{ID: "r", Devices: []seams.Device{{ID: seams.DeviceID{Type: "b", Value: "2"}}}}},
		{"duplicate key inside an event: last wins", `{"id":"r","ips":[{"ip":"bad","at":"x","ip":"203.0.113.7","at":"2024-05-01T22:14:03Z"}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}}},
		{"unknown fields ignored at any depth",
			`{"v":2,"id":"r","meta":{"ips":[{"ip":"x"}],"id":5,"deep":[[[{"a":null}]]]},"ips":[{"ip":"203.0.113.7","geo":{"cc":"KH"},"at":"2024-05-01T22:14:03Z","tags":["a",1,true]}],"devices":[{"type":"imei","model":{"x":[]},"value":"1"}],"extra":-1.5e+10}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}, Devices: []seams.Device{{ID: seams.DeviceID{Type: "imei", Value: "1"}}}}},
		{"escapes in keys", `{"\u0069d":"r","\u0069ps":[{"i\u0070":"203.0.113.7","\u0061t":"2024-05-01T22:14:03Z"}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}}},
		{"escapes in values", `{"id":"r\"1\\\/\t","incident":"sext\u006Frtion","ips":[{"ip":"203.0.113.\u0037","at":"2024-05-01T22:14:03Z","event":"log\nin"}]}`,
			seams.Report{ID: "r\"1\\/\t", Incident: "sextortion", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at, Event: "log\nin"}}}},
		{"surrogate pair is one rune, lone surrogate is U+FFFD", `{"id":"\ud83d\ude00\ud800x"}`, seams.Report{ID: "😀\uFFFDx"}},
		{"raw UTF-8 kept", `{"id":"r-é😀","devices":[{"type":"IMEI","value":"ñ"}]}`,
			seams.Report{ID: "r-é😀", Devices: []seams.Device{{ID: seams.DeviceID{Type: "imei", Value: "ñ"}}}}},
		{"invalid UTF-8 replaced", "{\"id\":\"r\xff\xfe\",\"incident\":\"a\xc3\"}", seams.Report{ID: "r\uFFFD\uFFFD", Incident: "a\uFFFD"}},
		{"IPv4-mapped address is IPv4", `{"id":"r","ips":[{"ip":"::ffff:203.0.113.7","at":"2024-05-01T22:14:03Z"}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}}},
		{"IPv6 is kept and compared canonically", `{"id":"r","ips":[{"ip":"2001:DB8:0::1","at":"2024-05-01T22:14:03Z"}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("2001:db8::1"), At: at}}}},
		{"zone dropped", `{"id":"r","ips":[{"ip":"fe80::1%eth0","at":"2024-05-01T22:14:03Z"}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("fe80::1"), At: at}}}},
		{"private addresses are accepted", `{"id":"r","ips":[{"ip":"10.0.0.1","at":"2024-05-01T22:14:03Z"},{"ip":"100.64.0.1","at":"2024-05-01T22:14:03Z"}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("10.0.0.1"), At: at}, {Addr: ip("100.64.0.1"), At: at}}}},
		{"offset normalized to UTC", `{"id":"r","received":"2024-05-02T15:00:00+07:00","ips":[{"ip":"203.0.113.7","at":"2024-05-02T05:14:03+07:00"}]}`,
			seams.Report{ID: "r", Received: time.Date(2024, 5, 2, 8, 0, 0, 0, time.UTC), IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}}},
		{"negative offset normalized to UTC", `{"id":"r","ips":[{"ip":"203.0.113.7","at":"2024-05-01T17:44:03.5-04:30"}]}`,
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at.Add(500 * time.Millisecond)}}}},
		{"whitespace everywhere JSON allows it", " \t{ \"id\" : \"r\" ,\r\n\"ips\" : [ { \"ip\" : \"203.0.113.7\" , \"at\" : \"2024-05-01T22:14:03Z\" } ] }\r",
			seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: ip("203.0.113.7"), At: at}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Parser
			var r seams.Report
			if err := p.Parse([]byte(c.line), &r); err != nil {
				t.Fatalf("Parse rejected the line: %v", err)
			}
			if len(p.Problems) != 0 {
				t.Errorf("problems: %+v", p.Problems)
			}
			if got, want := describeReport(&r), describeReport(&c.want); got != want {
				t.Errorf("report\n%s\nwant\n%s", got, want)
			}
			for _, e := range r.IPs {
				if e.Addr.Zone() != "" || e.Addr.Is4In6() {
					t.Errorf("address %v not normalized", e.Addr)
				}
				if e.At.Location() != time.UTC {
					t.Errorf("time %v not in UTC", e.At)
				}
			}
			if !r.Received.IsZero() && r.Received.Location() != time.UTC {
				t.Errorf("received %v not in UTC", r.Received)
			}
		})
	}
}

// TestParseReusesReport checks that a report's slices are reused, and that
// nothing of the previous report leaks into the next.
func TestParseReusesReport(t *testing.T) {
	var p Parser
	var r seams.Report
	first := `{"id":"r-1","received":"2024-05-02T08:00:00Z","incident":"x","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":"login","port":1,"proxy":true}],"devices":[{"type":"imei","value":"1"}]}`
	if err := p.Parse([]byte(first), &r); err != nil {
		t.Fatal(err)
	}
	ips := &r.IPs[0]
	if err := p.Parse([]byte(`{"id":"r-2","ips":[{"ip":"198.51.100.1","at":"2024-05-01T22:14:03Z"}]}`), &r); err != nil {
		t.Fatal(err)
	}
	if &r.IPs[0] != ips {
		t.Error("the IPs slice was not reused")
	}
	want := seams.Report{ID: "r-2", IPs: []seams.IPEvent{{Addr: netip.MustParseAddr("198.51.100.1"), At: time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC)}}}
	if got, w := describeReport(&r), describeReport(&want); got != w {
		t.Errorf("second report\n%s\nwant\n%s", got, w)
	}
	// A rejected line leaves no usable report behind, and no problems.
	if err := p.Parse([]byte(`{"ips":[{"ip":"x"}]}`), &r); err == nil {
		t.Fatal("line without id accepted")
	}
}

// TestParseAllocationsIPEvents holds the ip event path to the hot-path
// rule: no allocation per report in steady state. (The same test with
// devices is in bugs_test.go.)
func TestParseAllocationsIPEvents(t *testing.T) {
	line := []byte(`{"id":"r-000123","received":"2024-05-02T08:00:00Z","incident":"sextortion",` +
		`"ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":"login","port":51234,"proxy":false},` +
		`{"ip":"2001:db8::1","at":"2024-05-01T22:20:00.123+07:00","event":"upload"},` +
		`{"ip":"::ffff:198.51.100.9","at":"2024-05-01T23:00:00Z","event":"login","proxy":true},` +
		`{"ip":"192.0.2.44","at":"2024-05-02T01:02:03Z","event":"message","port":443,"client":{"ua":"x\"y"}}]}`)
	if n := steadyAllocs(t, line, 4, 0); n != 0 {
		t.Errorf("Parse allocates %v times per report in steady state, want 0", n)
	}
}

// steadyAllocs parses line once to warm up, checks it gives the expected
// numbers of events and devices, then returns the allocations per Parse.
func steadyAllocs(t *testing.T, line []byte, ips, devices int) float64 {
	t.Helper()
	var p Parser
	var r seams.Report
	if err := p.Parse(line, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.IPs) != ips || len(r.Devices) != devices || len(p.Problems) != 0 {
		t.Fatalf("warm-up parse: %d events, %d devices, problems %+v", len(r.IPs), len(r.Devices), p.Problems)
	}
	return testing.AllocsPerRun(100, func() {
		p.Reset()
		if err := p.Parse(line, &r); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReader reads a file with the awkward shapes real files have: a byte
// order mark, CRLF endings, blank lines and no final newline.
func TestReader(t *testing.T) {
	lines := []string{
		"\uFEFF{\"id\":\"r-1\",\"ips\":[{\"ip\":\"203.0.113.7\",\"at\":\"2024-05-01T22:14:03Z\"}]}\r", // 1
		"\r", // 2: blank
		"",   // 3: blank
		`{"id":"r-2","ips":[{"ip":"N/A","at":"2024-05-01T22:14:03Z"},{"ip":"203.0.113.8","at":"2024-05-01T22:14:03Z"}]}` + "\r", // 4
		"not json\r",         // 5
		"   \t",              // 6: blank
		`{"id":""}`,          // 7
		`{"id":"r-3"} trail`, // 8
		`{"id":"r-4","devices":[{"type":"imei"}]}` + "\r", // 9
		`{"id":"r-5","received":"2024-05-02T08:00:00Z"}`,  // 10: no final newline
	}
	input := strings.Join(lines, "\n")

	type rejection struct {
		line int
		item string
	}
	var rejected []rejection
	var ids []string
	rd := NewReader(strings.NewReader(input), "reports.jsonl")
	var r seams.Report
	for {
		err := nextReport(rd, &r, func(e *seams.RecordError) {
			if e.File != "reports.jsonl" {
				t.Errorf("rejection names file %q", e.File)
			}
			if e.Reason == "" {
				t.Errorf("rejection without a reason: %+v", e)
			}
			rejected = append(rejected, rejection{e.Line, e.Item})
		})
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strings.Clone(r.ID)) // r is valid only until the next call
	}
	wantIDs := []string{"r-1", "r-2", "r-4", "r-5"}
	wantRej := []rejection{{4, "ips[0]"}, {5, ""}, {7, ""}, {8, ""}, {9, "devices[0]"}}
	if strings.Join(ids, " ") != strings.Join(wantIDs, " ") {
		t.Errorf("reports %v, want %v", ids, wantIDs)
	}
	if len(rejected) != len(wantRej) {
		t.Fatalf("rejections %v, want %v", rejected, wantRej)
	}
	for i := range wantRej {
		if rejected[i] != wantRej[i] {
			t.Errorf("rejection %d is %v, want %v", i, rejected[i], wantRej[i])
		}
	}

	// Every non-blank line is either a report or a whole-line rejection.
	whole := 0
	for _, j := range rejected {
		if j.item == "" {
			whole++
		}
	}
	nonBlank := 0
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			nonBlank++
		}
	}
	if len(ids)+whole != nonBlank {
		t.Errorf("%d reports + %d whole-line rejections, want %d non-blank lines", len(ids), whole, nonBlank)
	}
}

// TestReaderLongLine checks that a line over DefaultMaxLine is rejected with
// its number and the lines around it are read.
func TestReaderLongLine(t *testing.T) {
	long := `{"id":"r-long","incident":"` + strings.Repeat("x", DefaultMaxLine) + `"}`
	input := "{\"id\":\"r-1\"}\n" + long + "\n{\"id\":\"r-3\"}\n"
	rd := NewReader(strings.NewReader(input), "big.jsonl")
	var r seams.Report
	var ids []string
	var rej []seams.RecordError
	for {
		err := nextReport(rd, &r, func(e *seams.RecordError) { rej = append(rej, *e) })
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strings.Clone(r.ID)) // r is valid only until the next call
	}
	if strings.Join(ids, " ") != "r-1 r-3" {
		t.Errorf("reports %v, want r-1 r-3", ids)
	}
	if len(rej) != 1 || rej[0].Line != 2 || rej[0].Reason != "line longer than 4194304 bytes" || rej[0].Item != "" {
		t.Fatalf("rejections %+v, want line 2 too long", rej)
	}
	if !strings.HasPrefix(long, strings.TrimSuffix(rej[0].Raw, "…")) || len(rej[0].Raw) > seams.MaxRaw+len("…") {
		t.Errorf("raw of the long line is not its start: %d bytes", len(rej[0].Raw))
	}
}

// TestReaderError checks that a read error reaches the caller with the file
// name, rather than looking like the end of the input.
func TestReaderError(t *testing.T) {
	boom := errors.New("disk on fire")
	rd := NewReader(io.MultiReader(strings.NewReader("{\"id\":\"r-1\"}\n"), errReader{boom}), "broken.jsonl")
	var r seams.Report
	var err error
	for range 3 {
		if err = nextReport(rd, &r, func(e *seams.RecordError) { t.Errorf("rejection %v", e) }); err != nil {
			break
		}
	}
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken.jsonl") {
		t.Errorf("Next = %v, want the read error naming the file", err)
	}
}

// nextReport reads records from rd until a report, which it copies into r,
// handing every rejection (whole records, then the report's parts) to
// reject in order.
func nextReport(rd *Reader, r *seams.Report, reject func(*seams.RecordError)) error {
	for {
		rec, err := rd.Next()
		if err != nil {
			return err
		}
		if rec.Whole != nil {
			if rec.Line != rec.Whole.Line {
				return fmt.Errorf("record line %d, rejection line %d", rec.Line, rec.Whole.Line)
			}
			reject(rec.Whole)
			continue
		}
		for i := range rec.Parts {
			reject(&rec.Parts[i])
		}
		*r = rec.Report.Clone()
		return nil
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestParseAllocations holds Parse to the package's promise of no allocation
// per event in the steady state, on a realistic line with 4 ip events and 2
// devices. It fails: Parser.device allocates its "type" and "value" fields on
// the heap (2 allocations per device), because the loop over
// []struct{name string; f *field} that checks them stores their addresses in
// values whose other fields escape through fmt (escape analysis is not
// field-sensitive).
func TestParseAllocations(t *testing.T) {
	line := []byte(`{"id":"r-000123","received":"2024-05-02T08:00:00Z","incident":"sextortion",` +
		`"ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":"login","port":51234,"proxy":false},` +
		`{"ip":"2001:db8::1","at":"2024-05-01T22:20:00.123+07:00","event":"upload"},` +
		`{"ip":"::ffff:198.51.100.9","at":"2024-05-01T23:00:00Z","event":"login","proxy":true},` +
		`{"ip":"192.0.2.44","at":"2024-05-02T01:02:03Z","event":"message","port":443,"client":{"ua":"x\"y"}}],` +
		`"devices":[{"type":"imei","value":"358240051111110","at":"2024-05-01T22:10:00Z"},{"type":"idfa","value":"6D92078A-8246-4BA4-AE5B-76104861E7DC"}]}`)
	if n := steadyAllocs(t, line, 4, 2); n != 0 {
		t.Errorf("Parse allocates %v times per report with 2 devices in steady state, want 0", n)
	}
}

// TestLongLineRawMarkedAsCut checks that the raw text of a line rejected as
// too long is marked as cut ("…") and cut at a character boundary, as
// seams.TruncateRaw promises for every rejection. It fails: LongLine passes
// TruncateRaw the first MaxRaw bytes that the chunk reader kept, which are
// not longer than MaxRaw, so no mark is added; and the chunk reader cut them
// at a byte count, which can split a character.
func TestLongLineRawMarkedAsCut(t *testing.T) {
	long := `{"id":"r-long","incident":"` + strings.Repeat("€", DefaultMaxLine/3+1) + `"}`
	rd := NewReader(strings.NewReader(long+"\n"), "big.jsonl")
	var r seams.Report
	var rej []seams.RecordError
	for {
		err := nextReport(rd, &r, func(e *seams.RecordError) { rej = append(rej, *e) })
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(rej) != 1 {
		t.Fatalf("rejections %d, want 1", len(rej))
	}
	raw := rej[0].Raw
	if !strings.HasSuffix(raw, "…") {
		t.Errorf("raw of a long line (%d bytes) is not marked as cut: ends %q", len(raw), raw[max(0, len(raw)-8):])
	}
	if !utf8.ValidString(raw) {
		t.Errorf("raw of a long line is cut inside a character: ends %q", raw[max(0, len(raw)-8):])
	}
}
