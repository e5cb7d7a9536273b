package xref

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/reportfile"
)

// inputs are the report inputs of a run, each opened once (package input)
// on its first pass and kept open for a second one, so that a second pass
// reads the very files the first did.
type inputs struct {
	names   []string
	stdin   io.Reader // the run's standard input
	regular []bool
	sizes   []int64

	mu    sync.Mutex
	files []*input.File
}

// newInputs plans a run's report inputs from what their names are (stat,
// without opening them): which are regular files.
func newInputs(o *Options) *inputs {
	ins := &inputs{names: o.Reports, stdin: o.Stdin, regular: make([]bool, len(o.Reports)),
		sizes: make([]int64, len(o.Reports)), files: make([]*input.File, len(o.Reports))}
	for i, name := range o.Reports {
		ins.regular[i], ins.sizes[i], _ = input.Stat(name)
	}
	return ins
}

// rereadable reports whether every input can be read a second time.
func (ins *inputs) rereadable() bool {
	for _, r := range ins.regular {
		if !r {
			return false
		}
	}
	return true
}

// open opens input i, or on a second pass rewinds it.
func (ins *inputs) open(ctx context.Context, i int) (*input.File, error) {
	ins.mu.Lock()
	in := ins.files[i]
	ins.mu.Unlock()
	if in != nil {
		if err := in.Rewind(); err != nil {
			return nil, err
		}
		return in, nil
	}
	in, err := input.Open(ctx, ins.names[i], ins.stdin)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	if in.Regular() != ins.regular[i] {
		in.Close()
		return nil, fmt.Errorf("reports: %s: the file changed between the start of the run and its reading (it is no longer the same kind of file)", ins.names[i])
	}
	ins.mu.Lock()
	ins.files[i] = in
	ins.mu.Unlock()
	if testHookOpened != nil {
		testHookOpened(in)
	}
	return in, nil
}

// testHookOpened, when a test sets it, is called with each input just
// opened, before any of it is read.
var testHookOpened func(*input.File)

// interrupt makes a read blocked on a pipe return: the run is over.
func (ins *inputs) interrupt() {
	ins.mu.Lock()
	defer ins.mu.Unlock()
	for _, in := range ins.files {
		if in != nil {
			in.Interrupt()
		}
	}
}

// close closes every input.
func (ins *inputs) close() {
	ins.mu.Lock()
	defer ins.mu.Unlock()
	for i, in := range ins.files {
		if in != nil {
			in.Close()
			ins.files[i] = nil
		}
	}
}

// plainBytes returns the total size of the inputs that are regular files
// of JSON Lines by their names (not compressed, not another format), whose
// number of lines can be estimated from their size. Nothing is read.
func (ins *inputs) plainBytes(f reportfile.Format) int64 {
	var n int64
	for i, name := range ins.names {
		if !ins.regular[i] || input.ByName(name) != input.None {
			continue
		}
		if g := reportfile.Detect(f, name, nil); g == reportfile.JSONL {
			n += ins.sizes[i]
		}
	}
	return n
}
