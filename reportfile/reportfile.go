// Package reportfile opens a report input in whichever format it is in: it
// finds the format from the name and the content (or takes the one given),
// decompresses gzip and zstd, and returns a seams.ReportReader. The cross-reference
// pipeline reads JSON Lines with its own parallel parser and asks this
// package only which format an input is in; load and the other tools read
// every format through it.
package reportfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/csvreport"
	"github.com/seams-dev/seams/cybertip"
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

// Open opens a report input by name: "-" is stdin, a name ending in .gz is
// decompressed, and the format is f or, when f is "", detected.
func Open(name string, f Format, stdin io.Reader) (*Input, error) {
	return OpenOptions(name, f, stdin, NewReaderOptionsDefault())
}

// OpenOptions is Open with reader options.
func OpenOptions(name string, f Format, stdin io.Reader, o ReaderOptions) (*Input, error) {
	r, closeFn, err := OpenStream(name, stdin)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(SniffSize) // a short file peeks short; errors surface on read
	f = Detect(f, name, head)
	rd, err := NewReaderOptions(f, br, name, o)
	if err != nil {
		closeFn()
		return nil, err
	}
	return &Input{ReportReader: rd, Format: f, close: closeFn}, nil
}

// Compressed reports whether a name says its file is compressed: it ends in
// .gz (gzip) or .zst (Zstandard).
func Compressed(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".gz") || strings.HasSuffix(n, ".zst")
}

// OpenStream opens a report input as a byte stream: "-" is stdin, a name
// ending in .gz or .zst is decompressed. Decompression is
// github.com/klauspost/compress's, about twice as fast as compress/gzip:
// it runs in the goroutine that feeds the parsers, and must keep up with
// them.
func OpenStream(name string, stdin io.Reader) (io.Reader, func() error, error) {
	var r io.Reader
	closeFn := func() error { return nil }
	if name == "-" {
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, fmt.Errorf("reports: %w", err)
		}
		r, closeFn = f, f.Close
	}
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".gz"):
		z, err := gzip.NewReader(r)
		if err != nil {
			closeFn()
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return z, closeFn, nil
	case strings.HasSuffix(n, ".zst"):
		// A window of at most 128 MiB: enough for every zstd level a
		// file is written with, and a bound on what a hostile frame can
		// make us allocate.
		z, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			closeFn()
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return z, func() error { z.Close(); return closeFn() }, nil
	}
	return r, closeFn, nil
}
