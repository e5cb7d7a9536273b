package pseudonym

import (
	"fmt"
	"io"
	"net"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"
)

// RewriteMMDB reads a MaxMind DB (an IP-to-ASN or IP-to-location database)
// and writes to w the same database with every network mapped: the
// network of the same length holding the pseudonyms of its addresses. Its
// records (AS number and organisation, country, city) and metadata (type,
// description, languages, build date, IP version, record size) are kept,
// so that a lookup of an address's pseudonym finds what a lookup of the
// address finds in the original: xref's asn rule, --shared-asn and
// enrichment work on pseudonymised reports with it.
//
// The IPv6 ranges that such databases alias to IPv4 data (Teredo
// 2001::/32 and 6to4 2002::/16, whose addresses embed an IPv4 address)
// are not aliased in the database written, and a pseudonym does not embed
// the pseudonym of the IPv4 address: a Teredo or 6to4 address of a report
// finds nothing in it, where the original database answered with its
// IPv4 address's record. Every other address finds what it found.
//
// What it protects is little: whoever holds the database learns the AS and
// place of every pseudonymised address, and, comparing it with the public
// database it was made from, which real network each pseudonymised network
// is (docs/pseudonymize.md).
func RewriteMMDB(m Mapper, path string, w io.Writer) (Counts, error) {
	var c Counts
	db, err := maxminddb.Open(path)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	defer db.Close()
	md := db.Metadata
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		BuildEpoch:   int64(md.BuildEpoch),
		DatabaseType: md.DatabaseType,
		Description:  md.Description,
		IPVersion:    int(md.IPVersion),
		Languages:    md.Languages,
		RecordSize:   int(md.RecordSize),
		// Pseudonyms land anywhere outside the kept ranges, reserved
		// space (documentation ranges, 240.0.0.0/4) included.
		IncludeReservedNetworks: true,
		// And in Teredo and 6to4 space too, which the writer would
		// otherwise alias to the IPv4 data: a pseudonym there is an
		// address like any other, with its own network (see Kept).
		DisableIPv4Aliasing: true,
	})
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	u := mmdbtype.NewUnmarshaler()
	for res := range db.Networks() {
		if err := res.Err(); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
		c.Records++
		u.Clear()
		if err := res.Decode(u); err != nil {
			return c, fmt.Errorf("%s: record of %s: %w", path, res.Prefix(), err)
		}
		p := m.Prefix(prefixOfNetwork(res.Prefix()))
		c.Prefixes++
		ipnet := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
		if err := tree.Insert(ipnet, u.Result()); err != nil {
			return c, fmt.Errorf("%s: network %s: %w", path, res.Prefix(), err)
		}
		c.Written++
	}
	if _, err := tree.WriteTo(w); err != nil {
		return c, err
	}
	return c, nil
}
