package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/dsse"
	"github.com/seams-dev/seams/evidence"
	"github.com/seams-dev/seams/internal/runread"
)

var evidenceCommand = &command{
	summary: "write a signed evidence bundle of findings, checkable offline",
	usage: `Usage:
  seams evidence --from OUTDIR --reports FILE... (--finding REPORT/COMPOUND... | --tied)
                 [--brief FILE...] --key NAME.key --out BUNDLE
  seams evidence (--data DIR | --db URL) (--finding ID... | --tied)
                 [--brief FILE...] --key NAME.key --out BUNDLE

Write what findings rest on into one file, signed, so that it keeps its
integrity away from the machine that made it: for each finding, the
finding as findings.jsonl has it (its tier, and every indicator that fired
with its source and window, and the observation that fired it), the
report's record (its ip events and devices, never content) with its
SHA-256 and the file and line it was read from, the compound; for the
whole bundle, the rules, the run's parameters, the SHA-256 of every input
of the run, the registry snapshot hash, the seams that ran the
cross-reference and the one that made the bundle. From a store it adds
each indicator's stored version (id, version, file, organisation, who
added it and when) and the finding's reviews and history.

The bundle is a DSSE envelope (the signature envelope of in-toto and
Sigstore), payload type application/vnd.seams.evidence+json, signed with
Ed25519. seams verify BUNDLE --key NAME.pub checks it offline and says what
it proves. Make a key with seams key new.

--finding names a finding: with --from, as REPORT/COMPOUND (the report id
and the compound id, split at the last slash); with a store, by its id
(the first column of seams findings). Repeat it for more. --tied takes
every tied finding instead. --brief adds a file the bundle vouches for by
SHA-256 (a brief made by seams brief from the same findings), so that the
brief and the evidence behind its tied figures travel together.

With --from, the report records come from the run's report files
(--reports, each checked against the SHA-256 the run recorded).

Flags:
  --from OUTDIR       the output folder of seams xref
  --reports FILE      a report file of that run (repeat for each)
` + storeFlagsHelp + `  --finding ID        a finding (repeat); see above
  --tied              every tied finding
  --brief FILE        a file to vouch for by SHA-256 (repeat)
  --key FILE          the private signing key (NAME.key of seams key new)
  --time TIME         the bundle's time (RFC 3339); default now
  --out FILE          the bundle to write ("-" for standard output)

Examples:
  seams evidence --from out/ --reports reports.jsonl --tied --key me.key --out tied.dsse.json
  seams evidence --data case/ --finding 42 --key me.key --out finding-42.dsse.json
  seams verify tied.dsse.json --key me.pub
`,
	run: runEvidence,
}

func runEvidence(ctx context.Context, e *env, args []string) error {
	fs := newFlags("evidence")
	var from, keyFile, out, at string
	var reports, findings, briefs listFlag
	var tied bool
	var sa storeArgs
	fs.StringVar(&from, "from", "", "")
	fs.Var(&reports, "reports", "")
	sa.register(fs)
	fs.Var(&findings, "finding", "")
	fs.BoolVar(&tied, "tied", false, "")
	fs.Var(&briefs, "brief", "")
	fs.StringVar(&keyFile, "key", "", "")
	fs.StringVar(&at, "time", "", "")
	fs.StringVar(&out, "out", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case out == "":
		return usagef("evidence", "missing --out FILE")
	case keyFile == "":
		return usagef("evidence", "missing --key NAME.key (make one with: seams key new --out NAME)")
	case len(findings) == 0 && !tied:
		return usagef("evidence", "name the findings: --finding ID or --tied")
	case len(findings) > 0 && tied:
		return usagef("evidence", "--finding and --tied both given: pick one")
	case from != "" && (sa.data != "" || sa.db != ""):
		return usagef("evidence", "--from and a store both given: pick one")
	case from != "" && len(reports) == 0:
		return usagef("evidence", "--from needs the run's report files (--reports FILE), for the report records")
	case from == "" && len(reports) > 0:
		return usagef("evidence", "--reports goes with --from")
	}
	created := time.Now()
	if at != "" {
		var err error
		if created, err = seams.ParseTime(at); err != nil {
			return usagef("evidence", "--time: %v", err)
		}
	}
	key, err := readPrivateKey(keyFile)
	if err != nil {
		return err
	}
	if st, err := os.Stat(keyFile); err == nil && st.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(e.stderr, "warning: %s can be read by others (mode %04o): chmod 600 %s\n", keyFile, st.Mode().Perm(), keyFile)
	}
	var b *evidence.Bundle
	if from != "" {
		b, err = runBundle(ctx, from, reports, findings, tied, created)
	} else {
		b, err = storeBundle(ctx, e, &sa, findings, tied, created)
	}
	if err != nil {
		return err
	}
	for _, name := range briefs {
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		b.Subjects = append(b.Subjects, evidence.Subject{Name: filepath.Base(name), Size: int64(len(data)), SHA256: evidence.SHA256(data)})
	}
	env, err := evidence.Sign(b, key)
	if err != nil {
		return err
	}
	if err := writeOutput(e, out, func(w io.Writer) error { _, err := w.Write(env); return err }); err != nil {
		return err
	}
	if out != "-" {
		fmt.Fprintf(e.stderr, "wrote %s (%d findings, signed by key %s)\n", out, len(b.Findings), dsse.KeyID(key.Public().(ed25519.PublicKey)))
	}
	return nil
}

func readPrivateKey(name string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	k, err := dsse.ParsePrivate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return k, nil
}

// runBundle bundles findings of the run in dir.
func runBundle(ctx context.Context, dir string, reports, names []string, tied bool, created time.Time) (*evidence.Bundle, error) {
	run, err := runread.Open(dir)
	if err != nil {
		return nil, err
	}
	type key struct{ report, compound string }
	want := map[key]bool{}
	for _, n := range names {
		i := strings.LastIndexByte(n, '/')
		if i <= 0 || i == len(n)-1 {
			return nil, usagef("evidence", "--finding %q: want REPORT/COMPOUND with --from", n)
		}
		want[key{n[:i], n[i+1:]}] = false
	}
	var fs []evidence.RunFinding
	need := map[string]bool{}
	findingsSHA, err := run.Findings(func(f *seams.Finding) error {
		k := key{f.Report, f.Compound}
		if _, ok := want[k]; ok || tied && f.Tier == seams.TierTied {
			want[k] = true
			c := *f
			fs = append(fs, evidence.RunFinding{Finding: &c})
			need[f.Report] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, found := range want {
		if !found {
			return nil, fmt.Errorf("no finding of report %q with compound %q in %s", k.report, k.compound, dir)
		}
	}
	if len(fs) == 0 {
		return nil, fmt.Errorf("the run in %s has no tied finding", dir)
	}
	type where struct {
		r    seams.Report
		file string
		line int
	}
	got := map[string]*where{}
	ins, err := run.Reports(ctx, reports, func(r *runread.Report) error {
		if need[r.ID] {
			// The report is valid until fn returns: keep a copy, keyed by
			// the copy's id.
			w := &where{r: r.Report.Clone(), file: r.File, line: r.Line}
			got[w.r.ID] = w
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	byName := map[string]seams.InputCount{}
	for i, n := range reports {
		byName[n] = ins[i]
	}
	for i := range fs {
		w := got[fs[i].Finding.Report]
		if w == nil {
			return nil, fmt.Errorf("report %q is not in the report files given: give every report file of the run", fs[i].Finding.Report)
		}
		in := byName[w.file]
		fs[i].Report, fs[i].File, fs[i].Line, fs[i].FileSHA256 = &w.r, in.File, w.line, in.SHA256
	}
	return evidence.FromRun(run.Summary, run.SummarySHA256, findingsSHA, fs, created), nil
}

// storeBundle bundles findings of a store.
func storeBundle(ctx context.Context, e *env, sa *storeArgs, names []string, tied bool, created time.Time) (*evidence.Bundle, error) {
	var ids []int64
	for _, n := range names {
		id, err := strconv.ParseInt(n, 10, 64)
		if err != nil || id <= 0 {
			return nil, usagef("evidence", "--finding %q: want a finding id of the store (the first column of seams findings)", n)
		}
		ids = append(ids, id)
	}
	st, err := sa.open(ctx, "evidence", newLogger(e.stderr, false))
	if err != nil {
		return nil, storeError(err)
	}
	defer st.Close()
	p := operator(defaultOrg)
	if tied {
		if err := eachStoredFinding(ctx, st, p, seams.FindingQuery{Tier: seams.TierTied}, func(f *seams.StoredFinding) error {
			ids = append(ids, f.ID)
			return nil
		}); err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("the store holds no tied finding")
		}
	}
	return evidence.FromStore(ctx, st, p, ids, created)
}
