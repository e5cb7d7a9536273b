package ftm

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/seams-dev/seams/internal/golden"

	"github.com/seams-dev/seams"
)

// goldenFile compares got with testdata/name (see package golden).
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

func TestMain(m *testing.M) { golden.Main(m, "testdata/*.golden") }

func describe(cs []seams.Compound, g *Graph, rej []*seams.RecordError) []byte {
	var b bytes.Buffer
	for _, c := range cs {
		fmt.Fprintf(&b, "compound %s name=%q aliases=%q country=%s province=%q loc=%v,%v,%v status=%s\n",
			c.ID, c.Name, c.Aliases, c.Country, c.Province, c.HasLocation, c.Lat, c.Lon, c.Status)
	}
	for _, n := range g.Nodes {
		keys := make([]string, 0, len(n.Properties))
		for k := range n.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "node %s %s %q line=%d props=%s\n", n.ID, n.Schema, n.Caption, n.Line, strings.Join(keys, ","))
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "edge %q %s %q %s -> %s line=%d\n", e.ID, e.Schema, e.Property, e.Source, e.Target, e.Line)
	}
	for _, e := range rej {
		fmt.Fprintf(&b, "rejected %s\n", e.Error())
	}
	return b.Bytes()
}

func TestReadGolden(t *testing.T) {
	mf, _ := os.Open("testdata/compound-map.csv")
	defer mf.Close()
	var rej []*seams.RecordError
	keep := func(e *seams.RecordError) { rej = append(rej, e) }
	m, err := ReadCompoundMap(mf, "compound-map.csv", keep)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open("testdata/entities.ftm.json")
	defer f.Close()
	o := DefaultOptions()
	o.CompoundMap = m
	cs, g, err := ReadOptions(f, "entities.ftm.json", o, keep)
	if err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "entities.golden", describe(cs, g, rej))
}

// TestEveryLineAccounted: each non-blank line is a node, an edge or a
// rejection of the whole line.
func TestEveryLineAccounted(t *testing.T) {
	raw, _ := os.ReadFile("testdata/entities.ftm.json")
	var rej []*seams.RecordError
	_, g, err := Read(bytes.NewReader(raw), "e.json", func(e *seams.RecordError) { rej = append(rej, e) })
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	for _, n := range g.Nodes {
		used[n.Line] = true
	}
	for _, e := range g.Edges {
		if e.ID != "" {
			used[e.Line] = true
		}
	}
	whole := map[int]bool{}
	for _, e := range rej {
		if e.Item == "" {
			whole[e.Line] = true
		}
	}
	for i, l := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		n := i + 1
		if strings.TrimSpace(l) == "" {
			continue
		}
		if used[n] == whole[n] {
			t.Errorf("line %d: used=%v rejected whole=%v; want exactly one", n, used[n], whole[n])
		}
	}
}

func TestLongLineAndDepth(t *testing.T) {
	long := `{"id":"a","schema":"Person","properties":{"name":["` + strings.Repeat("x", 300) + `"]}}`
	deep := `{"id":"b","schema":"Person","properties":{"name":[` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `]}}`
	ok := `{"id":"c","schema":"Person","properties":{"name":["Person Gamma Example"]}}`
	in := long + "\n" + deep + "\r\n" + ok // no final newline
	var rej []*seams.RecordError
	o := DefaultOptions()
	o.MaxLine = 100
	_, g, err := ReadOptions(strings.NewReader(in), "l.json", o, func(e *seams.RecordError) { rej = append(rej, e) })
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 1 || g.Nodes[0].ID != "c" || g.Nodes[0].Line != 3 {
		t.Errorf("nodes %+v", g.Nodes)
	}
	if len(rej) != 2 || rej[0].Line != 1 || !strings.Contains(rej[0].Reason, "longer than 100") ||
		rej[1].Line != 2 || !strings.Contains(rej[1].Reason, "nested deeper") {
		t.Errorf("rejections %v", rej)
	}
	o.MaxNodes = 0
	o.MaxLine = 0
	o.MaxNodes = 1
	if _, _, err := ReadOptions(strings.NewReader(ok+"\n"+strings.Replace(ok, `"c"`, `"d"`, 1)), "l.json", o, nil); err == nil ||
		!strings.Contains(err.Error(), "more than 1 entities") {
		t.Errorf("MaxNodes: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	b, err := os.ReadFile("testdata/entities.ftm.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"id":"x","schema":"Sanction","properties":{"entity":[{"id":"y","schema":"Person","properties":{}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o := Options{MaxLine: 1 << 16, MaxDepth: 16, MaxNodes: 1 << 16}
		cs, g, err := ReadOptions(bytes.NewReader(b), "f.json", o, func(e *seams.RecordError) {
			if e.File != "f.json" || e.Line < 1 || e.Reason == "" {
				t.Fatalf("rejection without file, line or reason: %+v", e)
			}
		})
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, n := range g.Nodes {
			if n.ID == "" || ids[n.ID] {
				t.Fatalf("empty or repeated node id %q", n.ID)
			}
			ids[n.ID] = true
		}
		seen := map[string]bool{}
		for _, c := range cs {
			if !seams.ValidCompoundID(c.ID) || seen[c.ID] {
				t.Fatalf("invalid or repeated compound %q", c.ID)
			}
			seen[c.ID] = true
		}
	})
}
