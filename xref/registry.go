package xref

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/match"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/registryfile"
)

// loadRegistry reads the compounds, indicators and shared list, writes their
// rejections, and builds the index. Each file may be in any registry format
// (package registryfile): compounds as CSV or FollowTheMoney, indicators
// as CSV, a STIX 2.1 bundle or MISP events (which may bring compounds of
// their own), shared space as a list or a MISP warninglist.
func loadRegistry(ctx context.Context, o Options, rj *rejections, enr *enrich.Enrichment) (*match.Index, []seams.InputCount, int, error) {
	l := &registryLoad{ctx: ctx, o: &o, rj: rj}
	compounds, err := l.compounds()
	if err != nil {
		return nil, nil, 0, err
	}
	ind, err := l.openIndicators()
	if err != nil {
		return nil, nil, 0, err
	}
	defer ind.in.Close()
	// Indicators in an exchange format are read whole (their readers
	// resolve references across the file) and may bring compounds, which
	// join those of the compounds file; a CSV is streamed into the index.
	var inds []seams.Indicator
	if ind.format != registryfile.CSV {
		if inds, compounds, err = l.exchangeIndicators(ind, compounds); err != nil {
			return nil, nil, 0, err
		}
	}
	ids := registryfile.IDs(compounds)
	b, err := match.NewBuilder(compounds)
	if err != nil {
		return nil, nil, 0, err
	}
	// add puts an indicator in the index, but for one of an AS, which
	// waits for the ASN database's networks (package enrich), and one whose
	// stated confidence is below Options.MinConfidence, which is counted
	// and left out.
	add := func(in *seams.Indicator) error {
		if in.HasConfidence && in.Confidence < o.MinConfidence {
			l.belowMin++
			return nil
		}
		return enr.Add(b, ids[in.Compound], in)
	}
	if ind.format == registryfile.CSV {
		err = l.streamIndicators(ind, ids, add)
	} else {
		for i := range inds {
			if err = add(&inds[i]); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, nil, 0, err
	}
	if err := l.shared(b, enr); err != nil {
		return nil, nil, 0, err
	}
	if l.belowMin > 0 {
		o.Logger.Info("indicators left out: confidence below the minimum", "indicators", l.belowMin, "min_confidence", o.MinConfidence)
	}
	if err := enr.Finish(b); err != nil {
		return nil, nil, 0, enrichError(err)
	}
	x, err := b.Build()
	if err != nil {
		return nil, nil, 0, err
	}
	return x, l.inputs, l.belowMin, nil
}

// registryLoad is the state of loadRegistry: what it read of each file,
// and the first error writing a rejection.
type registryLoad struct {
	ctx      context.Context
	o        *Options
	rj       *rejections
	inputs   []seams.InputCount
	werr     error
	belowMin int // indicators left out by Options.MinConfidence
}

// registryInput is a registry file opened, its first bytes peeked.
type registryInput struct {
	path   string
	in     *input.File
	br     *bufio.Reader
	head   []byte
	format registryfile.Format
}

// open opens a registry file once (package input: decompressed, never
// reopened, a pipe read as a pipe), peeks at its first bytes and finds its
// format as a file of that kind.
func (l *registryLoad) open(path string, kind registryfile.Kind) (*registryInput, error) {
	in, err := input.Open(l.ctx, path, l.o.Stdin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	r, err := in.Reader()
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(registryfile.SniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		in.Close()
		return nil, fmt.Errorf("%s: %w", kind, wrapName(path, err))
	}
	return &registryInput{path: path, in: in, br: br, head: head, format: registryfile.Detect(kind, head)}, nil
}

// read reads an opened file with fn, counting its records and rejections
// and writing the rejections, and records its size and SHA-256.
func (l *registryLoad) read(ri *registryInput, kind registryfile.Kind, fn func(io.Reader, registry.Reject) (int, error)) error {
	in := seams.InputCount{File: ri.path, Kind: string(kind)}
	n, err := fn(ri.br, func(e *seams.RecordError) {
		in.Rejected++
		if l.werr == nil {
			l.werr = l.rj.add(e)
		}
	})
	if err != nil {
		return err
	}
	if l.werr != nil {
		return l.werr
	}
	in.Records = n + in.Rejected
	if in.Size, in.SHA256, err = ri.in.Finish(); err != nil {
		return fmt.Errorf("%s: %w", kind, wrapName(ri.path, err))
	}
	l.inputs = append(l.inputs, in)
	return nil
}

// compounds reads the compounds file, if there is one.
func (l *registryLoad) compounds() ([]seams.Compound, error) {
	if l.o.Compounds == "" {
		return nil, nil
	}
	ri, err := l.open(l.o.Compounds, registryfile.Compounds)
	if err != nil {
		return nil, err
	}
	defer ri.in.Close()
	var cs []seams.Compound
	err = l.read(ri, registryfile.Compounds, func(r io.Reader, rej registry.Reject) (n int, err error) {
		cs, err = registryfile.ReadCompounds(ri.format, r, ri.path, rej)
		return len(cs), err
	})
	return cs, err
}

// openIndicators opens the indicators file. Without a compounds file, it
// must be in a format that names its compounds (not the CSV).
func (l *registryLoad) openIndicators() (*registryInput, error) {
	ri, err := l.open(l.o.Indicators, registryfile.Indicators)
	if err != nil && l.o.Compounds == "" {
		return nil, missing("Compounds")
	}
	if err != nil {
		return nil, err
	}
	if l.o.Compounds == "" && ri.format == registryfile.CSV {
		ri.in.Close()
		return nil, missing("Compounds")
	}
	return ri, nil
}

// exchangeIndicators reads the indicators of a STIX bundle or MISP events
// whole, and the compounds they bring that compounds lacks.
func (l *registryLoad) exchangeIndicators(ri *registryInput, compounds []seams.Compound) ([]seams.Indicator, []seams.Compound, error) {
	var inds []seams.Indicator
	err := l.read(ri, registryfile.Indicators, func(r io.Reader, rej registry.Reject) (n int, err error) {
		var more []seams.Compound
		more, inds, err = registryfile.ReadIndicators(ri.format, r, ri.path, registryfile.IDs(compounds), rej)
		compounds = append(compounds, more...)
		return len(inds), err
	})
	return inds, compounds, err
}

// streamIndicators reads an indicators CSV into the index as it goes: a
// registry of millions of rows never exists as a slice of seams.Indicator.
func (l *registryLoad) streamIndicators(ri *registryInput, ids map[string]int, add func(*seams.Indicator) error) error {
	return l.read(ri, registryfile.Indicators, func(r io.Reader, rej registry.Reject) (n int, err error) {
		err = registry.ScanIndicators(r, ri.path, ids, rej, func(in *seams.Indicator) error {
			n++
			return add(in)
		})
		return n, err
	})
}

// shared reads the shared-space file, if there is one, into the index
// being built; its ASes go to the enrichment, which needs an ASN
// database for them.
func (l *registryLoad) shared(b *match.Builder, enr *enrich.Enrichment) error {
	if l.o.Shared == "" {
		return nil
	}
	ri, err := l.open(l.o.Shared, registryfile.Shared)
	if err != nil {
		return err
	}
	defer ri.in.Close()
	return l.read(ri, registryfile.Shared, func(r io.Reader, rej registry.Reject) (n int, err error) {
		shared, asns, err := registryfile.ReadShared(ri.format, r, ri.path, rej)
		// The prefix in the evidence says why: it is listed. Only lists
		// by AS and presets add a reason (package enrich).
		b.AddShared(shared...)
		enr.AddSharedList(ri.path, "file", "", len(shared), asns, nil)
		return len(shared) + len(asns), err
	})
}
