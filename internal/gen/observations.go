package gen

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"

	"github.com/seams-dev/seams"
)

// This file and the other observations*.go files generate the inputs of
// seams derive: compounds, their footprints, and a stream of location
// observations of devices (the shape of commercial location data), with the
// ground truth of who lives and works where and which addresses were
// whose, when. The world is written from how places, people, phones and
// networks behave, not from derive's rules:
//
//   - compounds sit at the edge of towns; some share a wall with another;
//     houses and shops line their fences; a geocoder's district centroid,
//     which phones without a location fix report, may fall inside one; so
//     may a cell tower;
//   - residents live inside for weeks or months, sleep there by day or
//     night (scam work runs by night), now and then go to the market, and
//     are sometimes moved to another compound; workers come in for day
//     shifts from town; delivery riders ride the town all day and hand food
//     in at compound gates for a few minutes; neighbours live at the fence;
//     visitors come for a day;
//   - phones report their place as apps allow: a few times a day, tens of
//     times, or every few minutes; by GPS (sometimes wrong beyond what it
//     states), by the stored place of a Wi-Fi access point (the same
//     coordinates for everyone on it), by the cell tower, or by the
//     geocoder's centroid with no accuracy at all;
//   - networks: mobile carriers put phones behind NAT pools, a new public
//     address each data session, shared with many subscribers at once;
//     fibre lines get dynamic IPv4 leases that pass to another subscriber
//     after a quarantine of days to months (a compound may get an old
//     address back months later) and an IPv6 /56 in which devices' privacy
//     addresses rotate daily; satellite terminals share public IPv4
//     addresses behind carrier-grade NAT and each has its own IPv6 /56.
//
// Geometry is done in integers (centimetres in a compound's local plane,
// microdegrees for places) and every draw comes from counter-based streams,
// so that the same seed gives the same bytes on every machine.

// ObservationOptions says what GenerateObservations writes.
type ObservationOptions struct {
	Seed         uint64
	Compounds    int    // default 12; the first 7 are real, publicly reported compounds
	Observations int    // observation lines, exactly, malformed ones included; default 1,000,000
	Reports      int    // report lines, planted and background; default 10,000
	Format       string // jsonl (default), csv or parquet
	Gzip         bool   // gzip the observations (jsonl and csv only)
	// BadRate is the fraction of observation lines made malformed (and,
	// when above 0, a few bad footprint features are added).
	BadRate float64
}

// DefaultObservationOptions returns the options of `seams gen --observations`
// without further flags.
func DefaultObservationOptions() ObservationOptions {
	return ObservationOptions{Seed: 1, Compounds: 12, Observations: 1_000_000, Reports: 10_000, Format: "jsonl"}
}

// ObservationFiles are the paths GenerateObservations wrote.
type ObservationFiles struct {
	Dir          string
	Compounds    string // compounds.csv
	Footprints   string // footprints.geojson
	Observations string // observations.jsonl, .csv or .parquet (maybe .gz)
	Sensitive    string // sensitive.geojson: clinics, places of worship, schools
	Reports      string // reports.jsonl: planted reports and background
	// Truth lists the findings that a cross-reference of the reports against
	// a registry derived from the observations must produce:
	// {"report","compound","tier","category"} per line.
	Truth string
	// Planted lists every planted report with what it was planted on:
	// {"report","category","compound"}, the must-not-find ones included.
	Planted string
	// World is the ground truth of the observations, one JSON object a
	// line (see writeWorld): residents and workers, the compounds'
	// addresses and prefixes with their lease periods, the carrier and
	// satellite addresses members used inside, later holders of compound
	// addresses, and the riders, neighbours, visitors and centroid phones.
	World string
}

// CircleRadius is the radius, in meters, of the compounds that get no
// footprint feature: derive's default --radius.
const CircleRadius = 250

// Validate reports every mistake in o, by field (seams.FieldError, joined).
func (o *ObservationOptions) Validate() error {
	var errs []error
	if o.Compounds < 1 || o.Compounds > 5000 {
		errs = append(errs, seams.InvalidField("Compounds", "compounds %d (want 1 to 5000)", o.Compounds))
	}
	if o.Observations < 0 || o.Observations > 2_000_000_000 {
		errs = append(errs, seams.InvalidField("Observations", "observations %d (want 0 to 2,000,000,000)", o.Observations))
	}
	if o.Reports < 0 {
		errs = append(errs, seams.InvalidField("Reports", "reports %d (want 0 or more)", o.Reports))
	}
	if !(o.BadRate >= 0 && o.BadRate <= 0.5) {
		errs = append(errs, seams.InvalidField("BadRate", "bad rate %g (want a fraction in [0,0.5])", o.BadRate))
	}
	switch o.Format {
	case "", "jsonl", "csv":
	case "parquet":
		if o.Gzip {
			errs = append(errs, seams.InvalidField("Gzip", "a Parquet file is not gzipped (it compresses its own pages)"))
		}
	default:
		errs = append(errs, seams.InvalidField("Format", "format %q (want jsonl, csv or parquet)", o.Format))
	}
	return errors.Join(errs...)
}

// streamObservations is the seed stream of the world's setup.
const streamObservations = 0x5ea75_0003

// GenerateObservations writes an observation data set into dir, creating it
// if needed. The same seed and options give the same bytes.
func GenerateObservations(dir string, o ObservationOptions) (ObservationFiles, error) {
	if o.Format == "" {
		o.Format = "jsonl"
	}
	if err := o.Validate(); err != nil {
		return ObservationFiles{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ObservationFiles{}, fmt.Errorf("generate: %w", err)
	}
	w, err := newWorld(&o)
	if err != nil {
		return ObservationFiles{}, err
	}
	f := ObservationFiles{
		Dir:          dir,
		Compounds:    filepath.Join(dir, "compounds.csv"),
		Footprints:   filepath.Join(dir, "footprints.geojson"),
		Observations: filepath.Join(dir, "observations."+o.Format),
		Sensitive:    filepath.Join(dir, "sensitive.geojson"),
		Reports:      filepath.Join(dir, "reports.jsonl"),
		Truth:        filepath.Join(dir, "truth.jsonl"),
		Planted:      filepath.Join(dir, "planted.jsonl"),
		World:        filepath.Join(dir, "world.jsonl"),
	}
	if o.Gzip {
		f.Observations += ".gz"
	}
	for _, x := range []struct {
		path string
		fill func(*bufio.Writer) error
	}{{f.Compounds, w.writeCompounds}, {f.Footprints, w.writeFootprints}, {f.Sensitive, w.writeSensitive},
		{f.Observations, w.writeObservations}, {f.World, w.writeWorld}} {
		if err := writeFile(x.path, x.fill); err != nil {
			return ObservationFiles{}, err
		}
	}
	if err := writeFile(f.Truth, func(truth *bufio.Writer) error {
		return writeFile(f.Planted, func(planted *bufio.Writer) error {
			return writeFile(f.Reports, func(rw *bufio.Writer) error { return w.writeReports(rw, truth, planted) })
		})
	}); err != nil {
		return ObservationFiles{}, err
	}
	return f, nil
}

// The calendar of the observations: 240 days from 2024-01-01.
var obsDay0 = daysFromCivil(2024, 1, 1)

const (
	obsDays  = 240
	daySecs  = 86400
	calSecs  = obsDays * daySecs
	hourSecs = 3600
)

// Integer geometry. Local positions are centimetres east (x) and north (y)
// of a compound's origin; places are microdegrees.
const (
	cmPerDegLat = 11131949 // orb.EarthRadius·π/180 m, in cm
	microdeg    = 1_000_000
)

// cosT and sinT are cos and sin of whole degrees, times 1e6.
var cosT, sinT [360]int64

func init() {
	for d := range 360 {
		cosT[d] = int64(math.Round(math.Cos(float64(d)*math.Pi/180) * 1e6))
		sinT[d] = int64(math.Round(math.Sin(float64(d)*math.Pi/180) * 1e6))
	}
}

// pt is a point of a compound's plane, in cm.
type pt struct{ x, y int64 }

// fpBlock is a rectangle of a footprint: half sizes and centre in cm in the
// compound's plane, turned by rot degrees.
type fpBlock struct {
	cx, cy, hw, hh int64
	rot            int
}

// toLocal turns block coordinates (u along the width, v along the height)
// into the plane.
func (b *fpBlock) toLocal(u, v int64) pt {
	c, s := cosT[b.rot], sinT[b.rot]
	return pt{b.cx + (u*c-v*s)/1e6, b.cy + (u*s+v*c)/1e6}
}

// toBlock turns a point of the plane into block coordinates.
func (b *fpBlock) toBlock(p pt) (int64, int64) {
	c, s := cosT[b.rot], sinT[b.rot]
	dx, dy := p.x-b.cx, p.y-b.cy
	return (dx*c + dy*s) / 1e6, (-dx*s + dy*c) / 1e6
}

// obsCompound is a compound of the observation world.
type obsCompound struct {
	*compound
	idx      int
	lat, lon int64 // microdegrees: the origin of its plane
	cmPerLon int64 // cm per degree of longitude at lat
	blocks   []fpBlock
	circle   bool // no feature: a circle of CircleRadius about loc
	loc      pt   // its location, written to compounds.csv
	useID    bool // the feature names the compound in "id", not in properties
	badOnly  bool // its only feature is malformed (with a bad rate): derive falls back to a circle
	cidx     int  // country
	tz       int64
	town     *town
	adjacent int  // the compound it shares a wall with, or -1
	aps      []pt // Wi-Fi access points inside: their stored places
	lines    []int32
	sat      int32 // satellite terminal, or -1
	clinic   int32 // a sensitive zone inside, or -1
}

// place returns the microdegrees of a point of the plane.
func (c *obsCompound) place(p pt) (lat, lon int64) {
	return c.lat + p.y*microdeg/cmPerDegLat, c.lon + p.x*microdeg/c.cmPerLon
}

// distance returns the distance in cm from p to the footprint's edge:
// negative inside.
func (c *obsCompound) distance(p pt) int64 {
	if c.circle {
		dx, dy := p.x-c.loc.x, p.y-c.loc.y
		return isqrt(dx*dx+dy*dy) - CircleRadius*100
	}
	best := int64(math.MaxInt64)
	for i := range c.blocks {
		b := &c.blocks[i]
		u, v := b.toBlock(p)
		du, dv := abs64(u)-b.hw, abs64(v)-b.hh
		var d int64
		switch {
		case du <= 0 && dv <= 0:
			d = max(du, dv)
		default:
			d = isqrt(max(du, 0)*max(du, 0) + max(dv, 0)*max(dv, 0))
		}
		best = min(best, d)
	}
	return best
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// isqrt is the integer square root of x ≥ 0.
func isqrt(x int64) int64 {
	if x <= 0 {
		return 0
	}
	r := int64(math.Sqrt(float64(x)))
	for r*r > x {
		r--
	}
	for (r+1)*(r+1) <= x {
		r++
	}
	return r
}

// extent is how far, in cm, the footprint reaches from the location.
func (c *obsCompound) extent() int64 {
	if c.circle {
		return CircleRadius * 100
	}
	var e int64
	for _, b := range c.blocks {
		dx, dy := b.cx-c.loc.x, b.cy-c.loc.y
		e = max(e, isqrt(dx*dx+dy*dy)+isqrt(b.hw*b.hw+b.hh*b.hh))
	}
	return e
}

// inside draws a point inside the footprint, at least margin cm from its
// edge.
func (c *obsCompound) inside(r randSource, margin int64) pt {
	if c.circle {
		rad := int64(CircleRadius*100) - margin
		for {
			x, y := r.between(-rad, rad), r.between(-rad, rad)
			if x*x+y*y <= rad*rad {
				return pt{c.loc.x + x, c.loc.y + y}
			}
		}
	}
	b := &c.blocks[r.between(0, int64(len(c.blocks)-1))]
	return b.toLocal(r.between(-b.hw+margin, b.hw-margin), r.between(-b.hh+margin, b.hh-margin))
}

// nearFence draws a point outside the footprint, lo to hi cm from its
// edge, straight out from a side of a block (or the circle).
func (c *obsCompound) nearFence(r randSource, lo, hi int64) pt {
	d := r.between(lo, hi)
	if c.circle {
		a := r.between(0, 359)
		rad := int64(CircleRadius*100) + d
		return pt{c.loc.x + rad*cosT[a]/1e6, c.loc.y + rad*sinT[a]/1e6}
	}
	b := &c.blocks[r.between(0, int64(len(c.blocks)-1))]
	switch r.between(0, 3) {
	case 0:
		return b.toLocal(b.hw+d, r.between(-b.hh, b.hh))
	case 1:
		return b.toLocal(-b.hw-d, r.between(-b.hh, b.hh))
	case 2:
		return b.toLocal(r.between(-b.hw, b.hw), b.hh+d)
	}
	return b.toLocal(r.between(-b.hw, b.hw), -b.hh-d)
}

// randSource is what the geometry draws from: the setup's rng or a
// device's stream.
type randSource interface{ between(lo, hi int64) int64 }

// town is the town a compound sits at the edge of (shared by two compounds
// that share a wall). Its points are in the plane of its first compound.
type town struct {
	comp     int   // the compound whose plane it uses
	comps    []int // the compounds at its edge
	centre   pt
	radius   int64
	centroid pt   // the geocoder's district centroid
	inComp   int  // the compound the centroid lies inside, or -1
	towers   []pt // cell towers
	zones    []int32
}

// zone is a sensitive place: a clinic, a place of worship, a school.
type zone struct {
	kind, name string
	comp       int // the plane it is in
	at         pt
	radius     int64 // cm, for a point zone
	hw, hh     int64 // half sizes, for a rectangle (a school)
}

// world is the observation world.
type world struct {
	o     *ObservationOptions
	sp    *space
	comps []*obsCompound
	towns []*town
	zones []zone

	// Networks.
	mobile   [][]*mobileNet // mobile carriers of each country
	isps     [][]*isp       // fixed-line ISPs of each country
	lines    []fibre        // fibre subscriptions: compounds' and households'
	sats     []terminal     // satellite terminals
	satPool  []uint32       // the satellite operator's public IPv4 addresses
	reserved map[uint32]bool

	// Devices.
	devs       []device // every device but the towns'
	townDevs   []device
	households []household
	perDay     []int // town observations of each day
	bad, good  int

	// What the observations showed, for the truth and the reports.
	obs observed
}

// newWorld builds the world: compounds and footprints, towns, networks,
// and devices sized for the observations asked for.
func newWorld(o *ObservationOptions) (*world, error) {
	r := newRNG(o.Seed, streamObservations)
	s, err := newSpace(r)
	if err != nil {
		return nil, err
	}
	w := &world{o: o, sp: s, reserved: map[uint32]bool{}}
	w.placeCompounds(newCompounds(o.Compounds, s, r), r)
	w.placeTowns(r)
	w.bad = int(math.Round(float64(o.Observations) * o.BadRate))
	w.good = o.Observations - w.bad
	if err := w.addDevices(r); err != nil {
		return nil, err
	}
	w.addNetworks(r)
	w.obs.init(w)
	return w, nil
}

// placeCompounds gives each compound a place at least 3 km from the others
// (or, for some, sharing a wall with one), and a footprint.
func (w *world) placeCompounds(cs []*compound, r *rng) {
	const minApart = 300000 // cm
	far := func(lat, lon int64) bool {
		for _, c := range w.comps {
			clat, clon := c.place(c.loc)
			dy := (lat - clat) * cmPerDegLat / microdeg
			dx := (lon - clon) * c.cmPerLon / microdeg
			if dx*dx+dy*dy < minApart*minApart {
				return false
			}
		}
		return true
	}
	for i, c := range cs {
		oc := &obsCompound{compound: c, idx: i, lat: int64(c.lat) * 10000, lon: int64(c.lon) * 10000, adjacent: -1, sat: -1, clinic: -1}
		oc.cidx = slices.Index(countries, c.country)
		oc.tz = 7 * hourSecs
		if c.country == "MM" {
			oc.tz = 6*hourSecs + 30*60
		}
		oc.useID = r.percent(20)
		// A synthetic compound may be built against an earlier one,
		// sharing its wall: the same plane, its block beside the other's.
		if i >= len(realCompounds) && r.percent(25) {
			var cands []int
			for j, p := range w.comps {
				if !p.circle && len(p.blocks) == 1 && p.adjacent < 0 && p.cidx == oc.cidx && p.blocks[0].hw < 40000 {
					cands = append(cands, j)
				}
			}
			if len(cands) > 0 {
				p := w.comps[cands[r.intn(len(cands))]]
				pb := p.blocks[0]
				b := fpBlock{hw: r.between(7500, 20000), hh: pb.hh, rot: pb.rot}
				b.cx = pb.cx + (pb.hw+b.hw)*cosT[pb.rot]/1e6
				b.cy = pb.cy + (pb.hw+b.hw)*sinT[pb.rot]/1e6
				oc.lat, oc.lon, oc.cmPerLon = p.lat, p.lon, p.cmPerLon
				oc.blocks = []fpBlock{b}
				oc.loc = pt{b.cx, b.cy}
				oc.adjacent, p.adjacent = p.idx, i
				w.comps = append(w.comps, oc)
				continue
			}
		}
		if i >= len(realCompounds) {
			baseLat, baseLon := oc.lat, oc.lon
			for try := 0; try < 200; try++ {
				oc.lat, oc.lon = baseLat+r.between(-50000, 50000), baseLon+r.between(-50000, 50000)
				if far(oc.lat, oc.lon) {
					break
				}
			}
		}
		oc.cmPerLon = int64(math.Round(cmPerDegLat * math.Cos(float64(oc.lat)/microdeg*math.Pi/180)))
		switch x := r.intn(100); {
		case c.id == "c-kings-romans":
			// The Golden Triangle special economic zone: a district more
			// than a compound, the footprint derive must flag.
			oc.blocks = []fpBlock{{hw: r.between(120000, 140000), hh: r.between(120000, 140000), rot: r.intn(30)}}
		case x < 25:
			oc.circle = true
		case x < 40:
			// Two blocks across a road.
			rot := r.intn(90)
			hw1, hh1 := r.between(7500, 20000), r.between(7500, 20000)
			hw2, hh2 := r.between(7500, 20000), r.between(7500, 20000)
			gap := r.between(40000, 60000)
			off := (hw1 + gap + hw2) / 2
			b1 := fpBlock{hw: hw1, hh: hh1, rot: rot, cx: -off * cosT[rot] / 1e6, cy: -off * sinT[rot] / 1e6}
			b2 := fpBlock{hw: hw2, hh: hh2, rot: rot, cx: off * cosT[rot] / 1e6, cy: off * sinT[rot] / 1e6}
			oc.blocks = []fpBlock{b1, b2}
		default:
			oc.blocks = []fpBlock{{hw: r.between(7500, 35000), hh: r.between(7500, 35000), rot: r.intn(90)}}
		}
		w.comps = append(w.comps, oc)
	}
	// With a bad rate, the first circle's only feature is malformed: derive
	// rejects it and falls back to the circle, which is where its residents
	// live.
	if w.o.BadRate > 0 {
		for _, c := range w.comps {
			if c.circle {
				c.badOnly = true
				break
			}
		}
	}
	for _, c := range w.comps {
		n := 3 + r.intn(4)
		if len(c.blocks) > 0 && c.blocks[0].hw > 100000 {
			n = 12
		}
		for range n {
			c.aps = append(c.aps, c.inside(r, 1500))
		}
	}
}

// placeTowns puts a town at the edge of each compound (two that share a
// wall share it): its centre 1.2 to 3 km away, its houses in a disk of
// 1.5 km that reaches the fences, the geocoder's centroid, towers and
// sensitive places.
func (w *world) placeTowns(r *rng) {
	for _, c := range w.comps {
		if c.adjacent >= 0 && c.adjacent < c.idx {
			t := w.comps[c.adjacent].town
			t.comps = append(t.comps, c.idx)
			c.town = t
			continue
		}
		t := &town{comp: c.idx, comps: []int{c.idx}, radius: 150000, inComp: -1}
		extent := c.extent()
		for try := 0; ; try++ {
			d := extent + r.between(120000, 300000)
			a := r.intn(360)
			t.centre = pt{c.loc.x + d*cosT[a]/1e6, c.loc.y + d*sinT[a]/1e6}
			if w.clearOfOthers(c, t.centre, 230000) || try > 100 {
				break
			}
		}
		c.town = t
		w.towns = append(w.towns, t)
	}
	for _, t := range w.towns {
		c := w.comps[t.comp]
		// The district centroid: a third of the time inside a compound of
		// the town (a geocoder knows nothing of walls).
		if r.percent(35) {
			k := w.comps[t.comps[r.intn(len(t.comps))]]
			t.centroid, t.inComp = k.inside(r, 6000), k.idx
		} else {
			t.centroid = w.townPoint(t, r)
		}
		t.towers = append(t.towers, t.centre, w.townPoint(t, r), c.nearFence(r, 20000, 80000))
		if r.percent(25) {
			t.towers = append(t.towers, c.inside(r, 2000)) // a mast on the compound's land
		}
		for _, k := range []struct {
			kind string
			lo   int64
		}{{"clinic", 3000}, {"place of worship", 4000}, {"school", 0}} {
			z := zone{kind: k.kind, comp: t.comp, at: w.townPoint(t, r)}
			if k.lo > 0 {
				z.radius = r.between(k.lo, k.lo+3000)
			} else {
				z.hw, z.hh = r.between(3000, 5000), r.between(2500, 4000)
			}
			z.name = fmt.Sprintf("Synthetic %s %d", k.kind, len(w.zones)+1)
			t.zones = append(t.zones, int32(len(w.zones)))
			w.zones = append(w.zones, z)
		}
	}
	for _, c := range w.comps {
		if r.percent(20) {
			z := zone{kind: "clinic", comp: c.town.comp, at: w.inPlane(c, c.inside(r, 5000), c.town.comp), radius: r.between(1500, 2500)}
			z.name = fmt.Sprintf("Synthetic clinic %d", len(w.zones)+1)
			c.clinic = int32(len(w.zones))
			w.zones = append(w.zones, z)
		}
	}
}

// inPlane converts a point of c's plane into the plane of compound to (the
// same plane for compounds that share a wall, which is the only case).
func (w *world) inPlane(c *obsCompound, p pt, to int) pt {
	if c.idx == to || w.comps[to].lat == c.lat && w.comps[to].lon == c.lon {
		return p
	}
	panic("gen: points of unrelated planes")
}

// clearOfOthers reports whether p (in c's plane) lies at least d cm from
// the location of every compound not of c's plane.
func (w *world) clearOfOthers(c *obsCompound, p pt, d int64) bool {
	lat, lon := c.place(p)
	for _, o := range w.comps {
		if o.lat == c.lat && o.lon == c.lon {
			continue
		}
		olat, olon := o.place(o.loc)
		dy := (lat - olat) * cmPerDegLat / microdeg
		dx := (lon - olon) * o.cmPerLon / microdeg
		if dx*dx+dy*dy < d*d {
			return false
		}
	}
	return true
}

// outsideTown reports whether p lies at least margin cm outside every
// footprint of the town's compounds.
func (w *world) outsideTown(t *town, p pt, margin int64) bool {
	for _, ci := range t.comps {
		if w.comps[ci].distance(p) < margin {
			return false
		}
	}
	return true
}

// townPoint draws a point of the town: in its disk, at least 40 m from
// every footprint of its compounds.
func (w *world) townPoint(t *town, r randSource) pt {
	for {
		x, y := r.between(-t.radius, t.radius), r.between(-t.radius, t.radius)
		if x*x+y*y > t.radius*t.radius {
			continue
		}
		p := pt{t.centre.x + x, t.centre.y + y}
		ok := true
		for _, ci := range t.comps {
			if w.comps[ci].distance(p) < 4000 {
				ok = false
				break
			}
		}
		if ok {
			return p
		}
	}
}

// srng is a counter-based generator: a stream seeded by a few numbers, so
// that what a device does on a day can be drawn again without drawing
// everything before it (splitmix64).
type srng struct{ s uint64 }

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func newSrng(seed, kind, idx, day uint64) srng {
	h := mix64(seed ^ 0x6a09e667f3bcc909)
	h = mix64(h ^ kind*0x9e3779b97f4a7c15)
	h = mix64(h ^ idx*0xc2b2ae3d27d4eb4f)
	h = mix64(h ^ day*0x165667b19e3779f9)
	return srng{h}
}

func (r *srng) uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

func (r *srng) intn(n int) int {
	hi, _ := bits.Mul64(r.uint64(), uint64(n))
	return int(hi)
}

func (r *srng) between(lo, hi int64) int64 {
	x, _ := bits.Mul64(r.uint64(), uint64(hi-lo+1))
	return lo + int64(x)
}

func (r *srng) permille(p int) bool { return r.intn(1000) < p }

// hash3 mixes three numbers into one, for draws that must agree wherever
// they are made (a session's address).
func hash3(a, b, c uint64) uint64 {
	return mix64(mix64(mix64(a^0x243f6a8885a308d3)^b*0x9e3779b97f4a7c15) ^ c*0xc2b2ae3d27d4eb4f)
}
