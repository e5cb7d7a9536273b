package registry

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/seams-dev/seams"
)

// The columns of a compounds file, in the order their problems are reported.
const (
	colID = iota
	colName
	colAliases
	colCountry
	colProvince
	colLat
	colLon
	colStatus
)

var compoundColumns = []column{
	colID:       {"id", true},
	colName:     {"name", true},
	colAliases:  {"aliases", false},
	colCountry:  {"country", true},
	colProvince: {"province", false},
	colLat:      {"lat", false},
	colLon:      {"lon", false},
	colStatus:   {"status", false},
}

// ReadCompounds reads a compounds CSV. Rows are returned in file order; of
// two rows with the same id the first stands and the later is rejected.
func ReadCompounds(r io.Reader, file string, reject Reject) ([]seams.Compound, error) {
	if reject == nil {
		reject = discard
	}
	t, err := newTable(r, file, compoundColumns)
	if err != nil {
		return nil, err
	}
	var out []seams.Compound
	firstLine := make(map[string]int)
	for {
		line, err := t.next(reject)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		c, reason := parseCompound(t)
		if reason == "" {
			if first, dup := firstLine[c.ID]; dup {
				reason = fmt.Sprintf("duplicate compound id %q (first on line %d)", c.ID, first)
			}
		}
		if reason != "" {
			t.reject(reject, reason)
			continue
		}
		firstLine[c.ID] = line
		out = append(out, c)
	}
}

// parseCompound validates the current row of t as a compound. The reason is
// empty when it is valid, and otherwise names the first problem found.
func parseCompound(t *table) (seams.Compound, string) {
	var c seams.Compound
	switch c.ID = t.get(colID); {
	case c.ID == "":
		return c, "id is empty"
	case !seams.ValidCompoundID(c.ID):
		return c, fmt.Sprintf("invalid id %q (want 1 to 64 characters from A-Za-z0-9._-)", c.ID)
	}
	if c.Name = t.get(colName); c.Name == "" {
		return c, "name is empty"
	}
	for a := range strings.SplitSeq(t.get(colAliases), ";") {
		if a = strings.TrimSpace(a); a != "" {
			c.Aliases = append(c.Aliases, a)
		}
	}
	country := t.get(colCountry)
	if country == "" {
		return c, "country is empty"
	}
	var err error
	if c.Country, err = seams.ParseCountry(country); err != nil {
		return c, err.Error()
	}
	c.Province = t.get(colProvince)
	// Each coordinate is optional and checked when given; a compound has
	// a location only when both are. A row with one is still a compound
	// (rejecting it would reject its indicators too, for a missing map
	// pin).
	lat, lon := t.get(colLat), t.get(colLon)
	var reason string
	if lat != "" {
		if c.Lat, reason = parseCoordinate("lat", lat, 90); reason != "" {
			return c, reason
		}
	}
	if lon != "" {
		if c.Lon, reason = parseCoordinate("lon", lon, 180); reason != "" {
			return c, reason
		}
	}
	if c.HasLocation = lat != "" && lon != ""; !c.HasLocation {
		c.Lat, c.Lon = 0, 0
	}
	if c.Status, err = seams.ParseStatus(t.get(colStatus)); err != nil {
		return c, err.Error()
	}
	return c, ""
}

// parseCoordinate parses a latitude or longitude: a decimal number in
// [-limit, limit]. strconv.ParseFloat alone would also take hexadecimal
// floats, Inf and NaN, which no one means as a coordinate.
func parseCoordinate(name, s string, limit float64) (float64, string) {
	bad := func() (float64, string) {
		return 0, fmt.Sprintf("invalid %s %q (want a decimal number in [-%g,%g])", name, s, limit, limit)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789.+-eE", r) }) {
		return bad()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < -limit || f > limit {
		return bad()
	}
	return f, ""
}
