package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/footprint"
	reg "github.com/seams-dev/seams/registry"
)

// TestWorldGeometry holds the world to what its truth says, with the
// footprints as derive reads them: residents' homes lie inside their own
// compound's footprint, at least 25 m from its edge; commuters' places lie
// outside every footprint, at least 19 m from any; towns lie kilometres
// from every footprint.
func TestWorldGeometry(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		o := ObservationOptions{Seed: seed, Compounds: 40, Observations: 400_000, Format: "jsonl"}
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
		at := func(c *obsCompound, px, py int64) (float64, float64) {
			lat, lon := c.place(px, py)
			return float64(lon) / microdeg, float64(lat) / microdeg
		}
		for i, r := range w.residents {
			c := w.comps[r.comp]
			lon, lat := at(c, r.homeX, r.homeY)
			in, where := x.Locate(lon, lat, 25, nil)
			if where != footprint.Inside || len(in) != 1 || int(in[0]) != int(r.comp) {
				t.Fatalf("seed %d: resident %d of %s (circle %v) lives %s %v", seed, i, c.id, c.circle, where, in)
			}
		}
		for i, cm := range w.commuters {
			c := w.comps[cm.comp]
			lon, lat := at(c, cm.ax, cm.ay)
			if _, where := x.Locate(lon, lat, 19, nil); where != footprint.Outside {
				t.Fatalf("seed %d: commuter %d of %s stays %s", seed, i, c.id, where)
			}
		}
		for _, c := range w.comps {
			lon, lat := at(c, c.townX, c.townY)
			if _, where := x.Locate(lon, lat, 1999, nil); where != footprint.Outside {
				t.Fatalf("seed %d: the town of %s is %s", seed, c.id, where)
			}
			if len(c.wifi) == 0 || len(w.pools[c.cidx]) == 0 {
				t.Fatalf("seed %d: %s has no Wi-Fi or no carrier pool", seed, c.id)
			}
		}
		if !strings.HasPrefix(all[0].Source(), fp) {
			t.Fatalf("source %s", all[0].Source())
		}
	}
}

// TestStays checks that every resident stays at least two weeks within
// the calendar.
func TestStays(t *testing.T) {
	o := ObservationOptions{Seed: 4, Compounds: 30, Observations: 1_000_000, Format: "jsonl"}
	w, err := newWorld(&o)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range w.residents {
		if r.start < 0 || r.end >= obsDays || r.end-r.start < 13 {
			t.Fatalf("resident %d stays from day %d to %d", i, r.start, r.end)
		}
	}
}
