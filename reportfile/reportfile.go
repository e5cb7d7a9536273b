// Package reportfile opens a report input in whichever format it is in: it
// finds the format from the name and the content (or takes the one given),
// opens it through package internal/input (which decompresses gzip and
// zstd, found from the content), and returns a seams.ReportReader. The cross-reference
// pipeline reads JSON Lines with its own parallel parser and asks this
// package only which format an input is in; load and the other tools read
// every format through it.
package reportfile

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf16"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/csvreport"
	"github.com/seams-dev/seams/cybertip"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/jsonl"
)

// Format is a report file format.
type Format string

// The formats. The empty Format means "find it out".
const (
	JSONL    Format = "jsonl"    // seams' own: one report object a line
	CyberTip Format = "cybertip" // CyberTipline Reporting API report XML
	CSV      Format = "csv"      // one row per ip event or device
)

// Formats lists the formats, for help texts and errors.
var Formats = []Format{JSONL, CyberTip, CSV}

// ParseFormat parses a format name as given to --format; "" and "auto" mean
// find it out.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "", "auto":
		return "", nil
	case JSONL, CyberTip, CSV:
		return f, nil
	case "xml", "ncmec":
		return CyberTip, nil
	case "ndjson":
		return JSONL, nil
	}
	return "", fmt.Errorf("unknown report format %q (want jsonl, cybertip or csv)", s)
}

// ByName returns the format a file name says, ignoring a .gz suffix, or ""
// when the name does not say: .jsonl, .ndjson and .json are JSON Lines,
// .xml is CyberTipline XML, .csv is CSV.
func ByName(name string) Format {
	name = strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(name), ".gz"), ".zst")
	switch filepath.Ext(name) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL
	case ".xml":
		return CyberTip
	case ".csv":
		return CSV
	}
	return ""
}

// Sniff returns the format the first bytes of a file show: '<' starts XML,
// '{' a JSON object; a first line with commas and no brace is CSV. Anything
// else is taken for JSON Lines, the contract's format, whose parser then
// names what is wrong line by line. A byte-order mark, UTF-8 or UTF-16, is
// looked past.
func Sniff(head []byte) Format {
	if len(head) >= 2 && (head[0] == 0xFF && head[1] == 0xFE || head[0] == 0xFE && head[1] == 0xFF) {
		head = fromUTF16(head)
	}
	head = bytes.TrimPrefix(head, []byte("\uFEFF"))
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(head) == 0:
		return JSONL
	case head[0] == '<':
		return CyberTip
	case head[0] == '{':
		return JSONL
	}
	line := head
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if bytes.IndexByte(line, ',') >= 0 {
		return CSV
	}
	return JSONL
}

// fromUTF16 decodes head, which starts with a UTF-16 byte-order mark, as
// far as it goes (an odd last byte is dropped).
func fromUTF16(head []byte) []byte {
	units := make([]uint16, 0, len(head)/2)
	for i := 2; i+1 < len(head); i += 2 {
		if head[0] == 0xFF {
			units = append(units, uint16(head[i])|uint16(head[i+1])<<8)
		} else {
			units = append(units, uint16(head[i])<<8|uint16(head[i+1]))
		}
	}
	return []byte(string(utf16.Decode(units)))
}

// SniffSize is how many bytes Sniff wants to see.
const SniffSize = 4096

// Detect returns the format of an input: f if given, else what its name
// says, else what its first bytes show.
func Detect(f Format, name string, head []byte) Format {
	if f != "" {
		return f
	}
	if g := ByName(name); g != "" {
		return g
	}
	return Sniff(head)
}

// CheckHead looks at the first bytes of a report input (decompressed) for
// the mistakes that make a whole file useless, and returns an error saying
// what the file seems to be and what to do: a JSON array instead of JSON
// Lines, binary or otherwise compressed data, UTF-16 text where UTF-8 is
// read, a CSV separated by semicolons or tabs. Anything it does not
// recognise is left to the reader, which rejects what it cannot use record
// by record.
func CheckHead(name string, f Format, head []byte) error {
	if what, hint := binaryKind(f, head); what != "" {
		return fmt.Errorf("%s: this is %s, not report data: %s", name, what, hint)
	}
	text := bytes.TrimPrefix(head, []byte("\uFEFF"))
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	line := trimmed
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	switch f {
	case JSONL:
		if len(trimmed) > 0 && trimmed[0] != '{' {
			if sep := csvSeparator(line); sep != "" {
				return fmt.Errorf("%s: this looks like a CSV file separated by %s, not JSON Lines; seams reads comma-separated CSV: convert it (for example: csvformat -d '%s' %s > reports.csv) and give --format csv", name, sepName(sep), sep, name)
			}
		}
	case CSV:
		if bytes.IndexByte(line, ',') < 0 {
			if sep := csvSeparator(line); sep != "" {
				return fmt.Errorf("%s: the header is separated by %s, not commas; seams reads comma-separated CSV (RFC 4180): convert it, for example with csvformat -d '%s' %s > reports.csv", name, sepName(sep), sep, name)
			}
		}
	}
	return nil
}

// LooksLikeJSONArray reports whether the first bytes of an input start a
// JSON array: a whole file of reports written as one array, not as JSON
// Lines. Its lines are rejected one by one; a run that read nothing else
// from it says what the file is (ArrayHint).
func LooksLikeJSONArray(head []byte) bool {
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\uFEFF")), " \t\r\n")
	return len(head) > 0 && head[0] == '['
}

// ArrayHint says what to do with a file of reports written as a JSON array.
func ArrayHint(name string) string {
	return fmt.Sprintf("this looks like a JSON array, not JSON Lines (one report object a line): convert it with jq -c '.[]' %s > reports.jsonl", name)
}

// binaryKind names the kind of binary data head starts with, and what to
// do about it; "" when it does not look binary.
func binaryKind(f Format, head []byte) (what, hint string) {
	if f == CyberTip && (bytes.HasPrefix(head, []byte{0xff, 0xfe}) || bytes.HasPrefix(head, []byte{0xfe, 0xff})) {
		return "", "" // XML declares its encoding; the XML reader decodes UTF-16
	}
	switch {
	case bytes.HasPrefix(head, []byte("BZh")) && len(head) > 3 && head[3] >= '1' && head[3] <= '9':
		return "bzip2 data", "decompress it (bunzip2 -c) or recompress it with gzip or zstd, which seams reads"
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return "xz data", "decompress it (xz -dc) or recompress it with gzip or zstd, which seams reads"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "a zip archive", "unzip it and give the files inside"
	case bytes.HasPrefix(head, []byte("7z\xbc\xaf\x27\x1c")):
		return "a 7-Zip archive", "extract it and give the files inside"
	case bytes.HasPrefix(head, []byte("PAR1")):
		return "a Parquet file", "reports are read as JSON Lines, CyberTipline XML or CSV; export the Parquet file to one of them"
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}) || bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return "UTF-16 text", "convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)"
	case bytes.HasPrefix(head, []byte("\x1f\x8b")), bytes.HasPrefix(head, []byte("\x28\xb5\x2f\xfd")):
		return "compressed data inside compressed data", "decompress it once (zcat, zstdcat) and give the result"
	}
	if i := bytes.IndexByte(head, 0); i >= 0 && f != CyberTip {
		return "binary data (it holds NUL bytes)", "give a text file of reports"
	}
	return "", ""
}

// csvSeparator returns the separator a CSV header line seems to use when
// it is not a comma: ";" or a tab, found at least twice.
func csvSeparator(line []byte) string {
	for _, sep := range []string{";", "\t"} {
		if bytes.Count(line, []byte(sep)) >= 2 {
			return sep
		}
	}
	return ""
}

func sepName(sep string) string {
	if sep == "\t" {
		return "tabs"
	}
	return "semicolons"
}

// NewReader returns the ReportReader of format f over r, with the default
// options; file names r in rejections. A CSV reader may hold temporary
// files: close it (it is an io.Closer) if it is not read to the end.
func NewReader(f Format, r io.Reader, file string) (seams.ReportReader, error) {
	return NewReaderOptions(f, r, file, NewReaderOptionsDefault())
}

// ReaderOptions holds the options of the readers that have any.
type ReaderOptions struct {
	CyberTip cybertip.Options  // limits of the XML reader
	CSV      csvreport.Options // memory budget and temporary directory of the CSV grouping
}

// NewReaderOptionsDefault returns the default options of every reader.
func NewReaderOptionsDefault() ReaderOptions {
	return ReaderOptions{CyberTip: cybertip.NewOptions(), CSV: csvreport.NewOptions()}
}

// NewReaderOptions is NewReader with options.
func NewReaderOptions(f Format, r io.Reader, file string, o ReaderOptions) (seams.ReportReader, error) {
	switch f {
	case JSONL, "":
		return jsonl.NewReader(r, file), nil
	case CyberTip:
		return cybertip.NewReaderOptions(r, file, o.CyberTip), nil
	case CSV:
		return csvreport.NewReader(r, file, o.CSV), nil
	}
	return nil, fmt.Errorf("%s: unknown report format %q", file, f)
}

// Input is an opened report input.
type Input struct {
	seams.ReportReader
	Format Format
	close  func() error
}

// Close closes the reader (releasing a CSV reader's temporary files) and
// the underlying file.
func (in *Input) Close() error {
	var err error
	if c, ok := in.ReportReader.(io.Closer); ok {
		err = c.Close()
	}
	if cerr := in.close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens a report input by name through package input: "-" is stdin,
// compressed data (gzip, Zstandard) is decompressed whatever the name, and
// the format is f or, when f is "", detected from the name and the first
// bytes. The open of a FIFO waits for its writer; to end it early, open
// with package input and call FromInput.
func Open(name string, f Format, stdin io.Reader) (*Input, error) {
	return OpenOptions(name, f, stdin, NewReaderOptionsDefault())
}

// OpenOptions is Open with reader options.
func OpenOptions(name string, f Format, stdin io.Reader, o ReaderOptions) (*Input, error) {
	in, err := input.Open(context.Background(), name, stdin)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	rd, err := FromInput(in, name, f, o)
	if err != nil {
		in.Close()
		return nil, err
	}
	return rd, nil
}

// FromInput reads an opened input as reports. label names it in
// rejections and, when f is "", says its format with its first bytes: a
// file's path, or for standard input the name it stands for (an upload's
// file name). The Input closes in.
func FromInput(in *input.File, label string, f Format, o ReaderOptions) (*Input, error) {
	r, err := in.Reader()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(SniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	f = Detect(f, label, head)
	if err := CheckHead(label, f, head); err != nil {
		return nil, err
	}
	rd, err := NewReaderOptions(f, br, label, o)
	if err != nil {
		return nil, err
	}
	return &Input{ReportReader: rd, Format: f, close: in.Close}, nil
}
