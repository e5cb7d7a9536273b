// Package registryfile reads a registry file in whichever format it is in:
// the compounds, the indicators and the shared address space of a
// cross-reference run or of a load into a store, as the contract's CSV (or,
// for shared space, its text list), a STIX 2.1 bundle, MISP events, a MISP
// warninglist or FollowTheMoney entities.
//
// Which format a file is in is found from its first bytes (Detect): each
// exchange format's package knows its own shape (stix.Sniff,
// misp.SniffEvents, misp.SniffWarninglist, ftm.Sniff); anything else is the
// contract's CSV or text list, whose readers then say line by line what is
// wrong. A file whose format holds another kind of data (a STIX bundle
// given as the compounds, a warninglist as the indicators) is an error that
// says what the file is and where to give it.
//
// What each kind takes:
//
//	compounds   CSV, FollowTheMoney entities (the compounds among them)
//	indicators  CSV, a STIX 2.1 bundle, MISP events; the two exchange
//	            formats may bring compounds of their own
//	shared      the text list, a MISP warninglist (prefixes and ASes)
//
// Every record read is returned or handed to the registry.Reject function
// with its file, line or element path, and reason. This package holds no
// file: the caller opens it (package internal/input) and hands over its
// decompressed bytes.
package registryfile

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

// Kind is what a registry file holds.
type Kind string

// The kinds of registry file.
const (
	Compounds  Kind = "compounds"
	Indicators Kind = "indicators"
	Shared     Kind = "shared"
)

// Format is the format of a registry file.
type Format string

// The formats.
const (
	CSV         Format = "csv" // the contract's CSV; for shared space, its text list
	STIX        Format = "stix"
	MISP        Format = "misp"
	Warninglist Format = "misp-warninglist"
	FtM         Format = "ftm"
)

// describe names a format in an error.
func (f Format) describe() string {
	switch f {
	case STIX:
		return "a STIX 2.1 bundle"
	case MISP:
		return "MISP events"
	case Warninglist:
		return "a MISP warninglist"
	case FtM:
		return "FollowTheMoney entities"
	}
	return "a CSV file"
}

// SniffSize is how many first bytes Detect wants to see.
const SniffSize = 4096

// Takes reports whether a file of kind k may be in format f.
func Takes(k Kind, f Format) bool {
	switch f {
	case CSV:
		return true
	case FtM:
		return k == Compounds
	case STIX, MISP:
		return k == Indicators
	case Warninglist:
		return k == Shared
	}
	return false
}

// Detect returns the format of a file of kind k from its first bytes
// (SniffSize of them, decompressed; fewer for a shorter file). The formats
// k takes are tried first, so that a file is never taken for another kind's
// format when it could be its own; CSV is what is left.
func Detect(k Kind, head []byte) Format {
	sniffers := []struct {
		f     Format
		sniff func([]byte) bool
	}{
		{FtM, ftm.Sniff},
		{STIX, stix.Sniff},
		{MISP, misp.SniffEvents},
		{Warninglist, misp.SniffWarninglist},
	}
	for _, own := range []bool{true, false} {
		for _, s := range sniffers {
			if Takes(k, s.f) == own && s.sniff(head) {
				return s.f
			}
		}
	}
	return CSV
}

// Peek reads the first bytes of r for Detect and returns a reader that
// still holds them. The error is for a read that failed (a short file is
// not one).
func Peek(r io.Reader) (*bufio.Reader, []byte, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(SniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, nil, err
	}
	return br, head, nil
}

// wrongKind is the error for a file whose format holds another kind.
func wrongKind(k Kind, f Format, file string) error {
	where := ""
	switch {
	case Takes(Indicators, f):
		where = "give it as the indicators (the compounds it names come with it)"
	case Takes(Compounds, f):
		where = "give it as the compounds"
	case Takes(Shared, f):
		where = "give it as the shared space"
	}
	what := string(k)
	if k == Shared {
		what = "shared space"
	}
	return fmt.Errorf("%s: this is %s, which holds no %s: %s", file, f.describe(), what, where)
}

// ReadCompounds reads a compounds file of format f: the contract's CSV, or
// FollowTheMoney entities (the compounds among them; the rest of the graph
// is not needed to match).
func ReadCompounds(f Format, r io.Reader, file string, reject registry.Reject) ([]seams.Compound, error) {
	switch f {
	case CSV:
		return registry.ReadCompounds(r, file, reject)
	case FtM:
		cs, _, err := ftm.Read(r, file, reject)
		return cs, err
	}
	return nil, wrongKind(Compounds, f, file)
}

// ReadIndicators reads an indicators file of format f. known maps the id of
// every compound already known (from a compounds file, or a store) to
// anything; it is not changed. A STIX bundle or MISP events may bring
// compounds of their own: those whose ids known lacks are returned as
// added, in the order of the file (of two with one id, the first stands);
// a known compound has the last word, and the file's version of it is
// dropped. An indicator that names a compound neither known nor added is
// rejected. Indicators are returned in file order.
//
// A CSV brings no compound, and is read whole here; to stream a large one,
// call registry.ScanIndicators when Detect says CSV.
func ReadIndicators(f Format, r io.Reader, file string, known map[string]int, reject registry.Reject) (added []seams.Compound, inds []seams.Indicator, err error) {
	if reject == nil {
		reject = func(*seams.RecordError) {}
	}
	var more []seams.Compound
	switch f {
	case CSV:
		inds, err = registry.ReadIndicators(r, file, known, reject)
		return nil, inds, err
	case STIX:
		more, inds, err = stix.ReadBundle(r, file, reject)
	case MISP:
		more, inds, err = misp.ReadEvents(r, file, reject)
	default:
		return nil, nil, wrongKind(Indicators, f, file)
	}
	if err != nil {
		return nil, nil, err
	}
	added = NewCompounds(known, more)
	return added, KnownCompounds(inds, known, added, reject), nil
}

// NewCompounds returns the compounds of more whose ids known lacks, the
// first of each id: what a file's compounds add to those already known.
func NewCompounds(known map[string]int, more []seams.Compound) []seams.Compound {
	var out []seams.Compound
	seen := map[string]bool{}
	for _, c := range more {
		if _, ok := known[c.ID]; ok || seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	return out
}

// KnownCompounds drops, as rejected, the indicators that name a compound
// neither in known nor in added. It reuses inds.
func KnownCompounds(inds []seams.Indicator, known map[string]int, added []seams.Compound, reject registry.Reject) []seams.Indicator {
	have := make(map[string]bool, len(added))
	for _, c := range added {
		have[c.ID] = true
	}
	out := inds[:0]
	for _, in := range inds {
		if _, ok := known[in.Compound]; !ok && !have[in.Compound] {
			reject(&seams.RecordError{File: in.File, Line: in.Line, Item: in.Value,
				Reason: fmt.Sprintf("unknown compound %q", in.Compound)})
			continue
		}
		out = append(out, in)
	}
	return out
}

// ReadShared reads a shared-space file of format f: the contract's list,
// one address or prefix a line, or a MISP warninglist, which may also list
// autonomous systems.
func ReadShared(f Format, r io.Reader, file string, reject registry.Reject) ([]netip.Prefix, []uint32, error) {
	switch f {
	case CSV:
		ps, err := registry.ReadShared(r, file, reject)
		return ps, nil, err
	case Warninglist:
		return misp.ReadWarninglist(r, file, reject)
	}
	return nil, nil, wrongKind(Shared, f, file)
}

// IDs maps the id of each compound to its index in cs (the first, for an
// id given twice): the known map of ReadIndicators.
func IDs(cs []seams.Compound) map[string]int {
	ids := make(map[string]int, len(cs))
	for i, c := range cs {
		if _, ok := ids[c.ID]; !ok {
			ids[c.ID] = i
		}
	}
	return ids
}
