-- The schema of a seams store at version 2, as released (commit 22ccb44):
-- the statements of migrations 1 and 2 in internal/sqlstore/schema.go, with
-- the {{TYPE}} markers each engine's Dialect renders, preceded by the table
-- seams keeps its migrations in. Frozen: a store made by seams at version 2
-- is built from this file, never from the code's migrations, so that the
-- migration tests keep testing what was released (internal/sqlstore
-- TestReleasedSchema holds the code's migrations 1 and 2 to it). Each
-- statement ends with a semicolon at the end of a line; no line inside one
-- does.

CREATE TABLE IF NOT EXISTS schema_migrations (
		version {{INT}} PRIMARY KEY,
		applied_ns {{INT}} NOT NULL
	);

-- Version 1.

CREATE TABLE state (
		id {{INT}} PRIMARY KEY,
		registry_version {{INT}} NOT NULL,
		last_run {{INT}} NOT NULL,
		audit_seq {{INT}} NOT NULL,
		audit_hash {{BLOB}}
	);

INSERT INTO state (id, registry_version, last_run, audit_seq) VALUES (1, 0, 0, 0);

CREATE TABLE orgs (
		id {{ID}},
		name {{TEXT}} NOT NULL UNIQUE,
		created_ns {{INT}} NOT NULL
	);

CREATE TABLE users (
		id {{ID}},
		org {{INT}} NOT NULL REFERENCES orgs (id),
		name {{TEXT}} NOT NULL,
		created_ns {{INT}} NOT NULL,
		UNIQUE (org, name)
	);

CREATE TABLE tokens (
		id {{TEXT}} PRIMARY KEY,
		hash {{BLOB}} NOT NULL UNIQUE,
		org {{INT}} NOT NULL REFERENCES orgs (id),
		user_id {{INT}} REFERENCES users (id),
		role {{TEXT}} NOT NULL,
		label {{TEXT}} NOT NULL,
		created_ns {{INT}} NOT NULL,
		expires_ns {{INT}},
		revoked_ns {{INT}}
	);

CREATE TABLE compounds (
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
	);

CREATE TABLE indicator_files (
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
	);

CREATE TABLE indicators (
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
	);

CREATE INDEX indicators_file ON indicators (org, file, retired_ns);

CREATE INDEX indicators_value ON indicators (value);

CREATE INDEX indicators_lo ON indicators (lo);

CREATE INDEX indicators_compound ON indicators (compound);

CREATE TABLE shared_space (
		id {{ID}},
		file {{TEXT}} NOT NULL,
		prefix {{TEXT}} NOT NULL,
		lo {{BLOB}} NOT NULL,
		hi {{BLOB}} NOT NULL,
		added_by {{TEXT}} NOT NULL,
		added_ns {{INT}} NOT NULL,
		retired_ns {{INT}}
	);

CREATE INDEX shared_space_file ON shared_space (file, retired_ns);

CREATE TABLE reports (
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
	);

CREATE INDEX reports_rid ON reports (rid);

CREATE TABLE report_ips (
		report {{INT}} NOT NULL REFERENCES reports (seq),
		n {{INT}} NOT NULL,
		addr {{BLOB}} NOT NULL,
		at_ns {{INT}} NOT NULL,
		event {{TEXT}} NOT NULL,
		port {{INT}} NOT NULL,
		proxy {{INT}} NOT NULL,
		PRIMARY KEY (report, n)
	) {{NOROWID}};

CREATE INDEX report_ips_addr ON report_ips (addr);

CREATE TABLE report_devices (
		report {{INT}} NOT NULL REFERENCES reports (seq),
		n {{INT}} NOT NULL,
		type {{TEXT}} NOT NULL,
		value {{TEXT}} NOT NULL,
		at_ns {{INT}},
		PRIMARY KEY (report, n)
	) {{NOROWID}};

CREATE INDEX report_devices_value ON report_devices (value, type);

CREATE TABLE runs (
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
	);

CREATE TABLE findings (
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
	);

CREATE INDEX findings_compound ON findings (compound, tier);

CREATE INDEX findings_tier ON findings (tier);

CREATE INDEX findings_at ON findings (at_ns);

CREATE TABLE finding_versions (
		id {{ID}},
		finding {{INT}} NOT NULL REFERENCES findings (id),
		run {{INT}} NOT NULL REFERENCES runs (id),
		kind {{TEXT}} NOT NULL,
		from_tier {{INT}} NOT NULL,
		tier {{INT}} NOT NULL,
		private {{INT}} NOT NULL,
		at_ns {{INT}},
		evidence {{TEXT}} NOT NULL
	);

CREATE INDEX finding_versions_finding ON finding_versions (finding);

CREATE INDEX finding_versions_run ON finding_versions (run, finding);

CREATE TABLE reviews (
		id {{ID}},
		finding {{INT}} NOT NULL REFERENCES findings (id),
		version {{INT}} NOT NULL,
		mark {{TEXT}} NOT NULL,
		comment {{TEXT}} NOT NULL,
		by_actor {{TEXT}} NOT NULL,
		at_ns {{INT}} NOT NULL
	);

CREATE INDEX reviews_finding ON reviews (finding);

CREATE TABLE audit (
		seq {{INT}} PRIMARY KEY,
		at_ns {{INT}} NOT NULL,
		actor {{TEXT}} NOT NULL,
		org {{TEXT}} NOT NULL,
		action {{TEXT}} NOT NULL,
		object {{TEXT}} NOT NULL,
		detail {{TEXT}} NOT NULL,
		prev {{BLOB}} NOT NULL,
		hash {{BLOB}} NOT NULL
	);

-- Version 2.

DROP INDEX findings_compound;

CREATE INDEX findings_compound ON findings (compound, id);
