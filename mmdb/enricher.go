package mmdb

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/seams-dev/seams"
)

// Options configure an Enricher.
type Options struct {
	// ASN lists IP-to-ASN database files, consulted in order: the first
	// with a record for an address answers (give an IPv4 and an IPv6 file,
	// or one file for both).
	ASN []string
	// Geo lists IP-to-location database files (country, and city where
	// they have it), consulted in the same way. The same file may be given
	// in both lists when it holds both kinds of data (IPinfo lite).
	Geo []string
	// CacheSize is the number of cache slots, rounded up to a power of two.
	// 0 means DefaultCacheSize; a negative size turns the cache off.
	CacheSize int
}

// DefaultCacheSize is the number of cache slots of an Enricher, about 1 MiB
// of slots plus up to about 20 MiB of cached results when all are filled.
// One slot holds the answer for a whole network, so this covers far more
// distinct addresses: every /24 of Cambodia, Myanmar, Laos and Starlink
// together is about 6,700 slots.
const DefaultCacheSize = 1 << 17

// NewOptions returns the default options: no database, the default cache.
func NewOptions() Options { return Options{CacheSize: DefaultCacheSize} }

// Result is what the databases say of one address. The zero Result means
// they say nothing.
type Result struct {
	ASN     uint32 // autonomous system number; 0 if unknown
	Org     string // AS organisation, as the ASN database names it
	Country string // ISO 3166-1 alpha-2, upper case; "" if unknown
	City    string // English name; "" if unknown
	// Network is the ASN database's network holding the address (usually
	// the routed prefix); GeoNetwork the location database's. Each is valid
	// only when that database has a record for the address.
	Network    netip.Prefix
	GeoNetwork netip.Prefix
	HasASN     bool // an ASN database has a record with an AS number
	HasGeo     bool // a location database has a record with a country or city
}

// Enricher answers Lookup from a run's databases through a cache. It is safe
// for concurrent use by any number of goroutines.
type Enricher struct {
	asn, geo []*DB
	opened   []*DB // each distinct file once, for Close
	cache    *cache
}

// Errors of New for a database given in the wrong role.
var (
	ErrNoASNData = errors.New("its records hold no AS numbers")
	ErrNoGeoData = errors.New("its records hold no country or city")
)

// New opens and verifies the databases of o. With no database at all the
// Enricher is valid and every Lookup returns the zero Result.
func New(o Options) (*Enricher, error) {
	e := &Enricher{}
	byPath := map[string]*DB{}
	open := func(path, role string, want string, errNo error) (*DB, error) {
		if path == "" {
			return nil, fmt.Errorf("empty %s database file name", role)
		}
		d, ok := byPath[path]
		if !ok {
			var err error
			if d, err = Open(path); err != nil {
				return nil, err
			}
			byPath[path] = d
			e.opened = append(e.opened, d)
		}
		if want == "asn" && !d.info.has("asn") || want == "geo" && !d.info.has("country") && !d.info.has("city") {
			hint := ""
			if role == "asn" && (d.info.has("country") || d.info.has("city")) {
				hint = " (it looks like a location database: give it as the geo database)"
			} else if role == "geo" && d.info.has("asn") {
				hint = " (it looks like an ASN database: give it as the ASN database)"
			}
			return nil, fmt.Errorf("%s: not usable as the %s database: %w (database_type %q)%s", path, role, errNo, d.info.Type, hint)
		}
		return d, nil
	}
	for _, p := range o.ASN {
		d, err := open(p, "asn", "asn", ErrNoASNData)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.asn = append(e.asn, d)
	}
	for _, p := range o.Geo {
		d, err := open(p, "geo", "geo", ErrNoGeoData)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.geo = append(e.geo, d)
	}
	if o.CacheSize >= 0 {
		n := o.CacheSize
		if n == 0 {
			n = DefaultCacheSize
		}
		e.cache = newCache(n)
	}
	return e, nil
}

// Close closes the databases. No Lookup may run during or after it.
func (e *Enricher) Close() error {
	var errs []error
	for _, d := range e.opened {
		errs = append(errs, d.Close())
	}
	e.opened, e.asn, e.geo = nil, nil, nil
	return errors.Join(errs...)
}

// HasASN reports whether the Enricher has an ASN database.
func (e *Enricher) HasASN() bool { return len(e.asn) > 0 }

// HasGeo reports whether the Enricher has a location database.
func (e *Enricher) HasGeo() bool { return len(e.geo) > 0 }

// Databases describes the databases in force, ASN databases first, each in
// the order given, with its role.
func (e *Enricher) Databases() []Info {
	var out []Info
	for _, d := range e.asn {
		i := d.Info()
		i.Role = "asn"
		out = append(out, i)
	}
	for _, d := range e.geo {
		i := d.Info()
		i.Role = "geo"
		out = append(out, i)
	}
	return out
}

// String describes the databases in force on one line, for logs and
// summaries: "asn: asn.mmdb (ip-location-db-ASN, 2026-06-17); geo: ...".
func (e *Enricher) String() string {
	var parts []string
	for _, i := range e.Databases() {
		parts = append(parts, fmt.Sprintf("%s: %s (%s, %s)", i.Role, i.File, i.Type, i.Date()))
	}
	if len(parts) == 0 {
		return "no databases"
	}
	return strings.Join(parts, "; ")
}

// Lookup returns what the databases say of addr. It normalizes addr
// (seams.NormalizeAddr). A cached answer costs no allocation and no lock.
// An error means a database record could not be decoded; it names the file
// and the address.
func (e *Enricher) Lookup(addr netip.Addr) (Result, error) {
	addr = seams.NormalizeAddr(addr)
	if !addr.IsValid() {
		return Result{}, nil
	}
	c := e.cache
	if c == nil {
		res, _, err := e.lookup(addr)
		return res, err
	}
	h, tag := c.slot(addr)
	if en := c.get(h, tag, addr); en != nil {
		return en.res, nil
	}
	res, valid, err := e.lookup(addr)
	if err != nil {
		return Result{}, err
	}
	c.put(h, tag, addr, &entry{valid: valid, res: res})
	return res, nil
}

// lookup asks the databases, uncached. It also returns the network over
// which the answer holds for every address: the intersection of the
// networks of every database consulted, which (all containing addr) is the
// longest of them.
func (e *Enricher) lookup(addr netip.Addr) (Result, netip.Prefix, error) {
	valid := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if addr.Is6() {
		valid = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	narrow := func(p netip.Prefix) {
		if p.Bits() > valid.Bits() {
			valid = p
		}
	}
	var res Result
	for _, d := range e.asn {
		rec, err := d.Lookup(addr)
		if err != nil {
			return Result{}, netip.Prefix{}, err
		}
		narrow(rec.Network)
		if rec.Found {
			res.ASN, res.Org, res.Network = rec.ASN, rec.Org, rec.Network
			res.HasASN = rec.ASN != 0
			break
		}
	}
	for _, d := range e.geo {
		rec, err := d.Lookup(addr)
		if err != nil {
			return Result{}, netip.Prefix{}, err
		}
		narrow(rec.Network)
		if rec.Found {
			res.Country, res.City, res.GeoNetwork = rec.Country, rec.City, rec.Network
			res.HasGeo = rec.Country != "" || rec.City != ""
			break
		}
	}
	return res, valid, nil
}
