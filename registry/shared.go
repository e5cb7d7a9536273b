package registry

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/csvinput"
)

// ReadShared reads a shared-infrastructure list: one CIDR prefix or address
// a line, blank lines and # comments (whole-line or trailing) ignored.
// Addresses become full-length prefixes; a prefix with host bits set is
// rejected, naming the canonical prefix. Prefixes are returned in file order.
// The result does not include seams.CarrierNAT, which the caller adds: it is
// shared whatever the file says.
func ReadShared(r io.Reader, file string, reject Reject) ([]netip.Prefix, error) {
	if reject == nil {
		reject = discard
	}
	in := csvinput.New(r, file, false)
	sc := bufio.NewScanner(in)
	// in refuses lines longer than MaxLine first; the scanner's buffer
	// holds one such line and its line ending.
	sc.Buffer(make([]byte, 0, 4096), MaxLine+2)
	var out []netip.Prefix
	line := 0
	for sc.Scan() {
		if in.Fatal() != nil {
			// The scanner hands out what it holds when its reader fails,
			// as if the file ended there: a cut line, not an entry.
			break
		}
		line++
		text := sc.Text()
		entry, _, _ := strings.Cut(text, "#")
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, err := parseSharedEntry(entry)
		if err != nil {
			reject(&seams.RecordError{File: file, Line: line, Reason: err.Error(), Raw: seams.TruncateRaw(sc.Bytes())})
			continue
		}
		out = append(out, p)
	}
	if err := in.Fatal(); err != nil {
		return nil, err
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong { // not reached: in stops such a line first
			return nil, &seams.RecordError{File: file, Line: line + 1,
				Reason: "line longer than " + strconv.Itoa(MaxLine) + " bytes"}
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// parseSharedEntry parses one entry of a shared list: a prefix, or an
// address standing for the prefix of its full length.
func parseSharedEntry(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return seams.ParsePrefix(s)
	}
	a, err := seams.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
