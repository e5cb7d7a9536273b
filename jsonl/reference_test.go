package jsonl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// refParse is the slow, obviously correct twin of Parser.Parse: it decodes
// with encoding/json into generic values and applies the contract's rules
// one by one. It returns the report, the items of rejected parts (sorted),
// and whether the whole line is rejected.
func refParse(line []byte) (r seams.Report, items []string, whole bool) {
	if t := bytes.TrimLeft(line, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return r, nil, true
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return r, nil, true
	}
	isString := func(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }
	isNull := func(raw json.RawMessage) bool { return string(raw) == "null" }
	str := func(raw json.RawMessage) string {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			panic(err)
		}
		return s
	}
	parseTime := func(s string) (time.Time, bool) {
		// RFC 3339, not time.Parse: no comma fraction, lower-case t and z.
		if strings.Contains(s, ",") {
			return time.Time{}, false
		}
		if len(s) > 10 && s[10] == 't' {
			s = s[:10] + "T" + s[11:]
		}
		if strings.HasSuffix(s, "z") {
			s = s[:len(s)-1] + "Z"
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil || t.Before(seams.MinTime) || t.After(seams.MaxTime) {
			return time.Time{}, false
		}
		return t.UTC(), true
	}

	idRaw, ok := m["id"]
	if !ok || !isString(idRaw) || str(idRaw) == "" {
		return r, nil, true
	}
	r.ID = str(idRaw)
	if raw, ok := m["received"]; ok && !isNull(raw) {
		switch {
		case !isString(raw):
			items = append(items, "received")
		case str(raw) == "":
		default:
			if t, ok := parseTime(str(raw)); ok {
				r.Received = t
			} else {
				items = append(items, "received")
			}
		}
	}
	if raw, ok := m["incident"]; ok && !isNull(raw) {
		if isString(raw) {
			r.Incident = str(raw)
		} else {
			items = append(items, "incident")
		}
	}
	elements := func(field string) []json.RawMessage {
		raw, ok := m[field]
		if !ok || isNull(raw) {
			return nil
		}
		var list []json.RawMessage
		if raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
			items = append(items, field)
			return nil
		}
		return list
	}
	object := func(raw json.RawMessage) map[string]json.RawMessage {
		var o map[string]json.RawMessage
		if raw[0] != '{' || json.Unmarshal(raw, &o) != nil {
			return nil
		}
		return o
	}
	for i, raw := range elements("ips") {
		item := fmt.Sprintf("ips[%d]", i)
		o := object(raw)
		if o == nil {
			items = append(items, item)
			continue
		}
		var e seams.IPEvent
		bad := func() bool {
			ip, ok := o["ip"]
			if !ok || !isString(ip) {
				return true
			}
			a, err := netip.ParseAddr(str(ip))
			if err != nil {
				return true
			}
			e.Addr = a.Unmap().WithZone("")
			// at is optional: absent, null or "" is an undated event.
			if at, ok := o["at"]; ok && !isNull(at) {
				if !isString(at) {
					return true
				}
				if str(at) != "" {
					if e.At, ok = parseTime(str(at)); !ok {
						return true
					}
				}
			}
			if ev, ok := o["event"]; ok && !isNull(ev) {
				if !isString(ev) {
					return true
				}
				e.Event = str(ev)
			}
			if p, ok := o["port"]; ok && !isNull(p) {
				var n uint16
				if p[0] != '-' && (p[0] < '0' || p[0] > '9') || json.Unmarshal(p, &n) != nil {
					return true
				}
				e.Port = int(n)
			}
			if p, ok := o["proxy"]; ok && !isNull(p) {
				switch string(p) {
				case "true":
					e.Proxy = true
				case "false":
				default:
					return true
				}
			}
			if a, ok := o["associated"]; ok && !isNull(a) {
				switch string(a) {
				case "true":
					e.Associated = true
				case "false":
				default:
					return true
				}
			}
			return false
		}()
		if bad {
			items = append(items, item)
			continue
		}
		r.IPs = append(r.IPs, e)
	}
	for i, raw := range elements("devices") {
		item := fmt.Sprintf("devices[%d]", i)
		o := object(raw)
		if o == nil {
			items = append(items, item)
			continue
		}
		typ, value, at := o["type"], o["value"], o["at"]
		if !isString(typ) || !isString(value) {
			items = append(items, item)
			continue
		}
		id, err := seams.NewReportDeviceID(str(typ), str(value))
		if err != nil {
			items = append(items, item)
			continue
		}
		d := seams.Device{ID: id}
		if at != nil && !isNull(at) {
			if !isString(at) {
				items = append(items, item)
				continue
			}
			if s := str(at); s != "" {
				t, ok := parseTime(s)
				if !ok {
					items = append(items, item)
					continue
				}
				d.At = t
			}
		}
		if a, ok := o["associated"]; ok && !isNull(a) {
			switch string(a) {
			case "true":
				d.Associated = true
			case "false":
			default:
				items = append(items, item)
				continue
			}
		}
		r.Devices = append(r.Devices, d)
	}
	slices.Sort(items)
	return r, items, false
}

// describeReport renders a report for comparison.
func describeReport(r *seams.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id=%q received=%d incident=%q\n", r.ID, unixOrZero(r.Received), r.Incident)
	for _, e := range r.IPs {
		fmt.Fprintf(&b, "ip %s %d %q %d %v %v\n", e.Addr, unixOrZero(e.At), e.Event, e.Port, e.Proxy, e.Associated)
	}
	for _, d := range r.Devices {
		fmt.Fprintf(&b, "device %q %q %d %v\n", d.ID.Type, d.ID.Value, unixOrZero(d.At), d.Associated)
	}
	return b.String()
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// compareWithReference parses line with both decoders and fails on any
// difference in outcome.
func compareWithReference(t *testing.T, line []byte) {
	t.Helper()
	var p Parser
	var r seams.Report
	err := p.Parse(line, &r)
	want, wantItems, wantWhole := refParse(line)
	if (err != nil) != wantWhole {
		t.Fatalf("line %q: parser error %v, reference rejects whole line: %v", line, err, wantWhole)
	}
	if err != nil {
		return
	}
	var items []string
	for i := range p.Problems {
		items = append(items, p.Problems[i].Item())
	}
	slices.Sort(items)
	if !slices.Equal(items, wantItems) {
		t.Fatalf("line %q: rejected parts %v, reference %v (%+v)", line, items, wantItems, p.Problems)
	}
	if got, want := describeReport(&r), describeReport(&want); got != want {
		t.Fatalf("line %q:\nparser:\n%s\nreference:\n%s", line, got, want)
	}
}

var seeds = []string{
	`{"id":"r-1","received":"2024-05-02T08:00:00Z","incident":"sextortion","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":"login","port":51234,"proxy":false}],"devices":[{"type":"imei","value":"358240051111110","at":"2024-05-01T22:10:00Z"}]}`,
	`{"id":"r-2","ips":[{"ip":"2001:db8::1","at":"2024-05-01T22:14:03.123456789+07:00","proxy":true}],"devices":[{"type":" IDFA ","value":" x "}]}`,
	`{"id":"r-3","ips":[{"ip":"N/A","at":"x"},{"ip":"::ffff:192.0.2.1","at":"2024-05-01T22:14:03Z","port":0},7,null]}`,
	`{"id":"r-4","ips":"nope","devices":{},"incident":5,"received":"2024-13-01T00:00:00Z"}`,
	`{"id":"\u0072-\ud83d\ude00\ud800","x":{"a":[1,-2.5e+3,true,false,null,"s\"\\\/\b\f\n\r\t"]}}`,
	`{"id":"r","id":"s","ips":[{"ip":"1.2.3.4","at":"2024-05-01T22:14:03Z"}],"ips":[]}`,
	`{"id":"r-5","ips":[{"ip":"192.0.2.1","at":"2024-05-01T22:14:03Z","port":65536},{"ip":"192.0.2.1","at":"2024-05-01T22:14:03Z","port":1.5},{"ip":"192.0.2.1","at":"2024-05-01T22:14:03Z","port":-1}]}`,
	`{"id":"r-6","devices":[{"type":"a:b","value":"c"},{"type":"","value":"c"},{"type":"imei","value":"1","at":""},{"type":"imei","value":"1","at":5}]}`,
	` {"id":"r-7"} `,
	`{"id":""}`, `{"id":null}`, `{}`, `[]`, `null`, `{"id":"r"}x`, `{"id":"r",}`, `{"id":"r"`, "{\"id\":\"r\x00\"}", "{\"id\":\"\xff\"}",
	`{"id":"r-8","received":"","incident":null,"ips":null,"devices":null}`,
	`{"id":"r-9","ips":[{"ip":"fe80::1%eth0","at":"2024-05-01T22:14:03Z"},{"ip":"01.2.3.4","at":"2024-05-01T22:14:03Z"},{"ip":"1.2.3.4","at":"2024-05-01T22:14:03,5Z"}]}`,
	`{"id":"r-10","ips":[{"ip":"1.2.3.4","at":"1600-01-01T00:00:00Z"},{"ip":"1.2.3.4","at":"2024-02-30T00:00:00Z"},{"ip":"1.2.3.4","at":"2024-05-01T22:14:03+24:00"}]}`,
	`{"id":"r-11","received":"2024-07-19T18:19:34Z","incident":"other","ips":[{"ip":"10.91.123.130","at":"2024-06-19T11:23:16Z","event":"login"},{"ip":"103.30.197.111","at":"2024-06-24T23:18:56.448Z","port":40447,"proxy":true},{"ip":"2001:db8:1::2","at":"2024-06-24T23:18:56-03:00","event":"upload","proxy":false}],"devices":[{"type":"idfa","value":"04D2EB78-7E40-45CE-BD59-3986AFE3558D","at":"2024-03-17T14:17:36Z"},{"type":"IMEI","value":" 1 ","at":""}]}`,
	`{"id":"r-13","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","associated":true},{"ip":"203.0.113.8","associated":"yes"}],"devices":[{"type":"imei","value":"1","associated":true},{"type":"imei","value":"2","associated":1}]}`,
	`{"id":"r-12","ips":[{"ip":"1.2.3.4","at":"2024-05-01T22:14:03Z","port":01},{"ip":"1.2.3.4","at":"2024-05-01T22:14:03Z","proxy":truex}]}`,
}

func TestParseMatchesReference(t *testing.T) {
	for _, s := range seeds {
		compareWithReference(t, []byte(s))
	}
}

// FuzzParse holds the hand-written scanner to the encoding/json reference:
// same whole-line decision, same report, same rejected parts.
func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		compareWithReference(t, line)
	})
}
