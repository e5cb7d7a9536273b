package psi

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

func testTable(t testing.TB, epoch uint64, fields LabelField) (*Key, *Table, *world) {
	t.Helper()
	w := randWorld(mrand.New(mrand.NewPCG(3, 4)), 30, 0)
	key, err := NewKey(epoch, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(key, NewExpandOptions(), fields, w.compounds)
	for i := range w.inds {
		if err := b.Add(&w.inds[i]); err != nil {
			t.Fatal(err)
		}
	}
	table, err := b.Build(0)
	if err != nil {
		t.Fatal(err)
	}
	return key, table, w
}

// firstItems returns one item of each of the first indicators of w.
func firstItems(w *world, n int) [][]byte {
	var items [][]byte
	for i := range w.inds[:n] {
		IndicatorItems(nil, &w.inds[i], NewExpandOptions(), func(item []byte) {
			if len(items) <= i {
				items = append(items, append([]byte{}, item...))
			}
		})
	}
	return items
}

// TestTableRoundTrip: a table written and read back opens the same labels;
// each label holds what the indicator said, and only the fields the
// holder chose.
func TestTableRoundTrip(t *testing.T) {
	for _, fields := range []LabelField{DefaultLabelFields, 0, FieldSource} {
		key, table, w := testTable(t, 7, fields)
		var buf bytes.Buffer
		if err := WriteTable(&buf, table); err != nil {
			t.Fatal(err)
		}
		back, err := ReadTable(&buf, NewLimits())
		if err != nil {
			t.Fatal(err)
		}
		if back.Epoch != 7 || back.Len() != table.Len() || len(back.Labels) != len(table.Labels) || back.Families != table.Families {
			t.Fatalf("read back epoch %d, %d entries, %d labels, families %v", back.Epoch, back.Len(), len(back.Labels), back.Families.Names())
		}
		items := firstItems(w, 10)
		opened := exchange(t, key, back, items)
		for i, ls := range opened {
			in := &w.inds[i]
			found := false
			for _, o := range ls {
				l := o.Label
				if l.Compound != in.Compound || l.Kind != in.Kind || !l.Window.First.Equal(in.Window.First) || !l.Window.Last.Equal(in.Window.Last) {
					continue
				}
				if fields&FieldSource != 0 && l.Source != in.Source || fields&FieldSource == 0 && l.Source != "" {
					continue
				}
				wantConf := fields&FieldConfidence != 0 && in.HasConfidence
				if l.HasConfidence != wantConf || wantConf && l.Confidence != in.Confidence {
					t.Errorf("fields %v: indicator %s: confidence %v %v, want %v %v", fields.Names(), in.Source, l.HasConfidence, l.Confidence, wantConf, in.Confidence)
				}
				if (l.Name != "") != (fields&FieldName != 0) {
					t.Errorf("fields %v: name %q", fields.Names(), l.Name)
				}
				found = true
			}
			if !found {
				t.Errorf("fields %v: indicator %s %s: its item opened %d labels, none its own", fields.Names(), in.Kind, in.Value, len(ls))
			}
		}
	}
}

// TestEpoch: PRF outputs under one epoch's key open nothing in another
// epoch's table, even one built with the same key (the epoch is in every
// tag): a querier cannot keep using old outputs or old tables.
func TestEpoch(t *testing.T) {
	key1, table1, w := testTable(t, 1, DefaultLabelFields)
	items := firstItems(w, 5)
	if n := countOpened(exchange(t, key1, table1, items)); n == 0 {
		t.Fatal("the key's own table opens nothing")
	}
	key2, table2, _ := testTable(t, 2, DefaultLabelFields)
	if n := countOpened(exchange(t, key1, table2, items)); n != 0 {
		t.Errorf("outputs of epoch 1 opened %d labels of epoch 2", n)
	}
	if n := countOpened(exchange(t, key2, table1, items)); n != 0 {
		t.Errorf("outputs of epoch 2 opened %d labels of epoch 1", n)
	}
	// The epoch is in every tag: the same key under another epoch
	// number makes no tag of the first (rotation makes a new key too).
	same := *key1
	same.Epoch = 9
	b := NewBuilder(&same, NewExpandOptions(), DefaultLabelFields, w.compounds)
	for i := range w.inds {
		b.Add(&w.inds[i])
	}
	table9, err := b.Build(1)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]bool{}
	for i := range table1.Len() {
		tags[string(table1.entry(i)[:TagSize])] = true
	}
	for i := range table9.Len() {
		if tags[string(table9.entry(i)[:TagSize])] {
			t.Fatalf("a tag of epoch 9 is a tag of epoch 1")
		}
	}
}

func countOpened(ls [][]Opened) int {
	n := 0
	for _, l := range ls {
		n += len(l)
	}
	return n
}

// TestTampered: a table whose labels or pointers were changed does not
// open: the querier gets an error, not a wrong label.
func TestTampered(t *testing.T) {
	key, table, w := testTable(t, 3, DefaultLabelFields)
	items := firstItems(w, 3)
	bl, err := Blind(items)
	if err != nil {
		t.Fatal(err)
	}
	ev := make([]byte, len(bl.Elements))
	if err := key.Evaluate(ev, bl.Elements); err != nil {
		t.Fatal(err)
	}
	outs, err := bl.Finalize(ev)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := table.Open(outs[0]); err != nil || len(n) == 0 {
		t.Fatalf("untouched: %d labels, %v", len(n), err)
	}
	labels := make([][]byte, len(table.Labels))
	for i := range table.Labels {
		labels[i] = bytes.Clone(table.Labels[i])
		table.Labels[i][len(table.Labels[i])/2] ^= 1
	}
	if _, err := table.Open(outs[0]); !errors.Is(err, ErrOpen) {
		t.Errorf("tampered labels: got %v, want ErrOpen", err)
	}
	table.Labels = labels
	for i := range table.Len() {
		table.entry(i)[TagSize] ^= 0x80 // the pointer's label index
	}
	for _, out := range outs {
		if _, err := table.Open(out); err == nil {
			t.Errorf("tampered pointers: opened without error")
		}
	}
}

// TestEvaluateRefuses: the holder refuses elements that are not valid
// encodings, or are the identity, for the whole batch.
func TestEvaluateRefuses(t *testing.T) {
	key, err := NewKey(1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bl, err := Blind([][]byte{AppendIPAny(nil, netip.MustParseAddr("192.0.2.1"))})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, ElementSize)
	if err := key.Evaluate(out, bl.Elements); err != nil {
		t.Fatalf("a valid element: %v", err)
	}
	for name, el := range map[string][]byte{
		"identity":      make([]byte, ElementSize),
		"not canonical": bytes.Repeat([]byte{0xff}, ElementSize),
		"short":         bl.Elements[:ElementSize-1],
	} {
		if err := key.Evaluate(make([]byte, len(el)), el); !errors.Is(err, ErrElement) {
			t.Errorf("%s: got %v, want ErrElement", name, err)
		}
	}
}

// TestKeyFile: a key written and read back evaluates as before.
func TestKeyFile(t *testing.T) {
	key, err := NewKey(4, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	b, err := key.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadKey(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	item := AppendDevice(nil, FamilyDeviceAny, seams.DeviceID{Type: "imei", Value: "358240051111110"})
	o1, _ := key.FullEvaluate(item)
	o2, _ := back.FullEvaluate(item)
	if !bytes.Equal(o1, o2) || back.Epoch != 4 || !back.Created.Equal(key.Created) {
		t.Errorf("read back: epoch %d created %v, same output %v", back.Epoch, back.Created, bytes.Equal(o1, o2))
	}
	for _, bad := range []string{`{}`, `{"suite":"P256-SHA256","epoch":1,"secret":""}`, `{"suite":"ristretto255-SHA512","epoch":1,"secret":"AAAA"}`} {
		if _, err := ReadKey(bytes.NewReader([]byte(bad))); err == nil {
			t.Errorf("ReadKey(%s): no error", bad)
		}
	}
}
