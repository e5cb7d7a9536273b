package storetest_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/seams-dev/seams/internal/storetest"
	"github.com/seams-dev/seams/sqlite"
)

// TestDumpStoreV2 writes testdata/store-v2/rows.json from the SQLite store
// in SEAMS_DUMP_STORE, which seams at schema version 2 made (make.sh runs
// it). It does nothing otherwise.
func TestDumpStoreV2(t *testing.T) {
	dir := os.Getenv("SEAMS_DUMP_STORE")
	if dir == "" {
		t.Skip("set SEAMS_DUMP_STORE to a store made by seams at schema version 2 (see testdata/store-v2/make.sh)")
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.File))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil || v != 2 {
		t.Fatalf("the store in %s is at schema version %d (%v), want 2", dir, v, err)
	}
	b, err := storetest.DumpDB(db, os.Getenv("SEAMS_DUMP_NOTE"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(storetest.LegacyDir(), "rows.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
