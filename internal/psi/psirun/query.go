package psirun

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/outdir"
	"github.com/seams-dev/seams/internal/psi/psinet"
	"github.com/seams-dev/seams/psi"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/reportfile"
	"github.com/seams-dev/seams/xref"
)

// PSIFile is what a private match writes beside xref's three outputs: what
// was exchanged with the holder.
const PSIFile = "psi.json"

// QueryOptions configures a querier's run. NewQueryOptions fills the
// defaults.
type QueryOptions struct {
	Reports []string // report files (regular files: they are read twice)
	Format  reportfile.Format
	Readers reportfile.ReaderOptions
	// Shared is the querier's own shared-space list, applied with the
	// holder's.
	Shared string
	Out    string
	// MaxReportsPerIndicator, LiftCap and MaxRejected are xref's.
	MaxReportsPerIndicator int
	LiftCap                []string
	MaxRejected            int
	// InFlight is the number of batches under way at once; Batch the
	// items of one (0: the holder's largest).
	InFlight, Batch int
	// Dedup is how many distinct items are remembered so as to query each
	// once; past it the memory is cleared (a repeat is queried again).
	Dedup   int
	Workers int // xref's workers; 0 means GOMAXPROCS
	Logger  *slog.Logger
	// Audit records the exchange (nil: none).
	Audit func(psinet.Exchange)
}

// NewQueryOptions returns the defaults.
func NewQueryOptions() QueryOptions {
	x := xref.NewOptions()
	return QueryOptions{Readers: reportfile.NewReaderOptionsDefault(), MaxReportsPerIndicator: x.MaxReportsPerIndicator,
		MaxRejected: -1, InFlight: 2 * runtime.GOMAXPROCS(0), Dedup: 4 << 20, Logger: slog.New(slog.DiscardHandler)}
}

// Stats is psi.json: what the querier sent, learned and spent.
type Stats struct {
	Holder       string   `json:"holder"`
	Peer         string   `json:"peer"` // the holder's address
	Epoch        uint64   `json:"epoch"`
	Mode         string   `json:"mode"`
	Families     []string `json:"families"`
	LabelFields  []string `json:"label_fields"`
	TableEntries int      `json:"table_entries"`
	TableLabels  int      `json:"table_labels"`
	Items        int      `json:"items"`         // items queried (each distinct one once, within Dedup)
	MatchedItems int      `json:"matched_items"` // items that opened a label
	Labels       int      `json:"labels"`        // distinct labels opened: the indicators learned
	Sessions     int      `json:"sessions"`
	TooLong      int      `json:"devices_too_long,omitempty"`
	BytesSent    int64    `json:"bytes_sent"`
	BytesRecv    int64    `json:"bytes_received"`
	Seconds      struct {
		Table float64 `json:"table"`
		Items float64 `json:"items"`
		Xref  float64 `json:"xref"`
	} `json:"seconds"`
}

// QueryResult is the outcome of a querier's run.
type QueryResult struct {
	Summary  *seams.Summary
	Stats    Stats
	Exchange psinet.Exchange
}

// learned is an indicator the querier opened: its label and value.
type learned struct {
	label *psi.Label
	value string
}

// Query runs the querier's side against the holder c speaks to: it queries
// the items of its reports, opens the labels of those the holder has,
// and writes into o.Out what a cross-reference restricted to rules device
// and ip writes (findings.jsonl, summary.json, rejected.jsonl), made by
// xref itself over a registry of the indicators learned, plus psi.json.
func Query(ctx context.Context, c *psinet.Client, o QueryOptions) (*QueryResult, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, r := range o.Reports {
		if r == "-" {
			return nil, fmt.Errorf("reports: standard input cannot be read twice: give a file")
		}
	}
	res := &QueryResult{Stats: Stats{Mode: "labels"}}
	st := &res.Stats
	start := time.Now()
	hello, err := c.Hello(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(hello.Modes, "labels") {
		return nil, fmt.Errorf("the holder does not allow label sessions to this peer")
	}
	if hello.Serves == "reports" {
		return nil, fmt.Errorf("%s serves reports, not a registry: query it with your registry (--compounds, --indicators), not reports", hello.Holder)
	}
	table, err := c.Table(ctx)
	if err != nil {
		return nil, err
	}
	if table.Epoch != hello.Epoch {
		return nil, fmt.Errorf("%w: table of epoch %d, hello of %d", psinet.ErrEpochChanged, table.Epoch, hello.Epoch)
	}
	shared, err := c.Shared(ctx)
	if err != nil {
		return nil, err
	}
	st.Holder, st.Epoch, st.Families, st.LabelFields = hello.Holder, hello.Epoch, table.Families.Names(), hello.LabelFields
	st.TableEntries, st.TableLabels = table.Len(), len(table.Labels)
	st.Seconds.Table = time.Since(start).Seconds()
	log.Info("psi table", "holder", hello.Holder, "epoch", table.Epoch, "entries", table.Len(), "labels", len(table.Labels))

	start = time.Now()
	ex := psinet.Exchange{Peer: hello.Holder, Mode: "labels", Epoch: hello.Epoch, Started: start}
	found := map[uint32]learned{}
	var mu sync.Mutex
	open := func(item, out []byte) error {
		ls, err := table.Open(out)
		if err != nil || len(ls) == 0 {
			return err
		}
		value, err := itemValue(item)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		st.MatchedItems++
		for _, l := range ls {
			if prev, ok := found[l.Index]; ok && prev.value != value {
				return fmt.Errorf("label %d opened by items of two values (%s, %s): the holder's table is not consistent", l.Index, prev.value, value)
			}
			found[l.Index] = learned{label: l.Label, value: value}
		}
		return nil
	}
	produce := func(emit func([]byte)) error { return readReportItems(ctx, o, table.Families, emit, st) }
	err = queryItems(ctx, c, hello, o.InFlight, o.Batch, o.Dedup, produce, open, st, &ex)
	ex.Ended = time.Now()
	if err != nil {
		ex.End = "failed"
		if o.Audit != nil {
			o.Audit(ex)
		}
		return nil, err
	}
	st.Seconds.Items = time.Since(start).Seconds()
	st.Labels = len(found)
	ex.Matches, ex.End = st.MatchedItems, "closed"
	res.Exchange = ex
	if o.Audit != nil {
		o.Audit(ex)
	}
	log.Info("psi items", "items", st.Items, "matched", st.MatchedItems, "labels", st.Labels, "took", time.Since(start).Round(time.Millisecond))

	st.BytesSent, st.BytesRecv, st.Peer = c.Sent.Load(), c.Received.Load(), c.Base()
	s, err := crossReference(ctx, found, shared, o, st)
	if err != nil {
		return nil, err
	}
	res.Summary = s
	return res, nil
}

// batch is items on their way through the protocol.
type batch struct {
	items   [][]byte
	session *psinet.SessionResponse
}

// queryItems queries the items produce emits, each distinct one once
// (within dedup), in batches, inFlight at once, over sessions within the
// holder's limits, and calls open with each item and its PRF output.
func queryItems(ctx context.Context, c *psinet.Client, hello *psi.Hello, inFlight, batchSize, dedup int,
	produce func(emit func([]byte)) error, open func(item, out []byte) error, st *Stats, ex *psinet.Exchange) error {
	size := batchSize
	if size <= 0 || size > hello.Limits.MaxBatch {
		size = hello.Limits.MaxBatch
	}
	inflight := max(inFlight, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var failed error
	fail := func(err error) {
		once.Do(func() { failed = err })
		cancel()
	}
	batches := make(chan *batch, inflight)
	var wg sync.WaitGroup
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := runBatch(ctx, c, b, open); err != nil {
					fail(err)
				}
			}
		}()
	}
	var sessions []*psinet.SessionResponse
	left := 0 // items the last session may still take
	err := batchItems(produce, size, dedup, st, func(items [][]byte) error {
		if len(sessions) == 0 || left < len(items) {
			h, err := c.Hello(ctx)
			if err != nil {
				return err
			}
			n := min(h.Limits.MaxItems, h.Limits.ItemsLeft)
			if n < len(items) {
				return fmt.Errorf("%w: %d items left today for this peer, a batch of %d to query", psinet.ErrBudget, h.Limits.ItemsLeft, len(items))
			}
			s, err := c.Open(ctx, n)
			if err != nil {
				return err
			}
			sessions, left = append(sessions, s), n
			ex.Session = s.Session
		}
		left -= len(items)
		select {
		case batches <- &batch{items: items, session: sessions[len(sessions)-1]}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(batches)
	wg.Wait()
	if failed != nil {
		err = failed // the cause of a cancelled read
	}
	for _, s := range sessions {
		cl, cerr := c.Close(context.WithoutCancel(ctx), s)
		if cerr == nil {
			ex.Items += cl.Items
			ex.Batches += cl.Batches
		} else if err == nil {
			err = cerr
		}
	}
	st.Sessions = len(sessions)
	return err
}

// batchItems calls send with batches of size distinct items of those
// produce emits (a repeat is dropped while fewer than dedup distinct items
// are remembered).
func batchItems(produce func(emit func([]byte)) error, size, dedup int, st *Stats, send func(items [][]byte) error) error {
	seed := maphash.MakeSeed()
	seen := make(map[uint64]struct{})
	var cur [][]byte
	var serr error
	err := produce(func(item []byte) {
		if serr != nil {
			return
		}
		h := maphash.Bytes(seed, item)
		if _, dup := seen[h]; dup {
			return
		}
		if len(seen) >= dedup {
			clear(seen)
		}
		seen[h] = struct{}{}
		cur = append(cur, slices.Clone(item))
		st.Items++
		if len(cur) == size {
			serr = send(cur)
			cur = nil
		}
	})
	if err == nil {
		err = serr
	}
	if err == nil && len(cur) > 0 {
		err = send(cur)
	}
	return err
}

// readReportItems emits the items of the reports' events.
func readReportItems(ctx context.Context, o QueryOptions, fams psi.Families, emit func([]byte), st *Stats) error {
	var buf []byte
	for _, name := range o.Reports {
		in, err := reportfile.OpenOptions(name, o.Format, nil, o.Readers)
		if err != nil {
			return err
		}
		for {
			if err := ctx.Err(); err != nil {
				in.Close()
				return err
			}
			rec, err := in.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				in.Close()
				return fmt.Errorf("%s: %w", name, err)
			}
			if rec.Whole == nil {
				st.TooLong += psi.ReportItems(buf, &rec.Report, fams, emit)
			}
		}
		in.Close()
	}
	return nil
}

// runBatch blinds a batch, has the holder evaluate it, and calls open
// with each item and its PRF output.
func runBatch(ctx context.Context, c *psinet.Client, b *batch, open func(item, out []byte) error) error {
	bl, err := psi.Blind(b.items)
	if err != nil {
		return err
	}
	ev, err := c.Eval(ctx, b.session, bl.Elements)
	if err != nil {
		return err
	}
	outs, err := bl.Finalize(ev)
	if err != nil {
		return err
	}
	for i, out := range outs {
		if err := open(b.items[i], out); err != nil {
			return fmt.Errorf("item %s: %w", psi.ItemString(b.items[i]), err)
		}
	}
	return nil
}

// itemValue returns the indicator value an item stands for: an address, or
// a device as type:value.
func itemValue(item []byte) (string, error) {
	switch f := psi.Family(item[0]); f {
	case psi.FamilyIPDay, psi.FamilyIPAny:
		return netip.AddrFrom16([16]byte(item[1:17])).Unmap().String(), nil
	case psi.FamilyDeviceDay:
		return string(item[5:]), nil
	case psi.FamilyDeviceAny, psi.FamilyDeviceUndated:
		return string(item[1:]), nil
	}
	return "", fmt.Errorf("item of unknown family %d", item[0])
}

// crossReference writes the registry learned to a folder beside o.Out,
// runs xref over it and the reports, restricted to rules device and ip,
// and puts its outputs, with psi.json, into o.Out at once.
func crossReference(ctx context.Context, found map[uint32]learned, shared []netip.Prefix, o QueryOptions, st *Stats) (*seams.Summary, error) {
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, ".psi-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	reg := RegistryFiles{Compounds: filepath.Join(tmp, "compounds.csv"), Indicators: filepath.Join(tmp, "indicators.csv"), Shared: filepath.Join(tmp, "shared.txt")}
	counts, err := writeLearned(reg, found, shared, o.Shared)
	if err != nil {
		return nil, err
	}
	x := xref.NewOptions()
	x.Compounds, x.Indicators, x.Shared = reg.Compounds, reg.Indicators, reg.Shared
	x.Reports, x.Format, x.Readers = o.Reports, o.Format, o.Readers
	x.Rules = []seams.Rule{seams.RuleDevice, seams.RuleIP}
	x.MaxReportsPerIndicator, x.LiftCap, x.MaxRejected, x.Workers = o.MaxReportsPerIndicator, o.LiftCap, o.MaxRejected, o.Workers
	x.Out = filepath.Join(tmp, "out")
	x.Logger = o.Logger
	start := time.Now()
	s, err := xref.Run(ctx, x)
	if err != nil {
		return nil, err
	}
	st.Seconds.Xref = time.Since(start).Seconds()
	// What the run says of the learned registry's files is the querier's
	// business, not a file's: they are gone.
	var inputs []seams.InputCount
	for _, in := range s.Inputs {
		if strings.HasPrefix(in.File, tmp) {
			if in.Rejected > 0 {
				return nil, fmt.Errorf("the registry learned from the holder has %d rejected %s: a bug, please report it", in.Rejected, in.Kind)
			}
			continue
		}
		inputs = append(inputs, in)
	}
	s.Inputs = inputs
	s.Registry = counts
	s.Warnings = slices.DeleteFunc(s.Warnings, func(w string) bool { return strings.Contains(w, tmp) })
	for i := range s.SharedLists {
		if strings.HasPrefix(s.SharedLists[i].Name, tmp) {
			s.SharedLists[i].Name = "psi:" + st.Holder
		}
	}
	if err := commitOutputs(x.Out, o.Out, s, st); err != nil {
		return nil, err
	}
	return s, nil
}

// writeLearned writes the indicators learned as a registry: compounds and
// indicators in the holder's order (by their order keys), the holder's
// shared prefixes and the querier's own list. It returns the registry's
// counts, as a summary gives them.
func writeLearned(reg RegistryFiles, found map[uint32]learned, shared []netip.Prefix, own string) (seams.RegistryCounts, error) {
	var counts seams.RegistryCounts
	ls := make([]learned, 0, len(found))
	for _, l := range found {
		ls = append(ls, l)
	}
	slices.SortFunc(ls, func(a, b learned) int { return cmp.Compare(a.label.Order, b.label.Order) })
	type comp struct {
		order             uint64
		id, name, country string
	}
	var cs []comp
	seen := map[string]bool{}
	for _, l := range ls {
		if !seen[l.label.Compound] {
			seen[l.label.Compound] = true
			name := l.label.Name
			if name == "" {
				name = l.label.Compound // a compound needs a name; the holder kept it
			}
			cs = append(cs, comp{l.label.CompoundOrder, l.label.Compound, name, l.label.Country})
		}
	}
	slices.SortFunc(cs, func(a, b comp) int { return cmp.Compare(a.order, b.order) })
	f, err := os.Create(reg.Compounds)
	if err != nil {
		return counts, err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"id", "name", "aliases", "country", "province", "lat", "lon", "status"})
	for _, c := range cs {
		w.Write([]string{c.id, c.name, "", c.country, "", "", "", ""})
	}
	w.Flush()
	if err := cmp.Or(w.Error(), f.Close()); err != nil {
		return counts, fmt.Errorf("write learned compounds: %w", err)
	}
	counts.Compounds = len(cs)
	f, err = os.Create(reg.Indicators)
	if err != nil {
		return counts, err
	}
	iw := registry.NewIndicatorWriter(f)
	for _, l := range ls {
		in := seams.Indicator{Compound: l.label.Compound, Kind: l.label.Kind, Value: l.value, Window: l.label.Window,
			Confidence: l.label.Confidence, HasConfidence: l.label.HasConfidence, Source: l.label.Source}
		if err := iw.Write(&in); err != nil {
			return counts, err
		}
		if in.Kind == seams.KindIP {
			counts.IPIndicators++
		} else {
			counts.DeviceIndicators++
		}
	}
	if err := cmp.Or(iw.Flush(), f.Close()); err != nil {
		return counts, fmt.Errorf("write learned indicators: %w", err)
	}
	var sb strings.Builder
	for _, p := range shared {
		sb.WriteString(p.String() + "\n")
	}
	counts.SharedPrefixes = len(shared) + 1 // and carrier-grade NAT
	if own != "" {
		ps, err := readOwnShared(own)
		if err != nil {
			return counts, err
		}
		for _, p := range ps {
			sb.WriteString(p.String() + "\n")
		}
		counts.SharedPrefixes += len(ps)
	}
	if err := os.WriteFile(reg.Shared, []byte(sb.String()), 0o600); err != nil {
		return counts, err
	}
	return counts, nil
}

// readOwnShared reads the querier's own shared-space list.
func readOwnShared(path string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	err := readFile(context.Background(), path, registryfile.Shared, nil, func(ft registryfile.Format, r io.Reader) error {
		var asns []uint32
		var err error
		ps, asns, err = registryfile.ReadShared(ft, r, path, nil)
		if err == nil && len(asns) > 0 {
			err = fmt.Errorf("%s: lists autonomous systems, which private matching cannot apply (give prefixes)", path)
		}
		return err
	})
	return ps, err
}

// commitOutputs puts xref's findings.jsonl and rejected.jsonl from tmpOut,
// summary s and psi.json st into out, all at once (package outdir).
func commitOutputs(tmpOut, out string, s *seams.Summary, st any) error {
	d, err := outdir.Open(out, []string{xref.FindingsFile, xref.SummaryFile, xref.RejectedFile, PSIFile})
	if err != nil {
		return err
	}
	defer d.Abort()
	for _, name := range []string{xref.FindingsFile, xref.RejectedFile} {
		if err := os.Rename(filepath.Join(tmpOut, name), d.Path(name)); err != nil {
			return err
		}
	}
	for name, v := range map[string]any{xref.SummaryFile: s, PSIFile: st} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		f, err := atomicfile.Create(d.Path(name))
		if err != nil {
			return err
		}
		if _, err := f.Write(append(b, '\n')); err != nil {
			f.Abort()
			return err
		}
		if err := f.Commit(); err != nil {
			return err
		}
	}
	return d.Commit()
}
