package ordered

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/internal/mapfile"
)

// chunk stands for a chunk of input: its number as the reader made it, and
// what a worker made of it.
type chunk struct {
	n      int
	square int
	worker int
}

// sendAll returns a Read that sends n chunks, then returns err.
func sendAll(n int, err error) func(context.Context, func(*chunk) bool) error {
	return func(_ context.Context, send func(*chunk) bool) error {
		for i := range n {
			if !send(&chunk{n: i}) {
				return nil
			}
		}
		return err
	}
}

// TestWrittenInInputOrder: whatever the workers' timing, the writer gets
// every item once, in the order the reader sent them, each worked on.
func TestWrittenInInputOrder(t *testing.T) {
	for _, workers := range []int{1, 2, 7} {
		var got []int
		var made atomic.Int32
		seen := map[int]bool{} // the workers that worked
		err := Run(context.Background(), Stages[*chunk]{
			Workers: workers,
			Read:    sendAll(1000, nil),
			NewWorker: func() func(*chunk) error {
				id := int(made.Add(1))
				return func(c *chunk) error {
					// Uneven work, so that items finish out of order.
					for range rand.IntN(200) {
						runtime.Gosched()
					}
					c.square, c.worker = c.n*c.n, id
					return nil
				}
			},
			Write: func(c *chunk) error {
				if c.square != c.n*c.n {
					t.Errorf("item %d written before it was worked on", c.n)
				}
				seen[c.worker] = true
				got = append(got, c.n)
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1000 || !slices.IsSorted(got) || got[999] != 999 {
			t.Fatalf("%d workers: wrote %d items, in order: %v", workers, len(got), slices.IsSorted(got))
		}
		if int(made.Load()) != workers {
			t.Errorf("%d workers asked for, %d made", workers, made.Load())
		}
		if workers == 1 && len(seen) != 1 {
			t.Errorf("one worker, items worked by %d", len(seen))
		}
	}
}

// TestNoWorkers: without NewWorker, items go from Read to Write as they are.
func TestNoWorkers(t *testing.T) {
	n := 0
	err := Run(context.Background(), Stages[*chunk]{Read: sendAll(10, nil), Write: func(c *chunk) error {
		if c.n != n {
			t.Errorf("got item %d, want %d", c.n, n)
		}
		n++
		return nil
	}})
	if err != nil || n != 10 {
		t.Fatalf("err %v, %d items written", err, n)
	}
}

// TestErrorsInTheirTurn: an error of any stage ends the run when its item's
// turn comes: everything before it is written, nothing after it.
func TestErrorsInTheirTurn(t *testing.T) {
	bad := errors.New("bad input")
	for _, c := range []struct {
		name    string
		read    error // returned by Read after 50 items
		failAt  int   // the item the worker or writer fails on; -1 none
		inWrite bool
		panics  bool
		written int
		want    string
	}{
		{"read error after 50 items", bad, -1, false, false, 50, "bad input"},
		{"worker error on item 20", nil, 20, false, false, 20, "bad input"},
		{"worker panic on item 20", nil, 20, false, true, 20, "internal error (please report it, with this message) reading file-20: boom"},
		{"writer error on item 30", nil, 30, true, false, 30, "bad input"},
		{"writer panic on item 30", nil, 30, true, true, 30, "reading file-30: boom"},
		{"worker error on the first item", nil, 0, false, false, 0, "bad input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fail := func(ch *chunk) error {
				if ch.n != c.failAt {
					return nil
				}
				if c.panics {
					panic("boom")
				}
				return bad
			}
			written := 0
			err := Run(context.Background(), Stages[*chunk]{
				Workers: 3,
				Read:    sendAll(50, c.read),
				NewWorker: func() func(*chunk) error {
					return func(ch *chunk) error {
						if c.inWrite {
							return nil
						}
						return fail(ch)
					}
				},
				Write: func(ch *chunk) error {
					if c.inWrite {
						if err := fail(ch); err != nil {
							return err
						}
					}
					written++
					return nil
				},
				Name: func(ch *chunk) string { return "file-" + string(rune('0'+ch.n/10)) + string(rune('0'+ch.n%10)) },
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
			if written != c.written {
				t.Errorf("%d items written before the error, want %d", written, c.written)
			}
		})
	}
}

// TestCancelled: a run whose context is cancelled while the reader waits on
// its input ends with the context's cause and interrupts the reader.
func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped by the operator")
	unblock := make(chan struct{})
	var interrupted atomic.Bool
	written := 0
	err := Run(ctx, Stages[*chunk]{
		Workers: 2,
		Read: func(ctx context.Context, send func(*chunk) bool) error {
			for i := range 5 {
				send(&chunk{n: i})
			}
			<-unblock // a pipe that never ends, until interrupted
			return nil
		},
		NewWorker: func() func(*chunk) error { return func(*chunk) error { return nil } },
		Write: func(c *chunk) error {
			written++
			if written == 5 {
				cancel(stop)
			}
			return nil
		},
		Interrupt: func() {
			interrupted.Store(true)
			close(unblock)
		},
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the cause %v", err, stop)
	}
	if !interrupted.Load() || written != 5 {
		t.Errorf("interrupted %v, %d written", interrupted.Load(), written)
	}
}

// TestInFlightBounded: the reader never gets more than InFlight items ahead
// of the writer, however slow the writer is.
func TestInFlightBounded(t *testing.T) {
	for _, workers := range []int{1, 4} {
		var sent, written, most atomic.Int64
		err := Run(context.Background(), Stages[*chunk]{
			Workers: workers,
			Read: func(_ context.Context, send func(*chunk) bool) error {
				for i := range 500 {
					if !send(&chunk{n: i}) {
						return nil
					}
					ahead := sent.Add(1) - written.Load()
					for {
						m := most.Load()
						if ahead <= m || most.CompareAndSwap(m, ahead) {
							break
						}
					}
				}
				return nil
			},
			NewWorker: func() func(*chunk) error { return func(*chunk) error { return nil } },
			Write: func(*chunk) error {
				for range 50 {
					runtime.Gosched() // a slow writer
				}
				written.Add(1)
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if written.Load() != 500 {
			t.Fatalf("%d written", written.Load())
		}
		if m := most.Load(); m > int64(InFlight(workers)) {
			t.Errorf("%d workers: the reader got %d items ahead of the writer, want at most %d", workers, m, InFlight(workers))
		}
	}
}

// TestMemoryFault: a worker reading a mapped file that another program cut
// short meanwhile faults; the run fails saying the input changed, naming
// it, instead of crashing.
func TestMemoryFault(t *testing.T) {
	p := filepath.Join(t.TempDir(), "reports.jsonl")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := mapfile.Open(p)
	if err != nil {
		t.Skip("mapping not supported here:", err)
	}
	defer m.Close()
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	var sum byte
	err = Run(context.Background(), Stages[*chunk]{
		Workers: 1,
		Read:    sendAll(1, nil),
		NewWorker: func() func(*chunk) error {
			return func(*chunk) error {
				sum += m.Data[len(m.Data)-1]
				return nil
			}
		},
		Write: func(*chunk) error { return nil },
		Name:  func(*chunk) string { return p },
	})
	if !errors.Is(err, input.ErrChanged) || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v (sum %d), want input.ErrChanged naming %s", err, sum, p)
	}
}
