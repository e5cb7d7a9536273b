package psi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// The sizes of a table entry: a tag, then a sealed pointer (the label's
// index and the key that opens it, XORed with a pad only the item's PRF
// output gives).
const (
	TagSize     = 16
	LabelKeyLen = 16
	pointerSize = 4 + LabelKeyLen
	EntrySize   = TagSize + pointerSize
)

// Tag identifies an entry of a table: derived from an item's PRF output,
// the epoch and the entry's rank among the entries of the same item.
type Tag [TagSize]byte

// entryInfo is the HKDF info of the entry of rank k of an item in epoch e:
// tags of different epochs, and of different entries of one item, are
// unrelated.
func entryInfo(epoch uint64, k uint32) string {
	b := make([]byte, 0, 32)
	b = append(b, "seams-psi/1 entry"...)
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = binary.BigEndian.AppendUint32(b, k)
	return string(b)
}

// entryKeys derives the tag and the pointer pad of the entry of rank k of
// an item whose PRF output is out (HKDF-Expand with SHA-256, the output as
// the pseudorandom key: it is a SHA-512 hash, uniform).
func entryKeys(out []byte, epoch uint64, k uint32) (tag Tag, pad [pointerSize]byte) {
	b, err := hkdf.Expand(sha256.New, out, entryInfo(epoch, k), EntrySize)
	if err != nil {
		panic(err) // only for lengths HKDF cannot give; EntrySize is small
	}
	copy(tag[:], b)
	copy(pad[:], b[TagSize:])
	return tag, pad
}

// sealEntry returns the entry of rank k of an item with PRF output out,
// pointing at label index with its key.
func sealEntry(out []byte, epoch uint64, k uint32, index uint32, key *[LabelKeyLen]byte) [EntrySize]byte {
	tag, pad := entryKeys(out, epoch, k)
	var e [EntrySize]byte
	copy(e[:], tag[:])
	binary.BigEndian.PutUint32(e[TagSize:], index)
	copy(e[TagSize+4:], key[:])
	for i := range pad {
		e[TagSize+i] ^= pad[i]
	}
	return e
}

// openPointer returns the label index and key of an entry whose pad is
// pad.
func openPointer(e []byte, pad *[pointerSize]byte) (index uint32, key [LabelKeyLen]byte) {
	var p [pointerSize]byte
	for i := range p {
		p[i] = e[TagSize+i] ^ pad[i]
	}
	copy(key[:], p[4:])
	return binary.BigEndian.Uint32(p[:4]), key
}

// labelAAD binds a sealed label to its epoch and index.
func labelAAD(epoch uint64, index uint32) []byte {
	b := append([]byte{}, "seams-psi/1 label"...)
	b = binary.BigEndian.AppendUint64(b, epoch)
	return binary.BigEndian.AppendUint32(b, index)
}

// Each label has a key of its own, used once: the nonce can be fixed.
var zeroNonce = make([]byte, 12)

// sealLabel seals a label's plaintext with AES-128-GCM under key.
func sealLabel(key *[LabelKeyLen]byte, epoch uint64, index uint32, plain []byte) []byte {
	a, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(a)
	if err != nil {
		panic(err)
	}
	return g.Seal(nil, zeroNonce, plain, labelAAD(epoch, index))
}

// ErrOpen is returned for a sealed label that its key does not open: a
// tampered table, or an entry that is not the querier's.
var ErrOpen = errors.New("label does not open")

// openLabel opens a sealed label.
func openLabel(key *[LabelKeyLen]byte, epoch uint64, index uint32, sealed []byte) ([]byte, error) {
	a, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(a)
	if err != nil {
		return nil, err
	}
	p, err := g.Open(nil, zeroNonce, sealed, labelAAD(epoch, index))
	if err != nil {
		return nil, fmt.Errorf("label %d: %w", index, ErrOpen)
	}
	return p, nil
}
