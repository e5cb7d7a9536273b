package xref

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
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
const DefaultMaxReportsPerIndicator = 500

// caps is the writer's record for the over-correlation check. It holds no
// pointers (the garbage collector never scans it), and only when a limit is
// set: per tied report, its findings' compounds and tiers (to correct the
// tally), and per tied finding, where its line is and which indicators tie
// it. A run where every report ties keeps about 80 bytes a report.
type caps struct {
	on      bool    // a limit is set; otherwise nothing is recorded
	counts  []int32 // distinct reports per indicator record of the index
	reports []tiedReport
	cts     []keptTier // the findings of tied reports
	asns    []uint32
	finds   []tiedFinding
	refs    []int32 // the tying refs of finds, back to back
}

// keptTier is a finding of a tied report, as the tally counts it: its
// compound, tier and the ASes of its evidence (caps.asns[asnOff:asnEnd]).
type keptTier struct {
	compound       int32
	asnOff, asnEnd int32
	tier           seams.Tier
}

// tiedReport is an accepted report with at least one tied finding: its
// findings in caps.cts and its tied ones in caps.finds.
type tiedReport struct {
	ctOff, ctEnd     int32
	findOff, findEnd int32
}

// tiedFinding is a tied finding: its line in findings.jsonl, its entry in
// caps.cts, and the indicators whose evidence ties it
// (caps.refs[refOff:refEnd]).
type tiedFinding struct {
	off            int64
	n              int32
	ct             int32
	refOff, refEnd int32
}

// add records the findings of an accepted report, whose findings start at
// offset written of findings.jsonl.
func (c *caps) add(res *result, r *rec, written int64) {
	if !c.on {
		return
	}
	for _, ref := range res.refs[r.refOff:r.refEnd] {
		c.counts[ref]++
	}
	cts := res.cts[r.ctOff:r.ctEnd]
	if !slices.ContainsFunc(cts, func(ct compoundTier) bool { return ct.tier == seams.TierTied }) {
		return
	}
	tr := tiedReport{ctOff: int32(len(c.cts)), findOff: int32(len(c.finds))}
	for _, ct := range cts {
		if ct.tier == seams.TierTied {
			f := tiedFinding{off: written + int64(ct.findOff), n: ct.findEnd - ct.findOff, ct: int32(len(c.cts)), refOff: int32(len(c.refs))}
			c.refs = append(c.refs, res.tieRefs[ct.tieOff:ct.tieEnd]...)
			f.refEnd = int32(len(c.refs))
			c.finds = append(c.finds, f)
		}
		kept := keptTier{compound: ct.compound, tier: ct.tier, asnOff: int32(len(c.asns))}
		for _, a := range res.asns[ct.asnOff:ct.asnEnd] {
			c.asns = append(c.asns, a.asn)
		}
		kept.asnEnd = int32(len(c.asns))
		c.cts = append(c.cts, kept)
	}
	tr.ctEnd, tr.findEnd = int32(len(c.cts)), int32(len(c.finds))
	c.reports = append(c.reports, tr)
}

// apply decides which indicators are over-correlated, caps the findings
// they alone tie, corrects the tally and, if any finding changed, rewrites
// findings (returning the file to commit in its place). It returns the
// over-correlated indicators for the summary.
func (c *caps) apply(x *match.Index, limit int, lift map[string]bool, t *tally, findings *atomicfile.File, path string) ([]seams.OverCorrelated, *atomicfile.File, error) {
	if !c.on || limit <= 0 {
		return nil, findings, nil
	}
	type overRef struct {
		seams.OverCorrelated
		ref int32
	}
	var over []overRef
	capped := map[int32]int{} // ref -> index in over
	for ref, n := range c.counts {
		if int(n) <= limit {
			continue
		}
		in := x.Indicator(int32(ref))
		oc := overRef{seams.OverCorrelated{Compound: in.Compound, Kind: in.Kind.String(), Value: in.Value,
			Reports: int(n), Capped: !lift[in.Value]}, int32(ref)}
		if oc.Capped {
			capped[int32(ref)] = len(over)
		}
		over = append(over, oc)
	}
	var revs []int32 // the tied findings to cap, in file order
	var cts []compoundTier
	var asns []asnOrg
	for _, tr := range c.reports {
		n := len(revs)
		for i := tr.findOff; i < tr.findEnd; i++ {
			refs := c.refs[c.finds[i].refOff:c.finds[i].refEnd]
			all := len(refs) > 0
			for _, ref := range refs {
				if _, ok := capped[ref]; !ok {
					all = false
					break
				}
			}
			if all {
				revs = append(revs, i)
			}
		}
		if len(revs) == n {
			continue
		}
		// Uncount the report as written, and count it again as revised.
		// (The tally knows every AS's organisation by now.)
		cts, asns = cts[:0], asns[:0]
		for _, k := range c.cts[tr.ctOff:tr.ctEnd] {
			ct := compoundTier{compound: k.compound, tier: k.tier, asnOff: int32(len(asns))}
			for _, a := range c.asns[k.asnOff:k.asnEnd] {
				asns = append(asns, asnOrg{asn: a})
			}
			ct.asnEnd = int32(len(asns))
			cts = append(cts, ct)
		}
		t.addFindings(cts, asns, -1)
		for _, i := range revs[n:] {
			cts[c.finds[i].ct-tr.ctOff].tier = seams.TierPotential
			for _, ref := range c.refs[c.finds[i].refOff:c.finds[i].refEnd] {
				over[capped[ref]].Downgraded++
			}
		}
		t.addFindings(cts, asns, 1)
	}
	info := func(ref int32) seams.OverCorrelated { return over[capped[ref]].OverCorrelated }
	revised := findings
	if len(revs) > 0 {
		rev := func(k int) revision {
			f := &c.finds[revs[k]]
			return revision{off: f.off, n: f.n, refs: c.refs[f.refOff:f.refEnd]}
		}
		var err error
		if revised, err = rewriteFindings(findings, path, len(revs), rev, info, limit); err != nil {
			return nil, nil, err
		}
	}
	// Most reports first; then the order of the registry.
	slices.SortFunc(over, func(a, b overRef) int {
		if c := cmp.Compare(b.Reports, a.Reports); c != 0 {
			return c
		}
		return cmp.Compare(a.ref, b.ref)
	})
	out := make([]seams.OverCorrelated, len(over))
	for i := range over {
		out[i] = over[i].OverCorrelated
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

// rewriteFindings copies findings into a new file at path, revising the
// nrev lines revAt gives (in file order), and discards the old file.
func rewriteFindings(old *atomicfile.File, path string, nrev int, revAt func(int) revision, info func(int32) seams.OverCorrelated, limit int) (*atomicfile.File, error) {
	f, err := old.ReadBack()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	nf, err := atomicfile.Create(path)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var pos int64
	var line, out []byte
	for k := range nrev {
		rv := revAt(k)
		if _, err := io.CopyN(nf, r, rv.off-pos); err != nil {
			nf.Abort()
			return nil, fmt.Errorf("revise %s: %w", FindingsFile, err)
		}
		line = slices.Grow(line[:0], int(rv.n))[:rv.n]
		if _, err := io.ReadFull(r, line); err != nil {
			nf.Abort()
			return nil, fmt.Errorf("revise %s: %w", FindingsFile, err)
		}
		pos = rv.off + int64(rv.n)
		var err error
		out, err = reviseLine(out[:0], line, rv.refs, info, limit)
		if err != nil {
			nf.Abort()
			return nil, err
		}
		if _, err := nf.Write(out); err != nil {
			nf.Abort()
			return nil, fmt.Errorf("revise %s: %w", FindingsFile, err)
		}
	}
	if _, err := io.Copy(nf, r); err != nil {
		nf.Abort()
		return nil, fmt.Errorf("revise %s: %w", FindingsFile, err)
	}
	old.Abort()
	return nf, nil
}

var (
	tiedField      = []byte(`,"tier":"tied","evidence":`)
	potentialField = []byte(`,"tier":"potential","evidence":`)
)

// reviseLine turns a tied finding line (as jsonl.AppendFinding writes it)
// into a potential one that names the capped indicators:
//
//	{..., "tier":"potential", "evidence":[...], "capped":[{"kind":"ip","value":"203.0.113.7","reports":812,"limit":500}]}
//
// The first `,"tier":"tied","evidence":` of the line is the finding's own:
// the report and compound ids before it are JSON strings, in which a quote
// is always escaped.
func reviseLine(out, line []byte, refs []int32, info func(int32) seams.OverCorrelated, limit int) ([]byte, error) {
	i := bytes.Index(line, tiedField)
	if i < 0 || !bytes.HasSuffix(line, []byte("}\n")) {
		return nil, fmt.Errorf("revise %s: not a tied finding line: %.80q", FindingsFile, line)
	}
	out = append(out, line[:i]...)
	out = append(out, potentialField...)
	out = append(out, line[i+len(tiedField):len(line)-2]...)
	notes := make([]seams.CapNote, len(refs))
	for k, ref := range refs {
		o := info(ref)
		notes[k] = seams.CapNote{Kind: o.Kind, Value: o.Value, Reports: o.Reports, Limit: limit}
	}
	out = jsonl.AppendCapped(out, notes)
	return append(out, "}\n"...), nil
}
