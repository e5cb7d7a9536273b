package input

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t *testing.T, in *File) ([]byte, error) {
	t.Helper()
	r, err := in.Reader()
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// TestCompressionFromContent: the content says how a file is compressed,
// whatever its name; a name that promises compression the content lacks
// is an error naming the file.
func TestCompressionFromContent(t *testing.T) {
	text := []byte("line one\nline two\n")
	for _, tc := range []struct {
		name string
		data []byte
		want Compression
		err  string
	}{
		{"plain.jsonl", text, None, ""},
		{"gzip-inside.jsonl", gz(text), Gzip, ""},
		{"r.jsonl.gz", gz(text), Gzip, ""},
		{"lies.jsonl.gz", text, None, "not gzip data"},
		{"empty.jsonl", nil, None, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, tc.name, tc.data)
			in, err := Open(context.Background(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			c, err := in.Compression()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), p) {
					t.Fatalf("err = %v, want %q naming the file", err, tc.err)
				}
				return
			}
			if err != nil || c != tc.want {
				t.Fatalf("compression %q, %v; want %q", c, err, tc.want)
			}
			got, err := readAll(t, in)
			if err != nil {
				t.Fatal(err)
			}
			if tc.data != nil && !bytes.Equal(got, text) {
				t.Errorf("read %q, want %q", got, text)
			}
		})
	}
}

// TestChangedWhileRead: a regular file cut short, or grown, after it was
// opened ends its read with ErrChanged, not a short EOF.
func TestChangedWhileRead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef\n"), 100_000)
	for _, tc := range []struct {
		name   string
		data   []byte
		change func(p string) error
	}{
		{"plain cut short", data, func(p string) error { return os.Truncate(p, int64(len(data)/3)) }},
		{"plain grown", data, func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more\n"))
			return err
		}},
		{"gzip cut short", gz(data), func(p string) error { return os.Truncate(p, 2000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, "f", tc.data)
			in, err := Open(context.Background(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			if err := tc.change(p); err != nil {
				t.Fatal(err)
			}
			_, err = readAll(t, in)
			if tc.name == "gzip cut short" {
				// gzip itself notices: the stream ends in the middle.
				if err == nil {
					t.Fatal("read a cut gzip stream without error")
				}
				return
			}
			if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), p) {
				t.Fatalf("err = %v, want ErrChanged naming the file", err)
			}
		})
	}
}

// TestPipeIsReadOnce: a pipe is not regular, cannot be rewound, and is
// read whole from its first byte: nothing peeked is lost.
func TestPipeIsReadOnce(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := bytes.Repeat([]byte("{\"id\":\"r\"}\n"), 10_000)
	go func() { w.Write(want); w.Close() }()
	in, err := Open(context.Background(), "-", r)
	if err != nil {
		t.Fatal(err)
	}
	if in.Regular() || in.Size() != -1 {
		t.Errorf("a pipe is regular %v, size %d", in.Regular(), in.Size())
	}
	if _, err := in.Compression(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, in)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, len(want))
	}
	if err := in.Rewind(); err == nil {
		t.Error("a pipe rewound")
	}
}

// TestRewindReadsTheSameFile: a second pass reads the file the first did,
// even when its name now points at another.
func TestRewindReadsTheSameFile(t *testing.T) {
	p := write(t, "r.jsonl.gz", gz([]byte("first\n")))
	in, err := Open(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	a, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	other := write(t, "other", gz([]byte("second\n")))
	if err := os.Rename(other, p); err != nil {
		t.Fatal(err)
	}
	if err := in.Rewind(); err != nil {
		t.Fatal(err)
	}
	b, err := readAll(t, in)
	if err != nil || !bytes.Equal(a, b) || string(a) != "first\n" {
		t.Fatalf("second pass read %q (%v), first %q", b, err, a)
	}
}

// TestOpenEndsWithContext: the open of a FIFO that no writer opens ends
// when the context does.
func TestOpenEndsWithContext(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(p); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, p, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestReaderAt: a regular, uncompressed file gives random access with its
// size; a compressed file and a pipe say why they cannot.
func TestReaderAt(t *testing.T) {
	p := write(t, "a.parquet", []byte("PAR1 body PAR1"))
	in, err := Open(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ra, size, err := in.ReaderAt()
	if err != nil || size != 14 {
		t.Fatalf("ReaderAt: %v, size %d", err, size)
	}
	b := make([]byte, 4)
	if _, err := ra.ReadAt(b, 10); err != nil || string(b) != "PAR1" {
		t.Errorf("ReadAt: %q %v", b, err)
	}
	z, err := Open(context.Background(), write(t, "b.parquet", gz([]byte("PAR1"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if _, _, err := z.ReaderAt(); err == nil || !strings.Contains(err.Error(), "gzip data") {
		t.Errorf("compressed: %v", err)
	}
	s, err := Open(context.Background(), "-", strings.NewReader("PAR1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReaderAt(); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("stdin: %v", err)
	}
}

// TestNoStdin: "-" with no standard input is an error, not a nil reader.
func TestNoStdin(t *testing.T) {
	if _, err := Open(context.Background(), "-", nil); err == nil || !strings.Contains(err.Error(), "standard input") {
		t.Errorf("Open(-, nil) = %v", err)
	}
}
