// Package mmdbcsv builds MaxMind DB files from CSV tables of networks, as
// the ip-location-db packages publish them (start,end,asn,org) or as seams
// keeps its test extracts (network,asn,org). It exists because no openly
// licensed IP-to-ASN database is published in MaxMind format on the registry
// seams installs from; the CSV form of the same data is.
package mmdbcsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Fields of the records written, by CSV column name. asn and org use the
// GeoLite2-ASN names so that every MaxMind-format reader understands them;
// country and city use the flat names of the ip-location-db databases. Any
// other column is written as a string field of its own name.
var fieldOf = map[string]string{
	"asn":     "autonomous_system_number",
	"org":     "autonomous_system_organization",
	"country": "country_code",
	"city":    "city",
}

// Options describe the database to build.
type Options struct {
	// Columns names the CSV columns. Nil means the first row of each input
	// is a header naming them. Either "network" (a CIDR) or "start" and
	// "end" (an inclusive range) must be among them.
	Columns      []string
	DatabaseType string
	Description  string
	BuildEpoch   int64 // Unix seconds; required, so that builds are reproducible
	// IPv4Only builds an IPv4 database (ip_version 4); the default is an
	// IPv6 database holding both families.
	IPv4Only bool
	// IncludeReserved allows networks in reserved space (documentation
	// ranges, private space): test fixtures only.
	IncludeReserved bool
}

// Input is one CSV table.
type Input struct {
	Name string // for errors
	R    io.Reader
}

// Stats counts what a build read.
type Stats struct {
	Rows     int // data rows read
	Networks int // rows inserted
	Skipped  int // rows inside reserved or IPv4-aliased space, left out
}

// Build reads the inputs in order and writes the database to w. A later row
// replaces what an earlier one said of the same addresses.
func Build(w io.Writer, in []Input, o Options) (Stats, error) {
	var st Stats
	if o.BuildEpoch == 0 {
		return st, errors.New("mmdbcsv: BuildEpoch is required")
	}
	ipv := 6
	if o.IPv4Only {
		ipv = 4
	}
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		BuildEpoch:              o.BuildEpoch,
		DatabaseType:            o.DatabaseType,
		Description:             map[string]string{"en": o.Description},
		IPVersion:               ipv,
		RecordSize:              28,
		IncludeReservedNetworks: o.IncludeReserved,
		Languages:               []string{"en"},
	})
	if err != nil {
		return st, err
	}
	for _, input := range in {
		if err := insertCSV(tree, input, o.Columns, &st, ipv); err != nil {
			return st, err
		}
	}
	if _, err := tree.WriteTo(w); err != nil {
		return st, err
	}
	return st, nil
}

func insertCSV(tree *mmdbwriter.Tree, in Input, columns []string, st *Stats, ipv int) error {
	cr := csv.NewReader(in.R)
	cr.ReuseRecord = true
	line := 0
	if columns == nil {
		h, err := cr.Read()
		if err != nil {
			return fmt.Errorf("%s: header: %w", in.Name, err)
		}
		line++
		for _, c := range h {
			columns = append(columns, strings.ToLower(strings.TrimSpace(c)))
		}
	}
	col := map[string]int{}
	for i, c := range columns {
		col[c] = i
	}
	_, hasNet := col["network"]
	_, hasStart := col["start"]
	_, hasEnd := col["end"]
	if !hasNet && !(hasStart && hasEnd) {
		return fmt.Errorf("%s: columns %v name neither network nor start and end", in.Name, columns)
	}
	cr.FieldsPerRecord = len(columns)
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		line++
		if err != nil {
			return fmt.Errorf("%s: %w", in.Name, err)
		}
		st.Rows++
		rec := mmdbtype.Map{}
		for i, c := range columns {
			v := strings.TrimSpace(row[i])
			if v == "" || c == "network" || c == "start" || c == "end" {
				continue
			}
			f, ok := fieldOf[c]
			if !ok {
				f = c
			}
			if c == "asn" {
				n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 32)
				if err != nil {
					return fmt.Errorf("%s:%d: invalid asn %q", in.Name, line, v)
				}
				rec[mmdbtype.String(f)] = mmdbtype.Uint32(n)
				continue
			}
			rec[mmdbtype.String(f)] = mmdbtype.String(v)
		}
		if hasNet {
			p, err := netip.ParsePrefix(row[col["network"]])
			if err != nil || p.Masked() != p {
				return fmt.Errorf("%s:%d: invalid network %q", in.Name, line, row[col["network"]])
			}
			if ipv == 4 && p.Addr().Is6() {
				return fmt.Errorf("%s:%d: IPv6 network %s in an IPv4 database", in.Name, line, p)
			}
			err = tree.Insert(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}, rec)
			if err = skipReserved(err, st); err != nil {
				return fmt.Errorf("%s:%d: %s: %w", in.Name, line, p, err)
			}
			continue
		}
		a, err1 := netip.ParseAddr(row[col["start"]])
		b, err2 := netip.ParseAddr(row[col["end"]])
		if err1 != nil || err2 != nil || a.Is4() != b.Is4() || b.Less(a) {
			return fmt.Errorf("%s:%d: invalid range %q-%q", in.Name, line, row[col["start"]], row[col["end"]])
		}
		if ipv == 4 && a.Is6() {
			return fmt.Errorf("%s:%d: IPv6 range in an IPv4 database", in.Name, line)
		}
		err = tree.InsertRange(net.IP(a.AsSlice()), net.IP(b.AsSlice()), rec)
		if err = skipReserved(err, st); err != nil {
			return fmt.Errorf("%s:%d: %s-%s: %w", in.Name, line, a, b, err)
		}
	}
}

// skipReserved counts an insert refused because the network lies in
// reserved space, or in space an IPv6 database aliases to IPv4 (6to4
// 2002::/16, Teredo 2001::/32, ::ffff:0:0/96), as skipped, and passes other
// errors on.
func skipReserved(err error, st *Stats) error {
	var re *mmdbwriter.ReservedNetworkError
	var ae *mmdbwriter.AliasedNetworkError
	switch {
	case err == nil:
		st.Networks++
		return nil
	case errors.As(err, &re), errors.As(err, &ae):
		st.Skipped++
		return nil
	}
	return err
}
