package storetest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/misp"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/stix"
)

// testDifferentialFormats is the differential test of the registry
// formats: the hand-made registry given as a STIX 2.1 bundle, as MISP
// events, with its compounds as FollowTheMoney entities and its shared
// space as a MISP warninglist, some of them compressed, is loaded into a
// fresh store and cross-referenced there, and `seams xref` reads the same
// files. The findings must be the same lines, the summaries the same; and
// the store must hold the indicators and shared space the CSV files give,
// and the compounds the files define, with those of a compounds file
// winning over a bundle's.
func testDifferentialFormats(t *testing.T, e Engine) {
	c, i, s, r := Small()
	dir := t.TempDir()
	reg := smallRegistry(t, c, i)
	fixtures := filepath.Join(repoRoot(), "registryfile", "testdata")
	ftmCompounds := filepath.Join(fixtures, "compounds.ftm.json")
	warninglist := filepath.Join(fixtures, "shared.warninglist.json")

	// The compounds as a bundle renames them: with a compounds file given
	// too, the names the file gives must stand.
	renamed := slices.Clone(reg.compounds)
	for k := range renamed {
		renamed[k].Name += " (from the bundle)"
	}
	at := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	var bundle, renamedBundle, events bytes.Buffer
	must(t, stix.WriteBundle(&bundle, &stix.Export{Org: "Hotline Example", Time: at, Compounds: reg.compounds, Indicators: reg.indicators}))
	must(t, stix.WriteBundle(&renamedBundle, &stix.Export{Org: "Hotline Example", Time: at, Compounds: renamed, Indicators: reg.indicators}))
	_, err := misp.WriteEvents(&events, &misp.Export{Org: "Hotline Example", Time: at, Compounds: reg.compounds, Indicators: reg.indicators})
	must(t, err)

	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, b, 0o600))
		return p
	}
	readAll := func(p string) []byte {
		b, err := os.ReadFile(p)
		must(t, err)
		return b
	}
	cases := []struct {
		name                          string
		compounds, indicators, shared string
	}{
		{name: "stix without compounds", indicators: file("registry.stix.json", bundle.Bytes()), shared: s},
		{name: "misp without compounds", indicators: file("registry.misp.json", events.Bytes()), shared: s},
		{name: "stix over compounds.csv", compounds: c, indicators: file("renamed.stix.json", renamedBundle.Bytes()), shared: s},
		{name: "misp over compounds.csv", compounds: c, indicators: file("events.json", events.Bytes()), shared: s},
		{name: "ftm compounds and a warninglist", compounds: ftmCompounds, indicators: i, shared: warninglist},
		{name: "compressed", compounds: file("compounds.ftm.json.gz", gz(t, readAll(ftmCompounds))),
			indicators: file("registry.stix.json.zst", zst(t, bundle.Bytes())), shared: file("shared.wl", zst(t, readAll(warninglist)))},
		{name: "compressed, names that do not say so", compounds: file("compounds.csv.data", zst(t, readAll(c))),
			indicators: file("indicators.data", gz(t, readAll(i))), shared: file("shared.data", gz(t, readAll(s)))},
	}
	// The baseline: the CSV files.
	base := func() registryView {
		st, _ := e.New(t)
		defer st.Close()
		loadRegistry(t, st, Operator, c, i, s, load.NewOptions())
		return storedRegistry(t, st)
	}()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := e.New(t)
			defer st.Close()
			differential(t, st, tc.compounds, tc.indicators, tc.shared, r)
			got := storedRegistry(t, st)
			if !slices.Equal(got.indicators, base.indicators) {
				t.Errorf("stored indicators differ from those of the CSV:\n got %q\nwant %q", got.indicators, base.indicators)
			}
			if !slices.Equal(got.shared, base.shared) {
				t.Errorf("stored shared space %q, the CSV's %q", got.shared, base.shared)
			}
			if !slices.Equal(got.ids, base.ids) {
				t.Errorf("stored compounds %q, the CSV's %q", got.ids, base.ids)
			}
			// What the compounds say: all a format carries (MISP events
			// carry a compound's id, name and country only).
			switch tc.name {
			case "misp without compounds":
				if !slices.Equal(got.brief, base.brief) {
					t.Errorf("stored compounds %q, the CSV's %q", got.brief, base.brief)
				}
			default:
				if !slices.Equal(got.compounds, base.compounds) {
					t.Errorf("stored compounds\n %q\nthe CSV's\n %q", got.compounds, base.compounds)
				}
			}
		})
	}
}

// registry is the hand-made registry, read from its CSV files.
type registry struct {
	compounds  []seams.Compound
	indicators []seams.Indicator
}

func smallRegistry(t testing.TB, compounds, indicators string) registry {
	t.Helper()
	cf, err := os.Open(compounds)
	must(t, err)
	defer cf.Close()
	cs, err := registryfile.ReadCompounds(registryfile.CSV, cf, compounds, nil)
	must(t, err)
	inf, err := os.Open(indicators)
	must(t, err)
	defer inf.Close()
	_, ins, err := registryfile.ReadIndicators(registryfile.CSV, inf, indicators, registryfile.IDs(cs), nil)
	must(t, err)
	return registry{cs, ins}
}

// registryView is what a store holds of the registry, as sorted text.
type registryView struct {
	compounds, brief, ids []string
	indicators, shared    []string
}

func storedRegistry(t testing.TB, st seams.Store) registryView {
	t.Helper()
	snap, err := st.Snapshot(ctx())
	must(t, err)
	defer snap.Close()
	reg, err := snap.Registry(ctx())
	must(t, err)
	var v registryView
	for _, c := range reg.Compounds {
		v.ids = append(v.ids, c.ID)
		v.brief = append(v.brief, fmt.Sprintf("%s %q %s", c.ID, c.Name, c.Country))
		v.compounds = append(v.compounds, fmt.Sprintf("%s %q %q %s %q %v,%v,%v %s", c.ID, c.Name, c.Aliases, c.Country, c.Province,
			c.HasLocation, c.Lat, c.Lon, c.Status))
	}
	for _, si := range reg.Indicators {
		in := &si.Indicator
		drift := "-" // no bound of its own
		if in.HasDrift {
			drift = in.Drift.String()
		}
		v.indicators = append(v.indicators, fmt.Sprintf("%s %s %s %v %v %v/%v %q org=%s shared=%v drift=%s", in.Compound, in.Kind, in.Value,
			in.Window.First.UTC(), in.Window.Last.UTC(), in.Confidence, in.HasConfidence, in.Source, si.Org, si.Shared, drift))
	}
	for _, p := range reg.Shared {
		v.shared = append(v.shared, p.String())
	}
	for _, l := range [][]string{v.compounds, v.brief, v.ids, v.indicators, v.shared} {
		slices.Sort(l)
	}
	return v
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	must(t, err)
	must(t, w.Close())
	return buf.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	w, err := zstd.NewWriter(nil)
	must(t, err)
	return w.EncodeAll(b, nil)
}
