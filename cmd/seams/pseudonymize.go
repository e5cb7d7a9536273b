package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/pseudonym"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/reportfile"
)

var pseudonymizeCommand = &command{
	summary: "rewrite addresses and devices with keyed pseudonyms, to match with partners",
	usage: `Usage:
  seams pseudonymize --new-key KEYFILE
  seams pseudonymize --key-file KEYFILE --out DIR [--compounds FILE --indicators FILE]
                     [--shared FILE] [--reports FILE]... [--findings FILE]...
                     [--asn-db FILE]... [--geo-db FILE]... [--rejected FILE]

Rewrite a registry, reports, findings and IP databases so that partners who
hold the same key can run seams xref on them, and get the findings of the
clear files with addresses and devices pseudonymised, one for one:
  addresses   a keyed prefix-preserving permutation (Crypto-PAn, AES-128,
              IPv4 and IPv6): two addresses that share their first k bits
              have pseudonyms that share their first k bits, so ip, cidr,
              ip-drift, asn and shared-space rules all work. Private,
              loopback, link-local, multicast, unspecified and
              carrier-NAT (100.64.0.0/10) ranges map onto themselves
              (an address stays in its range, its host bits permuted), so
              xref still counts them unroutable.
  devices     HMAC-SHA-256 of TYPE:VALUE under a key derived from the key
              file (not the address key); the type stays in clear:
              imei:358240051111110 becomes imei:<64 hex digits>.
Times, report ids, compounds, AS numbers, confidence and sources are not
changed. seams never offers an unkeyed hash: an address hashed without a
key is found again by hashing all 2^32 of them.

Each input is written into DIR under its name (reports as .jsonl,
indicators as .csv; .gz and .zst are not kept), under a temporary name
renamed when complete, mode 0600. Every record read is written or
rejected: rejections (an invalid row, a report's invalid event) are
counted on standard output and, with --rejected, written as
rejected.jsonl lines. They quote the clear record: keep them, and the
key file, to yourself; share DIR.

Flags:
  --new-key KEYFILE   write a new key (32 random bytes as 64 hexadecimal
                      digits, mode 0600) to KEYFILE, which must not exist,
                      and use it. Give the same file to every partner by a
                      safe channel: whoever holds it can undo every
                      pseudonym of addresses made with it.
  --key-file KEYFILE  the key. Refused if others than its owner can read it.
  --out DIR           where to write (created, mode 0750, if missing).
  --compounds FILE    compounds (CSV or FollowTheMoney): read to know the ids
                      the indicators name; not written (not pseudonymised:
                      partners use the same file).
  --indicators FILE   indicators: CSV, STIX 2.1 bundle or MISP events;
                      written as CSV. ip and cidr values and devices are
                      pseudonymised, asn values kept.
  --shared FILE       shared space: a list or a MISP warninglist; written as
                      a list. A warninglist's ASes are rejected, with the
                      hint to give them to xref with --shared-asn.
  --reports FILE      reports in any format (--format): JSON Lines,
                      CyberTipline XML, CSV; written as JSON Lines.
                      Repeatable. (CyberTipline's associated-account mark
                      is written as "associated":true, which xref's JSON
                      Lines reader does not read yet.)
  --format FORMAT     jsonl, cybertip or csv for every --reports; default:
                      found from each file's name and content.
  --findings FILE     a findings.jsonl of seams xref. Repeatable.
  --asn-db FILE       an IP-to-ASN database (MaxMind DB): its networks are
                      pseudonymised, records and metadata kept, so that
                      xref's asn rule, --shared-asn and enrichment work on
                      pseudonymised reports. Repeatable.
  --geo-db FILE       an IP-to-location database, likewise. A file given
                      as both is written once.
  --rejected FILE     also write the rejections there (clear text: not
                      inside DIR).

What the pseudonyms protect, and what they do not (a prefix-preserving
permutation shows the structure of the addresses; a pseudonymised IP
database shows their networks): docs/pseudonymize.md.

Examples:
  seams pseudonymize --new-key partners.key
  seams pseudonymize --key-file partners.key --out shared/ \
      --compounds compounds.csv --indicators indicators.csv --shared shared.txt \
      --asn-db ipdb.mmdb
  seams pseudonymize --key-file partners.key --out mine/ --reports reports.jsonl.gz
  seams xref --compounds compounds.csv --indicators shared/indicators.csv \
      --shared shared/shared.txt --asn-db shared/ipdb.mmdb \
      --reports mine/reports.jsonl --out out/
  seams depseudonymize --key-file partners.key --clear-reports reports.jsonl.gz \
      --findings out/findings.jsonl --out clear/

Exit status: 0 when everything was written, even with rejections; 1 when
it could not be (an unreadable input or key, an output that cannot be
written); 2 for a usage error.
`,
	run: runPseudonymize,
}

var depseudonymizeCommand = &command{
	summary: "reverse the pseudonyms of seams pseudonymize, for the key holder",
	usage: `Usage:
  seams depseudonymize --key-file KEYFILE --out DIR [--findings FILE]...
                       [--reports FILE]... [--compounds FILE --indicators FILE]
                       [--shared FILE] [--asn-db FILE]...
                       [--clear-reports FILE]... [--clear-indicators FILE]

Undo seams pseudonymize with its key: each file is written into DIR under
its name, as pseudonymize names them, with clear addresses, prefixes and
networks (the permutation is reversed exactly).

A device's pseudonym is an HMAC and cannot be reversed: a device is
recovered when it is among the clear devices of --clear-reports and
--clear-indicators (the files that were pseudonymised, which the key
holder has), whose pseudonyms are computed again. A device that is not
there is left as its pseudonym and counted; it is never guessed.

Flags:
  --key-file KEYFILE        the key the files were pseudonymised with.
  --out DIR                 where to write (created if missing).
  --findings FILE           a findings.jsonl made from pseudonymised files.
                            Repeatable.
  --reports FILE            pseudonymised reports (JSON Lines). Repeatable.
  --compounds FILE          compounds, to read --indicators and
                            --clear-indicators.
  --indicators FILE         pseudonymised indicators.
  --shared FILE             a pseudonymised shared-space list.
  --asn-db FILE             a pseudonymised MaxMind DB. Repeatable.
  --geo-db FILE             likewise.
  --clear-reports FILE      clear reports (any format) whose devices to
                            recognise. Repeatable.
  --clear-indicators FILE   clear indicators whose devices to recognise
                            (needs --compounds).
  --format FORMAT           format of --reports and --clear-reports.
  --rejected FILE           write the rejections there.

Example:
  seams depseudonymize --key-file partners.key --clear-reports reports.jsonl.gz \
      --clear-indicators indicators.csv --compounds compounds.csv \
      --findings out/findings.jsonl --out clear/

Exit status: 0 when everything was written (devices left as pseudonyms
are a warning); 1 when it could not be; 2 for a usage error.
`,
	run: runDepseudonymize,
}

// pseudonymArgs are the flags of pseudonymize and depseudonymize.
type pseudonymArgs struct {
	newKey, keyFile, out, rejected, format string
	compounds, indicators, shared          string
	reports, findings                      listFlag
	db                                     dbArgs
	clearReports                           listFlag
	clearIndicators                        string
}

func pseudonymizeFlags(a *pseudonymArgs) *flag.FlagSet {
	fs := newFlags("pseudonymize")
	a.register(fs)
	fs.StringVar(&a.newKey, "new-key", "", "")
	return fs
}

func depseudonymizeFlags(a *pseudonymArgs) *flag.FlagSet {
	fs := newFlags("depseudonymize")
	a.register(fs)
	fs.Var(&a.clearReports, "clear-reports", "")
	fs.StringVar(&a.clearIndicators, "clear-indicators", "", "")
	return fs
}

func (a *pseudonymArgs) register(fs *flag.FlagSet) {
	fs.StringVar(&a.keyFile, "key-file", "", "")
	fs.StringVar(&a.out, "out", "", "")
	fs.StringVar(&a.rejected, "rejected", "", "")
	fs.StringVar(&a.format, "format", "", "")
	fs.StringVar(&a.compounds, "compounds", "", "")
	fs.StringVar(&a.indicators, "indicators", "", "")
	fs.StringVar(&a.shared, "shared", "", "")
	fs.Var(&a.reports, "reports", "")
	fs.Var(&a.findings, "findings", "")
	a.db.register(fs)
}

// pseudonymFlagOf maps the fields of pseudonym.SetOptions to their flags.
var pseudonymFlagOf = map[string]string{
	"Out": "out", "Compounds": "compounds", "Indicators": "indicators", "Shared": "shared", "Reports": "reports",
	"Findings": "findings", "DBs": "asn-db", "RejectedFile": "rejected", "ClearIndicators": "clear-indicators",
	"Inputs": "--indicators, --shared, --reports, --findings, --asn-db or --geo-db",
}

// options returns the file flags as pseudonym.SetOptions, checked.
func (a *pseudonymArgs) options(cmd string) (pseudonym.SetOptions, error) {
	f, err := reportfile.ParseFormat(a.format)
	if err != nil {
		return pseudonym.SetOptions{}, usagef(cmd, "%v", err)
	}
	o := pseudonym.SetOptions{Inputs: pseudonym.Inputs{Compounds: a.compounds, Indicators: a.indicators, Shared: a.shared,
		Reports: a.reports, Findings: a.findings, ReportFormat: f}, Out: a.out, RejectedFile: a.rejected, ClearIndicators: a.clearIndicators}
	seen := map[string]bool{}
	for _, d := range append(append([]string(nil), a.db.asn...), a.db.geo...) {
		if !seen[d] {
			seen[d] = true
			o.DBs = append(o.DBs, d)
		}
	}
	if err := o.Validate(); err != nil {
		return o, fieldUsage(cmd, pseudonymFlagOf, err)
	}
	return o, nil
}

func runPseudonymize(ctx context.Context, e *env, args []string) error {
	var a pseudonymArgs
	if err := parseFlags(pseudonymizeFlags(&a), args); err != nil {
		return err
	}
	const cmd = "pseudonymize"
	var key pseudonym.Key
	switch {
	case a.newKey != "" && a.keyFile != "":
		return usagef(cmd, "give --new-key or --key-file, not both")
	case a.newKey != "":
		k, err := pseudonym.NewKeyFile(a.newKey)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote a new key to %s (mode 0600): give it to your partners by a safe channel, never with the data\n", a.newKey)
		if a.out == "" && a.indicators == "" && a.shared == "" && len(a.reports) == 0 && len(a.findings) == 0 &&
			len(a.db.asn) == 0 && len(a.db.geo) == 0 {
			return nil
		}
		key = k
	case a.keyFile == "":
		return usagef(cmd, "missing --key-file KEYFILE (or --new-key KEYFILE to make one)")
	}
	o, err := a.options(cmd)
	if err != nil {
		return err
	}
	if a.keyFile != "" {
		if key, err = pseudonym.ReadKeyFile(a.keyFile); err != nil {
			return err
		}
	}
	return rewriteSet(ctx, e, cmd, pseudonym.NewPseudonymizer(key), o)
}

func runDepseudonymize(ctx context.Context, e *env, args []string) error {
	var a pseudonymArgs
	if err := parseFlags(depseudonymizeFlags(&a), args); err != nil {
		return err
	}
	const cmd = "depseudonymize"
	if a.keyFile == "" {
		return usagef(cmd, "missing --key-file KEYFILE")
	}
	o, err := a.options(cmd)
	if err != nil {
		return err
	}
	key, err := pseudonym.ReadKeyFile(a.keyFile)
	if err != nil {
		return err
	}
	rv := pseudonym.NewReverser(key)
	if err := learnDevices(ctx, e, rv, o, a.clearReports); err != nil {
		return err
	}
	return rewriteSet(ctx, e, cmd, rv, o)
}

// learnDevices teaches rv the clear devices of --clear-reports and
// --clear-indicators.
func learnDevices(ctx context.Context, e *env, rv *pseudonym.Reverser, o pseudonym.SetOptions, clearReports []string) error {
	for _, name := range clearReports {
		rd, err := reportfile.Open(name, o.ReportFormat, e.stdin)
		if err != nil {
			return err
		}
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rd.Close()
				return err
			}
			for _, d := range rec.Report.Devices {
				rv.LearnDevice(d.ID)
			}
			if err := ctx.Err(); err != nil {
				rd.Close()
				return err
			}
		}
		rd.Close()
	}
	if o.ClearIndicators != "" {
		inds, err := pseudonym.ReadIndicators(ctx, o.Compounds, o.ClearIndicators, e.stdin)
		if err != nil {
			return err
		}
		for _, in := range inds {
			if in.Kind == seams.KindDevice {
				rv.LearnDevice(in.Device)
			}
		}
	}
	return nil
}

// rewriteSet writes the set with m and prints what it did.
func rewriteSet(ctx context.Context, e *env, cmd string, m pseudonym.Mapper, o pseudonym.SetOptions) error {
	if err := os.MkdirAll(o.Out, 0o750); err != nil {
		return err
	}
	var rej *atomicfile.File
	if o.RejectedFile != "" {
		var err error
		if rej, err = atomicfile.Create(o.RejectedFile); err != nil {
			return err
		}
		defer rej.Abort()
	}
	var buf []byte
	var werr error
	shown := 0
	reject := func(r *seams.RecordError) {
		if shown < 5 {
			fmt.Fprintf(e.stderr, "seams %s: rejected %s\n", cmd, r.Error())
			shown++
		}
		if rej != nil && werr == nil {
			buf = jsonl.AppendRejected(buf[:0], r)
			_, werr = rej.Write(buf)
		}
	}
	outs, err := pseudonym.Rewrite(ctx, m, o.Inputs, o.Out, e.stdin, reject)
	if err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	if rej != nil {
		if err := rej.Commit(); err != nil {
			return err
		}
	}
	var total pseudonym.Counts
	for _, out := range outs {
		c := out.Counts
		fmt.Fprintf(e.stdout, "%-10s %s -> %s: %d read, %d written, %d rejected", out.Kind, out.Input, out.Path, c.Records, c.Written, c.Rejected)
		if c.Parts > 0 {
			fmt.Fprintf(e.stdout, " (and %d parts of written records)", c.Parts)
		}
		fmt.Fprintf(e.stdout, "; %d addresses, %d prefixes, %d devices\n", c.Addrs, c.Prefixes, c.Devices)
		total.Rejected += c.Rejected + c.Parts
		total.Unknown += c.Unknown
	}
	if total.Rejected > shown {
		where := "give --rejected FILE to list them all"
		if o.RejectedFile != "" {
			where = "all are in " + o.RejectedFile
		}
		fmt.Fprintf(e.stderr, "seams %s: %d rejections in all (%s)\n", cmd, total.Rejected, where)
	}
	if total.Unknown > 0 {
		fmt.Fprintf(e.stderr, "seams %s: %d devices are not among the clear devices given (--clear-reports, --clear-indicators): left as pseudonyms\n", cmd, total.Unknown)
	}
	return nil
}
