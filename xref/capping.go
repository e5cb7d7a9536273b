package xref

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"

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

// caps is the writer's record for the over-correlation check.
type caps struct {
	counts  []int32 // distinct reports per indicator record of the index
	reports []capReport
}

// capReport is an accepted report with at least one tied finding.
type capReport struct {
	cts   []compoundTier // all its findings: compound, tier and ASes (in asns)
	asns  []asnOrg
	finds []capFinding // its tied findings
}

// capFinding is a tied finding: its line in findings.jsonl and the
// indicators whose evidence ties it.
type capFinding struct {
	ct   int   // index in capReport.cts
	off  int64 // offset of its line in findings.jsonl
	n    int32 // length of its line
	refs []int32
}

// add records the findings of an accepted report, whose findings start at
// offset written of findings.jsonl.
func (c *caps) add(res *result, r *rec, written int64) {
	for _, ref := range res.refs[r.refOff:r.refEnd] {
		c.counts[ref]++
	}
	cts := res.cts[r.ctOff:r.ctEnd]
	var cr *capReport
	for i, ct := range cts {
		if ct.tier != seams.TierTied {
			continue
		}
		if cr == nil {
			c.reports = append(c.reports, capReport{cts: make([]compoundTier, len(cts))})
			cr = &c.reports[len(c.reports)-1]
			for k, ct := range cts {
				off := int32(len(cr.asns))
				cr.asns = append(cr.asns, res.asns[ct.asnOff:ct.asnEnd]...)
				cr.cts[k] = compoundTier{compound: ct.compound, tier: ct.tier, asnOff: off, asnEnd: int32(len(cr.asns))}
			}
		}
		cr.finds = append(cr.finds, capFinding{ct: i, off: written + int64(ct.findOff), n: ct.findEnd - ct.findOff,
			refs: slices.Clone(res.tieRefs[ct.tieOff:ct.tieEnd])})
	}
}

// revision is a finding line to rewrite: tied becomes potential, and the
// capped indicators that tied it are named.
type revision struct {
	off  int64
	n    int32
	refs []int32
}

// apply decides which indicators are over-correlated, caps the findings
// they alone tie, corrects the tally and, if any finding changed, rewrites
// findings (returning the file to commit in its place). It returns the
// over-correlated indicators for the summary.
func (c *caps) apply(x *match.Index, limit int, lift map[string]bool, t *tally, findings *atomicfile.File, path string) ([]seams.OverCorrelated, *atomicfile.File, error) {
	if limit <= 0 {
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
		if k := x.Kind(int32(ref)); k != seams.KindIP && k != seams.KindDevice {
			continue // a prefix or an AS is potential evidence already
		}
		in := x.Indicator(int32(ref))
		oc := overRef{seams.OverCorrelated{Compound: in.Compound, Kind: in.Kind.String(), Value: in.Value,
			Reports: int(n), Capped: !lift[in.Value]}, int32(ref)}
		if oc.Capped {
			capped[int32(ref)] = len(over)
		}
		over = append(over, oc)
	}
	var revs []revision
	for i := range c.reports {
		cr := &c.reports[i]
		changed := false
		old := slices.Clone(cr.cts)
		for _, f := range cr.finds {
			all := len(f.refs) > 0
			for _, ref := range f.refs {
				if _, ok := capped[ref]; !ok {
					all = false
					break
				}
			}
			if !all {
				continue
			}
			cr.cts[f.ct].tier = seams.TierPotential
			changed = true
			revs = append(revs, revision{off: f.off, n: f.n, refs: f.refs})
			for _, ref := range f.refs {
				over[capped[ref]].Downgraded++
			}
		}
		if changed {
			t.addFindings(old, cr.asns, -1)
			t.addFindings(cr.cts, cr.asns, 1)
		}
	}
	info := func(ref int32) seams.OverCorrelated { return over[capped[ref]].OverCorrelated }
	revised := findings
	if len(revs) > 0 {
		var err error
		if revised, err = rewriteFindings(findings, path, revs, info, limit); err != nil {
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

// rewriteFindings copies findings into a new file at path, revising the
// lines of revs (in file order), and discards the old file.
func rewriteFindings(old *atomicfile.File, path string, revs []revision, info func(int32) seams.OverCorrelated, limit int) (*atomicfile.File, error) {
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
	var line []byte
	for _, rv := range revs {
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
		out, err := reviseLine(line, rv.refs, info, limit)
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
func reviseLine(line []byte, refs []int32, info func(int32) seams.OverCorrelated, limit int) ([]byte, error) {
	i := bytes.Index(line, tiedField)
	if i < 0 || !bytes.HasSuffix(line, []byte("}\n")) {
		return nil, fmt.Errorf("revise %s: not a tied finding line: %.80q", FindingsFile, line)
	}
	out := make([]byte, 0, len(line)+64*len(refs))
	out = append(out, line[:i]...)
	out = append(out, potentialField...)
	out = append(out, line[i+len(tiedField):len(line)-2]...)
	out = append(out, `,"capped":[`...)
	for k, ref := range refs {
		if k > 0 {
			out = append(out, ',')
		}
		o := info(ref)
		out = append(out, `{"kind":"`...)
		out = append(out, o.Kind...)
		out = append(out, `","value":`...)
		out = jsonl.AppendString(out, o.Value)
		out = append(out, `,"reports":`...)
		out = strconv.AppendInt(out, int64(o.Reports), 10)
		out = append(out, `,"limit":`...)
		out = strconv.AppendInt(out, int64(limit), 10)
		out = append(out, '}')
	}
	return append(out, "]}\n"...), nil
}
