package footprint

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/seams-dev/seams"
)

// FuzzReadGeoJSON reads arbitrary bytes as a footprints file. It must never
// panic; a file it reads must account for every feature (returned or
// rejected, in order, as encoding/json counts them); footprints must be
// valid and indexable; errors must name the file and a line.
// The seed corpus is in testdata/fuzz/FuzzReadGeoJSON.
func FuzzReadGeoJSON(f *testing.F) {
	f.Add([]byte(collection(polygonFeature("c-test-a", square(103.5, 10.6, 200)))))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rej collector
		fps, err := ReadGeoJSON(bytes.NewReader(data), "f.geojson", testCompounds, rej.reject)
		lines := bytes.Count(data, []byte("\n")) + 1
		if err != nil {
			var re *seams.RecordError
			if !errors.As(err, &re) || re.File != "f.geojson" || re.Line < 1 || re.Line > lines || re.Reason == "" {
				t.Fatalf("error %v is not a record error naming the file and a line", err)
			}
			return
		}
		var doc struct{ Features []json.RawMessage }
		if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\uFEFF")), &doc); err != nil {
			t.Fatalf("read a file encoding/json refuses: %v", err)
		}
		if len(fps)+len(rej) != len(doc.Features) {
			t.Fatalf("%d footprints + %d rejected of %d features", len(fps), len(rej), len(doc.Features))
		}
		next := 0
		for _, e := range rej {
			if e.File != "f.geojson" || e.Line < 1 || e.Line > lines || e.Reason == "" || len(e.Raw) > seams.MaxRaw+len("…") {
				t.Fatalf("bad rejected record %+v", *e)
			}
			i, err := strconv.Atoi(e.Item[len("features[") : len(e.Item)-1])
			if err != nil || i < next {
				t.Fatalf("rejected item %q out of order", e.Item)
			}
			next = i + 1
		}
		for i := range fps {
			fp := &fps[i]
			if fp.AreaM2 <= 0 || fp.AreaM2 > MaxAreaM2 || fp.Line < 1 || fp.Line > lines || fp.Feature < 0 || fp.Feature >= len(doc.Features) {
				t.Fatalf("bad footprint %+v", fp)
			}
		}
		x, err := NewIndex(fps, testCompounds, 50)
		if err != nil {
			t.Fatalf("footprints cannot be indexed: %v", err)
		}
		for i := range fps {
			c := fps[i].Center
			x.Locate(c[0], c[1], 10, nil)
		}
	})
}
