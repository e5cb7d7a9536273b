package psirun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/psi/psinet"
	"github.com/seams-dev/seams/psi"
	"github.com/seams-dev/seams/reportfile"
)

// CountOptions configures a querier's count-only run.
type CountOptions struct {
	Reports []string
	Format  reportfile.Format
	Readers reportfile.ReaderOptions
	Shared  string // the querier's own shared-space list, with the holder's
	Stdin   io.Reader
	Logger  *slog.Logger
	Audit   func(psinet.Exchange)
}

// CountResult is what a count-only run learns, written as count.json.
type CountResult struct {
	Holder string `json:"holder"`
	Epoch  uint64 `json:"epoch"`
	// Reports are the reports read and accepted (of two with one id,
	// the first); Groups those with an
	// item, sent as a group; TooLarge those with more than psi.MaxGroup
	// distinct items, not counted.
	Reports          int                   `json:"reports"`
	Groups           int                   `json:"groups"`
	TooLarge         int                   `json:"too_large"`
	Duplicates       int                   `json:"duplicates"` // reports whose id an earlier one has, not counted
	Elements         int                   `json:"elements"`   // sent, padding included
	TiedReports      int                   `json:"tied_reports"`
	PotentialReports int                   `json:"potential_reports"`
	ByCompound       []seams.CompoundCount `json:"by_compound"`
	From             string                `json:"from"` // the span of days of the items
	To               string                `json:"to"`
	BytesSent        int64                 `json:"bytes_sent"`
	BytesRecv        int64                 `json:"bytes_received"`
	Seconds          float64               `json:"seconds"`
}

// Count runs a count-only session: how many of the reports would be tied
// or potentially associated per compound (rules device and ip, at day
// granularity, without the over-correlation cap), and not which.
func Count(ctx context.Context, c *psinet.Client, o CountOptions) (*CountResult, error) {
	start := time.Now()
	hello, err := c.Hello(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(hello.Modes, "count") {
		return nil, fmt.Errorf("the holder does not allow count sessions to this peer")
	}
	shared, err := c.Shared(ctx)
	if err != nil {
		return nil, err
	}
	if o.Shared != "" {
		own, err := readOwnShared(o.Shared)
		if err != nil {
			return nil, err
		}
		shared = append(shared, own...)
	}
	weak := newSharedSet(shared)
	strongS, weakS := psi.NewCountSecret(), psi.NewCountSecret()
	res := &CountResult{Holder: hello.Holder, Epoch: hello.Epoch}
	req := &psi.CountRequest{From: 1<<31 - 1, To: -1 << 31}
	ids := map[string]struct{}{} // a repeated id is rejected by xref: the first stands
	for _, name := range o.Reports {
		in, err := reportfile.OpenOptions(name, o.Format, o.Stdin, o.Readers)
		if err != nil {
			return nil, err
		}
		for {
			rec, err := in.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				in.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if rec.Whole != nil {
				continue
			}
			if _, dup := ids[rec.Report.ID]; dup {
				res.Duplicates++
				continue
			}
			ids[rec.Report.ID] = struct{}{}
			res.Reports++
			s, w := psi.CountReportItems(&rec.Report, func(e *seams.IPEvent) bool { return weak.contains(e.Addr) })
			if len(s)+len(w) == 0 {
				continue
			}
			for _, it := range append(s, w...) {
				if d, ok := psi.ItemDay(it); ok {
					req.From, req.To = min(req.From, d), max(req.To, d)
				}
			}
			g, err := psi.CountGroup(s, w, strongS, weakS)
			if err != nil {
				in.Close()
				return nil, err
			}
			if g == nil {
				res.TooLarge++
				continue
			}
			req.Sizes = append(req.Sizes, len(g)/psi.ElementSize)
			req.Elements = append(req.Elements, g...)
		}
		in.Close()
	}
	if req.From > req.To { // no dated item: undated devices only, or nothing
		req.From, req.To = 0, 0
	}
	res.Groups, res.Elements = len(req.Sizes), len(req.Elements)/psi.ElementSize
	res.From, res.To = req.From.String(), req.To.String()
	ex := psinet.Exchange{Peer: hello.Holder, Mode: "count", Epoch: hello.Epoch, Items: res.Elements, Batches: 1, Reports: res.Groups, Started: start}
	resp, err := c.Count(ctx, req)
	ex.Ended = time.Now()
	if err != nil {
		ex.End = "failed"
		if o.Audit != nil {
			o.Audit(ex)
		}
		return nil, err
	}
	t, err := psi.TallyCount(resp, strongS, weakS, 0)
	if err != nil {
		return nil, err
	}
	res.TiedReports, res.PotentialReports, res.ByCompound = t.TiedReports, t.PotentialReports, t.ByCompound
	if res.ByCompound == nil {
		res.ByCompound = []seams.CompoundCount{}
	}
	ex.Matches, ex.End = t.TiedReports+t.PotentialReports, "closed"
	if o.Audit != nil {
		o.Audit(ex)
	}
	res.BytesSent, res.BytesRecv = c.Sent.Load(), c.Received.Load()
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
