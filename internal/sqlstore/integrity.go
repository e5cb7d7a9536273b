package sqlstore

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/seams-dev/seams"
)

// The state of audited objects. Every change of a review mark, an
// indicator file, a shared-space list or the compounds ends its audit
// entry with "; state HEX": a digest of what the object holds after the
// change. VerifyAudit recomputes the digest of each object's current rows
// and compares it with the one the chain recorded last, so that a row
// edited in the database without the store (a review mark turned from
// confirmed to dismissed, with a forged comment) is found even though the
// chain itself still verifies.

// stateHash builds a state digest from length-prefixed fields, so that no
// two different rows hash alike by moving bytes between fields.
type stateHash struct{ b []byte }

func (h *stateHash) str(s string) {
	h.b = binary.BigEndian.AppendUint32(h.b, uint32(len(s)))
	h.b = append(h.b, s...)
}

func (h *stateHash) num(n int64) { h.b = binary.BigEndian.AppendUint64(h.b, uint64(n)) }

func (h *stateHash) sum() string {
	d := sha256.Sum256(h.b)
	return "state " + hex.EncodeToString(d[:16])
}

// stateOf returns the state a detail recorded ("" for none).
func stateOf(detail string) string {
	i := strings.LastIndex(detail, "state ")
	if i < 0 || len(detail)-i != len("state ")+32 {
		return ""
	}
	return detail[i:]
}

// reviewState is the state of a finding's review.
func reviewState(mark, comment, by string, at sql.NullInt64, version sql.NullInt64) string {
	var h stateHash
	h.str("review")
	h.str(mark)
	h.str(comment)
	h.str(by)
	h.num(at.Int64)
	h.num(version.Int64)
	return h.sum()
}

// reviewObject names a finding in the audit log.
func reviewObject(id int64) string { return fmt.Sprintf("finding:%d", id) }

// compoundsState is the state of every compound, with its owner.
func (t *tx) compoundsState() (string, error) {
	rows, err := t.query(`SELECT id, name, aliases, country, province, lat, lon, status, org FROM compounds ORDER BY id`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var h stateHash
	h.str("compounds")
	for rows.Next() {
		var id, name, aliases, country, province, status string
		var lat, lon sql.NullFloat64
		var org int64
		if err := rows.Scan(&id, &name, &aliases, &country, &province, &lat, &lon, &status, &org); err != nil {
			return "", err
		}
		for _, s := range []string{id, name, aliases, country, province, status} {
			h.str(s)
		}
		for _, f := range []sql.NullFloat64{lat, lon} {
			if f.Valid {
				h.num(int64(math.Float64bits(f.Float64)))
			} else {
				h.num(-1)
			}
		}
		h.num(org)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return h.sum(), nil
}

// sharedState is the state of a shared-space list: its active prefixes
// and ASes with their scope.
func (t *tx) sharedState(owner int64, name string) (string, error) {
	var h stateHash
	h.str("shared")
	for _, q := range []string{
		`SELECT prefix, scope FROM shared_space WHERE org = ? AND file = ? AND retired_ns IS NULL ORDER BY prefix, id`,
		`SELECT CAST(asn AS TEXT), scope FROM shared_asn WHERE org = ? AND file = ? AND retired_ns IS NULL ORDER BY asn, id`,
	} {
		rows, err := t.query(q, owner, name)
		if err != nil {
			return "", err
		}
		h.str("|")
		for rows.Next() {
			var v string
			var scope int64
			if err := rows.Scan(&v, &scope); err != nil {
				rows.Close()
				return "", err
			}
			h.str(v)
			h.num(scope)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", err
		}
	}
	return h.sum(), nil
}

// indicatorsState is the state of an indicator file of an organisation:
// its versions and every indicator version it ever had, retired or not.
func (t *tx) indicatorsState(org int64, name string) (string, error) {
	var h stateHash
	h.str("indicators")
	rows, err := t.query(`SELECT version, shared, sha256, indicators FROM indicator_files WHERE org = ? AND name = ? ORDER BY version`, org, name)
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var version, shared, n int64
		var sum []byte
		if err := rows.Scan(&version, &shared, &sum, &n); err != nil {
			rows.Close()
			return "", err
		}
		h.num(version)
		h.num(shared)
		h.str(string(sum))
		h.num(n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	rows, err = t.query(`SELECT id, digest, shared, version, file_version, retired_ns FROM indicators WHERE org = ? AND file = ? ORDER BY id`, org, name)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var id, shared, version, fileVersion int64
		var digest []byte
		var retired sql.NullInt64
		if err := rows.Scan(&id, &digest, &shared, &version, &fileVersion, &retired); err != nil {
			return "", err
		}
		h.num(id)
		h.str(string(digest))
		h.num(shared)
		h.num(version)
		h.num(fileVersion)
		h.num(retired.Int64)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return h.sum(), nil
}

// checkState compares the current state of every audited object with what
// the chain recorded last, from entry from on (entries before the
// store kept states record none). It returns an error wrapping
// seams.ErrAuditTampered that names the first object that differs.
func (t *tx) checkState(from int64) error {
	// Entries name an indicator file "file:NAME" and a shared-space list
	// "shared:NAME" under the organisation that acted (the owner), the
	// coalition set "coalition:NAME".
	type rec struct {
		seq   int64
		state string
		kind  string // indicators, shared, coalition
		org   string
		name  string
	}
	last := map[string]rec{}
	reviewed := map[string]bool{} // findings with any review entry, states or not
	rows, err := t.query(`SELECT seq, org, action, object, detail FROM audit
		WHERE action IN ('finding.review', 'indicators.load', 'indicators.share', 'shared.load', 'shared.global', 'compounds.load') ORDER BY seq`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var seq int64
		var org, action, object, detail string
		if err := rows.Scan(&seq, &org, &action, &object, &detail); err != nil {
			rows.Close()
			return err
		}
		r := rec{seq: seq, state: stateOf(detail), org: org}
		key := object
		switch action {
		case "finding.review":
			reviewed[object] = true
		case "compounds.load":
			key = "compounds"
		case "indicators.load", "indicators.share":
			r.kind, r.name = "indicators", strings.TrimPrefix(object, "file:")
		default:
			kind, name, _ := strings.Cut(object, ":")
			r.kind, r.name = kind, name
			if kind == "coalition" {
				r.org = ""
			}
		}
		if r.kind != "" {
			key = r.kind + "\x00" + r.org + "\x00" + r.name
		}
		if r.state != "" && seq >= from {
			last[key] = r
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	differs := func(object, now, what string) error {
		r, ok := last[object]
		if !ok || r.state == now {
			return nil
		}
		return fmt.Errorf("%w: %s is not what audit entry %d recorded (changed without the store)", seams.ErrAuditTampered, what, r.seq)
	}

	// Review marks: every reviewed finding's row against its last entry;
	// a mark no entry ever recorded was set without the store.
	rows, err = t.query(`SELECT id, mark, comment, reviewed_by, reviewed_ns, reviewed_version FROM findings WHERE mark <> '' OR reviewed_ns IS NOT NULL ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var mark, comment string
		var by sql.NullString
		var at, version sql.NullInt64
		if err := rows.Scan(&id, &mark, &comment, &by, &at, &version); err != nil {
			rows.Close()
			return err
		}
		obj := reviewObject(id)
		if mark != "" && !reviewed[obj] {
			rows.Close()
			return fmt.Errorf("%w: finding %d is marked %s but no audit entry records a review of it", seams.ErrAuditTampered, id, strconv.Quote(mark))
		}
		if err := differs(obj, reviewState(mark, comment, by.String, at, version), fmt.Sprintf("the review of finding %d", id)); err != nil {
			rows.Close()
			return err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	if _, ok := last["compounds"]; ok {
		now, err := t.compoundsState()
		if err != nil {
			return err
		}
		if err := differs("compounds", now, "the compounds"); err != nil {
			return err
		}
	}

	// Indicator files and shared-space lists recorded since states are
	// kept: each one's rows now.
	orgs := map[string]int64{"": 0}
	rows, err = t.query(`SELECT id, name FROM orgs`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		orgs[name] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for key, r := range last {
		if r.kind == "" {
			continue
		}
		id, known := orgs[r.org]
		if !known {
			return fmt.Errorf("%w: audit entry %d names organisation %q, which the store does not hold", seams.ErrAuditTampered, r.seq, r.org)
		}
		var now, what string
		var err error
		switch r.kind {
		case "indicators":
			now, err = t.indicatorsState(id, r.name)
			what = fmt.Sprintf("indicator file %q of %s", r.name, r.org)
		case "shared":
			now, err = t.sharedState(id, r.name)
			what = fmt.Sprintf("shared-space list %q of %s", r.name, r.org)
		default:
			now, err = t.sharedState(0, r.name)
			what = fmt.Sprintf("coalition shared-space list %q", r.name)
		}
		if err != nil {
			return err
		}
		if err := differs(key, now, what); err != nil {
			return err
		}
	}
	return nil
}
