package registry

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/seams-dev/seams"
)

// IndicatorWriter writes an indicators CSV that ReadIndicators reads back
// as the indicators written: the header, then a row an indicator with its
// canonical value, its window edges in RFC 3339 (UTC, with the fractional
// seconds they need; an open edge empty), its confidence as the shortest
// decimal that reads back the same (empty without one) and its source.
// Fields are quoted as RFC 4180 needs.
type IndicatorWriter struct {
	cw  *csv.Writer
	rec [7]string
}

// NewIndicatorWriter returns a writer of an indicators CSV to w, its
// header written (to a buffer: Flush writes it out).
func NewIndicatorWriter(w io.Writer) *IndicatorWriter {
	iw := &IndicatorWriter{cw: csv.NewWriter(w)}
	iw.cw.Write([]string{"compound", "kind", "value", "first_seen", "last_seen", "confidence", "source"})
	return iw
}

// Write writes one indicator.
func (w *IndicatorWriter) Write(in *seams.Indicator) error {
	conf := ""
	if in.HasConfidence {
		conf = strconv.FormatFloat(in.Confidence, 'f', -1, 64)
	}
	w.rec = [7]string{in.Compound, in.Kind.String(), in.Value, edge(in.Window.First), edge(in.Window.Last), conf, in.Source}
	return w.cw.Write(w.rec[:])
}

// Flush writes out what is buffered and returns the first error of any
// write.
func (w *IndicatorWriter) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}

// WriteIndicators writes inds to w as an indicators CSV (IndicatorWriter).
func WriteIndicators(w io.Writer, inds []seams.Indicator) error {
	iw := NewIndicatorWriter(w)
	for i := range inds {
		if err := iw.Write(&inds[i]); err != nil {
			return err
		}
	}
	return iw.Flush()
}

// edge writes a window edge; a zero one is open.
func edge(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
