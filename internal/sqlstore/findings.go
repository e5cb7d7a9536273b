package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seams-dev/seams"
)

const findingColumns = `f.id, r.rid, f.report, o.name, r.incident, f.compound, f.tier, v.evidence, f.at_ns, f.private, f.version, f.first_run, f.run,
	f.mark, f.comment, f.reviewed_by, f.reviewed_ns, f.reviewed_version`

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
	return where, args
}

// Findings implements seams.FindingStore.
func (s *Store) Findings(ctx context.Context, p seams.Principal, q seams.FindingQuery) (seams.FindingPage, error) {
	var page seams.FindingPage
	if q.Sort != seams.SortOldest && q.Sort != seams.SortNewest {
		return page, fmt.Errorf("%w: sort %q (want newest or nothing)", seams.ErrInvalid, q.Sort)
	}
	after, err := parseCursor("f", q.Cursor)
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
		order := ` ORDER BY f.id LIMIT ?`
		if q.Sort == seams.SortNewest {
			if after > 0 {
				where += ` AND f.id < ?`
				args = append(args, after)
			}
			order = ` ORDER BY f.id DESC LIMIT ?`
		} else {
			where += ` AND f.id > ?`
			args = append(args, after)
		}
		args = append(args, n+1)
		list, err := t.findings(where+order, args...)
		if err != nil {
			return err
		}
		if len(list) > n {
			list = list[:n]
			page.Next = cursorOf("f", list[n-1].ID)
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
	for rows.Next() {
		var f seams.StoredFinding
		var tier, private int64
		var ev, mark string
		var at, reviewedAt, reviewedVersion sql.NullInt64
		if err := rows.Scan(&f.ID, &f.Report, &f.ReportSeq, &f.Org, &f.Incident, &f.Compound, &tier, &ev, &at, &private, &f.Version, &f.FirstRun, &f.Run,
			&mark, &f.Review.Comment, &f.Review.By, &reviewedAt, &reviewedVersion); err != nil {
			return nil, err
		}
		f.Tier, f.At, f.Private = seams.Tier(tier), timeOf(at), private == 1
		f.Review.Mark, f.Review.At, f.Review.Version = seams.Mark(mark), timeOf(reviewedAt), reviewedVersion.Int64
		if f.Evidence, err = DecodeEvidence(ev); err != nil {
			return nil, fmt.Errorf("finding %d: %w", f.ID, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
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
		rows, err := t.query(`SELECT id, run, kind, from_tier, tier, private, evidence, at_ns FROM finding_versions
			WHERE finding = ? AND (private = 0 OR ? = 1) ORDER BY id`, id, boolInt(owner))
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var fv seams.FindingVersion
			var kind, ev string
			var from, tier, private int64
			var at sql.NullInt64
			if err := rows.Scan(&fv.ID, &fv.Run, &kind, &from, &tier, &private, &ev, &at); err != nil {
				rows.Close()
				return err
			}
			fv.Kind, fv.From, fv.Tier, fv.Private, fv.At = seams.ChangeKind(kind), seams.Tier(from), seams.Tier(tier), private == 1, timeOf(at)
			if fv.Evidence, err = DecodeEvidence(ev); err != nil {
				rows.Close()
				return fmt.Errorf("finding %d version %d: %w", id, fv.ID, err)
			}
			for _, e := range fv.Evidence {
				ids = append(ids, e.Indicator)
			}
			d.History = append(d.History, fv)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range d.Evidence {
			ids = append(ids, e.Indicator)
		}
		if d.Indicators, err = t.indicatorsByID(v, ids); err != nil {
			return err
		}
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
		var version, org int64
		err = t.queryRow(`SELECT f.version, f.org FROM findings f JOIN reports r ON r.seq = f.report WHERE f.id = ? AND `+seesFinding,
			append([]any{id}, v.args()...)...).Scan(&version, &org)
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
		if _, err := t.exec(`UPDATE findings SET mark = ?, comment = ?, reviewed_by = ?, reviewed_ns = ?, reviewed_version = ? WHERE id = ?`,
			string(m), comment, r.By, now.UnixNano(), version, id); err != nil {
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
		t.record("finding.review", fmt.Sprintf("finding:%d", id), fmt.Sprintf("%s (version %d)", mark, version))
		return nil
	})
	return r, err
}
