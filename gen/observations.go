package gen

import (
	"bufio"
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
)

// This file and the other observations*.go files generate the inputs of
// seams derive: compounds, their footprints, and a stream of location
// observations of devices (the shape of commercial location data), with the
// ground truth of who lives where. The world is a few compounds in Cambodia,
// Myanmar and Laos, each with a town nearby:
//
//   - residents live inside a compound for weeks or months and are seen
//     there most days (some, whose apps seldom ask for the location, on a
//     few days a month); inside they mostly use the compound's Wi-Fi (a
//     fixed line or a satellite terminal: the compound addresses),
//     sometimes the mobile network;
//   - commuters spend their days just outside the fence, within 200 m of
//     it, and some pick up the compound's Wi-Fi there;
//   - visitors come inside on a day or two; occasional visitors come back
//     every month or two, never often enough to count as residents;
//   - the town's population never enters a compound.
//
// Everyone on the mobile network uses the carrier's NAT addresses, a pool
// per country shared by thousands: the shared infrastructure that must end
// up in the shared list, not in the registry. Fixes are noisy: the stated
// accuracy is usually honest, sometimes not (the error is then up to three
// times the stated radius), sometimes missing, and sometimes coarse (cell
// towers). Geometry is done in integers (centimetres and microdegrees), so
// that the same seed gives the same bytes on every machine.

// ObservationOptions says what GenerateObservations writes.
type ObservationOptions struct {
	Seed         uint64
	Compounds    int    // default 20; the first 7 are real, publicly reported compounds
	Observations int    // observation lines, exactly, malformed ones included; default 200,000
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
	return ObservationOptions{Seed: 1, Compounds: 20, Observations: 200_000, Reports: 10_000, Format: "jsonl"}
}

// ObservationFiles are the paths GenerateObservations wrote.
type ObservationFiles struct {
	Dir          string
	Compounds    string // compounds.csv
	Footprints   string // footprints.geojson
	Observations string // observations.jsonl, .csv or .parquet (maybe .gz)
	Reports      string // reports.jsonl: planted on residents, compound and shared addresses
	// Truth lists the findings that a cross-reference of the reports against
	// a registry derived from the observations must produce:
	// {"report","compound","tier"} per line, as truth.jsonl of Generate.
	Truth string
	// World is the ground truth of the observations, one JSON object a line:
	// {"kind":"resident","compound":...,"device":...,"first_day":...,"last_day":...},
	// {"kind":"address","compound":...,"ip":...} (a compound address that
	// residents used inside), {"kind":"shared","ip":...} (a carrier address
	// that residents used inside and the town uses too), and for reference
	// {"kind":"commuter"|"visitor"|"occasional","compound":...,"device":...}.
	World string
}

// CircleRadius is the radius, in meters, of the compounds that get no
// footprint feature: derive's default --radius.
const CircleRadius = 250

func (o *ObservationOptions) validate() error {
	switch {
	case o.Compounds < 1 || o.Compounds > 5000:
		return fmt.Errorf("%w: compounds %d (want 1 to 5000)", ErrOptions, o.Compounds)
	case o.Observations < 0 || o.Observations > 2_000_000_000:
		return fmt.Errorf("%w: observations %d (want 0 to 2,000,000,000)", ErrOptions, o.Observations)
	case o.Reports < 0:
		return fmt.Errorf("%w: reports %d (want 0 or more)", ErrOptions, o.Reports)
	case !(o.BadRate >= 0 && o.BadRate <= 0.5):
		return fmt.Errorf("%w: bad rate %g (want a fraction in [0,0.5])", ErrOptions, o.BadRate)
	}
	switch o.Format {
	case "", "jsonl", "csv":
	case "parquet":
		if o.Gzip {
			return fmt.Errorf("%w: a Parquet file is not gzipped (it compresses its own pages)", ErrOptions)
		}
	default:
		return fmt.Errorf("%w: format %q (want jsonl, csv or parquet)", ErrOptions, o.Format)
	}
	return nil
}

// streamObservations is the seed stream of the world's setup.
const streamObservations = 0x5ea75_0003

// GenerateObservations writes an observation data set into dir, creating it
// if needed. The same seed and options give the same bytes.
func GenerateObservations(dir string, o ObservationOptions) (ObservationFiles, error) {
	if o.Format == "" {
		o.Format = "jsonl"
	}
	if err := o.validate(); err != nil {
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
		Reports:      filepath.Join(dir, "reports.jsonl"),
		Truth:        filepath.Join(dir, "truth.jsonl"),
		World:        filepath.Join(dir, "world.jsonl"),
	}
	if o.Gzip {
		f.Observations += ".gz"
	}
	if err := writeFile(f.Compounds, w.writeCompounds); err != nil {
		return ObservationFiles{}, err
	}
	if err := writeFile(f.Footprints, w.writeFootprints); err != nil {
		return ObservationFiles{}, err
	}
	if err := writeFile(f.Observations, w.writeObservations); err != nil {
		return ObservationFiles{}, err
	}
	if err := writeFile(f.World, w.writeWorld); err != nil {
		return ObservationFiles{}, err
	}
	if err := writeFile(f.Truth, func(truth *bufio.Writer) error {
		return writeFile(f.Reports, func(rw *bufio.Writer) error { return w.writeReports(rw, truth) })
	}); err != nil {
		return ObservationFiles{}, err
	}
	return f, nil
}

// The calendar of the observations: 540 days from 2024-01-01.
var obsDay0 = daysFromCivil(2024, 1, 1)

const obsDays = 540

// Integer geometry. Local positions are centimetres east (x) and north (y)
// of a compound's centre; places are microdegrees.
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

// fpBlock is a rectangle of a footprint: half sizes and centre in cm in the
// compound's local plane, turned by rot degrees.
type fpBlock struct {
	cx, cy, hw, hh int64
	rot            int
}

// toLocal turns block coordinates (u along the width, v along the height)
// into the compound's plane.
func (b *fpBlock) toLocal(u, v int64) (int64, int64) {
	c, s := cosT[b.rot], sinT[b.rot]
	return b.cx + (u*c-v*s)/1e6, b.cy + (u*s+v*c)/1e6
}

// obsCompound is a compound of the observation world.
type obsCompound struct {
	*compound
	lat, lon  int64 // microdegrees
	cmPerLon  int64 // cm per degree of longitude at lat
	blocks    []fpBlock
	circle    bool // no feature: a circle of CircleRadius
	useID     bool // the feature names the compound in "id", not in properties
	townX     int64
	townY     int64 // the town's centre, cm from the compound's
	wifi      []uint32
	cidx      int // index of its country in countries
	residents []int32
}

// place returns the microdegrees of a local point.
func (c *obsCompound) place(x, y int64) (lat, lon int64) {
	return c.lat + y*microdeg/cmPerDegLat, c.lon + x*microdeg/c.cmPerLon
}

// Devices of the world. Each kind has its own seed stream, and everything a
// device does on a day comes from a stream seeded by (kind, device, day),
// so that it can be counted before it is written.
const (
	kindResident uint64 = iota + 1
	kindCommuter
	kindVisitor
	kindOccasional
	kindTown
	kindTownDevice
	kindBad
)

type resident struct {
	comp       int32
	dev        devKey
	homeX      int64
	homeY      int64
	start, end int32 // days of the stay, inclusive
	seen       int   // permille of the days of the stay it is seen
	usedWiFi   bool
	usedInside bool
}

type commuter struct {
	comp       int32
	dev        devKey
	ax, ay     int64 // where it spends the day, outside the fence
	start, end int32
	wifi       bool // near enough to pick up the compound's Wi-Fi
}

type visitor struct {
	comp int32
	dev  devKey
	days []int32 // days inside
}

type world struct {
	o         *ObservationOptions
	sp        *space
	comps     []*obsCompound
	residents []resident
	commuters []commuter
	visitors  []visitor  // short and occasional
	occasion  int        // visitors[occasion:] are occasional
	townDevs  int        // devices of the towns
	townComp  []int32    // town of each
	pools     [][]uint32 // carrier NAT addresses of each country
	mainPool  []int      // of which the first mainPool[country] are the busy pool
	fixed     []picker   // fixed lines of each country, for town homes
	reserved  map[uint32]bool
	// What residents did, for the truth: pool addresses and Wi-Fi used
	// inside, by compound.
	poolInside map[uint64]bool // country<<32 | pool index
	wifiInside map[uint64]bool // comp<<32 | wifi index
	perDay     []int           // town observations of each day
	bad        int             // malformed lines to write
	good       int
}

// newWorld builds the world: compounds and footprints, addresses, and
// devices sized for the observations asked for.
func newWorld(o *ObservationOptions) (*world, error) {
	r := newRNG(o.Seed, streamObservations)
	s, err := newSpace(r)
	if err != nil {
		return nil, err
	}
	w := &world{o: o, sp: s, reserved: map[uint32]bool{}, poolInside: map[uint64]bool{}, wifiInside: map[uint64]bool{}}
	w.placeCompounds(newCompounds(o.Compounds, s, r), r)
	w.addAddresses(r)
	w.bad = int(math.Round(float64(o.Observations) * o.BadRate))
	w.good = o.Observations - w.bad
	if err := w.addDevices(r); err != nil {
		return nil, err
	}
	return w, nil
}

// placeCompounds gives each compound a place at least 3 km from the others,
// a footprint and a town.
func (w *world) placeCompounds(cs []*compound, r *rng) {
	const minApart = 300000 // cm
	far := func(lat, lon int64, except int) bool {
		for i, c := range w.comps {
			if i == except {
				continue
			}
			dy := (lat - c.lat) * cmPerDegLat / microdeg
			dx := (lon - c.lon) * c.cmPerLon / microdeg
			if dx*dx+dy*dy < minApart*minApart {
				return false
			}
		}
		return true
	}
	for i, c := range cs {
		oc := &obsCompound{compound: c, lat: int64(c.lat) * 10000, lon: int64(c.lon) * 10000}
		oc.cidx = slices.Index(countries, c.country)
		if i >= len(realCompounds) {
			// Synthetic compounds: jittered again, to the microdegree and
			// away from the others.
			baseLat, baseLon := oc.lat, oc.lon
			for try := 0; try < 200; try++ {
				oc.lat, oc.lon = baseLat+r.between(-50000, 50000), baseLon+r.between(-50000, 50000)
				if far(oc.lat, oc.lon, -1) {
					break
				}
			}
		}
		oc.cmPerLon = int64(math.Round(cmPerDegLat * math.Cos(float64(oc.lat)/microdeg*math.Pi/180)))
		switch x := r.intn(100); {
		case x < 25:
			oc.circle = true
		case x < 40:
			// Two blocks across a road.
			rot := r.intn(90)
			hw1, hh1 := r.between(7500, 20000), r.between(7500, 20000)
			hw2, hh2 := r.between(7500, 20000), r.between(7500, 20000)
			gap := r.between(40000, 60000)
			b1 := fpBlock{hw: hw1, hh: hh1, rot: rot}
			b2 := fpBlock{hw: hw2, hh: hh2, rot: rot}
			// Side by side along the blocks' width, centred on the
			// compound's location.
			off := (hw1 + gap + hw2) / 2
			b1.cx, b1.cy = -off*cosT[rot]/1e6, -off*sinT[rot]/1e6
			b2.cx, b2.cy = off*cosT[rot]/1e6, off*sinT[rot]/1e6
			oc.blocks = []fpBlock{b1, b2}
		default:
			oc.blocks = []fpBlock{{hw: r.between(7500, 35000), hh: r.between(7500, 35000), rot: r.intn(90)}}
		}
		oc.useID = r.percent(20)
		w.comps = append(w.comps, oc)
	}
	// Towns: 3.5 to 8 km away, and at least 3 km from every compound, so
	// that no one of the town is ever inside a footprint.
	for _, c := range w.comps {
		for try := 0; ; try++ {
			d := r.between(350000, 800000) + int64(try)*20000
			a := r.intn(360)
			x, y := d*cosT[a]/1e6, d*sinT[a]/1e6
			lat, lon := c.place(x, y)
			if far(lat, lon, -1) || try > 200 {
				c.townX, c.townY = x, y
				break
			}
		}
	}
}

// addAddresses gives each compound its Wi-Fi (fixed lines of its country,
// and a satellite terminal for some in Myanmar) and each country its pool of
// carrier NAT addresses.
func (w *world) addAddresses(r *rng) {
	s := w.sp
	w.fixed = make([]picker, len(countries))
	for ci, country := range countries {
		for _, cr := range s.carriersOf(country, classFixed) {
			for k, si := range cr.pick.spans {
				prev := uint64(0)
				if k > 0 {
					prev = cr.pick.cum[k-1]
				}
				w.fixed[ci].add(si, uint32(cr.pick.cum[k]-prev))
			}
		}
	}
	for _, c := range w.comps {
		fixed := s.carriersOf(c.country, classFixed)
		n := 1 + r.intn(3)
		for _, cr := range pickCarriers(fixed, n, r) {
			c.wifi = append(c.wifi, w.freeAddr(r, &cr.pick))
		}
		if c.country == "MM" && r.percent(40) {
			c.wifi = append(c.wifi, w.freeAddr(r, &s.otherSAT))
		}
	}
	w.pools = make([][]uint32, len(countries))
}

// freeAddr draws an address from p that no one else in the world has.
func (w *world) freeAddr(r *rng, p *picker) uint32 {
	for {
		_, a := p.pick(r, w.sp.spans)
		if b := a & 0xff; b == 0 || b == 0xff || w.reserved[a] {
			continue
		}
		w.reserved[a] = true
		return a
	}
}

// Expected observations of a device of each kind over its life, used to
// size the population for the observations asked for.
const (
	expResident   = 410
	expCommuter   = 740
	expVisitor    = 9
	expOccasional = 12
)

// addDevices sizes and builds the population, counts what it will be seen
// doing, and leaves the rest of the observations to the towns.
func (w *world) addDevices(r *rng) error {
	n, k := w.good, len(w.comps)
	share := func(f float64, exp, least int) int { return max(least, int(f*float64(n)/float64(exp))) }
	nRes := share(0.40, expResident, 3*k)
	nCom := share(0.10, expCommuter, k)
	nVis := share(0.02, expVisitor, 2*k)
	nOcc := share(0.01, expOccasional, k)
	weights := make([]int, k)
	for i, c := range w.comps {
		weights[i] = c.weight
	}
	spread := func(total, least int) []int32 {
		// Each compound at least least, the rest by weight.
		var out []int32
		for i := range w.comps {
			for range least {
				out = append(out, int32(i))
			}
		}
		for len(out) < total {
			out = append(out, int32(r.weighted(weights)))
		}
		return out
	}
	for _, ci := range spread(nRes, 3) {
		c := w.comps[ci]
		x, y := c.inside(r, 3000)
		res := resident{comp: ci, dev: obsDevice(r), homeX: x, homeY: y, seen: 500 + r.intn(400)}
		if r.percent(15) {
			// Seen rarely: an app that seldom asks for the location.
			// Some of these are never seen on enough days close together.
			res.seen = 30 + r.intn(120)
		}
		length := int32(r.between(60, 300))
		if r.percent(20) {
			length = int32(r.between(14, 40))
		}
		// Stays may have begun before the calendar or go on after it; at
		// least 14 days of each fall within it.
		res.start = int32(r.between(int64(14-length), obsDays-14))
		res.end = res.start + length - 1
		res.start, res.end = max(res.start, 0), min(res.end, obsDays-1)
		c.residents = append(c.residents, int32(len(w.residents)))
		w.residents = append(w.residents, res)
	}
	for _, ci := range spread(nCom, 1) {
		c := w.comps[ci]
		x, y, d := c.nearFence(r)
		cm := commuter{comp: ci, dev: obsDevice(r), ax: x, ay: y, wifi: d < 6000 && r.percent(30)}
		cm.start = int32(r.intn(obsDays - 30))
		cm.end = min(obsDays-1, cm.start+int32(r.between(30, 300)))
		w.commuters = append(w.commuters, cm)
	}
	for _, ci := range spread(nVis, 2) {
		v := visitor{comp: ci, dev: obsDevice(r)}
		d := int32(r.intn(obsDays - 1))
		v.days = append(v.days, d)
		if r.percent(40) {
			v.days = append(v.days, d+1)
		}
		w.visitors = append(w.visitors, v)
	}
	w.occasion = len(w.visitors)
	for _, ci := range spread(nOcc, 1) {
		// Three or four visits, 35 to 60 days apart: never three within
		// derive's default window of 30 days.
		v := visitor{comp: ci, dev: obsDevice(r)}
		d := int32(r.intn(obsDays / 3))
		for range 3 + r.intn(2) {
			if d >= obsDays {
				break
			}
			v.days = append(v.days, d)
			d += int32(r.between(35, 60))
		}
		w.visitors = append(w.visitors, v)
	}
	// Count what the devices above do; the towns make up the rest.
	structured := 0
	for day := int32(0); day < obsDays; day++ {
		for i := range w.residents {
			structured += w.residentCount(i, day)
		}
		for i := range w.commuters {
			structured += w.commuterCount(i, day)
		}
		for i := range w.visitors {
			structured += w.visitorCount(i, day)
		}
	}
	town := w.good - structured
	if town < n/10 {
		return fmt.Errorf("%w: %d observations are too few for %d compounds (their residents, commuters and visitors alone take %d; give at least %d)",
			ErrOptions, w.o.Observations, k, structured, structured*2)
	}
	w.perDay = make([]int, obsDays)
	for d := range w.perDay {
		w.perDay[d] = town / obsDays
		if d < town%obsDays {
			w.perDay[d]++
		}
	}
	w.townDevs = max(200, town/80)
	w.townComp = make([]int32, w.townDevs)
	for i := range w.townComp {
		w.townComp[i] = int32(r.weighted(weights))
	}
	// Carrier NAT pools: about 40 device-days of the towns per address,
	// so that each is shared by dozens of devices.
	use := make([]int, len(countries))
	for _, ci := range w.townComp {
		use[w.comps[ci].cidx]++
	}
	hasCompound := make([]bool, len(countries))
	for _, c := range w.comps {
		hasCompound[c.cidx] = true
	}
	w.mainPool = w.mainPool[:0]
	for ci, country := range countries {
		if !hasCompound[ci] {
			w.mainPool = append(w.mainPool, 0)
			continue // only the towns of compounds use a pool
		}
		var mobile []*carrier
		mobile = append(mobile, w.sp.carriersOf(country, classMobile)...)
		p := new(picker)
		for _, cr := range mobile {
			for k, si := range cr.pick.spans {
				prev := uint64(0)
				if k > 0 {
					prev = cr.pick.cum[k-1]
				}
				p.add(si, uint32(cr.pick.cum[k]-prev))
			}
		}
		if country == "MM" {
			for k, si := range w.sp.sharedSAT.spans {
				prev := uint64(0)
				if k > 0 {
					prev = w.sp.sharedSAT.cum[k-1]
				}
				p.add(si, uint32(w.sp.sharedSAT.cum[k]-prev))
			}
		}
		if p.total() == 0 {
			w.mainPool = append(w.mainPool, 0)
			continue
		}
		// Town devices are seen about 3.5 times on a day they are seen;
		// two in five of their fixes use the mobile network.
		// Four fifths of the mobile traffic goes through a pool of about
		// 40 device-days an address; the rest through one of about 6,
		// whose addresses a thin panel sees only a few devices use: the
		// hard case for telling shared addresses from a compound's.
		deviceDays := town * use[ci] / len(w.townComp) * 2 / 5 * 2 / 7
		main := min(max(20, deviceDays*4/5/40), 50000)
		thin := min(max(10, deviceDays/5/6), 50000)
		// Never more than a quarter of the carriers' space, so that
		// drawing distinct addresses ends quickly (busier addresses
		// then, in a very large world).
		if avail := int(min(p.total()/4, 1<<20)); main+thin > avail {
			main, thin = max(1, main*avail/(main+thin)), max(1, thin*avail/(main+thin))
		}
		for range main + thin {
			w.pools[ci] = append(w.pools[ci], w.freeAddr(r, p))
		}
		w.mainPool = append(w.mainPool, main)
	}
	return nil
}

// obsDevice draws an advertising id: Android's (lower case) or Apple's
// (upper case), as location data carries them.
func obsDevice(r *rng) devKey {
	if r.percent(60) {
		return uuid4(r, devAAID)
	}
	return uuid4(r, devIDFA)
}

// inside draws a point inside the compound's footprint, at least margin cm
// from its edge.
func (c *obsCompound) inside(r interface{ between(lo, hi int64) int64 }, margin int64) (int64, int64) {
	if c.circle {
		rad := int64(CircleRadius*100) - margin
		for {
			x, y := r.between(-rad, rad), r.between(-rad, rad)
			if x*x+y*y <= rad*rad {
				return x, y
			}
		}
	}
	b := &c.blocks[r.between(0, int64(len(c.blocks)-1))]
	u := r.between(-b.hw+margin, b.hw-margin)
	v := r.between(-b.hh+margin, b.hh-margin)
	return b.toLocal(u, v)
}

// nearFence draws a point outside the footprint, 20 to 200 m from its edge
// (straight out from a side of a block, or from the circle), and returns
// that distance in cm.
func (c *obsCompound) nearFence(r *rng) (int64, int64, int64) {
	d := r.between(2000, 20000)
	if c.circle {
		a := r.intn(360)
		rad := int64(CircleRadius*100) + d
		return rad * cosT[a] / 1e6, rad * sinT[a] / 1e6, d
	}
	b := &c.blocks[r.intn(len(c.blocks))]
	var u, v int64
	switch r.intn(4) {
	case 0:
		u, v = b.hw+d, r.between(-b.hh, b.hh)
	case 1:
		u, v = -b.hw-d, r.between(-b.hh, b.hh)
	case 2:
		u, v = r.between(-b.hw, b.hw), b.hh+d
	default:
		u, v = r.between(-b.hw, b.hw), -b.hh-d
	}
	x, y := b.toLocal(u, v)
	return x, y, d
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

// residentCount is how many times resident i is seen on day: the first
// draws of its stream for the day.
func (w *world) residentCount(i int, day int32) int {
	res := &w.residents[i]
	if day < res.start || day > res.end {
		return 0
	}
	s := newSrng(w.o.Seed, kindResident, uint64(i), uint64(day))
	if !s.permille(res.seen) {
		return 0
	}
	return 1 + s.intn(8)
}

func (w *world) commuterCount(i int, day int32) int {
	c := &w.commuters[i]
	if day < c.start || day > c.end {
		return 0
	}
	s := newSrng(w.o.Seed, kindCommuter, uint64(i), uint64(day))
	if !s.permille(900) {
		return 0
	}
	return 2 + s.intn(7)
}

func (w *world) visitorCount(i int, day int32) int {
	v := &w.visitors[i]
	if !slices.Contains(v.days, day) {
		return 0
	}
	s := newSrng(w.o.Seed, kindVisitor, uint64(i), uint64(day))
	return 2 + s.intn(5)
}

// sortedAddrs returns the keys of a set of (index<<32 | n) in order.
func sortedKeys(m map[uint64]bool) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, cmp.Compare)
	return out
}
