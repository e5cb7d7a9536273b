package pseudonym

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// KeySize is the size of a key: 32 random bytes.
const KeySize = 32

// Key is the secret that partners share: 32 random bytes, from which the
// address key (Crypto-PAn) and the device key (HMAC-SHA-256) are derived.
// Its String method never shows it.
type Key struct{ b [KeySize]byte }

// String returns a placeholder: a key is never printed or logged.
func (Key) String() string { return "[pseudonym key]" }

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

// Errors of ParseKey. None quotes the file: it may hold a key.
var (
	ErrKeyFormat = errors.New("want one line of 64 hexadecimal digits (32 bytes), as seams pseudonymize --new-key writes")
	ErrZeroKey   = errors.New("the key is all zeros: not a random key")
)

// ParseKey parses the text of a key file: 64 hexadecimal digits (either
// case), with white space (a final newline) around them and nothing else.
func ParseKey(text []byte) (Key, error) {
	start, end := 0, len(text)
	for start < end && isSpace(text[start]) {
		start++
	}
	for end > start && isSpace(text[end-1]) {
		end--
	}
	t := text[start:end]
	var k Key
	if len(t) != 2*KeySize {
		return Key{}, ErrKeyFormat
	}
	if _, err := hex.Decode(k.b[:], t); err != nil {
		return Key{}, ErrKeyFormat
	}
	if k.b == [KeySize]byte{} {
		return Key{}, ErrZeroKey
	}
	return k, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// ReadKeyFile reads a key file. On systems with Unix permissions, a file
// that others than its owner can read, write or run is refused, as ssh
// refuses such a private key: whoever can read it can undo every pseudonym
// made with it.
func ReadKeyFile(path string) (Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return Key{}, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Key{}, fmt.Errorf("key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Key{}, fmt.Errorf("key file %s: not a regular file", path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return Key{}, fmt.Errorf("key file %s: others than its owner have access (mode %04o): run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	text := make([]byte, 4*KeySize)
	n, err := f.Read(text)
	if err != nil && n == 0 {
		return Key{}, fmt.Errorf("key file %s: %w", path, err)
	}
	k, err := ParseKey(text[:n])
	if err != nil {
		return Key{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// NewKeyFile writes a new random key (crypto/rand) to path, with mode 0600,
// and returns it. An existing file is never overwritten: the pseudonyms
// made with the key it holds could no longer be reversed.
func NewKeyFile(path string) (Key, error) {
	var k Key
	if _, err := rand.Read(k.b[:]); err != nil {
		return Key{}, fmt.Errorf("new key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return Key{}, fmt.Errorf("key file %s exists: seams never overwrites a key (what was pseudonymised with it could no longer be reversed)", path)
	}
	if err != nil {
		return Key{}, fmt.Errorf("new key: %w", err)
	}
	text := make([]byte, 0, 2*KeySize+1)
	text = hex.AppendEncode(text, k.b[:])
	text = append(text, '\n')
	if _, err := f.Write(text); err != nil {
		f.Close()
		os.Remove(path)
		return Key{}, fmt.Errorf("new key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return Key{}, fmt.Errorf("new key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return Key{}, fmt.Errorf("new key %s: %w", path, err)
	}
	return k, nil
}
