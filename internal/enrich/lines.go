package enrich

// Annotating a file: seams enrich copies a JSON Lines file of reports or
// findings, adding to every IP address what the databases say of it. It
// edits each line's bytes in place of re-encoding it, so that everything
// it does not annotate is copied byte for byte, and line N of the output
// is line N of the input.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/mmdb"
)

// FileOptions configures Annotate.
type FileOptions struct {
	In  string // the input; "-" reads Stdin; gzip or zstd data is decompressed
	Out string // the output, written whole or not at all; "-" writes Stdout; a name ending in .gz is compressed
	// ASNDB and GeoDB are the databases in MaxMind DB format; at least one
	// is required (the first with a record for an address answers).
	ASNDB, GeoDB []string
	// Kind is "reports" or "findings"; "" finds it from the first record.
	Kind string
	// MaxLine is the longest report line parsed: a longer one is copied
	// unchanged and rejected. Lines of findings are read up to
	// jsonl.MaxFindingLine, as every reader of findings.jsonl reads them.
	MaxLine int
	// RejectedFile, if set, also gets every rejection, as rejected.jsonl
	// lines (file, line, item, reason, raw).
	RejectedFile string
	// Rejected, if set, is called with every rejection, in input order.
	Rejected func(*seams.RecordError)

	Stdin  io.Reader
	Stdout io.Writer
}

// DefaultMaxLine is FileOptions.MaxLine's default, and MinMaxLine its
// smallest value.
const (
	DefaultMaxLine = 4 << 20
	MinMaxLine     = 1024
)

// NewFileOptions returns FileOptions with the defaults filled in.
func NewFileOptions() FileOptions { return FileOptions{MaxLine: DefaultMaxLine} }

// Validate returns the mistakes in o, each a *seams.FieldError, joined;
// nil when there is none. Annotate calls it.
func (o *FileOptions) Validate() error {
	var errs []error
	if o.In == "" {
		errs = append(errs, seams.MissingField("In"))
	}
	if o.Out == "" {
		errs = append(errs, seams.MissingField("Out"))
	}
	if len(o.ASNDB) == 0 && len(o.GeoDB) == 0 {
		errs = append(errs, seams.InvalidField("ASNDB", "give at least one ASN or location database (scripts/fetch-ipdb fetches them)"))
	}
	if o.In != "" && o.In == o.Out && o.In != "-" {
		errs = append(errs, seams.InvalidField("Out", "%s is the input too", o.Out))
	}
	if o.MaxLine < MinMaxLine {
		errs = append(errs, seams.InvalidField("MaxLine", "%d is too small (at least %d)", o.MaxLine, MinMaxLine))
	}
	if _, err := parseKind(o.Kind); err != nil {
		errs = append(errs, seams.InvalidField("Kind", "%v", err))
	}
	return errors.Join(errs...)
}

// Kind is the kind of file Annotate reads.
type Kind uint8

// The kinds of file Annotate reads.
const (
	KindUnknown  Kind = iota
	KindReports       // lines with "id" and "ips", as xref reads them
	KindFindings      // findings.jsonl: lines with "report", "compound" and "evidence"
)

func (k Kind) String() string {
	switch k {
	case KindReports:
		return "reports"
	case KindFindings:
		return "findings"
	}
	return "unknown"
}

// parseKind returns the Kind a FileOptions.Kind names.
func parseKind(s string) (Kind, error) {
	switch s {
	case "":
		return KindUnknown, nil
	case "reports":
		return KindReports, nil
	case "findings":
		return KindFindings, nil
	}
	return KindUnknown, fmt.Errorf("%q (want reports or findings)", s)
}

// FileStats counts what Annotate did.
type FileStats struct {
	Kind                           Kind // what the file holds
	Records, Addrs                 int
	WithASN, WithCountry, WithCity int
	Rejected                       int
	Databases                      []mmdb.Info // the databases read, with their dates
}

// Annotate copies o.In to o.Out, adding to every IP address the databases'
// answer: each element of a report's "ips", each evidence's "observed"
// object of a finding, gains "asn", "as_org", "country" and "city" when a
// database knows them; fields of these names already present are replaced,
// so that annotating twice gives the same file. A line or an element that
// cannot be read is copied as it is and rejected.
func Annotate(ctx context.Context, o FileOptions) (*FileStats, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	kind, _ := parseKind(o.Kind)
	mo := mmdb.NewOptions()
	mo.ASN, mo.Geo = o.ASNDB, o.GeoDB
	en, err := mmdb.New(mo)
	if err != nil {
		return nil, err
	}
	defer en.Close()
	in, closeIn, err := openInput(ctx, o.In, o.Stdin)
	if err != nil {
		return nil, err
	}
	defer closeIn()
	out, err := createOutput(o.Out, o.Stdout)
	if err != nil {
		return nil, err
	}
	defer out.abort()
	var rej *atomicfile.File
	if o.RejectedFile != "" {
		if rej, err = atomicfile.Create(o.RejectedFile); err != nil {
			return nil, err
		}
		defer rej.Abort()
	}
	x := &lineEditor{en: en, kind: kind, file: o.In}
	report := func(rs []seams.RecordError) error {
		for i := range rs {
			x.stats.Rejected++
			if o.Rejected != nil {
				o.Rejected(&rs[i])
			}
			if rej != nil {
				if _, err := rej.Write(jsonl.AppendRejected(nil, &rs[i])); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := x.copyLines(ctx, in, out.w, o.MaxLine, report); err != nil {
		return nil, err
	}
	if err := out.commit(); err != nil {
		return nil, err
	}
	if rej != nil {
		if err := rej.Commit(); err != nil {
			return nil, err
		}
	}
	x.stats.Kind = x.kind
	x.stats.Databases = en.Databases()
	return &x.stats, nil
}

// copyLines copies every line of in to w, edited, and reports the
// rejections. maxLine bounds report lines; findings lines are read up to
// the limit of every reader of findings.jsonl (jsonl.MaxFindingLine).
// Until the first record says which the file holds, a line is read up to
// the larger, and a long one that is not a finding is then rejected as a
// long report line would be.
func (x *lineEditor) copyLines(ctx context.Context, in io.Reader, w io.Writer, maxLine int, report func([]seams.RecordError) error) error {
	limit := func() int {
		switch x.kind {
		case KindReports:
			return maxLine
		case KindFindings:
			return jsonl.MaxFindingLine
		}
		return max(maxLine, jsonl.MaxFindingLine)
	}
	return forEachLine(ctx, in, limit, func(n int, line []byte, long bool) error {
		if !long && len(line) > maxLine && x.kind != KindFindings {
			if top, err := objectMembers(bytes.TrimPrefix(line, bom)); err != nil || kindOf(top) != KindFindings {
				if _, err := w.Write(line); err != nil {
					return err
				}
				line, long = line[:min(len(line), seams.MaxRaw)], true
			}
		}
		if long {
			lim := maxLine
			if x.kind == KindFindings {
				lim = jsonl.MaxFindingLine
			}
			return report([]seams.RecordError{*jsonl.LongLine(x.file, n, line, lim)})
		}
		edited, rs, err := x.edit(line, n)
		if err != nil {
			return err
		}
		if _, err := w.Write(edited); err != nil {
			return err
		}
		return report(rs)
	}, w)
}

// openInput opens the input through package input: "-" is standard
// input, gzip or zstd data is decompressed, found from its first bytes.
func openInput(ctx context.Context, name string, stdin io.Reader) (io.Reader, func(), error) {
	in, err := input.Open(ctx, name, stdin)
	if err != nil {
		return nil, nil, err
	}
	r, err := in.Reader()
	if err != nil {
		in.Close()
		return nil, nil, err
	}
	return r, func() { in.Close() }, nil
}

// output is the file enrich writes: standard output, or a file renamed
// into place on commit; gzip-compressed for a .gz name.
type output struct {
	w    io.Writer
	zw   *gzip.Writer
	file *atomicfile.File
	bw   *bufio.Writer // for standard output
}

func createOutput(name string, stdout io.Writer) (*output, error) {
	o := &output{}
	var w io.Writer
	if name == "-" {
		o.bw = bufio.NewWriterSize(stdout, 1<<20)
		w = o.bw
	} else {
		f, err := atomicfile.Create(name)
		if err != nil {
			return nil, err
		}
		o.file, w = f, f
	}
	if strings.HasSuffix(name, ".gz") {
		o.zw = gzip.NewWriter(w)
		w = o.zw
	}
	o.w = w
	return o, nil
}

func (o *output) commit() error {
	if o.zw != nil {
		if err := o.zw.Close(); err != nil {
			return err
		}
	}
	if o.bw != nil {
		return o.bw.Flush()
	}
	return o.file.Commit()
}

func (o *output) abort() {
	if o.file != nil {
		o.file.Abort()
	}
}

// forEachLine calls fn for each line of r (without its newline), numbered
// from 1, and copies the line terminators to w itself. A line longer than
// limit() (asked for each line) is copied to w unchanged as it streams,
// and fn gets only its first bytes with long set.
func forEachLine(ctx context.Context, r io.Reader, limit func() int, fn func(n int, line []byte, long bool) error, w io.Writer) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var buf []byte
	for n := 1; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		max := limit()
		buf = buf[:0]
		var start []byte // the first bytes of a long line
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			if start != nil {
				if _, werr := w.Write(chunk); werr != nil {
					return werr
				}
			} else {
				buf = append(buf, chunk...)
				body := len(buf)
				if body > 0 && buf[body-1] == '\n' {
					body--
				}
				if body > max {
					start = append([]byte(nil), buf[:min(len(buf), seams.MaxRaw)]...)
					if _, werr := w.Write(buf); werr != nil {
						return werr
					}
				}
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return err
		}
		if start != nil {
			if ferr := fn(n, start, true); ferr != nil {
				return ferr
			}
			if err == io.EOF {
				return nil
			}
			continue
		}
		if len(buf) == 0 && err == io.EOF {
			return nil
		}
		body, nl := buf, []byte(nil)
		if k := len(body); k > 0 && body[k-1] == '\n' {
			body, nl = body[:k-1], body[k-1:]
		}
		if ferr := fn(n, body, false); ferr != nil {
			return ferr
		}
		if _, werr := w.Write(nl); werr != nil {
			return werr
		}
		if err == io.EOF {
			return nil
		}
	}
}

// lineEditor annotates one line at a time. It edits the line's bytes in
// place of re-encoding it, so that everything it does not annotate is copied
// byte for byte.
type lineEditor struct {
	en    *mmdb.Enricher
	kind  Kind
	file  string
	stats FileStats
}

var bom = []byte("\xEF\xBB\xBF")

// edit returns the line annotated (or unchanged) and the parts rejected.
// The error is for a database that cannot be read, which stops the run.
func (x *lineEditor) edit(line []byte, n int) ([]byte, []seams.RecordError, error) {
	prefix := []byte(nil)
	if n == 1 && bytes.HasPrefix(line, bom) {
		prefix, line = bom, line[len(bom):]
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return append(prefix, line...), nil, nil
	}
	reject := func(item, reason string, raw []byte) []seams.RecordError {
		return []seams.RecordError{{File: x.file, Line: n, Item: item, Reason: reason, Raw: seams.TruncateRaw(raw)}}
	}
	top, err := objectMembers(line)
	if err != nil {
		return append(prefix, line...), reject("", "not a JSON object: "+err.Error(), line), nil
	}
	kind := kindOf(top)
	switch {
	case kind == KindUnknown:
		return append(prefix, line...), reject("", "neither a report (id, ips) nor a finding (report, compound, evidence)", line), nil
	case x.kind == KindUnknown:
		x.kind = kind
	case kind != x.kind:
		return append(prefix, line...), reject("", fmt.Sprintf("a %s line in a %s file", strings.TrimSuffix(kind.String(), "s"), x.kind), line), nil
	}
	x.stats.Records++
	var edits []edit
	var rejected []seams.RecordError
	for _, m := range top {
		var list string
		switch {
		case x.kind == KindReports && m.key == "ips":
			list = "ips"
		case x.kind == KindFindings && m.key == "evidence":
			list = "evidence"
		default:
			continue
		}
		val := line[m.start:m.end]
		if val[0] == 'n' { // null: no events
			continue
		}
		elems, err := arrayElements(val)
		if err != nil {
			rejected = append(rejected, reject(list, "not an array", val)...)
			continue
		}
		for i, el := range elems {
			item := list + "[" + strconv.Itoa(i) + "]"
			abs := m.start + el.start
			obj := line[abs : m.start+el.end]
			if list == "evidence" {
				ems, err := objectMembers(obj)
				if err != nil {
					rejected = append(rejected, reject(item, "not an object", obj)...)
					continue
				}
				for _, em := range ems {
					if em.key != "observed" {
						continue
					}
					sub := obj[em.start:em.end]
					ed, rs, err := x.annotate(sub, item+".observed", false)
					if err != nil {
						return nil, nil, err
					}
					for _, r := range rs {
						rejected = append(rejected, reject(r.Item, r.Reason, sub)...)
					}
					if ed != nil {
						edits = append(edits, edit{abs + em.start, abs + em.end, ed})
					}
				}
				continue
			}
			ed, rs, err := x.annotate(obj, item, true)
			if err != nil {
				return nil, nil, err
			}
			for _, r := range rs {
				rejected = append(rejected, reject(r.Item, r.Reason, obj)...)
			}
			if ed != nil {
				edits = append(edits, edit{abs, abs + len(obj), ed})
			}
		}
	}
	out := append([]byte(nil), prefix...)
	pos := 0
	for _, ed := range edits {
		out = append(out, line[pos:ed.start]...)
		out = append(out, ed.with...)
		pos = ed.end
	}
	return append(out, line[pos:]...), rejected, nil
}

// edit replaces line[start:end] with with.
type edit struct {
	start, end int
	with       []byte
}

// kindOf says which kind of record a line's top-level members make.
func kindOf(top []member) Kind {
	var report, finding bool
	for _, m := range top {
		switch m.key {
		case "evidence", "compound", "report":
			finding = true
		case "id", "ips":
			report = true
		}
	}
	switch {
	case finding && !report:
		return KindFindings
	case report && !finding:
		return KindReports
	}
	return KindUnknown
}

// enrichedKeys are the fields enrich writes into an address's object.
var enrichedKeys = map[string]bool{"asn": true, "as_org": true, "country": true, "city": true}

// annotate returns the object obj (an ip event or an observation) with the
// databases' answer for its "ip" added, or nil if nothing changes. needIP
// says whether an object without an ip is an error (an ip event) or simply
// not an address (a device observation). Rejections carry only Item and
// Reason; the caller adds where.
func (x *lineEditor) annotate(obj []byte, item string, needIP bool) ([]byte, []seams.RecordError, error) {
	ms, err := objectMembers(obj)
	if err != nil {
		return nil, []seams.RecordError{{Item: item, Reason: "not an object"}}, nil
	}
	var ip []byte
	stale := false
	for _, m := range ms {
		switch {
		case m.key == "ip":
			ip = obj[m.start:m.end] // the last one wins, as in xref
		case enrichedKeys[m.key]:
			stale = true
		}
	}
	if ip == nil {
		if needIP {
			return nil, []seams.RecordError{{Item: item, Reason: "missing ip"}}, nil
		}
		return nil, nil, nil
	}
	var s string
	if err := json.Unmarshal(ip, &s); err != nil {
		return nil, []seams.RecordError{{Item: item, Reason: fmt.Sprintf("invalid IP address %s", ip)}}, nil
	}
	addr, err := seams.ParseAddr(s)
	if err != nil {
		return nil, []seams.RecordError{{Item: item, Reason: err.Error()}}, nil
	}
	x.stats.Addrs++
	r, err := x.en.Lookup(addr)
	if err != nil {
		return nil, nil, err
	}
	if r.ASN == 0 && r.Country == "" && r.City == "" && !stale {
		return nil, nil, nil
	}
	b := []byte{'{'}
	for _, m := range ms {
		if enrichedKeys[m.key] {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = jsonl.AppendString(b, m.key)
		b = append(b, ':')
		b = append(b, obj[m.start:m.end]...)
	}
	field := func(key string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `":`...)
	}
	if r.ASN != 0 {
		x.stats.WithASN++
		field("asn")
		b = strconv.AppendUint(b, uint64(r.ASN), 10)
		if r.Org != "" {
			field("as_org")
			b = jsonl.AppendString(b, r.Org)
		}
	}
	if r.Country != "" {
		x.stats.WithCountry++
		field("country")
		b = jsonl.AppendString(b, r.Country)
	}
	if r.City != "" {
		x.stats.WithCity++
		field("city")
		b = jsonl.AppendString(b, r.City)
	}
	return append(b, '}'), nil, nil
}

// member is one member of a JSON object: its key (unescaped) and where its
// value lies in the object's bytes.
type member struct {
	key        string
	start, end int
}

// maxDepth bounds the nesting enrich accepts in a line, as encoding/json
// itself stops at 10000.
const maxDepth = 1000

// objectMembers returns the members of the JSON object b, which must be
// one whole object (surrounding spaces allowed).
func objectMembers(b []byte) ([]member, error) {
	if depth(b) > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		end := int(dec.InputOffset())
		ms = append(ms, member{key: key, start: end - len(raw), end: end})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) != 0 {
		return nil, errors.New("text after the object")
	}
	return ms, nil
}

// span is where one array element lies.
type span struct{ start, end int }

// arrayElements returns where the elements of the JSON array b lie.
func arrayElements(b []byte) ([]span, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, errors.New("not an array")
	}
	var out []span
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		end := int(dec.InputOffset())
		out = append(out, span{end - len(raw), end})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// depth returns the deepest nesting of brackets in b, outside strings.
func depth(b []byte) int {
	d, deepest, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}
