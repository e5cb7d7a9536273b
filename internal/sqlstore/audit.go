package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/seams-dev/seams"
)

// maxAuditField bounds each text field of an audit entry: the log is kept
// for years, and an API caller must not be able to grow it by megabytes a
// request.
const maxAuditField = 1024

// appendAudit appends the queued entries to the chain. The state row holds
// the head (seq and hash), and every write transaction holds the state
// lock, so entries are chained one after another with no gap or fork.
func (t *tx) appendAudit() error {
	if len(t.audit) == 0 {
		return nil
	}
	var seq int64
	var head []byte
	if err := t.queryRow(`SELECT audit_seq, audit_hash FROM state WHERE id = 1`).Scan(&seq, &head); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	e := seams.AuditEntry{At: t.s.now().UTC(), Actor: clean(t.p.Actor()), Org: clean(t.p.Org)}
	copy(e.Prev[:], head)
	for _, ev := range t.audit {
		seq++
		e.Seq = seq
		e.AuditEvent = seams.AuditEvent{Action: clean(ev.Action), Object: clean(ev.Object), Detail: clean(ev.Detail)}
		e.Hash = seams.AuditHash(&e)
		if _, err := t.exec(`INSERT INTO audit (seq, at_ns, actor, org, action, object, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.At.UnixNano(), e.Actor, e.Org, e.Action, e.Object, e.Detail, e.Prev[:], e.Hash[:]); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		e.Prev = e.Hash
	}
	if _, err := t.exec(`UPDATE state SET audit_seq = ?, audit_hash = ? WHERE id = 1`, seq, e.Prev[:]); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	t.audit = nil
	return nil
}

// clean makes a field safe to store and show: valid UTF-8 (PostgreSQL
// refuses anything else, and the engines must agree), no NUL, bounded.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) > maxAuditField {
		s = seams.CutRaw([]byte(s), maxAuditField)
	}
	return s
}

// cleanText makes free text (a review comment) safe to store: valid UTF-8
// and no NUL; line breaks stay.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// Audit implements seams.AuditLog. Any role may write: reads are audited.
func (s *Store) Audit(ctx context.Context, p seams.Principal, e seams.AuditEvent) error {
	if e.Action == "" {
		return fmt.Errorf("audit: empty action")
	}
	return s.write(ctx, p, seams.RoleViewer, func(t *tx) error {
		t.audit = append(t.audit, e)
		return nil
	})
}

// AuditEntries implements seams.AuditLog. Reading the log is not itself
// logged: the log would then grow with every look at it.
func (s *Store) AuditEntries(ctx context.Context, p seams.Principal, q seams.AuditQuery) ([]seams.AuditEntry, error) {
	if err := allow(p, seams.RoleAdmin); err != nil {
		return nil, err
	}
	n := limit(q.Limit, 1000, 10000)
	var out []seams.AuditEntry
	err := s.view(ctx, func(t *tx) error {
		where := `WHERE seq > ? AND (? = 1 OR org = ?)`
		args := []any{q.After, boolInt(p.Operator), p.Org}
		if q.Action != "" {
			where += ` AND action = ?`
			args = append(args, q.Action)
		}
		if q.Object != "" {
			where += ` AND object = ?`
			args = append(args, q.Object)
		}
		order := ` ORDER BY seq LIMIT ?`
		if q.Latest {
			order = ` ORDER BY seq DESC LIMIT ?`
		}
		rows, err := t.query(`SELECT seq, at_ns, actor, org, action, object, detail, prev, hash FROM audit `+where+order, append(args, n)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		if q.Latest {
			slices.Reverse(out)
		}
		return rows.Err()
	})
	return out, err
}

func scanAudit(rows *sql.Rows) (seams.AuditEntry, error) {
	var e seams.AuditEntry
	var at sql.NullInt64
	var prev, hash []byte
	if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Org, &e.Action, &e.Object, &e.Detail, &prev, &hash); err != nil {
		return e, err
	}
	e.At = timeOf(at)
	if len(prev) != 32 || len(hash) != 32 {
		return e, fmt.Errorf("%w: entry %d: hash of %d bytes", seams.ErrAuditTampered, e.Seq, len(hash))
	}
	copy(e.Prev[:], prev)
	copy(e.Hash[:], hash)
	return e, nil
}

// VerifyAudit implements seams.AuditLog: it recomputes every hash, checks
// that each entry links to the one before, that sequence numbers run 1, 2,
// 3... without a gap, and that the head kept in the state row is the last
// entry (so that dropping entries at the end is caught too, unless the
// state row is rewritten as well: compare the head with one kept elsewhere
// for that).
func (s *Store) VerifyAudit(ctx context.Context, p seams.Principal) (seams.AuditHead, error) {
	var head seams.AuditHead
	if err := allow(p, seams.RoleAdmin); err != nil {
		return head, err
	}
	err := s.view(ctx, func(t *tx) error {
		var stateSeq int64
		var stateHash []byte
		if err := t.queryRow(`SELECT audit_seq, audit_hash FROM state WHERE id = 1`).Scan(&stateSeq, &stateHash); err != nil {
			return err
		}
		rows, err := t.query(`SELECT seq, at_ns, actor, org, action, object, detail, prev, hash FROM audit ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var prev [32]byte
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				return err
			}
			switch {
			case e.Seq != head.Seq+1:
				return fmt.Errorf("%w: entry %d follows entry %d (entries missing)", seams.ErrAuditTampered, e.Seq, head.Seq)
			case e.Prev != prev:
				return fmt.Errorf("%w: entry %d does not link to entry %d", seams.ErrAuditTampered, e.Seq, head.Seq)
			case seams.AuditHash(&e) != e.Hash:
				return fmt.Errorf("%w: entry %d was changed (its hash does not match its contents)", seams.ErrAuditTampered, e.Seq)
			}
			head = seams.AuditHead{Seq: e.Seq, Hash: e.Hash}
			prev = e.Hash
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if stateSeq != head.Seq || (head.Seq > 0 && !bytes.Equal(stateHash, head.Hash[:])) {
			return fmt.Errorf("%w: the log ends at entry %d but the store recorded entry %d as its last (entries removed at the end)",
				seams.ErrAuditTampered, head.Seq, stateSeq)
		}
		return nil
	})
	return head, err
}
