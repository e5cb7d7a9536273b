package psi

import (
	"bytes"
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/seams-dev/seams"
)

// CountReportItems returns a report's items for a count session: strong
// ones (a dated device on its day, an undated device, a dated address on
// its day whose event is neither a proxy nor weak) and weak ones (the
// address on its day of a dated event that is a proxy or that weak says
// is weakened: shared space). Undated events, unroutable addresses and unmatchable
// devices have no item, as in ReportItems.
func CountReportItems(r *seams.Report, weak func(*seams.IPEvent) bool) (strong, weakItems [][]byte) {
	for i := range r.IPs {
		e := &r.IPs[i]
		if e.At.IsZero() || seams.NonRoutable(e.Addr) != "" {
			continue
		}
		it := AppendIPDay(nil, e.Addr, DayOf(e.At))
		if e.Proxy || weak != nil && weak(e) {
			weakItems = append(weakItems, it)
		} else {
			strong = append(strong, it)
		}
	}
	for i := range r.Devices {
		d := &r.Devices[i]
		if !d.ID.Matchable() || len(d.ID.Type)+len(d.ID.Value)+6 > MaxItemLen {
			continue
		}
		if d.At.IsZero() {
			strong = append(strong, AppendDevice(nil, FamilyDeviceUndated, d.ID))
		} else {
			strong = append(strong, AppendDeviceDay(nil, d.ID, DayOf(d.At)))
		}
	}
	return strong, weakItems
}

// ItemDay returns the day of a day item.
func ItemDay(item []byte) (Day, bool) {
	switch {
	case len(item) == 21 && Family(item[0]) == FamilyIPDay:
		return Day(uint32(item[17])<<24 | uint32(item[18])<<16 | uint32(item[19])<<8 | uint32(item[20])), true
	case len(item) > 5 && Family(item[0]) == FamilyDeviceDay:
		return Day(uint32(item[1])<<24 | uint32(item[2])<<16 | uint32(item[3])<<8 | uint32(item[4])), true
	}
	return 0, false
}

// CountHolderItems returns, per compound id, the distinct items of the
// holder's ip and device indicators for a count session over the days
// [from, to]: each day a window touches within the span (an open side
// reaches the span's edge), and device-undated items of every device
// indicator when undated is set. It fails, before building anything, when
// that would be more than limit items (0: no limit): a querier chooses the
// span, and an open window reaches its edges.
func CountHolderItems(inds []seams.Indicator, from, to Day, undated bool, limit int) (map[string][][]byte, error) {
	if limit > 0 {
		n := 0
		for i := range inds {
			in := &inds[i]
			if in.Kind != seams.KindIP && in.Kind != seams.KindDevice {
				continue
			}
			first, last := countDays(in.Window, from, to)
			if last >= first {
				n += int(last-first) + 1
			}
			if n > limit {
				return nil, fmt.Errorf("the span %s to %s makes more than %d items of this registry: ask for a shorter one", from, to, limit)
			}
		}
	}
	sets := map[string]map[string]bool{}
	add := func(c string, item []byte) {
		s := sets[c]
		if s == nil {
			s = map[string]bool{}
			sets[c] = s
		}
		s[string(item)] = true
	}
	for i := range inds {
		in := &inds[i]
		if in.Kind != seams.KindIP && in.Kind != seams.KindDevice {
			continue
		}
		if in.Kind == seams.KindDevice && len(in.Device.Type)+len(in.Device.Value)+6 > MaxItemLen {
			continue
		}
		first, last := countDays(in.Window, from, to)
		for d := first; d <= last; d++ {
			if in.Kind == seams.KindIP {
				add(in.Compound, AppendIPDay(nil, in.Addr, d))
			} else {
				add(in.Compound, AppendDeviceDay(nil, in.Device, d))
			}
		}
		if in.Kind == seams.KindDevice && undated {
			add(in.Compound, AppendDevice(nil, FamilyDeviceUndated, in.Device))
		}
	}
	out := make(map[string][][]byte, len(sets))
	for c, s := range sets {
		items := make([][]byte, 0, len(s))
		for it := range s {
			items = append(items, []byte(it))
		}
		out[c] = items
	}
	return out, nil
}

// countDays returns the days of window w within [from, to]; an open side
// reaches the span's edge. last < first when there is none.
func countDays(w seams.Window, from, to Day) (first, last Day) {
	first, last = from, to
	if !w.First.IsZero() {
		first = max(first, DayOf(w.First))
	}
	if !w.Last.IsZero() {
		last = min(last, DayOf(w.Last))
	}
	return first, last
}

// parallel runs fn(i) for i in [0, n) on workers goroutines (0 means
// GOMAXPROCS), returning the first error.
func parallel(n, workers int, fn func(i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// AnswerCount is the holder's step of a count session under its secret b:
// every element of req raised to b, the groups shuffled and the elements
// of each shuffled, and per compound the sorted set of H(y)^b of its items
// (items as CountHolderItems gives them). A compound's name is sent only
// with FieldName.
func (b *CountSecret) AnswerCount(req *CountRequest, compounds []seams.Compound, items map[string][][]byte, fields LabelField, workers int) (*CountResponse, error) {
	ev := make([]byte, len(req.Elements))
	const chunk = 256 * ElementSize
	if err := parallel((len(ev)+chunk-1)/chunk, workers, func(i int) error {
		lo, hi := i*chunk, min((i+1)*chunk, len(ev))
		return b.Mul(ev[lo:hi], req.Elements[lo:hi])
	}); err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	r := newRand()
	offs := make([]int, len(req.Sizes)+1)
	for i, s := range req.Sizes {
		offs[i+1] = offs[i] + s*ElementSize
	}
	resp := &CountResponse{Sizes: make([]int, 0, len(req.Sizes)), Elements: make([]byte, 0, len(ev))}
	for _, g := range r.Perm(len(req.Sizes)) {
		grp := ev[offs[g]:offs[g+1]]
		n := req.Sizes[g]
		resp.Sizes = append(resp.Sizes, n)
		for _, k := range r.Perm(n) {
			resp.Elements = append(resp.Elements, grp[k*ElementSize:(k+1)*ElementSize]...)
		}
	}
	seen := map[string]bool{}
	for i := range compounds {
		c := &compounds[i]
		its := items[c.ID]
		if len(its) == 0 || seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		els := make([]byte, len(its)*ElementSize)
		if err := parallel(len(its), workers, func(k int) error {
			return b.HashMul(els[k*ElementSize:(k+1)*ElementSize], its[k])
		}); err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
		cc := CountCompound{ID: c.ID, Country: c.Country, Elements: sortElements(els)}
		if fields&FieldName != 0 {
			cc.Name = c.Name
		}
		resp.Compounds = append(resp.Compounds, cc)
	}
	// Compounds in id order: the registry's order says nothing then.
	slices.SortFunc(resp.Compounds, func(x, y CountCompound) int { return cmp.Compare(x.ID, y.ID) })
	return resp, nil
}

// sortElements sorts encoded elements and drops repeats.
func sortElements(els []byte) []byte {
	n := len(els) / ElementSize
	idx := make([][]byte, n)
	for i := range n {
		idx[i] = els[i*ElementSize : (i+1)*ElementSize]
	}
	slices.SortFunc(idx, bytes.Compare)
	idx = slices.CompactFunc(idx, func(x, y []byte) bool { return bytes.Equal(x, y) })
	out := make([]byte, 0, len(idx)*ElementSize)
	for _, e := range idx {
		out = append(out, e...)
	}
	return out
}

// CountTally is what a count session tells the querier: how many of the
// reports it sent are tied or (only) potentially associated, in all and
// per compound.
type CountTally struct {
	Groups           int // report groups sent
	TiedReports      int
	PotentialReports int
	ByCompound       []seams.CompoundCount // with any report, sorted as summary.json sorts them
}

// TallyCount counts a count response with the querier's secrets: a group
// is tied to a compound if one of its elements is a strong item of it,
// potentially associated if only weak ones are.
func TallyCount(resp *CountResponse, strong, weak *CountSecret, workers int) (*CountTally, error) {
	type hit struct{ compound, weak int32 }
	idx := map[[ElementSize]byte][]hit{}
	for ci, c := range resp.Compounds {
		for w, s := range []*CountSecret{strong, weak} {
			out := make([]byte, len(c.Elements))
			const chunk = 256 * ElementSize
			if err := parallel((len(out)+chunk-1)/chunk, workers, func(i int) error {
				lo, hi := i*chunk, min((i+1)*chunk, len(out))
				return s.Mul(out[lo:hi], c.Elements[lo:hi])
			}); err != nil {
				return nil, fmt.Errorf("count: compound %s: %w", c.ID, err)
			}
			for k := 0; k < len(out); k += ElementSize {
				key := [ElementSize]byte(out[k : k+ElementSize])
				idx[key] = append(idx[key], hit{int32(ci), int32(w)})
			}
		}
	}
	tied := make([]int, len(resp.Compounds))
	pot := make([]int, len(resp.Compounds))
	t := &CountTally{Groups: len(resp.Sizes)}
	tier := make([]seams.Tier, len(resp.Compounds))
	off := 0
	for _, size := range resp.Sizes {
		clear(tier)
		for k := range size {
			e := resp.Elements[off+k*ElementSize : off+(k+1)*ElementSize]
			for _, h := range idx[[ElementSize]byte(e)] {
				want := seams.TierTied
				if h.weak == 1 {
					want = seams.TierPotential
				}
				tier[h.compound] = max(tier[h.compound], want)
			}
		}
		off += size * ElementSize
		any, anyTied := false, false
		for c, tr := range tier {
			switch tr {
			case seams.TierTied:
				tied[c]++
				any, anyTied = true, true
			case seams.TierPotential:
				pot[c]++
				any = true
			}
		}
		switch {
		case anyTied:
			t.TiedReports++
		case any:
			t.PotentialReports++
		}
	}
	for i, c := range resp.Compounds {
		if tied[i]+pot[i] > 0 {
			t.ByCompound = append(t.ByCompound, seams.CompoundCount{Compound: c.ID, Name: c.Name, Country: c.Country, Tied: tied[i], Potential: pot[i]})
		}
	}
	slices.SortFunc(t.ByCompound, func(a, b seams.CompoundCount) int {
		if c := cmp.Compare(b.Tied, a.Tied); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Potential, a.Potential); c != 0 {
			return c
		}
		return cmp.Compare(a.Compound, b.Compound)
	})
	return t, nil
}
