// Package redact replaces report ids and device identifiers with stable
// keyed pseudonyms, so that a document can travel without them: the same
// id under the same key always gives the same pseudonym (a report named
// twice is recognisably the same, across documents made with one key),
// and without the key a pseudonym cannot be traced back, nor checked
// against a guessed id. A pseudonym is HMAC-SHA-256 under the key of the
// kind of identifier and its value, never an unkeyed hash: report ids and
// device ids are few enough to be guessed and hashed by anyone.
package redact

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/seams-dev/seams"
)

// KeySize is the size of a key in bytes.
const KeySize = 32

// blockType is the PEM block type of a key file.
const blockType = "SEAMS REDACTION KEY"

// Key is a redaction key.
type Key struct{ k [KeySize]byte }

// NewKey returns a new random key.
func NewKey() (*Key, error) {
	var k Key
	if _, err := rand.Read(k.k[:]); err != nil {
		return nil, err
	}
	return &k, nil
}

// Marshal returns the key as a PEM file.
func (k *Key) Marshal() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: k.k[:]})
}

// Parse reads a key file: one PEM block of type SEAMS REDACTION KEY with
// 32 bytes, nothing else.
func Parse(b []byte) (*Key, error) {
	blk, rest := pem.Decode(b)
	switch {
	case blk == nil:
		return nil, errors.New("no PEM block: not a redaction key (make one with: seams key new --redaction --out NAME)")
	case blk.Type != blockType:
		return nil, fmt.Errorf("PEM block %q: not a redaction key (want %q)", blk.Type, blockType)
	case len(blk.Headers) > 0:
		return nil, errors.New("redaction key with PEM headers")
	case len(blk.Bytes) != KeySize:
		return nil, fmt.Errorf("redaction key of %d bytes (want %d)", len(blk.Bytes), KeySize)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block")
	}
	var k Key
	copy(k.k[:], blk.Bytes)
	return &k, nil
}

var enc = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// pseudonym is the first 80 bits of HMAC-SHA-256(key, kind NUL value),
// in lower-case base32 without look-alike letters: 16 characters. Two of
// a billion ids meet by chance with odds of about 1 in 2.4 million.
func (k *Key) pseudonym(kind, value string) string {
	m := hmac.New(sha256.New, k.k[:])
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return enc.EncodeToString(m.Sum(nil)[:10])
}

// Report returns the pseudonym of a report id: "R-" and 16 characters.
func (k *Key) Report(id string) string { return "R-" + k.pseudonym("report", id) }

// Device returns the pseudonym of a device: its type, which says what kind
// of identifier it was and names nobody, and a pseudonym of its value.
// The device of a report and the same device of an indicator get the same
// pseudonym, so a redacted chain still shows that they match.
func (k *Key) Device(d seams.DeviceID) seams.DeviceID {
	return seams.DeviceID{Type: d.Type, Value: "D-" + k.pseudonym("device", d.String())}
}

// ID returns a short fingerprint of the key, to say in a document which
// key made its pseudonyms without revealing the key.
func (k *Key) ID() string {
	m := hmac.New(sha256.New, k.k[:])
	m.Write([]byte("seams redaction key id"))
	return enc.EncodeToString(m.Sum(nil)[:5])
}
