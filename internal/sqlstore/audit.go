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
		// Changes of data every organisation shares (a compound, a
		// shared-space list that applies to others) are in every
		// organisation's view, whoever made them.
		where := `WHERE seq > ? AND (? = 1 OR org = ? OR action IN (` + globalActions + `))`
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

// globalActions are the actions that change what every organisation's
// findings rest on: shown in every organisation's audit view.
const globalActions = `'compound.update', 'shared.global'`

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

// VerifyAudit implements seams.AuditLog: it verifies the chain from the
// last checkpoint on (see verify).
func (s *Store) VerifyAudit(ctx context.Context, p seams.Principal) (seams.AuditHead, error) {
	return s.verify(ctx, p, false)
}

// VerifyAuditFull implements seams.AuditLog.
func (s *Store) VerifyAuditFull(ctx context.Context, p seams.Principal) (seams.AuditHead, error) {
	return s.verify(ctx, p, true)
}

// verify recomputes every hash from the checkpoint on (from the start
// when full is set or there is none), checks that each entry links to the
// one before, that sequence numbers run without a gap, and that the head
// kept in the state row is the last entry (so that dropping entries at
// the end is caught too, unless the state row is rewritten as well:
// compare the head with one kept elsewhere for that). It then checks the
// state of audited objects (checkState) and records the head as the new
// checkpoint.
//
// A checkpoint is the state row's verified_seq and verified_hash, and the
// audit entry (audit.checkpoint, verified_entry) that recorded them when
// they were verified: it is trusted only if that entry is in the part of
// the chain this verification recomputes and says the same, and if the
// entry at verified_seq still has that hash and the next one links to it.
// Rewriting the checkpoint to skip entries therefore takes rewriting the
// chain after it, which is what the chain's design already has to catch
// (against a head kept elsewhere); entries before a trusted checkpoint are
// not recomputed again: VerifyAuditFull does.
func (s *Store) verify(ctx context.Context, p seams.Principal, full bool) (seams.AuditHead, error) {
	var head seams.AuditHead
	if err := allow(p, seams.RoleAdmin); err != nil {
		return head, err
	}
	err := s.view(ctx, func(t *tx) error {
		var stateSeq, cpSeq, cpEntry, integrityFrom int64
		var stateHash, cpHash []byte
		if err := t.queryRow(`SELECT audit_seq, audit_hash, verified_seq, verified_hash, verified_entry, integrity_from FROM state WHERE id = 1`).
			Scan(&stateSeq, &stateHash, &cpSeq, &cpHash, &cpEntry, &integrityFrom); err != nil {
			return err
		}
		var prev [32]byte
		if !full && cpSeq > 0 {
			if len(cpHash) != 32 || cpEntry <= cpSeq {
				return fmt.Errorf("%w: the checkpoint at entry %d is malformed", seams.ErrAuditTampered, cpSeq)
			}
			var h []byte
			err := t.queryRow(`SELECT hash FROM audit WHERE seq = ?`, cpSeq).Scan(&h)
			if err != nil || !bytes.Equal(h, cpHash) {
				return fmt.Errorf("%w: entry %d is not the one verified at the checkpoint (changed or removed since)", seams.ErrAuditTampered, cpSeq)
			}
			copy(prev[:], cpHash)
			head = seams.AuditHead{Seq: cpSeq, Hash: prev, From: cpSeq}
		}
		rows, err := t.query(`SELECT seq, at_ns, actor, org, action, object, detail, prev, hash FROM audit WHERE seq > ? ORDER BY seq`, head.Seq)
		if err != nil {
			return err
		}
		defer rows.Close()
		checkpointSeen := head.From == 0
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
			if e.Seq == cpEntry && head.From > 0 {
				if e.Action != "audit.checkpoint" || e.Detail != checkpointDetail(cpSeq, cpHash) {
					return fmt.Errorf("%w: the checkpoint at entry %d is not the one entry %d recorded", seams.ErrAuditTampered, cpSeq, e.Seq)
				}
				checkpointSeen = true
			}
			head.Seq, head.Hash = e.Seq, e.Hash
			head.Checked++
			prev = e.Hash
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !checkpointSeen {
			return fmt.Errorf("%w: no entry after entry %d records the checkpoint the store holds", seams.ErrAuditTampered, cpSeq)
		}
		if stateSeq != head.Seq || (head.Seq > 0 && !bytes.Equal(stateHash, head.Hash[:])) {
			return fmt.Errorf("%w: the log ends at entry %d but the store recorded entry %d as its last (entries removed at the end)",
				seams.ErrAuditTampered, head.Seq, stateSeq)
		}
		return t.checkState(integrityFrom)
	})
	if err != nil {
		return head, err
	}
	// The verified head becomes the checkpoint, recorded in the chain
	// itself; a head already checkpointed is left as it is.
	if head.Seq > 0 && head.Seq > head.From+1 {
		err = s.write(ctx, p, seams.RoleAdmin, func(t *tx) error {
			var seq int64
			if err := t.queryRow(`SELECT audit_seq FROM state WHERE id = 1`).Scan(&seq); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE state SET verified_seq = ?, verified_hash = ?, verified_entry = ? WHERE id = 1`, head.Seq, head.Hash[:], seq+1); err != nil {
				return err
			}
			t.record("audit.checkpoint", "audit", checkpointDetail(head.Seq, head.Hash[:]))
			return nil
		})
	}
	return head, err
}

// checkpointDetail is what the entry recording a checkpoint says.
func checkpointDetail(seq int64, hash []byte) string {
	return fmt.Sprintf("entries 1 to %d verify; entry %d has hash %x", seq, seq, hash)
}
