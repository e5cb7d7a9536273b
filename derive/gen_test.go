package derive

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/seams-dev/seams/internal/gen"
)

// generated derives a registry from a generated data set.
func generated(t testing.TB, o gen.ObservationOptions, set func(*Options)) (gen.ObservationFiles, *Options, *Summary) {
	t.Helper()
	dir := t.TempDir()
	if k := os.Getenv("SEAMS_KEEP"); k != "" {
		dir = k
	}
	f, err := gen.GenerateObservations(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	opts := deriveOptions(f, filepath.Join(dir, "derived"))
	if set != nil {
		set(opts)
	}
	s, err := Run(context.Background(), *opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, opts, s
}

func deriveOptions(f gen.ObservationFiles, out string) *Options {
	opts := NewOptions()
	opts.Compounds, opts.Footprints, opts.Observations = f.Compounds, f.Footprints, []string{f.Observations}
	opts.Out = out
	return &opts
}

// TestRecoversTheTruth derives a registry from a generated world with
// every phenomenon of docs/derive.md (riders, centroid phones, neighbours,
// walls shared by two compounds, carrier and satellite NAT, leases that
// change hands, IPv6 privacy addresses, sparse to dense pings) and scores
// it against the generator's ground truth. The bounds are the issue's
// acceptance; the figures measured are in docs/derive.md.
func TestRecoversTheTruth(t *testing.T) {
	for _, c := range []struct {
		name string
		o    gen.ObservationOptions
	}{
		{"default world", gen.ObservationOptions{Seed: 1, Compounds: 12, Observations: 1_000_000, Reports: 100, BadRate: 0.001}},
		{"another seed, CSV", gen.ObservationOptions{Seed: 7, Compounds: 10, Observations: 800_000, Reports: 100, Format: "csv", BadRate: 0.002}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, opts, s := generated(t, c.o, nil)
			r := readResult(t, opts.Out, opts.Compounds, s)
			tw := readTruth(t, f.World)
			sc := scoreRegistry(tw, r)
			t.Logf("\n%s", sc)
			for _, b := range []struct {
				what      string
				got, want float64
			}{
				{"members precision", sc.members.precision(), 0.95},
				{"members recall (seen inside on 10 days or more)", sc.membersSeen.recall(), 0.95},
				{"members recall (all)", sc.members.recall(), 0.9},
				{"compound IPv4 precision", sc.ipv4.precision(), 0.95},
				{"compound IPv4 recall (seen by 3+ members on 3+ days)", sc.ipv4Seen3.recall(), 0.9},
				{"compound IPv4 recall (seen by 2+ members on 2+ days)", sc.ipv4Seen.recall(), 0.85},
				{"compound IPv6 precision", sc.ipv6.precision(), 0.95},
				{"compound IPv6 recall (seen by 3+ members on 3+ days)", sc.ipv6Seen3.recall(), 0.9},
				{"compound IPv6 recall (seen by 2+ members on 2+ days)", sc.ipv6Seen.recall(), 0.85},
				{"shared precision", sc.shared.precision(), 0.95},
			} {
				if b.got < b.want {
					t.Errorf("%s %.3f, want at least %.2f", b.what, b.got, b.want)
				}
			}
			for _, k := range []string{"rider", "centroid", "neighbour", "visitor"} {
				if sc.falseMembers[k] > 0 {
					t.Errorf("%d %s devices made members", sc.falseMembers[k], k)
				}
			}
			if sc.wrongSide > 0 {
				t.Errorf("%d members put on the wrong side of a shared wall", sc.wrongSide)
			}
			if n := sc.ipv4False["carrier"] + sc.ipv4False["satellite"]; n > 0 {
				t.Errorf("%d carrier or satellite addresses made indicators", n)
			}
			oc := s.Observations
			t.Logf("observations %+v; shared coordinates %+v", oc, s.SharedCoordinates)
			if oc.Read != c.o.Observations {
				t.Errorf("read %d observations of %d", oc.Read, c.o.Observations)
			}
			if sum := oc.Rejected + oc.Inside + oc.OutsideFootprints + oc.AccuracyTooCoarse + oc.AccuracyCrossesEdge; sum != oc.Read {
				t.Errorf("%d accounted for of %d", sum, oc.Read)
			}
			if want := int(float64(c.o.Observations)*c.o.BadRate + 0.5); oc.Rejected != want {
				t.Errorf("%d observations rejected, the generator wrote %d bad lines", oc.Rejected, want)
			}
			// The two bad features: one names no compound, the other is the
			// only feature of a compound, which falls back to its circle,
			// loudly; the special economic zone is flagged.
			if s.Rejected != oc.Rejected+2 || len(s.Footprints.FallbackCircles) != 1 || len(s.Footprints.Large) != 1 || len(s.Warnings) != 2 {
				t.Errorf("%d rejected in all, want the bad lines and the 2 bad features; fallback circles %+v, large %+v",
					s.Rejected, s.Footprints.FallbackCircles, s.Footprints.Large)
			}
			if tw.centroids > 0 && s.SharedCoordinates.InsideFootprints < tw.centroids {
				t.Errorf("%d shared coordinates inside footprints, but %d towns' centroids lie inside compounds", s.SharedCoordinates.InsideFootprints, tw.centroids)
			}
		})
	}
}
