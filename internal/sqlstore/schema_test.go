package sqlstore

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReleasedSchema holds the migrations of versions 1 and 2 to the copy
// of them frozen at their release (internal/storetest/testdata/store-v2/schema.sql,
// from which the migration tests build a store of version 2): a released
// step is never edited, and an edit fails here.
func TestReleasedSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "storetest", "testdata", "store-v2", "schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	// Statements end with a semicolon at the end of a line; comments are
	// lines starting with --.
	var frozen []string
	var cur []string
	for _, line := range strings.Split(string(b), "\n") {
		if len(cur) == 0 && (strings.TrimSpace(line) == "" || strings.HasPrefix(line, "--")) {
			continue
		}
		if s, ok := strings.CutSuffix(line, ";"); ok {
			frozen = append(frozen, strings.Join(append(cur, s), "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	// The first statement creates the table of migrations, as migrateStep
	// does before any step.
	if len(frozen) == 0 || !strings.HasPrefix(norm(frozen[0]), "CREATE TABLE IF NOT EXISTS schema_migrations") {
		t.Fatalf("schema.sql does not start with schema_migrations: %q", frozen)
	}
	released := append(slices.Clone(migrations[0]), migrations[1]...)
	if !slices.EqualFunc(frozen[1:], released, func(a, b string) bool { return norm(a) == norm(b) }) {
		for i := range max(len(frozen)-1, len(released)) {
			var f, r string
			if i+1 < len(frozen) {
				f = norm(frozen[i+1])
			}
			if i < len(released) {
				r = norm(released[i])
			}
			if f != r {
				t.Errorf("statement %d of versions 1-2 was edited:\n code:   %s\n frozen: %s", i+1, r, f)
				break
			}
		}
	}
	if SchemaVersion() < 4 {
		t.Errorf("schema version %d: version 4 keeps the associated flags", SchemaVersion())
	}
}
