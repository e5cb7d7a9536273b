package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/seams-dev/seams/dsse"
	"github.com/seams-dev/seams/evidence"
)

var verifyCommand = &command{
	summary: "check a signed evidence bundle offline, and say what it proves",
	usage: `Usage:
  seams verify BUNDLE --key NAME.pub [--key OTHER.pub...]

Check an evidence bundle of seams evidence, offline, with nothing but the
signer's public key:
  - the signature (Ed25519, DSSE envelope) under one of the keys given:
    nothing in the bundle changed since it was signed;
  - each report record against the SHA-256 the bundle gives it;
  - each observation of the evidence against the report record (the event
    or device is in the report, with the same time and flags);
  - each piece of evidence against its rule: the same address or device
    as the indicator, inside the prefix, inside the window, or outside it
    by no more than the run's drift;
  - each finding's tier against its evidence (seams's rules, stated in
    the bundle).
Then it prints what the bundle holds, what the check proves, and what it
does not (that an indicator truly belongs to a compound, that a report is
true, when the bundle was made).

Exit status: 0 when every check holds, 1 when the signature does not
verify under the keys given or a check fails (each is listed), 2 when the
command line is wrong.

Flags:
  --key FILE          a public key (NAME.pub of seams key new); repeat to
                      accept any of several signers

Example:
  seams verify tied.dsse.json --key hotline-2026.pub
`,
	run: runVerify,
}

func runVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags("verify")
	var keyFiles listFlag
	fs.Var(&keyFiles, "key", "")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("verify", "give one bundle to check")
	}
	if len(keyFiles) == 0 {
		return usagef("verify", "missing --key NAME.pub, the signer's public key")
	}
	var keys []ed25519.PublicKey
	names := map[string]string{}
	for _, kf := range keyFiles {
		b, err := os.ReadFile(kf)
		if err != nil {
			return err
		}
		k, err := dsse.ParsePublic(b)
		if err != nil {
			return fmt.Errorf("%s: %v", kf, err)
		}
		keys = append(keys, k)
		names[dsse.KeyID(k)] = kf
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	res, err := evidence.Verify(data, keys...)
	switch {
	case errors.Is(err, dsse.ErrNoValidSignature):
		return fmt.Errorf("%s: NOT VERIFIED: no signature verifies under the keys given: the bundle was changed, or another key signed it", pos[0])
	case err != nil:
		return fmt.Errorf("%s: NOT VERIFIED: %v", pos[0], err)
	}
	res.Explain(e.stdout, names)
	if !res.OK() {
		return fmt.Errorf("%s: NOT VERIFIED: %d checks failed (listed above)", pos[0], len(res.Problems))
	}
	return nil
}
