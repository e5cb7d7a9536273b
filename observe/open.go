package observe

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
)

// Input is one observations file, opened: a stream of bytes for JSON Lines
// and CSV (decompressed when the name ends in .gz), or random access for
// Parquet.
type Input struct {
	Name   string
	Format Format
	// Stream is the file's content for JSON Lines and CSV.
	Stream io.Reader
	// File and Size give random access for Parquet.
	File *os.File
	Size int64

	f *os.File
}

// Open opens an observations file of the given format, or of the format
// its name says when format is empty (see FormatOf). A Parquet file cannot
// be gzipped (Parquet compresses its pages itself).
func Open(name string, format Format) (*Input, error) {
	if format == "" {
		var err error
		if format, err = FormatOf(name); err != nil {
			return nil, err
		}
	}
	gz := strings.HasSuffix(strings.ToLower(name), ".gz")
	if format == Parquet && gz {
		return nil, fmt.Errorf("%s: a Parquet file cannot be read gzipped (Parquet compresses its own pages): gunzip it", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("observations: %w", err)
	}
	in := &Input{Name: name, Format: format, f: f}
	if format == Parquet {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("observations: %w", err)
		}
		if !st.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("%s: a Parquet input must be a regular file", name)
		}
		in.File, in.Size = f, st.Size()
		return in, nil
	}
	in.Stream = bufio.NewReaderSize(f, 1<<20)
	if gz {
		z, err := gzip.NewReader(in.Stream)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		in.Stream = z
	}
	return in, nil
}

// Reader returns the sequential Reader of the input's format.
func (in *Input) Reader() (Reader, error) {
	switch in.Format {
	case JSONL:
		return NewJSONReader(in.Stream, in.Name), nil
	case CSV:
		return NewCSVReader(in.Stream, in.Name)
	case Parquet:
		return NewParquetReader(in.File, in.Size, in.Name)
	}
	return nil, fmt.Errorf("%s: unknown format %q", in.Name, in.Format)
}

// Close closes the file.
func (in *Input) Close() error { return in.f.Close() }
