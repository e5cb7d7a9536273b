// Package psirun runs both sides of private matching over seams' files:
// the holder's registry read as a cross-reference reads it, and the
// querier's run, which writes the outputs of a cross-reference restricted
// to what exact-item matching can see (rules device and ip).
package psirun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/internal/psi/psinet"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/registryfile"
)

// RegistryFiles names a holder's registry files, in any registry format
// (package registryfile), as seams xref takes them.
type RegistryFiles struct {
	Compounds  string // "" when Indicators names its compounds (STIX, MISP)
	Indicators string
	Shared     string // optional
}

// LoadRegistry reads a holder's registry. Records that cannot be used are
// passed to reject, as xref writes them to rejected.jsonl; a list of
// shared ASes (a MISP warninglist's) cannot be published and is an error.
func LoadRegistry(ctx context.Context, f RegistryFiles, stdin io.Reader, reject registry.Reject) (*psinet.Registry, error) {
	reg := &psinet.Registry{}
	read := func(path string, kind registryfile.Kind, fn func(registryfile.Format, io.Reader) error) error {
		return readFile(ctx, path, kind, stdin, fn)
	}
	if f.Compounds != "" {
		if err := read(f.Compounds, registryfile.Compounds, func(ft registryfile.Format, r io.Reader) (err error) {
			reg.Compounds, err = registryfile.ReadCompounds(ft, r, f.Compounds, reject)
			return err
		}); err != nil {
			return nil, err
		}
	}
	if f.Indicators == "" {
		return nil, fmt.Errorf("indicators: no file given")
	}
	if err := read(f.Indicators, registryfile.Indicators, func(ft registryfile.Format, r io.Reader) error {
		if ft == registryfile.CSV && f.Compounds == "" {
			return fmt.Errorf("%s: indicators in CSV name compounds by id: give the compounds file too", f.Indicators)
		}
		more, inds, err := registryfile.ReadIndicators(ft, r, f.Indicators, registryfile.IDs(reg.Compounds), reject)
		reg.Compounds = append(reg.Compounds, more...)
		reg.Indicators = inds
		return err
	}); err != nil {
		return nil, err
	}
	if f.Shared != "" {
		if err := read(f.Shared, registryfile.Shared, func(ft registryfile.Format, r io.Reader) error {
			ps, asns, err := registryfile.ReadShared(ft, r, f.Shared, reject)
			if err != nil {
				return err
			}
			if len(asns) > 0 {
				return fmt.Errorf("%s: lists %d autonomous systems: private matching publishes prefixes only (give the prefixes)", f.Shared, len(asns))
			}
			reg.Shared = ps
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// sharedSet answers whether an address lies in shared space: the
// prefixes given and carrier-grade NAT, as xref's index holds them.
type sharedSet struct {
	byLen map[int]map[netip.Prefix]bool
}

func newSharedSet(ps []netip.Prefix) *sharedSet {
	s := &sharedSet{byLen: map[int]map[netip.Prefix]bool{}}
	for _, p := range append([]netip.Prefix{seams.CarrierNAT}, ps...) {
		p = p.Masked()
		if s.byLen[p.Bits()] == nil {
			s.byLen[p.Bits()] = map[netip.Prefix]bool{}
		}
		s.byLen[p.Bits()][p] = true
	}
	return s
}

func (s *sharedSet) contains(a netip.Addr) bool {
	for bits, m := range s.byLen {
		if bits > a.BitLen() {
			continue
		}
		p, err := a.Prefix(bits)
		if err == nil && m[p] {
			return true
		}
	}
	return false
}

// readFile opens a registry file of kind (decompressed, "-" for stdin) and
// calls fn with the format its first bytes show.
func readFile(ctx context.Context, path string, kind registryfile.Kind, stdin io.Reader, fn func(registryfile.Format, io.Reader) error) error {
	in, err := input.Open(ctx, path, stdin)
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	defer in.Close()
	r, err := in.Reader()
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(registryfile.SniffSize)
	return fn(registryfile.Detect(kind, head), br)
}
