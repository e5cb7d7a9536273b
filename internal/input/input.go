// Package input opens the files a run reads, once each, in a way that
// nothing read is lost and nothing changed under the run goes unnoticed.
//
// A name is opened exactly once: "-" is standard input, anything else is
// opened by path, and what can be done with it is decided from what the
// open descriptor is (fstat), never from the name. A regular file can be
// mapped into memory, sized and read a second time; a pipe, a FIFO, a
// socket or a terminal is read once, front to back, through a buffer, and
// never reopened (a second open of a FIFO would wait for a writer that
// never comes, and a peek through a second descriptor would take bytes
// out of the middle of the stream).
//
// Compression is found from the first bytes (gzip, Zstandard), not from
// the name: gzip data under a .jsonl name is read as what it is. A name
// that says .gz or .zst over data that is not is an error.
//
// A regular file read as a stream is counted: when the bytes read differ
// from the size it had when it was opened, the read ends with
// ErrChanged instead of a short, silent EOF.
package input

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/seams-dev/seams/internal/mapfile"
)

// ErrChanged is returned by a read of a regular file whose size is no
// longer the one it had when it was opened: it was truncated, or grew,
// while it was being read.
var ErrChanged = errors.New("the file changed while it was being read")

// Compression is how an input's bytes are compressed.
type Compression string

// The compressions an input may have.
const (
	None Compression = ""
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// ByName returns the compression a file's name says: .gz is gzip, .zst is
// Zstandard.
func ByName(name string) Compression {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".gz"):
		return Gzip
	case strings.HasSuffix(n, ".zst"):
		return Zstd
	}
	return None
}

// TrimName returns name without the suffix of its compression.
func TrimName(name string) string {
	if c := ByName(name); c != None {
		return name[:strings.LastIndexByte(name, '.')]
	}
	return name
}

// File is one opened input.
type File struct {
	name    string
	f       *os.File  // nil for standard input given as a plain reader
	stdin   io.Reader // standard input, when name is "-"
	regular bool
	size    int64 // at open, of a regular file

	raw  *counter      // the raw bytes, counted
	br   *bufio.Reader // over raw: peeked for the compression
	comp Compression
	dec  io.ReadCloser // the decompressor, if any
	used bool          // Reader or Map was called: a second call needs Rewind
}

// Open opens the input called name; "-" is stdin (an error when stdin is
// nil: a caller that reads no standard input). The open of a FIFO waits
// for its writer: it ends early, with ctx's error, when ctx does.
func Open(ctx context.Context, name string, stdin io.Reader) (*File, error) {
	if name == "-" {
		if stdin == nil {
			return nil, errors.New("standard input (-) cannot be read here")
		}
		in := &File{name: name, stdin: stdin}
		if f, ok := stdin.(*os.File); ok {
			in.f = f
		}
		return in, nil
	}
	f, err := openCtx(ctx, name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not a file", name)
	}
	in := &File{name: name, f: f, regular: st.Mode().IsRegular(), size: st.Size()}
	return in, nil
}

// openCtx is os.Open that returns when ctx ends, even while the open
// itself blocks (a FIFO with no writer yet). The abandoned open closes its
// file if it ever completes.
func openCtx(ctx context.Context, name string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := os.Open(name)
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		return r.f, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.f != nil {
				r.f.Close()
			}
		}()
		return nil, fmt.Errorf("%s: %w", name, context.Cause(ctx))
	}
}

// Name returns the name the input was opened by.
func (in *File) Name() string { return in.name }

// Regular reports whether the input is a regular file: one that can be
// mapped, whose size is known, and that can be read again (Rewind).
func (in *File) Regular() bool { return in.regular }

// Size returns the size of a regular file when it was opened, or -1.
func (in *File) Size() int64 {
	if !in.regular {
		return -1
	}
	return in.size
}

// Stat returns the size and regularity of the file a name would open,
// without opening it: what a run needs to plan (whether its inputs can be
// read twice) before it reads anything. "-" is never regular here: standard
// input is read once.
func Stat(name string) (regular bool, size int64, err error) {
	if name == "-" {
		return false, -1, nil
	}
	st, err := os.Stat(name)
	if err != nil {
		return false, -1, err
	}
	if !st.Mode().IsRegular() {
		return false, -1, nil
	}
	return true, st.Size(), nil
}

// Compression returns how the input is compressed, from its first bytes.
// It reads nothing that Reader will not return (on a stream, the bytes are
// peeked through the buffer Reader then reads from).
func (in *File) Compression() (Compression, error) {
	if err := in.start(); err != nil {
		return None, err
	}
	return in.comp, nil
}

// start opens the raw stream and finds the compression, once.
func (in *File) start() error {
	if in.raw != nil {
		return nil
	}
	var r io.Reader = in.stdin
	if in.f != nil {
		r = in.f
	}
	in.raw = &counter{r: r, regular: in.regular, size: in.size, name: in.name, h: sha256.New()}
	in.br = bufio.NewReaderSize(in.raw, 64<<10)
	head, err := in.br.Peek(len(zstdMagic))
	if err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", in.name, err)
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		in.comp = Gzip
	case bytes.HasPrefix(head, zstdMagic):
		in.comp = Zstd
	}
	if want := ByName(in.name); want != None && want != in.comp {
		return fmt.Errorf("%s: the name says %s, but the file is not %s data (its first bytes are %q)", in.name, want, want, head)
	}
	return nil
}

// Map maps a regular, uncompressed input into memory. It returns
// mapfile.ErrUnsupported for any other input, which is then read with
// Reader.
func (in *File) Map() (*mapfile.File, error) {
	if !in.regular || in.f == nil {
		return nil, mapfile.ErrUnsupported
	}
	if c, err := in.Compression(); err != nil {
		return nil, err
	} else if c != None {
		return nil, mapfile.ErrUnsupported
	}
	return mapfile.Map(in.f, in.size)
}

// ReaderAt returns a regular, uncompressed input for random access (a
// Parquet file, whose footer is read first), with its size at open. Any
// other input is an error saying why. Random reads are not counted: a
// reader checks what it reads against the size (Parquet's footer does).
func (in *File) ReaderAt() (io.ReaderAt, int64, error) {
	if !in.regular || in.f == nil {
		return nil, 0, fmt.Errorf("%s: not a regular file (it is read by random access, which a pipe or standard input cannot give)", in.name)
	}
	if c, err := in.Compression(); err != nil {
		return nil, 0, err
	} else if c != None {
		return nil, 0, fmt.Errorf("%s: %s data; it is read by random access, which compressed data cannot give: decompress it", in.name, c)
	}
	return in.f, in.size, nil
}

// Reader returns the input's bytes, decompressed. On a regular file, a read
// that finds the file shorter or longer than it was at open returns an
// error wrapping ErrChanged.
func (in *File) Reader() (io.Reader, error) {
	if in.used {
		return nil, fmt.Errorf("%s: read twice without Rewind", in.name)
	}
	if err := in.start(); err != nil {
		return nil, err
	}
	in.used = true
	switch in.comp {
	case Gzip:
		z, err := gzip.NewReader(in.br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.name, err)
		}
		in.dec = z
		return named{z, in.name}, nil
	case Zstd:
		// A window of at most 128 MiB: enough for every zstd level a
		// file is written with, and a bound on what a hostile frame can
		// make us allocate.
		z, err := zstd.NewReader(in.br, zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.name, err)
		}
		in.dec = z.IOReadCloser()
		return named{z, in.name}, nil
	}
	return in.br, nil
}

// named prefixes a decompressor's errors with the file's name.
type named struct {
	r    io.Reader
	name string
}

func (n named) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, ErrChanged) {
		err = fmt.Errorf("%s: %w", n.name, err)
	}
	return k, err
}

// Rewind makes a regular file readable again from its start, for a second
// pass over the same file (not a new open: the same file, even if its name
// now points elsewhere).
func (in *File) Rewind() error {
	if !in.regular || in.f == nil {
		return fmt.Errorf("%s: cannot be read twice (not a regular file)", in.name)
	}
	if in.dec != nil {
		in.dec.Close()
		in.dec = nil
	}
	if _, err := in.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("%s: %w", in.name, err)
	}
	in.raw, in.br, in.used = nil, nil, false
	return nil
}

// Interrupt makes a read blocked on a pipe or FIFO return, by closing it:
// for a run that is cancelled. Standard input given as a plain reader, or
// a terminal, may stay blocked; the caller does not wait for it.
func (in *File) Interrupt() {
	if in.f != nil && !in.regular && in.stdin == nil {
		in.f.Close()
	}
}

// Close closes the input (but never standard input).
func (in *File) Close() error {
	if in.dec != nil {
		in.dec.Close()
		in.dec = nil
	}
	if in.f == nil || in.stdin != nil {
		return nil
	}
	err := in.f.Close()
	if errors.Is(err, os.ErrClosed) {
		err = nil
	}
	return err
}

// BytesRead returns how many raw (compressed) bytes were read so far.
func (in *File) BytesRead() int64 {
	if in.raw == nil {
		return 0
	}
	return in.raw.n
}

// Finish reads what is left of the input's raw bytes (what a reader that
// stopped at the end of its data left: a decompressor's trailer, the
// blank lines after an XML document) and returns the size and SHA-256 of
// every byte of the input, for the record of what a run read. On a
// regular file it also checks the size once more (ErrChanged).
func (in *File) Finish() (size int64, sum string, err error) {
	if err := in.start(); err != nil {
		return 0, "", err
	}
	if _, err := io.Copy(io.Discard, in.br); err != nil {
		return 0, "", err
	}
	return in.raw.n, hex.EncodeToString(in.raw.h.Sum(nil)), nil
}

// SumBytes returns the SHA-256 of b as Finish gives it.
func SumBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// counter counts and hashes the raw bytes of an input and, for a regular
// file, checks them against the size it had when opened.
type counter struct {
	r       io.Reader
	n       int64
	regular bool
	size    int64
	name    string
	h       hash.Hash
}

func (c *counter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	c.h.Write(p[:k])
	if !c.regular {
		return k, err
	}
	if c.n > c.size {
		return k, fmt.Errorf("%s: %w (it had %d bytes when opened; more are there now)", c.name, ErrChanged, c.size)
	}
	if err == io.EOF && c.n != c.size {
		return k, fmt.Errorf("%s: %w (read %d of the %d bytes it had when opened: it was cut short)", c.name, ErrChanged, c.n, c.size)
	}
	return k, err
}
