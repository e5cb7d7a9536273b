package psi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Every binary message starts with Magic, the protocol version and its
// type.
const (
	Magic   = "SEAMSPSI"
	Version = 1
)

// The types of binary messages.
const (
	msgTable         = 1
	msgEvalRequest   = 2
	msgEvalResponse  = 3
	msgCountRequest  = 4
	msgCountResponse = 5
)

// ErrMessage is the cause of every error of a message that does not decode.
var ErrMessage = errors.New("invalid message")

func badMessage(what, format string, a ...any) error {
	return fmt.Errorf("%s: %w: %s", what, ErrMessage, fmt.Sprintf(format, a...))
}

func appendHeader(b []byte, typ byte) []byte {
	return append(append(b, Magic...), Version, typ)
}

// readHeader reads and checks a message's header.
func readHeader(r io.Reader, what string, typ byte) error {
	var h [len(Magic) + 2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return badMessage(what, "header: %v", err)
	}
	switch {
	case string(h[:len(Magic)]) != Magic:
		return badMessage(what, "not a seams-psi message")
	case h[len(Magic)] != Version:
		return badMessage(what, "protocol version %d (this seams speaks %d)", h[len(Magic)], Version)
	case h[len(Magic)+1] != typ:
		return badMessage(what, "message type %d (want %d)", h[len(Magic)+1], typ)
	}
	return nil
}

// Limits bound what a decoder accepts, so that a peer cannot make it
// allocate without end.
type Limits struct {
	MaxEntries   int // entries of a table
	MaxLabels    int // labels of a table
	MaxLabelSize int // bytes of a sealed label
	MaxBatch     int // elements of an evaluation request or response
	MaxGroups    int // report groups of a count request
	MaxElements  int // elements of a count request or response, over all groups
	MaxCompounds int // compounds of a count response
}

// NewLimits returns generous limits: 100 million entries and labels, labels
// of 64 KiB, batches of a million elements, count requests of 50 million
// elements.
func NewLimits() Limits {
	return Limits{MaxEntries: 100_000_000, MaxLabels: 100_000_000, MaxLabelSize: 1 << 16, MaxBatch: 1 << 20,
		MaxGroups: 50_000_000, MaxElements: 50_000_000, MaxCompounds: 1_000_000}
}

// WriteTable writes t:
//
//	header | epoch u64 | families u8 | labels u32 | entries u32 |
//	labels: (length u32 | sealed label)... | entries: EntrySize each
func WriteTable(w io.Writer, t *Table) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	b := appendHeader(nil, msgTable)
	b = binary.BigEndian.AppendUint64(b, t.Epoch)
	b = append(b, byte(t.Families))
	b = binary.BigEndian.AppendUint32(b, uint32(len(t.Labels)))
	b = binary.BigEndian.AppendUint32(b, uint32(t.Len()))
	bw.Write(b)
	var n [4]byte
	for _, l := range t.Labels {
		binary.BigEndian.PutUint32(n[:], uint32(len(l)))
		bw.Write(n[:])
		bw.Write(l)
	}
	bw.Write(t.entries)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// ReadTable reads a table written by WriteTable and checks it: counts
// within lim, labels no shorter than a sealed empty label, entries sorted
// by tag with no tag twice, nothing after the last entry.
func ReadTable(r io.Reader, lim Limits) (*Table, error) {
	const what = "table"
	br := bufio.NewReaderSize(r, 1<<16)
	if err := readHeader(br, what, msgTable); err != nil {
		return nil, err
	}
	var h [17]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, badMessage(what, "header: %v", err)
	}
	t := &Table{Epoch: binary.BigEndian.Uint64(h[:8]), Families: Families(h[8])}
	nl, ne := int64(binary.BigEndian.Uint32(h[9:13])), int64(binary.BigEndian.Uint32(h[13:17]))
	switch {
	case t.Families&^AllFamilies != 0:
		return nil, badMessage(what, "unknown families %#x", byte(t.Families))
	case nl > int64(lim.MaxLabels):
		return nil, badMessage(what, "%d labels (at most %d)", nl, lim.MaxLabels)
	case ne > int64(lim.MaxEntries):
		return nil, badMessage(what, "%d entries (at most %d)", ne, lim.MaxEntries)
	}
	// Grow as data arrives rather than trusting the counts up front.
	t.Labels = make([][]byte, 0, min(nl, 1<<16))
	for i := range nl {
		var n [4]byte
		if _, err := io.ReadFull(br, n[:]); err != nil {
			return nil, badMessage(what, "label %d: %v", i, err)
		}
		size := int64(binary.BigEndian.Uint32(n[:]))
		if size < LabelPad+16 || size > int64(lim.MaxLabelSize) {
			return nil, badMessage(what, "label %d of %d bytes (want %d to %d)", i, size, LabelPad+16, lim.MaxLabelSize)
		}
		l := make([]byte, size)
		if _, err := io.ReadFull(br, l); err != nil {
			return nil, badMessage(what, "label %d: %v", i, err)
		}
		t.Labels = append(t.Labels, l)
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, br, ne*EntrySize); err != nil {
		return nil, badMessage(what, "entries: %v", err)
	}
	t.entries = buf.Bytes()
	for i := 1; i < t.Len(); i++ {
		if bytes.Compare(t.entry(i - 1)[:TagSize], t.entry(i)[:TagSize]) >= 0 {
			return nil, badMessage(what, "entry %d out of order or repeated", i)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, badMessage(what, "bytes after the last entry")
	}
	return t, nil
}

// EvalRequest is a batch of blinded elements to evaluate under the key of
// Epoch.
type EvalRequest struct {
	Epoch    uint64
	Elements []byte // ElementSize each
}

// EvalResponse is the holder's evaluations of a batch, in its order.
type EvalResponse struct {
	Epoch    uint64
	Elements []byte
}

// AppendEvalRequest appends m: header | epoch u64 | count u32 | elements.
func AppendEvalRequest(b []byte, m *EvalRequest) []byte {
	return appendElements(appendHeader(b, msgEvalRequest), m.Epoch, m.Elements)
}

// AppendEvalResponse appends m, as AppendEvalRequest with its own type.
func AppendEvalResponse(b []byte, m *EvalResponse) []byte {
	return appendElements(appendHeader(b, msgEvalResponse), m.Epoch, m.Elements)
}

func appendElements(b []byte, epoch uint64, els []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = binary.BigEndian.AppendUint32(b, uint32(len(els)/ElementSize))
	return append(b, els...)
}

// ReadEvalRequest reads an EvalRequest of at most lim.MaxBatch elements.
// The elements are checked when evaluated (Key.Evaluate).
func ReadEvalRequest(r io.Reader, lim Limits) (*EvalRequest, error) {
	epoch, els, err := readElements(r, "evaluation request", msgEvalRequest, lim.MaxBatch)
	if err != nil {
		return nil, err
	}
	return &EvalRequest{Epoch: epoch, Elements: els}, nil
}

// ReadEvalResponse reads an EvalResponse of exactly n elements.
func ReadEvalResponse(r io.Reader, n int) (*EvalResponse, error) {
	epoch, els, err := readElements(r, "evaluation response", msgEvalResponse, n)
	if err != nil {
		return nil, err
	}
	if len(els) != n*ElementSize {
		return nil, badMessage("evaluation response", "%d elements for %d sent", len(els)/ElementSize, n)
	}
	return &EvalResponse{Epoch: epoch, Elements: els}, nil
}

func readElements(r io.Reader, what string, typ byte, max int) (uint64, []byte, error) {
	if err := readHeader(r, what, typ); err != nil {
		return 0, nil, err
	}
	var h [12]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, badMessage(what, "header: %v", err)
	}
	n := int64(binary.BigEndian.Uint32(h[8:]))
	if n == 0 || n > int64(max) {
		return 0, nil, badMessage(what, "%d elements (want 1 to %d)", n, max)
	}
	els := make([]byte, n*ElementSize)
	if _, err := io.ReadFull(r, els); err != nil {
		return 0, nil, badMessage(what, "elements: %v", err)
	}
	if err := atEOF(r); err != nil {
		return 0, nil, badMessage(what, "%v", err)
	}
	return binary.BigEndian.Uint64(h[:8]), els, nil
}

func atEOF(r io.Reader) error {
	var b [1]byte
	if n, _ := io.ReadFull(r, b[:]); n != 0 {
		return errors.New("bytes after the message")
	}
	return nil
}

// Protocol names the protocol in a Hello.
const Protocol = "seams-psi/1"

// Hello is what a holder says of itself before an exchange: the protocol,
// the current epoch, what its table holds and the limits in force for the
// peer that asks.
type Hello struct {
	Protocol string `json:"protocol"`
	Suite    string `json:"suite"`
	Holder   string `json:"holder"` // the holder's name, as it calls itself
	// Serves is what the table's labels describe: "registry"
	// (indicators; the default) or "reports" (events: the reverse
	// direction, where the reports' holder serves).
	Serves string `json:"serves,omitempty"`
	Peer   string `json:"peer"` // the asking peer's name, as the holder knows it
	Epoch  uint64 `json:"epoch"`
	// Families are those of the table's items: the querier queries
	// only these. LabelFields are the optional fields its labels reveal.
	Families    []string `json:"families"`
	LabelFields []string `json:"label_fields"`
	Entries     int      `json:"entries"`
	Labels      int      `json:"labels"`
	// Shared is the number of shared-space prefixes the holder publishes
	// (GET shared).
	Shared int `json:"shared"`
	// Modes are the exchanges the holder allows this peer: "labels",
	// "count".
	Modes  []string    `json:"modes"`
	Limits HelloLimits `json:"limits"`
}

// HelloLimits are the limits a holder holds a peer to.
type HelloLimits struct {
	MaxBatch    int `json:"max_batch"`      // elements per evaluation request
	MaxItems    int `json:"max_items"`      // items per session
	DailyItems  int `json:"daily_items"`    // items per UTC day, over all sessions
	ItemsLeft   int `json:"items_left"`     // of today's, for this peer
	RatePerSec  int `json:"rate_per_sec"`   // items per second
	MinReports  int `json:"min_reports"`    // report groups a count session must have at least
	SessionIdle int `json:"session_idle_s"` // seconds a session may stay idle
}

// ParseHello decodes a Hello and checks what a querier relies on: the
// protocol and suite, known families and label fields, and sane limits.
func ParseHello(b []byte) (*Hello, error) {
	const what = "hello"
	var h Hello
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, badMessage(what, "%v", err)
	}
	switch {
	case h.Protocol != Protocol:
		return nil, badMessage(what, "protocol %q (this seams speaks %s)", h.Protocol, Protocol)
	case h.Suite != SuiteName:
		return nil, badMessage(what, "suite %q (want %s)", h.Suite, SuiteName)
	case h.Entries < 0 || h.Labels < 0 || h.Shared < 0:
		return nil, badMessage(what, "negative counts")
	case h.Limits.MaxBatch < 1 || h.Limits.MaxItems < 0 || h.Limits.DailyItems < 0 || h.Limits.ItemsLeft < 0 ||
		h.Limits.RatePerSec < 0 || h.Limits.MinReports < 0 || h.Limits.SessionIdle < 0:
		return nil, badMessage(what, "limits out of range")
	}
	if _, err := ParseFamilies(h.Families); err != nil {
		return nil, badMessage(what, "%v", err)
	}
	for _, f := range h.LabelFields {
		if _, err := ParseLabelFields(f); err != nil || f == "" || f == "none" {
			return nil, badMessage(what, "label field %q", f)
		}
	}
	if h.Serves != "" && h.Serves != "registry" && h.Serves != "reports" {
		return nil, badMessage(what, "serves %q", h.Serves)
	}
	for _, m := range h.Modes {
		if !slices.Contains([]string{"labels", "count"}, m) {
			return nil, badMessage(what, "mode %q", m)
		}
	}
	return &h, nil
}

// FamilySet returns the families of h (checked by ParseHello).
func (h *Hello) FamilySet() Families {
	s, _ := ParseFamilies(h.Families)
	return s
}
