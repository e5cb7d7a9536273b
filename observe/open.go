package observe

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/seams-dev/seams/internal/input"
)

// Input is one observations file, opened through package input: a stream
// of bytes for JSON Lines and CSV (decompressed when the content is gzip
// or zstd, whatever the name), or random access for Parquet.
type Input struct {
	Name   string
	Format Format
	// Stream is the file's content for JSON Lines and CSV.
	Stream io.Reader
	// File and Size give random access for Parquet.
	File io.ReaderAt
	Size int64

	in *input.File
}

// Open opens an observations file of the given format, or of the format
// its name says when format is empty (see FormatOf). A Parquet file cannot
// be compressed (Parquet compresses its pages itself).
func Open(name string, format Format) (*Input, error) {
	if format == "" {
		var err error
		if format, err = FormatOf(name); err != nil {
			return nil, err
		}
	}
	if format == Parquet && input.ByName(name) != input.None {
		return nil, fmt.Errorf("%s: a Parquet file cannot be read gzipped or zstd-compressed (Parquet compresses its own pages): decompress it", name)
	}
	if name == "-" {
		return nil, fmt.Errorf("observations cannot be read from standard input")
	}
	f, err := input.Open(context.Background(), name, nil)
	if err != nil {
		return nil, fmt.Errorf("observations: %w", err)
	}
	in := &Input{Name: name, Format: format, in: f}
	if format == Parquet {
		if in.File, in.Size, err = f.ReaderAt(); err != nil {
			f.Close()
			return nil, fmt.Errorf("%w (a Parquet input must be a regular, uncompressed file)", err)
		}
		return in, nil
	}
	r, err := f.Reader()
	if err != nil {
		f.Close()
		return nil, err
	}
	in.Stream = bufio.NewReaderSize(r, 1<<20)
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
func (in *Input) Close() error { return in.in.Close() }
