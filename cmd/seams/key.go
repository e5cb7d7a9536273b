package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/seams-dev/seams/dsse"
	"github.com/seams-dev/seams/internal/redact"
	"github.com/seams-dev/seams/sqlite"
)

var keyCommand = &command{
	summary: "make the keys that sign evidence bundles and redact briefs",
	usage: `Usage:
  seams key new --out NAME               a signing key: NAME.key and NAME.pub
  seams key new --redaction --out NAME   a redaction key: NAME.redact
  seams key id FILE                      the id of a signing key (.pub or .key)

A signing key signs evidence bundles (seams evidence --key NAME.key);
anyone with NAME.pub checks them (seams verify BUNDLE --key NAME.pub).
It is an Ed25519 key pair in PEM files that OpenSSL reads: NAME.key, the
private key (PKCS #8, mode 0600), and NAME.pub, the public key (PKIX). The
command prints the key's id (the SHA-256 of the public key), which bundles
name and verify prints: tell it to whoever will check your bundles, by
another channel than the bundles themselves, so they know the key is
yours.

A redaction key makes the pseudonyms of seams brief --redact: the same
report or device gets the same pseudonym under the same key, in every
brief, and nobody without the key can trace one back. Keep it as secret
as the reports.

Where to keep them: on the machine of the person who signs, or better on
an encrypted volume or a hardware token, never beside the data they
sign, never in the store (seams never writes a key into a store, and
refuses to write one into a store's data folder), and never in a
repository. seams key never overwrites a file: a lost private key cannot
be made again, and a replaced one would orphan every bundle it signed.
Publish NAME.pub where your recipients can find it.

Flags:
  --out NAME          the path and name of the files, without extension
  --redaction         make a redaction key instead of a signing key

Examples:
  seams key new --out ~/keys/hotline-2026
  seams key new --redaction --out ~/keys/hotline-briefs
  seams key id ~/keys/hotline-2026.pub
`,
	run: runKey,
}

func runKey(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("key", "missing subcommand: new or id")
	}
	switch args[0] {
	case "new":
		return runKeyNew(e, args[1:])
	case "id":
		fs := newFlags("key")
		pos, err := parseMixed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("key", "seams key id takes one file")
		}
		b, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		if pub, err := dsse.ParsePublic(b); err == nil {
			fmt.Fprintln(e.stdout, dsse.KeyID(pub))
			return nil
		}
		priv, err := dsse.ParsePrivate(b)
		if err != nil {
			return fmt.Errorf("%s: not a seams signing key: %v", pos[0], err)
		}
		fmt.Fprintln(e.stdout, dsse.KeyID(priv.Public().(ed25519.PublicKey)))
		return nil
	case "-h", "-help", "--help":
		return flag.ErrHelp
	}
	return usagef("key", "unknown subcommand %q (want new or id)", args[0])
}

func runKeyNew(e *env, args []string) error {
	fs := newFlags("key")
	var out string
	var redaction bool
	fs.StringVar(&out, "out", "", "")
	fs.BoolVar(&redaction, "redaction", false, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if out == "" {
		return usagef("key", "missing --out NAME")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), sqlite.File)); err == nil {
		return fmt.Errorf("%s is a store's data folder: keep keys away from the data they sign", filepath.Dir(out))
	}
	if redaction {
		k, err := redact.NewKey()
		if err != nil {
			return err
		}
		if err := writeNew(out+".redact", k.Marshal(), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s.redact (secret: keep it as you keep the reports)\n", out)
		fmt.Fprintf(e.stdout, "%s\n", k.ID())
		return nil
	}
	for _, p := range []string{out + ".key", out + ".pub"} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s exists: seams key never overwrites a key (pick another --out)", p)
		}
	}
	pub, priv, err := dsse.NewKey()
	if err != nil {
		return err
	}
	pb, err := dsse.MarshalPrivate(priv)
	if err != nil {
		return err
	}
	pubb, err := dsse.MarshalPublic(pub)
	if err != nil {
		return err
	}
	if err := writeNew(out+".key", pb, 0o600); err != nil {
		return err
	}
	if err := writeNew(out+".pub", pubb, 0o644); err != nil {
		os.Remove(out + ".key")
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s.key (private: mode 0600, keep it to yourself) and %s.pub (public: give it to whoever checks your bundles)\n", out, out)
	fmt.Fprintln(e.stdout, dsse.KeyID(pub))
	return nil
}

// writeNew writes a file that must not exist yet, with mode perm, synced.
func writeNew(path string, b []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: seams key never overwrites a key (pick another --out)", path)
		}
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
