package misp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/seams-dev/seams"
)

// Warninglist is a MISP warninglist: a named list of values known to be
// shared or benign (cloud ranges, public resolvers, VPN exits). seams reads
// the addresses and prefixes of one as shared infrastructure.
type Warninglist struct {
	Name     string
	Type     string // cidr or string
	Prefixes []netip.Prefix
	ASNs     []uint32
}

// ReadWarninglist reads a MISP warninglist with DefaultLimits and returns
// its prefixes (an address as its full-length prefix) and autonomous
// systems (AS64500). See DecodeWarninglist.
func ReadWarninglist(r io.Reader, file string, reject func(*seams.RecordError)) ([]netip.Prefix, []uint32, error) {
	w, err := DecodeWarninglist(r, file, DefaultLimits(), reject)
	if err != nil {
		return nil, nil, err
	}
	return w.Prefixes, w.ASNs, nil
}

// DecodeWarninglist reads a MISP warninglist of type cidr (every entry an
// address or a prefix) or string (entries that are addresses, prefixes or
// AS numbers are read; others are rejected). Every entry of "list" is used
// or handed to reject with Item list[N]. Lists of other types (hostname,
// substring, regex) hold no addresses: reading one is an error, as is a
// file that is not a warninglist.
func DecodeWarninglist(r io.Reader, file string, lim Limits, reject func(*seams.RecordError)) (*Warninglist, error) {
	if reject == nil {
		reject = func(*seams.RecordError) {}
	}
	b, err := readAll(r, file, lim)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Name string            `json:"name"`
		Type string            `json:"type"`
		List []json.RawMessage `json:"list"`
	}
	if err := json.Unmarshal(bytes.TrimPrefix(b, []byte("\uFEFF")), &doc); err != nil {
		return nil, fmt.Errorf("%s: not a MISP warninglist: %s", file, jsonProblem(err))
	}
	if doc.List == nil {
		return nil, fmt.Errorf("%s: not a MISP warninglist (no \"list\")", file)
	}
	switch doc.Type {
	case "cidr", "string":
	case "":
		return nil, fmt.Errorf("%s: warninglist has no \"type\"", file)
	default:
		return nil, fmt.Errorf("%s: warninglist %q is of type %q, which holds no addresses (seams reads cidr and string lists)", file, doc.Name, doc.Type)
	}
	w := &Warninglist{Name: doc.Name, Type: doc.Type}
	for i, raw := range doc.List {
		item := "list[" + itoa(i) + "]"
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			reject(&seams.RecordError{File: file, Item: item, Reason: "entry is not a string", Raw: seams.TruncateRaw(raw)})
			continue
		}
		s := strings.TrimSpace(v)
		if p, err := parseEntry(s); err == nil {
			w.Prefixes = append(w.Prefixes, p)
			continue
		} else if doc.Type == "cidr" {
			reject(&seams.RecordError{File: file, Item: item, Reason: err.Error(), Raw: seams.TruncateRaw([]byte(v))})
			continue
		}
		if len(s) > 2 && strings.EqualFold(s[:2], "AS") {
			if n, err := seams.ParseASN(s); err == nil {
				w.ASNs = append(w.ASNs, n)
				continue
			}
		}
		reject(&seams.RecordError{File: file, Item: item, Reason: fmt.Sprintf("skipped: %q is not an address, prefix or AS number", cut(v)),
			Raw: seams.TruncateRaw([]byte(v))})
	}
	return w, nil
}

// parseEntry reads an address or a canonical prefix, as a shared-space list
// gives them.
func parseEntry(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := seams.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return seams.ParsePrefix(s)
}
