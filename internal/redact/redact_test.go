package redact

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
)

func TestPseudonyms(t *testing.T) {
	a, _ := NewKey()
	b, _ := NewKey()
	back, err := Parse(a.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if a.Report("r-1") != back.Report("r-1") {
		t.Error("the same key read back gives another pseudonym")
	}
	if a.Report("r-1") == b.Report("r-1") {
		t.Error("two keys give the same pseudonym")
	}
	if a.Report("r-1") == a.Report("r-2") {
		t.Error("two ids give the same pseudonym")
	}
	d := seams.DeviceID{Type: "imei", Value: "358240051111110"}
	p := a.Device(d)
	if p.Type != "imei" || strings.Contains(p.Value, "358240051111110") || !strings.HasPrefix(p.Value, "D-") {
		t.Errorf("device pseudonym %v", p)
	}
	// A report id equal to a device's text does not share its pseudonym.
	if a.Report(d.String()) == "R-"+strings.TrimPrefix(p.Value, "D-") {
		t.Error("kinds are not separated")
	}
	// It is keyed: not the unkeyed SHA-256 of the id.
	sum := sha256.Sum256([]byte("report\x00r-1"))
	if strings.Contains(a.Report("r-1"), enc.EncodeToString(sum[:10])) {
		t.Error("pseudonym is an unkeyed hash")
	}
	m := hmac.New(sha256.New, a.k[:])
	m.Write([]byte("report\x00r-1"))
	if a.Report("r-1") != "R-"+enc.EncodeToString(m.Sum(nil)[:10]) {
		t.Error("pseudonym is not HMAC-SHA-256 of kind NUL value")
	}
}

func TestParseRefuses(t *testing.T) {
	k, _ := NewKey()
	good := k.Marshal()
	for name, in := range map[string][]byte{
		"empty":       nil,
		"other block": bytes.Replace(good, []byte("SEAMS REDACTION KEY"), []byte("PRIVATE KEY"), 2),
		"two blocks":  append(bytes.Clone(good), good...),
		"short":       []byte("-----BEGIN SEAMS REDACTION KEY-----\nAAAA\n-----END SEAMS REDACTION KEY-----\n"),
	} {
		if _, err := Parse(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParse holds Parse to never panic and a key it accepts to write back
// as the same key.
func FuzzParse(f *testing.F) {
	k, _ := NewKey()
	f.Add(k.Marshal())
	f.Add([]byte("-----BEGIN SEAMS REDACTION KEY-----\nAAAA\n-----END SEAMS REDACTION KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Parse(b)
		if err != nil {
			return
		}
		back, err := Parse(k.Marshal())
		if err != nil || back.k != k.k {
			t.Fatalf("round trip: %v", err)
		}
	})
}
