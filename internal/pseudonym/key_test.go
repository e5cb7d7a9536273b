package pseudonym

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const hexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestParseKey(t *testing.T) {
	tests := []struct {
		name string
		text string
		err  error
	}{
		{"64 digits", hexKey, nil},
		{"with a final newline", hexKey + "\n", nil},
		{"upper case, CRLF, spaces around", "  " + strings.ToUpper(hexKey) + "\r\n", nil},
		{"one digit short", hexKey[:63], ErrKeyFormat},
		{"one digit more", hexKey + "0", ErrKeyFormat},
		{"not hexadecimal", "g" + hexKey[1:], ErrKeyFormat},
		{"two lines", hexKey[:32] + "\n" + hexKey[32:], ErrKeyFormat},
		{"base64 of 32 bytes", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", ErrKeyFormat},
		{"empty", "", ErrKeyFormat},
		{"zeros", strings.Repeat("0", 64), ErrZeroKey},
	}
	for _, tt := range tests {
		k, err := ParseKey([]byte(tt.text))
		if err != tt.err {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		want, _ := hex.DecodeString(hexKey)
		if !bytes.Equal(k.b[:], want) {
			t.Errorf("%s: key %x, want %x", tt.name, k.b, want)
		}
	}
}

// TestKeyNeverPrinted: a key's String, %v and %#v, and those of what is
// made from it, never show its bytes.
func TestKeyNeverPrinted(t *testing.T) {
	k, err := ParseKey([]byte(hexKey))
	if err != nil {
		t.Fatal(err)
	}
	p, r := NewPseudonymizer(k), NewReverser(k)
	for _, s := range []string{k.String(), sprintf("%v", k), sprintf("%#v", k), sprintf("%+v", k),
		sprintf("%v", p), sprintf("%#v", p), sprintf("%v", r), sprintf("%#v", r)} {
		if strings.Contains(s, "0102030405") || strings.Contains(s, "[0 1 2 3") || strings.Contains(s, "\\x01\\x02") {
			t.Errorf("the key shows in %q", s)
		}
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	k, err := NewKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("new key file has mode %04o, want 0600", st.Mode().Perm())
	}
	back, err := ReadKeyFile(path)
	if err != nil || back != k {
		t.Fatalf("read back: %v (same key: %v)", err, back == k)
	}
	if _, err := NewKeyFile(path); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Fatalf("second NewKeyFile on one path: %v, want a refusal", err)
	}
	if again, _ := ReadKeyFile(path); again != k {
		t.Fatal("the refused NewKeyFile changed the key file")
	}
	k2, err := NewKeyFile(filepath.Join(dir, "k2"))
	if err != nil || k2 == k {
		t.Fatalf("two new keys: %v (equal: %v)", err, k2 == k)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("ReadKeyFile of a 0644 file: %v, want a refusal", err)
		}
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("secret-looking text that is no key\n"), 0o600)
	if _, err := ReadKeyFile(bad); err == nil || strings.Contains(err.Error(), "secret-looking") {
		t.Fatalf("ReadKeyFile of a bad file: %v: want an error that does not quote the file", err)
	}
}

// FuzzParseKey: ParseKey accepts exactly 64 hexadecimal digits with white
// space around them (and not all zeros), gives the bytes they spell, and
// never quotes its input in an error.
func FuzzParseKey(f *testing.F) {
	f.Add([]byte(hexKey + "\n"))
	f.Add([]byte(strings.Repeat("0", 64)))
	f.Add([]byte(" " + strings.ToUpper(hexKey)))
	f.Add([]byte("zz"))
	f.Fuzz(func(t *testing.T, text []byte) {
		k, err := ParseKey(text)
		trimmed := bytes.Trim(text, " \t\r\n")
		want, derr := hex.DecodeString(string(trimmed))
		ok := derr == nil && len(want) == KeySize && !bytes.Equal(want, make([]byte, KeySize))
		if (err == nil) != ok {
			t.Fatalf("ParseKey(%q): err %v, want ok=%v", text, err, ok)
		}
		if err == nil && !bytes.Equal(k.b[:], want) {
			t.Fatalf("ParseKey(%q) = %x, want %x", text, k.b, want)
		}
		if err != nil && len(trimmed) > 3 && strings.Contains(err.Error(), string(trimmed)) {
			t.Fatalf("the error %q quotes the input", err)
		}
	})
}
