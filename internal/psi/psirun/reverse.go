package psirun

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/psi/psinet"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/psi"
	"github.com/seams-dev/seams/reportfile"
	"github.com/seams-dev/seams/xref"
)

// Reports is the reports' holder's source in the reverse direction: its
// report files, read each time a table is built.
type Reports struct {
	Files   []string
	Format  reportfile.Format
	Readers reportfile.ReaderOptions
	// Associated counts the events and devices of associated accounts
	// put in the last table.
	Associated int
}

// Fill adds the events of every report (of two with one id, the first,
// as xref keeps it).
func (r *Reports) Fill(b *psi.Builder) error {
	ids := map[string]struct{}{}
	r.Associated = 0
	for _, name := range r.Files {
		in, err := reportfile.OpenOptions(name, r.Format, nil, r.Readers)
		if err != nil {
			return err
		}
		for {
			rec, err := in.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				in.Close()
				return fmt.Errorf("%s: %w", name, err)
			}
			if rec.Whole != nil {
				continue
			}
			if _, dup := ids[rec.Report.ID]; dup {
				continue
			}
			ids[rec.Report.ID] = struct{}{}
			for _, e := range rec.Report.IPs {
				if e.Associated {
					r.Associated++
				}
			}
			for _, d := range rec.Report.Devices {
				if d.Associated {
					r.Associated++
				}
			}
			if err := b.AddReport(&rec.Report); err != nil {
				in.Close()
				return err
			}
		}
		in.Close()
	}
	return nil
}

// LabelCompounds returns none: the labels are events.
func (r *Reports) LabelCompounds() []seams.Compound { return nil }

// Serves returns "reports".
func (r *Reports) Serves() string { return "reports" }

// RegistryQueryOptions configures the registry holder's run in the
// reverse direction.
type RegistryQueryOptions struct {
	Registry RegistryFiles
	Out      string
	// MaxReportsPerIndicator, LiftCap and MaxRejected are xref's.
	MaxReportsPerIndicator int
	LiftCap                []string
	MaxRejected            int
	InFlight, Batch, Dedup int
	// MaxWindowDays: a window longer than this queries the any-day item
	// instead of its days.
	MaxWindowDays int
	Workers       int
	Logger        *slog.Logger
	Audit         func(psinet.Exchange)
}

// NewRegistryQueryOptions returns the defaults.
func NewRegistryQueryOptions() RegistryQueryOptions {
	q := NewQueryOptions()
	return RegistryQueryOptions{MaxReportsPerIndicator: q.MaxReportsPerIndicator, MaxRejected: -1, InFlight: q.InFlight,
		Dedup: q.Dedup, MaxWindowDays: psi.DefaultMaxWindowDays, Logger: slog.New(slog.DiscardHandler)}
}

// openedEvent is an event the registry's holder learned, with its address
// or device.
type openedEvent struct {
	l     *psi.EventLabel
	value string
}

// QueryRegistry is the reverse direction: the registry's holder queries
// the items of its ip and device indicators (each day of a window, or any
// day, and device-undated) against the reports' holder's table, opens the
// events it holds, and writes what xref --rules device,ip writes over its
// registry and those events: the findings of a cross-reference of the
// reports, as far as they have an event the registry matches.
func QueryRegistry(ctx context.Context, c *psinet.Client, o RegistryQueryOptions) (*QueryResult, error) {
	log := cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	res := &QueryResult{Stats: Stats{Mode: "labels"}}
	st := &res.Stats
	start := time.Now()
	hello, err := c.Hello(ctx)
	if err != nil {
		return nil, err
	}
	if hello.Serves != "reports" {
		return nil, fmt.Errorf("%s serves a registry, not reports: query it with reports (--reports)", hello.Holder)
	}
	table, err := c.Table(ctx)
	if err != nil {
		return nil, err
	}
	if table.Epoch != hello.Epoch {
		return nil, fmt.Errorf("%w: table of epoch %d, hello of %d", psinet.ErrEpochChanged, table.Epoch, hello.Epoch)
	}
	st.Holder, st.Epoch, st.Families, st.LabelFields = hello.Holder, hello.Epoch, table.Families.Names(), []string{}
	st.TableEntries, st.TableLabels = table.Len(), len(table.Labels)
	st.Seconds.Table = time.Since(start).Seconds()
	reg, err := LoadRegistry(ctx, o.Registry, nil, nil)
	if err != nil {
		return nil, err
	}
	start = time.Now()
	found := map[uint32]openedEvent{}
	var mu sync.Mutex
	open := func(item, out []byte) error {
		ls, err := table.OpenEvents(out)
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
			found[l.Index] = openedEvent{l.Label, value}
		}
		return nil
	}
	eo := psi.ExpandOptions{MaxWindowDays: o.MaxWindowDays, Undated: true}
	produce := func(emit func([]byte)) error {
		for i := range reg.Indicators {
			psi.IndicatorItems(nil, &reg.Indicators[i], eo, func(item []byte) {
				if table.Families.Has(psi.Family(item[0])) {
					emit(item)
				}
			})
		}
		return nil
	}
	ex := psinet.Exchange{Peer: hello.Holder, Mode: "labels", Epoch: hello.Epoch, Started: start}
	err = queryItems(ctx, c, hello, o.InFlight, o.Batch, cmp.Or(o.Dedup, 4<<20), produce, open, st, &ex)
	ex.Ended = time.Now()
	ex.Matches, ex.End = st.MatchedItems, "closed"
	if err != nil {
		ex.End = "failed"
	}
	if o.Audit != nil {
		o.Audit(ex)
	}
	if err != nil {
		return nil, err
	}
	res.Exchange = ex
	st.Seconds.Items = time.Since(start).Seconds()
	st.Labels = len(found)
	log.Info("psi items", "items", st.Items, "matched", st.MatchedItems, "events", st.Labels)
	st.BytesSent, st.BytesRecv, st.Peer = c.Sent.Load(), c.Received.Load(), c.Base()

	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o750); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".psi-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	reports := filepath.Join(tmp, "reports.jsonl")
	if err := writeEvents(reports, found); err != nil {
		return nil, err
	}
	x := xref.NewOptions()
	x.Compounds, x.Indicators, x.Shared, x.Reports = o.Registry.Compounds, o.Registry.Indicators, o.Registry.Shared, []string{reports}
	x.Format = reportfile.JSONL
	x.Rules = []seams.Rule{seams.RuleDevice, seams.RuleIP}
	x.MaxReportsPerIndicator, x.LiftCap, x.MaxRejected, x.Workers = o.MaxReportsPerIndicator, o.LiftCap, o.MaxRejected, o.Workers
	x.Out, x.Logger = filepath.Join(tmp, "out"), o.Logger
	xstart := time.Now()
	s, err := xref.Run(ctx, x)
	if err != nil {
		return nil, err
	}
	st.Seconds.Xref = time.Since(xstart).Seconds()
	s.Inputs = slices.DeleteFunc(s.Inputs, func(in seams.InputCount) bool { return strings.HasPrefix(in.File, tmp) })
	s.Parameters.Format = ""
	s.Warnings = slices.DeleteFunc(s.Warnings, func(w string) bool { return strings.Contains(w, tmp) })
	if err := commitOutputs(x.Out, o.Out, s, st); err != nil {
		return nil, err
	}
	res.Summary = s
	return res, nil
}

// writeEvents writes the events learned as reports in JSON Lines: the
// reports in the holder's order, each with its events in their order (ip
// events, then devices). An associated account's event cannot be written
// as one (the format has no field for it): it is written as the suspect's.
func writeEvents(path string, found map[uint32]openedEvent) error {
	evs := make([]openedEvent, 0, len(found))
	for _, e := range found {
		evs = append(evs, e)
	}
	slices.SortFunc(evs, func(a, b openedEvent) int {
		return cmp.Or(cmp.Compare(a.l.ReportOrder, b.l.ReportOrder), cmp.Compare(a.l.Seq, b.l.Seq))
	})
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	var b []byte
	for i := 0; i < len(evs); {
		j := i
		for j < len(evs) && evs[j].l.ReportOrder == evs[i].l.ReportOrder {
			j++
		}
		b = append(b[:0], `{"id":`...)
		b = jsonl.AppendString(b, evs[i].l.Report)
		b = append(b, `,"ips":[`...)
		n := 0
		for _, e := range evs[i:j] {
			if e.l.Kind != seams.KindIP {
				continue
			}
			if n++; n > 1 {
				b = append(b, ',')
			}
			b = append(b, `{"ip":`...)
			b = jsonl.AppendString(b, e.value)
			b = append(b, `,"at":`...)
			b = jsonl.AppendString(b, e.l.At.Format(time.RFC3339Nano))
			if e.l.Event != "" {
				b = append(b, `,"event":`...)
				b = jsonl.AppendString(b, e.l.Event)
			}
			if e.l.Port != 0 {
				b = append(b, `,"port":`...)
				b = strconv.AppendInt(b, int64(e.l.Port), 10)
			}
			if e.l.Proxy {
				b = append(b, `,"proxy":true`...)
			}
			b = append(b, '}')
		}
		b = append(b, `],"devices":[`...)
		n = 0
		for _, e := range evs[i:j] {
			if e.l.Kind != seams.KindDevice {
				continue
			}
			if n++; n > 1 {
				b = append(b, ',')
			}
			typ, val, _ := strings.Cut(e.value, ":")
			b = append(b, `{"type":`...)
			b = jsonl.AppendString(b, typ)
			b = append(b, `,"value":`...)
			b = jsonl.AppendString(b, val)
			if !e.l.At.IsZero() {
				b = append(b, `,"at":`...)
				b = jsonl.AppendString(b, e.l.At.Format(time.RFC3339Nano))
			}
			b = append(b, '}')
		}
		b = append(b, "]}\n"...)
		w.Write(b)
		i = j
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
