package gen_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/footprint"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/observe"
	"github.com/seams-dev/seams/registry"
)

func genObs(t *testing.T, o gen.ObservationOptions) gen.ObservationFiles {
	t.Helper()
	f, err := gen.GenerateObservations(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestObservationsDeterministic: the same seed and options give the same
// bytes; another seed gives another world.
func TestObservationsDeterministic(t *testing.T) {
	o := gen.ObservationOptions{Seed: 5, Compounds: 6, Observations: 700000, Reports: 500, BadRate: 0.01}
	a, b := genObs(t, o), genObs(t, o)
	o.Seed = 6
	c := genObs(t, o)
	for _, name := range []string{"compounds.csv", "footprints.geojson", "observations.jsonl", "reports.jsonl", "truth.jsonl", "planted.jsonl", "world.jsonl", "sensitive.geojson"} {
		x, _ := os.ReadFile(filepath.Join(a.Dir, name))
		y, _ := os.ReadFile(filepath.Join(b.Dir, name))
		z, _ := os.ReadFile(filepath.Join(c.Dir, name))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs of one seed", name)
		}
		if name != "compounds.csv" && bytes.Equal(x, z) {
			t.Errorf("%s is the same for two seeds", name)
		}
	}
}

// TestObservationsReadable reads every file as derive and xref will, in
// each format: exactly the lines asked for, the bad ones rejected and no
// other, footprints that validate, and every kind of device in the truth.
func TestObservationsReadable(t *testing.T) {
	for _, format := range []string{"jsonl", "csv", "parquet"} {
		t.Run(format, func(t *testing.T) {
			o := gen.ObservationOptions{Seed: 2, Compounds: 10, Observations: 400000, Reports: 300, Format: format, BadRate: 0.005, Gzip: format == "csv"}
			f := genObs(t, o)
			cf, _ := os.Open(f.Compounds)
			compounds, err := registry.ReadCompounds(cf, f.Compounds, func(e *seams.RecordError) { t.Errorf("compound rejected: %v", e) })
			cf.Close()
			if err != nil || len(compounds) != 10 {
				t.Fatalf("%d compounds, %v", len(compounds), err)
			}
			ff, _ := os.Open(f.Footprints)
			var frej []*seams.RecordError
			fps, err := footprint.ReadGeoJSON(ff, f.Footprints, compounds, func(e *seams.RecordError) { frej = append(frej, e) })
			ff.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(frej) != 2 || !strings.Contains(frej[0].Reason, "unknown compound") || !strings.Contains(frej[1].Reason, "crosses itself") {
				t.Errorf("footprints rejected: %v (want the two bad features)", frej)
			}
			all, none, err := footprint.WithCircles(fps, compounds, gen.CircleRadius, f.Compounds, nil)
			if err != nil || len(none) != 0 || len(all) != 10 {
				t.Fatalf("%d footprints, %v without, %v", len(all), none, err)
			}
			if _, err := footprint.NewIndex(all, compounds, 0); err != nil {
				t.Fatal(err)
			}
			in, err := observe.Open(f.Observations, "")
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			r, err := in.Reader()
			if err != nil {
				t.Fatal(err)
			}
			read, rejected := 0, 0
			for {
				var ob observe.Observation
				_, err := r.Next(&ob, func(*seams.RecordError) { rejected++ })
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				read++
			}
			if want := int(float64(o.Observations)*o.BadRate + 0.5); read+rejected != o.Observations || rejected != want {
				t.Errorf("%d read and %d rejected of %d lines, want %d rejected", read, rejected, o.Observations, want)
			}
			kinds := map[string]int{}
			wf, _ := os.Open(f.World)
			sc := bufio.NewScanner(wf)
			for sc.Scan() {
				var v struct{ Kind, Compound, Device, IP string }
				if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
					t.Fatal(err)
				}
				kinds[v.Kind]++
			}
			wf.Close()
			for k, least := range map[string]int{"resident": 30, "worker": 5, "rider": 2, "neighbour": 3, "visitor": 10, "centroid": 10,
				"address": 10, "prefix": 3, "shared": 10, "lease_after": 5} {
				if kinds[k] < least {
					t.Errorf("world: %d of %s, want %d or more (%v)", kinds[k], k, least, kinds)
				}
			}
			// The sensitive places read as derive reads them.
			sf, _ := os.Open(f.Sensitive)
			zones, err := footprint.ReadZones(sf, f.Sensitive, func(e *seams.RecordError) { t.Errorf("zone rejected: %v", e) })
			sf.Close()
			if err != nil || len(zones) < 3*len(compounds)/2 {
				t.Errorf("%d zones, %v", len(zones), err)
			}
		})
	}
}

func TestObservationOptions(t *testing.T) {
	for _, c := range []struct {
		o   gen.ObservationOptions
		err string
	}{
		{gen.ObservationOptions{Compounds: 0, Observations: 1000}, "Compounds: compounds 0"},
		{gen.ObservationOptions{Compounds: 5, Observations: -1}, "observations -1"},
		{gen.ObservationOptions{Compounds: 5, Observations: 1000, Format: "xml"}, `format "xml"`},
		{gen.ObservationOptions{Compounds: 5, Observations: 1000, Format: "parquet", Gzip: true}, "not gzipped"},
		{gen.ObservationOptions{Compounds: 5, Observations: 1000, BadRate: 0.9}, "bad rate"},
		{gen.ObservationOptions{Compounds: 50, Observations: 50000}, "too few for 50 compounds"},
	} {
		_, err := gen.GenerateObservations(t.TempDir(), c.o)
		if !errors.Is(err, gen.ErrOptions) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.err)
		}
	}
}
