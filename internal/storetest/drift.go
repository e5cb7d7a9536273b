package storetest

// undoIndicatorDrift takes a store back before schemaIndicatorDrift (both
// engines): the tests that migrate an earlier store undo it before the
// steps they undo, later steps first.
var undoIndicatorDrift = []string{`ALTER TABLE indicators DROP COLUMN drift_ns`}
