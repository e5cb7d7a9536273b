// Package ordered is the pipeline both engines are built on, seams xref
// over reports and seams derive over observations, all its goroutines and
// channels in this file:
//
//	read (1 goroutine)  ->  work (Workers goroutines)  ->  write (the caller's goroutine)
//
// The reader cuts its inputs into items (chunks of whole lines, batches of
// parsed records) and sends them in order. Workers take any item and do
// what depends on no other item: parse, match, encode. The writer takes
// the items back in the order they were sent, whatever the timing, and
// does the only order-dependent work (checks across items, tallies,
// writes), so that the output is in input order. At most InFlight(Workers)
// items exist at once, which bounds memory.
//
// A panic in a stage becomes the run's error instead of a crash, and a
// memory fault in a worker or the writer (a mapped input cut short by
// another program while it is read) becomes a panic first (see
// debug.SetPanicOnFault), so that it is reported as input.ErrChanged.
package ordered

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/seams-dev/seams/internal/input"
)

// Stages are what a pipeline over items of type T does in each stage.
// Only Read and Write are required.
type Stages[T any] struct {
	// Workers is the number of worker goroutines; 0 or less means
	// GOMAXPROCS.
	Workers int
	// Read runs on a goroutine of its own and sends the items in order.
	// send returns false when the run is over (it failed or was
	// cancelled); Read should return then. An error Read returns ends the
	// run when its turn comes: after the items sent before it are
	// written. Run does not wait for Read to return (it may be blocked
	// reading a pipe that never ends; see Interrupt).
	Read func(ctx context.Context, send func(T) bool) error
	// NewWorker returns the work of one worker goroutine, called with
	// each item that worker takes. Each worker has its own, so that it
	// keeps state (a parser, a matcher, scratch buffers) without locks.
	// An error it returns ends the run when the item's turn comes. nil:
	// items go from Read to Write as they are.
	NewWorker func() func(T) error
	// Write is called on the caller's goroutine with each item, in the
	// order Read sent them; an error ends the run. Write owns the item
	// from then on (to recycle it, say).
	Write func(T) error
	// Name names the input an item was read from, for the error of a
	// panic while it was worked on or written; nil: "input".
	Name func(T) string
	// Interrupt, if set, is called when the run ends, before Run waits
	// for the workers, to unblock a Read waiting on its input.
	Interrupt func()
}

// InFlight is the most items a pipeline of n workers holds at once: two
// per worker keep every worker busy while the writer catches up, and two
// more cover the reader and the writer.
func InFlight(workers int) int { return 2*workers + 2 }

// item is an item on its way through the pipeline, numbered by the reader.
type item[T any] struct {
	seq int
	v   T
	err error // a read error, or the worker's; it ends the run when its turn comes
}

// Run runs the pipeline until Read is done and every item is written, or
// until a stage fails or ctx is cancelled. When it returns, no worker is
// running.
func Run[T any](ctx context.Context, s Stages[T]) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	inFlight := InFlight(workers)
	p := &pipe[T]{s: s,
		slots:   make(chan struct{}, inFlight), // a slot per item in flight
		jobs:    make(chan item[T], inFlight),
		results: make(chan item[T], inFlight), // never blocks: at most inFlight items exist
	}
	go p.read(ctx)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(ctx)
		}()
	}
	go func() { wg.Wait(); close(p.results) }()
	// However Run returns, it waits for the workers, which may still be
	// reading an input the caller releases once Run has returned. It does
	// not wait for the reader, which may be blocked on a pipe that never
	// ends: it interrupts what it can, and the reader stops at its next
	// send.
	defer func() {
		cancel()
		if s.Interrupt != nil {
			s.Interrupt()
		}
		wg.Wait()
	}()
	return p.writeInOrder(ctx)
}

// pipe is a running pipeline: the stages and the channels between them.
type pipe[T any] struct {
	s             Stages[T]
	slots         chan struct{}
	jobs, results chan item[T]
}

// read is the reader goroutine: it numbers the items Read sends and hands
// them to the workers, a slot each; Read's error goes last, as an item of
// its own.
func (p *pipe[T]) read(ctx context.Context) {
	defer close(p.jobs)
	seq := 0
	send := func(it item[T]) bool {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		it.seq = seq
		seq++
		p.jobs <- it // never blocks: it holds a slot
		return true
	}
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = Recovered("input", v)
			}
		}()
		return p.s.Read(ctx, func(v T) bool { return send(item[T]{v: v}) })
	}()
	if err != nil {
		send(item[T]{err: err})
	}
}

// work is a worker goroutine: it works on items until the reader is done
// or the run is over.
func (p *pipe[T]) work(ctx context.Context) {
	// A mapped input truncated by another program while it is read
	// faults; make that a panic, recovered into the item's error.
	debug.SetPanicOnFault(true)
	var fn func(T) error
	if p.s.NewWorker != nil {
		fn = p.s.NewWorker()
	}
	for {
		var it item[T]
		var ok bool
		select {
		case it, ok = <-p.jobs:
		case <-ctx.Done():
			return
		}
		if !ok {
			return // the reader is done
		}
		if it.err == nil && fn != nil {
			it.err = p.safely(fn, it.v)
		}
		p.results <- it
	}
}

// writeInOrder takes the workers' results back into the reader's order
// and writes them.
func (p *pipe[T]) writeInOrder(ctx context.Context) error {
	pending := map[int]item[T]{}
	next := 0
	for {
		var it item[T]
		var ok bool
		select {
		case it, ok = <-p.results:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if !ok {
			break // every worker is done
		}
		pending[it.seq] = it
		for {
			it, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if it.err != nil {
				return it.err
			}
			if err := p.safely(p.s.Write, it.v); err != nil {
				return err
			}
			<-p.slots
		}
	}
	return ctx.Err()
}

// safely calls fn with v, turning a panic, or a memory fault reading a
// mapped input, into an error.
func (p *pipe[T]) safely(fn func(T) error, v T) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			name := "input"
			if p.s.Name != nil {
				name = p.s.Name(v)
			}
			err = Recovered(name, r)
		}
	}()
	return fn(v)
}

// Recovered turns what a goroutine reading input name recovered from a
// panic into an error: a memory fault reading a mapped input is the file
// cut short under the run (input.ErrChanged); anything else is a bug,
// reported as one (not as a crash, whose exit status would look like a
// usage error's).
func Recovered(name string, v any) error {
	if _, fault := v.(interface{ Addr() uintptr }); fault {
		return ChangedError(name, v)
	}
	return fmt.Errorf("internal error (please report it, with this message) reading %s: %v\n%s", name, v, debug.Stack())
}

// ChangedError is the error of a memory fault in a mapped input: the file
// was cut short while it was being read.
func ChangedError(name string, fault any) error {
	return fmt.Errorf("%s: %w (it was cut short: %v)", name, input.ErrChanged, fault)
}
