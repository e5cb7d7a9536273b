package psi

import (
	"bytes"
	mrand "math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// TestReverseSlowTwin: the reverse direction, where the reports' holder
// serves and the registry's holder queries its indicators' items, gives
// the (event, indicator) pairs of brute force once the querier checks
// each opened event's time against its own window.
func TestReverseSlowTwin(t *testing.T) {
	r := mrand.New(mrand.NewPCG(5, 17))
	pairs := 0
	for round := range 4 {
		w := randWorld(r, 40, 120)
		w.reports = append(w.reports, w.reports[0]) // a repeated id: the first stands
		key, err := NewKey(uint64(round+1), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b := NewBuilder(key, NewExpandOptions(), 0, nil)
		seen := map[string]bool{}
		for i := range w.reports {
			if seen[w.reports[i].ID] {
				continue
			}
			seen[w.reports[i].ID] = true
			if err := b.AddReport(&w.reports[i]); err != nil {
				t.Fatal(err)
			}
		}
		table, err := b.Build(2)
		if err != nil {
			t.Fatal(err)
		}
		o := NewExpandOptions()
		if round%2 == 1 {
			o.MaxWindowDays = 10
		}
		var items [][]byte
		var owner []int
		for i := range w.inds {
			IndicatorItems(nil, &w.inds[i], o, func(item []byte) {
				if table.Families.Has(Family(item[0])) {
					items = append(items, bytes.Clone(item))
					owner = append(owner, i)
				}
			})
		}
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
		got := map[pair]bool{}
		for k, out := range outs {
			ls, err := table.OpenEvents(out)
			if err != nil {
				t.Fatal(err)
			}
			in := &w.inds[owner[k]]
			for _, l := range ls {
				if l.Label.At.IsZero() || in.Window.Contains(l.Label.At) {
					got[pair{l.Label.Report, int(l.Label.Seq), in.Source}] = true
				}
			}
		}
		want := slowMatches(&world{inds: w.inds, reports: w.reports[:len(w.reports)-1]}, true, NewExpandOptions())
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round %d: reverse gives %d pairs, brute force %d", round, len(got), len(want))
			for p := range want {
				if !got[p] {
					t.Errorf("missing %v", p)
				}
			}
		}
		pairs += len(want)
	}
	if pairs == 0 {
		t.Fatal("no pair met")
	}
}

// FuzzParseEventLabel: never panics; an accepted label encodes back to the
// same bytes.
func FuzzParseEventLabel(f *testing.F) {
	f.Add(AppendEventLabel(nil, &EventLabel{Report: "r-1", ReportOrder: 3, Seq: 1, Kind: seams.KindIP,
		At: time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC), Event: "login", Port: 51234, Proxy: true, Associated: true}))
	f.Add(AppendEventLabel(nil, &EventLabel{Report: "r-2", Kind: seams.KindDevice}))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseEventLabel(b)
		if err != nil {
			return
		}
		if again := AppendEventLabel(nil, l); !bytes.Equal(again, b) {
			t.Fatalf("label %+v encodes as %x, read from %x", l, again, b)
		}
		if _, err := ParseLabel(b); err == nil {
			t.Fatal("an event label reads as an indicator label")
		}
	})
}
