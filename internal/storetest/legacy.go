package storetest

import (
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seams-dev/seams/internal/sqlstore"
)

// A store as an earlier seams left it, for the migration tests.
// testdata/store-v2 holds one made by seams at schema version 2 (the last
// release before versions 3 and 4): schema.sql and schema.ENGINE.sql are its
// schema as released, frozen; rows.json is every row of a store that
// seams made then from the files of testdata/associated (make.sh says how).
// A test builds that store in an empty database of an engine and opens it
// with this seams, as an upgrade does.

// dump is the form of rows.json: every row of every table, each value
// typed ("i:" integer, "f:" float, "t:" text, "b:" hex bytes, null), so
// that a value reads back the same in both engines (JSON numbers would
// lose nanoseconds).
type dump struct {
	Note   string      `json:"note"`
	Tables []dumpTable `json:"tables"`
}

type dumpTable struct {
	Name    string      `json:"name"`
	Columns []string    `json:"columns"`
	Rows    [][]*string `json:"rows"`
}

// legacyTables are the tables of a version 2 store, in an order that
// inserts no row before the rows it refers to.
var legacyTables = []string{"schema_migrations", "state", "orgs", "users", "tokens", "compounds", "indicator_files", "indicators",
	"shared_space", "reports", "report_ips", "report_devices", "runs", "findings", "finding_versions", "reviews", "audit"}

// DumpDB returns every row of the tables of a version 2 store in db as
// rows.json holds them.
func DumpDB(db *sql.DB, note string) ([]byte, error) {
	d := dump{Note: note}
	for _, name := range legacyTables {
		rows, err := db.Query(`SELECT * FROM ` + name + ` ORDER BY 1, 2`)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return nil, err
		}
		tb := dumpTable{Name: name, Columns: cols, Rows: [][]*string{}}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			row := make([]*string, len(cols))
			for i, v := range vals {
				var s string
				switch v := v.(type) {
				case nil:
					continue
				case int64:
					s = "i:" + strconv.FormatInt(v, 10)
				case float64:
					s = "f:" + strconv.FormatFloat(v, 'g', -1, 64)
				case string:
					s = "t:" + v
				case []byte:
					s = "b:" + hex.EncodeToString(v)
				default:
					rows.Close()
					return nil, fmt.Errorf("%s.%s: value of type %T", name, cols[i], v)
				}
				row[i] = &s
			}
			tb.Rows = append(tb.Rows, row)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		d.Tables = append(d.Tables, tb)
	}
	// One line a row, so that a diff of two dumps reads row by row.
	var out strings.Builder
	b := &out
	nj, _ := json.Marshal(d.Note)
	b.WriteString(`{"note": ` + string(nj) + `, "tables": [`)
	for i, tb := range d.Tables {
		if i > 0 {
			b.WriteString(",")
		}
		name, _ := json.Marshal(tb.Name)
		cols, _ := json.Marshal(tb.Columns)
		b.WriteString("\n{\"name\": " + string(name) + ", \"columns\": " + string(cols) + ", \"rows\": [")
		for k, row := range tb.Rows {
			if k > 0 {
				b.WriteString(",")
			}
			r, err := json.Marshal(row)
			if err != nil {
				return nil, err
			}
			b.WriteString("\n  " + string(r))
		}
		b.WriteString("]}")
	}
	b.WriteString("\n]}\n")
	return []byte(out.String()), nil
}

// LegacyDir is the directory of the version 2 store.
func LegacyDir() string {
	return filepath.Join(repoRoot(), "internal", "storetest", "testdata", "store-v2")
}

// SchemaStatements reads a schema file of LegacyDir: statements end with a
// semicolon at the end of a line, and lines starting with -- outside a
// statement are comments.
func SchemaStatements(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(LegacyDir(), name))
	must(t, err)
	var out []string
	var cur []string
	for _, line := range strings.Split(string(b), "\n") {
		if len(cur) == 0 && (strings.TrimSpace(line) == "" || strings.HasPrefix(line, "--")) {
			continue
		}
		if s, ok := strings.CutSuffix(line, ";"); ok {
			out = append(out, strings.Join(append(cur, s), "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		t.Fatalf("%s: a statement without its closing semicolon: %q", name, strings.Join(cur, "\n"))
	}
	return out
}

// identity finds the columns {{ID}} gives their numbers in a CREATE TABLE.
var identity = regexp.MustCompile(`(?s)CREATE TABLE (\w+) \(\s*(\w+) \{\{ID\}\}`)

// BuildLegacy makes db, an empty database of the engine of d, the store
// that seams at version 2 made: its schema from the frozen files, then the
// rows of rows.json.
func BuildLegacy(t testing.TB, db *sql.DB, d *sqlstore.Dialect) {
	t.Helper()
	common := SchemaStatements(t, "schema.sql")
	stmts := append(common, SchemaStatements(t, "schema."+d.Name+".sql")...)
	tx, err := db.Begin()
	must(t, err)
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.Exec(d.Render(s)); err != nil {
			t.Fatalf("version 2 schema: %v\n%s", err, s)
		}
	}
	b, err := os.ReadFile(filepath.Join(LegacyDir(), "rows.json"))
	must(t, err)
	var dm dump
	must(t, json.Unmarshal(b, &dm))
	ph := func(i int) string {
		if d.Dollar {
			return "$" + strconv.Itoa(i+1)
		}
		return "?"
	}
	for _, tb := range dm.Tables {
		for _, row := range tb.Rows {
			args := make([]any, len(row))
			for i, v := range row {
				if v == nil {
					continue
				}
				kind, text, _ := strings.Cut(*v, ":")
				switch kind {
				case "i":
					n, err := strconv.ParseInt(text, 10, 64)
					must(t, err)
					args[i] = n
				case "f":
					f, err := strconv.ParseFloat(text, 64)
					must(t, err)
					args[i] = f
				case "t":
					args[i] = text
				case "b":
					x, err := hex.DecodeString(text)
					must(t, err)
					args[i] = x
				default:
					t.Fatalf("rows.json: %s.%s: value %q", tb.Name, tb.Columns[i], *v)
				}
			}
			var q string
			if tb.Name == "state" {
				// The schema made the row; the dump says what it held.
				var set []string
				for i, c := range tb.Columns {
					set = append(set, c+" = "+ph(i))
				}
				q = `UPDATE state SET ` + strings.Join(set, ", ") + ` WHERE id = 1`
			} else {
				var marks []string
				for i := range tb.Columns {
					marks = append(marks, ph(i))
				}
				q = `INSERT INTO ` + tb.Name + ` (` + strings.Join(tb.Columns, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)`
			}
			if _, err := tx.Exec(q, args...); err != nil {
				t.Fatalf("rows.json: %s: %v", tb.Name, err)
			}
		}
	}
	if d.Dollar {
		// Rows were inserted with their numbers: identity sequences go on
		// after the highest, as they did in the store dumped. (SQLite's
		// AUTOINCREMENT follows explicit numbers by itself.)
		for _, s := range common {
			if m := identity.FindStringSubmatch(s); m != nil {
				if _, err := tx.Exec(fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), MAX(%s)) FROM %s`, m[1], m[2], m[2], m[1])); err != nil {
					t.Fatalf("identity of %s.%s: %v", m[1], m[2], err)
				}
			}
		}
	}
	must(t, tx.Commit())
}
