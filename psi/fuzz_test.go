package psi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

func seedLabel() []byte {
	w, _ := seams.ParseWindow("2024-03-03", "2024-06-09T12:00:00Z")
	return AppendLabel(nil, &Label{Compound: "c-jinbei", Country: "KH", Name: "Jin Bei", CompoundOrder: 5, Order: 9,
		Kind: seams.KindIP, Window: w, Source: "osint", Confidence: 0.85, HasConfidence: true, Fields: DefaultLabelFields})
}

// FuzzParseLabel: ParseLabel never panics, and a label it accepts encodes
// back to the same bytes (the encoding is canonical, padding included).
func FuzzParseLabel(f *testing.F) {
	f.Add(seedLabel())
	f.Add(AppendLabel(nil, &Label{Compound: "c", Country: "MM", Kind: seams.KindDevice}))
	f.Add([]byte{1, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLabel(b)
		if err != nil {
			return
		}
		again := AppendLabel(nil, l)
		if !bytes.Equal(again, b) {
			t.Fatalf("label %+v encodes as %x, read from %x", l, again, b)
		}
		back, err := ParseLabel(again)
		if err != nil || !reflect.DeepEqual(back, l) {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, l)
		}
	})
}

// TestParseLabelRefuses: labels that no indicator could give are refused.
func TestParseLabelRefuses(t *testing.T) {
	good := seedLabel()
	if _, err := ParseLabel(good); err != nil {
		t.Fatal(err)
	}
	w, _ := seams.ParseWindow("2024-03-03", "2024-06-09")
	for _, tc := range []struct {
		name string
		l    Label
	}{
		{"kind cidr", Label{Compound: "c", Country: "KH", Kind: seams.KindCIDR}},
		{"bad compound id", Label{Compound: "c d", Country: "KH", Kind: seams.KindIP}},
		{"unknown country", Label{Compound: "c", Country: "QQ", Kind: seams.KindIP}},
		{"lower-case country", Label{Compound: "c", Country: "kh", Kind: seams.KindIP}},
		{"confidence above 1", Label{Compound: "c", Country: "KH", Kind: seams.KindIP, Confidence: 1.5, HasConfidence: true, Fields: FieldConfidence}},
		{"window reversed", Label{Compound: "c", Country: "KH", Kind: seams.KindIP, Window: seams.Window{First: w.Last, Last: w.First}}},
	} {
		if _, err := ParseLabel(AppendLabel(nil, &tc.l)); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	cut := good[:20]
	if _, err := ParseLabel(cut); err == nil {
		t.Error("cut short: accepted")
	}
	trailing := bytes.Clone(good)
	trailing[len(trailing)-1] = 7
	if _, err := ParseLabel(trailing); err == nil {
		t.Error("bytes after the fields: accepted")
	}
	version := bytes.Clone(good)
	version[0] = 2
	if _, err := ParseLabel(version); err == nil {
		t.Error("version 2: accepted")
	}
}

// FuzzReadTable: ReadTable never panics, and a table it accepts writes
// back to the same bytes.
func FuzzReadTable(f *testing.F) {
	_, table, _ := testTable(f, 2, DefaultLabelFields)
	table.Labels = table.Labels[:2]
	table.entries = table.entries[:3*EntrySize]
	var buf bytes.Buffer
	WriteTable(&buf, table)
	f.Add(buf.Bytes())
	f.Add([]byte(Magic + "\x01\x01"))
	lim := NewLimits()
	lim.MaxEntries, lim.MaxLabels = 1000, 1000
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := ReadTable(bytes.NewReader(b), lim)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteTable(&out, tb); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), b) {
			t.Fatalf("table read from %x writes as %x", b, out.Bytes())
		}
	})
}

// FuzzReadEvalRequest: never panics; an accepted request writes back the
// same bytes.
func FuzzReadEvalRequest(f *testing.F) {
	bl, _ := Blind([][]byte{AppendIPAny(nil, mustAddr("192.0.2.1")), AppendIPAny(nil, mustAddr("2001:db8::1"))})
	f.Add(AppendEvalRequest(nil, &EvalRequest{Epoch: 3, Elements: bl.Elements}))
	f.Add(AppendEvalResponse(nil, &EvalResponse{Epoch: 3, Elements: bl.Elements}))
	lim := NewLimits()
	lim.MaxBatch = 64
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadEvalRequest(bytes.NewReader(b), lim)
		if err != nil {
			return
		}
		if again := AppendEvalRequest(nil, m); !bytes.Equal(again, b) {
			t.Fatalf("request read from %x writes as %x", b, again)
		}
		key, _ := NewKey(m.Epoch, time.Time{})
		key.Evaluate(make([]byte, len(m.Elements)), m.Elements) // must not panic
	})
}

// FuzzReadEvalResponse: never panics; an accepted response has the
// elements asked for and writes back the same bytes; Finalize refuses
// what does not decode rather than panic.
func FuzzReadEvalResponse(f *testing.F) {
	items := [][]byte{AppendIPAny(nil, mustAddr("192.0.2.1")), AppendIPAny(nil, mustAddr("2001:db8::1"))}
	bl, _ := Blind(items)
	key, _ := NewKey(3, time.Time{})
	ev := make([]byte, len(bl.Elements))
	key.Evaluate(ev, bl.Elements)
	f.Add(AppendEvalResponse(nil, &EvalResponse{Epoch: 3, Elements: ev}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadEvalResponse(bytes.NewReader(b), len(items))
		if err != nil {
			return
		}
		if again := AppendEvalResponse(nil, m); !bytes.Equal(again, b) {
			t.Fatalf("response read from %x writes as %x", b, again)
		}
		bl.Finalize(m.Elements)
	})
}

// FuzzParseHello: never panics; an accepted hello marshals and parses
// back to the same.
func FuzzParseHello(f *testing.F) {
	h := Hello{Protocol: Protocol, Suite: SuiteName, Holder: "ngo", Peer: "hotline", Epoch: 2, Families: AllFamilies.Names(),
		LabelFields: DefaultLabelFields.Names(), Entries: 10, Labels: 2, Modes: []string{"labels", "count"},
		Limits: HelloLimits{MaxBatch: 4096, MaxItems: 100, DailyItems: 1000, ItemsLeft: 900, RatePerSec: 10, MinReports: 100, SessionIdle: 600}}
	b, _ := json.Marshal(&h)
	f.Add(b)
	f.Add([]byte(`{"protocol":"seams-psi/1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHello(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseHello(again)
		if err != nil || !reflect.DeepEqual(back, h) {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, h)
		}
		h.FamilySet()
	})
}
