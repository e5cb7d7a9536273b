package gen

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// compound is a compound of the generated registry and the lines its
// indicators come from.
type compound struct {
	id, name, aliases, country, province string
	lat, lon                             int // hundredths of a degree
	status                               string
	weight                               int // share of the indicators
	local                                timeFormat
	lines                                []line
	lineWeights                          []int
	// The compound's indicators by kind, for re-use over time.
	ips, cidrs, devices []int32
}

// line is one carrier a compound uses, and the /24 blocks of it the
// compound's addresses cluster in, as a building's fixed lines and the
// nearest cell towers would.
type line struct {
	pick   *picker
	blocks []block
}

type block struct {
	span   int32
	lo, hi uint32 // addresses, inclusive
}

// realCompound is a publicly reported scam compound. Locations are
// approximate (two decimals, from public reporting) and statuses are as
// publicly reported by late 2025; both are for display and demos, not fact.
type realCompound struct {
	id, name, aliases, country, province string
	lat, lon                             int
	status                               string
	weight                               int
	starlink, crossBorder                bool
}

var realCompounds = []realCompound{
	{"c-kkpark", "KK Park", "KK Park Myawaddy", "MM", "Kayin", 1659, 9855, "raided", 30, true, false},
	{"c-shwekokko", "Shwe Kokko", "Yatai New City;Yatai City", "MM", "Kayin", 1683, 9852, "raided", 24, true, false},
	{"c-dongmei", "Dongmei Park", "Dongmei Zone", "MM", "Kayin", 1662, 9855, "active", 14, true, true},
	{"c-jinbei", "Jinbei", "Jin Bei", "KH", "Preah Sihanouk", 1062, 10352, "active", 14, false, false},
	{"c-chinatown-shv", "Chinatown Sihanoukville", "Chinatown", "KH", "Preah Sihanouk", 1060, 10355, "raided", 14, false, false},
	{"c-golden-fortune", "Golden Fortune Science and Technology Park", "Golden Fortune", "KH", "Svay Rieng", 1107, 10614, "unknown", 12, false, true},
	{"c-kings-romans", "Kings Romans", "Golden Triangle SEZ;Golden Triangle Special Economic Zone", "LA", "Bokeo", 2036, 10010, "raided", 20, false, true},
}

type province struct {
	name     string
	lat, lon int
	weight   int
}

// Provinces where synthetic compounds are placed, with a point near where
// compounds have been reported; each synthetic compound is jittered from it.
var provinces = map[string][]province{
	"KH": {{"Preah Sihanouk", 1063, 10352, 4}, {"Svay Rieng", 1107, 10613, 2}, {"Koh Kong", 1162, 10298, 1},
		{"Banteay Meanchey", 1366, 10256, 2}, {"Oddar Meanchey", 1418, 10352, 1}, {"Phnom Penh", 1156, 10492, 2},
		{"Pursat", 1254, 10392, 1}, {"Kampot", 1061, 10418, 1}},
	"MM": {{"Kayin", 1670, 9851, 5}, {"Shan", 2045, 9988, 3}},
	"LA": {{"Bokeo", 2030, 10040, 4}, {"Luang Namtha", 2095, 10140, 1}, {"Vientiane Prefecture", 1797, 10260, 1}},
}

var statuses = []string{"active", "raided", "closed", "unknown", ""}
var statusWeights = []int{45, 20, 10, 15, 10}

// newCompounds builds n compounds: the real ones first, then synthetic ones.
func newCompounds(n int, s *space, r *rng) []*compound {
	out := make([]*compound, 0, n)
	for i := 0; i < n; i++ {
		var c *compound
		var starlink, cross bool
		if i < len(realCompounds) {
			rc := realCompounds[i]
			c = &compound{id: rc.id, name: rc.name, aliases: rc.aliases, country: rc.country, province: rc.province,
				lat: rc.lat, lon: rc.lon, status: rc.status, weight: rc.weight}
			starlink, cross = rc.starlink, rc.crossBorder
		} else {
			num := fmt.Sprintf("%03d", i+1)
			country := []string{"KH", "MM", "LA"}[r.weighted([]int{45, 40, 15})]
			ps := provinces[country]
			w := make([]int, len(ps))
			for j, p := range ps {
				w[j] = p.weight
			}
			p := ps[r.weighted(w)]
			c = &compound{id: "c-syn-" + num, name: "Synthetic compound " + num, country: country, province: p.name,
				lat: p.lat + r.intn(31) - 15, lon: p.lon + r.intn(31) - 15,
				status: statuses[r.weighted(statusWeights)], weight: 4 + r.intn(13)}
			starlink = r.percent(map[string]int{"MM": 50, "KH": 20, "LA": 20}[country])
			cross = r.percent(20)
		}
		c.local = tfICT
		if c.country == "MM" {
			c.local = tfMMT
		}
		c.addLines(s, r, starlink, cross)
		out = append(out, c)
	}
	return out
}

// addLines gives a compound its carriers: mobile and fixed lines of its
// country, and optionally Starlink and a mobile line across a border.
func (c *compound) addLines(s *space, r *rng, starlink, cross bool) {
	add := func(p *picker, w int) {
		if p != nil && p.total() > 0 {
			c.lines = append(c.lines, line{pick: p})
			c.lineWeights = append(c.lineWeights, w)
		}
	}
	for _, k := range []struct {
		class   class
		n, w    int
		country string
	}{{classMobile, 2, 30, c.country}, {classFixed, 1 + r.intn(2), 20, c.country}} {
		for _, cr := range pickCarriers(s.carriersOf(k.country, k.class), k.n, r) {
			add(&cr.pick, k.w)
		}
	}
	if starlink {
		add(&s.sharedSAT, 10)
		if r.percent(50) {
			add(&s.otherSAT, 8)
		}
	}
	if cross {
		var others []string
		for _, o := range []string{"KH", "MM", "LA"} {
			if o != c.country {
				others = append(others, o)
			}
		}
		o := others[r.intn(len(others))]
		if c.country == "LA" && c.id == "c-kings-romans" {
			o = "MM" // the Golden Triangle lies on the Myanmar border
		}
		for _, cr := range pickCarriers(s.carriersOf(o, classMobile), 1, r) {
			add(&cr.pick, 6)
		}
	}
}

// pickCarriers chooses n distinct carriers, the larger ones more often.
func pickCarriers(cs []*carrier, n int, r *rng) []*carrier {
	cs = append([]*carrier(nil), cs...)
	var out []*carrier
	for ; n > 0 && len(cs) > 0; n-- {
		w := make([]int, len(cs))
		for i, c := range cs {
			w[i] = int(c.pick.total())
		}
		i := r.weighted(w)
		out = append(out, cs[i])
		cs = append(cs[:i], cs[i+1:]...)
	}
	return out
}

func degrees(h int) string { return strconv.FormatFloat(float64(h)/100, 'f', 2, 64) }

// writeCompounds writes the compounds CSV.
func writeCompounds(w io.Writer, cs []*compound) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "name", "aliases", "country", "province", "lat", "lon", "status"})
	for _, c := range cs {
		cw.Write([]string{c.id, c.name, c.aliases, c.country, c.province, degrees(c.lat), degrees(c.lon), c.status})
	}
	cw.Flush()
	return cw.Error()
}
