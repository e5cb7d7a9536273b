// Package dsse signs and verifies payloads in the Dead Simple Signing
// Envelope (DSSE) of the in-toto and Sigstore projects, with Ed25519 keys:
//
//	{"payloadType": TYPE, "payload": BASE64(BODY),
//	 "signatures": [{"keyid": KEYID, "sig": BASE64(SIG)}]}
//
// where SIG signs PAE(TYPE, BODY) = "DSSEv1" SP LEN(TYPE) SP TYPE SP
// LEN(BODY) SP BODY, lengths in ASCII decimal bytes (the DSSE protocol,
// version 1.0.0). The keyid is a hint, never trusted: a signature counts
// only when it verifies under a key the verifier was given.
//
// Keys are kept in PEM files: the private key as PKCS #8 ("PRIVATE KEY"),
// the public key as PKIX ("PUBLIC KEY"), the forms OpenSSL reads. A key's
// id is the hex SHA-256 of its PKIX encoding.
package dsse

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Envelope is a DSSE envelope. Payload holds the decoded body.
type Envelope struct {
	PayloadType string
	Payload     []byte
	Signatures  []Signature
}

// Signature is one signature of an envelope.
type Signature struct {
	KeyID string // a hint; may be empty
	Sig   []byte
}

// Errors of Verify that callers branch on.
var (
	// ErrNoValidSignature: no signature verifies under a given key.
	ErrNoValidSignature = errors.New("no signature verifies under the given key")
	// ErrPayloadType: the envelope's payload type is not the one expected.
	ErrPayloadType = errors.New("unexpected payload type")
)

// PAE returns the pre-authentication encoding of a payload type and body,
// the bytes a DSSE signature signs.
func PAE(payloadType string, body []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(body))
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, ' ')
	return append(b, body...)
}

// Sign returns an envelope of body with one signature by key.
func Sign(payloadType string, body []byte, key ed25519.PrivateKey) (*Envelope, error) {
	if payloadType == "" {
		return nil, errors.New("dsse: empty payload type")
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("dsse: not an Ed25519 private key")
	}
	pub := key.Public().(ed25519.PublicKey)
	return &Envelope{
		PayloadType: payloadType,
		Payload:     bytes.Clone(body),
		Signatures:  []Signature{{KeyID: KeyID(pub), Sig: ed25519.Sign(key, PAE(payloadType, body))}},
	}, nil
}

// Verify checks that at least one signature of e verifies under one of
// keys and that e's payload type is payloadType. It returns the ids of the
// keys whose signature verified (each once), in the order of keys.
// Signatures that verify under no key are skipped, as the protocol says:
// an envelope may carry signatures for other verifiers.
func (e *Envelope) Verify(payloadType string, keys ...ed25519.PublicKey) ([]string, error) {
	pae := PAE(e.PayloadType, e.Payload)
	var ok []string
	for _, k := range keys {
		if len(k) != ed25519.PublicKeySize {
			continue
		}
		for _, s := range e.Signatures {
			if ed25519.Verify(k, pae, s.Sig) {
				ok = append(ok, KeyID(k))
				break
			}
		}
	}
	if len(ok) == 0 {
		return nil, ErrNoValidSignature
	}
	// The type is checked after the signature, as the protocol orders it:
	// an attacker's envelope is refused for its signature first.
	if e.PayloadType != payloadType {
		return ok, fmt.Errorf("%w %q (want %q)", ErrPayloadType, e.PayloadType, payloadType)
	}
	return ok, nil
}

// KeyID returns the id of a public key: the hex SHA-256 of its PKIX (DER)
// encoding.
func KeyID(pub ed25519.PublicKey) string {
	der, err := marshalPublic(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// envelopeJSON is the envelope as written.
type envelopeJSON struct {
	PayloadType string          `json:"payloadType"`
	Payload     string          `json:"payload"`
	Signatures  []signatureJSON `json:"signatures"`
}

type signatureJSON struct {
	KeyID string `json:"keyid,omitempty"`
	Sig   string `json:"sig"`
}

// MarshalJSON writes the envelope with standard base64, as the DSSE
// envelope specification recommends.
func (e *Envelope) MarshalJSON() ([]byte, error) {
	out := envelopeJSON{PayloadType: e.PayloadType, Payload: base64.StdEncoding.EncodeToString(e.Payload), Signatures: []signatureJSON{}}
	for _, s := range e.Signatures {
		out.Signatures = append(out.Signatures, signatureJSON{KeyID: s.KeyID, Sig: base64.StdEncoding.EncodeToString(s.Sig)})
	}
	return json.Marshal(out)
}

// MaxEnvelope is the largest envelope Parse reads, in bytes.
const MaxEnvelope = 256 << 20

// Parse reads a JSON envelope. Base64 may be standard or URL-safe, padded
// or not (verifiers must accept either alphabet). It refuses what is not
// an envelope: another JSON value, missing fields, fields of the wrong
// type, a payload type that is not UTF-8, no signatures, undecodable
// base64, duplicate keys or text after the object. Errors name the field.
func Parse(b []byte) (*Envelope, error) {
	if len(b) > MaxEnvelope {
		return nil, fmt.Errorf("envelope of %d bytes is larger than %d", len(b), MaxEnvelope)
	}
	var raw map[string]json.RawMessage
	if err := strictObject(b, &raw); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	var e envelopeJSON
	for _, k := range []string{"payloadType", "payload", "signatures"} {
		if _, ok := raw[k]; !ok {
			return nil, fmt.Errorf("not a DSSE envelope: no %q", k)
		}
	}
	for k := range raw {
		switch k {
		case "payloadType", "payload", "signatures":
		default:
			return nil, fmt.Errorf("DSSE envelope: unknown field %q", k)
		}
	}
	var err error
	if e.PayloadType, err = jsonString(raw["payloadType"]); err != nil {
		return nil, fmt.Errorf("DSSE envelope: payloadType: %w", err)
	}
	if e.Payload, err = jsonString(raw["payload"]); err != nil {
		return nil, fmt.Errorf("DSSE envelope: payload: %w", err)
	}
	var sigs []json.RawMessage
	if err := json.Unmarshal(raw["signatures"], &sigs); err != nil {
		return nil, fmt.Errorf("DSSE envelope: signatures: want an array")
	}
	if !utf8.ValidString(e.PayloadType) {
		return nil, fmt.Errorf("DSSE envelope: payloadType is not UTF-8")
	}
	out := &Envelope{PayloadType: e.PayloadType}
	if out.Payload, err = decodeBase64(e.Payload); err != nil {
		return nil, fmt.Errorf("DSSE envelope: payload: %w", err)
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("DSSE envelope: no signatures")
	}
	for i, r := range sigs {
		var sm map[string]json.RawMessage
		if err := strictObject(r, &sm); err != nil {
			return nil, fmt.Errorf("DSSE envelope: signatures[%d]: %w", i, err)
		}
		var s signatureJSON
		for k, v := range sm {
			var dst *string
			switch k {
			case "keyid":
				dst = &s.KeyID
			case "sig":
				dst = &s.Sig
			default:
				return nil, fmt.Errorf("DSSE envelope: signatures[%d]: unknown field %q", i, k)
			}
			if *dst, err = jsonString(v); err != nil {
				return nil, fmt.Errorf("DSSE envelope: signatures[%d].%s: %w", i, k, err)
			}
		}
		if _, ok := sm["sig"]; !ok {
			return nil, fmt.Errorf("DSSE envelope: signatures[%d]: no \"sig\"", i)
		}
		sig, err := decodeBase64(s.Sig)
		if err != nil {
			return nil, fmt.Errorf("DSSE envelope: signatures[%d].sig: %w", i, err)
		}
		out.Signatures = append(out.Signatures, Signature{KeyID: s.KeyID, Sig: sig})
	}
	return out, nil
}

// strictObject decodes one JSON object into v, refusing duplicate keys
// (two readers could otherwise see two envelopes in one file) and
// anything after it.
func strictObject(b []byte, v *map[string]json.RawMessage) error {
	d := json.NewDecoder(bytes.NewReader(b))
	t, err := d.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if t != json.Delim('{') {
		return errors.New("want a JSON object")
	}
	m := map[string]json.RawMessage{}
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			return fmt.Errorf("not JSON: %v", err)
		}
		k := kt.(string)
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return fmt.Errorf("not JSON: %v", err)
		}
		if _, dup := m[k]; dup {
			return fmt.Errorf("duplicate field %q", k)
		}
		m[k] = raw
	}
	if _, err := d.Token(); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if _, err := d.Token(); err == nil {
		return errors.New("text after the JSON object")
	}
	if d.InputOffset() < int64(len(bytes.TrimRight(b, " \t\r\n"))) {
		return errors.New("text after the JSON object")
	}
	*v = m
	return nil
}

// jsonString decodes a JSON string, refusing null and every other type
// (which json.Unmarshal into a string would leave empty or refuse).
func jsonString(raw json.RawMessage) (string, error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", errors.New("want a string")
	}
	return s, nil
}

// decodeBase64 accepts standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
