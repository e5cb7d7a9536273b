// Package psinet carries the private-matching protocol of package psi
// between two seams instances: HTTPS with mutual TLS whose certificates
// are self-signed and pinned by their SHA-256 fingerprints, exchanged out
// of band (no certificate authority), the holder's server with its
// sessions, limits and audit records, and the querier's client.
package psinet

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The files of an identity in its folder.
const (
	CertFile = "psi-cert.pem"
	KeyFile  = "psi-key.pem"
)

// Identity is an organisation's TLS certificate for private matching,
// self-signed, and its fingerprint.
type Identity struct {
	Cert        tls.Certificate
	Fingerprint string // sha256:<64 hex digits> of the certificate (DER)
}

// Fingerprint returns sha256:<hex> of a certificate's DER bytes.
func Fingerprint(der []byte) string {
	s := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(s[:])
}

var fingerprintPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ParseFingerprint checks and normalizes a fingerprint: sha256: and 64 hex
// digits (upper case and colons between bytes are accepted).
func ParseFingerprint(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if rest, ok := strings.CutPrefix(t, "sha256:"); ok {
		t = "sha256:" + strings.ReplaceAll(rest, ":", "")
	}
	if !fingerprintPattern.MatchString(t) {
		return "", fmt.Errorf("invalid fingerprint %q (want sha256: and 64 hex digits, as seams psi init prints)", s)
	}
	return t, nil
}

// LoadOrCreateIdentity loads the identity in dir, or makes one (an ECDSA
// P-256 key and a self-signed certificate for name, valid ten years) when
// dir has none. created says it was made.
func LoadOrCreateIdentity(dir, name string) (id *Identity, created bool, err error) {
	cp, kp := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if _, err := os.Stat(cp); err == nil {
		c, err := tls.LoadX509KeyPair(cp, kp)
		if err != nil {
			return nil, false, fmt.Errorf("identity %s: %w", dir, err)
		}
		return &Identity{Cert: c, Fingerprint: Fingerprint(c.Certificate[0])}, false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("identity: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("identity: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"seams psi"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"seams-psi"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, false, fmt.Errorf("identity: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("identity: %w", err)
	}
	if err := writeFile(kp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, false, err
	}
	if err := writeFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, false, err
	}
	c, err := tls.LoadX509KeyPair(cp, kp)
	if err != nil {
		return nil, false, fmt.Errorf("identity: %w", err)
	}
	return &Identity{Cert: c, Fingerprint: Fingerprint(der)}, true, nil
}

// writeFile writes name.tmp and renames it into place.
func writeFile(name string, b []byte, mode os.FileMode) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// Peer is an organisation a holder serves: its name (in audit records and
// limits) and the fingerprint of its certificate.
type Peer struct {
	Name        string
	Fingerprint string
}

var peerName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParsePeers reads a peers file: one peer a line, NAME FINGERPRINT,
// separated by spaces; blank lines and lines starting with # are skipped.
// Names and fingerprints must each be unique.
func ParsePeers(r io.Reader, file string) ([]Peer, error) {
	var out []Peer
	names, fps := map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<16)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want NAME FINGERPRINT, got %d fields", file, n, len(f))
		}
		if !peerName.MatchString(f[0]) {
			return nil, fmt.Errorf("%s:%d: invalid peer name %q (want 1 to 64 of A-Za-z0-9._-)", file, n, f[0])
		}
		fp, err := ParseFingerprint(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		if first, dup := names[f[0]]; dup {
			return nil, fmt.Errorf("%s:%d: peer %q already on line %d", file, n, f[0], first)
		}
		if first, dup := fps[fp]; dup {
			return nil, fmt.Errorf("%s:%d: fingerprint already on line %d", file, n, first)
		}
		names[f[0]], fps[fp] = n, n
		out = append(out, Peer{Name: f[0], Fingerprint: fp})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// ErrUnknownPeer is returned for a certificate whose fingerprint is not
// pinned.
var ErrUnknownPeer = errors.New("certificate not pinned")

// pinned returns a VerifyPeerCertificate that accepts only a certificate
// whose fingerprint is one of fps.
func pinned(fps []string) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return fmt.Errorf("no certificate: %w", ErrUnknownPeer)
		}
		got := []byte(Fingerprint(raw[0]))
		for _, fp := range fps {
			if subtle.ConstantTimeCompare(got, []byte(fp)) == 1 {
				return nil
			}
		}
		return fmt.Errorf("fingerprint %s: %w", got, ErrUnknownPeer)
	}
}

// ServerTLS returns the holder's TLS configuration: TLS 1.3, its own
// certificate, and a client certificate required, accepted only when
// pinned in peers.
func ServerTLS(id *Identity, peers []Peer) *tls.Config {
	fps := make([]string, len(peers))
	for i, p := range peers {
		fps[i] = p.Fingerprint
	}
	return &tls.Config{
		MinVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{id.Cert},
		ClientAuth:            tls.RequireAnyClientCert,
		VerifyPeerCertificate: pinned(fps),
	}
}

// ClientTLS returns the querier's TLS configuration: TLS 1.3, its own
// certificate, and the holder's accepted only with the pinned fingerprint.
// The usual chain and name checks are replaced by the pin: the
// certificates are self-signed.
func ClientTLS(id *Identity, holderFingerprint string) *tls.Config {
	return &tls.Config{
		MinVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{id.Cert},
		InsecureSkipVerify:    true, // verified by the pin below
		VerifyPeerCertificate: pinned([]string{holderFingerprint}),
	}
}

// peerOf returns the peer whose certificate a connection presented.
func peerOf(cs *tls.ConnectionState, peers []Peer) (Peer, bool) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return Peer{}, false
	}
	fp := Fingerprint(cs.PeerCertificates[0].Raw)
	for _, p := range peers {
		if bytes.Equal([]byte(p.Fingerprint), []byte(fp)) {
			return p, true
		}
	}
	return Peer{}, false
}
