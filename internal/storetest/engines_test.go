package storetest_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/storetest"
	"github.com/seams-dev/seams/postgres"
	"github.com/seams-dev/seams/sqlite"
)

// SQLite: a data directory per test.
var sqliteEngine = storetest.Engine{
	Name: "sqlite",
	New: func(t testing.TB) (seams.Store, func() (seams.Store, error)) {
		dir := t.TempDir()
		open := func() (seams.Store, error) { return sqlite.Open(context.Background(), dir, sqlite.NewOptions()) }
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		return st, open
	},
	Unguard: sqlite.Unguard,
	Dialect: sqlite.Dialect,
	Empty: func(t testing.TB) (*sql.DB, func() (seams.Store, error)) {
		dir := t.TempDir()
		db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.File)+"?_pragma=foreign_keys(1)")
		if err != nil {
			t.Fatal(err)
		}
		return db, func() (seams.Store, error) { return sqlite.Open(context.Background(), dir, sqlite.NewOptions()) }
	},
}

func TestSQLite(t *testing.T) { storetest.Run(t, sqliteEngine) }

// PostgreSQL: a schema per test in the database SEAMS_TEST_POSTGRES names
// (.ci/postgres starts one and prints the variable).
func postgresEngine(t *testing.T) storetest.Engine {
	base := os.Getenv("SEAMS_TEST_POSTGRES")
	if base == "" {
		t.Skip(strings.Repeat("!", 72) + "\n" +
			"SKIPPING the PostgreSQL store suite: SEAMS_TEST_POSTGRES is not set.\n" +
			"Start a server with: eval \"$(.ci/postgres)\"  (CI always does)\n" +
			strings.Repeat("!", 72))
	}
	return storetest.Engine{
		Name:    "postgres",
		New:     func(t testing.TB) (seams.Store, func() (seams.Store, error)) { return NewPostgres(t, base) },
		Unguard: postgres.Unguard,
		Dialect: postgres.Dialect,
		Empty: func(t testing.TB) (*sql.DB, func() (seams.Store, error)) {
			dsn := newPostgresSchema(t, base)
			cfg, err := pgx.ParseConfig(dsn)
			if err != nil {
				t.Fatal(err)
			}
			return stdlib.OpenDB(*cfg), func() (seams.Store, error) { return postgres.Open(context.Background(), dsn, postgres.NewOptions()) }
		},
	}
}

var schemas atomic.Int64

// NewPostgres creates a fresh schema in the database at base and opens a
// store in it; the schema is dropped when the test ends.
func NewPostgres(t testing.TB, base string) (seams.Store, func() (seams.Store, error)) {
	t.Helper()
	st, open, _ := newPostgresDSN(t, base)
	return st, open
}

// newPostgresDSN is NewPostgres, also returning the URL of the schema.
func newPostgresDSN(t testing.TB, base string) (seams.Store, func() (seams.Store, error), string) {
	t.Helper()
	dsn := newPostgresSchema(t, base)
	open := func() (seams.Store, error) { return postgres.Open(context.Background(), dsn, postgres.NewOptions()) }
	st, err := open()
	if err != nil {
		t.Fatal(err)
	}
	return st, open, dsn
}

// newPostgresSchema creates an empty schema in the database at base and
// returns the URL that makes it the search path; the schema is dropped
// when the test ends.
func newPostgresSchema(t testing.TB, base string) string {
	t.Helper()
	ctx := context.Background()
	schema := fmt.Sprintf("t_%d_%d", time.Now().UnixNano(), schemas.Add(1))
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatalf("SEAMS_TEST_POSTGRES: %v", err)
	}
	admin := stdlib.OpenDB(*cfg)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("SEAMS_TEST_POSTGRES: %v", err)
	}
	qv := u.Query()
	qv.Set("search_path", schema)
	u.RawQuery = qv.Encode()
	return u.String()
}

func TestPostgres(t *testing.T) { storetest.Run(t, postgresEngine(t)) }
