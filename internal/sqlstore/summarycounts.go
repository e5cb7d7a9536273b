package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// The counts of the overview (Summary, CompoundStats) are kept in three
// tables (schemaSummaryCounts) by the transactions that change what they
// count: a run's changes, a review, a load of reports, a change of
// sharing. A request then sums a few hundred rows instead of scanning
// every finding (3 s a request at a million findings, and 4 clients queued
// on the two cores). What each report contributes is worked out by one
// function (addReport) from the report's current findings; a change
// subtracts a report's contribution as it was and adds it as it is
// (summaryAround), and a recount (recountSummary) adds every report's, so
// the maintained counts and a recount cannot count differently.
//
// Visibility is the reason for the scopes: an organisation sees every
// finding of its own reports (scope 0), another sees the findings of its
// shared reports made of shared indicators only (scope 1, kept for shared
// reports alone). A principal's counts are its own scope-0 rows plus every
// other organisation's scope-1 rows; the operator's, every scope-0 row.
// Counts of distinct reports (tied, potential, by country, by AS) are
// per report and scope, so that a report whose findings one viewer sees
// only in part counts as that viewer would count it.
const (
	scopeOwn    = 0
	scopeShared = 1
)

// summaryFindingKey is a row of summary_findings: findings of one
// organisation's reports, in one scope, of one compound and month of
// their earliest observation ("" with none).
type summaryFindingKey struct {
	org, scope      int64
	compound, month string
}

type summaryFindingCounts struct {
	tied, potential, confirmed, dismissed, unreviewed, stale, crossBorder, foreignASN int64
}

// summaryReportKey is a row of summary_reports: distinct reports by kind
// ("tier" with key "", "country", "asn"), over every compound
// (compound "") or, for "asn", of one compound too.
type summaryReportKey struct {
	org, scope          int64
	kind, compound, key string
}

type summaryReportCounts struct {
	tied, potential int64 // potential: potential there and not tied there
	label           string
}

// summaryStoredKey is a row of summary_stored: the reports of an
// organisation, shared or not, with their events and devices.
type summaryStoredKey struct{ org, shared int64 }

type summaryStoredCounts struct{ reports, events, devices int64 }

// summaryDelta is a set of changes to the three tables (or, for a
// recount, their whole content).
type summaryDelta struct {
	findings  map[summaryFindingKey]*summaryFindingCounts
	reports   map[summaryReportKey]*summaryReportCounts
	stored    map[summaryStoredKey]*summaryStoredCounts
	compounds map[string]seams.Compound
}

func newSummaryDelta(t *tx) (*summaryDelta, error) {
	cs, err := t.compounds()
	if err != nil {
		return nil, err
	}
	return &summaryDelta{findings: map[summaryFindingKey]*summaryFindingCounts{}, reports: map[summaryReportKey]*summaryReportCounts{},
		stored: map[summaryStoredKey]*summaryStoredCounts{}, compounds: cs}, nil
}

// summaryFinding is what the counts need of a current finding (tier > 0).
type summaryFinding struct {
	compound string
	tier     seams.Tier
	private  bool
	at       sql.NullInt64
	mark     string
	version  int64
	reviewed sql.NullInt64
	signals  int64
	asns     []uint32
	asOrgs   []string
}

func (d *summaryDelta) report(k summaryReportKey) *summaryReportCounts {
	c := d.reports[k]
	if c == nil {
		c = &summaryReportCounts{}
		d.reports[k] = c
	}
	return c
}

// addReport adds (sign 1) or subtracts (-1) what one report contributes:
// its findings, in each scope that sees them, and the report itself among
// the distinct ones.
func (d *summaryDelta) addReport(org int64, shared bool, fs []summaryFinding, sign int64) {
	type best struct {
		key   string
		tied  bool
		label string
	}
	var countries, asns []best
	mark := func(list []best, key string, tied bool, label string) []best {
		for i := range list {
			if list[i].key == key {
				list[i].tied = list[i].tied || tied
				return list
			}
		}
		return append(list, best{key, tied, label})
	}
	for scope := int64(scopeOwn); scope <= scopeShared; scope++ {
		if scope == scopeShared && !shared {
			break
		}
		countries, asns = countries[:0], asns[:0]
		anyTied, seen := false, false
		for i := range fs {
			f := &fs[i]
			if scope == scopeShared && f.private {
				continue
			}
			seen = true
			tied := f.tier == seams.TierTied
			anyTied = anyTied || tied
			month := ""
			if f.at.Valid {
				month = time.Unix(0, f.at.Int64).UTC().Format("2006-01")
			}
			k := summaryFindingKey{org, scope, f.compound, month}
			c := d.findings[k]
			if c == nil {
				c = &summaryFindingCounts{}
				d.findings[k] = c
			}
			if tied {
				c.tied += sign
			} else {
				c.potential += sign
			}
			switch f.mark {
			case string(seams.MarkConfirmed):
				c.confirmed += sign
			case string(seams.MarkDismissed):
				c.dismissed += sign
			case "":
				c.unreviewed += sign
			}
			if f.mark != "" && f.reviewed.Int64 != f.version {
				c.stale += sign
			}
			if f.signals&1 != 0 {
				c.crossBorder += sign
			}
			if f.signals&2 != 0 {
				c.foreignASN += sign
			}
			countries = mark(countries, d.compounds[f.compound].Country, tied, "")
			for j, a := range f.asns {
				key := strconv.FormatUint(uint64(a), 10)
				asns = mark(asns, key, tied, f.asOrgs[j])
				rc := d.report(summaryReportKey{org, scope, "asn", f.compound, key})
				if rc.label == "" {
					rc.label = f.asOrgs[j]
				}
				if tied {
					rc.tied += sign
				} else {
					rc.potential += sign
				}
			}
		}
		if !seen {
			continue
		}
		add := func(kind, key string, tied bool, label string) {
			rc := d.report(summaryReportKey{org, scope, kind, "", key})
			if rc.label == "" {
				rc.label = label
			}
			if tied {
				rc.tied += sign
			} else {
				rc.potential += sign
			}
		}
		add("tier", "", anyTied, "")
		for _, c := range countries {
			add("country", c.key, c.tied, "")
		}
		for _, a := range asns {
			add("asn", a.key, a.tied, a.label)
		}
	}
}

func (d *summaryDelta) addStored(org int64, shared bool, reports, events, devices int64) {
	k := summaryStoredKey{org, boolInt(shared)}
	c := d.stored[k]
	if c == nil {
		c = &summaryStoredCounts{}
		d.stored[k] = c
	}
	c.reports += reports
	c.events += events
	c.devices += devices
}

// summaryFindingsFrom selects the current findings (tier > 0) for the
// counts, with their report's organisation and sharing and the signals
// and evidence of their current version; a WHERE condition follows.
const summaryFindingsFrom = `SELECT f.report, r.org, r.shared, f.compound, f.tier, f.private, f.at_ns, f.mark, f.version, f.reviewed_version, v.signals, v.evidence
	FROM findings f JOIN finding_versions v ON v.id = f.version JOIN reports r ON r.seq = f.report WHERE f.tier > 0 AND `

// summaryReportOf is a report's part in the counts.
type summaryReportOf struct {
	seq, org int64
	shared   bool
}

func scanSummaryFinding(rows *sql.Rows) (summaryReportOf, summaryFinding, error) {
	var r summaryReportOf
	var tier, private, shared int64
	var f summaryFinding
	var evidence string
	if err := rows.Scan(&r.seq, &r.org, &shared, &f.compound, &tier, &private, &f.at, &f.mark, &f.version, &f.reviewed, &f.signals, &evidence); err != nil {
		return r, f, err
	}
	r.shared, f.tier, f.private = shared == 1, seams.Tier(tier), private == 1
	// Only enriched evidence names an AS: decode only that.
	if strings.Contains(evidence, `"asn"`) {
		ev, err := DecodeEvidence(evidence)
		if err != nil {
			return r, f, fmt.Errorf("finding of report %d at %s: %w", r.seq, f.compound, err)
		}
		for _, e := range ev {
			if n := e.Observed.Net; n.ASN != 0 && !slices.Contains(f.asns, n.ASN) {
				f.asns = append(f.asns, n.ASN)
				f.asOrgs = append(f.asOrgs, n.Org)
			}
		}
	}
	return r, f, nil
}

// summaryOf adds (sign 1) or subtracts (-1) the contribution of the
// reports seqs as they are now: their findings, and with stored their
// own counts (the report, its events and devices).
func (t *tx) summaryOf(d *summaryDelta, seqs []int64, sign int64, stored bool) error {
	for chunk := range slices.Chunk(seqs, insertRows) {
		args := make([]any, len(chunk))
		for i, s := range chunk {
			args[i] = s
		}
		in := inList(len(chunk))
		type rep struct {
			org     int64
			shared  bool
			events  int64
			devices int64
			fs      []summaryFinding
		}
		reps := map[int64]*rep{}
		err := t.each(`SELECT seq, org, shared FROM reports WHERE seq IN (`+in+`)`, args, func(rows *sql.Rows) error {
			var seq, org, shared int64
			if err := rows.Scan(&seq, &org, &shared); err != nil {
				return err
			}
			reps[seq] = &rep{org: org, shared: shared == 1}
			return nil
		})
		if err != nil {
			return fmt.Errorf("summary counts: %w", err)
		}
		err = t.each(summaryFindingsFrom+`f.report IN (`+in+`)`, args, func(rows *sql.Rows) error {
			ro, f, err := scanSummaryFinding(rows)
			if err != nil {
				return err
			}
			if r := reps[ro.seq]; r != nil {
				r.fs = append(r.fs, f)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("summary counts: %w", err)
		}
		if stored {
			for _, table := range []string{"report_ips", "report_devices"} {
				err := t.each(`SELECT report, COUNT(*) FROM `+table+` WHERE report IN (`+in+`) GROUP BY report`, args, func(rows *sql.Rows) error {
					var seq, n int64
					if err := rows.Scan(&seq, &n); err != nil {
						return err
					}
					if r := reps[seq]; r != nil {
						if table == "report_ips" {
							r.events = n
						} else {
							r.devices = n
						}
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("summary counts: %w", err)
				}
			}
		}
		for _, r := range reps {
			d.addReport(r.org, r.shared, r.fs, sign)
			if stored {
				d.addStored(r.org, r.shared, sign, sign*r.events, sign*r.devices)
			}
		}
	}
	return nil
}

// summaryAround runs change, which changes what the reports seqs
// contribute (their findings, their sharing), and moves the counts by the
// difference.
func (t *tx) summaryAround(seqs []int64, stored bool, change func() error) error {
	d, err := newSummaryDelta(t)
	if err != nil {
		return err
	}
	if err := t.summaryOf(d, seqs, -1, stored); err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	if err := t.summaryOf(d, seqs, 1, stored); err != nil {
		return err
	}
	return t.applySummary(d)
}

// applySummary adds a delta to the tables.
func (t *tx) applySummary(d *summaryDelta) error {
	var fargs []any
	n := 0
	flushF := func() error {
		if n == 0 {
			return nil
		}
		_, err := t.exec(`INSERT INTO summary_findings (org, scope, compound, month, tied, potential, confirmed, dismissed, unreviewed, stale, cross_border, foreign_asn)
			VALUES `+placeholders(n, 12)+` ON CONFLICT (org, scope, compound, month) DO UPDATE SET
			tied = summary_findings.tied + excluded.tied, potential = summary_findings.potential + excluded.potential,
			confirmed = summary_findings.confirmed + excluded.confirmed, dismissed = summary_findings.dismissed + excluded.dismissed,
			unreviewed = summary_findings.unreviewed + excluded.unreviewed, stale = summary_findings.stale + excluded.stale,
			cross_border = summary_findings.cross_border + excluded.cross_border, foreign_asn = summary_findings.foreign_asn + excluded.foreign_asn`, fargs...)
		fargs, n = fargs[:0], 0
		return err
	}
	for _, k := range sortedKeys(d.findings, func(a, b summaryFindingKey) int {
		return cmpKeys(a.org, b.org, a.scope, b.scope, a.compound+"\x00"+a.month, b.compound+"\x00"+b.month)
	}) {
		c := d.findings[k]
		if *c == (summaryFindingCounts{}) {
			continue
		}
		fargs = append(fargs, k.org, k.scope, k.compound, k.month, c.tied, c.potential, c.confirmed, c.dismissed, c.unreviewed, c.stale, c.crossBorder, c.foreignASN)
		if n++; n == insertRows {
			if err := flushF(); err != nil {
				return fmt.Errorf("summary counts: %w", err)
			}
		}
	}
	if err := flushF(); err != nil {
		return fmt.Errorf("summary counts: %w", err)
	}
	var rargs []any
	flushR := func() error {
		if n == 0 {
			return nil
		}
		_, err := t.exec(`INSERT INTO summary_reports (org, scope, kind, compound, item, label, tied, potential)
			VALUES `+placeholders(n, 8)+` ON CONFLICT (org, scope, kind, compound, item) DO UPDATE SET
			tied = summary_reports.tied + excluded.tied, potential = summary_reports.potential + excluded.potential`, rargs...)
		rargs, n = rargs[:0], 0
		return err
	}
	for _, k := range sortedKeys(d.reports, func(a, b summaryReportKey) int {
		return cmpKeys(a.org, b.org, a.scope, b.scope, a.kind+"\x00"+a.compound+"\x00"+a.key, b.kind+"\x00"+b.compound+"\x00"+b.key)
	}) {
		c := d.reports[k]
		if c.tied == 0 && c.potential == 0 {
			continue
		}
		rargs = append(rargs, k.org, k.scope, k.kind, k.compound, k.key, c.label, c.tied, c.potential)
		if n++; n == insertRows {
			if err := flushR(); err != nil {
				return fmt.Errorf("summary counts: %w", err)
			}
		}
	}
	if err := flushR(); err != nil {
		return fmt.Errorf("summary counts: %w", err)
	}
	for _, k := range sortedKeys(d.stored, func(a, b summaryStoredKey) int { return cmpKeys(a.org, b.org, a.shared, b.shared, "", "") }) {
		c := d.stored[k]
		if *c == (summaryStoredCounts{}) {
			continue
		}
		if _, err := t.exec(`INSERT INTO summary_stored (org, shared, reports, events, devices) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (org, shared) DO UPDATE SET reports = summary_stored.reports + excluded.reports,
			events = summary_stored.events + excluded.events, devices = summary_stored.devices + excluded.devices`,
			k.org, k.shared, c.reports, c.events, c.devices); err != nil {
			return fmt.Errorf("summary counts: %w", err)
		}
	}
	return nil
}

// sortedKeys returns a map's keys in order: upserts in a fixed order, so
// that two writers (PostgreSQL) never take row locks in opposite orders.
func sortedKeys[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, cmp)
	return out
}

func cmpKeys(a1, b1, a2, b2 int64, a3, b3 string) int {
	switch {
	case a1 != b1:
		return int(min(max(a1-b1, -1), 1))
	case a2 != b2:
		return int(min(max(a2-b2, -1), 1))
	}
	return strings.Compare(a3, b3)
}

// recountSummary counts every report and finding from scratch: what the
// tables must hold.
func (t *tx) recountSummary() (*summaryDelta, error) {
	d, err := newSummaryDelta(t)
	if err != nil {
		return nil, err
	}
	if err := t.each(`SELECT org, shared, COUNT(*) FROM reports GROUP BY org, shared`, nil, func(rows *sql.Rows) error {
		var org, shared, n int64
		if err := rows.Scan(&org, &shared, &n); err != nil {
			return err
		}
		d.addStored(org, shared == 1, n, 0, 0)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("recount: %w", err)
	}
	for _, table := range []string{"report_ips", "report_devices"} {
		if err := t.each(`SELECT r.org, r.shared, SUM(e.n) FROM (SELECT report, COUNT(*) AS n FROM `+table+` GROUP BY report) e
			JOIN reports r ON r.seq = e.report GROUP BY r.org, r.shared`, nil, func(rows *sql.Rows) error {
			var org, shared, n int64
			if err := rows.Scan(&org, &shared, &n); err != nil {
				return err
			}
			if table == "report_ips" {
				d.addStored(org, shared == 1, 0, n, 0)
			} else {
				d.addStored(org, shared == 1, 0, 0, n)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("recount: %w", err)
		}
	}
	cur := summaryReportOf{seq: -1}
	var fs []summaryFinding
	err = t.each(summaryFindingsFrom+`1 = 1 ORDER BY f.report`, nil, func(rows *sql.Rows) error {
		r, f, err := scanSummaryFinding(rows)
		if err != nil {
			return err
		}
		if r.seq != cur.seq {
			if cur.seq >= 0 {
				d.addReport(cur.org, cur.shared, fs, 1)
			}
			cur, fs = r, fs[:0]
		}
		fs = append(fs, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recount: %w", err)
	}
	if cur.seq >= 0 {
		d.addReport(cur.org, cur.shared, fs, 1)
	}
	return d, nil
}

// rebuildSummary replaces the tables' content with a recount: on the
// first open after the upgrade, and when a compound changes country.
func (t *tx) rebuildSummary() error {
	d, err := t.recountSummary()
	if err != nil {
		return err
	}
	for _, table := range []string{"summary_findings", "summary_reports", "summary_stored"} {
		if _, err := t.exec(`DELETE FROM ` + table); err != nil {
			return fmt.Errorf("summary counts: %w", err)
		}
	}
	return t.applySummary(d)
}

// ensureSummary fills the tables of a store upgraded to
// schemaSummaryCounts (state.summary_ready 0): once, at open.
func (s *Store) ensureSummary(ctx context.Context) error {
	var ready int64
	if err := s.w.QueryRowContext(ctx, `SELECT summary_ready FROM state WHERE id = 1`).Scan(&ready); err != nil {
		return fmt.Errorf("summary counts: %w", err)
	}
	if ready == 1 {
		return nil
	}
	sqltx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer sqltx.Rollback()
	t := &tx{s: s, tx: sqltx, ctx: ctx}
	if s.d.LockState != "" {
		if _, err := t.exec(s.d.LockState); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	if err := t.queryRow(`SELECT summary_ready FROM state WHERE id = 1`).Scan(&ready); err != nil || ready == 1 {
		return err
	}
	start := time.Now()
	if err := t.rebuildSummary(); err != nil {
		return err
	}
	if _, err := t.exec(`UPDATE state SET summary_ready = 1 WHERE id = 1`); err != nil {
		return err
	}
	if err := sqltx.Commit(); err != nil {
		return err
	}
	s.log.Info("summary counts built", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// SummaryMismatches recounts the summary from every report and finding
// and lists where the maintained tables differ (none: they agree). For
// tests: the store suite calls it after loads, runs and reviews.
func (s *Store) SummaryMismatches(ctx context.Context) ([]string, error) {
	var out []string
	err := s.view(ctx, func(t *tx) error {
		want, err := t.recountSummary()
		if err != nil {
			return err
		}
		got := &summaryDelta{findings: map[summaryFindingKey]*summaryFindingCounts{}, reports: map[summaryReportKey]*summaryReportCounts{},
			stored: map[summaryStoredKey]*summaryStoredCounts{}}
		if err := t.each(`SELECT org, scope, compound, month, tied, potential, confirmed, dismissed, unreviewed, stale, cross_border, foreign_asn FROM summary_findings`, nil,
			func(rows *sql.Rows) error {
				var k summaryFindingKey
				var c summaryFindingCounts
				if err := rows.Scan(&k.org, &k.scope, &k.compound, &k.month, &c.tied, &c.potential, &c.confirmed, &c.dismissed, &c.unreviewed, &c.stale, &c.crossBorder, &c.foreignASN); err != nil {
					return err
				}
				got.findings[k] = &c
				return nil
			}); err != nil {
			return err
		}
		if err := t.each(`SELECT org, scope, kind, compound, item, tied, potential FROM summary_reports`, nil, func(rows *sql.Rows) error {
			var k summaryReportKey
			var c summaryReportCounts
			if err := rows.Scan(&k.org, &k.scope, &k.kind, &k.compound, &k.key, &c.tied, &c.potential); err != nil {
				return err
			}
			got.reports[k] = &c
			return nil
		}); err != nil {
			return err
		}
		if err := t.each(`SELECT org, shared, reports, events, devices FROM summary_stored`, nil, func(rows *sql.Rows) error {
			var k summaryStoredKey
			var c summaryStoredCounts
			if err := rows.Scan(&k.org, &k.shared, &c.reports, &c.events, &c.devices); err != nil {
				return err
			}
			got.stored[k] = &c
			return nil
		}); err != nil {
			return err
		}
		out = append(out, mismatches("findings", got.findings, want.findings, func(c *summaryFindingCounts) bool { return *c == summaryFindingCounts{} })...)
		out = append(out, mismatches("reports", got.reports, want.reports, func(c *summaryReportCounts) bool { return c.tied == 0 && c.potential == 0 },
			func(c *summaryReportCounts) summaryReportCounts {
				return summaryReportCounts{tied: c.tied, potential: c.potential}
			})...)
		out = append(out, mismatches("stored", got.stored, want.stored, func(c *summaryStoredCounts) bool { return *c == summaryStoredCounts{} })...)
		return nil
	})
	slices.Sort(out)
	return out, err
}

// mismatches lists the keys whose counts differ between got and want,
// zero rows counting as absent; norm, when given, keeps only what is
// compared.
func mismatches[K comparable, V any](what string, got, want map[K]*V, zero func(*V) bool, norm ...func(*V) V) []string {
	var out []string
	val := func(v *V) V {
		if len(norm) > 0 {
			return norm[0](v)
		}
		return *v
	}
	for k, g := range got {
		w, ok := want[k]
		switch {
		case !ok && !zero(g):
			out = append(out, fmt.Sprintf("%s %+v: kept %+v, recount none", what, k, *g))
		case ok && any(val(g)) != any(val(w)):
			out = append(out, fmt.Sprintf("%s %+v: kept %+v, recount %+v", what, k, *g, *w))
		}
	}
	for k, w := range want {
		if _, ok := got[k]; !ok && !zero(w) {
			out = append(out, fmt.Sprintf("%s %+v: kept none, recount %+v", what, k, *w))
		}
	}
	return out
}
