package psi

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"

	"github.com/cloudflare/circl/group"
	"github.com/seams-dev/seams"
)

// Count-only mode: the querier learns how many of its reports would be
// tied or potentially associated per compound, and not which.
//
// Both sides blind with a secret exponent of the session (Diffie-Hellman
// on ristretto255): the querier sends, per report, a group of H(x)^a for
// its strong items (evidence that ties: a device, an address neither
// proxy nor shared) and H(x)^a' for its weak ones (proxy or shared: at
// most potential), padded with random elements to a power of two; the
// holder raises every element to its exponent b, shuffles the groups and
// the elements within each, and sends them back with, per compound, the
// set H(y)^b of its items. The querier raises those to a and to a': an
// element of a group equal to H(y)^ab is a strong match of the compound
// of y, one equal to H(y)^a'b a weak match. It counts groups, not items,
// and knows a group's report only by its size.
//
// Unlike the labels mode, the holder's windows are taken at day
// granularity (an event matches on any day its window touches: exact for
// windows given as dates), open windows are closed by the span of days
// the querier's items cover (which the querier sends), and the
// over-correlation cap is not applied (no indicator is identified).

// countDST separates the hash of count mode from the OPRF's.
var countDST = []byte("seams-psi/1 count ristretto255")

// MinGroup is the smallest size of a report group: groups are padded to a
// power of two at least this large.
const MinGroup = 4

// MaxGroup is the largest group: a report with more distinct items is not
// counted (CountGroup says so).
const MaxGroup = 1 << 15

// CountSecret is a secret exponent of one count session, of either side.
type CountSecret struct{ s group.Scalar }

// NewCountSecret returns a fresh random exponent.
func NewCountSecret() *CountSecret {
	g := Suite.Group()
	for {
		s := g.RandomScalar(rand.Reader)
		if !s.IsZero() {
			return &CountSecret{s}
		}
	}
}

// HashMul returns the encoding of H(item)^s.
func (c *CountSecret) HashMul(dst []byte, item []byte) error {
	g := Suite.Group()
	e := g.HashToElement(item, countDST)
	return marshalInto(dst, g.NewElement().Mul(e, c.s))
}

// Mul raises encoded elements in to the exponent, into out (as long). An
// element that does not decode, or is the identity, fails the whole call.
func (c *CountSecret) Mul(out, in []byte) error {
	if len(in)%ElementSize != 0 || len(out) != len(in) {
		return fmt.Errorf("%d bytes of elements: %w", len(in), ErrElement)
	}
	g := Suite.Group()
	e, r := g.NewElement(), g.NewElement()
	for i := 0; i < len(in); i += ElementSize {
		if err := e.UnmarshalBinary(in[i : i+ElementSize]); err != nil || e.IsIdentity() {
			return fmt.Errorf("element %d: %w", i/ElementSize, ErrElement)
		}
		if err := marshalInto(out[i:i+ElementSize], r.Mul(e, c.s)); err != nil {
			return err
		}
	}
	return nil
}

// randomElement writes a random element: padding that no one can tell
// from a blinded item.
func randomElement(dst []byte) error {
	var seed [64]byte
	rand.Read(seed[:])
	return marshalInto(dst, Suite.Group().HashToElement(seed[:], []byte("seams-psi/1 padding")))
}

// GroupSize returns the size a group of n distinct items is padded to:
// the next power of two, at least MinGroup; 0 when n > MaxGroup.
func GroupSize(n int) int {
	if n > MaxGroup {
		return 0
	}
	return max(MinGroup, 1<<bits.Len(uint(max(n-1, 0))))
}

// CountGroup blinds one report's items for a count request: strong items
// under strong, weak ones under weak (an item both strong and weak is
// strong), padded with random elements, in random order. It returns the
// elements, GroupSize of the distinct items long, or nil when the report
// has more than MaxGroup of them.
func CountGroup(strongItems, weakItems [][]byte, strong, weak *CountSecret) ([]byte, error) {
	seen := map[string]bool{}
	type it struct {
		item []byte
		weak bool
	}
	var all []it
	for _, x := range strongItems {
		if !seen[string(x)] {
			seen[string(x)] = true
			all = append(all, it{x, false})
		}
	}
	for _, x := range weakItems {
		if !seen[string(x)] {
			seen[string(x)] = true
			all = append(all, it{x, true})
		}
	}
	size := GroupSize(len(all))
	if size == 0 {
		return nil, nil
	}
	out := make([]byte, size*ElementSize)
	r := newRand()
	perm := r.Perm(size)
	for i := range size {
		dst := out[perm[i]*ElementSize : (perm[i]+1)*ElementSize]
		var err error
		switch {
		case i >= len(all):
			err = randomElement(dst)
		case all[i].weak:
			err = weak.HashMul(dst, all[i].item)
		default:
			err = strong.HashMul(dst, all[i].item)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CountRequest is the querier's side of a count exchange: the span of
// days its items cover and one group of elements per report.
type CountRequest struct {
	From, To Day
	Sizes    []int  // each group's size, a power of two from MinGroup to MaxGroup
	Elements []byte // the groups' elements, one group after another
}

// CountCompound is one compound's items in a count response, blinded by
// the holder: its id, name and country, and the sorted set H(y)^b.
type CountCompound struct {
	ID, Name, Country string
	Elements          []byte
}

// CountResponse is the holder's answer: the groups raised to its exponent,
// shuffled (Sizes in their new order), and its compounds' items.
type CountResponse struct {
	Sizes     []int
	Elements  []byte
	Compounds []CountCompound
}

// AppendCountRequest appends m:
//
//	header | from i32 | to i32 | groups u32 | elements u32 |
//	sizes u16 (log2)... | elements
func AppendCountRequest(b []byte, m *CountRequest) []byte {
	b = appendHeader(b, msgCountRequest)
	b = binary.BigEndian.AppendUint32(b, uint32(m.From))
	b = binary.BigEndian.AppendUint32(b, uint32(m.To))
	b = appendGroups(b, m.Sizes, m.Elements)
	return b
}

func appendGroups(b []byte, sizes []int, els []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(sizes)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(els)/ElementSize))
	for _, s := range sizes {
		b = append(b, byte(bits.Len(uint(s))-1))
	}
	return append(b, els...)
}

// ReadCountRequest reads a CountRequest within lim: groups of valid
// sizes adding up to the elements sent, a span with From <= To.
func ReadCountRequest(r io.Reader, lim Limits) (*CountRequest, error) {
	const what = "count request"
	if err := readHeader(r, what, msgCountRequest); err != nil {
		return nil, err
	}
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, badMessage(what, "header: %v", err)
	}
	m := &CountRequest{From: Day(binary.BigEndian.Uint32(h[:4])), To: Day(binary.BigEndian.Uint32(h[4:]))}
	if m.From > m.To {
		return nil, badMessage(what, "span %s to %s is reversed", m.From, m.To)
	}
	var err error
	if m.Sizes, m.Elements, err = readGroups(r, what, lim); err != nil {
		return nil, err
	}
	if err := atEOF(r); err != nil {
		return nil, badMessage(what, "%v", err)
	}
	return m, nil
}

func readGroups(r io.Reader, what string, lim Limits) ([]int, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, nil, badMessage(what, "groups: %v", err)
	}
	ng, ne := int64(binary.BigEndian.Uint32(h[:4])), int64(binary.BigEndian.Uint32(h[4:]))
	if ng > int64(lim.MaxGroups) || ne > int64(lim.MaxElements) {
		return nil, nil, badMessage(what, "%d groups of %d elements (at most %d and %d)", ng, ne, lim.MaxGroups, lim.MaxElements)
	}
	logs := make([]byte, ng)
	if _, err := io.ReadFull(r, logs); err != nil {
		return nil, nil, badMessage(what, "sizes: %v", err)
	}
	sizes := make([]int, ng)
	var sum int64
	for i, l := range logs {
		if 1<<l < MinGroup || 1<<l > MaxGroup {
			return nil, nil, badMessage(what, "group %d of size 2^%d", i, l)
		}
		sizes[i] = 1 << l
		sum += int64(sizes[i])
	}
	if sum != ne {
		return nil, nil, badMessage(what, "groups of %d elements in all, %d sent", sum, ne)
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, ne*ElementSize); err != nil {
		return nil, nil, badMessage(what, "elements: %v", err)
	}
	return sizes, buf.Bytes(), nil
}

// AppendCountResponse appends m:
//
//	header | groups as in a request | compounds u32 |
//	(id str | name str | country str | n u32 | n elements)...
func AppendCountResponse(b []byte, m *CountResponse) []byte {
	b = appendGroups(appendHeader(b, msgCountResponse), m.Sizes, m.Elements)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Compounds)))
	for _, c := range m.Compounds {
		b = appendStr(b, c.ID)
		b = appendStr(b, c.Name)
		b = appendStr(b, c.Country)
		b = binary.BigEndian.AppendUint32(b, uint32(len(c.Elements)/ElementSize))
		b = append(b, c.Elements...)
	}
	return b
}

// ReadCountResponse reads a CountResponse within lim, and checks that it
// answers req: the same number of groups, of the same sizes (as a
// multiset); compounds with valid ids, each once, and sorted elements.
func ReadCountResponse(r io.Reader, req *CountRequest, lim Limits) (*CountResponse, error) {
	const what = "count response"
	if err := readHeader(r, what, msgCountResponse); err != nil {
		return nil, err
	}
	m := &CountResponse{}
	var err error
	if m.Sizes, m.Elements, err = readGroups(r, what, lim); err != nil {
		return nil, err
	}
	if req != nil {
		a, b := slices.Clone(m.Sizes), slices.Clone(req.Sizes)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			return nil, badMessage(what, "its groups are not those sent")
		}
	}
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, badMessage(what, "compounds: %v", err)
	}
	nc := int64(binary.BigEndian.Uint32(n[:]))
	if nc > int64(lim.MaxCompounds) {
		return nil, badMessage(what, "%d compounds (at most %d)", nc, lim.MaxCompounds)
	}
	seen := map[string]bool{}
	total := int64(0)
	d := &streamDecoder{r: r}
	for i := range nc {
		c := CountCompound{ID: d.str(), Name: d.str(), Country: d.str()}
		ne := int64(d.u32())
		if d.err != nil {
			return nil, badMessage(what, "compound %d: %v", i, d.err)
		}
		total += ne
		if total > int64(lim.MaxEntries) {
			return nil, badMessage(what, "more than %d elements of compounds", lim.MaxEntries)
		}
		if !seams.ValidCompoundID(c.ID) || seen[c.ID] {
			return nil, badMessage(what, "compound %d: id %q invalid or repeated", i, c.ID)
		}
		seen[c.ID] = true
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, r, ne*ElementSize); err != nil {
			return nil, badMessage(what, "compound %s: %v", c.ID, err)
		}
		c.Elements = buf.Bytes()
		for k := ElementSize; k < len(c.Elements); k += ElementSize {
			if bytes.Compare(c.Elements[k-ElementSize:k], c.Elements[k:k+ElementSize]) >= 0 {
				return nil, badMessage(what, "compound %s: elements out of order or repeated", c.ID)
			}
		}
		m.Compounds = append(m.Compounds, c)
	}
	if err := atEOF(r); err != nil {
		return nil, badMessage(what, "%v", err)
	}
	return m, nil
}

// streamDecoder reads the fields of decoder from a reader.
type streamDecoder struct {
	r   io.Reader
	err error
}

func (d *streamDecoder) read(n int) []byte {
	if d.err != nil {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = err
		return nil
	}
	return b
}

func (d *streamDecoder) u32() uint32 {
	if b := d.read(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *streamDecoder) str() string {
	b := d.read(2)
	if b == nil {
		return ""
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > maxLabelString {
		d.err = errShort
		return ""
	}
	return string(d.read(n))
}
