package storetest

// undoV5 takes a store of schema version 5 back to version 4 (both
// engines), for the tests that migrate an earlier store.
var undoV5 = []string{
	`DROP TABLE run_over`,
	`ALTER TABLE runs DROP COLUMN seams`,
	`ALTER TABLE runs DROP COLUMN parameters`,
	`ALTER TABLE finding_versions DROP COLUMN signals`,
	`ALTER TABLE finding_versions DROP COLUMN capped`,
}
