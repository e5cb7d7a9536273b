package stix

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaBase is the $id prefix of the official STIX 2.1 schemas.
const schemaBase = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"

// compileSchemas loads the committed official schemas under their $id, so
// that nothing is fetched, and compiles the schema of each object type
// seams writes.
func compileSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	root := filepath.Join("testdata", "schemas")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		return c.AddResource(schemaBase+filepath.ToSlash(rel), doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	for typ, file := range map[string]string{
		"identity": "sdos/identity.json", "indicator": "sdos/indicator.json",
		"infrastructure": "sdos/infrastructure.json", "location": "sdos/location.json",
		"relationship": "sros/relationship.json", "sighting": "sros/sighting.json",
	} {
		s, err := c.Compile(schemaBase + file)
		if err != nil {
			t.Fatalf("compile %s: %v", file, err)
		}
		out[typ] = s
	}
	return out
}

// TestBundleSchema validates every object of an exported bundle against the
// official STIX 2.1 schema of its type, and the bundle itself against the
// properties the bundle schema requires (type, id, a non-empty objects).
func TestBundleSchema(t *testing.T) {
	schemas := compileSchemas(t)
	var buf bytes.Buffer
	if err := WriteBundle(&buf, sampleExport(t)); err != nil {
		t.Fatal(err)
	}
	var b struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b.Type != "bundle" || !strings.HasPrefix(b.ID, "bundle--") || len(b.Objects) == 0 {
		t.Fatalf("bundle envelope: type %q id %q, %d objects", b.Type, b.ID, len(b.Objects))
	}
	seen := map[string]int{}
	ids := map[string]bool{}
	for _, raw := range b.Objects {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Type, ID string }
		json.Unmarshal(raw, &head)
		if ids[head.ID] {
			t.Errorf("id %s appears twice", head.ID)
		}
		ids[head.ID] = true
		s := schemas[head.Type]
		if s == nil {
			t.Errorf("object of type %q has no schema here", head.Type)
			continue
		}
		seen[head.Type]++
		if err := s.Validate(v); err != nil {
			t.Errorf("%s does not validate: %v\n%s", head.ID, err, raw)
		}
	}
	for typ := range schemas {
		if seen[typ] == 0 {
			t.Errorf("the sample bundle has no %s: the test would not check it", typ)
		}
	}
	// The schemas do catch mistakes: a sighting with a count too large, an
	// indicator without pattern_type.
	for _, bad := range []string{
		`{"type":"sighting","spec_version":"2.1","id":"sighting--6ba7b811-9dad-41d1-80b4-00c04fd430c8","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","sighting_of_ref":"indicator--6ba7b811-9dad-41d1-80b4-00c04fd430c8","count":1000000000}`,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--6ba7b811-9dad-41d1-80b4-00c04fd430c8","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[x:y = 'z']","valid_from":"2024-01-01T00:00:00Z"}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		var head struct{ Type string }
		json.Unmarshal([]byte(bad), &head)
		if schemas[head.Type].Validate(v) == nil {
			t.Errorf("schema accepted an invalid %s", head.Type)
		}
	}
}
