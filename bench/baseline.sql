-- The SQL an analyst would write to cross-reference seams' JSON Lines
-- reports against its CSV registry in DuckDB: the baseline bench/run
-- compares `seams xref` with. After load.sql; count.sql follows.
-- ${DRIFT_NS} is filled in by bench/duckdb.mjs.

-- The evidence, one rule after another, in one statement, as an analyst
-- writes it first. (baseline-tuned.sql is the same with one statement per
-- rule, which DuckDB 1.5 plans far better on some data sets.)
CREATE TABLE evidence AS
-- an exact address in its window: tied unless proxy or shared
SELECT e.report, i.compound,
       NOT e.proxy AND NOT EXISTS (SELECT 1 FROM shared s WHERE e.ip4 BETWEEN s.lo AND s.hi) AS ties
FROM events e JOIN ind_ip i ON e.ip = i.ip
WHERE (i.first_ns IS NULL OR e.at >= i.first_ns) AND (i.last_ns IS NULL OR e.at <= i.last_ns)
UNION ALL
-- the same address within the drift of its window: potential
SELECT e.report, i.compound, false
FROM events e JOIN ind_ip i ON e.ip = i.ip
WHERE NOT ((i.first_ns IS NULL OR e.at >= i.first_ns) AND (i.last_ns IS NULL OR e.at <= i.last_ns))
  AND (i.first_ns IS NULL OR e.at >= i.first_ns - ${DRIFT_NS})
  AND (i.last_ns IS NULL OR e.at <= i.last_ns + ${DRIFT_NS})
UNION ALL
-- an address inside a prefix, in its window: potential
SELECT e.report, c.compound, false
FROM events e JOIN ind_cidr c ON e.ip4 BETWEEN c.lo AND c.hi
WHERE (c.first_ns IS NULL OR e.at >= c.first_ns) AND (c.last_ns IS NULL OR e.at <= c.last_ns)
UNION ALL
-- a device, its time missing or in the window: tied
SELECT d.report, i.compound, true
FROM devs d JOIN ind_dev i ON d.device = i.device
WHERE d.at IS NULL OR ((i.first_ns IS NULL OR d.at >= i.first_ns) AND (i.last_ns IS NULL OR d.at <= i.last_ns));
