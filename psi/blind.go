package psi

import (
	"fmt"

	"github.com/cloudflare/circl/oprf"
)

// Blinded is a batch of the querier's items, blinded: the elements to send
// (Elements, ElementSize bytes each), and what Finalize needs to turn the
// holder's evaluations into PRF outputs.
type Blinded struct {
	Elements []byte
	fin      *oprf.FinalizeData
	n        int
}

var client = oprf.NewClient(Suite)

// Blind blinds items with fresh random scalars: the querier's first step.
func Blind(items [][]byte) (*Blinded, error) {
	fin, req, err := client.Blind(items)
	if err != nil {
		return nil, fmt.Errorf("blind: %w", err)
	}
	b := &Blinded{Elements: make([]byte, len(items)*ElementSize), fin: fin, n: len(items)}
	for i, e := range req.Elements {
		if err := marshalInto(b.Elements[i*ElementSize:(i+1)*ElementSize], e); err != nil {
			return nil, fmt.Errorf("blind: %w", err)
		}
	}
	return b, nil
}

// Finalize turns the holder's evaluations of the batch (ElementSize bytes
// each, in order) into the PRF outputs of the items.
func (b *Blinded) Finalize(evaluated []byte) ([][]byte, error) {
	if len(evaluated) != b.n*ElementSize {
		return nil, fmt.Errorf("finalize: %d bytes of evaluations for %d items", len(evaluated), b.n)
	}
	ev := &oprf.Evaluation{Elements: make([]oprf.Evaluated, b.n)}
	for i := range b.n {
		e := Suite.Group().NewElement()
		if err := e.UnmarshalBinary(evaluated[i*ElementSize : (i+1)*ElementSize]); err != nil || e.IsIdentity() {
			return nil, fmt.Errorf("finalize: evaluation %d: %w", i, ErrElement)
		}
		ev.Elements[i] = e
	}
	out, err := client.Finalize(b.fin, ev)
	if err != nil {
		return nil, fmt.Errorf("finalize: %w", err)
	}
	return out, nil
}
