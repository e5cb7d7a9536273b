// Package cybertip reads reports in the XML of the CyberTipline Reporting
// API: the report an electronic service provider files with the hotline.
//
// A report gives seams its suspect's IP capture events and device ids
// (every personOrUserReported, the accounts associated with them, and the
// addresses the schema documents as the reported person's elsewhere:
// internetDetails/peer2peerIncident/ipCaptureEvent) and a summary of the
// incident. The child's side of a report (victim, intendedRecipient) is
// never read into a seams.Report: its events are counted (see Counts) and
// skipped, so that they can never match. Nothing else of a report is kept;
// in particular no content, and no text of the report is quoted in a
// rejection beyond its id. Elements the schema does not have (a newer
// schema's) are skipped and counted, never rejected.
//
// The input is a stream: a <report> document, several concatenated, or any
// root element whose children are <report> elements. It is read a token at
// a time with bounded memory, whatever its size: no DTD, entity or token
// beyond a limit is accepted, elements nest at most Options.MaxDepth deep
// and a report is at most Options.MaxReport bytes. A report that breaks
// the XML or those limits is rejected whole, and reading resumes at the next
// <report> tag. The input is UTF-8, UTF-16 with a byte-order mark, or in
// the encoding its XML declaration names (ISO-8859-1, windows-1252,
// Shift_JIS...); bytes that are not characters of the encoding are read as
// U+FFFD, which rejects a value seams reads and nothing else (see source).
//
// The schema has no report id (the Reporting API assigns one when a report
// is submitted, in reportResponse/reportId). seams reads it from a
// <reportId> element as the first child of <report>, which is where the
// API's own fileDetails document carries it; a report without one is named
// FILE#N, N counting the <report> elements of the file from 1.
//
// docs/formats.md has the full mapping and the decisions behind it.
package cybertip

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// Options limits what a Reader accepts. Use NewOptions for the defaults.
type Options struct {
	// MaxDepth is the deepest nesting of elements, counting the root as 1.
	// The schema needs about 8.
	MaxDepth int
	// MaxToken is the longest single XML token (a run of text, a tag, a
	// comment), in bytes.
	MaxToken int
	// MaxReport is the largest report, from <report> to </report>, in bytes.
	MaxReport int64
	// MaxValue is the longest value of an element seams reads (an address,
	// an id, a time), in bytes.
	MaxValue int
}

// The default limits.
const (
	DefaultMaxDepth  = 32
	DefaultMaxToken  = 16 << 20
	DefaultMaxReport = 64 << 20
	DefaultMaxValue  = 64 << 10
)

// NewOptions returns the default limits.
func NewOptions() Options {
	return Options{MaxDepth: DefaultMaxDepth, MaxToken: DefaultMaxToken, MaxReport: DefaultMaxReport, MaxValue: DefaultMaxValue}
}

// Counts says what a Reader met, so far.
type Counts struct {
	Reports  int // <report> elements met
	Accepted int // reports returned as reports
	Rejected int // records rejected whole
	// AssociatedIPs and AssociatedDevices are the events of accounts
	// associated with the suspect (personOrUserReported/associatedAccount),
	// read as the suspect's and included in the reports.
	AssociatedIPs, AssociatedDevices int
	// VictimIPs, VictimDevices, RecipientIPs and RecipientDevices are the
	// ipCaptureEvent and deviceId elements under victim and
	// intendedRecipient: the child's side, skipped and never matched.
	VictimIPs, VictimDevices       int
	RecipientIPs, RecipientDevices int
	// IncidentIPs are the events read from
	// internetDetails/peer2peerIncident/ipCaptureEvent, which the schema
	// documents as addresses used by the reported person: the suspect's.
	IncidentIPs int
	// UndatedIPs are the suspect's events read without a dateTime (the
	// schema makes it optional): seams.IPEvent.At is zero, and they can
	// make potential findings only (rule ip-undated).
	UndatedIPs int
	// OtherIPs and OtherDevices are ipCaptureEvent and deviceId elements
	// elsewhere in a report (inside elements seams does not read, unknown
	// ones included), not read.
	OtherIPs, OtherDevices int
	// Unknown counts the elements the schema does not have where they
	// stand (a newer schema's, such as age assertions under an associated
	// account): each is skipped whole, with what it holds, and is not a
	// rejection. UnknownPaths counts them by path without positions
	// ("personOrUserReported/associatedAccount/ageAssertion"), for the
	// first MaxUnknownPaths paths met; later ones are counted under "...".
	Unknown      int
	UnknownPaths map[string]int `json:",omitempty"`
	// Replaced counts the characters read as U+FFFD: bytes that are not a
	// character of the file's encoding, and characters XML does not allow
	// (control characters). A value seams reads that holds one is
	// rejected; anywhere else it is harmless.
	Replaced int
}

// MaxUnknownPaths bounds Counts.UnknownPaths.
const MaxUnknownPaths = 64

// Source says where in its report an ip event or a device was read.
type Source struct {
	// Path is the element's path in the report, e.g.
	// "personOrUserReported/associatedAccount[1]/ipCaptureEvent[2]".
	Path string
	// Associated is set for an event of an associated account.
	Associated bool
	// Event is the eventName, lower-cased; for a device, it is kept only
	// here, since seams.Device has no event.
	Event string
}

// Reader reads the reports of one CyberTipline XML input: it is the
// seams.ReportReader of the format.
type Reader struct {
	file string
	o    Options
	src  *source
	d    *xml.Decoder

	decStart int64 // src.n when d was made
	base     int   // newlines before d's first byte

	stack       []string // names of the open elements, outermost first
	done        bool
	needResync  bool
	resynced    bool // the decoder started at a resync point: stray end tags are expected
	pending     bool // a <report> start met inside a report is on top of stack
	pendingLine int
	wrapperLine int
	wrapper     string // the root element around the reports, while it is open

	inReport    bool
	reportStart int64 // src.n at the report's start tag
	reportLevel int   // len(stack) with the report's start tag on top
	n           int   // <report> elements met

	rec         seams.ReportRecord
	whole       seams.RecordError
	ipSrc       []Source
	devSrc      []Source
	incidentIPs []int // indexes in rec.Report.IPs of events read under internetDetails
	counts      Counts
	text        []byte
	raw         bytes.Buffer
}

// NewReader returns a Reader of the reports in r with the default limits;
// file names r in rejections.
func NewReader(r io.Reader, file string) *Reader { return NewReaderOptions(r, file, NewOptions()) }

// NewReaderOptions returns a Reader of the reports in r with the limits o;
// a zero limit takes its default.
func NewReaderOptions(r io.Reader, file string, o Options) *Reader {
	d := NewOptions()
	if o.MaxDepth <= 0 {
		o.MaxDepth = d.MaxDepth
	}
	if o.MaxToken <= 0 {
		o.MaxToken = d.MaxToken
	}
	if o.MaxReport <= 0 {
		o.MaxReport = d.MaxReport
	}
	if o.MaxValue <= 0 {
		o.MaxValue = d.MaxValue
	}
	rd := &Reader{file: file, o: o, src: newSource(r)}
	rd.newDecoder()
	return rd
}

// Counts returns what the reader has met so far.
func (r *Reader) Counts() Counts {
	c := r.counts
	c.Replaced = r.src.replaced
	return c
}

// Sources returns, for the report last returned by Next, where each of its
// ip events and devices was read, in the order of Report.IPs and
// Report.Devices. The slices are valid until the next call of Next.
func (r *Reader) Sources() (ips, devices []Source) { return r.ipSrc, r.devSrc }

func (r *Reader) newDecoder() {
	d := xml.NewDecoder(r.src)
	d.Strict = true
	// The decoder asks for a reader of the encoding an XML declaration
	// names; the source switches, and goes on serving UTF-8.
	d.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		if r.inReport {
			return nil, &encodingError{fmt.Sprintf("an XML declaration of encoding %q inside a report", label)}
		}
		if err := r.src.setEncoding(label); err != nil {
			return nil, &encodingError{err.Error()}
		}
		return input, nil
	}
	r.d = d
	r.decStart = r.src.n
	r.base = r.src.lines
}

// structError is a break in the XML or in the reader's limits: the report
// it happens in is rejected whole and reading resumes at the next <report>.
type structError struct {
	line int
	msg  string
}

func (e *structError) Error() string { return e.msg }

// encodingError is an encoding the reader cannot read, from the decoder's
// CharsetReader.
type encodingError struct{ msg string }

func (e *encodingError) Error() string { return e.msg }

// errNested says a <report> start tag was met inside a report; it is on top
// of the stack, and Next reads it after rejecting the report it was in.
var errNested = errors.New("nested report")

// line returns the line of the decoder's position.
func (r *Reader) line() int {
	l, _ := r.d.InputPos()
	return r.base + l
}

// token returns the next token and the line it starts on, keeping the
// stack of open elements and checking the limits and the nesting.
func (r *Reader) token() (xml.Token, int, error) {
	line := r.line()
	r.src.tok, r.src.max = 0, r.o.MaxToken
	t, err := r.d.RawToken()
	if err != nil {
		return nil, line, r.classify(err, line)
	}
	if r.inReport && r.src.n-r.reportStart > r.o.MaxReport {
		return nil, line, &structError{line, fmt.Sprintf("report longer than %d bytes", r.o.MaxReport)}
	}
	switch t := t.(type) {
	case xml.StartElement:
		if len(r.stack) >= r.o.MaxDepth {
			return nil, line, &structError{line, fmt.Sprintf("elements nested deeper than %d", r.o.MaxDepth)}
		}
		r.stack = append(r.stack, qname(t.Name))
	case xml.EndElement:
		name := qname(t.Name)
		if len(r.stack) == 0 {
			if r.resynced {
				return t, line, nil // the end of a wrapper left behind by a resync
			}
			return nil, line, &structError{line, fmt.Sprintf("XML syntax error on line %d: unexpected end element </%s>", line, name)}
		}
		if top := r.stack[len(r.stack)-1]; top != name {
			return nil, line, &structError{line, fmt.Sprintf("XML syntax error on line %d: element <%s> closed by </%s>", line, top, name)}
		}
		r.stack = r.stack[:len(r.stack)-1]
	}
	return t, line, nil
}

// classify turns a decoder error into a structError, io.EOF at the clean end
// of the input, or a fatal error (one of the underlying reader).
func (r *Reader) classify(err error, line int) error {
	if r.src.err != nil && r.src.err != io.EOF {
		return fmt.Errorf("%s: %w", r.file, r.src.err)
	}
	var se *xml.SyntaxError
	var ee *encodingError
	switch {
	case errors.As(err, &ee):
		return &structError{line, ee.msg}
	case errors.Is(err, errTokenTooLong):
		return &structError{line, fmt.Sprintf("an XML token (a text, tag or comment) longer than %d bytes", r.o.MaxToken)}
	case err == io.EOF && r.inReport:
		return &structError{line, "the file ends inside this report (cut short?)"}
	case err == io.EOF:
		return io.EOF
	case errors.As(err, &se):
		if se.Msg == "unexpected EOF" {
			return &structError{line, "the file ends inside an XML token (cut short?)"}
		}
		return &structError{r.base + se.Line, fmt.Sprintf("XML syntax error on line %d: %s", r.base+se.Line, se.Msg)}
	}
	return &structError{line, strings.TrimPrefix(err.Error(), "xml: ")}
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func (r *Reader) top() string { return r.stack[len(r.stack)-1] }

// reject returns a record rejected whole.
func (r *Reader) reject(line int, reason, raw string) (*seams.ReportRecord, error) {
	r.counts.Rejected++
	r.whole = seams.RecordError{File: r.file, Line: line, Reason: reason, Raw: raw}
	r.rec = seams.ReportRecord{Report: seams.Report{IPs: r.rec.Report.IPs[:0], Devices: r.rec.Report.Devices[:0]},
		Parts: r.rec.Parts[:0], Line: line, Raw: []byte(raw), Whole: &r.whole}
	r.ipSrc, r.devSrc = r.ipSrc[:0], r.devSrc[:0]
	return &r.rec, nil
}

const resumes = " (reading resumes at the next <report>)"

// Next returns the next record: a report, with the parts of it rejected on
// their own, or a record rejected whole. It returns io.EOF after the last.
// The record is valid until the next call.
func (r *Reader) Next() (*seams.ReportRecord, error) {
	for {
		if r.done {
			return nil, io.EOF
		}
		if r.needResync {
			if err := r.resync(); err != nil {
				if err == io.EOF {
					r.done = true
					return nil, io.EOF
				}
				return nil, err
			}
		}
		line := r.pendingLine
		if r.pending {
			r.pending = false
			return r.readReport(line)
		}
		t, line, err := r.token()
		var st *structError
		switch {
		case err == io.EOF:
			r.done = true
			if len(r.stack) > 0 {
				// Rejected where the file ends, which comes after every
				// record read; the reason says where the wrapper opened.
				return r.reject(max(r.wrapperLine, r.line()), fmt.Sprintf("the file ends before </%s>, opened on line %d (cut short?)", r.stack[0], r.wrapperLine), "")
			}
			return nil, io.EOF
		case errors.As(err, &st):
			r.needResync = true
			return r.reject(st.line, st.msg+resumes, "")
		case err != nil:
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			name := r.top()
			switch {
			case name == "report" && len(r.stack) <= 2:
				return r.readReport(line)
			case len(r.stack) == 1:
				r.wrapper, r.wrapperLine = name, line
			default:
				var c tally
				if err := r.skip(&c, false); err != nil {
					if errors.As(err, &st) {
						r.needResync = true
						return r.reject(st.line, st.msg+resumes, "")
					}
					return nil, err
				}
				reason := fmt.Sprintf("<%s> in <%s> is not a <report>; skipped", name, r.stack[0])
				if c.reports > 0 {
					reason += fmt.Sprintf(" with the %d <report> elements inside it (reports must be children of the root)", c.reports)
				}
				return r.reject(line, reason, "<"+name+">")
			}
		case xml.Directive:
			return r.reject(line, "<!"+firstWord(t)+"> refused: CyberTipline XML has no DTD, and seams accepts no DTD or entity declarations", "")
		case xml.EndElement:
			if len(r.stack) == 0 {
				r.wrapper = ""
			}
		case xml.ProcInst:
			// A declaration starts a document: one without an encoding,
			// or of UTF-8, is UTF-8 (the decoder hands the others to
			// CharsetReader).
			if enc := declEncoding(t); t.Target == "xml" && (enc == "" || strings.EqualFold(enc, "utf-8")) {
				r.src.setEncoding("utf-8")
			}
		}
		// Text, comments, other processing instructions and end tags
		// outside reports carry nothing.
	}
}

// declEncoding returns the encoding an XML declaration names, or "".
func declEncoding(p xml.ProcInst) string {
	s := string(p.Inst)
	i := strings.Index(s, "encoding")
	if i < 0 {
		return ""
	}
	s = strings.TrimLeft(s[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(s, "=") {
		return ""
	}
	s = strings.TrimLeft(s[1:], " \t\r\n")
	if s == "" || s[0] != '"' && s[0] != '\'' {
		return ""
	}
	if j := strings.IndexByte(s[1:], s[0]); j >= 0 {
		return s[1 : 1+j]
	}
	return ""
}

func firstWord(b []byte) string {
	s := string(b[:min(len(b), 64)])
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		s = s[:i]
	}
	return s
}

// resync skips to the next "<report" start tag after a break in the XML and
// starts a new decoder there.
func (r *Reader) resync() error {
	r.needResync, r.inReport, r.resynced = false, false, true
	// Most breaks are inside a report, and reports are read on inside the
	// root that held them.
	r.stack = r.stack[:0]
	if r.wrapper != "" {
		r.stack = append(r.stack, r.wrapper)
	}
	s := r.src
	s.max = 0
	// A byte the old decoder took back (its one byte of lookahead) is the
	// first byte to look at.
	var carry []byte
	if s.n-r.decStart-r.d.InputOffset() == 1 {
		carry = []byte{s.last}
	}
	const pat = "<report"
	matched := 0
	for {
		var c byte
		if len(carry) > 0 {
			c, carry = carry[0], carry[1:]
		} else {
			var err error
			if c, err = s.ReadByte(); err != nil {
				if err == io.EOF {
					return io.EOF
				}
				return fmt.Errorf("%s: %w", r.file, err)
			}
		}
		if matched == len(pat) {
			switch c {
			case ' ', '\t', '\r', '\n', '/', '>':
				s.unread(append([]byte(pat), c))
				r.newDecoder()
				return nil
			}
			matched = 0
		}
		switch {
		case c == pat[matched]:
			matched++
		case c == '<':
			matched = 1
		default:
			matched = 0
		}
	}
}

// tally counts the elements of interest in a skipped subtree.
type tally struct{ ips, devices, reports int }

// skip consumes the element whose start tag was just read, through its end
// tag, counting into c (if not nil) the ipCaptureEvent, deviceId and report
// elements inside. Inside a report, a <report> start is errNested.
func (r *Reader) skip(c *tally, inReport bool) error {
	depth := len(r.stack)
	for {
		t, line, err := r.token()
		if err != nil {
			return err
		}
		switch t.(type) {
		case xml.StartElement:
			name := r.top()
			if name == "report" && inReport {
				r.pending, r.pendingLine = true, line
				return errNested
			}
			if c != nil {
				switch name {
				case "ipCaptureEvent":
					c.ips++
				case "deviceId":
					c.devices++
				case "report":
					c.reports++
				}
			}
		case xml.EndElement:
			if len(r.stack) < depth {
				return nil
			}
		}
	}
}

// each calls fn for every child element of the element whose start tag was
// just read, until its end tag; fn consumes the child through its end tag.
// Text between children is ignored.
// children walks the children of an element at path in the schema's order
// o: an unknown child is a rejected part (and skipped), one out of order or
// repeated against the schema rejects the whole report; fn reads the
// others, given each one's item path (path/name[N]).
func (r *Reader) children(rp *report, path string, o *order, fn func(name, item string, line int) error) error {
	under := func(s string) string {
		if path == "" {
			return s
		}
		return path + "/" + s
	}
	s := newSeq(o)
	return r.each(func(name string, line int) error {
		i, k, problem := s.next(name)
		switch {
		case i < 0:
			return r.unknown(line, under(name), name)
		case problem != "":
			rp.wholeProblem(under(s.child(i, k)), problem)
			return r.skip(nil, true)
		}
		return fn(name, under(s.child(i, k)), line)
	})
}

func (r *Reader) each(fn func(name string, line int) error) error {
	depth := len(r.stack)
	for {
		t, line, err := r.token()
		if err != nil {
			return err
		}
		switch t.(type) {
		case xml.StartElement:
			name := r.top()
			if name == "report" {
				r.pending, r.pendingLine = true, line
				return errNested
			}
			if err := fn(name, line); err != nil {
				return err
			}
		case xml.EndElement:
			if len(r.stack) < depth {
				return nil
			}
		case xml.Directive:
			return &structError{line, "a <!" + firstWord(t.(xml.Directive)) + "> directive inside a report"}
		}
	}
}

// value reads the text of the leaf element whose start tag was just read,
// through its end tag. problem is set when the element is not a plain
// value: it has child elements or too long a text. The text is trimmed of
// white space (the schema's types collapse it).
func (r *Reader) value() (text, problem string, err error) {
	depth := len(r.stack)
	r.text = r.text[:0]
	replaced := r.src.replaced
	for {
		t, line, err := r.token()
		if err != nil {
			return "", "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			if problem == "" && len(r.text)+len(t) > r.o.MaxValue {
				problem = fmt.Sprintf("value longer than %d bytes", r.o.MaxValue)
			}
			if problem == "" {
				r.text = append(r.text, t...)
			}
		case xml.StartElement:
			if r.top() == "report" {
				r.pending, r.pendingLine = true, line
				return "", "", errNested
			}
			if problem == "" {
				problem = "<" + r.top() + "> inside a value"
			}
			if err := r.skip(nil, true); err != nil {
				return "", "", err
			}
		case xml.EndElement:
			if len(r.stack) < depth {
				if problem == "" && r.src.replaced > replaced {
					// A value seams uses must be what the file says.
					problem = fmt.Sprintf("bytes that are not valid %s (the encoding the file is read in), or characters XML does not allow, in the value", r.src.name)
				}
				return string(bytes.TrimSpace(r.text)), problem, nil
			}
		}
	}
}

// report is what one report has given so far.
type report struct {
	id       string
	hasID    bool
	whole    string // the first problem that rejects the report whole
	itype    string
	flags    []string
	received time.Time
	// anonymous: a reported person's estimatedLocation is A1 or A2.
	anonymous bool
}

// wholeProblem records a problem that rejects the report whole; the first
// one is kept.
func (rp *report) wholeProblem(path, problem string) {
	if rp.whole == "" {
		rp.whole = path + ": " + problem
	}
}

// part records a part of the report rejected on its own.
func (r *Reader) part(line int, item, reason, raw string) {
	r.rec.Parts = append(r.rec.Parts, seams.RecordError{File: r.file, Line: line, Item: item, Reason: reason, Raw: seams.TruncateRaw([]byte(raw))})
}

// unknown skips an element the schema does not have where it stands, with
// everything in it, and counts it: newer versions of the schema add
// elements, and a report must not be lost, nor a rejection made, for what
// seams does not read. The ip events and devices inside it are counted as
// Other.
func (r *Reader) unknown(line int, path, name string) error {
	r.counts.Unknown++
	key := pathPattern(path)
	if _, ok := r.counts.UnknownPaths[key]; !ok && len(r.counts.UnknownPaths) >= MaxUnknownPaths {
		key = "..."
	}
	if r.counts.UnknownPaths == nil {
		r.counts.UnknownPaths = map[string]int{}
	}
	r.counts.UnknownPaths[key]++
	var c tally
	err := r.skip(&c, true)
	r.counts.OtherIPs += c.ips
	r.counts.OtherDevices += c.devices
	return err
}

// pathPattern drops the positions of an element path:
// "personOrUserReported[2]/associatedAccount[1]/x" becomes
// "personOrUserReported/associatedAccount/x".
func pathPattern(path string) string {
	if strings.IndexByte(path, '[') < 0 {
		return path
	}
	b := make([]byte, 0, len(path))
	skip := false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '[':
			skip = true
		case c == ']':
			skip = false
		case !skip:
			b = append(b, c)
		}
	}
	return string(b)
}

// readReport reads the report whose start tag is on top of the stack.
func (r *Reader) readReport(line int) (*seams.ReportRecord, error) {
	r.n++
	r.counts.Reports++
	r.inReport, r.reportStart, r.reportLevel = true, r.src.n, len(r.stack)
	defer func() { r.inReport = false }()
	rec := &r.rec
	*rec = seams.ReportRecord{Report: seams.Report{IPs: rec.Report.IPs[:0], Devices: rec.Report.Devices[:0]},
		Parts: rec.Parts[:0], Line: line}
	r.ipSrc, r.devSrc = r.ipSrc[:0], r.devSrc[:0]
	r.incidentIPs = r.incidentIPs[:0]

	var rp report
	err := r.children(&rp, "", reportOrder, func(name, path string, line int) error {
		switch name {
		case "reportId":
			v, problem, err := r.value()
			if err != nil {
				return err
			}
			if problem != "" {
				rp.wholeProblem(path, problem)
			}
			rp.id, rp.hasID = v, true
			return nil
		case "incidentSummary":
			return r.incident(&rp, path)
		case "internetDetails":
			return r.internetDetails(&rp, path)
		case "personOrUserReported":
			return r.person(&rp, path)
		case "victim":
			c := tally{}
			err := r.skip(&c, true)
			r.counts.VictimIPs += c.ips
			r.counts.VictimDevices += c.devices
			return err
		case "intendedRecipient":
			c := tally{}
			err := r.skip(&c, true)
			r.counts.RecipientIPs += c.ips
			r.counts.RecipientDevices += c.devices
			return err
		default:
			c := tally{}
			err := r.skip(&c, true)
			r.counts.OtherIPs += c.ips
			r.counts.OtherDevices += c.devices
			return err
		}
	})
	raw := r.reportRaw(&rp)
	var st *structError
	switch {
	case err == errNested:
		// The new report's start tag stands where this report's children
		// were: this report is not closed.
		r.stack = append(r.stack[:r.reportLevel-1], "report")
		return r.reject(line, fmt.Sprintf("a <report> on line %d starts inside this report: this one is not closed", r.pendingLine), raw)
	case errors.As(err, &st):
		r.needResync = true
		return r.reject(line, st.msg+resumes, raw)
	case err != nil:
		return nil, err
	}
	switch {
	case rp.whole != "":
		return r.reject(line, rp.whole, raw)
	case rp.hasID && rp.id == "":
		return r.reject(line, "reportId is empty", raw)
	case !rp.hasID:
		rp.id = r.file + "#" + strconv.Itoa(r.n)
	}
	if rp.anonymous {
		// A1/A2 says the person's addresses do not place them: so for
		// the addresses the schema gives as the person's outside the
		// person too. (With several persons, one such estimate is
		// enough: a proxy mark only weakens.)
		for _, i := range r.incidentIPs {
			rec.Report.IPs[i].Proxy = true
		}
	}
	rec.Report.ID = rp.id
	rec.Report.Received = rp.received
	rec.Report.Incident = incidentString(rp.itype, rp.flags)
	rec.Raw = []byte(raw)
	r.counts.Accepted++
	return rec, nil
}

// reportRaw is the raw text quoted for a report: its start and id, never
// more, since a report can hold content.
func (r *Reader) reportRaw(rp *report) string {
	if !rp.hasID {
		return "<report>"
	}
	r.raw.Reset()
	r.raw.WriteString("<report><reportId>")
	xml.EscapeText(&r.raw, []byte(rp.id))
	r.raw.WriteString("</reportId>")
	return seams.TruncateRaw(r.raw.Bytes())
}

// incidentString is the incident string: the incident type, then the report
// annotations that are true, in document order, joined by "; ".
func incidentString(itype string, flags []string) string {
	if len(flags) == 0 {
		return itype
	}
	parts := make([]string, 0, 1+len(flags))
	if itype != "" {
		parts = append(parts, itype)
	}
	return strings.Join(append(parts, flags...), "; ")
}

// incident reads incidentSummary.
func (r *Reader) incident(rp *report, path string) error {
	return r.children(rp, path, incidentOrder, func(name, item string, line int) error {
		switch name {
		case "incidentType":
			v, problem, err := r.value()
			if err != nil {
				return err
			}
			if problem != "" {
				r.part(line, item, problem, "")
				return nil
			}
			rp.itype = strings.Join(strings.Fields(v), " ")
		case "reportAnnotations":
			return r.annotations(rp, item)
		case "incidentDateTime":
			v, problem, err := r.value()
			if err != nil {
				return err
			}
			raw := leaf(&r.raw, name, v)
			if problem != "" {
				r.part(line, item, problem, raw)
				return nil
			}
			if v == "" {
				return nil
			}
			t, err := parseDateTime(v)
			if err != nil {
				r.part(line, item, err.Error(), raw)
				return nil
			}
			rp.received = t
		default:
			return r.skip(nil, true)
		}
		return nil
	})
}

// annotations reads reportAnnotations: every child is a flag, an xs:boolean,
// whether or not seams knows its name, so that flags the schema gains later
// are kept too. The schema declares each flag fixed="true", and the
// hotline's documentation writes them as empty elements (<sextortion/>):
// an empty flag takes the fixed value, true.
func (r *Reader) annotations(rp *report, path string) error {
	return r.each(func(name string, line int) error {
		item := path + "/" + name
		v, problem, err := r.value()
		if err != nil {
			return err
		}
		if problem == "" {
			on := true
			if v != "" {
				on, problem = parseBool(v)
			}
			if problem == "" {
				if on && !contains(rp.flags, name) {
					rp.flags = append(rp.flags, name)
				}
				return nil
			}
		}
		r.part(line, item, problem, leaf(&r.raw, name, v))
		return nil
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// person reads personOrUserReported: the suspect.
func (r *Reader) person(rp *report, path string) error {
	first := len(r.rec.Report.IPs)
	var country string
	err := r.children(rp, path, personOrder, func(name, item string, line int) error {
		switch name {
		case "ipCaptureEvent":
			return r.ipEvent(line, item, false)
		case "deviceId":
			return r.device(line, item, false)
		case "estimatedLocation":
			return r.location(rp, item, &country)
		case "associatedAccount":
			return r.account(rp, item)
		}
		return r.skip(nil, true)
	})
	// A1 and A2 are the codes geolocation gives anonymous proxies and
	// satellite providers: the person's addresses do not place them. The
	// estimate is of the person, not of one event, so it marks all their
	// events, the associated accounts' too (a proxy mark only weakens a
	// finding, never strengthens it).
	if country == "A1" || country == "A2" {
		rp.anonymous = true
		for i := first; i < len(r.rec.Report.IPs); i++ {
			r.rec.Report.IPs[i].Proxy = true
		}
	}
	return err
}

// internetDetails reads one internetDetails: of its incidents (the schema
// has one a record, a choice), only peer2peerIncident holds addresses, which
// the schema documents as "an IP address used by the person or user
// reported": the suspect's. Any other incident is skipped, and what it
// holds counted as Other.
func (r *Reader) internetDetails(rp *report, path string) error {
	return r.each(func(name string, line int) error {
		item := path + "/" + name
		switch name {
		case "peer2peerIncident":
			return r.children(rp, item, peer2peerOrder, func(name, item string, line int) error {
				if name != "ipCaptureEvent" {
					return r.skip(nil, true)
				}
				n := len(r.rec.Report.IPs)
				if err := r.ipEvent(line, item, false); err != nil {
					return err
				}
				if len(r.rec.Report.IPs) > n {
					r.counts.IncidentIPs++
					r.incidentIPs = append(r.incidentIPs, n)
				}
				return nil
			})
		case "webPageIncident", "emailIncident", "newsgroupIncident", "chatImIncident",
			"onlineGamingIncident", "cellPhoneIncident", "nonInternetIncident":
			var c tally
			err := r.skip(&c, true)
			r.counts.OtherIPs += c.ips
			r.counts.OtherDevices += c.devices
			return err
		}
		return r.unknown(line, item, name)
	})
}

// location reads estimatedLocation for its country code.
func (r *Reader) location(rp *report, path string, country *string) error {
	return r.children(rp, path, locationOrder, func(name, _ string, line int) error {
		if name != "countryCode" {
			return r.skip(nil, true)
		}
		v, problem, err := r.value()
		if err != nil {
			return err
		}
		if problem != "" {
			// Whether the person is behind a proxy decides tiers: a
			// country code that cannot be read rejects the report.
			rp.wholeProblem(path+"/countryCode", problem)
			return nil
		}
		*country = strings.ToUpper(v)
		return nil
	})
}

// account reads an associatedAccount of the suspect: its events are the
// suspect's, marked as an associated account's.
func (r *Reader) account(rp *report, path string) error {
	return r.children(rp, path, accountOrder, func(name, item string, line int) error {
		switch name {
		case "ipCaptureEvent":
			return r.ipEvent(line, item, true)
		case "deviceId":
			return r.device(line, item, true)
		}
		return r.skip(nil, true)
	})
}

// event holds the values of an ipCaptureEvent or deviceId as read.
type event struct {
	vals    [5]string // by index in the element's order
	has     [5]bool
	problem string // the first problem, naming its item
	item    string
}

func (e *event) fail(item, problem string) {
	if e.problem == "" {
		e.item, e.problem = item, problem
	}
}

// fields reads the children of an ipCaptureEvent or deviceId.
func (r *Reader) fields(o *order, path string, e *event) error {
	s := newSeq(o)
	return r.each(func(name string, line int) error {
		i, _, problem := s.next(name)
		switch {
		case i < 0:
			return r.unknown(line, path+"/"+name, name)
		case problem != "":
			e.fail(path+"/"+name, problem)
			return r.skip(nil, true)
		}
		v, problem, err := r.value()
		if err != nil {
			return err
		}
		if problem != "" {
			e.fail(path+"/"+name, problem)
		}
		e.vals[i], e.has[i] = v, true
		return nil
	})
}

// eventRaw re-writes the values of an event as XML, for a rejection.
func (r *Reader) eventRaw(o *order, elem string, e *event) string {
	b := &r.raw
	b.Reset()
	b.WriteString("<" + elem + ">")
	for i, name := range o.names {
		if e.has[i] {
			b.WriteString("<" + name + ">")
			xml.EscapeText(b, []byte(e.vals[i]))
			b.WriteString("</" + name + ">")
		}
	}
	b.WriteString("</" + elem + ">")
	return b.String()
}

// The indexes of ipCaptureEvent's and deviceId's children in their orders.
const (
	ipAddress, ipEventName, ipDateTime, ipProxy, ipPort = 0, 1, 2, 3, 4
	devType, devValue, devEventName, devDateTime        = 0, 1, 2, 3
)

// ipEvent reads an ipCaptureEvent of the suspect or of an associated account.
func (r *Reader) ipEvent(line int, path string, associated bool) error {
	var e event
	if err := r.fields(ipEventOrder, path, &e); err != nil {
		return err
	}
	var ev seams.IPEvent
	if e.problem == "" {
		switch {
		case !e.has[ipAddress] || e.vals[ipAddress] == "":
			e.fail(path, "missing <ipAddress>")
		default:
			a, err := netip.ParseAddr(e.vals[ipAddress])
			if err != nil {
				e.fail(path+"/ipAddress", fmt.Sprintf("invalid IP address %q", e.vals[ipAddress]))
			}
			ev.Addr = seams.NormalizeAddr(a)
		}
	}
	// The schema makes dateTime optional. An event without one (or with
	// an empty one) is kept with a zero At: its time cannot be checked
	// against a window, so it can make a potential finding only (rule
	// ip-undated).
	if e.problem == "" && e.vals[ipDateTime] != "" {
		t, err := parseDateTime(e.vals[ipDateTime])
		if err != nil {
			e.fail(path+"/dateTime", err.Error())
		}
		ev.At = t
	}
	if e.problem == "" && e.has[ipProxy] {
		var problem string
		if ev.Proxy, problem = parseBool(e.vals[ipProxy]); problem != "" {
			e.fail(path+"/possibleProxy", problem)
		}
	}
	if e.problem == "" && e.has[ipPort] && e.vals[ipPort] != "" {
		n, ok := parseInt(e.vals[ipPort])
		if !ok || n < 0 || n > 65535 {
			e.fail(path+"/port", fmt.Sprintf("invalid port %q (want an integer 0-65535)", e.vals[ipPort]))
		}
		ev.Port = int(n)
	}
	if e.problem != "" {
		r.part(line, e.item, e.problem, r.eventRaw(ipEventOrder, "ipCaptureEvent", &e))
		return nil
	}
	name := eventName(e.vals[ipEventName])
	ev.Event = name
	if associated {
		r.counts.AssociatedIPs++
		ev.Associated = true
	}
	if ev.At.IsZero() {
		r.counts.UndatedIPs++
	}
	r.rec.Report.IPs = append(r.rec.Report.IPs, ev)
	r.ipSrc = append(r.ipSrc, Source{Path: path, Associated: associated, Event: name})
	return nil
}

// device reads a deviceId of the suspect or of an associated account.
func (r *Reader) device(line int, path string, associated bool) error {
	var e event
	if err := r.fields(deviceOrder, path, &e); err != nil {
		return err
	}
	var dv seams.Device
	if e.problem == "" {
		switch {
		case !e.has[devType]:
			e.fail(path, "missing <idType>")
		case !e.has[devValue]:
			e.fail(path, "missing <idValue>")
		default:
			id, err := seams.NewReportDeviceID(e.vals[devType], e.vals[devValue])
			if err != nil {
				e.fail(path, err.Error())
			}
			dv.ID = id
		}
	}
	if e.problem == "" && e.vals[devDateTime] != "" {
		t, err := parseDateTime(e.vals[devDateTime])
		if err != nil {
			e.fail(path+"/dateTime", err.Error())
		}
		dv.At = t
	}
	if e.problem != "" {
		r.part(line, e.item, e.problem, r.eventRaw(deviceOrder, "deviceId", &e))
		return nil
	}
	if associated {
		r.counts.AssociatedDevices++
		dv.Associated = true
	}
	r.rec.Report.Devices = append(r.rec.Report.Devices, dv)
	r.devSrc = append(r.devSrc, Source{Path: path, Associated: associated, Event: eventName(e.vals[devEventName])})
	return nil
}

// eventName lower-cases an eventName: the schema's Login, Registration,
// Purchase, Upload, Other and Unknown become login ... unknown, as seams'
// own reports write them, without allocating; any other name is kept,
// lower-cased.
func eventName(s string) string {
	switch s {
	case "":
		return ""
	case "Login":
		return "login"
	case "Registration":
		return "registration"
	case "Purchase":
		return "purchase"
	case "Upload":
		return "upload"
	case "Other":
		return "other"
	case "Unknown":
		return "unknown"
	}
	return strings.ToLower(s)
}

// parseDateTime parses an xs:dateTime. The schema lets the offset be left
// out; seams does not, since a time without one could be any of 26 hours.
// XML Schema allows 24:00:00 (with no fraction but zeros): the first
// instant of the next day.
func parseDateTime(s string) (time.Time, error) {
	t, err := seams.ParseTime(s)
	if err == nil {
		return t, nil
	}
	if midnight, ok := endOfDay(s); ok {
		if t, err := seams.ParseTime(midnight); err == nil {
			t = t.Add(24 * time.Hour)
			if t.After(seams.MaxTime) {
				return time.Time{}, fmt.Errorf("%q: %w", s, seams.ErrTimeRange)
			}
			return t, nil
		}
	}
	if errors.Is(err, seams.ErrTimeRange) {
		return time.Time{}, err
	}
	if _, lerr := time.Parse("2006-01-02T15:04:05.999999999", s); lerr == nil {
		return time.Time{}, fmt.Errorf("time %q has no offset (want one, such as Z or -05:00: without it the time is ambiguous)", s)
	}
	return time.Time{}, fmt.Errorf("invalid dateTime %q (want an xs:dateTime with an offset, such as 2024-05-01T22:14:03Z)", s)
}

// endOfDay returns s with a time of 24:00:00 (fraction all zeros, if any)
// written as 00:00:00 of the same day, and whether s had that time.
func endOfDay(s string) (string, bool) {
	i := strings.IndexByte(s, 'T')
	if i < 0 || !strings.HasPrefix(s[i+1:], "24:00:00") {
		return "", false
	}
	j := i + 1 + len("24:00:00")
	if j < len(s) && s[j] == '.' {
		k := j + 1
		for k < len(s) && s[k] == '0' {
			k++
		}
		if k == j+1 || k < len(s) && '0' <= s[k] && s[k] <= '9' {
			return "", false // no digit, or a fraction that is not zero
		}
		j = k
	}
	return s[:i+1] + "00:00:00" + s[j:], true
}

// parseInt parses an xs:int: an optional sign and decimal digits, leading
// zeros allowed ("+443", "0443", "-0").
func parseInt(s string) (int64, bool) {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	if len(digits) != len(s) && len(digits) != len(s)-1 || digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 32)
	return n, err == nil
}

// parseBool parses an xs:boolean.
func parseBool(s string) (bool, string) {
	switch s {
	case "true", "1":
		return true, ""
	case "false", "0":
		return false, ""
	}
	return false, fmt.Sprintf("invalid boolean %q (want true, false, 1 or 0)", s)
}

// leaf re-writes one element's value as XML, for a rejection.
func leaf(b *bytes.Buffer, name, v string) string {
	b.Reset()
	b.WriteString("<" + name + ">")
	xml.EscapeText(b, []byte(v))
	b.WriteString("</" + name + ">")
	return b.String()
}
