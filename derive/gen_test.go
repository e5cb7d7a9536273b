package derive

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/gen"
)

// worldTruth is the generator's ground truth of an observation data set.
type worldTruth struct {
	residents map[[2]string]bool // compound, device
	addresses map[[2]string]bool // compound, ip
	shared    map[string]bool
	others    map[string]string // device of a commuter or visitor: its kind
}

func readWorld(t testing.TB, path string) *worldTruth {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &worldTruth{residents: map[[2]string]bool{}, addresses: map[[2]string]bool{}, shared: map[string]bool{}, others: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v struct{ Kind, Compound, Device, IP string }
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		// Devices are compared in the form indicators give them.
		if v.Device != "" {
			d, err := seams.ParseDeviceID(v.Device)
			if err != nil {
				t.Fatal(err)
			}
			v.Device = d.String()
		}
		switch v.Kind {
		case "resident":
			w.residents[[2]string{v.Compound, v.Device}] = true
		case "address":
			w.addresses[[2]string{v.Compound, v.IP}] = true
		case "shared":
			w.shared[v.IP] = true
		default:
			w.others[v.Device] = v.Kind
		}
	}
	return w
}

// score is precision and recall of a derived set against the truth.
type score struct {
	name              string
	truth, got, hit   int
	precision, recall float64
}

func (s score) String() string {
	return fmt.Sprintf("%-10s truth %5d  derived %5d  correct %5d  precision %.3f  recall %.3f",
		s.name, s.truth, s.got, s.hit, s.precision, s.recall)
}

func scoreOf[K comparable](name string, truth, got map[K]bool) score {
	s := score{name: name, truth: len(truth), got: len(got)}
	for k := range got {
		if truth[k] {
			s.hit++
		}
	}
	s.precision, s.recall = 1, 1
	if s.got > 0 {
		s.precision = float64(s.hit) / float64(s.got)
	}
	if s.truth > 0 {
		s.recall = float64(s.hit) / float64(s.truth)
	}
	return s
}

// derived sorts a result into the three sets the truth has.
func derived(r *result) (residents, addresses map[[2]string]bool, shared map[string]bool) {
	residents, addresses, shared = map[[2]string]bool{}, map[[2]string]bool{}, map[string]bool{}
	for _, in := range r.indicators {
		switch in.Kind {
		case seams.KindDevice:
			residents[[2]string{in.Compound, in.Value}] = true
		case seams.KindIP:
			addresses[[2]string{in.Compound, in.Value}] = true
		}
	}
	for _, p := range r.shared {
		shared[p.Addr().String()] = true
	}
	return
}

// generated derives a registry from a generated data set.
func generated(t testing.TB, o gen.ObservationOptions) (gen.ObservationFiles, *Options, *Summary) {
	t.Helper()
	dir := t.TempDir()
	f, err := gen.GenerateObservations(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	opts := NewOptions()
	opts.Compounds, opts.Footprints, opts.Observations = f.Compounds, f.Footprints, []string{f.Observations}
	opts.Out = filepath.Join(dir, "derived")
	s, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, &opts, s
}

// TestRecoversTheTruth derives a registry from generated observations and
// scores it against the generator's ground truth: residents, the compounds'
// own addresses, and the carrier addresses that must be in the shared list.
func TestRecoversTheTruth(t *testing.T) {
	t.Skip("the observation generator is being rewritten with the phenomena of issue 15; this test returns with it")
	for _, c := range []struct {
		name string
		o    gen.ObservationOptions
		// Lower bounds; the figures measured are in docs/derive.md.
		minPrecision, minRecall [3]float64
	}{
		{"default world", gen.ObservationOptions{Seed: 1, Compounds: 20, Observations: 200_000, Reports: 1000, BadRate: 0.001},
			[3]float64{0.97, 0.97, 0.97}, [3]float64{0.9, 0.95, 0.9}},
		{"another seed, CSV", gen.ObservationOptions{Seed: 7, Compounds: 12, Observations: 150_000, Reports: 100, Format: "csv", BadRate: 0.002},
			[3]float64{0.97, 0.97, 0.97}, [3]float64{0.9, 0.95, 0.9}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, opts, s := generated(t, c.o)
			r := readResult(t, opts.Out, opts.Compounds, s)
			truth := readWorld(t, f.World)
			res, addrs, shared := derived(r)
			scores := []score{scoreOf("residents", truth.residents, res), scoreOf("addresses", truth.addresses, addrs), scoreOf("shared", truth.shared, shared)}
			for i, sc := range scores {
				t.Log(sc)
				if sc.precision < c.minPrecision[i] || sc.recall < c.minRecall[i] {
					t.Errorf("%s: precision %.3f recall %.3f, want at least %.2f and %.2f", sc.name, sc.precision, sc.recall, c.minPrecision[i], c.minRecall[i])
				}
			}
			// What derive got wrong, by the kind of device it took for a
			// resident.
			wrong := map[string]int{}
			for k := range res {
				if !truth.residents[k] {
					wrong[truth.others[k[1]]]++
				}
			}
			t.Logf("devices wrongly resident, by what they are: %v", wrong)
			oc := s.Observations
			t.Logf("observations %+v", oc)
			if oc.Read != c.o.Observations {
				t.Errorf("read %d observations of %d", oc.Read, c.o.Observations)
			}
			if sum := oc.Rejected + oc.Inside + oc.OutsideFootprints + oc.AccuracyTooCoarse + oc.AccuracyCrossesEdge; sum != oc.Read {
				t.Errorf("%d accounted for of %d", sum, oc.Read)
			}
			if want := int(float64(c.o.Observations)*c.o.BadRate + 0.5); oc.Rejected != want {
				t.Errorf("%d observations rejected, the generator wrote %d bad lines", oc.Rejected, want)
			}
			if s.Rejected != oc.Rejected+2 {
				t.Errorf("%d rejected in all, want the bad lines and the 2 bad features", s.Rejected)
			}
			for _, p := range r.shared {
				if !p.IsSingleIP() || seams.NonRoutable(p.Addr()) != "" {
					t.Errorf("shared entry %s", p)
				}
			}
		})
	}
}

func normalizeDevice(t testing.TB, s string) string {
	d, err := seams.ParseDeviceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
