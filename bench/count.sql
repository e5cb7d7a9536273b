-- The counts bench/run compares with seams' summary.json.
CREATE TABLE findings AS SELECT report, compound, bool_or(ties) AS tied FROM evidence GROUP BY report, compound;

SELECT (SELECT count(*) FROM findings) AS findings,
       (SELECT count(DISTINCT report) FROM findings WHERE tied) AS tied_reports,
       (SELECT count(*) FROM (SELECT report FROM findings GROUP BY report HAVING NOT bool_or(tied))) AS potential_reports;
