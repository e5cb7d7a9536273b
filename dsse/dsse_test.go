package dsse

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The DSSE project's published test vectors (testvectors/vectors.json of
// github.com/secure-systems-lab/dsse): two Ed25519 keys by seed (A is
// RFC 8032's first test key) and envelopes with the PAE they sign and
// whether a verifier must accept them. Copied as values, checked here
// against this package's PAE, Parse and Verify.
var vectorKeys = map[string]string{
	"A": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	"B": "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
}

var vectorPublic = map[string]string{
	"A": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	"B": "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
}

const (
	intoto   = "application/vnd.in-toto+json"
	stmt     = "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ=="
	sigA     = "2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA=="
	sigB     = "c1+67/aT0yqEpwx8PsVY3MLHsj9D0CZ014/Fv/QlG59P+9CobUZ7xECJ/V3USG0Ob9CiE5LjReEZUzNF2l7eBw=="
	paeStmt  = "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d"
	paeExämp = "445353457631203239206170706c69636174696f6e2f766e642e6578c3a46d706c652b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d"
)

func env(payloadType, payload string, sigs ...string) string {
	var s []string
	for i := 0; i+1 < len(sigs); i += 2 {
		if sigs[i] == "" {
			s = append(s, `{"sig":"`+sigs[i+1]+`"}`)
		} else {
			s = append(s, `{"sig":"`+sigs[i+1]+`","keyid":"`+sigs[i]+`"}`)
		}
	}
	return `{"payload":"` + payload + `","payloadType":"` + payloadType + `","signatures":[` + strings.Join(s, ",") + `]}`
}

func TestVectors(t *testing.T) {
	keys := map[string]ed25519.PublicKey{}
	for name, seed := range vectorKeys {
		b, _ := hex.DecodeString(seed)
		k := ed25519.NewKeyFromSeed(b)
		pub := k.Public().(ed25519.PublicKey)
		if hex.EncodeToString(pub) != vectorPublic[name] {
			t.Fatalf("key %s: public key %x, vector says %s", name, pub, vectorPublic[name])
		}
		keys[name] = pub
	}
	tests := []struct {
		id        string
		envelope  string
		trusted   []string
		threshold int
		supported string
		pae       string
		accept    bool
	}{
		{"single-signature", env(intoto, stmt, "A", sigA), []string{"A"}, 1, intoto, paeStmt, true},
		{"url-safe-base64", env(intoto, "-_-_Pj8=", "A", "P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw=="),
			[]string{"A"}, 1, intoto, "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203520fbffbf3e3f", true},
		{"payload-type-swapped", env("application/vnd.example.other+json", stmt, "A", sigA), []string{"A"}, 1, "application/vnd.example.other+json",
			"", false},
		{"non-ascii-payload-type", env("application/vnd.exämple+json", stmt, "A", "xmSk/ug66ysT7ayhkCIjhAq42zgZXSsEWuzUaNL7w2eGAdF/NU6/fRXPtmfN+5DNSAs5/i2lUnHjbbjPsu0tAw=="),
			[]string{"A"}, 1, "application/vnd.exämple+json", paeExämp, true},
		{"empty-payload", env(intoto, "", "A", "gSggCAaTLTYyRH6FIDBem6meyIynsYy8RTHVzwx9tnTb7Bg/1jMWnuVgI/gffqmbsC2VX5/jHfkkDqsj7CDbDg=="),
			[]string{"A"}, 1, intoto, "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203020", true},
		{"empty-payload-type", env("", stmt, "A", "iC3q/+3Rm0+lpAJRueDmDh15PnwCfxKmS0NAfKsbv+zgulXQC/WM9trc+j1XEqlwDIg/vf/uNfebeD6sxInrDg=="),
			[]string{"A"}, 1, intoto, "445353457631203020203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d", false},
		{"threshold-two-distinct-keys", env(intoto, stmt, "A", sigA, "B", sigB), []string{"A", "B"}, 2, intoto, paeStmt, true},
		{"threshold-two-one-key-twice", env(intoto, stmt, "A", sigA, "A", sigA), []string{"A", "B"}, 2, intoto, paeStmt, false},
		{"threshold-two-without-keyids", env(intoto, stmt, "", sigA, "", sigB), []string{"A", "B"}, 2, intoto, paeStmt, true},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			e, err := Parse([]byte(tc.envelope))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if tc.pae != "" {
				if got := hex.EncodeToString(PAE(e.PayloadType, e.Payload)); got != tc.pae {
					t.Errorf("PAE %s, vector %s", got, tc.pae)
				}
			}
			var trusted []ed25519.PublicKey
			for _, n := range tc.trusted {
				trusted = append(trusted, keys[n])
			}
			ok, err := e.Verify(tc.supported, trusted...)
			accepted := err == nil && len(ok) >= tc.threshold
			if accepted != tc.accept {
				t.Errorf("accepted %v (keys %d, err %v), vector expects %v", accepted, len(ok), err, tc.accept)
			}
		})
	}
}

// The protocol's worked example of PAE.
func TestPAEExample(t *testing.T) {
	got := string(PAE("http://example.com/HelloWorld", []byte("hello world")))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; got != want {
		t.Errorf("PAE %q, want %q", got, want)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	pub, priv, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := NewKey()
	body := []byte(`{"a":1}`)
	e, err := Sign("application/vnd.seams.test+json", body, priv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := back.Verify("application/vnd.seams.test+json", other, pub)
	if err != nil || len(ids) != 1 || ids[0] != KeyID(pub) || back.Signatures[0].KeyID != KeyID(pub) {
		t.Fatalf("verify: %v %v", ids, err)
	}
	if _, err := back.Verify("application/vnd.seams.test+json", other); !errors.Is(err, ErrNoValidSignature) {
		t.Errorf("verified under another key: %v", err)
	}
	if _, err := back.Verify("application/vnd.seams.other+json", pub); !errors.Is(err, ErrPayloadType) {
		t.Errorf("accepted under another payload type: %v", err)
	}
	// Any change of the body or the type breaks the signature.
	for i := range back.Payload {
		c := *back
		c.Payload = bytes.Clone(back.Payload)
		c.Payload[i] ^= 1
		if _, err := c.Verify(c.PayloadType, pub); err == nil {
			t.Fatalf("a flipped bit at %d verified", i)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good := env(intoto, stmt, "A", sigA)
	tests := []struct{ name, in, want string }{
		{"not json", `hello`, "not JSON"},
		{"array", `[]`, "want a JSON object"},
		{"no payload", `{"payloadType":"x","signatures":[{"sig":""}]}`, `no "payload"`},
		{"null type", strings.Replace(good, `"payloadType":"`+intoto+`"`, `"payloadType":null`, 1), "payloadType: want a string"},
		{"number payload", strings.Replace(good, `"payload":"`+stmt+`"`, `"payload":5`, 1), "payload: want a string"},
		{"bad base64", strings.Replace(good, stmt, "!!!", 1), "payload: not base64"},
		{"no signatures", env(intoto, stmt), "no signatures"},
		{"sig missing", `{"payload":"","payloadType":"x","signatures":[{"keyid":"k"}]}`, `no "sig"`},
		{"unknown field", strings.Replace(good, `{"payload"`, `{"extra":1,"payload"`, 1), `unknown field "extra"`},
		{"duplicate field", strings.Replace(good, `{"payload"`, `{"payload":"","payload"`, 1), `duplicate field "payload"`},
		{"trailing text", good + "x", "text after"},
		{"second object", good + good, "text after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestKeyFiles(t *testing.T) {
	pub, priv, _ := NewKey()
	pp, _ := MarshalPrivate(priv)
	pb, _ := MarshalPublic(pub)
	gotPriv, err := ParsePrivate(pp)
	if err != nil || !gotPriv.Equal(priv) {
		t.Fatalf("private key round trip: %v", err)
	}
	gotPub, err := ParsePublic(pb)
	if err != nil || !gotPub.Equal(pub) {
		t.Fatalf("public key round trip: %v", err)
	}
	if _, err := ParsePublic(pp); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("a private key read as public: %v", err)
	}
	if _, err := ParsePrivate(append(pp, pp...)); err == nil {
		t.Errorf("two blocks accepted")
	}
	if _, err := ParsePrivate([]byte("x")); err == nil {
		t.Errorf("no block accepted")
	}
}

// FuzzParse holds Parse to never panic, and an envelope it accepts to
// write back as one that parses to the same envelope and verifies as
// the original does.
func FuzzParse(f *testing.F) {
	f.Add([]byte(env(intoto, stmt, "A", sigA)))
	f.Add([]byte(env(intoto, "-_-_Pj8=", "", "P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw==")))
	if m, _ := filepath.Glob("testdata/*.json"); len(m) > 0 {
		for _, p := range m {
			b, _ := os.ReadFile(p)
			f.Add(b)
		}
	}
	seed, _ := hex.DecodeString(vectorKeys["A"])
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("written envelope does not parse: %v\n%s", err, out)
		}
		if back.PayloadType != e.PayloadType || !bytes.Equal(back.Payload, e.Payload) || len(back.Signatures) != len(e.Signatures) {
			t.Fatalf("round trip changed the envelope")
		}
		_, err1 := e.Verify(e.PayloadType, pub)
		_, err2 := back.Verify(back.PayloadType, pub)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("verification changed in the round trip: %v / %v", err1, err2)
		}
	})
}
