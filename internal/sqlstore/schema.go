package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/seams-dev/seams"
)

// Dialect is what differs between the engines: column types, placeholders,
// how a write transaction takes the store's lock, and statements of a
// migration that only one engine needs. Everything else is one schema and
// one set of queries, so the engines cannot drift apart.
type Dialect struct {
	Name string
	// Dollar: placeholders are $1, $2... instead of ?.
	Dollar bool
	// Types replaces {{NAME}} in the schema: ID, INT, REAL, BLOB, TEXT,
	// NOROWID.
	Types map[string]string
	// LockState is run first in every write transaction, to serialize
	// writers on the state row; empty when the transaction itself does
	// (SQLite's BEGIN IMMEDIATE).
	LockState string
	// LockMigrations is run first in the migration transaction.
	LockMigrations string
	// Extra holds statements for a migration version that only this
	// engine needs (triggers are written differently).
	Extra map[int][]string
}

// migrations are the versioned steps of the schema; version i+1 is
// migrations[i]. A step is never changed once released: a change is a new
// step.
var migrations = [][]string{schemaV1, schemaV2, schemaV3, schemaV4, schemaV5, schemaIndicatorDrift, schemaReviewQueue, schemaCoalition, schemaRecordTime, schemaSummaryCounts}

// schemaRecordTime adds record time, when the store learned something,
// beside valid time (an indicator's window), so that a past run can be
// replayed from the store as it was (seams xref --store --as-of) and two
// runs compared (seams diff). state.recorded_ns is the store's record
// clock: every write that changes the registry (indicators, their sharing,
// shared space, compounds) takes the wall clock, made strictly greater
// than the last record time, so that record times order those writes as
// they committed. indicators, indicator_files (whose versions say when a
// file's sharing changed) and shared_space get recorded_ns, and from now on
// their retired_ns is a record time too; compound_versions keeps every
// version of a compound (compounds are updated in place); runs.as_of_ns is
// the record clock the run's snapshot read: what it matched is exactly
// what was recorded by then. Rows stored before read their load time as
// their record time (added_ns, loaded_ns; a compound's added_ns with the
// values it has now: the values an update replaced are lost), and a run
// stored before reads its finish time as its as-of time.
var schemaRecordTime = []string{
	`ALTER TABLE state ADD COLUMN recorded_ns {{INT}} NOT NULL DEFAULT 0`,
	`ALTER TABLE indicators ADD COLUMN recorded_ns {{INT}} NOT NULL DEFAULT 0`,
	`UPDATE indicators SET recorded_ns = added_ns`,
	`CREATE INDEX indicators_recorded ON indicators (recorded_ns)`,
	`ALTER TABLE indicator_files ADD COLUMN recorded_ns {{INT}} NOT NULL DEFAULT 0`,
	`UPDATE indicator_files SET recorded_ns = loaded_ns`,
	`ALTER TABLE shared_space ADD COLUMN recorded_ns {{INT}} NOT NULL DEFAULT 0`,
	`UPDATE shared_space SET recorded_ns = added_ns`,
	`ALTER TABLE shared_asn ADD COLUMN recorded_ns {{INT}} NOT NULL DEFAULT 0`,
	`UPDATE shared_asn SET recorded_ns = added_ns`,
	`CREATE TABLE compound_versions (
		compound {{TEXT}} NOT NULL REFERENCES compounds (id),
		recorded_ns {{INT}} NOT NULL,
		name {{TEXT}} NOT NULL,
		aliases {{TEXT}} NOT NULL,
		country {{TEXT}} NOT NULL,
		province {{TEXT}} NOT NULL,
		lat {{REAL}},
		lon {{REAL}},
		status {{TEXT}} NOT NULL,
		PRIMARY KEY (compound, recorded_ns)
	)`,
	`INSERT INTO compound_versions (compound, recorded_ns, name, aliases, country, province, lat, lon, status)
		SELECT id, added_ns, name, aliases, country, province, lat, lon, status FROM compounds`,
	`ALTER TABLE runs ADD COLUMN as_of_ns {{INT}} NOT NULL DEFAULT 0`,
	`UPDATE runs SET as_of_ns = finished_ns`,
	`UPDATE state SET recorded_ns = (SELECT COALESCE(MAX(t), 0) FROM (
		SELECT MAX(added_ns) AS t FROM indicators UNION ALL SELECT MAX(retired_ns) FROM indicators
		UNION ALL SELECT MAX(loaded_ns) FROM indicator_files
		UNION ALL SELECT MAX(added_ns) FROM shared_space UNION ALL SELECT MAX(retired_ns) FROM shared_space
		UNION ALL SELECT MAX(added_ns) FROM shared_asn UNION ALL SELECT MAX(retired_ns) FROM shared_asn
		UNION ALL SELECT MAX(updated_ns) FROM compounds UNION ALL SELECT MAX(finished_ns) FROM runs) AS m) WHERE id = 1`,
}

// schemaIndicatorDrift keeps an indicator's own drift bound
// (seams.Indicator.Drift, HasDrift): indicators.drift_ns, NULL for an
// indicator without one (every row stored before), so that a run over the
// store holds rule ip-drift to the same bound as seams xref. The column is
// nullable without a default: no table is rewritten.
var schemaIndicatorDrift = []string{
	`ALTER TABLE indicators ADD COLUMN drift_ns {{INT}}`,
}

// schemaReviewQueue indexes findings in the orders of the review queue:
// by tier, then the latest observation first (findings without a time
// last), and by the latest observation alone; the expressions are those
// of the queries (sqlstore findingOrders), so that a first page walks an
// index instead of sorting every finding (3 s to 0.2 s on 200,000). IF NOT
// EXISTS: a test that undoes version 5 runs this step again.
var schemaReviewQueue = []string{
	`CREATE INDEX IF NOT EXISTS findings_queue ON findings (tier, (CASE WHEN at_ns IS NULL THEN 0 ELSE 1 END), (COALESCE(at_ns, 0)), id)`,
	`CREATE INDEX IF NOT EXISTS findings_recent ON findings ((CASE WHEN at_ns IS NULL THEN 0 ELSE 1 END), (COALESCE(at_ns, 0)), id)`,
}

// schemaCoalition is what a coalition sharing one server needs (issue
// 18). Shared space belongs to an organisation (shared_space.org; 0 is the
// coalition-wide set) and has a scope (0 the owner's reports only, 1
// shared with every organisation, 2 the coalition set): rows stored
// before, which applied to everyone, become the coalition set. The ASes a
// list names are kept beside its prefixes (shared_asn). A compound
// belongs to the organisation that first stored it (compounds.org; 0,
// for those stored before, the coalition's). The state row keeps the last
// verified checkpoint of the audit chain (verified_seq, verified_hash, and
// the entry that recorded it) and the entry from which the state of
// audited objects is cross-checked against the chain (integrity_from).
var schemaCoalition = []string{
	`ALTER TABLE shared_space ADD COLUMN org {{INT}} NOT NULL DEFAULT 0`,
	`ALTER TABLE shared_space ADD COLUMN scope {{INT}} NOT NULL DEFAULT 2`,
	`CREATE INDEX shared_space_org ON shared_space (org, file, retired_ns)`,
	`CREATE TABLE shared_asn (
		id {{ID}},
		org {{INT}} NOT NULL,
		file {{TEXT}} NOT NULL,
		scope {{INT}} NOT NULL,
		asn {{INT}} NOT NULL,
		added_by {{TEXT}} NOT NULL,
		added_ns {{INT}} NOT NULL,
		retired_ns {{INT}}
	)`,
	`CREATE INDEX shared_asn_org ON shared_asn (org, file, retired_ns)`,
	`ALTER TABLE compounds ADD COLUMN org {{INT}} NOT NULL DEFAULT 0`,
	`ALTER TABLE state ADD COLUMN verified_seq {{INT}} NOT NULL DEFAULT 0`,
	`ALTER TABLE state ADD COLUMN verified_hash {{BLOB}}`,
	`ALTER TABLE state ADD COLUMN verified_entry {{INT}} NOT NULL DEFAULT 0`,
	`ALTER TABLE state ADD COLUMN integrity_from {{INT}} NOT NULL DEFAULT 0`,
	`UPDATE state SET integrity_from = audit_seq + 1 WHERE id = 1`,
	// Verification reads the entries that record object states by action:
	// without an index it would scan the whole log every time.
	`CREATE INDEX audit_action ON audit (action, seq)`,
}

// schemaSummaryCounts keeps the overview's counts (summarycounts.go):
// findings by organisation, scope of visibility, compound and month, with
// their review states and signals (summary_findings); distinct reports by
// tier, country and AS (summary_reports); reports, events and devices by
// organisation and sharing (summary_stored). The transactions that change
// findings, reviews, reports or sharing keep them; state.summary_ready is
// 0 until the first open after the upgrade has filled them from what the
// store holds. The index on (compound, at_ns) finds a compound's first and
// last finding without reading the others; the one on (mark, id) pages
// the findings of a review state (GET /api/findings?review=confirmed) in
// id order without reading every finding (0.45 s at a million findings
// for a state no finding has).
var schemaSummaryCounts = []string{
	`CREATE TABLE summary_findings (
		org {{INT}} NOT NULL,
		scope {{INT}} NOT NULL,
		compound {{TEXT}} NOT NULL,
		month {{TEXT}} NOT NULL,
		tied {{INT}} NOT NULL,
		potential {{INT}} NOT NULL,
		confirmed {{INT}} NOT NULL,
		dismissed {{INT}} NOT NULL,
		unreviewed {{INT}} NOT NULL,
		stale {{INT}} NOT NULL,
		cross_border {{INT}} NOT NULL,
		foreign_asn {{INT}} NOT NULL,
		PRIMARY KEY (org, scope, compound, month)
	) {{NOROWID}}`,
	`CREATE TABLE summary_reports (
		org {{INT}} NOT NULL,
		scope {{INT}} NOT NULL,
		kind {{TEXT}} NOT NULL,
		compound {{TEXT}} NOT NULL,
		item {{TEXT}} NOT NULL,
		label {{TEXT}} NOT NULL,
		tied {{INT}} NOT NULL,
		potential {{INT}} NOT NULL,
		PRIMARY KEY (org, scope, kind, compound, item)
	) {{NOROWID}}`,
	`CREATE TABLE summary_stored (
		org {{INT}} NOT NULL,
		shared {{INT}} NOT NULL,
		reports {{INT}} NOT NULL,
		events {{INT}} NOT NULL,
		devices {{INT}} NOT NULL,
		PRIMARY KEY (org, shared)
	) {{NOROWID}}`,
	`ALTER TABLE state ADD COLUMN summary_ready {{INT}} NOT NULL DEFAULT 0`,
	`CREATE INDEX findings_compound_at ON findings (compound, at_ns)`,
	`CREATE INDEX findings_mark ON findings (mark, id)`,
}

// schemaV5 keeps what a run over a store applies since it caps
// over-correlated indicators and enriches its findings, as seams xref
// does: the build and the rule parameters of each run (runs.seams and
// runs.parameters, JSON; empty for a run stored before, which had no cap and
// no enrichment), the indicator versions over its limit with their counts
// (run_over), and of each finding version its signals (bits: 1
// cross-border, 2 foreign-asn) and the indicator versions that capped it
// (finding_versions.capped, a JSON array of ids; empty for none). A finding
// version names the indicators that capped it, not their counts: the
// counts are the run's (run_over), so that a report added later changes
// the count a finding shows without revising the finding. Stored evidence
// gains what enrichment says of the observed address (asn, as_org,
// country, city) without a change of schema. Every column is added with a
// constant default: no table is rewritten.
var schemaV5 = []string{
	`ALTER TABLE runs ADD COLUMN seams {{TEXT}} NOT NULL DEFAULT ''`,
	`ALTER TABLE runs ADD COLUMN parameters {{TEXT}} NOT NULL DEFAULT ''`,
	`ALTER TABLE finding_versions ADD COLUMN signals {{INT}} NOT NULL DEFAULT 0`,
	`ALTER TABLE finding_versions ADD COLUMN capped {{TEXT}} NOT NULL DEFAULT ''`,
	`CREATE TABLE run_over (
		run {{INT}} NOT NULL REFERENCES runs (id),
		indicator {{INT}} NOT NULL REFERENCES indicators (id),
		reports {{INT}} NOT NULL,
		capped {{INT}} NOT NULL,
		downgraded {{INT}} NOT NULL,
		PRIMARY KEY (run, indicator)
	) {{NOROWID}}`,
}

// schemaV3 lets an ip event have no time (report_ips.at_ns NULL): every
// report format may leave an event's time out, and such an event is kept
// and can make a potential finding (rule ip-undated). Making a column
// nullable is written differently in each engine, so the step is all in
// the dialects' Extra[3]: SQLite rebuilds the table (its ALTER TABLE cannot
// drop a NOT NULL), PostgreSQL alters the column in place.
var schemaV3 = []string{}

// SQLiteV3 is SQLite's statements of schemaV3: report_ips rebuilt with
// at_ns nullable, rows, key and index as before.
var SQLiteV3 = []string{
	`CREATE TABLE report_ips_v3 (
		report {{INT}} NOT NULL REFERENCES reports (seq),
		n {{INT}} NOT NULL,
		addr {{BLOB}} NOT NULL,
		at_ns {{INT}},
		event {{TEXT}} NOT NULL,
		port {{INT}} NOT NULL,
		proxy {{INT}} NOT NULL,
		PRIMARY KEY (report, n)
	) {{NOROWID}}`,
	`INSERT INTO report_ips_v3 (report, n, addr, at_ns, event, port, proxy) SELECT report, n, addr, at_ns, event, port, proxy FROM report_ips`,
	`DROP TABLE report_ips`,
	`ALTER TABLE report_ips_v3 RENAME TO report_ips`,
	`CREATE INDEX report_ips_addr ON report_ips (addr)`,
}

// PostgresV3 is PostgreSQL's statement of schemaV3.
var PostgresV3 = []string{`ALTER TABLE report_ips ALTER COLUMN at_ns DROP NOT NULL`}

// schemaV4 keeps what the reports tables dropped: whether an ip event or a
// device is an associated account's (seams.IPEvent.Associated,
// seams.Device.Associated). Rows stored before it read as not associated,
// which they may not be: state.associated_lost is the highest report seq
// stored then, and loading such a report again restores its flags
// (PutReports). The evidence of findings (finding_versions.evidence, JSON)
// gains "associated" and "shared_why" without a change of schema.
var schemaV4 = []string{
	`ALTER TABLE report_ips ADD COLUMN associated {{INT}} NOT NULL DEFAULT 0`,
	`ALTER TABLE report_devices ADD COLUMN associated {{INT}} NOT NULL DEFAULT 0`,
	`ALTER TABLE state ADD COLUMN associated_lost {{INT}} NOT NULL DEFAULT 0`,
	`UPDATE state SET associated_lost = (SELECT COALESCE(MAX(seq), 0) FROM reports) WHERE id = 1`,
}

// schemaV2 orders the compound index by finding id instead of tier: the
// API lists a compound's findings a page at a time in id order (the
// dashboard's compound page, newest first), and with (compound, tier) the
// database sorted every finding of the compound for each page (half a
// second for a compound of 40,000 findings, against none).
var schemaV2 = []string{
	`DROP INDEX findings_compound`,
	`CREATE INDEX findings_compound ON findings (compound, id)`,
}

// schemaV1 is the first schema. Times are Unix nanoseconds in integers in
// both engines (NULL for an open or missing time), booleans are 0 or 1,
// addresses are 16 bytes (IPv4 as IPv4-mapped) so that both engines sort
// and compare them the same way (bytewise), and text compares bytewise too
// ({{TEXT}} carries COLLATE "C" in PostgreSQL).
var schemaV1 = []string{
	`CREATE TABLE state (
		id {{INT}} PRIMARY KEY,
		registry_version {{INT}} NOT NULL,
		last_run {{INT}} NOT NULL,
		audit_seq {{INT}} NOT NULL,
		audit_hash {{BLOB}}
	)`,
	`INSERT INTO state (id, registry_version, last_run, audit_seq) VALUES (1, 0, 0, 0)`,
	`CREATE TABLE orgs (
		id {{ID}},
		name {{TEXT}} NOT NULL UNIQUE,
		created_ns {{INT}} NOT NULL
	)`,
	`CREATE TABLE users (
		id {{ID}},
		org {{INT}} NOT NULL REFERENCES orgs (id),
		name {{TEXT}} NOT NULL,
		created_ns {{INT}} NOT NULL,
		UNIQUE (org, name)
	)`,
	`CREATE TABLE tokens (
		id {{TEXT}} PRIMARY KEY,
		hash {{BLOB}} NOT NULL UNIQUE,
		org {{INT}} NOT NULL REFERENCES orgs (id),
		user_id {{INT}} REFERENCES users (id),
		role {{TEXT}} NOT NULL,
		label {{TEXT}} NOT NULL,
		created_ns {{INT}} NOT NULL,
		expires_ns {{INT}},
		revoked_ns {{INT}}
	)`,
	`CREATE TABLE compounds (
		id {{TEXT}} PRIMARY KEY,
		name {{TEXT}} NOT NULL,
		aliases {{TEXT}} NOT NULL,
		country {{TEXT}} NOT NULL,
		province {{TEXT}} NOT NULL,
		lat {{REAL}},
		lon {{REAL}},
		status {{TEXT}} NOT NULL,
		file {{TEXT}} NOT NULL,
		added_by {{TEXT}} NOT NULL,
		added_ns {{INT}} NOT NULL,
		updated_by {{TEXT}} NOT NULL,
		updated_ns {{INT}} NOT NULL
	)`,
	`CREATE TABLE indicator_files (
		id {{ID}},
		org {{INT}} NOT NULL REFERENCES orgs (id),
		name {{TEXT}} NOT NULL,
		version {{INT}} NOT NULL,
		shared {{INT}} NOT NULL,
		sha256 {{BLOB}} NOT NULL,
		indicators {{INT}} NOT NULL,
		added {{INT}} NOT NULL,
		retired {{INT}} NOT NULL,
		loaded_by {{TEXT}} NOT NULL,
		loaded_ns {{INT}} NOT NULL,
		UNIQUE (org, name, version)
	)`,
	// lo and hi are the first and last address of an ip or cidr
	// indicator (NULL for other kinds): searches find the indicators
	// containing an address by looking up each of its prefixes' lo.
	`CREATE TABLE indicators (
		id {{ID}},
		org {{INT}} NOT NULL REFERENCES orgs (id),
		file {{TEXT}} NOT NULL,
		shared {{INT}} NOT NULL,
		compound {{TEXT}} NOT NULL REFERENCES compounds (id),
		kind {{INT}} NOT NULL,
		value {{TEXT}} NOT NULL,
		lo {{BLOB}},
		hi {{BLOB}},
		first_ns {{INT}},
		last_ns {{INT}},
		confidence {{REAL}},
		source {{TEXT}} NOT NULL,
		line {{INT}} NOT NULL,
		digest {{BLOB}} NOT NULL,
		version {{INT}} NOT NULL,
		file_version {{INT}} NOT NULL,
		added_by {{TEXT}} NOT NULL,
		added_ns {{INT}} NOT NULL,
		retired_ns {{INT}},
		retired_version {{INT}}
	)`,
	`CREATE INDEX indicators_file ON indicators (org, file, retired_ns)`,
	`CREATE INDEX indicators_value ON indicators (value)`,
	`CREATE INDEX indicators_lo ON indicators (lo)`,
	`CREATE INDEX indicators_compound ON indicators (compound)`,
	`CREATE TABLE shared_space (
		id {{ID}},
		file {{TEXT}} NOT NULL,
		prefix {{TEXT}} NOT NULL,
		lo {{BLOB}} NOT NULL,
		hi {{BLOB}} NOT NULL,
		added_by {{TEXT}} NOT NULL,
		added_ns {{INT}} NOT NULL,
		retired_ns {{INT}}
	)`,
	`CREATE INDEX shared_space_file ON shared_space (file, retired_ns)`,
	`CREATE TABLE reports (
		seq {{ID}},
		org {{INT}} NOT NULL REFERENCES orgs (id),
		rid {{TEXT}} NOT NULL,
		shared {{INT}} NOT NULL,
		received_ns {{INT}},
		incident {{TEXT}} NOT NULL,
		source {{TEXT}} NOT NULL,
		file {{TEXT}} NOT NULL,
		line {{INT}} NOT NULL,
		digest {{BLOB}} NOT NULL,
		loaded_by {{TEXT}} NOT NULL,
		loaded_ns {{INT}} NOT NULL,
		UNIQUE (org, rid)
	)`,
	`CREATE INDEX reports_rid ON reports (rid)`,
	`CREATE TABLE report_ips (
		report {{INT}} NOT NULL REFERENCES reports (seq),
		n {{INT}} NOT NULL,
		addr {{BLOB}} NOT NULL,
		at_ns {{INT}} NOT NULL,
		event {{TEXT}} NOT NULL,
		port {{INT}} NOT NULL,
		proxy {{INT}} NOT NULL,
		PRIMARY KEY (report, n)
	) {{NOROWID}}`,
	`CREATE INDEX report_ips_addr ON report_ips (addr)`,
	`CREATE TABLE report_devices (
		report {{INT}} NOT NULL REFERENCES reports (seq),
		n {{INT}} NOT NULL,
		type {{TEXT}} NOT NULL,
		value {{TEXT}} NOT NULL,
		at_ns {{INT}},
		PRIMARY KEY (report, n)
	) {{NOROWID}}`,
	`CREATE INDEX report_devices_value ON report_devices (value, type)`,
	`CREATE TABLE runs (
		id {{ID}},
		started_ns {{INT}} NOT NULL,
		finished_ns {{INT}} NOT NULL,
		by_actor {{TEXT}} NOT NULL,
		registry_version {{INT}} NOT NULL,
		drift_ns {{INT}} NOT NULL,
		full_run {{INT}} NOT NULL,
		through {{INT}} NOT NULL,
		scanned {{INT}} NOT NULL,
		n_new {{INT}} NOT NULL,
		n_upgraded {{INT}} NOT NULL,
		n_downgraded {{INT}} NOT NULL,
		n_withdrawn {{INT}} NOT NULL,
		n_revised {{INT}} NOT NULL
	)`,
	// findings holds the current state of each (report, compound) pair
	// that ever had evidence, and its review mark; finding_versions holds
	// what each run made of it (a version is a change).
	`CREATE TABLE findings (
		id {{ID}},
		report {{INT}} NOT NULL REFERENCES reports (seq),
		org {{INT}} NOT NULL REFERENCES orgs (id),
		compound {{TEXT}} NOT NULL REFERENCES compounds (id),
		tier {{INT}} NOT NULL,
		version {{INT}} NOT NULL,
		private {{INT}} NOT NULL,
		at_ns {{INT}},
		digest {{BLOB}} NOT NULL,
		first_run {{INT}} NOT NULL REFERENCES runs (id),
		run {{INT}} NOT NULL REFERENCES runs (id),
		mark {{TEXT}} NOT NULL,
		comment {{TEXT}} NOT NULL,
		reviewed_by {{TEXT}} NOT NULL,
		reviewed_ns {{INT}},
		reviewed_version {{INT}},
		UNIQUE (report, compound)
	)`,
	`CREATE INDEX findings_compound ON findings (compound, tier)`,
	`CREATE INDEX findings_tier ON findings (tier)`,
	`CREATE INDEX findings_at ON findings (at_ns)`,
	`CREATE TABLE finding_versions (
		id {{ID}},
		finding {{INT}} NOT NULL REFERENCES findings (id),
		run {{INT}} NOT NULL REFERENCES runs (id),
		kind {{TEXT}} NOT NULL,
		from_tier {{INT}} NOT NULL,
		tier {{INT}} NOT NULL,
		private {{INT}} NOT NULL,
		at_ns {{INT}},
		evidence {{TEXT}} NOT NULL
	)`,
	`CREATE INDEX finding_versions_finding ON finding_versions (finding)`,
	`CREATE INDEX finding_versions_run ON finding_versions (run, finding)`,
	`CREATE TABLE reviews (
		id {{ID}},
		finding {{INT}} NOT NULL REFERENCES findings (id),
		version {{INT}} NOT NULL,
		mark {{TEXT}} NOT NULL,
		comment {{TEXT}} NOT NULL,
		by_actor {{TEXT}} NOT NULL,
		at_ns {{INT}} NOT NULL
	)`,
	`CREATE INDEX reviews_finding ON reviews (finding)`,
	`CREATE TABLE audit (
		seq {{INT}} PRIMARY KEY,
		at_ns {{INT}} NOT NULL,
		actor {{TEXT}} NOT NULL,
		org {{TEXT}} NOT NULL,
		action {{TEXT}} NOT NULL,
		object {{TEXT}} NOT NULL,
		detail {{TEXT}} NOT NULL,
		prev {{BLOB}} NOT NULL,
		hash {{BLOB}} NOT NULL
	)`,
}

// SchemaVersion is the version of the schema this seams writes.
func SchemaVersion() int { return len(migrations) }

// Render replaces the {{NAME}} markers of a statement with the dialect's
// types.
func (d *Dialect) Render(stmt string) string { return d.render(stmt) }

func (d *Dialect) render(stmt string) string {
	for k, v := range d.Types {
		stmt = strings.ReplaceAll(stmt, "{{"+k+"}}", v)
	}
	return stmt
}

// migrate brings the schema to SchemaVersion in one transaction per step,
// recording each in schema_migrations. A database migrated by a newer
// seams is refused rather than touched.
func migrate(ctx context.Context, db *sql.DB, d *Dialect, now func() int64) error {
	for {
		done, err := migrateStep(ctx, db, d, now)
		if err != nil || done {
			return err
		}
	}
}

func migrateStep(ctx context.Context, db *sql.DB, d *Dialect, now func() int64) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if d.LockMigrations != "" {
		if _, err := tx.ExecContext(ctx, d.LockMigrations); err != nil {
			return false, fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.render(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version {{INT}} PRIMARY KEY,
		applied_ns {{INT}} NOT NULL
	)`)); err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	switch {
	case cur > len(migrations):
		return false, fmt.Errorf("%w: version %d, this seams knows up to %d", seams.ErrSchemaTooNew, cur, len(migrations))
	case cur == len(migrations):
		return true, nil
	}
	v := cur + 1
	stmts := append(append([]string{}, migrations[v-1]...), d.Extra[v]...)
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, d.render(s)); err != nil {
			return false, fmt.Errorf("migrate to version %d: %w", v, err)
		}
	}
	q := `INSERT INTO schema_migrations (version, applied_ns) VALUES (?, ?)`
	if d.Dollar {
		q = `INSERT INTO schema_migrations (version, applied_ns) VALUES ($1, $2)`
	}
	if _, err := tx.ExecContext(ctx, q, v, now()); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v, err)
	}
	return false, nil
}
