package psi

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/seams-dev/seams"
)

// Table is what a holder publishes for one epoch: the sealed labels, and an
// entry per item (a tag and a sealed pointer to its label), sorted by tag.
// It says how many items and labels the holder has, which families they
// fall in, and nothing else to whoever lacks the PRF outputs.
type Table struct {
	Epoch    uint64
	Families Families
	Labels   [][]byte // sealed labels, by index
	entries  []byte   // EntrySize each, sorted by tag, no tag twice
}

// Len returns the number of entries.
func (t *Table) Len() int { return len(t.entries) / EntrySize }

// entry returns entry i.
func (t *Table) entry(i int) []byte { return t.entries[i*EntrySize : (i+1)*EntrySize] }

// find returns the entry whose tag is tag, or nil.
func (t *Table) find(tag *Tag) []byte {
	n := t.Len()
	i := sort.Search(n, func(i int) bool { return bytes.Compare(t.entry(i)[:TagSize], tag[:]) >= 0 })
	if i < n && bytes.Equal(t.entry(i)[:TagSize], tag[:]) {
		return t.entry(i)
	}
	return nil
}

// Opened is a label a querier opened: its index in the table and its
// fields.
type Opened struct {
	Index uint32
	Label *Label
}

// Open returns the indicator labels that an item's PRF output opens: one
// per entry of the item (its entries have ranks 0, 1, ... and the first
// missing rank ends them). It fails if an entry's label does not open or
// decode: the table was tampered with.
func (t *Table) Open(out []byte) ([]Opened, error) {
	raw, err := t.OpenRaw(out)
	if err != nil {
		return nil, err
	}
	res := make([]Opened, 0, len(raw))
	for _, r := range raw {
		l, err := ParseLabel(r.Plain)
		if err != nil {
			return nil, fmt.Errorf("label %d: %w", r.Index, err)
		}
		res = append(res, Opened{Index: r.Index, Label: l})
	}
	return res, nil
}

// OpenedEvent is an event label a querier opened.
type OpenedEvent struct {
	Index uint32
	Label *EventLabel
}

// OpenEvents is Open for a table of events.
func (t *Table) OpenEvents(out []byte) ([]OpenedEvent, error) {
	raw, err := t.OpenRaw(out)
	if err != nil {
		return nil, err
	}
	res := make([]OpenedEvent, 0, len(raw))
	for _, r := range raw {
		l, err := ParseEventLabel(r.Plain)
		if err != nil {
			return nil, fmt.Errorf("label %d: %w", r.Index, err)
		}
		res = append(res, OpenedEvent{Index: r.Index, Label: l})
	}
	return res, nil
}

// RawOpened is a label opened, not yet decoded.
type RawOpened struct {
	Index uint32
	Plain []byte
}

// OpenRaw returns the plaintexts of the labels an item's PRF output opens.
func (t *Table) OpenRaw(out []byte) ([]RawOpened, error) {
	var res []RawOpened
	for k := uint32(0); ; k++ {
		tag, pad := entryKeys(out, t.Epoch, k)
		e := t.find(&tag)
		if e == nil {
			return res, nil
		}
		index, key := openPointer(e, &pad)
		if int(index) >= len(t.Labels) {
			return nil, fmt.Errorf("entry points at label %d of %d: %w", index, len(t.Labels), ErrOpen)
		}
		plain, err := openLabel(&key, t.Epoch, index, t.Labels[index])
		if err != nil {
			return nil, err
		}
		res = append(res, RawOpened{Index: index, Plain: plain})
	}
}

// Builder builds a holder's table from its compounds and indicators.
type Builder struct {
	key       *Key
	o         ExpandOptions
	fields    LabelField
	compounds map[string]int // compound id -> its rank in cs
	cs        []seams.Compound
	labels    []Label
	arena     []byte       // the items, one after another
	items     []bItem      // where each is, and its label
	buf       []byte       // scratch
	families  Families     // of the items added
	events    []EventLabel // a table of events: their labels
	reports   int          // reports added
	// Skipped counts the indicators that have no item: kinds cidr and
	// asn, and devices longer than MaxItemLen.
	Skipped map[string]int
}

type bItem struct {
	off, end uint32 // in arena
	label    uint32
}

// NewBuilder returns a builder of the table of key's epoch: items as o
// says, labels with the optional fields of fields. compounds are the
// holder's compounds, in the order of its registry (of two with one id,
// the first stands, as registries read them).
func NewBuilder(key *Key, o ExpandOptions, fields LabelField, compounds []seams.Compound) *Builder {
	b := &Builder{key: key, o: o, fields: fields, compounds: map[string]int{}, Skipped: map[string]int{}}
	for i := range compounds {
		if _, dup := b.compounds[compounds[i].ID]; !dup {
			b.compounds[compounds[i].ID] = len(b.cs)
			b.cs = append(b.cs, compounds[i])
		}
	}
	return b
}

// Add adds an indicator, in the order of the registry. Its compound must be
// one of the builder's compounds.
func (b *Builder) Add(in *seams.Indicator) error {
	rank, ok := b.compounds[in.Compound]
	if !ok {
		return fmt.Errorf("indicator %s %s: unknown compound %q", in.Kind, in.Value, in.Compound)
	}
	c := &b.cs[rank]
	for _, s := range []string{c.Name, in.Source} {
		if len(s) > maxLabelString {
			return fmt.Errorf("indicator %s %s of %s: a name or source of more than %d bytes cannot be labelled", in.Kind, in.Value, in.Compound, maxLabelString)
		}
	}
	if in.Kind != seams.KindIP && in.Kind != seams.KindDevice {
		b.Skipped[in.Kind.String()]++
		return nil
	}
	if len(b.events) > 0 {
		return fmt.Errorf("indicator %s %s: this table holds events", in.Kind, in.Value)
	}
	if len(b.labels) >= 1<<31 || len(b.arena) > 1<<31 {
		return fmt.Errorf("indicator %s %s: too many for one table", in.Kind, in.Value)
	}
	label := uint32(len(b.labels))
	_, tooLong := IndicatorItems(b.buf, in, b.o, func(item []byte) {
		off := uint32(len(b.arena))
		b.arena = append(b.arena, item...)
		b.items = append(b.items, bItem{off: off, end: uint32(len(b.arena)), label: label})
	})
	if tooLong {
		b.Skipped["device too long"]++
		return nil
	}
	b.families |= IndicatorFamilies(in, b.o)
	l := Label{Compound: c.ID, Country: c.Country, CompoundOrder: uint64(rank), Kind: in.Kind, Window: in.Window, Fields: b.fields}
	if b.fields&FieldName != 0 {
		l.Name = c.Name
	}
	if b.fields&FieldSource != 0 {
		l.Source = in.Source
	}
	if b.fields&FieldConfidence != 0 {
		l.Confidence, l.HasConfidence = in.Confidence, in.HasConfidence
	}
	b.labels = append(b.labels, l)
	return nil
}

// Items returns the number of items added so far.
func (b *Builder) Items() int { return len(b.items) }

// LabelCount returns the number of labels (indicators or events with
// items) added so far.
func (b *Builder) LabelCount() int { return len(b.labels) + len(b.events) }

// newRand returns a generator seeded from crypto/rand, for the shuffles and
// order keys of a table: they must not be predictable from the registry.
func newRand() *mrand.Rand {
	var seed [32]byte
	rand.Read(seed[:])
	return mrand.New(mrand.NewChaCha8(seed))
}

// orderKeys returns n distinct random keys, sorted.
func orderKeys(r *mrand.Rand, n int) []uint64 {
	keys := make([]uint64, n)
	for {
		for i := range keys {
			keys[i] = r.Uint64()
		}
		slices.Sort(keys)
		if len(slices.Compact(slices.Clone(keys))) == n {
			return keys
		}
	}
}

// Build evaluates every item under the key (workers goroutines; 0 means
// GOMAXPROCS) and returns the table. The builder is spent.
func (b *Builder) Build(workers int) (*Table, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	r := newRand()
	// Order keys keep only the order of compounds and indicators.
	ck := orderKeys(r, len(b.cs))
	ik := orderKeys(r, len(b.labels))
	for i := range b.labels {
		b.labels[i].CompoundOrder = ck[b.labels[i].CompoundOrder]
		b.labels[i].Order = ik[i]
	}
	rk := orderKeys(r, b.reports)
	for i := range b.events {
		b.events[i].ReportOrder = rk[b.events[i].ReportOrder]
	}
	// Labels are placed at random, each sealed under a key of its own.
	n := b.LabelCount()
	perm := r.Perm(n)
	t := &Table{Epoch: b.key.Epoch, Families: b.families, Labels: make([][]byte, n)}
	keys := make([][LabelKeyLen]byte, n)
	var plain []byte
	for i := range n {
		idx := uint32(perm[i])
		rand.Read(keys[i][:])
		if len(b.events) > 0 {
			plain = AppendEventLabel(plain[:0], &b.events[i])
		} else {
			plain = AppendLabel(plain[:0], &b.labels[i])
		}
		t.Labels[idx] = sealLabel(&keys[i], t.Epoch, idx, plain)
	}
	// The entries of one item (an address on a day of two compounds'
	// windows) share its PRF output and are told apart by rank: sort
	// the items so that equal ones are adjacent, and evaluate each once.
	item := func(it bItem) []byte { return b.arena[it.off:it.end] }
	slices.SortFunc(b.items, func(x, y bItem) int {
		if c := bytes.Compare(item(x), item(y)); c != 0 {
			return c
		}
		return cmp.Compare(perm[x.label], perm[y.label])
	})
	var starts []int // where each distinct item's run begins
	for i := range b.items {
		if i == 0 || !bytes.Equal(item(b.items[i]), item(b.items[i-1])) {
			starts = append(starts, i)
		}
	}
	starts = append(starts, len(b.items))
	entries := make([][EntrySize]byte, len(b.items))
	var wg sync.WaitGroup
	errs := make([]error, workers)
	runs := len(starts) - 1
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := w; g < runs; g += workers {
				lo, hi := starts[g], starts[g+1]
				out, err := b.key.FullEvaluate(item(b.items[lo]))
				if err != nil {
					errs[w] = fmt.Errorf("evaluate %s: %w", ItemString(item(b.items[lo])), err)
					return
				}
				for k := lo; k < hi; k++ {
					l := b.items[k].label
					entries[k] = sealEntry(out, t.Epoch, uint32(k-lo), uint32(perm[l]), &keys[l])
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(entries, func(x, y [EntrySize]byte) int { return bytes.Compare(x[:TagSize], y[:TagSize]) })
	t.entries = make([]byte, 0, len(entries)*EntrySize)
	for i := range entries {
		if i > 0 && bytes.Equal(entries[i][:TagSize], entries[i-1][:TagSize]) {
			// 2^-128 per pair: a broken key or hash, not chance.
			return nil, fmt.Errorf("build: two entries share a tag")
		}
		t.entries = append(t.entries, entries[i][:]...)
	}
	b.items, b.arena, b.labels, b.events = nil, nil, nil, nil
	return t, nil
}
