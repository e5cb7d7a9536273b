package registry

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/seams-dev/seams"
)

// IndicatorWriter writes an indicators CSV that ReadIndicators reads back
// as the indicators written: the header, then a row an indicator with its
// canonical value, its window edges in RFC 3339 (UTC, with the fractional
// seconds they need; an open edge empty), its confidence as the shortest
// decimal that reads back the same (empty without one), its source and,
// when the writer has the column, its drift bound (seams.FormatDrift; empty
// without one). Fields are quoted as RFC 4180 needs.
type IndicatorWriter struct {
	cw    *csv.Writer
	drift bool
	rec   [8]string
}

// indicatorHeader is the header of an indicators CSV; the drift column
// comes last and only when asked for, so that a registry without drift
// bounds is written as it always was.
var indicatorHeader = []string{"compound", "kind", "value", "first_seen", "last_seen", "confidence", "source", "drift"}

// NewIndicatorWriter returns a writer of an indicators CSV to w, its
// header written (to a buffer: Flush writes it out). It has no drift
// column: writing an indicator with a drift bound is an error (use
// NewIndicatorWriterDrift).
func NewIndicatorWriter(w io.Writer) *IndicatorWriter {
	iw := &IndicatorWriter{cw: csv.NewWriter(w)}
	iw.cw.Write(indicatorHeader[:7])
	return iw
}

// NewIndicatorWriterDrift is NewIndicatorWriter with the drift column.
func NewIndicatorWriterDrift(w io.Writer) *IndicatorWriter {
	iw := &IndicatorWriter{cw: csv.NewWriter(w), drift: true}
	iw.cw.Write(indicatorHeader)
	return iw
}

// ErrNoDriftColumn is returned by Write for an indicator with a drift
// bound when the writer has no drift column: dropping the bound would
// change what the indicator matches.
var ErrNoDriftColumn = errors.New("indicator has a drift bound but the indicators CSV has no drift column")

// Write writes one indicator.
func (w *IndicatorWriter) Write(in *seams.Indicator) error {
	conf := ""
	if in.HasConfidence {
		conf = strconv.FormatFloat(in.Confidence, 'f', -1, 64)
	}
	w.rec = [8]string{in.Compound, in.Kind.String(), in.Value, edge(in.Window.First), edge(in.Window.Last), conf, in.Source}
	if !w.drift {
		if in.HasDrift {
			return fmt.Errorf("%s %s of %s: %w", in.Kind, in.Value, in.Compound, ErrNoDriftColumn)
		}
		return w.cw.Write(w.rec[:7])
	}
	if in.HasDrift {
		w.rec[7] = seams.FormatDrift(in.Drift)
	}
	return w.cw.Write(w.rec[:])
}

// Flush writes out what is buffered and returns the first error of any
// write.
func (w *IndicatorWriter) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}

// WriteIndicators writes inds to w as an indicators CSV (IndicatorWriter),
// with the drift column when one of them has a drift bound.
func WriteIndicators(w io.Writer, inds []seams.Indicator) error {
	newWriter := NewIndicatorWriter
	if slices.ContainsFunc(inds, func(in seams.Indicator) bool { return in.HasDrift }) {
		newWriter = NewIndicatorWriterDrift
	}
	iw := newWriter(w)
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
