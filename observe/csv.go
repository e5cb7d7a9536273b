package observe

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/seams-dev/seams"
)

// The columns of an observations CSV. Names are compared without regard to
// case or surrounding spaces; order does not matter; other columns are
// ignored.
const (
	colDevice = iota
	colAt
	colLat
	colLon
	colAccuracy
	colIP
	numCols
)

var csvColumns = [numCols]struct {
	name     string
	required bool
}{
	colDevice:   {"device", true},
	colAt:       {"at", true},
	colLat:      {"lat", true},
	colLon:      {"lon", true},
	colAccuracy: {"accuracy_m", false},
	colIP:       {"ip", false},
}

type csvReader struct {
	cr    *csv.Reader
	file  string
	index [numCols]int // column of each field in a row; -1 if absent
	width int
	raw   bytes.Buffer
	rawW  *csv.Writer
}

// NewCSVReader reads the header of an observations CSV and returns a Reader
// of its rows. A header without a required column (device, at, lat, lon)
// is an error naming it.
func NewCSVReader(r io.Reader, file string) (Reader, error) {
	cr := csv.NewReader(newLineGuard(r, file, MaxLine))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	c := &csvReader{cr: cr, file: file}
	c.rawW = csv.NewWriter(&c.raw)
	header, err := cr.Read()
	switch {
	case err == io.EOF:
		return nil, &seams.RecordError{File: file, Line: 1, Reason: "empty file (want a header naming the columns device,at,lat,lon,accuracy_m,ip)"}
	case err != nil:
		return nil, c.fatal(err)
	}
	c.width = len(header)
	for i := range c.index {
		c.index[i] = -1
	}
	for j, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		for i, col := range csvColumns {
			if col.name == h {
				if c.index[i] >= 0 {
					return nil, &seams.RecordError{File: file, Line: 1,
						Reason: fmt.Sprintf("duplicate column %q (columns %d and %d)", h, c.index[i]+1, j+1)}
				}
				c.index[i] = j
			}
		}
	}
	var missing []string
	for i, col := range csvColumns {
		if col.required && c.index[i] < 0 {
			missing = append(missing, strconv.Quote(col.name))
		}
	}
	if len(missing) > 0 {
		return nil, &seams.RecordError{File: file, Line: 1,
			Reason: fmt.Sprintf("missing required column %s (the header has %s)", strings.Join(missing, ", "), cut([]byte(strings.Join(header, ",")), 200))}
	}
	return c, nil
}

func (c *csvReader) fatal(err error) error {
	var re *seams.RecordError
	var pe *csv.ParseError
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &pe):
		return &seams.RecordError{File: c.file, Line: pe.StartLine, Reason: pe.Err.Error()}
	}
	return fmt.Errorf("%s: %w", c.file, err)
}

func (c *csvReader) Next(o *Observation, reject Reject) (int, error) {
	for {
		rec, err := c.cr.Read()
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return 0, io.EOF
		case errors.As(err, &pe) && pe.Err != csv.ErrFieldCount:
			// A quoting error spoils one record; csv goes on after it.
			if reject != nil {
				reject(&seams.RecordError{File: c.file, Line: pe.StartLine,
					Reason: fmt.Sprintf("parse error on line %d, column %d: %v", pe.Line, pe.Column, pe.Err)})
			}
			continue
		case err != nil:
			return 0, c.fatal(err)
		}
		line, _ := c.cr.FieldPos(0)
		if len(rec) != c.width {
			c.reject(reject, line, rec, fmt.Sprintf("row has %d fields, header has %d", len(rec), c.width))
			continue
		}
		var f fields
		why := c.fields(rec, &f)
		if why == "" {
			why = f.observation(o)
		}
		if why != "" {
			c.reject(reject, line, rec, why)
			continue
		}
		return line, nil
	}
}

// fields reads the wanted columns of a row as text and numbers.
func (c *csvReader) fields(rec []string, f *fields) string {
	get := func(i int) (string, bool) {
		if j := c.index[i]; j >= 0 {
			return strings.TrimSpace(rec[j]), true
		}
		return "", false
	}
	f.device, f.hasDevice = get(colDevice)
	f.at, f.hasAt = get(colAt)
	f.ip, _ = get(colIP)
	for _, n := range []struct {
		col int
		v   *float64
		has *bool
	}{{colLat, &f.lat, &f.hasLat}, {colLon, &f.lon, &f.hasLon}, {colAccuracy, &f.acc, &f.hasAcc}} {
		s, _ := get(n.col)
		if s == "" {
			continue // an empty cell is absent
		}
		v, why := parseDecimal(csvColumns[n.col].name, s)
		if why != "" {
			return why
		}
		*n.v, *n.has = v, true
	}
	return ""
}

// parseDecimal parses a decimal number as people write them. ParseFloat
// alone would also take hexadecimal floats, Inf and NaN, which no one means
// as a coordinate or a radius.
func parseDecimal(name, s string) (float64, string) {
	bad := func() (float64, string) {
		return 0, fmt.Sprintf("%s: invalid number %q", name, cut([]byte(s), 64))
	}
	if strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789.+-eE", r) }) {
		return bad()
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return bad()
	}
	return v, ""
}

// reject rejects a row, with the row re-encoded as CSV as its raw text.
func (c *csvReader) reject(reject Reject, line int, rec []string, why string) {
	if reject == nil {
		return
	}
	c.raw.Reset()
	c.rawW.Write(rec) // a bytes.Buffer does not fail
	c.rawW.Flush()
	raw := bytes.TrimSuffix(c.raw.Bytes(), []byte("\n"))
	reject(&seams.RecordError{File: c.file, Line: line, Reason: why, Raw: seams.TruncateRaw(raw)})
}
