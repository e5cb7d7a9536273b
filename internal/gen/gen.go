// Package gen generates realistic synthetic data sets for seams: a registry
// of scam compounds and their indicators, a shared-space list, a file of
// hotline reports, and the exact findings a cross-reference of them must
// produce. `seams gen`, `seams demo`, tests and benchmarks use it.
//
// Addresses come from real public registry ranges of Cambodia, Myanmar and
// Laos and from Starlink's (embedded, see data/LICENSE.md): compounds use
// their country's mobile and fixed carriers, some Starlink, some a carrier
// across a border. The first compounds are real, publicly reported ones at
// approximate locations; the rest are named "Synthetic compound NNN".
// Indicators, devices and reports are all synthetic.
//
// Most reports are background: their addresses are drawn where no indicator
// lies and their devices are never indicator devices, so they match
// nothing. A few are planted: tied (an indicator's device in its window, or
// its exact address in its window, not a proxy, not in shared space),
// potentially associated (the address within the drift of its window, an
// address inside a cidr indicator, a proxy, an address in shared space), or
// near misses (just beyond the drift, next to a prefix, a device just
// outside its window). truth.jsonl lists the findings that follow from the
// contract's rules with the default drift (TruthDrift), worked out by
// applying those rules to every planted report.
//
// Output is deterministic: the same seed and options give the same bytes.
// Memory grows with the indicators, never with the reports, which are
// streamed; 10 million reports (about 3 GB) take the same memory as 10.
package gen

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/mmdbcsv"
)

// TruthDrift is the drift the truth file assumes: the contract's default.
const TruthDrift = 90 * 24 * time.Hour

// Options says what to generate.
type Options struct {
	Seed       uint64 // same seed, same options: byte-identical files
	Compounds  int    // default 40; the first 7 are real, the rest synthetic
	Indicators int    // ip, cidr and device indicators over all compounds; default 2,000, up to 10 million
	Reports    int    // report lines, malformed ones included; default 100,000

	// TiedRate is the fraction of reports planted as tied to a compound.
	TiedRate float64
	// PotentialRate is the fraction planted as only potentially
	// associated. A further quarter of that number are near misses, which
	// must produce no finding.
	PotentialRate float64
	// BadRate is the fraction of report lines made malformed: not JSON, not
	// an object, no valid id, a duplicate id (all rejected whole, so they
	// contribute no finding), or one invalid ip event or device in an
	// otherwise valid report (rejected on its own).
	BadRate float64
	Gzip    bool // write reports.jsonl.gz instead of reports.jsonl
}

// DefaultOptions returns the options of the demo data set: 40 compounds,
// 2,000 indicators and 100,000 reports.
//
// The default rates, 0.5% tied and 2% potential, echo the proportions of the
// 2025 study that cross-referenced hotline reports with scam-compound
// addresses (about 500 reports tied by device data, about 18,000 more
// potentially associated, out of millions), scaled up so that a small demo
// shows dozens of tied reports and hundreds of potential ones.
func DefaultOptions() Options {
	return Options{Seed: 1, Compounds: 40, Indicators: 2000, Reports: 100000, TiedRate: 0.005, PotentialRate: 0.02}
}

// Files are the paths Generate wrote.
type Files struct {
	Dir        string
	Compounds  string // compounds.csv
	Indicators string // indicators.csv
	Shared     string // shared.txt
	Reports    string // reports.jsonl or reports.jsonl.gz
	Truth      string // truth.jsonl: {"report","compound","tier"} per expected finding
	// IPDB is ipdb.mmdb: the embedded ranges' AS numbers, organisations
	// and countries as a MaxMind DB, for xref's --asn-db and --geo-db.
	IPDB string
}

// ErrOptions is returned by Generate for options it cannot honour: each
// mistake a seams.FieldError naming the field, so errors.Is(err,
// ErrOptions) holds and a command line maps the fields to its flags.
var ErrOptions = seams.ErrUsage

// Validate reports every mistake in o, by field (seams.FieldError, joined).
func (o *Options) Validate() error {
	var errs []error
	if o.Compounds < 1 || o.Compounds > 99999 {
		errs = append(errs, seams.InvalidField("Compounds", "compounds %d (want 1 to 99999)", o.Compounds))
	}
	if o.Indicators < 0 || o.Indicators > 10_000_000 {
		errs = append(errs, seams.InvalidField("Indicators", "indicators %d (want 0 to 10,000,000)", o.Indicators))
	}
	if o.Reports < 0 {
		errs = append(errs, seams.InvalidField("Reports", "reports %d (want 0 or more)", o.Reports))
	}
	if !(o.TiedRate >= 0 && o.PotentialRate >= 0 && o.TiedRate+o.PotentialRate*1.25 <= 1) {
		errs = append(errs, seams.InvalidField("TiedRate", "tied rate %g and potential rate %g (want rates >= 0 with tied + 1.25 x potential <= 1)",
			o.TiedRate, o.PotentialRate))
	}
	if !(o.BadRate >= 0 && o.BadRate <= 1) {
		errs = append(errs, seams.InvalidField("BadRate", "bad rate %g (want a fraction in [0,1])", o.BadRate))
	}
	return errors.Join(errs...)
}

// Streams of the seed: the registry and the reports draw from separate
// generators, so that the number of reports does not change the registry.
const (
	streamRegistry = 0x5ea75_0001
	streamReports  = 0x5ea75_0002
)

// Generate writes a data set into dir, creating it if needed. Each file is
// written to name.tmp and renamed into place.
func Generate(dir string, o Options) (Files, error) {
	if err := o.Validate(); err != nil {
		return Files{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("generate: %w", err)
	}
	f := Files{
		Dir:        dir,
		Compounds:  filepath.Join(dir, "compounds.csv"),
		Indicators: filepath.Join(dir, "indicators.csv"),
		Shared:     filepath.Join(dir, "shared.txt"),
		Reports:    filepath.Join(dir, "reports.jsonl"),
		Truth:      filepath.Join(dir, "truth.jsonl"),
		IPDB:       filepath.Join(dir, "ipdb.mmdb"),
	}
	if o.Gzip {
		f.Reports += ".gz"
	}
	reg, err := newRegistryFor(&o)
	if err != nil {
		return Files{}, err
	}
	if err := writeFile(f.Compounds, func(w *bufio.Writer) error { return writeCompounds(w, reg.compounds) }); err != nil {
		return Files{}, err
	}
	if err := writeFile(f.Indicators, reg.writeIndicators); err != nil {
		return Files{}, err
	}
	if err := writeFile(f.Shared, func(w *bufio.Writer) error { return writeShared(w, reg.space, o.Seed) }); err != nil {
		return Files{}, err
	}
	if err := writeFile(f.IPDB, writeIPDB); err != nil {
		return Files{}, err
	}
	if err := writeFile(f.Truth, func(truth *bufio.Writer) error {
		return writeFile(f.Reports, func(w *bufio.Writer) error {
			g := newReportGen(reg, newRNG(o.Seed, streamReports), &o)
			if !o.Gzip {
				return g.run(o.Reports, w, truth)
			}
			// BestSpeed: the default level would make compression, not
			// generation, the bottleneck. The header has no name or time,
			// so the output stays deterministic.
			zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
			bw := bufio.NewWriterSize(zw, 1<<20)
			if err := g.run(o.Reports, bw, truth); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			return zw.Close()
		})
	}); err != nil {
		return Files{}, err
	}
	return f, nil
}

func newRegistryFor(o *Options) (*registry, error) {
	r := newRNG(o.Seed, streamRegistry)
	s, err := newSpace(r)
	if err != nil {
		return nil, err
	}
	return newRegistry(s, o.Compounds, o.Indicators, r), nil
}

// writeFile writes path through fill into path.tmp, then renames it.
func writeFile(path string, fill func(*bufio.Writer) error) (err error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("generate %s: %w", filepath.Base(path), err)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if err = fill(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeIPDB writes the embedded ranges as a MaxMind DB holding, for each,
// its AS number, organisation and country (none for Starlink's, which the
// data marks SAT: a satellite network has no one country). The build time
// is the data's date, so the same bytes come out every time.
func writeIPDB(w *bufio.Writer) error {
	var b strings.Builder
	for line := range strings.Lines(rangesCSV) {
		if t, ok := strings.CutSuffix(strings.TrimRight(line, "\r\n"), ",SAT"); ok {
			line = t + ",\n"
		}
		b.WriteString(line)
	}
	_, err := mmdbcsv.Build(w, []mmdbcsv.Input{{Name: "sea_ipv4_ranges.csv", R: strings.NewReader(b.String())}}, mmdbcsv.Options{
		DatabaseType: "seams-gen-asn-country",
		Description:  "IP to ASN data by DB-IP and RouteViews (CC BY 4.0); country from ip-location-db (CC0)",
		BuildEpoch:   time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).Unix(),
		IPv4Only:     true,
	})
	return err
}

// writeShared writes the shared-space list: the Starlink prefixes chosen as
// shared, with a header that says why and where they come from.
func writeShared(w io.Writer, s *space, seed uint64) error {
	fmt.Fprintf(w, "# Shared infrastructure (generated by seams, seed %d).\n", seed)
	fmt.Fprintln(w, "# Starlink (AS14593) prefixes: a satellite address serves many subscribers,")
	fmt.Fprintln(w, "# so an address here can support a potential finding but never tie a report.")
	fmt.Fprintln(w, "# 100.64.0.0/10 (carrier-grade NAT) is always shared and need not be listed.")
	fmt.Fprintln(w, "# Source: IP to ASN data by DB-IP and RouteViews (CC BY 4.0).")
	for _, p := range s.shared {
		if _, err := fmt.Fprintln(w, p); err != nil {
			return err
		}
	}
	return nil
}
