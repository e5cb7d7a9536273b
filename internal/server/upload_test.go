package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/sqlite"
)

// Uploads of compounds, indicators and shared space take every format
// seams load reads (STIX 2.1, MISP events and warninglists,
// FollowTheMoney), compressed or not, and store what a load of the same
// file into a store holding the same stores: the same counts, the same
// compounds brought by a bundle.
func TestUploadRegistryFormats(t *testing.T) {
	f := newFixture(t)
	ref, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.NewOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	loadSmall(t, ref)
	p := seams.Operator(org, "tester")
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	zst := func(b []byte) []byte {
		w, _ := zstd.NewWriter(nil)
		return w.EncodeAll(b, nil)
	}
	plain := func(b []byte) []byte { return b }
	sawCompounds := false
	for _, tt := range []struct {
		kind, path, name, who string
		z                     func([]byte) []byte
	}{
		{"indicators", "../../stix/testdata/small.bundle.json", "small.stix.json", "analyst", zst},
		{"indicators", "../../stix/testdata/partner.json", "partner.json", "analyst", plain},
		{"indicators", "../../misp/testdata/small.misp.json", "small.misp.json", "analyst", gz},
		{"indicators", "../../misp/testdata/partner-event.json", "partner-event.json", "analyst", zst},
		{"compounds", "../../registryfile/testdata/compounds.ftm.json", "compounds.ftm.json", "analyst", gz},
		{"shared", "../../registryfile/testdata/shared.warninglist.json", "warninglist.json", "admin", zst},
		{"shared", "../../misp/testdata/warninglist.json", "cidr-list.json", "admin", plain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			o := load.NewOptions()
			o.Name = tt.name
			var rejected []string
			o.Reject = func(e *seams.RecordError) { rejected = append(rejected, e.Reason) }
			var want load.Result
			switch tt.kind {
			case "indicators":
				want, err = load.Indicators(context.Background(), ref, p, tt.path, o)
			case "compounds":
				want, err = load.Compounds(context.Background(), ref, p, tt.path, o)
			case "shared":
				want, err = load.Shared(context.Background(), ref, p, tt.path, o)
			}
			if err != nil {
				t.Fatal(err)
			}
			resp, b := f.do(t, tt.who, "POST", "/api/upload/"+tt.kind+"?name="+tt.name, bytes.NewReader(tt.z(raw)))
			var got uploadResult
			json.Unmarshal(b, &got)
			if resp.StatusCode >= 300 || got.Read != want.Read || got.Rejected != want.Rejected || got.New != want.New ||
				got.Updated != want.Updated || got.Unchanged != want.Unchanged || got.CompoundsNew != want.Compounds.New {
				t.Errorf("upload: %d %+v\nwant the counts of seams load: %+v", resp.StatusCode, got, want)
			}
			if want.Read == 0 || want.New+want.Updated+want.Unchanged == 0 {
				t.Errorf("the file stores nothing: %+v", want)
			}
			if len(got.Rejections) != len(rejected) {
				t.Errorf("%d rejections listed, load rejected %d", len(got.Rejections), len(rejected))
			}
			for i := range min(len(got.Rejections), len(rejected)) {
				if got.Rejections[i].Reason != rejected[i] || got.Rejections[i].File != tt.name {
					t.Errorf("rejection %d: %+v, load's %q", i, got.Rejections[i], rejected[i])
				}
			}
			sawCompounds = sawCompounds || got.CompoundsNew > 0
		})
	}
	if !sawCompounds {
		t.Error("no upload brought a compound: the test does not test compounds_new")
	}
	// A file of another kind is refused whole.
	raw, _ := os.ReadFile("../../stix/testdata/small.bundle.json")
	resp, b := f.do(t, "analyst", "POST", "/api/upload/compounds?name=bundle.json", bytes.NewReader(raw))
	if resp.StatusCode != http.StatusUnprocessableEntity || !bytes.Contains(b, []byte("this is a STIX 2.1 bundle, which holds no compounds")) {
		t.Errorf("a bundle as compounds: %d %s", resp.StatusCode, b)
	}
}
