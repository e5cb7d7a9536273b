// Package sharedlist holds lists of shared infrastructure: networks where
// many unrelated people share addresses (satellite terminals behind carrier
// NAT, CDN and public DNS anycast, VPN exits), given as prefixes and AS
// numbers. Curated presets are embedded in the binary, each with its sources
// and the date it was checked, and a run uses one only when the analyst
// turns it on by name; the --shared-asn flag gives AS numbers directly.
//
// A list file is plain text:
//
//	# name: satellite
//	# title: Satellite internet access networks
//	# date: 2026-12-02
//	# source: https://www.peeringdb.com/asn/14593
//	AS14593            # SpaceX Starlink
//	203.0.113.0/24     # a prefix
//	2001:db8::1        # an address: a /128
//
// Header lines ("# key: value", keys name, title, date, source) come before
// the first entry; source may repeat, and each entry keeps the last source
// given above it. Other comment lines and blank lines are ignored; text after
// "#" on an entry's line is the entry's note.
package sharedlist

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seams-dev/seams"
)

// List is one list of shared infrastructure.
type List struct {
	Name    string   // preset name, or "shared-asn" for the flag
	Title   string   // one line saying what it holds
	Source  string   // the sources, "; "-separated
	Sources []string // each source (a URL of public documentation or a registry)
	Date    string   // YYYY-MM-DD: when the entries were checked against the sources
	// Prefixes and ASNs are the entries, in file order.
	Prefixes []netip.Prefix
	ASNs     []uint32
	Entries  []Entry // every entry with its note and source, in file order
}

// Entry is one line of a list: a prefix or an AS number.
type Entry struct {
	Prefix netip.Prefix // valid for a prefix entry
	ASN    uint32       // non-zero for an ASN entry
	Note   string       // the comment on its line: "SpaceX Starlink"
	Source string       // the source given above it
	Line   int
}

// String returns the entry as written: "AS14593" or a prefix.
func (e Entry) String() string {
	if e.ASN != 0 {
		return "AS" + strconv.FormatUint(uint64(e.ASN), 10)
	}
	return e.Prefix.String()
}

// Note returns the note of the entry for AS number n, or "" if the list has
// none or no such entry. Evidence uses it: "AS14593 SpaceX Starlink, listed
// in preset satellite".
func (l *List) Note(n uint32) string {
	for i := range l.Entries {
		if l.Entries[i].ASN == n {
			return l.Entries[i].Note
		}
	}
	return ""
}

// Limits on a list file: far above any real list, low enough that a hostile
// file cannot exhaust memory.
const (
	MaxFileSize = 4 << 20 // bytes
	MaxLine     = 4096    // bytes per line
	MaxEntries  = 200000
)

// ErrUnknownPreset is returned (wrapped) for a preset name that is not
// embedded.
var ErrUnknownPreset = errors.New("unknown preset")

//go:embed presets/*.txt
var presetFS embed.FS

// Names returns the names of the embedded presets, sorted.
func Names() []string {
	ents, err := presetFS.ReadDir("presets")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".txt"); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Preset returns the embedded preset of that name.
func Preset(name string) (*List, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownPreset, name, strings.Join(Names(), ", "))
	}
	b, err := presetFS.ReadFile(path.Join("presets", name+".txt"))
	if err != nil {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownPreset, name, strings.Join(Names(), ", "))
	}
	l, err := Parse(bytes.NewReader(b), "preset "+name)
	if err != nil {
		return nil, err
	}
	if l.Name != name {
		return nil, fmt.Errorf("preset %s: header names it %q", name, l.Name)
	}
	return l, nil
}

// Presets parses a comma-separated list of preset names, as --shared-preset
// takes it ("satellite,cdn"), and returns the presets in the order given.
// Spaces around names are ignored; a name given twice is used once.
func Presets(names string) ([]*List, error) {
	var out []*List
	seen := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, fmt.Errorf("empty preset name in %q (want e.g. satellite,cdn)", names)
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		l, err := Preset(n)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

func validName(s string) bool { return namePattern.MatchString(s) }

// ParseASN parses an AS number as "AS14593", "as14593" or "14593". AS 0
// and AS 4294967295 are reserved (RFC 7607, RFC 7300) and refused, as is
// anything else that is not a 32-bit AS number.
func ParseASN(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	d := t
	if len(d) >= 2 && (d[0] == 'A' || d[0] == 'a') && (d[1] == 'S' || d[1] == 's') {
		d = d[2:]
	}
	if d == "" || d[0] < '0' || d[0] > '9' { // no sign, no space
		return 0, fmt.Errorf("invalid AS number %q (want e.g. AS14593 or 14593)", s)
	}
	n, err := strconv.ParseUint(d, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid AS number %q (want e.g. AS14593 or 14593)", s)
	}
	if n == 0 || n == 1<<32-1 {
		return 0, fmt.Errorf("AS number %q is reserved", s)
	}
	return uint32(n), nil
}

// ParseASNs parses a comma-separated list of AS numbers, as --shared-asn
// takes it ("AS14593,13335"), keeping the order given and dropping repeats.
func ParseASNs(s string) ([]uint32, error) {
	var out []uint32
	seen := map[uint32]bool{}
	for _, part := range strings.Split(s, ",") {
		n, err := ParseASN(part)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// FromFlag returns the list that --shared-asn VALUE stands for: named
// "shared-asn", with the AS numbers given, sourced to the command line.
func FromFlag(value string) (*List, error) {
	asns, err := ParseASNs(value)
	if err != nil {
		return nil, fmt.Errorf("--shared-asn: %w", err)
	}
	l := &List{Name: "shared-asn", Title: "AS numbers given with --shared-asn", Source: "command line", Sources: []string{"command line"}, ASNs: asns}
	for _, n := range asns {
		l.Entries = append(l.Entries, Entry{ASN: n, Source: "command line"})
	}
	return l, nil
}

// Parse reads a list file (see the package documentation). file names the
// input in errors, which give the line and quote the bad text. A list must
// name itself, give a date and at least one source, and hold at least one
// entry; an entry repeated, a prefix with host bits set, or a prefix that
// overlaps non-routable space (private, loopback, ...) is an error, since a
// curated list with such a line is wrong, not partly usable.
func Parse(r io.Reader, file string) (*List, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, MaxFileSize+1), 64<<10)
	l := &List{}
	var source string
	seenASN := map[uint32]int{}
	seenPrefix := map[netip.Prefix]int{}
	read := 0
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		read += len(line)
		if read > MaxFileSize {
			return nil, fmt.Errorf("%s: larger than %d bytes", file, MaxFileSize)
		}
		if err == bufio.ErrBufferFull || len(line) > MaxLine {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", file, n, MaxLine)
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(line) > 0 {
			if perr := l.parseLine(string(line), file, n, &source, seenASN, seenPrefix); perr != nil {
				return nil, perr
			}
		}
		if err == io.EOF {
			break
		}
	}
	switch {
	case l.Name == "":
		return nil, fmt.Errorf("%s: no \"# name:\" header", file)
	case l.Date == "":
		return nil, fmt.Errorf("%s: no \"# date:\" header", file)
	case len(l.Sources) == 0:
		return nil, fmt.Errorf("%s: no \"# source:\" header", file)
	case len(l.Entries) == 0:
		return nil, fmt.Errorf("%s: no entries", file)
	}
	l.Source = strings.Join(l.Sources, "; ")
	return l, nil
}

func (l *List) parseLine(line, file string, n int, source *string, seenASN map[uint32]int, seenPrefix map[netip.Prefix]int) error {
	if !utf8.ValidString(line) {
		return fmt.Errorf("%s:%d: not valid UTF-8", file, n)
	}
	text, note, _ := strings.Cut(line, "#")
	text = strings.TrimSpace(text)
	note = strings.TrimSpace(note)
	if text == "" {
		// A comment or blank line; "# key: value" is a header.
		key, val, ok := strings.Cut(note, ":")
		if !ok {
			return nil
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		switch key {
		case "name", "title", "date":
			if len(l.Entries) > 0 {
				return fmt.Errorf("%s:%d: header %q after the first entry", file, n, key)
			}
		}
		switch key {
		case "name":
			if l.Name != "" {
				return fmt.Errorf("%s:%d: second name header", file, n)
			}
			if !validName(val) {
				return fmt.Errorf("%s:%d: invalid list name %q (want lower-case letters, digits and -)", file, n, val)
			}
			l.Name = val
		case "title":
			l.Title = val
		case "date":
			if l.Date != "" {
				return fmt.Errorf("%s:%d: second date header", file, n)
			}
			if _, err := time.Parse(time.DateOnly, val); err != nil {
				return fmt.Errorf("%s:%d: invalid date %q (want YYYY-MM-DD)", file, n, val)
			}
			l.Date = val
		case "source":
			if val == "" {
				return fmt.Errorf("%s:%d: empty source", file, n)
			}
			*source = val
			if !slices.Contains(l.Sources, val) {
				l.Sources = append(l.Sources, val)
			}
		}
		return nil
	}
	if *source == "" {
		return fmt.Errorf("%s:%d: entry %q before any \"# source:\" header", file, n, text)
	}
	if len(l.Entries) >= MaxEntries {
		return fmt.Errorf("%s:%d: more than %d entries", file, n, MaxEntries)
	}
	e := Entry{Note: note, Source: *source, Line: n}
	if isASNText(text) {
		asn, err := ParseASN(text)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, n, err)
		}
		if first, ok := seenASN[asn]; ok {
			return fmt.Errorf("%s:%d: AS%d repeats line %d", file, n, asn, first)
		}
		seenASN[asn] = n
		e.ASN = asn
		l.ASNs = append(l.ASNs, asn)
	} else {
		p, err := parseEntryPrefix(text)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, n, err)
		}
		if why := seams.NonRoutablePrefix(p); why != "" {
			return fmt.Errorf("%s:%d: %s %s", file, n, p, why)
		}
		if first, ok := seenPrefix[p]; ok {
			return fmt.Errorf("%s:%d: %s repeats line %d", file, n, p, first)
		}
		seenPrefix[p] = n
		e.Prefix = p
		l.Prefixes = append(l.Prefixes, p)
	}
	l.Entries = append(l.Entries, e)
	return nil
}

// isASNText reports whether an entry is meant as an AS number: it starts
// with "AS" or is all digits.
func isASNText(s string) bool {
	if len(s) >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseEntryPrefix parses a CIDR prefix or a single address (a full-length
// prefix).
func parseEntryPrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := seams.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid entry %q (want an AS number, an address or a CIDR prefix)", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return seams.ParsePrefix(s)
}
