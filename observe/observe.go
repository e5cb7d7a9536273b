// Package observe reads location-stamped device observations, the shape of
// commercial location data: which device was where, when, how precisely,
// and from which IP address. It reads JSON Lines, CSV and Parquet; every
// record is either returned as an Observation or rejected with its file,
// line (the row number for Parquet) and reason.
package observe

import (
	"fmt"
	"io"
	"math"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/input"
)

// Observation is one sighting of a device.
type Observation struct {
	Device seams.DeviceID
	At     time.Time // UTC
	Lat    float64   // degrees, WGS 84
	Lon    float64
	// Accuracy is the radius in meters within which the device was, as the
	// source states it; meaningful only when HasAccuracy.
	Accuracy    float64
	HasAccuracy bool
	// IP is the address the device used at that moment, normalized
	// (seams.NormalizeAddr); the zero Addr when not given.
	IP netip.Addr
}

// Reject receives every record that could not be used.
type Reject func(*seams.RecordError)

// Reader reads observations one at a time.
type Reader interface {
	// Next reads the next usable observation into o and returns the line
	// (for Parquet, the 1-based row) it was read from. Records that cannot
	// be used go to reject and are skipped. Strings in o may share memory
	// with the reader's buffers: they are valid until the next call. At the
	// end Next returns io.EOF; any other error means the input cannot be
	// read further.
	Next(o *Observation, reject Reject) (int, error)
}

// Format is a file format of observations.
type Format string

// The formats.
const (
	JSONL   Format = "jsonl"
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// ParseFormat parses a format name: jsonl (or ndjson, json), csv, parquet.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "jsonl", "ndjson", "json":
		return JSONL, nil
	case "csv":
		return CSV, nil
	case "parquet", "pq":
		return Parquet, nil
	}
	return "", fmt.Errorf("unknown format %q (want jsonl, csv or parquet)", s)
}

// FormatOf guesses the format of a file from its name, ignoring a .gz or
// .zst suffix: .jsonl, .ndjson and .json are JSON Lines, .csv is CSV,
// .parquet and .pq are Parquet.
func FormatOf(name string) (Format, error) {
	ext := strings.ToLower(filepath.Ext(input.TrimName(name)))
	if f, err := ParseFormat(strings.TrimPrefix(ext, ".")); err == nil {
		return f, nil
	}
	return "", fmt.Errorf("%s: cannot tell the format from the name (want .jsonl, .csv or .parquet, or give the format)", name)
}

// fields are the values of one record before validation, as strings and
// numbers whatever the file format, so that every format applies the same
// rules with the same messages.
type fields struct {
	device, at, ip         string
	lat, lon, acc          float64
	atNS                   int64 // at as Unix nanoseconds, when hasAtNS (Parquet timestamps)
	hasDevice, hasAt       bool
	hasAtNS                bool
	hasLat, hasLon, hasAcc bool
}

// observation validates f and fills o; the reason is empty when f is a
// usable observation.
func (f *fields) observation(o *Observation) string {
	switch {
	case !f.hasDevice:
		return "device is missing"
	case f.device == "":
		return "device is empty"
	}
	d, err := seams.ParseDeviceID(f.device)
	if err != nil {
		return err.Error()
	}
	var at time.Time
	switch {
	case f.hasAtNS:
		at = time.Unix(0, f.atNS).UTC()
	case !f.hasAt || f.at == "":
		return "at is missing (want an RFC 3339 time)"
	default:
		if at, err = seams.ParseTime(f.at); err != nil {
			return "at: " + err.Error()
		}
	}
	switch {
	case !f.hasLat:
		return "lat is missing"
	case !f.hasLon:
		return "lon is missing"
	case math.IsNaN(f.lat) || math.IsInf(f.lat, 0):
		return "lat is not a finite number"
	case math.IsNaN(f.lon) || math.IsInf(f.lon, 0):
		return "lon is not a finite number"
	case f.lat < -90 || f.lat > 90:
		return fmt.Sprintf("lat %g outside [-90,90]", f.lat)
	case f.lon < -180 || f.lon > 180:
		return fmt.Sprintf("lon %g outside [-180,180]", f.lon)
	case f.lat == 0 && f.lon == 0:
		// Location SDKs write 0,0 when they have no fix; no one is there.
		return "lat and lon are both 0 (\"null island\": a missing fix, not a place)"
	}
	if f.hasAcc && !(f.acc >= 0 && !math.IsInf(f.acc, 0)) {
		return fmt.Sprintf("accuracy_m %g: want a radius of 0 meters or more", f.acc)
	}
	var ip netip.Addr
	if s := strings.TrimSpace(f.ip); s != "" {
		if ip, err = seams.ParseAddr(s); err != nil {
			return "ip: " + err.Error()
		}
	}
	*o = Observation{Device: d, At: at, Lat: f.lat + 0, Lon: f.lon + 0, Accuracy: f.acc + 0, HasAccuracy: f.hasAcc, IP: ip}
	return ""
}

// lineGuard passes a reader through, dropping a UTF-8 byte order mark at
// the start and failing when a line grows longer than max bytes, so that a
// file without newlines cannot make a line reader buffer all of it.
type lineGuard struct {
	r       io.Reader
	file    string
	max     int
	line    int
	lineLen int
	started bool
	pending []byte
}

func newLineGuard(r io.Reader, file string, max int) *lineGuard {
	return &lineGuard{r: r, file: file, max: max, line: 1}
}

func (g *lineGuard) Read(p []byte) (int, error) {
	if !g.started {
		g.started = true
		var b [3]byte
		n, err := io.ReadFull(g.r, b[:])
		g.pending = b[:n]
		if string(g.pending) == "\uFEFF" {
			g.pending = nil
		}
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return 0, err
		}
	}
	var n int
	var err error
	if len(g.pending) > 0 {
		n = copy(p, g.pending)
		g.pending = g.pending[n:]
	} else {
		n, err = g.r.Read(p)
	}
	for _, c := range p[:n] {
		if c == '\n' {
			g.line++
			g.lineLen = 0
			continue
		}
		if g.lineLen++; g.lineLen > g.max {
			return 0, &seams.RecordError{File: g.file, Line: g.line,
				Reason: fmt.Sprintf("line longer than %d bytes", g.max)}
		}
	}
	return n, err
}

// MaxLine is the longest line accepted, in bytes without its newline: an
// observation takes a couple of hundred. A longer line of JSON Lines is
// rejected and skipped; in CSV, where a quoted field may hold newlines and
// nothing tells where the next record starts, it stops the read.
const MaxLine = 64 << 10

// cut returns b as text, or its first n bytes marked as cut, for quoting a
// bad value in a reason.
func cut(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return seams.CutRaw(b, n)
}
