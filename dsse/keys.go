package dsse

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM block types of key files.
const (
	privateBlock = "PRIVATE KEY" // PKCS #8
	publicBlock  = "PUBLIC KEY"  // PKIX
)

// NewKey returns a new Ed25519 key pair.
func NewKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// MarshalPrivate encodes a private key as a PEM PKCS #8 block.
func MarshalPrivate(k ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: privateBlock, Bytes: der}), nil
}

// MarshalPublic encodes a public key as a PEM PKIX block.
func MarshalPublic(k ed25519.PublicKey) ([]byte, error) {
	der, err := marshalPublic(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: publicBlock, Bytes: der}), nil
}

func marshalPublic(k ed25519.PublicKey) ([]byte, error) {
	if len(k) != ed25519.PublicKeySize {
		return nil, errors.New("not an Ed25519 public key")
	}
	return x509.MarshalPKIXPublicKey(k)
}

// ParsePrivate reads a PEM PKCS #8 Ed25519 private key, the only block of
// the file.
func ParsePrivate(b []byte) (ed25519.PrivateKey, error) {
	der, err := onlyBlock(b, privateBlock)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("private key: %v", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is a %T, not Ed25519", k)
	}
	return ek, nil
}

// ParsePublic reads a PEM PKIX Ed25519 public key, the only block of the
// file. A private key given by mistake is refused with a hint.
func ParsePublic(b []byte) (ed25519.PublicKey, error) {
	der, err := onlyBlock(b, publicBlock)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key: %v", err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is a %T, not Ed25519", k)
	}
	return ek, nil
}

// onlyBlock returns the DER bytes of the one PEM block of b, of type want.
func onlyBlock(b []byte, want string) ([]byte, error) {
	blk, rest := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("no PEM block (want %q)", want)
	}
	if blk.Type != want {
		if blk.Type == privateBlock && want == publicBlock {
			return nil, errors.New("this is a private key: give the .pub file, and keep the .key file to yourself")
		}
		return nil, fmt.Errorf("PEM block %q (want %q)", blk.Type, want)
	}
	if len(blk.Headers) > 0 {
		return nil, errors.New("PEM block with headers (an encrypted key?): want a plain one")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block")
	}
	return blk.Bytes, nil
}
