package psi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// LabelField is an optional field of a label: the holder chooses which it
// reveals. A label always holds the compound's id and country, the
// indicator's kind and window, and the order of both (as random keys
// that keep only their order: see Label.Order): a cross-reference needs
// them to decide and write a finding.
type LabelField uint8

// The optional label fields.
const (
	FieldName       LabelField = 1 << iota // the compound's name
	FieldSource                            // the indicator's source
	FieldConfidence                        // the indicator's confidence

	// DefaultLabelFields reveals them all, so that the querier's
	// findings are those of a cross-reference, byte for byte.
	DefaultLabelFields = FieldName | FieldSource | FieldConfidence
)

var fieldNames = []struct {
	f    LabelField
	name string
}{{FieldName, "name"}, {FieldSource, "source"}, {FieldConfidence, "confidence"}}

// Names returns the names of the fields in f, in order.
func (f LabelField) Names() []string {
	out := []string{}
	for _, n := range fieldNames {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// ParseLabelFields parses a comma-separated list of optional label fields
// (name, source, confidence); "" and "none" are none of them.
func ParseLabelFields(s string) (LabelField, error) {
	var f LabelField
	if strings.TrimSpace(s) == "none" {
		return 0, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := slices.IndexFunc(fieldNames, func(n struct {
			f    LabelField
			name string
		}) bool {
			return n.name == part
		})
		if i < 0 {
			return 0, fmt.Errorf("unknown label field %q (want name, source or confidence; the compound id and country and the window are always revealed)", part)
		}
		f |= fieldNames[i].f
	}
	return f, nil
}

// Label is what a querier learns of an indicator whose item it holds.
type Label struct {
	Compound string // the compound's id
	Country  string // the compound's country
	Name     string // the compound's name; "" unless FieldName
	// CompoundOrder and Order are random keys in the order of the
	// holder's compounds and indicators: sorted, they give the order in
	// which a cross-reference reads them (and so the order of findings
	// and evidence), and nothing of where in the registry they stand.
	CompoundOrder uint64
	Order         uint64
	Kind          seams.Kind // ip or device
	Window        seams.Window
	Source        string // "" unless FieldSource
	Confidence    float64
	HasConfidence bool // set only when FieldConfidence
	Fields        LabelField
}

// labelVersion is the first byte of an encoded label.
const labelVersion = 1

// Flags of an encoded label, beyond the LabelFields.
const (
	flagFirst = 1 << 5
	flagLast  = 1 << 6
	flagConf  = 1 << 7 // a confidence follows (FieldConfidence and the indicator has one)
)

// LabelPad is the multiple a sealed label's plaintext is padded to, so that
// its length says little of its fields.
const LabelPad = 64

// maxLabelString bounds each string of a label.
const maxLabelString = 4096

// AppendLabel appends the encoding of l, padded with zeros to a multiple of
// LabelPad:
//
//	version u8 | kind u8 | flags u8 | compound order u64 | order u64 |
//	compound str | country str | [name str] | [first i64] | [last i64] |
//	[confidence f64] | [source str] | zeros
//
// where str is a u16 length and the bytes, and times are Unix nanoseconds.
func AppendLabel(b []byte, l *Label) []byte {
	start := len(b)
	flags := byte(l.Fields & DefaultLabelFields)
	if !l.Window.First.IsZero() {
		flags |= flagFirst
	}
	if !l.Window.Last.IsZero() {
		flags |= flagLast
	}
	if l.Fields&FieldConfidence != 0 && l.HasConfidence {
		flags |= flagConf
	}
	b = append(b, labelVersion, byte(l.Kind), flags)
	b = binary.BigEndian.AppendUint64(b, l.CompoundOrder)
	b = binary.BigEndian.AppendUint64(b, l.Order)
	b = appendStr(b, l.Compound)
	b = appendStr(b, l.Country)
	if l.Fields&FieldName != 0 {
		b = appendStr(b, l.Name)
	}
	if flags&flagFirst != 0 {
		b = binary.BigEndian.AppendUint64(b, uint64(l.Window.First.UnixNano()))
	}
	if flags&flagLast != 0 {
		b = binary.BigEndian.AppendUint64(b, uint64(l.Window.Last.UnixNano()))
	}
	if flags&flagConf != 0 {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(l.Confidence))
	}
	if l.Fields&FieldSource != 0 {
		b = appendStr(b, l.Source)
	}
	for (len(b)-start)%LabelPad != 0 {
		b = append(b, 0)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	if len(s) > maxLabelString {
		s = s[:maxLabelString]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// ErrLabel is the cause of every error of ParseLabel.
var ErrLabel = errors.New("invalid label")

// ParseLabel decodes a label written by AppendLabel and checks that it
// describes an indicator seams could have read: a valid compound id and
// country, kind ip or device, a window whose first edge is not after its
// last, a confidence in [0,1], strings of valid length, and only zeros
// after the fields.
func ParseLabel(b []byte) (*Label, error) {
	d := decoder{b: b}
	bad := func(format string, a ...any) (*Label, error) {
		return nil, fmt.Errorf("%w: %s", ErrLabel, fmt.Sprintf(format, a...))
	}
	if v := d.u8(); v != labelVersion {
		return bad("version %d (want %d)", v, labelVersion)
	}
	l := &Label{Kind: seams.Kind(d.u8())}
	flags := d.u8()
	if flags&^(byte(DefaultLabelFields)|flagFirst|flagLast|flagConf) != 0 {
		return bad("unknown flags %#x", flags)
	}
	l.Fields = LabelField(flags) & DefaultLabelFields
	l.CompoundOrder = d.u64()
	l.Order = d.u64()
	l.Compound = d.str()
	l.Country = d.str()
	if l.Fields&FieldName != 0 {
		l.Name = d.str()
	}
	var first, last time.Time
	if flags&flagFirst != 0 {
		first = time.Unix(0, int64(d.u64())).UTC()
	}
	if flags&flagLast != 0 {
		last = time.Unix(0, int64(d.u64())).UTC()
	}
	if flags&flagConf != 0 {
		l.Confidence, l.HasConfidence = math.Float64frombits(d.u64()), true
	}
	if l.Fields&FieldSource != 0 {
		l.Source = d.str()
	}
	if d.err != nil {
		return bad("cut short")
	}
	if flags&flagConf != 0 && l.Fields&FieldConfidence == 0 {
		return bad("a confidence without the confidence field")
	}
	for _, c := range d.b {
		if c != 0 {
			return bad("bytes after the fields")
		}
	}
	if len(b)%LabelPad != 0 || len(d.b) >= LabelPad {
		return bad("padded to %d bytes (want the next multiple of %d)", len(b), LabelPad)
	}
	switch {
	case l.Kind != seams.KindIP && l.Kind != seams.KindDevice:
		return bad("kind %d (want ip or device)", l.Kind)
	case !seams.ValidCompoundID(l.Compound):
		return bad("compound id %q", l.Compound)
	case !(l.Confidence >= 0 && l.Confidence <= 1):
		return bad("confidence %v", l.Confidence)
	}
	if c, err := seams.ParseCountry(l.Country); err != nil || c != l.Country {
		return bad("country %q", l.Country)
	}
	w, err := seams.NewWindow(first, last)
	if err != nil {
		return bad("%v", err)
	}
	l.Window = w
	return l, nil
}

// decoder reads big-endian fields from b; a read past the end sets err and
// returns zeros.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("cut short")

func (d *decoder) take(n int) []byte {
	if d.err != nil || n < 0 || len(d.b) < n {
		d.err = errShort
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) str() string {
	n := int(d.u16())
	if n > maxLabelString {
		d.err = errShort
		return ""
	}
	return string(d.take(n))
}
