package stix

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// writeOne writes a bundle of one indicator of compound c-x with window w
// and returns its Indicator object as JSON, and what reading the bundle
// back gives.
func writeOne(t *testing.T, w seams.Window) (map[string]any, []seams.Indicator, []*seams.RecordError) {
	t.Helper()
	in, err := seams.ParseIndicatorValue(seams.KindIP, "203.0.113.7")
	if err != nil {
		t.Fatal(err)
	}
	in.Compound, in.Window = "c-x", w
	var buf bytes.Buffer
	if err := WriteBundle(&buf, &Export{Org: "Hotline Example", Time: exportTime,
		Compounds: []seams.Compound{{ID: "c-x", Name: "X"}}, Indicators: []seams.Indicator{in}}); err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(l, `{"type":"indicator"`) {
			if err := json.Unmarshal([]byte(strings.TrimSuffix(l, ",")), &obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	var rej []*seams.RecordError
	_, ins, err := ReadBundle(&buf, "b.json", func(e *seams.RecordError) {
		if e.Item != IdentityID("Hotline Example") {
			rej = append(rej, e)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return obj, ins, rej
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// TestValidity: every window seams can hold is written at millisecond
// precision, covering the window by less than a millisecond on each side,
// with the exact edges when the milliseconds cannot hold them; and reads
// back as the same window.
func TestValidity(t *testing.T) {
	for _, tc := range []struct {
		name, first, last string // the seams window, RFC 3339 ("" open)
		from, until       string // valid_from, valid_until ("" absent)
		xFirst, xLast     string // x_seams_first_seen, x_seams_last_seen
	}{
		{"whole days (end of day last)", "2024-03-03T00:00:00Z", "2024-06-09T23:59:59.999999999Z",
			"2024-03-03T00:00:00.000Z", "2024-06-10T00:00:00.000Z", "", ""},
		{"last on a whole second", "2024-05-01T00:00:00Z", "2024-05-31T23:59:59Z",
			"2024-05-01T00:00:00.000Z", "2024-05-31T23:59:59.001Z", "", "2024-05-31T23:59:59Z"},
		{"last one nanosecond before a millisecond", "2024-05-01T00:00:00.5Z", "2024-05-01T12:00:00.122999999Z",
			"2024-05-01T00:00:00.500Z", "2024-05-01T12:00:00.123Z", "", ""},
		{"sub-millisecond first", "2024-02-29T12:30:00.123456Z", "2024-03-01T00:00:00.000000001Z",
			"2024-02-29T12:30:00.123Z", "2024-03-01T00:00:00.001Z", "2024-02-29T12:30:00.123456Z", "2024-03-01T00:00:00.000000001Z"},
		{"open start", "", "2024-12-31T23:59:59.999999999Z", "1970-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z", "", ""},
		{"open start, end before 1970", "", "1960-01-01T00:00:00Z", "1677-09-21T00:12:43.145Z", "1960-01-01T00:00:00.001Z", "", "1960-01-01T00:00:00Z"},
		{"open end", "2024-01-01T00:00:00Z", "", "2024-01-01T00:00:00.000Z", "", "", ""},
		{"open", "", "", "1970-01-01T00:00:00.000Z", "", "", ""},
		{"the edges of seams' range", seams.MinTime.Format(time.RFC3339Nano), seams.MaxTime.Format(time.RFC3339Nano),
			"1677-09-21T00:12:43.145Z", "2262-04-11T23:47:16.855Z", "1677-09-21T00:12:43.145224192Z", "2262-04-11T23:47:16.854775807Z"},
		{"one instant", "2024-05-01T10:00:00.0000005Z", "2024-05-01T10:00:00.0000005Z",
			"2024-05-01T10:00:00.000Z", "2024-05-01T10:00:00.001Z", "2024-05-01T10:00:00.0000005Z", "2024-05-01T10:00:00.0000005Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := seams.NewWindow(mustTime(t, tc.first), mustTime(t, tc.last))
			if err != nil {
				t.Fatal(err)
			}
			obj, ins, rej := writeOne(t, w)
			str := func(k string) string { s, _ := obj[k].(string); return s }
			if str("valid_from") != tc.from || str("valid_until") != tc.until ||
				str("x_seams_first_seen") != tc.xFirst || str("x_seams_last_seen") != tc.xLast {
				t.Errorf("wrote valid_from %q valid_until %q x_seams_first_seen %q x_seams_last_seen %q,\nwant %q %q %q %q",
					str("valid_from"), str("valid_until"), str("x_seams_first_seen"), str("x_seams_last_seen"),
					tc.from, tc.until, tc.xFirst, tc.xLast)
			}
			// The STIX window covers the seams window, by less than a
			// millisecond on each side.
			if f := mustTime(t, tc.from); !w.First.IsZero() && (f.After(w.First) || w.First.Sub(f) >= time.Millisecond) {
				t.Errorf("valid_from %s does not cover first %s within a millisecond", tc.from, w.First)
			}
			if u := mustTime(t, tc.until); !w.Last.IsZero() && (!u.After(w.Last) || u.Sub(w.Last) > time.Millisecond) {
				t.Errorf("valid_until %s does not end within a millisecond after last %s", tc.until, w.Last)
			}
			if len(rej) > 0 || len(ins) != 1 {
				t.Fatalf("read back %d indicators, rejections %v", len(ins), rej)
			}
			if got := ins[0].Window; !got.First.Equal(w.First) || !got.Last.Equal(w.Last) {
				t.Errorf("read back window %s, want %s", got, w)
			}
		})
	}
}

// TestReadExactEdges: the exact edges are used only where they fall in the
// millisecond their STIX property stands for, and partners' timestamps of
// any precision are read.
func TestReadExactEdges(t *testing.T) {
	for _, tc := range []struct {
		name, props string // the window properties of the indicator
		window      string // what it reads as, or "" when rejected
		reason      string // part of the rejection
	}{
		{"partner, no fraction", `"valid_from":"2024-01-01T00:00:00Z","valid_until":"2024-02-01T00:00:00Z"`,
			"2024-01-01T00:00:00Z/2024-01-31T23:59:59.999999999Z", ""},
		{"partner, microseconds", `"valid_from":"2024-01-01T00:00:00.000001Z","valid_until":"2024-02-01T00:00:00.123456Z"`,
			"2024-01-01T00:00:00.000001Z/2024-02-01T00:00:00.123455999Z", ""},
		{"partner, nanoseconds", `"valid_from":"2024-01-01T00:00:00.000000001Z","valid_until":"2024-01-01T00:00:00.000000002Z"`,
			"2024-01-01T00:00:00.000000001Z/2024-01-01T00:00:00.000000001Z", ""},
		{"exact last in its millisecond", `"valid_from":"2024-01-01T00:00:00.000Z","valid_until":"2024-02-01T00:00:00.001Z","x_seams_last_seen":"2024-02-01T00:00:00Z"`,
			"2024-01-01T00:00:00Z/2024-02-01T00:00:00Z", ""},
		{"exact last outside its millisecond", `"valid_from":"2024-01-01T00:00:00.000Z","valid_until":"2024-02-01T00:00:00.002Z","x_seams_last_seen":"2024-02-01T00:00:00Z"`,
			"", "x_seams_last_seen 2024-02-01T00:00:00Z is not within the millisecond before valid_until"},
		{"exact last equal to valid_until", `"valid_from":"2024-01-01T00:00:00.000Z","valid_until":"2024-02-01T00:00:00.001Z","x_seams_last_seen":"2024-02-01T00:00:00.001Z"`,
			"", "is not within the millisecond before valid_until"},
		{"exact first outside its millisecond", `"valid_from":"2024-01-01T00:00:00.000Z","x_seams_first_seen":"2024-01-01T00:00:00.001Z"`,
			"", "x_seams_first_seen 2024-01-01T00:00:00.001Z is not within the millisecond of valid_from"},
		{"exact first with an open start", `"valid_from":"1970-01-01T00:00:00.000Z","x_seams_open_from":true,"x_seams_first_seen":"1970-01-01T00:00:00.0001Z"`,
			"", "x_seams_first_seen is given with x_seams_open_from"},
		{"exact last without valid_until", `"valid_from":"2024-01-01T00:00:00.000Z","x_seams_last_seen":"2024-02-01T00:00:00Z"`,
			"", "x_seams_last_seen is given without valid_until"},
		{"exact last not a time", `"valid_from":"2024-01-01T00:00:00.000Z","valid_until":"2024-02-01T00:00:00.001Z","x_seams_last_seen":"soon"`,
			"", "x_seams_last_seen: invalid RFC 3339 time"},
		{"valid_until past seams' range, no exact last", `"valid_from":"2024-01-01T00:00:00Z","valid_until":"2262-04-11T23:47:16.855Z"`,
			"", "valid_until: \"2262-04-11T23:47:16.855Z\": time outside the supported range"},
		{"valid_until far past seams' range", `"valid_from":"2024-01-01T00:00:00Z","valid_until":"2300-01-01T00:00:00Z"`,
			"", "valid_until: \"2300-01-01T00:00:00Z\": time outside the supported range"},
		{"valid_from before seams' range, no exact first", `"valid_from":"1677-09-21T00:12:43.145Z"`,
			"", "valid_from: \"1677-09-21T00:12:43.145Z\": time outside the supported range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := `{"type":"bundle","objects":[{"type":"infrastructure","id":"infrastructure--1","name":"X","labels":["scam-compound"]},` +
				`{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '203.0.113.7']",` + tc.props + `},` +
				`{"type":"relationship","id":"relationship--1","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"infrastructure--1"}]}`
			var rej []*seams.RecordError
			_, ins, err := ReadBundle(strings.NewReader(b), "b.json", func(e *seams.RecordError) { rej = append(rej, e) })
			if err != nil {
				t.Fatal(err)
			}
			if tc.window != "" {
				if len(ins) != 1 || ins[0].Window.String() != tc.window || len(rej) > 0 {
					t.Fatalf("got %v, rejections %v; want window %s", ins, rej, tc.window)
				}
				return
			}
			if len(ins) != 0 || len(rej) != 1 || rej[0].Item != "indicator--1" || !strings.Contains(rej[0].Reason, tc.reason) {
				t.Fatalf("got %v, rejections %v; want one of indicator--1 with %q", ins, rej, tc.reason)
			}
		})
	}
}

// stixStamp is a STIX timestamp as seams writes it: milliseconds, Z.
var stixStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestBundleTimestampsMillisecond: every timestamp property STIX defines
// is written with three fraction digits, also for windows and
// observations that are not on a millisecond (the stix2 Python library
// reads at most six).
func TestBundleTimestampsMillisecond(t *testing.T) {
	e := sampleExport(t)
	in, _ := seams.ParseIndicatorValue(seams.KindIP, "203.0.113.201")
	in.Compound = "c-kings"
	in.Window, _ = seams.ParseWindow("2024-01-01T00:00:00.000000001Z", "2024-01-02T00:00:00.999999998Z")
	e.Indicators = append(e.Indicators, in)
	e.Findings[0].Evidence[0].Observed.At = time.Date(2024, 5, 1, 22, 14, 3, 123456789, time.UTC)
	e.Time = time.Date(2025, 1, 31, 12, 0, 0, 987654321, time.UTC)
	var buf bytes.Buffer
	if err := WriteBundle(&buf, e); err != nil {
		t.Fatal(err)
	}
	var b struct{ Objects []map[string]any }
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range b.Objects {
		for _, k := range []string{"created", "modified", "valid_from", "valid_until", "first_seen", "last_seen"} {
			v, ok := o[k]
			if !ok {
				continue
			}
			n++
			if s, _ := v.(string); !stixStamp.MatchString(s) {
				t.Errorf("%s %s = %v, want a timestamp with milliseconds", o["id"], k, v)
			}
		}
	}
	if n == 0 || !bytes.Contains(buf.Bytes(), []byte(`"x_seams_first_seen":"2024-01-01T00:00:00.000000001Z"`)) ||
		!bytes.Contains(buf.Bytes(), []byte(`"last_seen":"2024-05-01T22:14:03.124Z"`)) {
		t.Errorf("the bundle lacks the sub-millisecond cases this test is for:\n%s", buf.String())
	}
}

// content is an object without its created and modified: what a version
// holds.
func content(o map[string]any) string {
	c := map[string]any{}
	for k, v := range o {
		if k != "created" && k != "modified" {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func objects(t *testing.T, e *Export) map[string]map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteBundle(&buf, e); err != nil {
		t.Fatal(err)
	}
	var b struct{ Objects []map[string]any }
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, o := range b.Objects {
		out[o["id"].(string)] = o
	}
	return out
}

// TestVersions: exporting the same findings with another set of compounds
// (here: the compounds as summary.json knows them, without aliases,
// province, coordinates or status) and a changed confidence, at the same
// export time, gives no object with the id and modified of one of the
// first export but another content; equal content keeps its modified; and
// a later export time gives later versions.
func TestVersions(t *testing.T) {
	full := sampleExport(t)
	partial := sampleExport(t)
	for i, c := range partial.Compounds {
		partial.Compounds[i] = seams.Compound{ID: c.ID, Name: c.Name, Country: c.Country}
	}
	partial.Compounds = partial.Compounds[:1] // the others only named by their indicators
	partial.Indicators[1].Confidence = 0.61
	a, b := objects(t, full), objects(t, partial)
	same, changed := 0, 0
	for id, x := range a {
		y, ok := b[id]
		if !ok {
			continue
		}
		if x["created"] != y["created"] {
			t.Errorf("%s: created %v and %v at one export time", id, x["created"], y["created"])
		}
		if content(x) == content(y) {
			same++
			if x["modified"] != y["modified"] {
				t.Errorf("%s: same content, modified %v and %v", id, x["modified"], y["modified"])
			}
		} else {
			changed++
			if x["modified"] == y["modified"] {
				t.Errorf("%s: same id and modified %v, different content:\n%s\n%s", id, x["modified"], content(x), content(y))
			}
		}
	}
	if same == 0 || changed < 3 {
		t.Fatalf("%d objects kept, %d changed: the exports do not exercise both cases", same, changed)
	}
	// An export a second later: every version is later.
	later := sampleExport(t)
	later.Time = later.Time.Add(time.Second)
	for id, y := range objects(t, later) {
		x := a[id]
		if x == nil {
			t.Fatalf("%s only in the later export", id)
		}
		if !(y["modified"].(string) > x["modified"].(string)) {
			t.Errorf("%s: modified %v a second later, was %v", id, y["modified"], x["modified"])
		}
		if m, c := mustTime(t, y["modified"].(string)), mustTime(t, y["created"].(string)); m.Before(c) || m.Sub(c) >= time.Second {
			t.Errorf("%s: modified %v not within the second after created %v", id, m, c)
		}
	}
}
