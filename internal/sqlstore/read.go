package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

const indicatorColumns = `i.id, o.name, i.file, i.shared, i.compound, i.kind, i.value, i.first_ns, i.last_ns, i.confidence, i.source, i.line,
	i.version, i.file_version, i.added_by, i.added_ns, i.retired_ns, i.drift_ns`

const indicatorFrom = ` FROM indicators i JOIN orgs o ON o.id = i.org `

func scanIndicator(rows *sql.Rows) (seams.StoredIndicator, error) {
	var si seams.StoredIndicator
	var shared, kind int64
	var first, last, added, retired, drift sql.NullInt64
	var conf sql.NullFloat64
	var value string
	if err := rows.Scan(&si.ID, &si.Org, &si.File, &shared, &si.Compound, &kind, &value, &first, &last, &conf, &si.Source, &si.Line,
		&si.Version, &si.FileVersion, &si.AddedBy, &added, &retired, &drift); err != nil {
		return si, err
	}
	// The database is input like any other: the value is parsed again.
	in, err := seams.ParseIndicatorValue(seams.Kind(kind), value)
	if err != nil {
		return si, fmt.Errorf("indicator %d: %w", si.ID, err)
	}
	in.Compound, in.Source, in.File, in.Line = si.Compound, si.Source, si.File, si.Line
	if in.Window, err = seams.NewWindow(timeOf(first), timeOf(last)); err != nil {
		return si, fmt.Errorf("indicator %d: %w", si.ID, err)
	}
	in.Confidence, in.HasConfidence = conf.Float64, conf.Valid
	if drift.Valid {
		if drift.Int64 < 0 {
			return si, fmt.Errorf("indicator %d: negative drift bound %d ns", si.ID, drift.Int64)
		}
		in.Drift, in.HasDrift = time.Duration(drift.Int64), true
	}
	si.Indicator = in
	si.Shared = shared == 1
	si.Added, si.Retired = timeOf(added), timeOf(retired)
	return si, nil
}

// indicators reads the indicator versions selected by where.
func (t *tx) indicators(where string, args ...any) ([]seams.StoredIndicator, error) {
	rows, err := t.query(`SELECT `+indicatorColumns+indicatorFrom+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seams.StoredIndicator
	for rows.Next() {
		si, err := scanIndicator(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, si)
	}
	return out, rows.Err()
}

// indicatorsByID reads the indicator versions of ids visible to v, by id.
func (t *tx) indicatorsByID(v viewer, ids []int64) ([]seams.StoredIndicator, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []seams.StoredIndicator
	for chunk := range slices.Chunk(ids, insertRows) {
		args := v.args()
		for _, id := range chunk {
			args = append(args, id)
		}
		page, err := t.indicators(`WHERE `+sees("i")+` AND i.id IN (`+inList(len(chunk))+`) ORDER BY i.id`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// Indicators implements seams.Reader.
func (s *Store) Indicators(ctx context.Context, p seams.Principal, q seams.IndicatorQuery) (seams.IndicatorPage, error) {
	var page seams.IndicatorPage
	after, err := parseCursor("i", q.Cursor)
	if err != nil {
		return page, err
	}
	n := limit(q.Limit, 1000, 10000)
	err = s.read(ctx, p, func(t *tx, v viewer) error {
		if len(q.IDs) > 0 {
			var err error
			if page.Indicators, err = t.indicatorsByID(v, q.IDs); err != nil {
				return err
			}
			return t.score(nil, page.Indicators)
		}
		where := `WHERE ` + sees("i") + ` AND i.id > ?`
		args := append(v.args(), after)
		add := func(cond string, a any) {
			where += " AND " + cond
			args = append(args, a)
		}
		if !q.Retired {
			where += ` AND i.retired_ns IS NULL`
		}
		if q.Compound != "" {
			add(`i.compound = ?`, q.Compound)
		}
		if q.Kind != 0 {
			add(`i.kind = ?`, int64(q.Kind))
		}
		if q.File != "" {
			add(`i.file = ?`, q.File)
		}
		if q.Org != "" {
			add(`o.name = ?`, q.Org)
		}
		args = append(args, n+1)
		list, err := t.indicators(where+` ORDER BY i.id LIMIT ?`, args...)
		if err != nil {
			return err
		}
		if len(list) > n {
			list = list[:n]
			page.Next = cursorOf("i", list[n-1].ID)
		}
		page.Indicators = list
		return t.score(nil, page.Indicators)
	})
	return page, err
}

// IndicatorFiles implements seams.Reader.
func (s *Store) IndicatorFiles(ctx context.Context, p seams.Principal) ([]seams.IndicatorFileVersion, error) {
	var out []seams.IndicatorFileVersion
	err := s.read(ctx, p, func(t *tx, v viewer) error {
		rows, err := t.query(`SELECT o.name, f.name, f.version, f.shared, f.sha256, f.indicators, f.added, f.retired, f.loaded_by, f.loaded_ns
			FROM indicator_files f JOIN orgs o ON o.id = f.org
			WHERE `+sees("f")+` ORDER BY o.name, f.name, f.version`, v.args()...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f seams.IndicatorFileVersion
			var shared, loaded int64
			var sha []byte
			if err := rows.Scan(&f.Org, &f.Name, &f.Version, &shared, &sha, &f.Indicators, &f.Added, &f.Retired, &f.LoadedBy, &loaded); err != nil {
				return err
			}
			f.Shared, f.Loaded = shared == 1, time.Unix(0, loaded).UTC()
			copy(f.SHA256[:], sha)
			out = append(out, f)
		}
		return rows.Err()
	})
	return out, err
}

const reportColumns = `r.seq, o.name, r.rid, r.shared, r.received_ns, r.incident, r.source, r.file, r.line, r.loaded_by, r.loaded_ns`

// Reports implements seams.Reader.
func (s *Store) Reports(ctx context.Context, p seams.Principal, q seams.ReportQuery) (seams.ReportPage, error) {
	var page seams.ReportPage
	after, err := parseCursor("r", q.Cursor)
	if err != nil {
		return page, err
	}
	n := limit(q.Limit, 100, 1000)
	err = s.read(ctx, p, func(t *tx, v viewer) error {
		where := `WHERE ` + sees("r") + ` AND r.seq > ?`
		args := append(v.args(), after)
		add := func(cond string, a any) {
			where += " AND " + cond
			args = append(args, a)
		}
		if len(q.IDs) > 0 {
			if len(q.IDs) > 1000 {
				return fmt.Errorf("%w: more than 1000 report ids", seams.ErrInvalid)
			}
			where += ` AND r.rid IN (` + inList(len(q.IDs)) + `)`
			for _, id := range q.IDs {
				args = append(args, id)
			}
		}
		if q.Incident != "" {
			add(`r.incident = ?`, q.Incident)
		}
		if q.File != "" {
			add(`r.file = ?`, q.File)
		}
		if !q.From.IsZero() {
			add(`r.received_ns >= ?`, q.From.UnixNano())
		}
		if !q.To.IsZero() {
			add(`r.received_ns < ?`, q.To.UnixNano())
		}
		args = append(args, n+1)
		list, err := t.reportPage(where+` ORDER BY r.seq LIMIT ?`, args, false)
		if err != nil {
			return err
		}
		if len(list) > n {
			list = list[:n]
			page.Next = cursorOf("r", list[n-1].Seq)
		}
		page.Reports = list
		t.record("reports.read", "reports", fmt.Sprintf("%d reports", len(list)))
		return nil
	})
	return page, err
}

// reportPage reads the reports selected by where (over reports r), with
// their events and devices, in Seq order. When contiguous is set, the
// page is every report in its range of seq, so events are read by range
// rather than by list.
func (t *tx) reportPage(where string, args []any, contiguous bool) ([]seams.StoredReport, error) {
	rows, err := t.query(`SELECT `+reportColumns+` FROM reports r JOIN orgs o ON o.id = r.org `+where, args...)
	if err != nil {
		return nil, err
	}
	var page []seams.StoredReport
	for rows.Next() {
		var r seams.StoredReport
		var shared int64
		var received, loaded sql.NullInt64
		if err := rows.Scan(&r.Seq, &r.Org, &r.ID, &shared, &received, &r.Incident, &r.Source, &r.File, &r.Line, &r.LoadedBy, &loaded); err != nil {
			rows.Close()
			return nil, err
		}
		r.Shared = shared == 1
		r.Received, r.Loaded = timeOf(received), timeOf(loaded)
		page = append(page, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(page) == 0 {
		return page, err
	}
	slices.SortFunc(page, func(a, b seams.StoredReport) int { return cmpInt(a.Seq, b.Seq) })
	at := make(map[int64]int, len(page))
	for i := range page {
		at[page[i].Seq] = i
	}
	var cond string
	var cargs []any
	if contiguous {
		cond = `report >= ? AND report <= ?`
		cargs = []any{page[0].Seq, page[len(page)-1].Seq}
	} else {
		cond = `report IN (` + inList(len(page)) + `)`
		for _, r := range page {
			cargs = append(cargs, r.Seq)
		}
	}
	rows, err = t.query(`SELECT report, addr, at_ns, event, port, proxy, associated FROM report_ips WHERE `+cond+` ORDER BY report, n`, cargs...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var seq, port, proxy, assoc int64
		var atNS sql.NullInt64 // NULL for an event without a time
		var addr []byte
		var e seams.IPEvent
		if err := rows.Scan(&seq, &addr, &atNS, &e.Event, &port, &proxy, &assoc); err != nil {
			rows.Close()
			return nil, err
		}
		if e.Addr, err = addrOf(addr); err != nil {
			rows.Close()
			return nil, fmt.Errorf("report %d: %w", seq, err)
		}
		e.At, e.Port, e.Proxy, e.Associated = timeOf(atNS), int(port), proxy == 1, assoc == 1
		if i, ok := at[seq]; ok {
			page[i].IPs = append(page[i].IPs, e)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = t.query(`SELECT report, type, value, at_ns, associated FROM report_devices WHERE `+cond+` ORDER BY report, n`, cargs...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var seq, assoc int64
		var d seams.Device
		var atNS sql.NullInt64
		if err := rows.Scan(&seq, &d.ID.Type, &d.ID.Value, &atNS, &assoc); err != nil {
			rows.Close()
			return nil, err
		}
		d.At, d.Associated = timeOf(atNS), assoc == 1
		if i, ok := at[seq]; ok {
			page[i].Devices = append(page[i].Devices, d)
		}
	}
	rows.Close()
	return page, rows.Err()
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// snapshot implements seams.Snapshot over one read transaction.
type snapshot struct {
	s     *Store
	tx    *sql.Tx
	state seams.StoreState
}

// snapshotPage is how many reports a snapshot reads at a time.
const snapshotPage = 4000

// Snapshot implements seams.Hunter.
func (s *Store) Snapshot(ctx context.Context) (seams.Snapshot, error) {
	sqltx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.d.Dollar, Isolation: s.readIsolation()})
	if err != nil {
		return nil, err
	}
	sn := &snapshot{s: s, tx: sqltx}
	t := sn.t(ctx)
	var lastRun, recorded int64
	if err := t.queryRow(`SELECT registry_version, last_run, recorded_ns FROM state WHERE id = 1`).Scan(&sn.state.RegistryVersion, &lastRun, &recorded); err != nil {
		sqltx.Rollback()
		return nil, err
	}
	sn.state.Recorded = time.Unix(0, recorded).UTC()
	if err := t.queryRow(`SELECT COALESCE(MAX(seq), 0) FROM reports`).Scan(&sn.state.MaxReport); err != nil {
		sqltx.Rollback()
		return nil, err
	}
	if lastRun > 0 {
		runs, err := t.runs(viewer{all: true}, `WHERE id = ?`, lastRun)
		if err != nil || len(runs) != 1 {
			sqltx.Rollback()
			return nil, fmt.Errorf("last run %d: %v", lastRun, err)
		}
		sn.state.LastRun = &runs[0]
	}
	return sn, nil
}

func (sn *snapshot) t(ctx context.Context) *tx { return &tx{s: sn.s, tx: sn.tx, ctx: ctx} }

func (sn *snapshot) State() seams.StoreState { return sn.state }

func (sn *snapshot) Close() error {
	if err := sn.tx.Rollback(); err != nil && err != sql.ErrTxDone {
		return err
	}
	return nil
}

func (sn *snapshot) Registry(ctx context.Context) (*seams.StoredRegistry, error) {
	t := sn.t(ctx)
	reg := &seams.StoredRegistry{}
	m, err := t.compounds()
	if err != nil {
		return nil, err
	}
	for _, c := range m {
		reg.Compounds = append(reg.Compounds, c)
	}
	slices.SortFunc(reg.Compounds, func(a, b seams.Compound) int { return strings.Compare(a.ID, b.ID) })
	if reg.Indicators, err = t.indicators(`WHERE i.retired_ns IS NULL ORDER BY i.id`); err != nil {
		return nil, err
	}
	reg.SharedLists, err = t.sharedLists(0)
	return reg, err
}

// sharedLists reads the active shared-space lists: the coalition set
// first, then by owner and name, prefixes and ASes sorted.
func (t *tx) sharedLists(asOf int64) ([]seams.StoredSharedList, error) {
	// The rows active now, or (asOf > 0) those recorded by asOf and not
	// retired by then (a list's scope is its scope now: a change of scope
	// is not versioned).
	active, args := `retired_ns IS NULL`, []any(nil)
	if asOf > 0 {
		active, args = `recorded_ns <= ? AND (retired_ns IS NULL OR retired_ns > ?)`, []any{asOf, asOf}
	}
	type key struct {
		org  int64
		name string
	}
	lists := map[key]*seams.StoredSharedList{}
	var keys []key
	names := map[int64]string{0: ""}
	get := func(org int64, name string, scope int64) *seams.StoredSharedList {
		k := key{org, name}
		l, ok := lists[k]
		if !ok {
			l = &seams.StoredSharedList{Org: names[org], Name: name}
			lists[k] = l
			keys = append(keys, k)
		}
		// Every active row of a list has its scope (a load sets them
		// all); the widest wins should they differ.
		l.Scope = max(l.Scope, seams.SharedScope(scope))
		return l
	}
	rows, err := t.query(`SELECT id, name FROM orgs`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, err
		}
		names[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = t.query(`SELECT org, file, scope, prefix FROM shared_space WHERE `+active+` ORDER BY org, file, prefix`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var org, scope int64
		var file, s string
		if err := rows.Scan(&org, &file, &scope, &s); err != nil {
			rows.Close()
			return nil, err
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("shared space %q: %w", file, err)
		}
		l := get(org, file, scope)
		l.Prefixes = append(l.Prefixes, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = t.query(`SELECT org, file, scope, asn FROM shared_asn WHERE `+active+` ORDER BY org, file, asn`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var org, scope, asn int64
		var file string
		if err := rows.Scan(&org, &file, &scope, &asn); err != nil {
			rows.Close()
			return nil, err
		}
		if asn < 0 || asn > math.MaxUint32 {
			rows.Close()
			return nil, fmt.Errorf("shared space %q: AS number %d out of range", file, asn)
		}
		l := get(org, file, scope)
		l.ASNs = append(l.ASNs, uint32(asn))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.org != b.org {
			if a.org == 0 || b.org == 0 {
				return cmp.Compare(a.org, b.org)
			}
			return strings.Compare(names[a.org], names[b.org])
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]seams.StoredSharedList, 0, len(keys))
	for _, k := range keys {
		l := lists[k]
		slices.SortFunc(l.Prefixes, func(a, b netip.Prefix) int {
			if c := a.Addr().Compare(b.Addr()); c != 0 {
				return c
			}
			return cmp.Compare(a.Bits(), b.Bits())
		})
		out = append(out, *l)
	}
	return out, nil
}

func (sn *snapshot) Reports(ctx context.Context, after int64) iter.Seq2[*seams.SnapshotReport, error] {
	return func(yield func(*seams.SnapshotReport, error) bool) {
		t := sn.t(ctx)
		var out seams.SnapshotReport
		for {
			page, err := t.reportPage(`WHERE r.seq > ? AND r.seq <= ? ORDER BY r.seq LIMIT ?`, []any{after, sn.state.MaxReport, snapshotPage}, true)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page) == 0 {
				return
			}
			found, err := t.currentFindings(page[0].Seq, page[len(page)-1].Seq)
			if err != nil {
				yield(nil, err)
				return
			}
			k := 0
			for i := range page {
				out.StoredReport = page[i]
				j := k
				for j < len(found) && found[j].Report == page[i].Seq {
					j++
				}
				out.Findings = found[k:j:j]
				k = j
				if !yield(&out, nil) {
					return
				}
			}
			after = page[len(page)-1].Seq
		}
	}
}

// FindingRefs implements seams.Snapshot.
func (sn *snapshot) FindingRefs(ctx context.Context, through int64) iter.Seq2[*seams.FindingRefs, error] {
	return func(yield func(*seams.FindingRefs, error) bool) {
		t := sn.t(ctx)
		rows, err := t.query(`SELECT f.id, f.report, v.evidence, v.capped FROM findings f JOIN finding_versions v ON v.id = f.version
			WHERE f.tier > 0 AND f.report <= ?`, through)
		if err != nil {
			yield(nil, err)
			return
		}
		defer rows.Close()
		var out seams.FindingRefs
		// Only the indicators of the evidence are wanted: decoding them
		// alone skips parsing addresses and times.
		var ev []struct {
			Indicator int64 `json:"indicator"`
		}
		var text, capped string
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id, &out.Report, &text, &capped); err != nil {
				yield(nil, err)
				return
			}
			ev = ev[:0]
			if err := json.Unmarshal([]byte(text), &ev); err != nil {
				yield(nil, fmt.Errorf("finding %d: evidence: %w", id, err))
				return
			}
			out.Indicators = out.Indicators[:0]
			for _, e := range ev {
				out.Indicators = append(out.Indicators, e.Indicator)
			}
			if out.Capped, err = DecodeCapped(capped); err != nil {
				yield(nil, fmt.Errorf("finding %d: %w", id, err))
				return
			}
			if !yield(&out, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// currentFindings reads the stored findings of the reports with seq in
// [from, to], by report and then compound (bytewise, in both engines).
func (t *tx) currentFindings(from, to int64) ([]seams.CurrentFinding, error) {
	rows, err := t.query(`SELECT id, report, compound, tier, digest FROM findings WHERE report >= ? AND report <= ? ORDER BY report, compound`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seams.CurrentFinding
	for rows.Next() {
		var f seams.CurrentFinding
		var tier int64
		if err := rows.Scan(&f.ID, &f.Report, &f.Compound, &tier, &f.Digest); err != nil {
			return nil, err
		}
		f.Tier = seams.Tier(tier)
		out = append(out, f)
	}
	return out, rows.Err()
}
