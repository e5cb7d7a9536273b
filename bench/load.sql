-- The data the two baselines share, loaded into DuckDB: reports, ip events
-- and devices from the JSON Lines; indicators by kind from the CSV; the
-- shared space. bench/duckdb.mjs runs this, then baseline.sql or
-- baseline-tuned.sql (the evidence), then count.sql. It implements the
-- rules of docs/xref.md for the data `seams gen` writes: an IPv4 registry
-- (IPv6 events, which gen puts in documentation space, are compared as
-- text), IPv4-mapped addresses, full-length prefixes, device types in any
-- case, values with spaces, timestamps with offsets and nanoseconds (kept
-- as Unix nanoseconds: DuckDB's TIMESTAMP holds microseconds, and gen
-- plants events one nanosecond outside a window).
-- ${REPORTS}, ${INDICATORS} and ${SHARED} are filled in by bench/duckdb.mjs.

CREATE MACRO addr(s) AS regexp_replace(lower(trim(s)), '^::ffff:', '');
CREATE MACRO ip4(s) AS CASE WHEN regexp_full_match(s, '\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}') THEN
    CAST(split_part(s, '.', 1) AS BIGINT) * 16777216 + CAST(split_part(s, '.', 2) AS BIGINT) * 65536 +
    CAST(split_part(s, '.', 3) AS BIGINT) * 256 + CAST(split_part(s, '.', 4) AS BIGINT) END;
CREATE MACRO ns(s) AS epoch_ns(CAST(s AS TIMESTAMP_NS));
CREATE MACRO day_ns(s) AS epoch_ns(CAST(CAST(s AS DATE) AS TIMESTAMP_NS));

CREATE TABLE reports AS
SELECT * FROM read_json('${REPORTS}', format = 'newline_delimited', columns = {
    id: 'VARCHAR', received: 'VARCHAR', incident: 'VARCHAR',
    ips: 'STRUCT(ip VARCHAR, "at" VARCHAR, event VARCHAR, port INTEGER, proxy BOOLEAN)[]',
    devices: 'STRUCT(type VARCHAR, value VARCHAR, "at" VARCHAR)[]'});

CREATE TABLE events AS
SELECT report, a AS ip, ip4(a) AS ip4, t AS "at", proxy FROM (
    SELECT id AS report, addr(e.ip) AS a, ns(e.at) AS t, coalesce(e.proxy, false) AS proxy
    FROM (SELECT id, unnest(ips) AS e FROM reports));

CREATE TABLE devs AS
SELECT id AS report, lower(trim(d.type)) || ':' || trim(d.value) AS device, ns(d.at) AS "at"
FROM (SELECT id, unnest(devices) AS d FROM reports);

CREATE TABLE inds AS
SELECT compound, lower(trim(kind)) AS kind, trim(value) AS value,
    CASE WHEN coalesce(trim(first_seen), '') = '' THEN NULL
         WHEN length(trim(first_seen)) = 10 THEN day_ns(trim(first_seen))
         ELSE ns(trim(first_seen)) END AS first_ns,
    CASE WHEN coalesce(trim(last_seen), '') = '' THEN NULL
         WHEN length(trim(last_seen)) = 10 THEN day_ns(trim(last_seen)) + 86400000000000 - 1
         ELSE ns(trim(last_seen)) END AS last_ns
FROM read_csv('${INDICATORS}', header = true, all_varchar = true);

-- ip indicators, and cidr indicators of full length, which are the same
CREATE TABLE ind_ip AS
SELECT compound, addr(split_part(value, '/', 1)) AS ip, first_ns, last_ns FROM inds
WHERE kind = 'ip' OR (kind = 'cidr' AND split_part(value, '/', 2) = '32');
CREATE TABLE ind_cidr AS
SELECT compound, lo, lo + (CAST(1 AS BIGINT) << (32 - bits)) - 1 AS hi, first_ns, last_ns FROM (
    SELECT compound, ip4(addr(split_part(value, '/', 1))) AS lo, CAST(split_part(value, '/', 2) AS INTEGER) AS bits, first_ns, last_ns
    FROM inds WHERE kind = 'cidr' AND split_part(value, '/', 2) <> '32');
CREATE TABLE ind_dev AS
SELECT compound, lower(trim(split_part(value, ':', 1))) || ':' || trim(substr(value, strpos(value, ':') + 1)) AS device, first_ns, last_ns
FROM inds WHERE kind = 'device';

CREATE TABLE shared(lo BIGINT, hi BIGINT);
INSERT INTO shared VALUES ${SHARED};
