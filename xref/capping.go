package xref

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/match"
)

// Over-correlation: an address or device indicator that matches far more
// distinct reports than a compound's infrastructure plausibly serves is
// probably shared (a carrier NAT address, a popular VPN exit, a device id
// that a broken app reports for everyone). Such an indicator is flagged in
// the summary, and the findings it alone ties are capped at potential,
// unless the analyst lifts the cap for it (Options.LiftCap).
//
// How many reports an indicator matches is known only at the end of the
// run, when its findings are already written. So the writer counts, per
// indicator, the distinct reports it appears in, and remembers the tied
// findings (where they are in findings.jsonl, and which indicators tie
// them: few, since tied findings are a small part of all reports). At the
// end, if any tied finding is tied only by capped indicators, findings.jsonl
// is copied once with those lines revised, and the tally is corrected.

// DefaultMaxReportsPerIndicator is the default of
// Options.MaxReportsPerIndicator.
const DefaultMaxReportsPerIndicator = match.DefaultMaxReportsPerIndicator

// caps is the writer's record for the over-correlation check, kept only
// when a limit is set: per indicator record of the index, the distinct
// reports it is in; and per tied report, its findings' compounds, tiers and
// ASes (to correct the tally), and per tied finding, where its line is and
// which indicators tie it. The per-report part is a log of varint-encoded
// records, read once, in order, at the end: past capsMemory bytes it goes to
// a temporary file, so memory does not grow with the number of tied reports.
type caps struct {
	on     bool    // a limit is set; otherwise nothing is recorded
	counts []int32 // distinct reports per indicator record of the index
	dir    string  // where the log spills; "" for the system's
	log    []byte  // the records not yet spilled
	spill  *os.File
	w      *bufio.Writer
	n      int // tied reports recorded
}

// capsMemory is how much of the log caps keeps in memory.
var capsMemory = 4 << 20

// keptTier is a finding of a tied report, as the tally counts it: its
// compound, tier and the ASes of its evidence (asns[asnOff:asnEnd] of the
// record).
type keptTier struct {
	compound       int32
	asnOff, asnEnd int32
	tier           seams.Tier
}

// tiedFinding is a tied finding: its line in findings.jsonl, its index
// among the record's kept tiers, and the indicators whose evidence ties it
// (refs[refOff:refEnd] of the record).
type tiedFinding struct {
	off            int64
	n              int32
	ct             int32
	refOff, refEnd int32
}

// tiedRecord is one tied report of the log, decoded.
type tiedRecord struct {
	cts   []keptTier
	asns  []uint32
	finds []tiedFinding
	refs  []int32
}

// add records the findings of an accepted report, whose findings start at
// offset written of findings.jsonl.
func (c *caps) add(res *result, r *rec, written int64) error {
	if !c.on {
		return nil
	}
	for _, ref := range res.refs[r.refOff:r.refEnd] {
		c.counts[ref]++
	}
	cts := res.cts[r.ctOff:r.ctEnd]
	if !slices.ContainsFunc(cts, func(ct compoundTier) bool { return ct.tier == seams.TierTied }) {
		return nil
	}
	b := binary.AppendUvarint(c.log, uint64(len(cts)))
	ntied := 0
	for _, ct := range cts {
		b = binary.AppendUvarint(b, uint64(ct.compound))
		b = append(b, byte(ct.tier))
		b = binary.AppendUvarint(b, uint64(ct.asnEnd-ct.asnOff))
		for _, a := range res.asns[ct.asnOff:ct.asnEnd] {
			b = binary.AppendUvarint(b, uint64(a.asn))
		}
		if ct.tier == seams.TierTied {
			ntied++
		}
	}
	b = binary.AppendUvarint(b, uint64(ntied))
	for k, ct := range cts {
		if ct.tier != seams.TierTied {
			continue
		}
		b = binary.AppendUvarint(b, uint64(written+int64(ct.findOff)))
		b = binary.AppendUvarint(b, uint64(ct.findEnd-ct.findOff))
		b = binary.AppendUvarint(b, uint64(k))
		refs := res.tieRefs[ct.tieOff:ct.tieEnd]
		b = binary.AppendUvarint(b, uint64(len(refs)))
		for _, ref := range refs {
			b = binary.AppendUvarint(b, uint64(ref))
		}
	}
	c.log = b
	c.n++
	if len(c.log) >= capsMemory {
		return c.flush()
	}
	return nil
}

// flush moves the log in memory to the temporary file.
func (c *caps) flush() error {
	if c.spill == nil {
		f, err := os.CreateTemp(c.dir, "seams-caps-*")
		if err != nil {
			return fmt.Errorf("over-correlation check: %w", err)
		}
		os.Remove(f.Name()) // ours alone; gone with the last reference
		c.spill, c.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	if _, err := c.w.Write(c.log); err != nil {
		return fmt.Errorf("over-correlation check: %w", err)
	}
	c.log = c.log[:0]
	return nil
}

// close frees the log.
func (c *caps) close() {
	if c.spill != nil {
		c.spill.Close()
		c.spill = nil
	}
	c.log = nil
}

// records returns a reader of the log from its start.
func (c *caps) records() (*bufio.Reader, error) {
	if c.spill == nil {
		return bufio.NewReader(bytes.NewReader(c.log)), nil
	}
	if err := c.w.Flush(); err != nil {
		return nil, fmt.Errorf("over-correlation check: %w", err)
	}
	end, err := c.spill.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("over-correlation check: %w", err)
	}
	return bufio.NewReaderSize(io.MultiReader(io.NewSectionReader(c.spill, 0, end), bytes.NewReader(c.log)), 64<<10), nil
}

// next decodes the next record of the log into t.
func (t *tiedRecord) next(r *bufio.Reader) error {
	var err error
	u := func() uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = binary.ReadUvarint(r)
		return v
	}
	t.cts, t.asns, t.finds, t.refs = t.cts[:0], t.asns[:0], t.finds[:0], t.refs[:0]
	for range u() {
		k := keptTier{compound: int32(u()), asnOff: int32(len(t.asns))}
		var tier byte
		if err == nil {
			tier, err = r.ReadByte()
		}
		k.tier = seams.Tier(tier)
		for range u() {
			t.asns = append(t.asns, uint32(u()))
		}
		k.asnEnd = int32(len(t.asns))
		t.cts = append(t.cts, k)
	}
	for range u() {
		f := tiedFinding{off: int64(u()), n: int32(u()), ct: int32(u()), refOff: int32(len(t.refs))}
		for range u() {
			t.refs = append(t.refs, int32(u()))
		}
		f.refEnd = int32(len(t.refs))
		t.finds = append(t.finds, f)
	}
	if err != nil {
		return fmt.Errorf("over-correlation check: reading its log: %w", err)
	}
	return nil
}

// apply decides which indicators are over-correlated, caps the findings
// they alone tie, corrects the tally and, if any finding changed, rewrites
// findings (returning the file to commit in its place). It returns the
// over-correlated indicators for the summary.
func (c *caps) apply(x *match.Index, limit int, lift map[string]bool, t *tally, findings *atomicfile.File, path string) ([]seams.OverCorrelated, *atomicfile.File, error) {
	defer c.close()
	if !c.on || limit <= 0 {
		return nil, findings, nil
	}
	// The decision is match's, the same for every door.
	// In registry order (the indicators file's lines), as match.Decide
	// breaks ties and as a store's runs list them: the index keeps its
	// records grouped by address.
	keys := make([]int32, len(c.counts))
	for i := range keys {
		keys[i] = int32(i)
	}
	slices.SortStableFunc(keys, func(a, b int32) int { return cmp.Compare(x.Line(a), x.Line(b)) })
	over, capped := match.Decide(match.CapRule{Limit: limit, Lift: lift}, keys,
		func(ref int32) *seams.Indicator { in := x.Indicator(ref); return &in },
		func(ref int32) int { return int(c.counts[ref]) })
	downgraded := map[int32]int{}
	capNote := func(ref int32) (seams.CapNote, bool) { n, ok := capped[ref]; return n, ok }
	// One pass over the log, revising the findings file as it goes (the
	// log is in file order) once a first finding is to be capped.
	var rw *reviser
	defer func() {
		if rw != nil {
			rw.abort()
		}
	}()
	if len(capped) > 0 {
		log, err := c.records()
		if err != nil {
			return nil, nil, err
		}
		var rec tiedRecord
		var revs []int
		var cts []compoundTier
		var asns []asnOrg
		for range c.n {
			if err := rec.next(log); err != nil {
				return nil, nil, err
			}
			revs = revs[:0]
			for i, f := range rec.finds {
				if _, ok := match.CapNotes(rec.refs[f.refOff:f.refEnd], capNote); ok {
					revs = append(revs, i)
				}
			}
			if len(revs) == 0 {
				continue
			}
			// Uncount the report as written, and count it again as revised.
			// (The tally knows every AS's organisation by now.)
			cts, asns = cts[:0], asns[:0]
			for _, k := range rec.cts {
				ct := compoundTier{compound: k.compound, tier: k.tier, asnOff: int32(len(asns))}
				for _, a := range rec.asns[k.asnOff:k.asnEnd] {
					asns = append(asns, asnOrg{asn: a})
				}
				ct.asnEnd = int32(len(asns))
				cts = append(cts, ct)
			}
			t.addFindings(cts, asns, -1)
			for _, i := range revs {
				f := &rec.finds[i]
				cts[f.ct].tier = seams.TierPotential
				refs := rec.refs[f.refOff:f.refEnd]
				for _, ref := range refs {
					downgraded[ref]++
				}
				if rw == nil {
					if rw, err = newReviser(findings, path); err != nil {
						return nil, nil, err
					}
				}
				if err := rw.revise(revision{off: f.off, n: f.n, refs: refs}, capNote); err != nil {
					return nil, nil, err
				}
			}
			t.addFindings(cts, asns, 1)
		}
	}
	revised := findings
	if rw != nil {
		var err error
		if revised, err = rw.finish(); err != nil {
			return nil, nil, err
		}
		rw = nil
	}
	out := make([]seams.OverCorrelated, len(over))
	for i := range over {
		out[i] = over[i].OverCorrelated
		out[i].Downgraded = downgraded[over[i].Key]
	}
	return out, revised, nil
}

// revision is a finding line to rewrite: tied becomes potential, and the
// capped indicators that tied it are named.
type revision struct {
	off  int64
	n    int32
	refs []int32
}

// reviser copies findings into a new file at the same path, revising the
// lines it is given, in file order; finish discards the old file.
type reviser struct {
	old       *atomicfile.File
	in        *os.File
	r         *bufio.Reader
	nf        *atomicfile.File
	pos       int64
	line, out []byte
}

func newReviser(old *atomicfile.File, path string) (*reviser, error) {
	f, err := old.ReadBack()
	if err != nil {
		return nil, err
	}
	nf, err := atomicfile.Create(path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &reviser{old: old, in: f, r: bufio.NewReaderSize(f, 1<<20), nf: nf}, nil
}

// revise copies up to the line rv and writes it revised.
func (w *reviser) revise(rv revision, capped func(int32) (seams.CapNote, bool)) error {
	if _, err := io.CopyN(w.nf, w.r, rv.off-w.pos); err != nil {
		return fmt.Errorf("revise %s: %w", FindingsFile, err)
	}
	w.line = slices.Grow(w.line[:0], int(rv.n))[:rv.n]
	if _, err := io.ReadFull(w.r, w.line); err != nil {
		return fmt.Errorf("revise %s: %w", FindingsFile, err)
	}
	w.pos = rv.off + int64(rv.n)
	var err error
	if w.out, err = reviseLine(w.out[:0], w.line, rv.refs, capped); err != nil {
		return err
	}
	if _, err := w.nf.Write(w.out); err != nil {
		return fmt.Errorf("revise %s: %w", FindingsFile, err)
	}
	return nil
}

// finish copies the rest and returns the new file, discarding the old.
func (w *reviser) finish() (*atomicfile.File, error) {
	defer w.in.Close()
	if _, err := io.Copy(w.nf, w.r); err != nil {
		w.nf.Abort()
		return nil, fmt.Errorf("revise %s: %w", FindingsFile, err)
	}
	w.old.Abort()
	return w.nf, nil
}

// abort discards the new file.
func (w *reviser) abort() {
	w.in.Close()
	w.nf.Abort()
}

// reviseLine turns a tied finding line into a potential one that names the
// capped indicators that tied it (refs, in the order match.TieRefs gives):
//
//	{..., "tier":"potential", "evidence":[...], "capped":[{"kind":"ip","value":"203.0.113.7","reports":812,"limit":500}]}
//
// The line is read back into a finding by the one reader of findings
// (jsonl.ParseFinding), capped by match's rule, and written again by the
// one writer (jsonl.AppendFinding): nothing here depends on the layout of
// a line. The reader and writer must agree on every field: a line that
// does not read back as written is an error, never a silent change.
func reviseLine(out, line []byte, refs []int32, capped func(int32) (seams.CapNote, bool)) ([]byte, error) {
	body := bytes.TrimSuffix(line, []byte("\n"))
	f, err := jsonl.ParseFinding(body)
	if err != nil {
		return nil, fmt.Errorf("revise %s: %v: %.80q", FindingsFile, err, line)
	}
	start := len(out)
	if out = jsonl.AppendFinding(out, f); !bytes.Equal(out[start:], line) {
		return nil, fmt.Errorf("revise %s: a finding line does not read back as written: %.200q", FindingsFile, line)
	}
	notes, ok := match.CapNotes(refs, capped)
	if f.Tier != seams.TierTied || !ok {
		return nil, fmt.Errorf("revise %s: not a tied finding that capped indicators alone tie: %.80q", FindingsFile, line)
	}
	f.Tier, f.Capped = seams.TierPotential, notes
	return jsonl.AppendFinding(out[:start], f), nil
}
