package sqlstore

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/seams-dev/seams"
)

// Search implements seams.Reader.
func (s *Store) Search(ctx context.Context, p seams.Principal, q seams.SearchQuery) (*seams.SearchResult, error) {
	res := &seams.SearchResult{Query: q}
	n := limit(q.Limit, 100, 1000)
	res.Query.Limit = n
	switch q.Kind {
	case seams.SearchIP:
		if !q.Addr.IsValid() {
			return nil, fmt.Errorf("%w: search for an invalid address", seams.ErrInvalid)
		}
		q.Addr = seams.NormalizeAddr(q.Addr)
		res.Query.Addr = q.Addr
	case seams.SearchPrefix:
		if !q.Prefix.IsValid() || q.Prefix.Masked() != q.Prefix {
			return nil, fmt.Errorf("%w: search for a prefix that is not canonical", seams.ErrInvalid)
		}
	case seams.SearchDevice:
		if q.Device.Type == "" || q.Device.Value == "" {
			return nil, fmt.Errorf("%w: search for an empty device", seams.ErrInvalid)
		}
	case seams.SearchReport:
		if q.Report == "" || len(q.Report) > seams.MaxKey || hasNUL(q.Report) {
			return nil, fmt.Errorf("%w: search for an invalid report id", seams.ErrInvalid)
		}
	default:
		return nil, fmt.Errorf("%w: search kind %q", seams.ErrInvalid, q.Kind)
	}
	err := s.read(ctx, p, func(t *tx, v viewer) error {
		var inReports string
		var rargs []any
		var err error
		switch q.Kind {
		case seams.SearchIP:
			a := q.Addr.As16()
			inReports, rargs = `r.seq IN (SELECT report FROM report_ips WHERE addr = ?)`, []any{a[:]}
			pfx := netip.PrefixFrom(q.Addr, q.Addr.BitLen())
			if res.Indicators, err = t.containing(v, pfx); err != nil {
				return err
			}
			if res.Shared, err = t.sharedOverlapping(v, pfx); err != nil {
				return err
			}
		case seams.SearchPrefix:
			lo, hi := bounds(q.Prefix)
			inReports, rargs = `r.seq IN (SELECT report FROM report_ips WHERE addr >= ? AND addr <= ?)`, []any{lo[:], hi[:]}
			if res.Indicators, err = t.containing(v, q.Prefix); err != nil {
				return err
			}
			inside, err := t.indicators(`WHERE i.retired_ns IS NULL AND i.kind IN (?, ?) AND i.lo >= ? AND i.lo <= ? AND i.hi <= ? AND `+sees("i")+
				` ORDER BY i.id LIMIT ?`, append([]any{int64(seams.KindIP), int64(seams.KindCIDR), lo[:], hi[:], hi[:]}, append(v.args(), 10000)...)...)
			if err != nil {
				return err
			}
			res.Indicators = mergeIndicators(res.Indicators, inside)
			if res.Shared, err = t.sharedOverlapping(v, q.Prefix); err != nil {
				return err
			}
		case seams.SearchDevice:
			inReports, rargs = `r.seq IN (SELECT report FROM report_devices WHERE value = ? AND type = ?)`, []any{q.Device.Value, q.Device.Type}
			if res.Indicators, err = t.indicators(`WHERE i.retired_ns IS NULL AND i.kind = ? AND i.value = ? AND `+sees("i")+` ORDER BY i.id`,
				append([]any{int64(seams.KindDevice), q.Device.String()}, v.args()...)...); err != nil {
				return err
			}
		case seams.SearchReport:
			inReports, rargs = `r.rid = ?`, []any{q.Report}
		}
		args := append(v.args(), rargs...)
		args = append(args, n+1)
		if res.Reports, err = t.reportPage(`WHERE `+sees("r")+` AND `+inReports+` ORDER BY r.seq LIMIT ?`, args, false); err != nil {
			return err
		}
		if len(res.Reports) > n {
			res.Reports, res.More = res.Reports[:n], true
		}
		if len(res.Reports) > 0 {
			fargs := v.args()
			for _, r := range res.Reports {
				fargs = append(fargs, r.Seq)
			}
			if res.Findings, err = t.findings(` WHERE `+seesFinding+` AND f.tier > 0 AND f.report IN (`+inList(len(res.Reports))+`) ORDER BY f.id`, fargs...); err != nil {
				return err
			}
		}
		t.record("search", string(q.Kind)+":"+q.String(), fmt.Sprintf("%d reports, %d indicators", len(res.Reports), len(res.Indicators)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// containing returns the active ip and cidr indicators visible to v that
// contain p (equal included): one indexed lookup of lo for each prefix
// length up to p's.
func (t *tx) containing(v viewer, p netip.Prefix) ([]seams.StoredIndicator, error) {
	_, phi := bounds(p)
	args := []any{int64(seams.KindIP), int64(seams.KindCIDR), phi[:]}
	var los []any
	for bits := p.Bits(); bits >= 0; bits-- {
		lo, _ := bounds(netip.PrefixFrom(p.Addr(), bits).Masked())
		los = append(los, lo[:])
	}
	args = append(args, los...)
	args = append(args, v.args()...)
	return t.indicators(`WHERE i.retired_ns IS NULL AND i.kind IN (?, ?) AND i.hi >= ? AND i.lo IN (`+inList(len(los))+`) AND `+sees("i")+` ORDER BY i.id`, args...)
}

// sharedOverlapping returns the active shared-space prefixes overlapping
// p that apply to v's reports, 100.64.0.0/10 included.
func (t *tx) sharedOverlapping(v viewer, p netip.Prefix) ([]netip.Prefix, error) {
	lo, hi := bounds(p)
	rows, err := t.query(`SELECT DISTINCT prefix FROM shared_space WHERE retired_ns IS NULL AND lo <= ? AND hi >= ? AND `+seesShared+` ORDER BY prefix`,
		append([]any{hi[:], lo[:]}, v.args()...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []netip.Prefix
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		sp, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("shared space: %w", err)
		}
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if seams.CarrierNAT.Overlaps(p) && !slices.Contains(out, seams.CarrierNAT) {
		out = append(out, seams.CarrierNAT)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out, nil
}

func mergeIndicators(a, b []seams.StoredIndicator) []seams.StoredIndicator {
	seen := map[int64]bool{}
	var out []seams.StoredIndicator
	for _, l := range [][]seams.StoredIndicator{a, b} {
		for _, si := range l {
			if !seen[si.ID] {
				seen[si.ID] = true
				out = append(out, si)
			}
		}
	}
	slices.SortFunc(out, func(x, y seams.StoredIndicator) int { return cmpInt(x.ID, y.ID) })
	return out
}
