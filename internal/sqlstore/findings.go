package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

const findingColumns = `f.id, r.rid, f.report, o.name, r.incident, f.compound, f.tier, v.evidence, f.at_ns, f.private, f.version, f.first_run, f.run,
	f.mark, f.comment, f.reviewed_by, f.reviewed_ns, f.reviewed_version, v.signals, v.capped`

const findingFrom = ` FROM findings f JOIN reports r ON r.seq = f.report JOIN orgs o ON o.id = f.org
	JOIN finding_versions v ON v.id = f.version JOIN compounds c ON c.id = f.compound `

// findingFilter turns a query into a condition over findingFrom.
func findingFilter(v viewer, q *seams.FindingQuery) (string, []any) {
	where := ` WHERE ` + seesFinding
	args := v.args()
	add := func(cond string, a any) {
		where += " AND " + cond
		args = append(args, a)
	}
	if q.Withdrawn {
		where += ` AND f.tier = 0`
	} else {
		where += ` AND f.tier > 0`
	}
	if q.Tier != seams.TierNone {
		add(`f.tier = ?`, int64(q.Tier))
	}
	if q.Compound != "" {
		add(`f.compound = ?`, q.Compound)
	}
	if q.Country != "" {
		add(`c.country = ?`, q.Country)
	}
	if q.Incident != "" {
		add(`r.incident = ?`, q.Incident)
	}
	if q.Report != "" {
		add(`r.rid = ?`, q.Report)
	}
	if q.Mark != nil {
		add(`f.mark = ?`, string(*q.Mark))
	}
	if !q.From.IsZero() {
		add(`f.at_ns >= ?`, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		add(`f.at_ns < ?`, q.To.UnixNano())
	}
	if q.Stale {
		where += ` AND f.mark <> '' AND (f.reviewed_version IS NULL OR f.reviewed_version <> f.version)`
	}
	// The evidence is a JSON array in the finding's version; the
	// dialect says how to walk it ({{EVIDENCE}} rows e, and the fields of
	// one). Not indexed: a filter by rule, source or AS scans the
	// findings the other filters leave.
	if q.Rule != 0 {
		add(`EXISTS (SELECT 1 FROM {{EVIDENCE}} WHERE {{EV_RULE}} = ?)`, q.Rule.String())
	}
	if q.ASN != 0 {
		add(`EXISTS (SELECT 1 FROM {{EVIDENCE}} WHERE {{EV_ASN}} = ?)`, int64(q.ASN))
	}
	if q.Source != "" {
		add(`EXISTS (SELECT 1 FROM {{EVIDENCE}} JOIN indicators si ON si.id = {{EV_INDICATOR}} WHERE si.source = ?)`, q.Source)
	}
	return where, args
}

// findingOrder is an order of findings: the key of each row (SQL
// expressions, most significant first, ending with the id, which makes
// it unique) and its direction. Cursors hold the key of a row.
type findingOrder struct {
	code string // names the order in cursors
	keys []string
	desc bool
}

// A finding without a time sorts after every one with a time: has_at
// first, then the time (0 when none). The indexes findings_queue and
// findings_recent (schemaReviewQueue) are on these very expressions.
const (
	hasAt    = `CASE WHEN f.at_ns IS NULL THEN 0 ELSE 1 END`
	atOrZero = `COALESCE(f.at_ns, 0)`
)

var findingOrders = map[seams.Sort]findingOrder{
	seams.SortOldest: {"o", []string{"f.id"}, false},
	seams.SortNewest: {"n", []string{"f.id"}, true},
	seams.SortRecent: {"r", []string{hasAt, atOrZero, "f.id"}, true},
	seams.SortTier:   {"t", []string{"f.tier", hasAt, atOrZero, "f.id"}, true},
}

// key returns the values of o's key for f.
func (o findingOrder) key(f *seams.StoredFinding) []int64 {
	var at, has int64
	if !f.At.IsZero() {
		at, has = f.At.UnixNano(), 1
	}
	switch o.code {
	case "r":
		return []int64{has, at, f.ID}
	case "t":
		return []int64{int64(f.Tier), has, at, f.ID}
	}
	return []int64{f.ID}
}

// cursor encodes a position: after (the next page) or before (the
// previous one) the row with key k. The next page of the id orders keeps
// the form it always had, f<id>.
func (o findingOrder) cursor(before bool, k []int64) string {
	if !before && len(o.keys) == 1 {
		return cursorOf("f", k[0])
	}
	var b strings.Builder
	b.WriteString("fa")
	if before {
		b.Reset()
		b.WriteString("fb")
	}
	b.WriteString(o.code)
	for i, v := range k {
		if i == 0 {
			b.WriteByte(':')
		} else {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	return b.String()
}

// parse reads a cursor of this order: its direction and key; nil for none.
func (o findingOrder) parse(c string) (before bool, k []int64, err error) {
	if c == "" {
		return false, nil, nil
	}
	bad := fmt.Errorf("%w: cursor %q (not one of this listing and order)", seams.ErrInvalid, clean(c))
	if len(c) >= 2 && c[0] == 'f' && c[1] >= '0' && c[1] <= '9' {
		if len(o.keys) != 1 {
			return false, nil, bad
		}
		id, err := parseCursor("f", c)
		return false, []int64{id}, err
	}
	head, vals, ok := strings.Cut(c, ":")
	if !ok || len(head) != 3 || head[0] != 'f' || (head[1] != 'a' && head[1] != 'b') || head[2:] != o.code {
		return false, nil, bad
	}
	parts := strings.Split(vals, ".")
	if len(parts) != len(o.keys) {
		return false, nil, bad
	}
	for _, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return false, nil, bad
		}
		k = append(k, v)
	}
	return head[1] == 'b', k, nil
}

// Findings implements seams.FindingStore.
func (s *Store) Findings(ctx context.Context, p seams.Principal, q seams.FindingQuery) (seams.FindingPage, error) {
	var page seams.FindingPage
	o, ok := findingOrders[q.Sort]
	if !ok {
		return page, fmt.Errorf("%w: sort %q (want newest, recent, tier or nothing)", seams.ErrInvalid, q.Sort)
	}
	before, at, err := o.parse(q.Cursor)
	if err != nil {
		return page, err
	}
	n := limit(q.Limit, 100, 1000)
	err = s.read(ctx, p, func(t *tx, v viewer) error {
		where, args := findingFilter(v, &q)
		if q.Count {
			if err := t.queryRow(`SELECT COUNT(*)`+findingFrom+where, args...).Scan(&page.Total); err != nil {
				return err
			}
		}
		// A page before a cursor is read in the reverse order, then
		// turned round.
		desc := o.desc != before
		if at == nil && o.code == "o" {
			// A range on the id steers SQLite to walk the primary key
			// (without it, it takes the tier index and sorts every
			// finding: 2 s instead of 20 ms for a first page of 200,000).
			where += ` AND f.id > 0`
		}
		if at != nil {
			cmp := " > ("
			if desc {
				cmp = " < ("
			}
			if len(at) == 1 {
				// A plain comparison: SQLite uses the primary key for
				// it, not for a row value of one column.
				where += " AND " + o.keys[0] + strings.TrimSuffix(cmp, "(") + "?"
			} else {
				where += " AND (" + strings.Join(o.keys, ", ") + ")" + cmp + strings.TrimSuffix(strings.Repeat("?, ", len(at)), ", ") + ")"
			}
			for _, k := range at {
				args = append(args, k)
			}
		}
		order := make([]string, len(o.keys))
		for i, k := range o.keys {
			order[i] = k
			if desc {
				order[i] += " DESC"
			}
		}
		args = append(args, n+1)
		list, err := t.findings(where+" ORDER BY "+strings.Join(order, ", ")+" LIMIT ?", args...)
		if err != nil {
			return err
		}
		more := len(list) > n
		if more {
			list = list[:n]
		}
		if before {
			slices.Reverse(list)
		}
		if len(list) > 0 {
			first, last := &list[0], &list[len(list)-1]
			switch {
			case before:
				page.Next = o.cursor(false, o.key(last))
				if more {
					page.Prev = o.cursor(true, o.key(first))
				}
			default:
				if more {
					page.Next = o.cursor(false, o.key(last))
				}
				if at != nil {
					page.Prev = o.cursor(true, o.key(first))
				}
			}
		}
		if err := t.score(list, nil); err != nil {
			return err
		}
		page.Findings = list
		t.record("findings.read", "findings", fmt.Sprintf("%d findings", len(list)))
		return nil
	})
	return page, err
}

func (t *tx) findings(where string, args ...any) ([]seams.StoredFinding, error) {
	rows, err := t.query(`SELECT `+findingColumns+findingFrom+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seams.StoredFinding
	var capped [][]int64
	for rows.Next() {
		var f seams.StoredFinding
		var tier, private, signals int64
		var ev, mark, capText string
		var at, reviewedAt, reviewedVersion sql.NullInt64
		if err := rows.Scan(&f.ID, &f.Report, &f.ReportSeq, &f.Org, &f.Incident, &f.Compound, &tier, &ev, &at, &private, &f.Version, &f.FirstRun, &f.Run,
			&mark, &f.Review.Comment, &f.Review.By, &reviewedAt, &reviewedVersion, &signals, &capText); err != nil {
			rows.Close()
			return nil, err
		}
		f.Tier, f.At, f.Private = seams.Tier(tier), timeOf(at), private == 1
		f.Review.Mark, f.Review.At, f.Review.Version = seams.Mark(mark), timeOf(reviewedAt), reviewedVersion.Int64
		if f.Evidence, err = DecodeEvidence(ev); err != nil {
			rows.Close()
			return nil, fmt.Errorf("finding %d: %w", f.ID, err)
		}
		if f.Signals, err = signalsOf(signals); err != nil {
			rows.Close()
			return nil, fmt.Errorf("finding %d: %w", f.ID, err)
		}
		ids, err := DecodeCapped(capText)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("finding %d: %w", f.ID, err)
		}
		out = append(out, f)
		capped = append(capped, ids)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// A current finding's capping indicators are counted as the last run
	// counted them: every current finding was decided against the last
	// run's capped set (a run whose set differs from its predecessor's is
	// full), so the last run counted each of them. One look-up for the
	// page.
	var ids []int64
	for i := range capped {
		ids = append(ids, capped[i]...)
	}
	if len(ids) == 0 {
		return out, nil
	}
	var last int64
	if err := t.queryRow(`SELECT last_run FROM state WHERE id = 1`).Scan(&last); err != nil {
		return nil, err
	}
	counts, err := t.caps(last, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Capped, err = capsOf(counts, capped[i], last); err != nil {
			return nil, fmt.Errorf("finding %d: %w", out[i].ID, err)
		}
	}
	return out, nil
}

// caps returns the notes of the indicator versions among ids that run
// capped, by id, with its counts and limit.
func (t *tx) caps(run int64, ids []int64) (map[int64]seams.StoredCap, error) {
	var params string
	var drift int64
	if err := t.queryRow(`SELECT parameters, drift_ns FROM runs WHERE id = ?`, run).Scan(&params, &drift); err != nil {
		return nil, fmt.Errorf("capped: run %d: %w", run, err)
	}
	p, err := decodeParameters(params, time.Duration(drift))
	if err != nil {
		return nil, fmt.Errorf("run %d: %w", run, err)
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := map[int64]seams.StoredCap{}
	for chunk := range slices.Chunk(ids, insertRows) {
		args := []any{run}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := t.query(`SELECT indicator, reports FROM run_over WHERE run = ? AND capped = 1 AND indicator IN (`+inList(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c seams.StoredCap
			if err := rows.Scan(&c.Indicator, &c.Reports); err != nil {
				rows.Close()
				return nil, err
			}
			c.Limit = p.MaxReportsPerIndicator
			out[c.Indicator] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// capsOf returns the notes of the indicator versions ids, in their order,
// from those run capped.
func capsOf(counts map[int64]seams.StoredCap, ids []int64, run int64) ([]seams.StoredCap, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]seams.StoredCap, len(ids))
	for i, id := range ids {
		c, ok := counts[id]
		if !ok {
			return nil, fmt.Errorf("capped by indicator %d, which run %d did not cap", id, run)
		}
		out[i] = c
	}
	return out, nil
}

// Finding implements seams.FindingStore.
func (s *Store) Finding(ctx context.Context, p seams.Principal, id int64) (*seams.FindingDetail, error) {
	var d seams.FindingDetail
	err := s.read(ctx, p, func(t *tx, v viewer) error {
		list, err := t.findings(` WHERE f.id = ? AND `+seesFinding, append([]any{id}, v.args()...)...)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return fmt.Errorf("finding %d: %w", id, seams.ErrNotFound)
		}
		d.StoredFinding = list[0]
		reports, err := t.reportPage(`WHERE r.seq = ?`, []any{d.ReportSeq}, false)
		if err != nil {
			return err
		}
		if len(reports) != 1 {
			return fmt.Errorf("finding %d: report %d missing", id, d.ReportSeq)
		}
		d.Report = reports[0]
		cs, err := t.compounds()
		if err != nil {
			return err
		}
		d.Compound = cs[d.StoredFinding.Compound]

		// A version made of evidence that was private then is shown only
		// to the finding's organisation.
		owner := v.all || d.Org == t.p.Org
		rows, err := t.query(`SELECT id, run, kind, from_tier, tier, private, evidence, at_ns, signals, capped FROM finding_versions
			WHERE finding = ? AND (private = 0 OR ? = 1) ORDER BY id`, id, boolInt(owner))
		if err != nil {
			return err
		}
		var ids []int64
		var capped [][]int64
		for rows.Next() {
			var fv seams.FindingVersion
			var kind, ev, capText string
			var from, tier, private, signals int64
			var at sql.NullInt64
			if err := rows.Scan(&fv.ID, &fv.Run, &kind, &from, &tier, &private, &ev, &at, &signals, &capText); err != nil {
				rows.Close()
				return err
			}
			fv.Kind, fv.From, fv.Tier, fv.Private, fv.At = seams.ChangeKind(kind), seams.Tier(from), seams.Tier(tier), private == 1, timeOf(at)
			if fv.Evidence, err = DecodeEvidence(ev); err != nil {
				rows.Close()
				return fmt.Errorf("finding %d version %d: %w", id, fv.ID, err)
			}
			if fv.Signals, err = signalsOf(signals); err != nil {
				rows.Close()
				return fmt.Errorf("finding %d version %d: %w", id, fv.ID, err)
			}
			c, err := DecodeCapped(capText)
			if err != nil {
				rows.Close()
				return fmt.Errorf("finding %d version %d: %w", id, fv.ID, err)
			}
			capped = append(capped, c)
			for _, e := range fv.Evidence {
				ids = append(ids, e.Indicator)
			}
			ids = append(ids, c...)
			d.History = append(d.History, fv)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// A version's capping indicators with the counts of its own run.
		for i := range d.History {
			if len(capped[i]) == 0 {
				continue
			}
			counts, err := t.caps(d.History[i].Run, capped[i])
			if err != nil {
				return fmt.Errorf("finding %d version %d: %w", id, d.History[i].ID, err)
			}
			if d.History[i].Capped, err = capsOf(counts, capped[i], d.History[i].Run); err != nil {
				return fmt.Errorf("finding %d version %d: %w", id, d.History[i].ID, err)
			}
		}
		ids = append(ids, d.StoredFinding.Indicators()...)
		if d.Indicators, err = t.indicatorsByID(v, ids); err != nil {
			return err
		}
		one := []seams.StoredFinding{d.StoredFinding}
		if err := t.score(one, d.Indicators); err != nil {
			return err
		}
		d.StoredFinding = one[0]
		rows, err = t.query(`SELECT mark, comment, by_actor, at_ns, version FROM reviews WHERE finding = ? ORDER BY id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r seams.Review
			var mark string
			var at int64
			if err := rows.Scan(&mark, &r.Comment, &r.By, &at, &r.Version); err != nil {
				return err
			}
			r.Mark, r.At = seams.Mark(mark), timeOfNS(at)
			d.Reviews = append(d.Reviews, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		t.record("finding.read", fmt.Sprintf("finding:%d", id), "report "+d.Report.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func timeOfNS(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// Review implements seams.FindingStore.
func (s *Store) Review(ctx context.Context, p seams.Principal, id int64, m seams.Mark, comment string) (seams.Review, error) {
	var r seams.Review
	if _, err := seams.ParseMark(string(m)); err != nil || m != seams.Mark(string(m)) {
		return r, fmt.Errorf("%w: %v", seams.ErrInvalid, err)
	}
	if len(comment) > seams.MaxComment {
		return r, fmt.Errorf("%w: comment longer than %d bytes", seams.ErrInvalid, seams.MaxComment)
	}
	comment = cleanText(comment)
	err := s.write(ctx, p, seams.RoleAnalyst, func(t *tx) error {
		v, err := t.viewer(p)
		if err != nil {
			return err
		}
		var version, org, report int64
		err = t.queryRow(`SELECT f.version, f.org, f.report FROM findings f JOIN reports r ON r.seq = f.report WHERE f.id = ? AND `+seesFinding,
			append([]any{id}, v.args()...)...).Scan(&version, &org, &report)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("finding %d: %w", id, seams.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !v.all && org != v.org {
			return fmt.Errorf("%w: finding %d belongs to another organisation's report", seams.ErrForbidden, id)
		}
		now := s.now().UTC()
		r = seams.Review{Mark: m, Comment: comment, By: p.Actor(), At: now, Version: version}
		if err := t.summaryAround([]int64{report}, false, func() error {
			_, err := t.exec(`UPDATE findings SET mark = ?, comment = ?, reviewed_by = ?, reviewed_ns = ?, reviewed_version = ? WHERE id = ?`,
				string(m), comment, r.By, now.UnixNano(), version, id)
			return err
		}); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO reviews (finding, version, mark, comment, by_actor, at_ns) VALUES (?, ?, ?, ?, ?, ?)`,
			id, version, string(m), comment, r.By, now.UnixNano()); err != nil {
			return err
		}
		mark := string(m)
		if mark == "" {
			mark = "none"
		}
		// The comment stays out of the log: it may quote a report.
		// The state lets seams audit verify find a mark edited in the
		// database afterwards.
		state := reviewState(string(m), comment, r.By, sql.NullInt64{Int64: now.UnixNano(), Valid: true}, sql.NullInt64{Int64: version, Valid: true})
		t.record("finding.review", reviewObject(id), fmt.Sprintf("%s (version %d); %s", mark, version, state))
		return nil
	})
	return r, err
}
