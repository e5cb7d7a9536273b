package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// CommitRun implements seams.Hunter. The changes are written in batches
// of multi-row statements: a retro-hunt over millions of reports may
// change hundreds of thousands of findings, and a statement per change
// would make the commit, not the matching, the slow part of a run.
func (s *Store) CommitRun(ctx context.Context, p seams.Principal, r *seams.RunResult) (seams.Run, error) {
	var run seams.Run
	for i := range r.Changes {
		c := &r.Changes[i]
		if c.Finding == 0 && c.Kind != seams.ChangeNew {
			return run, fmt.Errorf("%w: change %s of a finding never stored", seams.ErrInvalid, c.Kind)
		}
	}
	err := s.write(ctx, p, seams.RoleAnalyst, func(t *tx) error {
		var regVersion, lastRun int64
		if err := t.queryRow(`SELECT registry_version, last_run FROM state WHERE id = 1`).Scan(&regVersion, &lastRun); err != nil {
			return err
		}
		if lastRun != r.Base || regVersion != r.RegistryVersion {
			return fmt.Errorf("%w (last run %d, expected %d; registry version %d, expected %d)", seams.ErrConflict, lastRun, r.Base, regVersion, r.RegistryVersion)
		}
		counts := map[seams.ChangeKind]int{}
		for i := range r.Changes {
			counts[r.Changes[i].Kind]++
		}
		now := s.now().UTC()
		run = seams.Run{Started: r.Started.UTC(), Finished: now, By: p.Actor(), RegistryVersion: r.RegistryVersion, Drift: r.Drift,
			Full: r.Full, Through: r.Through, Scanned: r.Scanned, Counts: counts, Seams: r.Seams, Parameters: r.Parameters,
			OverCorrelated: r.OverCorrelated, AsOf: r.AsOf.UTC()}
		var asOfNS int64 // 0: a run handed no snapshot time (tests' hand-made runs)
		if !r.AsOf.IsZero() {
			asOfNS = r.AsOf.UnixNano()
		}
		build, err := json.Marshal(r.Seams)
		if err != nil {
			return err
		}
		params, err := encodeParameters(r.Parameters)
		if err != nil {
			return err
		}
		if err := t.queryRow(`INSERT INTO runs (started_ns, finished_ns, by_actor, registry_version, drift_ns, full_run, through, scanned,
			n_new, n_upgraded, n_downgraded, n_withdrawn, n_revised, seams, parameters, as_of_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			run.Started.UnixNano(), now.UnixNano(), run.By, run.RegistryVersion, int64(run.Drift), boolInt(run.Full), run.Through, run.Scanned,
			counts[seams.ChangeNew], counts[seams.ChangeUpgraded], counts[seams.ChangeDowngraded], counts[seams.ChangeWithdrawn], counts[seams.ChangeRevised],
			string(build), params, asOfNS).
			Scan(&run.ID); err != nil {
			return err
		}
		for chunk := range slices.Chunk(r.OverCorrelated, insertRows) {
			args := make([]any, 0, 5*len(chunk))
			for _, o := range chunk {
				args = append(args, run.ID, o.Indicator, o.Reports, boolInt(o.Capped), o.Downgraded)
			}
			if _, err := t.exec(`INSERT INTO run_over (run, indicator, reports, capped, downgraded) VALUES `+placeholders(len(chunk), 5), args...); err != nil {
				return fmt.Errorf("over-correlated indicators: %w", err)
			}
		}
		half := len(r.Changes) / 2
		for start := 0; start < len(r.Changes); start += insertRows {
			chunk := r.Changes[start:min(start+insertRows, len(r.Changes))]
			if err := t.applyChanges(run.ID, chunk); err != nil {
				return err
			}
			if start <= half && half < start+len(chunk) {
				failpoint("run.write")
			}
			s.log.Debug("run: changes written", "changes", start+len(chunk), "of", len(r.Changes))
		}
		if _, err := t.exec(`UPDATE state SET last_run = ? WHERE id = 1`, run.ID); err != nil {
			return err
		}
		kind := "incremental"
		if run.Full {
			kind = "full (retro-hunt)"
		}
		t.record("xref.run", fmt.Sprintf("run:%d", run.ID), fmt.Sprintf("%s, %d reports: %d new, %d upgraded, %d downgraded, %d withdrawn, %d revised",
			kind, r.Scanned, counts[seams.ChangeNew], counts[seams.ChangeUpgraded], counts[seams.ChangeDowngraded], counts[seams.ChangeWithdrawn], counts[seams.ChangeRevised]))
		return nil
	})
	if err != nil {
		return seams.Run{}, err
	}
	return run, nil
}

// applyChanges writes a batch of changes: the findings of pairs never
// stored, a new version of each finding, and the finding's current state;
// and moves the summary counts by what the reports changed.
func (t *tx) applyChanges(run int64, cs []seams.FindingChange) error {
	seqs := make([]int64, 0, len(cs))
	for i := range cs {
		seqs = append(seqs, cs[i].Report)
	}
	slices.Sort(seqs)
	return t.summaryAround(slices.Compact(seqs), false, func() error { return t.writeChanges(run, cs) })
}

// writeChanges writes a batch of changes (see applyChanges).
func (t *tx) writeChanges(run int64, cs []seams.FindingChange) error {
	ids := make([]int64, len(cs))
	type pair struct {
		report   int64
		compound string
	}
	var fresh []int
	for i := range cs {
		ids[i] = cs[i].Finding
		if ids[i] == 0 {
			fresh = append(fresh, i)
		}
	}
	if len(fresh) > 0 {
		// A new finding belongs to its report's organisation.
		args := []any{}
		for _, i := range fresh {
			args = append(args, cs[i].Report, cs[i].Compound, run, run)
		}
		rows, err := t.query(`INSERT INTO findings (report, org, compound, tier, version, private, at_ns, digest, first_run, run, mark, comment, reviewed_by)
			SELECT v.column1, r.org, v.column2, 0, 0, 0, NULL, CAST('' AS {{BLOB}}), v.column3, v.column4, '', '', ''
			FROM (VALUES `+castRows(len(fresh), "{{INT}}", "TEXT", "{{INT}}", "{{INT}}")+`) AS v JOIN reports r ON r.seq = v.column1
			RETURNING id, report, compound`, args...)
		if err != nil {
			return fmt.Errorf("new findings: %w", err)
		}
		got := map[pair]int64{}
		for rows.Next() {
			var id int64
			var k pair
			if err := rows.Scan(&id, &k.report, &k.compound); err != nil {
				rows.Close()
				return err
			}
			got[k] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, i := range fresh {
			id, ok := got[pair{cs[i].Report, cs[i].Compound}]
			if !ok {
				return fmt.Errorf("%w: report %d of a new finding is not stored", seams.ErrConflict, cs[i].Report)
			}
			ids[i] = id
		}
	}

	args := make([]any, 0, 10*len(cs))
	for i := range cs {
		c := &cs[i]
		ev, err := EncodeEvidence(c.Evidence)
		if err != nil {
			return err
		}
		args = append(args, ids[i], run, string(c.Kind), int64(c.From), int64(c.To), boolInt(c.Private), nsOrNull(c.At), ev,
			signalBits(c.Signals), encodeCapped(c.Capped))
	}
	rows, err := t.query(`INSERT INTO finding_versions (finding, run, kind, from_tier, tier, private, at_ns, evidence, signals, capped) VALUES `+
		placeholders(len(cs), 10)+` RETURNING id, finding`, args...)
	if err != nil {
		return fmt.Errorf("finding versions: %w", err)
	}
	version := make(map[int64]int64, len(cs))
	for rows.Next() {
		var v, f int64
		if err := rows.Scan(&v, &f); err != nil {
			rows.Close()
			return err
		}
		version[f] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	args = args[:0]
	for i := range cs {
		c := &cs[i]
		v, ok := version[ids[i]]
		if !ok {
			return fmt.Errorf("finding %d: version not written", ids[i])
		}
		args = append(args, ids[i], c.Report, c.Compound, int64(c.To), v, boolInt(c.Private), nsOrNull(c.At), nonNilBytes(c.Digest), run)
	}
	res, err := t.exec(`UPDATE findings SET tier = v.column4, version = v.column5, private = v.column6, at_ns = v.column7, digest = v.column8, run = v.column9
		FROM (VALUES `+castRows(len(cs), "{{INT}}", "{{INT}}", "TEXT", "{{INT}}", "{{INT}}", "{{INT}}", "{{INT}}", "{{BLOB}}", "{{INT}}")+`) AS v
		WHERE findings.id = v.column1 AND findings.report = v.column2 AND findings.compound = v.column3`, args...)
	if err != nil {
		return fmt.Errorf("findings: %w", err)
	}
	if n, _ := res.RowsAffected(); n != int64(len(cs)) {
		return fmt.Errorf("%w: %d of %d findings are not the (report, compound) pairs the run read", seams.ErrConflict, int64(len(cs))-n, len(cs))
	}
	return nil
}

// castRows returns VALUES rows of len(types) placeholders, the first row's
// cast to types: a VALUES list takes its column types from its first row,
// and PostgreSQL would otherwise read every parameter as text.
func castRows(rows int, types ...string) string {
	first := "("
	for i, ty := range types {
		if i > 0 {
			first += ", "
		}
		first += "CAST(? AS " + ty + ")"
	}
	first += ")"
	if rows == 1 {
		return first
	}
	return first + ", " + placeholders(rows-1, len(types))
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// runs reads the runs selected by where, with their over-correlated
// indicators: those v may see (every one for the zero viewer of a
// snapshot, which passes all).
func (t *tx) runs(v viewer, where string, args ...any) ([]seams.Run, error) {
	rows, err := t.query(`SELECT id, started_ns, finished_ns, by_actor, registry_version, drift_ns, full_run, through, scanned,
		n_new, n_upgraded, n_downgraded, n_withdrawn, n_revised, seams, parameters, as_of_ns FROM runs `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []seams.Run
	for rows.Next() {
		var r seams.Run
		var started, finished sql.NullInt64
		var drift, full int64
		var n [5]int
		var build, params string
		var asOf int64
		if err := rows.Scan(&r.ID, &started, &finished, &r.By, &r.RegistryVersion, &drift, &full, &r.Through, &r.Scanned,
			&n[0], &n[1], &n[2], &n[3], &n[4], &build, &params, &asOf); err != nil {
			rows.Close()
			return nil, err
		}
		if asOf != 0 {
			r.AsOf = time.Unix(0, asOf).UTC()
		}
		r.Started, r.Finished, r.Drift, r.Full = timeOf(started), timeOf(finished), time.Duration(drift), full == 1
		r.Counts = map[seams.ChangeKind]int{}
		for i, k := range seams.ChangeKinds {
			if n[i] > 0 {
				r.Counts[k] = n[i]
			}
		}
		if build != "" {
			if err := json.Unmarshal([]byte(build), &r.Seams); err != nil {
				rows.Close()
				return nil, fmt.Errorf("run %d: seams: %w", r.ID, err)
			}
		}
		if r.Parameters, err = decodeParameters(params, r.Drift); err != nil {
			rows.Close()
			return nil, fmt.Errorf("run %d: %w", r.ID, err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].OverCorrelated, err = t.runOver(v, out[i].ID); err != nil {
			return nil, err
		}
	}
	if err := t.scopeRuns(v, out); err != nil {
		return nil, err
	}
	return out, nil
}

// runOver reads the over-correlated indicators of a run that v may see,
// as the summary lists them: most reports first, then by indicator.
func (t *tx) runOver(v viewer, run int64) ([]seams.RunOverCorrelated, error) {
	rows, err := t.query(`SELECT o.indicator, o.reports, o.capped, o.downgraded, i.compound, i.kind, i.value
		FROM run_over o JOIN indicators i ON i.id = o.indicator
		WHERE o.run = ? AND `+sees("i")+` ORDER BY o.reports DESC, o.indicator`, append([]any{run}, v.args()...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seams.RunOverCorrelated
	for rows.Next() {
		var o seams.RunOverCorrelated
		var capped, kind int64
		if err := rows.Scan(&o.Indicator, &o.Reports, &capped, &o.Downgraded, &o.Compound, &kind, &o.Value); err != nil {
			return nil, err
		}
		o.Capped, o.Kind = capped == 1, seams.Kind(kind).String()
		out = append(out, o)
	}
	return out, rows.Err()
}

// encodeParameters encodes the parameters of a run as stored.
func encodeParameters(p seams.StoreRunParameters) (string, error) {
	// Empty lists are written as [], not null: the JSON says "none".
	if p.LiftCap == nil {
		p.LiftCap = []string{}
	}
	if p.SharedASN == nil {
		p.SharedASN = []uint32{}
	}
	if p.SharedPresets == nil {
		p.SharedPresets = []string{}
	}
	if p.Databases == nil {
		p.Databases = []seams.DatabaseInfo{}
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// decodeParameters decodes the parameters of a run. A run stored before
// schema version 5 (an empty string) applied no cap and no enrichment: its parameters
// are its drift alone.
func decodeParameters(s string, drift time.Duration) (seams.StoreRunParameters, error) {
	p := seams.StoreRunParameters{Drift: drift.String(), LiftCap: []string{}, SharedASN: []uint32{}, SharedPresets: []string{}, Databases: []seams.DatabaseInfo{}}
	if s == "" {
		return p, nil
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		return p, fmt.Errorf("parameters: %w", err)
	}
	if p.MaxReportsPerIndicator < 0 {
		return p, fmt.Errorf("parameters: max_reports_per_indicator %d", p.MaxReportsPerIndicator)
	}
	if err := p.Decay.OrDefault().Validate(); err != nil {
		return p, fmt.Errorf("parameters: %w", err)
	}
	return p, nil
}

// signalBits is how finding_versions.signals keeps signals.
func signalBits(s seams.Signals) int64 {
	var b int64
	if s.CrossBorder {
		b |= 1
	}
	if s.ForeignASN {
		b |= 2
	}
	return b
}

func signalsOf(b int64) (seams.Signals, error) {
	if b&^3 != 0 {
		return seams.Signals{}, fmt.Errorf("signals %d: unknown bits", b)
	}
	return seams.Signals{CrossBorder: b&1 != 0, ForeignASN: b&2 != 0}, nil
}

// encodeCapped is how finding_versions.capped keeps the indicator
// versions that capped a finding: empty for none, else a JSON array of ids.
func encodeCapped(ids []int64) string {
	if len(ids) == 0 {
		return ""
	}
	b, _ := json.Marshal(ids) // integers: cannot fail
	return string(b)
}

// DecodeCapped decodes finding_versions.capped, checking it (the database
// is input like any other).
func DecodeCapped(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	var ids []int64
	if err := json.Unmarshal([]byte(s), &ids); err != nil {
		return nil, fmt.Errorf("capped: %w", err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("capped: an empty list is written as nothing")
	}
	for _, id := range ids {
		if id <= 0 {
			return nil, fmt.Errorf("capped: indicator %d", id)
		}
	}
	return ids, nil
}

// Runs implements seams.FindingStore. Runs say how many findings changed,
// over every organisation: counts, not findings.
func (s *Store) Runs(ctx context.Context, p seams.Principal, n int) ([]seams.Run, error) {
	n = limit(n, 100, 1000)
	var out []seams.Run
	err := s.read(ctx, p, func(t *tx, v viewer) (err error) {
		out, err = t.runs(v, `ORDER BY id DESC LIMIT ?`, n)
		return err
	})
	return out, err
}

// Changes implements seams.FindingStore.
func (s *Store) Changes(ctx context.Context, p seams.Principal, q seams.ChangeQuery) (seams.ChangePage, error) {
	var page seams.ChangePage
	after, err := parseCursor("c", q.Cursor)
	if err != nil {
		return page, err
	}
	n := limit(q.Limit, 100, 1000)
	err = s.read(ctx, p, func(t *tx, v viewer) error {
		where := `WHERE c.run = ? AND c.finding > ? AND ` + seesFinding
		args := append([]any{q.Run, after}, v.args()...)
		if q.Kind != "" {
			where += ` AND c.kind = ?`
			args = append(args, string(q.Kind))
		}
		args = append(args, n+1)
		rows, err := t.query(`SELECT c.run, c.finding, r.rid, f.compound, c.kind, c.from_tier, c.tier, c.id
			FROM finding_versions c JOIN findings f ON f.id = c.finding JOIN reports r ON r.seq = f.report
			`+where+` ORDER BY c.finding LIMIT ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c seams.Change
			var kind string
			var from, to int64
			if err := rows.Scan(&c.Run, &c.Finding, &c.Report, &c.Compound, &kind, &from, &to, &c.Version); err != nil {
				return err
			}
			c.Kind, c.From, c.To = seams.ChangeKind(kind), seams.Tier(from), seams.Tier(to)
			page.Changes = append(page.Changes, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(page.Changes) > n {
			page.Changes = page.Changes[:n]
			page.Next = cursorOf("c", page.Changes[n-1].Finding)
		}
		t.record("changes.read", fmt.Sprintf("run:%d", q.Run), fmt.Sprintf("%d changes", len(page.Changes)))
		return nil
	})
	return page, err
}
