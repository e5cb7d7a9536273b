package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
)

var enrichCommand = &command{
	summary: "annotate a reports or findings file with ASN, organisation, country and city",
	usage: `Usage:
  seams enrich --in FILE --out FILE [--asn-db FILE]... [--geo-db FILE]...
               [--kind reports|findings] [--rejected FILE] [--max-line BYTES]

Copy a JSON Lines file, adding to every IP address what the databases say
of it. The kind of file is found from its first record:
  reports (lines with "id" and "ips", as xref reads them): each element of
           "ips" gains "asn", "as_org", "country" and "city"
  findings (findings.jsonl, lines with "report", "compound" and "evidence"):
           each evidence's "observed" object with an "ip" gains the same
A field is added only when a database knows it; fields of these names
already present are replaced, so enriching twice gives the same file. The
rest of every line is copied unchanged, and line N of the output is line N
of the input: a line or an element that cannot be read is copied as it is
and listed as rejected (on standard error, and in --rejected FILE).
The output is written under a temporary name and renamed when complete.

Flags:
  --in FILE        input; "-" reads standard input; gzip or zstd data is
                   decompressed (found from its first bytes).
  --out FILE       output; "-" writes standard output; a name ending in .gz
                   is compressed. Must differ from --in.
  --asn-db FILE    IP-to-ASN database in MaxMind DB format; repeatable (the
                   first with a record for an address answers).
  --geo-db FILE    IP-to-location database (country, city); repeatable.
                   At least one --asn-db or --geo-db is required.
  --kind KIND      reports or findings: do not guess from the first record.
  --rejected FILE  also write the rejected lines and elements there, as
                   rejected.jsonl lines (file, line, item, reason, raw).
  --max-line BYTES longest report line parsed (longer ones are copied
                   unchanged and rejected). Default 4194304 (4 MiB). Lines
                   of findings are read up to 64 MiB, as every reader of
                   findings.jsonl reads them.

A summary (records, addresses, how many gained each field, rejections and
the databases with their dates) goes to standard output, or to standard
error when --out is "-".

Examples:
  seams enrich --asn-db asn.mmdb --geo-db country.mmdb --in reports.jsonl.gz --out reports-enriched.jsonl.gz
  seams enrich --asn-db asn.mmdb --in out/findings.jsonl --out - | jq .evidence[].observed

Exit status: 0 when the file was enriched, even with rejections; 1 when it
could not be (an unreadable input or database, an unwritable output, an
interrupt); 2 for a usage error.
`,
	run: runEnrich,
}

// enrichFlagOf maps the fields of enrich.FileOptions to their flags.
var enrichFlagOf = map[string]string{
	"In": "in", "Out": "out", "ASNDB": "asn-db", "GeoDB": "geo-db", "Kind": "kind",
	"MaxLine": "max-line", "RejectedFile": "rejected",
}

func enrichFlags(o *enrich.FileOptions, db *dbArgs) *flag.FlagSet {
	fs := newFlags("enrich")
	db.register(fs)
	fs.StringVar(&o.In, "in", "", "")
	fs.StringVar(&o.Out, "out", "", "")
	fs.StringVar(&o.RejectedFile, "rejected", "", "")
	fs.StringVar(&o.Kind, "kind", "", "")
	fs.IntVar(&o.MaxLine, "max-line", o.MaxLine, "")
	return fs
}

func runEnrich(ctx context.Context, e *env, args []string) error {
	o := enrich.NewFileOptions()
	var db dbArgs
	fs := enrichFlags(&o, &db)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.ASNDB, o.GeoDB = db.asn, db.geo
	o.Stdin, o.Stdout = e.stdin, e.stdout
	if err := o.Validate(); err != nil {
		return fieldUsage("enrich", enrichFlagOf, err)
	}
	shown := 0
	const showRejected = 5
	o.Rejected = func(r *seams.RecordError) {
		if shown < showRejected {
			fmt.Fprintf(e.stderr, "seams enrich: rejected %s\n", r.Error())
			shown++
		}
	}
	s, err := enrich.Annotate(ctx, o)
	if err != nil {
		return err
	}
	w := e.stdout
	if o.Out == "-" {
		w = e.stderr
	}
	fmt.Fprintf(w, "enriched %s (%s): %d records, %d addresses: %d with an ASN, %d with a country, %d with a city; %d rejected\n",
		o.In, s.Kind, s.Records, s.Addrs, s.WithASN, s.WithCountry, s.WithCity, s.Rejected)
	if shown < s.Rejected {
		where := "give --rejected FILE to list them all"
		if o.RejectedFile != "" {
			where = "all are in " + o.RejectedFile
		}
		fmt.Fprintf(w, "%d more rejected than shown above (%s)\n", s.Rejected-shown, where)
	}
	for _, d := range s.Databases {
		fmt.Fprintf(w, "%s database: %s (%s, built %s)\n", d.Role, d.File, d.Type, d.Date())
	}
	if o.Out != "-" {
		fmt.Fprintf(w, "wrote %s\n", o.Out)
	}
	return nil
}
