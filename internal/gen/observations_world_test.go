package gen

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/footprint"
	reg "github.com/seams-dev/seams/registry"
)

// TestWorldGeometry holds the world to what its truth says, with the
// footprints as derive reads them: members' beds and desks inside their
// compound; neighbours' houses outside every footprint, at the fence;
// the towns' houses outside every footprint; compounds that share a wall
// touch and do not overlap; a centroid said to be inside a compound is.
func TestWorldGeometry(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		o := ObservationOptions{Seed: seed, Compounds: 30, Observations: 3_000_000, Format: "jsonl"}
		w, err := newWorld(&o)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		cp, fp := filepath.Join(dir, "c.csv"), filepath.Join(dir, "f.geojson")
		if err := writeFile(cp, w.writeCompounds); err != nil {
			t.Fatal(err)
		}
		if err := writeFile(fp, w.writeFootprints); err != nil {
			t.Fatal(err)
		}
		cf, _ := os.Open(cp)
		compounds, err := reg.ReadCompounds(cf, cp, nil)
		cf.Close()
		if err != nil {
			t.Fatal(err)
		}
		ff, _ := os.Open(fp)
		fps, err := footprint.ReadGeoJSON(ff, fp, compounds, func(e *seams.RecordError) { t.Errorf("feature rejected: %v", e) })
		ff.Close()
		if err != nil {
			t.Fatal(err)
		}
		all, _, err := footprint.WithCircles(fps, compounds, CircleRadius, cp, nil)
		if err != nil {
			t.Fatal(err)
		}
		x, err := footprint.NewIndex(all, compounds, 2000)
		if err != nil {
			t.Fatal(err)
		}
		locate := func(plane int, p pt, acc float64) ([]int32, footprint.Where) {
			lat, lon := w.comps[plane].place(p)
			return x.Locate(float64(lon)/microdeg, float64(lat)/microdeg, acc, nil)
		}
		adjacent := 0
		for _, c := range w.comps {
			if c.adjacent >= 0 {
				adjacent++
			}
		}
		if adjacent == 0 {
			t.Errorf("seed %d: no compounds share a wall", seed)
		}
		for i := range w.devs {
			d := &w.devs[i]
			c := w.comps[d.comp]
			plane := c.town.comp
			switch d.kind {
			case kResident:
				for _, p := range []pt{d.home, d.work} {
					if in, where := locate(plane, p, 14); where != footprint.Inside || len(in) != 1 || int(in[0]) != c.idx {
						t.Fatalf("seed %d: resident %d of %s (circle %v) lives %s %v", seed, i, c.id, c.circle, where, in)
					}
				}
			case kWorker:
				if in, where := locate(plane, d.work, 14); where != footprint.Inside || int(in[0]) != c.idx {
					t.Fatalf("seed %d: worker %d of %s works %s %v", seed, i, c.id, where, in)
				}
				if _, where := locate(plane, d.home, 39); where != footprint.Outside {
					t.Fatalf("seed %d: worker %d of %s lives %s", seed, i, c.id, where)
				}
			case kNeighbour:
				if _, where := locate(plane, d.home, 4); where != footprint.Outside {
					t.Fatalf("seed %d: neighbour %d of %s lives %s", seed, i, c.id, where)
				}
				if _, where := locate(plane, d.home, 61); where == footprint.Outside {
					t.Fatalf("seed %d: neighbour %d of %s lives more than 60 m from the fence", seed, i, c.id)
				}
			}
		}
		for i, h := range w.households {
			if _, where := locate(w.towns[h.town].comp, h.home, 39); where != footprint.Outside && !slices.ContainsFunc(w.devs, func(d device) bool { return d.kind == kNeighbour && d.home == h.home }) {
				t.Fatalf("seed %d: household %d lives %s", seed, i, where)
			}
		}
		for _, tw := range w.towns {
			in, where := locate(tw.comp, tw.centroid, 0)
			if tw.inComp >= 0 && (where != footprint.Inside || int(in[0]) != tw.inComp) || tw.inComp < 0 && where != footprint.Outside {
				t.Fatalf("seed %d: the centroid of the town of %s, said in %d, is %s %v", seed, w.comps[tw.comp].id, tw.inComp, where, in)
			}
		}
		for _, c := range w.comps {
			if c.adjacent < 0 || c.adjacent > c.idx {
				continue // the later of the two was built against the other's wall
			}
			// The middle of the shared wall touches both; a point a metre
			// either side is in one only.
			b := c.blocks[0]
			for _, k := range []struct {
				u    int64
				want int
			}{{-b.hw + 100, c.idx}, {-b.hw - 100, c.adjacent}} {
				in, where := locate(c.town.comp, b.toLocal(k.u, 0), 0)
				if where != footprint.Inside || len(in) != 1 || int(in[0]) != k.want {
					t.Fatalf("seed %d: %s next to %s: %s %v at u=%d, want in %d", seed, c.id, w.comps[c.adjacent].id, where, in, k.u, k.want)
				}
			}
		}
	}
}

// TestLeases holds the fibre leases to how ISPs work: every line holds
// one address at a time over the whole calendar, no address is held by
// two lines at once, and a released address rests a day at least before
// another line gets it (unless its ISP's space runs short).
func TestLeases(t *testing.T) {
	o := ObservationOptions{Seed: 4, Compounds: 20, Observations: 4_000_000, Format: "jsonl"}
	w, err := newWorld(&o)
	if err != nil {
		t.Fatal(err)
	}
	type hold struct {
		start, end int64
		line       int
	}
	byAddr := map[uint32][]hold{}
	reused, twice := 0, 0
	for i := range w.lines {
		l := &w.lines[i]
		if len(l.leases) == 0 || l.leases[0].start != -daySecs || l.leases[len(l.leases)-1].end != calSecs+daySecs {
			t.Fatalf("line %d: leases do not cover the calendar: %+v", i, l.leases)
		}
		seen := map[uint32]bool{}
		for k, ls := range l.leases {
			if k > 0 && ls.start != l.leases[k-1].end {
				t.Fatalf("line %d: lease %d starts at %d, the one before ends at %d", i, k, ls.start, l.leases[k-1].end)
			}
			if seen[ls.addr] && l.comp >= 0 {
				twice++
			}
			seen[ls.addr] = true
			byAddr[ls.addr] = append(byAddr[ls.addr], hold{ls.start, ls.end, i})
		}
	}
	for a, hs := range byAddr {
		slices.SortFunc(hs, func(x, y hold) int { return cmp64(x.start, y.start) })
		for k := 1; k < len(hs); k++ {
			if hs[k].start < hs[k-1].end {
				t.Fatalf("%s held by lines %d and %d at once", addr4(a), hs[k-1].line, hs[k].line)
			}
			if hs[k].line != hs[k-1].line {
				reused++
			}
		}
	}
	if reused == 0 || twice == 0 {
		t.Errorf("addresses passed to another line %d times, held twice by a compound %d times: the world lacks the phenomena", reused, twice)
	}
	after := 0
	for _, hs := range byAddr {
		for k := 1; k < len(hs); k++ {
			if w.lines[hs[k-1].line].comp >= 0 && w.lines[hs[k].line].comp < 0 {
				after++
			}
		}
	}
	if after == 0 {
		t.Error("no household had a compound's address after it")
	}
	t.Logf("%d addresses passed to another line, %d held twice by a compound's line, %d passed from a compound to a household", reused, twice, after)
}
