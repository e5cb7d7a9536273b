package psi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
)

// Suite is the OPRF suite of the protocol: RFC 9497's ristretto255-SHA512.
var Suite = oprf.SuiteRistretto255

// SuiteName is Suite's identifier, as messages name it.
const SuiteName = "ristretto255-SHA512"

// ElementSize is the size of an encoded group element.
const ElementSize = 32

// Key is the holder's secret key of one epoch. Every tag is bound to its
// epoch: a new key (a new epoch) makes every earlier table and every PRF
// output under the old key useless for matching.
type Key struct {
	Epoch   uint64
	Created time.Time
	sk      *oprf.PrivateKey
	server  oprf.Server
}

// NewKey returns a fresh random key for epoch.
func NewKey(epoch uint64, created time.Time) (*Key, error) {
	sk, err := oprf.GenerateKey(Suite, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new key: %w", err)
	}
	return newKey(epoch, created, sk), nil
}

func newKey(epoch uint64, created time.Time, sk *oprf.PrivateKey) *Key {
	return &Key{Epoch: epoch, Created: created.UTC(), sk: sk, server: oprf.NewServer(Suite, sk)}
}

// keyFile is a key as stored.
type keyFile struct {
	Suite   string    `json:"suite"`
	Epoch   uint64    `json:"epoch"`
	Created time.Time `json:"created"`
	Secret  string    `json:"secret"` // base64 of the scalar
}

// MarshalJSON encodes the key, secret included: store it with mode 0600.
func (k *Key) MarshalJSON() ([]byte, error) {
	s, err := k.sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(keyFile{Suite: SuiteName, Epoch: k.Epoch, Created: k.Created, Secret: base64.StdEncoding.EncodeToString(s)})
}

// ReadKey reads a key written by MarshalJSON.
func ReadKey(r io.Reader) (*Key, error) {
	var f keyFile
	dec := json.NewDecoder(io.LimitReader(r, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if f.Suite != SuiteName {
		return nil, fmt.Errorf("key: suite %q (want %s)", f.Suite, SuiteName)
	}
	s, err := base64.StdEncoding.DecodeString(f.Secret)
	if err != nil {
		return nil, fmt.Errorf("key: secret: %w", err)
	}
	sk := new(oprf.PrivateKey)
	if err := sk.UnmarshalBinary(Suite, s); err != nil {
		return nil, fmt.Errorf("key: secret: %w", err)
	}
	return newKey(f.Epoch, f.Created, sk), nil
}

// FullEvaluate returns the PRF output of item under k, as RFC 9497's
// Evaluate of the server on its own input.
func (k *Key) FullEvaluate(item []byte) ([]byte, error) { return k.server.FullEvaluate(item) }

// ErrElement is the cause of the errors of elements that do not decode or
// are the identity.
var ErrElement = errors.New("invalid group element")

// Evaluate evaluates blinded elements (each ElementSize bytes, in) into
// out, which must be as long: the holder's step of the blinded protocol.
// An element that does not decode, or is the identity, fails the whole
// batch.
func (k *Key) Evaluate(out, in []byte) error {
	if len(in)%ElementSize != 0 || len(out) != len(in) {
		return fmt.Errorf("evaluate: %d bytes of elements: %w", len(in), ErrElement)
	}
	n := len(in) / ElementSize
	req := &oprf.EvaluationRequest{Elements: make([]oprf.Blinded, n)}
	for i := range n {
		e := Suite.Group().NewElement()
		if err := e.UnmarshalBinary(in[i*ElementSize : (i+1)*ElementSize]); err != nil || e.IsIdentity() {
			return fmt.Errorf("evaluate: element %d: %w", i, ErrElement)
		}
		req.Elements[i] = e
	}
	ev, err := k.server.Evaluate(req)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	for i, e := range ev.Elements {
		if err := marshalInto(out[i*ElementSize:(i+1)*ElementSize], e); err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
	}
	return nil
}

func marshalInto(dst []byte, e group.Element) error {
	b, err := e.MarshalBinaryCompress()
	if err != nil {
		return err
	}
	if len(b) != ElementSize {
		return fmt.Errorf("element of %d bytes", len(b))
	}
	copy(dst, b)
	return nil
}
