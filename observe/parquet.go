package observe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/seams-dev/seams"
)

// parquetReader reads observations from a Parquet file, a batch of rows at
// a time. Columns are found by name (case-insensitive) at the top level of
// the schema:
//
//	device      string (BYTE_ARRAY)
//	at          string (RFC 3339), or INT64 TIMESTAMP (millis, micros or nanos, UTC)
//	lat, lon    DOUBLE or FLOAT
//	accuracy_m  DOUBLE, FLOAT, INT32 or INT64; optional column, nulls allowed
//	ip          string; optional column, nulls allowed
type parquetReader struct {
	file   string
	r      *parquet.Reader
	col    [numCols]int // leaf column index; -1 if absent
	kind   [numCols]parquet.Kind
	atUnit time.Duration // 0: at is a string
	rows   []parquet.Row
	n, i   int   // rows in the batch, next one
	row    int64 // rows read so far
	done   bool
	vals   [numCols]parquet.Value
	str    [numCols][]byte // copies of the current row's strings
}

// NewParquetReader opens a Parquet file of observations. A schema without a
// required column, or with a column of a type that cannot hold its field,
// is an error naming the column.
func NewParquetReader(ra io.ReaderAt, size int64, file string) (r Reader, err error) {
	// parquet-go panics on some malformed files rather than failing; a
	// corrupt input must be an error naming the file, not a crash.
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%s: not a readable Parquet file: %v", file, p)
		}
	}()
	if err := checkFooter(ra, size); err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", file, err)
	}
	f, err := parquet.OpenFile(ra, size)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", file, err)
	}
	p := &parquetReader{file: file, rows: make([]parquet.Row, 256)}
	byName := map[string]parquet.Field{}
	for _, fld := range f.Schema().Fields() {
		byName[strings.ToLower(fld.Name())] = fld
	}
	for i, c := range csvColumns {
		p.col[i] = -1
		fld, ok := byName[c.name]
		if !ok {
			if c.required {
				return nil, fmt.Errorf("%s: missing required column %q", file, c.name)
			}
			continue
		}
		leaf, ok := f.Schema().Lookup(fld.Name())
		if !ok || fld.Repeated() || !fld.Leaf() {
			return nil, fmt.Errorf("%s: column %q is not a plain column (nested or repeated)", file, c.name)
		}
		p.col[i] = leaf.ColumnIndex
		t := fld.Type()
		p.kind[i] = t.Kind()
		bad := func(want string) error {
			return fmt.Errorf("%s: column %q has type %s (want %s)", file, c.name, t, want)
		}
		switch i {
		case colDevice, colIP:
			if t.Kind() != parquet.ByteArray {
				return nil, bad("a string")
			}
		case colAt:
			switch {
			case t.Kind() == parquet.ByteArray:
			case t.Kind() == parquet.Int96:
				return nil, bad("an RFC 3339 string or an INT64 TIMESTAMP; INT96 timestamps are deprecated: rewrite the file with INT64 timestamps")
			case t.Kind() == parquet.Int64 && timestampOf(t) != nil:
				ts := timestampOf(t)
				if !ts.IsAdjustedToUTC {
					return nil, fmt.Errorf("%s: column \"at\" is a local timestamp (isAdjustedToUTC=false): seams needs instants in UTC", file)
				}
				if ts.Unit.Value == nil {
					return nil, bad("a timestamp in millis, micros or nanos")
				}
				p.atUnit = ts.Unit.Value.Duration()
			default:
				return nil, bad("an RFC 3339 string or an INT64 TIMESTAMP")
			}
		case colLat, colLon:
			if k := t.Kind(); k != parquet.Double && k != parquet.Float {
				return nil, bad("DOUBLE or FLOAT")
			}
		case colAccuracy:
			switch t.Kind() {
			case parquet.Double, parquet.Float, parquet.Int32, parquet.Int64:
			default:
				return nil, bad("a number")
			}
		}
	}
	p.r = parquet.NewReader(f)
	return p, nil
}

// timestampOf returns the timestamp logical type of t, or nil.
func timestampOf(t parquet.Type) *format.TimestampType {
	if lt := t.LogicalType(); lt != nil {
		ts, _ := lt.Value.(*format.TimestampType)
		return ts
	}
	return nil
}

func (p *parquetReader) Next(o *Observation, reject Reject) (line int, err error) {
	defer func() {
		if r := recover(); r != nil {
			line, err = 0, fmt.Errorf("%s: row %d: corrupt Parquet data: %v", p.file, p.row+1, r)
		}
	}()
	for {
		if p.i == p.n {
			if p.done {
				return 0, io.EOF
			}
			n, err := p.r.ReadRows(p.rows)
			p.n, p.i = n, 0
			if errors.Is(err, io.EOF) {
				p.done = true
			} else if err != nil {
				return 0, fmt.Errorf("%s: row %d: %w", p.file, p.row+1, err)
			}
			continue
		}
		row := p.rows[p.i]
		p.i++
		p.row++
		var f fields
		why := p.fields(row, &f)
		if why == "" {
			why = f.observation(o)
		}
		if why != "" {
			if reject != nil {
				reject(&seams.RecordError{File: p.file, Line: int(p.row), Reason: why, Raw: p.rawRow()})
			}
			continue
		}
		return int(p.row), nil
	}
}

// fields takes the wanted values out of a row.
func (p *parquetReader) fields(row parquet.Row, f *fields) string {
	for i := range p.vals {
		p.vals[i] = parquet.Value{}
	}
	for _, v := range row {
		for i, c := range p.col {
			if c >= 0 && v.Column() == c {
				p.vals[i] = v
			}
		}
	}
	str := func(i int) (string, bool) {
		if p.col[i] < 0 || p.vals[i].IsNull() {
			return "", false
		}
		p.str[i] = append(p.str[i][:0], p.vals[i].ByteArray()...)
		return bytesString(p.str[i]), true
	}
	num := func(i int) (float64, bool) {
		v := p.vals[i]
		if p.col[i] < 0 || v.IsNull() {
			return 0, false
		}
		switch p.kind[i] {
		case parquet.Double:
			return v.Double(), true
		case parquet.Float:
			return float64(v.Float()), true
		case parquet.Int32:
			return float64(v.Int32()), true
		}
		return float64(v.Int64()), true
	}
	f.device, f.hasDevice = str(colDevice)
	f.ip, _ = str(colIP)
	f.lat, f.hasLat = num(colLat)
	f.lon, f.hasLon = num(colLon)
	f.acc, f.hasAcc = num(colAccuracy)
	if p.atUnit == 0 {
		f.at, f.hasAt = str(colAt)
		return ""
	}
	if v := p.vals[colAt]; p.col[colAt] >= 0 && !v.IsNull() {
		n := v.Int64()
		u := int64(p.atUnit)
		// Beyond int64 nanoseconds: out of the range seams holds.
		if n > (1<<63-1)/u || n < -(1<<63)/u {
			return fmt.Sprintf("at: timestamp %d in units of %s: %v", n, p.atUnit, seams.ErrTimeRange)
		}
		f.atNS, f.hasAtNS = n*u, true
	}
	return ""
}

// rawRow renders the current row's wanted values for a rejection.
func (p *parquetReader) rawRow() string {
	var b strings.Builder
	for i, c := range csvColumns {
		if p.col[i] < 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
		b.WriteString("=")
		if v := p.vals[i]; v.IsNull() {
			b.WriteString("null")
		} else if p.kind[i] == parquet.ByteArray {
			fmt.Fprintf(&b, "%q", v.ByteArray())
		} else {
			b.WriteString(v.String())
		}
	}
	return seams.TruncateRaw([]byte(b.String()))
}

// MaxFooter is the largest Parquet footer (the file's metadata) read. The
// footer of a file of observations takes kilobytes; a footer length of
// gigabytes is a corrupt or hostile file, which parquet-go would try to
// allocate.
const MaxFooter = 16 << 20

// checkFooter checks the magic bytes and the footer length at the end of a
// Parquet file before parquet-go reads it.
func checkFooter(ra io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%d bytes: too short", size)
	}
	var tail [8]byte
	if _, err := ra.ReadAt(tail[:], size-8); err != nil && err != io.EOF {
		return err
	}
	if string(tail[4:]) != "PAR1" {
		return fmt.Errorf("no Parquet magic bytes at the end (an encrypted or other file?)")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 || n > MaxFooter {
		return fmt.Errorf("footer of %d bytes in a file of %d (at most %d)", n, size, min(size-12, MaxFooter))
	}
	return nil
}
