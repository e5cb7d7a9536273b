-- baseline.sql tuned: the evidence is gathered one rule at a time, which
-- DuckDB 1.5 plans better than the one UNION ALL an analyst writes first.
-- bench/run measures both. After load.sql; count.sql follows.
-- ${DRIFT_NS} is filled in by bench/duckdb.mjs.

-- One statement per rule: written as one UNION ALL (baseline.sql), DuckDB
-- 1.5 picks a plan for the prefix join that is many times slower on some
-- data sets (8 s instead of 0.3 s at 200,000 reports on this machine).
CREATE TABLE evidence(report VARCHAR, compound VARCHAR, ties BOOLEAN);
-- an exact address in its window: tied unless proxy or shared
INSERT INTO evidence
SELECT e.report, i.compound,
       NOT e.proxy AND NOT EXISTS (SELECT 1 FROM shared s WHERE e.ip4 BETWEEN s.lo AND s.hi)
FROM events e JOIN ind_ip i ON e.ip = i.ip
WHERE (i.first_ns IS NULL OR e.at >= i.first_ns) AND (i.last_ns IS NULL OR e.at <= i.last_ns);
-- the same address within the drift of its window: potential
INSERT INTO evidence
SELECT e.report, i.compound, false
FROM events e JOIN ind_ip i ON e.ip = i.ip
WHERE NOT ((i.first_ns IS NULL OR e.at >= i.first_ns) AND (i.last_ns IS NULL OR e.at <= i.last_ns))
  AND (i.first_ns IS NULL OR e.at >= i.first_ns - ${DRIFT_NS})
  AND (i.last_ns IS NULL OR e.at <= i.last_ns + ${DRIFT_NS});
-- an address inside a prefix, in its window: potential
INSERT INTO evidence
SELECT e.report, c.compound, false
FROM events e JOIN ind_cidr c ON e.ip4 BETWEEN c.lo AND c.hi
WHERE (c.first_ns IS NULL OR e.at >= c.first_ns) AND (c.last_ns IS NULL OR e.at <= c.last_ns);
-- a device, its time missing or in the window: tied
INSERT INTO evidence
SELECT d.report, i.compound, true
FROM devs d JOIN ind_dev i ON d.device = i.device
WHERE d.at IS NULL OR ((i.first_ns IS NULL OR d.at >= i.first_ns) AND (i.last_ns IS NULL OR d.at <= i.last_ns));
