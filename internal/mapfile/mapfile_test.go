package mapfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"", "one line\n", "no newline"} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := Open(p)
		if errors.Is(err, ErrUnsupported) {
			t.Skip("mapping not supported here")
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(f.Data) != content {
			t.Errorf("Data = %q, want %q", f.Data, content)
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("missing file: err = %v, want a not-found error", err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrUnsupported) {
		t.Errorf("directory: err = %v, want ErrUnsupported", err)
	}
}
