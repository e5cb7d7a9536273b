package observe

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestOpenCompressed: observations compressed with zstd are read under a
// name that says so and one that does not, as gzip ones are; a compressed
// Parquet file is refused, saying why.
func TestOpenCompressed(t *testing.T) {
	dir := t.TempDir()
	line := AppendJSON(nil, testObs(nil))
	zw, _ := zstd.NewWriter(nil)
	z := zw.EncodeAll(line, nil)
	for _, name := range []string{"a.jsonl.zst", "b.jsonl"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, z, 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := Open(p, "")
		if err != nil {
			t.Fatal(err)
		}
		r, err := in.Reader()
		if err != nil {
			t.Fatal(err)
		}
		obs, rej, err := readAll(t, r)
		in.Close()
		if err != nil || len(rej) > 0 || len(obs) != 1 || obs[0].obs != *testObs(nil) {
			t.Errorf("%s: %v %v %+v", name, err, rej, obs)
		}
	}
	var pq bytes.Buffer
	pw := NewParquetWriter(&pq)
	pw.Write(testObs(nil))
	pw.Close()
	for name, data := range map[string][]byte{"c.parquet.zst": zw.EncodeAll(pq.Bytes(), nil), "d.parquet": zw.EncodeAll(pq.Bytes(), nil)} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o600)
		if _, err := Open(p, ""); err == nil || !strings.Contains(err.Error(), "zstd") {
			t.Errorf("%s: %v, want an error saying it is zstd-compressed", name, err)
		}
	}
}
