package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// This file holds the MISP core format (draft-dulaunoy-misp-core-format-20,
// section 2) as a table, written from the draft's text and not from what
// seams writes, and checks every key seams writes against it.

// level is how strongly the draft asks for a key.
type level int

const (
	may    level = iota // MAY, or described without a requirement
	should              // SHOULD
	shall               // SHALL, MUST, REQUIRED
)

// kind is the JSON form the draft gives a key.
type kind int

const (
	kString    kind = iota // a JSON string
	kUint                  // a JSON string holding an unsigned integer (ids, Unix timestamps, counts)
	kUUID                  // a JSON string holding an RFC 4122 UUID
	kUUIDOrNot             // a UUID, or "" for none (extends_uuid)
	kDate                  // a JSON string YYYY-MM-DD
	kSeen                  // an ISO 8601 datetime up to the microsecond with a zone, or null
	kBool                  // a JSON boolean
	kColour                // a JSON string #RRGGBB
	kArray                 // a JSON array (of the data model named in key.of)
	kObject                // a JSON object (of the data model named in key.of)
)

// key is one key of a data model: its requirement, form, the values it may
// take (nil: any of its form), and for an array or object the data model
// of its elements.
type key struct {
	level  level
	kind   kind
	values []string
	of     string
}

var (
	distribution    = []string{"0", "1", "2", "3", "4"}
	distributionAtt = []string{"0", "1", "2", "3", "4", "5"} // 5: inherit the event's
)

// coreFormat is the table: data model -> key -> rule. Keys absent from a
// model's table are not in the core format.
var coreFormat = map[string]map[string]key{
	// 2.2 Event; 2.2.2 its Org and Orgc objects.
	"Event": {
		"uuid":              {shall, kUUID, nil, ""},
		"id":                {shall, kUint, nil, ""},
		"published":         {shall, kBool, nil, ""},
		"info":              {shall, kString, nil, ""},
		"threat_level_id":   {shall, kString, []string{"1", "2", "3", "4"}, ""},
		"analysis":          {shall, kString, []string{"0", "1", "2"}, ""},
		"date":              {shall, kDate, nil, ""},
		"timestamp":         {shall, kUint, nil, ""},
		"publish_timestamp": {shall, kUint, nil, ""},
		"first_publication": {shall, kUint, nil, ""},
		"org_id":            {shall, kUint, nil, ""},
		"orgc_id":           {shall, kUint, nil, ""},
		"attribute_count":   {shall, kUint, nil, ""},
		"distribution":      {shall, kString, distribution, ""},
		"sharing_group_id":  {should, kUint, nil, ""},
		"extends_uuid":      {should, kUUIDOrNot, nil, ""},
		"locked":            {should, kBool, nil, ""},
		"Org":               {shall, kObject, nil, "Org"},
		"Orgc":              {shall, kObject, nil, "Org"},
		"Tag":               {may, kArray, nil, "Tag"},
		"Attribute":         {may, kArray, nil, "Attribute"},
		"Object":            {may, kArray, nil, "Object"},
		"ShadowAttribute":   {may, kArray, nil, ""},
		"Galaxy":            {may, kArray, nil, ""},
		"EventReport":       {may, kArray, nil, ""},
	},
	"Org": {
		"uuid": {shall, kUUID, nil, ""},
		"name": {shall, kString, nil, ""},
		"id":   {shall, kUint, nil, ""},
	},
	// 2.3 Attribute.
	"Attribute": {
		"uuid":             {shall, kUUID, nil, ""},
		"id":               {shall, kUint, nil, ""},
		"type":             {shall, kString, nil, ""},
		"category":         {shall, kString, nil, ""},
		"to_ids":           {shall, kBool, nil, ""},
		"event_id":         {shall, kUint, nil, ""},
		"distribution":     {shall, kString, distributionAtt, ""},
		"timestamp":        {shall, kUint, nil, ""},
		"comment":          {may, kString, nil, ""},
		"sharing_group_id": {should, kUint, nil, ""},
		"deleted":          {shall, kBool, nil, ""},
		"data":             {may, kString, nil, ""}, // MUST for malware-sample and attachment
		"RelatedAttribute": {may, kArray, nil, ""},
		"ShadowAttribute":  {may, kArray, nil, ""},
		"value":            {shall, kString, nil, ""},
		"first_seen":       {may, kSeen, nil, ""},
		"last_seen":        {may, kSeen, nil, ""},
		// Named by the draft's samples and sections 2.4, 2.8 and 2.9
		// rather than in 2.3's list.
		"object_id":           {may, kUint, nil, ""},
		"object_relation":     {may, kString, nil, ""},
		"disable_correlation": {may, kBool, nil, ""},
		"Tag":                 {may, kArray, nil, "Tag"},
		"Sighting":            {may, kArray, nil, "Sighting"},
	},
	// 2.5 Object.
	"Object": {
		"uuid":             {shall, kUUID, nil, ""},
		"id":               {shall, kUint, nil, ""},
		"name":             {shall, kString, nil, ""},
		"meta-category":    {shall, kString, nil, ""},
		"description":      {shall, kString, nil, ""},
		"template_uuid":    {shall, kUUID, nil, ""},
		"template_version": {shall, kUint, nil, ""},
		"event_id":         {shall, kUint, nil, ""},
		"timestamp":        {shall, kUint, nil, ""},
		"distribution":     {shall, kString, distributionAtt, ""},
		"sharing_group_id": {should, kUint, nil, ""},
		"comment":          {may, kString, nil, ""},
		"deleted":          {shall, kBool, nil, ""},
		"Attribute":        {may, kArray, nil, "Attribute"},
		"ObjectReference":  {may, kArray, nil, ""},
		"first_seen":       {may, kSeen, nil, ""},
		"last_seen":        {may, kSeen, nil, ""},
	},
	// 2.8 Tag.
	"Tag": {
		"name":       {shall, kString, nil, ""},
		"colour":     {shall, kColour, nil, ""},
		"id":         {shall, kUint, nil, ""},
		"exportable": {shall, kBool, nil, ""},
	},
	// 2.9 Sighting.
	"Sighting": {
		"type":          {shall, kString, []string{"0", "1", "2", "3"}, ""},
		"uuid":          {shall, kUUID, nil, ""},
		"date_sighting": {shall, kUint, nil, ""},
		"source":        {may, kString, nil, ""},
		"id":            {may, kUint, nil, ""},
		"event_id":      {may, kUint, nil, ""},
		"attribute_id":  {may, kUint, nil, ""},
		"org_id":        {may, kUint, nil, ""},
		"Organisation":  {may, kObject, nil, "Org"},
	},
}

// beyondCore lists the keys seams writes that the core format does not
// name, each with why it is there.
var beyondCore = map[string]string{
	// MISP's own sightings carry the uuid of their attribute; the draft's
	// sighting uuid is the sighting's own in its samples.
	"Sighting.attribute_uuid": "MISP writes it on sightings",
}

// categoryTypes is the draft's table of valid category-type combinations
// (section 2.3.2.3), for the categories that hold a type seams writes.
var categoryTypes = map[string][]string{
	"Network activity": {"ip-src", "ip-dst", "ip-dst|port", "ip-src|port", "port", "hostname", "domain", "domain|ip",
		"mac-address", "mac-eui-64", "email", "email-dst", "email-src", "eppn", "url", "uri", "user-agent", "http-method",
		"AS", "snort", "pattern-in-file", "filename-pattern", "stix2-pattern", "pattern-in-traffic", "attachment", "comment",
		"text", "x509-fingerprint-md5", "x509-fingerprint-sha1", "x509-fingerprint-sha256", "ja3-fingerprint-md5",
		"jarm-fingerprint", "hassh-md5", "hasshserver-md5", "other", "hex", "cookie", "hostname|port", "bro", "zeek",
		"anonymised", "community-id", "email-subject", "favicon-mmh3", "dkim", "dkim-signature", "ssh-fingerprint",
		"dom-hash", "onion-address"},
	"Other": {"comment", "text", "other", "size-in-bytes", "counter", "integer", "datetime", "cpe", "port", "float",
		"hex", "phone-number", "boolean", "anonymised", "pgp-public-key", "pgp-private-key", "uuid"},
	"Internal reference": {"text", "link", "comment", "other", "hex", "anonymised", "git-commit-id"},
}

var (
	uuidForm   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	uintForm   = regexp.MustCompile(`^[0-9]+$`)
	dateForm   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	colourForm = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// checkModel checks obj, at path, against the data model's table and
// returns every problem: a missing SHALL key, a key of the wrong form or
// value, a key the format does not name (and beyondCore does not list),
// and the draft's cross-key rules. Keys it reads are counted in seen
// (model.key), so that a test can tell which keys it covered.
func checkModel(model, path string, obj map[string]any, seen map[string]int) []string {
	table := coreFormat[model]
	var out []string
	bad := func(format string, args ...any) { out = append(out, path+": "+fmt.Sprintf(format, args...)) }
	for _, name := range slices.Sorted(maps.Keys(table)) {
		if k := table[name]; k.level == shall {
			if _, ok := obj[name]; !ok {
				bad("%q must be present", name)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		v := obj[name]
		k, ok := table[name]
		if !ok {
			if beyondCore[model+"."+name] == "" {
				bad("%q is not a key of the core format's %s", name, model)
			}
			continue
		}
		seen[model+"."+name]++
		s, isStr := v.(string)
		form := func(re *regexp.Regexp, what string) {
			if !isStr || !re.MatchString(s) {
				bad("%q = %#v is not %s", name, v, what)
			}
		}
		switch k.kind {
		case kString:
			if !isStr {
				bad("%q = %#v is not a JSON string", name, v)
			}
		case kUint:
			form(uintForm, "an unsigned integer in a JSON string")
		case kUUID:
			form(uuidForm, "a UUID in a JSON string")
		case kUUIDOrNot:
			if !isStr || s != "" && !uuidForm.MatchString(s) {
				bad("%q = %#v is not a UUID or empty", name, v)
			}
		case kDate:
			form(dateForm, "a date YYYY-MM-DD")
		case kColour:
			form(colourForm, "a colour #RRGGBB")
		case kSeen:
			if v != nil {
				if _, err := time.Parse("2006-01-02T15:04:05.999999Z07:00", s); !isStr || err != nil {
					bad("%q = %#v is not an ISO 8601 datetime up to the microsecond with a zone", name, v)
				}
			}
		case kBool:
			if _, ok := v.(bool); !ok {
				bad("%q = %#v is not a JSON boolean", name, v)
			}
		case kArray:
			arr, ok := v.([]any)
			if !ok {
				bad("%q is not a JSON array", name)
				continue
			}
			for i, x := range arr {
				el, ok := x.(map[string]any)
				if !ok {
					bad("%s[%d] is not a JSON object", name, i)
					continue
				}
				if k.of != "" {
					out = append(out, checkModel(k.of, fmt.Sprintf("%s.%s[%d]", path, name, i), el, seen)...)
				}
			}
		case kObject:
			o, ok := v.(map[string]any)
			if !ok {
				bad("%q is not a JSON object", name)
				continue
			}
			if k.of != "" {
				out = append(out, checkModel(k.of, path+"."+name, o, seen)...)
			}
		}
		if k.values != nil && isStr && !slices.Contains(k.values, s) {
			bad("%q = %q is not one of %v", name, s, k.values)
		}
	}
	// Cross-key rules of the draft.
	if d, _ := obj["distribution"].(string); d != "4" {
		if sg, ok := obj["sharing_group_id"]; ok && sg != "0" {
			bad("sharing_group_id %v must be \"0\" when distribution is not 4", sg)
		}
	}
	switch model {
	case "Event":
		if info, _ := obj["info"].(string); len([]rune(info)) > 256 || strings.ContainsAny(info, "\r\n") {
			bad("info %q is longer than 256 characters or has a newline", info)
		}
		if attrs, ok := obj["Attribute"].([]any); ok {
			if c, _ := obj["attribute_count"].(string); c != fmt.Sprint(len(attrs)) {
				bad("attribute_count %q, but %d attributes", c, len(attrs))
			}
		}
	case "Attribute":
		typ, _ := obj["type"].(string)
		cat, _ := obj["category"].(string)
		if !slices.Contains(categoryTypes[cat], typ) {
			bad("type %q is not valid in category %q", typ, cat)
		}
		if _, ok := obj["data"]; !ok && (typ == "malware-sample" || typ == "attachment") {
			bad("%s must carry data", typ)
		}
	}
	return out
}

// checkDocument checks a WriteEvents document: {"response": [{"Event":
// ...}, ...]}, each element one event as the core format writes it.
func checkDocument(b []byte, seen map[string]int) ([]string, int) {
	var doc struct {
		Response []map[string]json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return []string{err.Error()}, 0
	}
	var out []string
	for i, r := range doc.Response {
		if len(r) != 1 || r["Event"] == nil {
			out = append(out, fmt.Sprintf("response[%d]: want exactly one key, Event", i))
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(r["Event"], &ev); err != nil {
			out = append(out, fmt.Sprintf("response[%d].Event: %v", i, err))
			continue
		}
		out = append(out, checkModel("Event", fmt.Sprintf("response[%d].Event", i), ev, seen)...)
	}
	return out, len(doc.Response)
}

// TestCoreFormat checks every key of what WriteEvents writes against the
// table: Event, Org, Orgc, Attribute, Tag and Sighting (seams writes no
// Object). Every SHALL key of those models must have been met.
func TestCoreFormat(t *testing.T) {
	var buf bytes.Buffer
	if _, err := WriteEvents(&buf, sample(t)); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	problems, events := checkDocument(buf.Bytes(), seen)
	for _, p := range problems {
		t.Error(p)
	}
	if events == 0 {
		t.Fatal("no events")
	}
	for _, model := range []string{"Event", "Org", "Attribute", "Tag", "Sighting"} {
		for name, k := range coreFormat[model] {
			if k.level == shall && seen[model+"."+name] == 0 {
				t.Errorf("%s.%s was never checked: the sample does not cover it", model, name)
			}
		}
	}
	types := map[string]bool{}
	var doc struct {
		Response []struct {
			Event struct{ Attribute []struct{ Type string } }
		}
	}
	json.Unmarshal(buf.Bytes(), &doc)
	for _, r := range doc.Response {
		for _, a := range r.Event.Attribute {
			types[a.Type] = true
		}
	}
	for _, typ := range []string{"ip-src", "AS", "text"} {
		if !types[typ] {
			t.Errorf("no %s attribute written: the check would not cover it", typ)
		}
	}
}

// TestCoreFormatCheckFails: the check finds what it is for, on the
// writer's own output changed in one place each.
func TestCoreFormatCheckFails(t *testing.T) {
	var buf bytes.Buffer
	if _, err := WriteEvents(&buf, sample(t)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(ev map[string]any)
		want   string
	}{
		{"attribute without id", func(ev map[string]any) { delete(attr(ev), "id") }, `Attribute[0]: "id" must be present`},
		{"attribute id a number", func(ev map[string]any) { attr(ev)["id"] = 7.0 }, `"id" = 7 is not an unsigned integer`},
		{"unknown attribute key", func(ev map[string]any) { attr(ev)["colour"] = "x" }, `"colour" is not a key of the core format's Attribute`},
		{"to_ids a string", func(ev map[string]any) { attr(ev)["to_ids"] = "0" }, `"to_ids" = "0" is not a JSON boolean`},
		{"category of another type", func(ev map[string]any) { attr(ev)["category"] = "Internal reference" }, `is not valid in category "Internal reference"`},
		{"distribution 5 on an event", func(ev map[string]any) { ev["distribution"] = "5" }, `"distribution" = "5" is not one of`},
		{"sharing group without distribution 4", func(ev map[string]any) { ev["sharing_group_id"] = "3" }, `sharing_group_id 3 must be "0"`},
		{"event without Orgc", func(ev map[string]any) { delete(ev, "Orgc") }, `"Orgc" must be present`},
		{"org without uuid", func(ev map[string]any) { delete(ev["Org"].(map[string]any), "uuid") }, `Event.Org: "uuid" must be present`},
		{"tag without colour", func(ev map[string]any) { delete(ev["Tag"].([]any)[0].(map[string]any), "colour") }, `Tag[0]: "colour" must be present`},
		{"sighting type 4", func(ev map[string]any) {
			for _, a := range ev["Attribute"].([]any) {
				if s := a.(map[string]any)["Sighting"].([]any); len(s) > 0 {
					s[0].(map[string]any)["type"] = "4"
					return
				}
			}
			t.Fatal("no sighting to change")
		}, `"type" = "4" is not one of`},
		{"last_seen without zone", func(ev map[string]any) { attr(ev)["last_seen"] = "2024-01-01T00:00:00" }, `"last_seen" = "2024-01-01T00:00:00" is not an ISO 8601`},
		{"info with a newline", func(ev map[string]any) { ev["info"] = "a\nb" }, "has a newline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc struct{ Response []map[string]map[string]any }
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			tc.change(doc.Response[0]["Event"])
			b, _ := json.Marshal(doc)
			problems, _ := checkDocument(b, map[string]int{})
			if len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
				t.Errorf("problems %q, want one containing %q", problems, tc.want)
			}
		})
	}
}

func attr(ev map[string]any) map[string]any { return ev["Attribute"].([]any)[0].(map[string]any) }
