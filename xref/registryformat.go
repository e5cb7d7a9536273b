package xref

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/ftm"
	"github.com/seams-dev/seams/misp"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/stix"
)

// The registry files of a run may come in the formats partners keep them
// in. Which one a file is in is found from its first bytes: each exchange
// format's package knows its own shape (stix.Sniff, misp.SniffEvents,
// misp.SniffWarninglist, ftm.Sniff); anything else is the contract's CSV or
// text list, whose readers then say line by line what is wrong.

// registryFormat is the format of a registry file.
type registryFormat string

const (
	formatCSV         registryFormat = "csv" // or, for shared space, the text list
	formatSTIX        registryFormat = "stix"
	formatMISP        registryFormat = "misp"
	formatWarninglist registryFormat = "misp-warninglist"
	formatFtM         registryFormat = "ftm"
)

const sniffSize = 4096

func detectIndicators(head []byte) registryFormat {
	switch {
	case stix.Sniff(head):
		return formatSTIX
	case misp.SniffEvents(head):
		return formatMISP
	}
	return formatCSV
}

// readCompounds reads a compounds file: FollowTheMoney entities (the
// compounds among them; the rest of the graph is not needed to match) or
// the contract's CSV.
func readCompounds(r io.Reader, file string, reject registry.Reject) ([]seams.Compound, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(sniffSize)
	if ftm.Sniff(head) {
		cs, _, err := ftm.Read(br, file, reject)
		return cs, err
	}
	return registry.ReadCompounds(br, file, reject)
}

// readExchangeIndicators reads the indicators (and any compounds) of a STIX
// bundle or MISP events.
func readExchangeIndicators(f registryFormat, r io.Reader, file string, reject registry.Reject) ([]seams.Compound, []seams.Indicator, error) {
	switch f {
	case formatSTIX:
		return stix.ReadBundle(r, file, reject)
	case formatMISP:
		return misp.ReadEvents(r, file, reject)
	}
	return nil, nil, fmt.Errorf("%s: no reader for indicators in %s", file, f)
}

// readShared reads a shared-space list: a MISP warninglist (prefixes and
// autonomous systems), or the contract's one address or prefix a line.
func readShared(r io.Reader, file string, reject registry.Reject) ([]netip.Prefix, []uint32, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(sniffSize)
	if !misp.SniffWarninglist(head) {
		ps, err := registry.ReadShared(br, file, reject)
		return ps, nil, err
	}
	return misp.ReadWarninglist(br, file, reject)
}

// mergeCompounds adds to cs the compounds of more whose ids it lacks: the
// compounds file, when there is one, has the last word on a compound.
func mergeCompounds(cs, more []seams.Compound) []seams.Compound {
	have := make(map[string]bool, len(cs))
	for _, c := range cs {
		have[c.ID] = true
	}
	for _, c := range more {
		if !have[c.ID] {
			have[c.ID] = true
			cs = append(cs, c)
		}
	}
	return cs
}

// knownCompounds drops, as rejected, the indicators that name a compound
// neither file defines.
func knownCompounds(inds []seams.Indicator, cs []seams.Compound, reject registry.Reject) []seams.Indicator {
	have := make(map[string]bool, len(cs))
	for _, c := range cs {
		have[c.ID] = true
	}
	out := inds[:0]
	for _, in := range inds {
		if !have[in.Compound] {
			reject(&seams.RecordError{File: in.File, Line: in.Line, Item: in.Value,
				Reason: fmt.Sprintf("unknown compound %q", in.Compound)})
			continue
		}
		out = append(out, in)
	}
	return out
}
