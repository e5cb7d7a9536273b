// Package mmdb enriches addresses from IP-to-ASN and IP-to-location
// databases in the MaxMind DB format (GeoLite2, DB-IP, IPinfo and the
// ip-location-db packages): for an address, its autonomous system, the AS
// organisation, the country and the city, with the networks the answers
// hold for.
//
// An Enricher holds the databases of a run and a cache shared by every
// goroutine; its Lookup is the hot path, and costs a few nanoseconds when the
// answer is cached. DB is one database file, for callers that need one.
package mmdb

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"time"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// Info describes an opened database, as a run's summary records it.
type Info struct {
	Role        string    `json:"role,omitempty"`        // "asn" or "geo" in an Enricher
	File        string    `json:"file"`                  // the path as given
	Type        string    `json:"type"`                  // the metadata's database_type
	Description string    `json:"description,omitempty"` // its English description
	Built       time.Time `json:"built"`                 // build_epoch, in UTC
	IPVersion   int       `json:"ip_version"`            // 4: IPv4 only; 6: both
	Size        int64     `json:"size"`                  // bytes
	Networks    int       `json:"networks"`              // networks with a record
	Records     int       `json:"records"`               // distinct records
	// Provides lists what its records hold, from a sample of them:
	// "asn", "country", "city" (in that order).
	Provides []string `json:"provides"`
}

// Date returns the build date as YYYY-MM-DD.
func (i Info) Date() string { return i.Built.Format(time.DateOnly) }

// has reports whether the database provides field f.
func (i Info) has(f string) bool {
	for _, p := range i.Provides {
		if p == f {
			return true
		}
	}
	return false
}

// DB is one MaxMind DB file, verified on open. It is safe for concurrent use.
type DB struct {
	r    *maxminddb.Reader
	info Info
	// index maps a record's offset to its decoded form in records. Every
	// record is decoded once when the database is opened, so a lookup
	// never decodes (and never fails to): it walks the tree and reads a
	// map, which nothing writes after Open.
	index   map[uintptr]int32
	records []decoded
	// all4 is the network that stands for every IPv4 address when the
	// database cannot answer for IPv4 at all (its tree ends above the IPv4
	// subtree); all6 likewise for IPv6 in an IPv4-only database.
	all4, all6 netip.Prefix
}

// ErrNotMMDB is returned (wrapped) by Open for a file that is not a valid
// MaxMind DB database.
var ErrNotMMDB = errors.New("not a valid MaxMind DB file")

// Open opens the database at path and checks it: maxminddb-golang's
// Reader.Verify checks the search tree and the data section, then a walk of
// every network decodes each distinct record once, so that a corrupt or
// hostile file is refused here, naming the network at fault, rather than
// failing in the middle of a run, and so that Info says exactly what the
// records hold. This takes about 0.3 s for an ASN database and 2 s for a
// city database of millions of networks.
func Open(path string) (*DB, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a MaxMind DB file", path)
	}
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotMMDB, err)
	}
	d, err := newDB(path, st.Size(), r)
	if err != nil {
		r.Close()
		return nil, err
	}
	return d, nil
}

// OpenBytes opens and checks a database held in memory, named name in
// errors and in its Info. The slice must not change while the DB is in use.
func OpenBytes(name string, b []byte) (*DB, error) {
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrNotMMDB, err)
	}
	d, err := newDB(name, int64(len(b)), r)
	if err != nil {
		r.Close()
		return nil, err
	}
	return d, nil
}

func newDB(name string, size int64, r *maxminddb.Reader) (*DB, error) {
	md := r.Metadata
	if md.IPVersion != 4 && md.IPVersion != 6 {
		return nil, fmt.Errorf("%s: %w: ip_version %d (want 4 or 6)", name, ErrNotMMDB, md.IPVersion)
	}
	// Verify checks the search tree (no node reached twice, no path past
	// 128 bits: a hostile tree could otherwise make the walk below
	// exponential) and the data section. It also refuses metadata with an
	// empty description, which the ip-location-db databases have and which
	// lookups never read: give it a placeholder for the check.
	if len(md.Description) == 0 {
		r.Metadata.Description = map[string]string{"en": "(none)"}
	}
	err := r.Verify()
	r.Metadata.Description = md.Description
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrNotMMDB, err)
	}
	d := &DB{r: r, info: Info{
		File:        name,
		Type:        md.DatabaseType,
		Description: md.Description["en"],
		Built:       md.BuildTime().UTC(),
		IPVersion:   int(md.IPVersion),
		Size:        size,
	}}
	d.all4 = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	d.all6 = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	var asn, country, city bool
	d.index = map[uintptr]int32{}
	for res := range r.Networks() {
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w: search tree: %v", name, ErrNotMMDB, err)
		}
		d.info.Networks++
		off := res.Offset()
		if _, ok := d.index[off]; ok {
			continue
		}
		var rec record
		if err := res.Decode(&rec); err != nil {
			return nil, fmt.Errorf("%s: %w: record for %s: %v", name, ErrNotMMDB, res.Prefix(), err)
		}
		rec.finish()
		if len(d.records) == math.MaxInt32 {
			return nil, fmt.Errorf("%s: more than %d distinct records", name, math.MaxInt32)
		}
		d.index[off] = int32(len(d.records))
		d.records = append(d.records, decoded{asn: rec.asn, org: rec.org, country: rec.country, city: rec.city})
		asn = asn || rec.hasASN
		country = country || rec.country != ""
		city = city || rec.city != ""
	}
	d.info.Records = len(d.records)
	d.info.Provides = []string{}
	for _, p := range []struct {
		ok   bool
		name string
	}{{asn, "asn"}, {country, "country"}, {city, "city"}} {
		if p.ok {
			d.info.Provides = append(d.info.Provides, p.name)
		}
	}
	return d, nil
}

// Info describes the database.
func (d *DB) Info() Info {
	i := d.info
	i.Provides = append([]string(nil), i.Provides...)
	return i
}

// Close releases the database. No lookup may run during or after it.
func (d *DB) Close() error { return d.r.Close() }

// decoded is what seams keeps of one record.
type decoded struct {
	asn                uint32
	org, country, city string
}

// Record is what one database says of an address.
type Record struct {
	Found   bool         // the database has a record for the address
	Network netip.Prefix // the network the answer holds for, record or not
	ASN     uint32       // 0 if the record has none
	Org     string
	Country string // ISO 3166-1 alpha-2, upper case
	City    string
}

// Lookup returns what the database says of addr, uncached. An address of a
// family the database does not cover has no record; its Network is then the
// whole family (0.0.0.0/0 or ::/0). addr should be normalized
// (seams.NormalizeAddr); an IPv4-mapped address is unmapped here.
func (d *DB) Lookup(addr netip.Addr) (Record, error) {
	addr = addr.Unmap()
	if addr.Is6() && d.info.IPVersion == 4 {
		return Record{Network: d.all6}, nil
	}
	res := d.r.Lookup(addr)
	if err := res.Err(); err != nil {
		return Record{}, fmt.Errorf("%s: look up %s: %w", d.info.File, addr, err)
	}
	net := res.Prefix()
	if !net.Contains(addr.WithZone("")) {
		// The tree ends before reaching the IPv4 subtree of an IPv6
		// database: no IPv4 address has a record.
		net = d.all4
		if addr.Is6() {
			net = d.all6
		}
	}
	rec := Record{Network: net}
	if !res.Found() {
		return rec, nil
	}
	i, ok := d.index[res.Offset()]
	if !ok {
		// Open walked every network: a record it did not see is corrupt.
		return Record{}, fmt.Errorf("%s: record for %s (%s) at an offset the search tree walk never reached", d.info.File, addr, net)
	}
	r := &d.records[i]
	rec.Found = true
	rec.ASN, rec.Org, rec.Country, rec.City = r.asn, r.org, r.country, r.city
	return rec, nil
}
