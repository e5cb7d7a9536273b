package mmdb

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// Limits on what one record may hold. Real databases stay far below them; a
// hostile file that exceeds them gets an error naming the database, not an
// unbounded allocation.
const (
	maxOrgLen  = 512 // bytes of an AS organisation name
	maxNameLen = 256 // bytes of a city name or a country code field
)

// record is what seams reads of one database record. It is filled by a
// hand-written cursor decoder rather than by reflection so that one type can
// read every common layout, whatever the type of a field:
//
//	GeoLite2-ASN, DB-IP ASN, ip-location-db asn:  autonomous_system_number (uint), autonomous_system_organization
//	IPinfo lite / IPinfo ASN:                     asn ("AS13335"), as_name or name
//	GeoLite2/GeoIP2/DB-IP Country and City:       country{iso_code}, registered_country{iso_code}, city{names{en}}
//	ip-location-db country and city (flat):       country_code, city
//	IPinfo country:                               country ("US", a code)
//
// Fields of other kinds than expected are skipped, not errors: a field named
// "country" holding a country name (IPinfo lite) says nothing seams reads.
type record struct {
	asn        uint32
	hasASN     bool
	org        string
	name       string // "name": the organisation in IPinfo's ASN layout only
	country    string
	regCountry string // registered_country, used when country is absent
	city       string
	visited    int // map entries visited, bounded by maxEntries
}

// maxEntries bounds the map entries one record's decoding visits. A real
// record has a few dozen (GeoIP2-City: about 40 with all its names); a
// hostile one could repeat a key pointing at a large map many times.
const maxEntries = 4096

var errTooLarge = errors.New("record too large (more than 4096 map entries visited)")

func (r *record) spend() error {
	r.visited++
	if r.visited > maxEntries {
		return errTooLarge
	}
	return nil
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (r *record) UnmarshalMaxMindDBCursor(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	kind, err := c.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	if kind != mmdbdata.KindMap {
		// A record that is not a map (a bare string, say) holds nothing
		// seams reads.
		return c.Skip()
	}
	return r.eachEntry(c, func(key []byte, v mmdbdata.Cursor) (next mmdbdata.Cursor, err error) {
		switch string(key) {
		case "autonomous_system_number", "asn":
			next, err = r.readASN(v)
		case "autonomous_system_organization", "as_name", "as_organization", "asn_organization":
			r.org, next, err = readString(v, maxOrgLen)
		case "name":
			r.name, next, err = readString(v, maxOrgLen)
		case "country_code":
			var s string
			s, next, err = readString(v, maxNameLen)
			if cc, ok := countryCode(s); ok {
				r.country = cc
			}
		case "country":
			next, err = r.readCountry(v, &r.country)
		case "registered_country":
			next, err = r.readCountry(v, &r.regCountry)
		case "city":
			next, err = r.readCity(v, &r.city)
		default:
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, fmt.Errorf("field %q: %w", key, err)
		}
		return next, nil
	})
}

// eachEntry reads the map at v, handing each entry to field, which reads
// or skips its value and returns the cursor after it. Every entry is
// charged to the record's budget (see spend).
func (r *record) eachEntry(v mmdbdata.Cursor, field func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error)) (mmdbdata.Cursor, error) {
	m, err := v.Map()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for {
		key, fv, ok := m.Next(next)
		if !ok {
			break
		}
		if err := r.spend(); err != nil {
			return mmdbdata.Cursor{}, err
		}
		if next, err = field(key, fv); err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End()
}

// finish resolves the fields whose meaning depends on others.
func (r *record) finish() {
	if r.org == "" && r.hasASN {
		r.org = r.name // IPinfo's ASN database calls the organisation "name"
	}
	if r.country == "" {
		r.country = r.regCountry
	}
}

// readASN reads an AS number given as an unsigned integer or as a string
// "AS13335" or "13335". Other kinds, and strings that are no AS number, are
// skipped: such a record has no ASN.
func (r *record) readASN(v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	kind, err := v.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	switch kind {
	case mmdbdata.KindUint16, mmdbdata.KindUint32, mmdbdata.KindUint64:
		n, next, err := v.ReadUint()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if n > 0 && n <= math.MaxUint32 {
			r.asn, r.hasASN = uint32(n), true
		}
		return next, nil
	case mmdbdata.KindInt32:
		n, next, err := v.ReadInt32()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if n > 0 {
			r.asn, r.hasASN = uint32(n), true
		}
		return next, nil
	case mmdbdata.KindString:
		s, next, err := v.ReadStringMaxSize(maxNameLen)
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if n, ok := parseASNValue(s); ok {
			r.asn, r.hasASN = n, true
		}
		return next, nil
	}
	return v.Skip()
}

// parseASNValue reads "AS13335", "as13335" or "13335" as found in databases.
func parseASNValue(s string) (uint32, bool) {
	if len(s) > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') {
		s = s[2:]
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

// readString reads a string of at most max bytes; a value of another kind is
// skipped and reads as "".
func readString(v mmdbdata.Cursor, max uint64) (string, mmdbdata.Cursor, error) {
	kind, err := v.Kind()
	if err != nil {
		return "", mmdbdata.Cursor{}, err
	}
	if kind != mmdbdata.KindString {
		next, err := v.Skip()
		return "", next, err
	}
	return v.ReadStringMaxSize(max)
}

// readCountry reads a country given as a map with iso_code (MaxMind, DB-IP)
// or as a string that is a two-letter code (IPinfo country). A string that
// is a country's name is ignored.
func (r *record) readCountry(v mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	kind, err := v.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	switch kind {
	case mmdbdata.KindString:
		s, next, err := v.ReadStringMaxSize(maxNameLen)
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if cc, ok := countryCode(s); ok {
			*dst = cc
		}
		return next, nil
	case mmdbdata.KindMap:
		return r.eachEntry(v, func(key []byte, fv mmdbdata.Cursor) (mmdbdata.Cursor, error) {
			if string(key) != "iso_code" {
				return fv.Skip()
			}
			s, next, err := readString(fv, maxNameLen)
			if cc, ok := countryCode(s); ok {
				*dst = cc
			}
			return next, err
		})
	}
	return v.Skip()
}

// readCity reads a city given as a string (ip-location-db) or as a map whose
// names hold an English name (MaxMind, DB-IP).
func (r *record) readCity(v mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	kind, err := v.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	switch kind {
	case mmdbdata.KindString:
		s, next, err := v.ReadStringMaxSize(maxNameLen)
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		*dst = strings.TrimSpace(s)
		return next, nil
	case mmdbdata.KindMap:
		return r.eachEntry(v, func(key []byte, fv mmdbdata.Cursor) (mmdbdata.Cursor, error) {
			if string(key) != "names" {
				return fv.Skip()
			}
			return r.readEnglishName(fv, dst)
		})
	}
	return v.Skip()
}

// readEnglishName reads the "en" entry of a names map.
func (r *record) readEnglishName(v mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	kind, err := v.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	if kind != mmdbdata.KindMap {
		return v.Skip()
	}
	return r.eachEntry(v, func(key []byte, fv mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		if string(key) != "en" {
			return fv.Skip()
		}
		s, next, err := readString(fv, maxNameLen)
		*dst = strings.TrimSpace(s)
		return next, err
	})
}

// countryCode returns s as an upper-case ISO 3166-1 alpha-2 code if it has
// that form (two ASCII letters).
func countryCode(s string) (string, bool) {
	if len(s) != 2 || !isLetter(s[0]) || !isLetter(s[1]) {
		return "", false
	}
	if s[0] >= 'a' || s[1] >= 'a' {
		return strings.ToUpper(s), true
	}
	return s, true
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
