package ftm

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/jsonlimit"
)

// Options configure Read.
type Options struct {
	// CompoundMap maps entity ids to compound ids, for data whose entities
	// cannot carry a keyword (OpenSanctions). It wins over a keyword.
	CompoundMap map[string]string
	// MaxLine is the longest line read, in bytes; a longer one is rejected
	// and skipped without being held in memory.
	MaxLine int
	// MaxDepth is the deepest nesting of arrays and objects in a line
	// (nested entities included).
	MaxDepth int
	// MaxNodes bounds the entities kept, so that a hostile file cannot
	// make the graph grow without end; past it, Read fails.
	MaxNodes int
}

// DefaultOptions are the options of Read: lines of at most 4 MiB, depth 16,
// at most ten million entities.
func DefaultOptions() Options { return Options{MaxLine: 4 << 20, MaxDepth: 16, MaxNodes: 10_000_000} }

// Read reads FollowTheMoney entities as JSON lines with DefaultOptions.
func Read(r io.Reader, file string, reject func(*seams.RecordError)) ([]seams.Compound, *Graph, error) {
	return ReadOptions(r, file, DefaultOptions(), reject)
}

// entity is one line as FollowTheMoney writes it.
type entity struct {
	ID         string                       `json:"id"`
	Schema     string                       `json:"schema"`
	Caption    string                       `json:"caption"`
	Properties map[string][]json.RawMessage `json:"properties"`
}

// ReadOptions reads FollowTheMoney entities, one JSON object a line, and
// returns the compounds among them and the entity graph. Every line is used
// or handed to reject with its line number (a value that cannot be read is
// rejected on its own, Item properties.NAME[I], and the entity kept). The
// error is for a file that cannot be read on.
func ReadOptions(r io.Reader, file string, o Options, reject func(*seams.RecordError)) ([]seams.Compound, *Graph, error) {
	if reject == nil {
		reject = func(*seams.RecordError) {}
	}
	d := DefaultOptions()
	if o.MaxLine <= 0 {
		o.MaxLine = d.MaxLine
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = d.MaxDepth
	}
	if o.MaxNodes <= 0 {
		o.MaxNodes = d.MaxNodes
	}
	rd := &reader{file: file, o: o, reject: reject, g: &Graph{}, seen: map[string]int{}}
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	for n := 1; ; n++ {
		var err error
		var long bool
		line, long, err = readLine(br, line[:0], o.MaxLine)
		if err != nil && err != io.EOF {
			return nil, nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		if long {
			reject(&seams.RecordError{File: file, Line: n, Reason: fmt.Sprintf("line longer than %d bytes", o.MaxLine),
				Raw: seams.CutRaw(line, seams.MaxRaw)})
		} else if len(bytes.TrimSpace(line)) > 0 {
			if err := rd.line(n, line); err != nil {
				return nil, nil, err
			}
		}
		if err == io.EOF {
			break
		}
	}
	return rd.compounds(), rd.g, nil
}

// readLine reads one line into buf, without its line ending. A line longer
// than max is cut at max and long is set; the rest of it is skipped.
func readLine(br *bufio.Reader, buf []byte, limit int) (line []byte, long bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !long {
			room := limit - len(buf)
			if len(chunk) > room+1 || len(chunk) == room+1 && chunk[len(chunk)-1] != '\n' {
				buf = append(buf, chunk[:max(room, 0)]...)
				long = true
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil:
			return bytes.TrimRight(buf, "\r\n"), long, err
		}
		return bytes.TrimRight(buf, "\r\n"), long, nil
	}
}

type reader struct {
	file   string
	o      Options
	reject func(*seams.RecordError)
	g      *Graph
	seen   map[string]int // entity id -> line it was first read on
	order  []string       // compound entity ids, in file order
}

func (rd *reader) fail(line int, item, raw string, format string, args ...any) {
	rd.reject(&seams.RecordError{File: rd.file, Line: line, Item: item, Reason: fmt.Sprintf(format, args...), Raw: raw})
}

func (rd *reader) line(n int, b []byte) error {
	raw := seams.TruncateRaw(b)
	if err := jsonlimit.CheckDepth(b, rd.o.MaxDepth); err != nil {
		rd.fail(n, "", raw, "%v", err)
		return nil
	}
	var e entity
	if err := json.Unmarshal(b, &e); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			rd.fail(n, "", raw, "%q is a JSON %s, not what FollowTheMoney gives it", te.Field, te.Value)
		} else if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
			rd.fail(n, "", raw, "not a JSON object")
		} else {
			rd.fail(n, "", raw, "not valid JSON: %v", err)
		}
		return nil
	}
	return rd.entity(n, &e, raw)
}

// entity adds e (and any entity nested in its properties) to the graph.
func (rd *reader) entity(n int, e *entity, raw string) error {
	switch {
	case e.ID == "":
		rd.fail(n, "", raw, "entity without an id")
		return nil
	case len(e.ID) > seams.MaxKey:
		rd.fail(n, "", raw, "entity id longer than %d bytes", seams.MaxKey)
		return nil
	case e.Schema == "":
		rd.fail(n, "", raw, "entity %q without a schema", cut(e.ID))
		return nil
	}
	_, isEdge := edgeSchemata[e.Schema]
	if !isEdge && !nodeSchemata[e.Schema] {
		rd.fail(n, "", raw, "skipped: schema %q is not one seams reads (%s)", cut(e.Schema), schemataText())
		return nil
	}
	if first, dup := rd.seen[e.ID]; dup {
		rd.fail(n, "", raw, "duplicate entity id %q (first on line %d)", cut(e.ID), first)
		return nil
	}
	if len(rd.seen) >= rd.o.MaxNodes {
		return fmt.Errorf("%s:%d: more than %d entities", rd.file, n, rd.o.MaxNodes)
	}
	rd.seen[e.ID] = n
	props := map[string][]string{}
	names := make([]string, 0, len(e.Properties))
	for k := range e.Properties {
		names = append(names, k)
	}
	sort.Strings(names) // rejections in a stable order
	for _, k := range names {
		for i, v := range e.Properties[k] {
			item := "properties." + k + "[" + strconv.Itoa(i) + "]"
			v = bytes.TrimSpace(v)
			switch {
			case len(v) > 0 && v[0] == '"':
				var s string
				json.Unmarshal(v, &s)
				props[k] = append(props[k], s)
			case len(v) > 0 && v[0] == '{':
				// A nested entity (OpenSanctions' nested exports): keep it,
				// and refer to it by id.
				var sub entity
				if err := json.Unmarshal(v, &sub); err != nil || sub.ID == "" {
					rd.fail(n, item, seams.TruncateRaw(v), "nested value is not an entity with an id")
					continue
				}
				props[k] = append(props[k], sub.ID)
				if _, known := rd.seen[sub.ID]; !known {
					if err := rd.entity(n, &sub, seams.TruncateRaw(v)); err != nil {
						return err
					}
				}
			default:
				rd.fail(n, item, seams.TruncateRaw(v), "value is not a string")
			}
		}
	}
	if ends, ok := edgeSchemata[e.Schema]; ok {
		src, dst := props[ends[0]], props[ends[1]]
		if len(src) == 0 || len(dst) == 0 {
			rd.fail(n, "", raw, "%s %q without %s or %s", e.Schema, cut(e.ID), ends[0], ends[1])
			delete(rd.seen, e.ID)
			return nil
		}
		for _, s := range src {
			for _, t := range dst {
				rd.g.Edges = append(rd.g.Edges, Edge{ID: e.ID, Schema: e.Schema, Source: s, Target: t, Properties: props, Line: n})
			}
		}
		return nil
	}
	caption := e.Caption
	if caption == "" && len(props["name"]) > 0 {
		caption = props["name"][0]
	}
	if caption == "" {
		caption = e.ID
	}
	rd.g.Nodes = append(rd.g.Nodes, Node{ID: e.ID, Schema: e.Schema, Caption: caption, Properties: props, Line: n})
	for _, k := range names {
		if !refProperties[k] {
			continue
		}
		for _, t := range props[k] {
			rd.g.Edges = append(rd.g.Edges, Edge{Schema: e.Schema, Property: k, Source: e.ID, Target: t, Line: n})
		}
	}
	if _, mapped := rd.o.CompoundMap[e.ID]; mapped || keywordCompound(props) != "" {
		rd.order = append(rd.order, e.ID)
	}
	return nil
}

// keywordCompound returns the compound id a keywords value gives, or "".
func keywordCompound(props map[string][]string) string {
	for _, k := range props["keywords"] {
		if id, ok := strings.CutPrefix(strings.TrimSpace(k), KeywordCompound); ok {
			return strings.TrimSpace(id)
		}
	}
	return ""
}

// compounds maps the compound entities, once the whole file is read (an
// address may come after the entity it belongs to).
func (rd *reader) compounds() []seams.Compound {
	byID := make(map[string]*Node, len(rd.g.Nodes))
	for i := range rd.g.Nodes {
		byID[rd.g.Nodes[i].ID] = &rd.g.Nodes[i]
	}
	var out []seams.Compound
	first := map[string]int{}
	for _, eid := range rd.order {
		nd := byID[eid]
		id := rd.o.CompoundMap[eid]
		if id == "" {
			id = keywordCompound(nd.Properties)
		}
		fail := func(format string, args ...any) {
			rd.fail(nd.Line, "compound", "", "entity %q: "+format, append([]any{cut(eid)}, args...)...)
		}
		if !seams.ValidCompoundID(id) {
			fail("compound id %q is not one (1-64 of A-Za-z0-9._-)", cut(id))
			continue
		}
		if l, dup := first[id]; dup {
			fail("duplicate compound id %q (first on line %d)", id, l)
			continue
		}
		c := seams.Compound{ID: id, Name: nd.Caption}
		p := nd.Properties
		for _, a := range append(append([]string{}, p["name"]...), p["alias"]...) {
			if a != c.Name && a != "" {
				c.Aliases = append(c.Aliases, a)
			}
		}
		country := firstOf(p, "country", "jurisdiction", "mainCountry")
		// The place: the entity itself (an Address or RealEstate), else
		// the first Address it refers to.
		geo := nd
		if _, ok := p["latitude"]; !ok {
			for _, a := range p["addressEntity"] {
				if an := byID[a]; an != nil && an.Schema == "Address" {
					geo = an
					break
				}
			}
		}
		if country == "" && geo != nd {
			country = firstOf(geo.Properties, "country")
		}
		if country != "" {
			cc, err := seams.ParseCountry(country)
			if err != nil {
				fail("%v", err)
				continue
			}
			c.Country = cc
		}
		c.Province = firstOf(geo.Properties, "region", "state")
		lat, lon := firstOf(geo.Properties, "latitude"), firstOf(geo.Properties, "longitude")
		if lat != "" || lon != "" {
			la, err1 := strconv.ParseFloat(lat, 64)
			lo, err2 := strconv.ParseFloat(lon, 64)
			if err1 != nil || err2 != nil || !(la >= -90 && la <= 90 && lo >= -180 && lo <= 180) {
				fail("latitude %q and longitude %q are not a place", lat, lon)
				continue
			}
			c.Lat, c.Lon, c.HasLocation = la, lo, true
		}
		if st, err := seams.ParseStatus(firstOf(p, "status")); err == nil {
			c.Status = st
		}
		first[id] = nd.Line
		out = append(out, c)
	}
	return out
}

func firstOf(p map[string][]string, keys ...string) string {
	for _, k := range keys {
		for _, v := range p[k] {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return ""
}

// ReadCompoundMap reads a mapping of entity ids to compound ids: a CSV with
// the header entity_id,compound_id. A row with an invalid compound id or a
// repeated entity id is rejected.
func ReadCompoundMap(r io.Reader, file string, reject func(*seams.RecordError)) (map[string]string, error) {
	if reject == nil {
		reject = func(*seams.RecordError) {}
	}
	cr := csv.NewReader(io.LimitReader(r, 256<<20))
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(head) < 2 || strings.TrimSpace(strings.TrimPrefix(head[0], "\uFEFF")) != "entity_id" || strings.TrimSpace(head[1]) != "compound_id" {
		return nil, fmt.Errorf("%s:1: want the header entity_id,compound_id", file)
	}
	m := map[string]string{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return m, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				reject(&seams.RecordError{File: file, Line: pe.StartLine, Reason: pe.Err.Error()})
				continue
			}
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(rec) < 2 {
			reject(&seams.RecordError{File: file, Line: line, Reason: "want entity_id,compound_id"})
			continue
		}
		eid, cid := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		switch {
		case eid == "":
			reject(&seams.RecordError{File: file, Line: line, Reason: "entity_id is empty"})
		case !seams.ValidCompoundID(cid):
			reject(&seams.RecordError{File: file, Line: line, Reason: fmt.Sprintf("compound_id %q is not one (1-64 of A-Za-z0-9._-)", cut(cid))})
		case m[eid] != "":
			reject(&seams.RecordError{File: file, Line: line, Reason: fmt.Sprintf("entity %q is mapped twice", cut(eid))})
		default:
			m[eid] = cid
		}
	}
}

func cut(s string) string {
	if len(s) > 200 {
		return seams.CutRaw([]byte(s), 200)
	}
	return s
}
