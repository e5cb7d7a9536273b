// Package sqlite is the embedded case store: a data directory holding one
// SQLite database (modernc.org/sqlite, pure Go, no server). It implements
// seams.Store with the same schema and behaviour as package postgres.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/seams-dev/seams/internal/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// File is the name of the database in a data directory.
const File = "seams.db"

// Options configures Open. Use NewOptions for the defaults.
type Options struct {
	Logger *slog.Logger
	// BusyTimeout is how long a writer waits for another to finish.
	BusyTimeout time.Duration
	// Now is the clock, for tests.
	Now func() time.Time
}

// NewOptions returns the default options.
func NewOptions() Options { return Options{BusyTimeout: time.Minute} }

// Store is a seams.Store in a SQLite database.
type Store struct{ *sqlstore.Store }

// Unguard is the SQL that drops the triggers keeping the audit log
// append-only, for tests that play an attacker with write access to the
// database file.
const Unguard = `DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete`

// Dialect is SQLite's rendering of the shared schema.
var Dialect = &sqlstore.Dialect{
	Name: "sqlite",
	Types: map[string]string{
		"ID":   "INTEGER PRIMARY KEY AUTOINCREMENT", // never reuses a number: report seq must only grow
		"INT":  "INTEGER",
		"REAL": "REAL",
		"BLOB": "BLOB",
		"TEXT": "TEXT", // compares bytewise (BINARY) by default
		// Events are read in (report, n) order: keep them clustered so.
		"NOROWID": "WITHOUT ROWID",
		// A finding's evidence (a JSON array) as rows e, and the fields
		// of one: the filters of findings by rule, AS and source.
		"EVIDENCE":     "json_each(v.evidence) e",
		"EV_RULE":      "json_extract(e.value, '$.rule')",
		"EV_ASN":       "json_extract(e.value, '$.asn')",
		"EV_INDICATOR": "json_extract(e.value, '$.indicator')",
	},
	Extra: map[int][]string{
		1: {
			`CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
			`CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
		},
		3: sqlstore.SQLiteV3,
	},
}

// Open opens the store in dir, creating the directory (mode 0700: it holds
// report metadata and token hashes) and the database if needed, and
// migrating the schema.
func Open(ctx context.Context, dir string, o Options) (*Store, error) {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = time.Minute
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dir, File))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Create the file with mode 0600 before SQLite does (it would use the
	// umask); the WAL files follow the database's mode.
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	// WAL lets readers (a cross-reference's snapshot, the API) go on while
	// one writer commits; synchronous=FULL makes a commit durable across
	// power loss, not only across a crash of the process. The page cache
	// (64 MiB a connection, against SQLite's default 2 MiB) keeps the
	// upper levels of the address and id indexes in memory: loads insert
	// into them at random places, and with the default cache a load of a
	// million reports ran at half the speed of one of a hundred thousand.
	pragmas := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=cache_size(-65536)",
		o.BusyTimeout.Milliseconds())
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path}).String() + "?" + pragmas
	// One writer, whose transactions take the write lock when they begin
	// (BEGIN IMMEDIATE), so that two writers never deadlock upgrading a
	// read lock; several readers.
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	w.SetMaxOpenConns(1)
	// Readers map the database (up to 4 GiB): every read of the API is
	// audited, so a write follows each, and a write makes every other
	// connection drop its page cache; with the file mapped, reading the
	// pages again costs no system call (a search at a million reports went
	// from 132 to 62 ms). The writer keeps reading through its cache.
	r, err := sql.Open("sqlite", dsn+"&_pragma=mmap_size(4294967296)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	r.SetMaxOpenConns(4)
	s, err := sqlstore.New(ctx, w, r, Dialect, sqlstore.Options{Logger: o.Logger, Now: o.Now})
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &Store{s}, nil
}
