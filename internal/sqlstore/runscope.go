package sqlstore

import (
	"database/sql"
	"errors"
	"strings"

	"github.com/seams-dev/seams"
)

// scopeRuns makes the runs an organisation's principal reads say what
// they did for what it may see: a run matches every organisation's
// reports in one go and stores its totals, and those totals (how many
// reports were scanned, how many findings changed) told every member how
// much the others hold and found. Counts become the changes of findings v
// sees (those Changes lists), Scanned the reports v sees that the run
// matched, and a run made by another organisation's token names no one.
func (t *tx) scopeRuns(v viewer, runs []seams.Run) error {
	if v.all {
		return nil
	}
	for i := range runs {
		r := &runs[i]
		r.Counts = map[seams.ChangeKind]int{}
		rows, err := t.query(`SELECT c.kind, COUNT(*) FROM finding_versions c JOIN findings f ON f.id = c.finding JOIN reports r ON r.seq = f.report
			WHERE c.run = ? AND `+seesFinding+` GROUP BY c.kind`, append([]any{r.ID}, v.args()...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var kind string
			var n int
			if err := rows.Scan(&kind, &n); err != nil {
				rows.Close()
				return err
			}
			r.Counts[seams.ChangeKind(kind)] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// The reports it matched: all those stored by then for a full
		// run, those stored since the run before for an incremental one.
		var after int64
		if !r.Full {
			err := t.queryRow(`SELECT through FROM runs WHERE id < ? ORDER BY id DESC LIMIT 1`, r.ID).Scan(&after)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if err := t.queryRow(`SELECT COUNT(*) FROM reports r WHERE r.seq > ? AND r.seq <= ? AND `+sees("r"),
			append([]any{after, r.Through}, v.args()...)...).Scan(&r.Scanned); err != nil {
			return err
		}
		if tok, ok := strings.CutPrefix(r.By, "token:"); ok {
			id, _, _ := strings.Cut(tok, " ")
			var org int64
			err := t.queryRow(`SELECT org FROM tokens WHERE id = ?`, id).Scan(&org)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if org != v.org {
				r.By = "another organisation"
			}
		}
	}
	return nil
}
