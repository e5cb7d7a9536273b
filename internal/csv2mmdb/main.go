// Command csv2mmdb builds a MaxMind DB file from CSV tables of networks.
// scripts/fetch-ipdb runs it to turn the ip-location-db ASN tables, which
// the registry publishes only as CSV, into the MaxMind-format database that
// seams reads:
//
//	go run ./internal/csv2mmdb -columns start,end,asn,org \
//	    -type ip-location-db-ASN -description "..." -built 2026-06-17T19:00:00Z \
//	    -out asn.mmdb asn-ipv4.csv asn-ipv6.csv
//
// Columns: network (a CIDR) or start,end (an inclusive range); asn and org
// become autonomous_system_number and autonomous_system_organization (the
// GeoLite2-ASN layout); country and city become country_code and city; any
// other column a string field of that name. Without -columns the first row
// of each file names them.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seams-dev/seams/internal/mmdbcsv"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "csv2mmdb:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("csv2mmdb", flag.ContinueOnError)
	columns := fs.String("columns", "", "comma-separated column names; empty: a header row in each file")
	typ := fs.String("type", "", "database_type written into the metadata")
	desc := fs.String("description", "", "English description written into the metadata")
	built := fs.String("built", "", "build time, RFC 3339 (the data's date, for a reproducible file)")
	out := fs.String("out", "", "output file")
	v4 := fs.Bool("ipv4", false, "build an IPv4-only database")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *typ == "" || *built == "" || fs.NArg() == 0 {
		return fmt.Errorf("usage: csv2mmdb -type T -built TIME -out FILE [-columns C] [-description D] [-ipv4] CSV...")
	}
	t, err := time.Parse(time.RFC3339, *built)
	if err != nil {
		return fmt.Errorf("invalid -built %q (want RFC 3339, e.g. 2026-06-17T19:00:00Z)", *built)
	}
	o := mmdbcsv.Options{DatabaseType: *typ, Description: *desc, BuildEpoch: t.Unix(), IPv4Only: *v4}
	if *columns != "" {
		o.Columns = strings.Split(*columns, ",")
	}
	var in []mmdbcsv.Input
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = append(in, mmdbcsv.Input{Name: name, R: f})
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	st, err := mmdbcsv.Build(tmp, in, o)
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "csv2mmdb: %s: %d rows, %d networks, %d in reserved space left out\n", *out, st.Rows, st.Networks, st.Skipped)
	return nil
}
