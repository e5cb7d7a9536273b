package observe

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/seams-dev/seams/jsonl"
)

// AppendJSON appends o as one line of JSON Lines, newline included, in the
// shape the readers take: {"device":...,"at":...,"lat":...,"lon":...}, with
// accuracy_m and ip when given. Numbers are written in the shortest form
// that reads back as the same float64.
func AppendJSON(b []byte, o *Observation) []byte {
	b = append(b, `{"device":`...)
	b = jsonl.AppendString(b, o.Device.String())
	b = append(b, `,"at":"`...)
	b = o.At.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","lat":`...)
	b = strconv.AppendFloat(b, o.Lat, 'g', -1, 64)
	b = append(b, `,"lon":`...)
	b = strconv.AppendFloat(b, o.Lon, 'g', -1, 64)
	if o.HasAccuracy {
		b = append(b, `,"accuracy_m":`...)
		b = strconv.AppendFloat(b, o.Accuracy, 'g', -1, 64)
	}
	if o.IP.IsValid() {
		b = append(b, `,"ip":"`...)
		b = o.IP.AppendTo(b)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

// parquetRow is the schema ParquetWriter writes: the columns the Parquet
// reader takes, "at" as microseconds in UTC.
type parquetRow struct {
	Device   string   `parquet:"device"`
	At       int64    `parquet:"at,timestamp(microsecond:utc)"`
	Lat      float64  `parquet:"lat"`
	Lon      float64  `parquet:"lon"`
	Accuracy *float64 `parquet:"accuracy_m,optional"`
	IP       *string  `parquet:"ip,optional"`
}

// ParquetWriter writes observations as a Parquet file, in the schema the
// Parquet reader takes (times to the microsecond). Rows are buffered and
// written in groups; Close writes the footer.
type ParquetWriter struct {
	w    *parquet.GenericWriter[parquetRow]
	rows []parquetRow
	acc  []float64
	ips  []string
}

// parquetBatch is how many rows ParquetWriter hands to parquet-go at once.
const parquetBatch = 4096

// NewParquetWriter returns a writer of observations to w.
func NewParquetWriter(w io.Writer) *ParquetWriter {
	return &ParquetWriter{
		w:    parquet.NewGenericWriter[parquetRow](w, parquet.Compression(&parquet.Snappy)),
		rows: make([]parquetRow, 0, parquetBatch),
		acc:  make([]float64, 0, parquetBatch),
		ips:  make([]string, 0, parquetBatch),
	}
}

// Write adds one observation. Its time is truncated to the microsecond.
func (p *ParquetWriter) Write(o *Observation) error {
	r := parquetRow{Device: o.Device.String(), At: o.At.UnixMicro(), Lat: o.Lat, Lon: o.Lon}
	if o.HasAccuracy {
		p.acc = append(p.acc, o.Accuracy)
		r.Accuracy = &p.acc[len(p.acc)-1]
	}
	if o.IP.IsValid() {
		p.ips = append(p.ips, o.IP.String())
		r.IP = &p.ips[len(p.ips)-1]
	}
	p.rows = append(p.rows, r)
	if len(p.rows) == parquetBatch {
		return p.flush()
	}
	return nil
}

func (p *ParquetWriter) flush() error {
	if _, err := p.w.Write(p.rows); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	p.rows, p.acc, p.ips = p.rows[:0], p.acc[:0], p.ips[:0]
	return nil
}

// Close writes what is buffered and the footer. It does not close the
// underlying writer.
func (p *ParquetWriter) Close() error {
	if err := p.flush(); err != nil {
		return err
	}
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}
