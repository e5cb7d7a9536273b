package gen

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/observe"
)

// obsLine is one observation to write. Places are microdegrees; acc is the
// stated accuracy in meters, or -1 for none; ip the zero Addr for none.
type obsLine struct {
	dev      devKey
	ns       int64
	lat, lon int64
	acc      int64
	ip       netip.Addr
	tf       timeFormat
}

// sink writes observations in one format.
type sink interface {
	write(o *obsLine) error
	writeBad(o *obsLine, kind int) error
	close() error
}

// Seed-stream salts of the fixes and of the towns' observations.
const (
	fixSalt  = 0xf1c5_0000_0000
	fillSalt = 0xf111_0000_0000
)

// writeObservations writes the observation file: day by day, everyone seen
// that day in time order, then the towns, with malformed lines spread
// evenly among them.
func (w *world) writeObservations(bw *bufio.Writer) error {
	var out sink
	var zw *gzip.Writer
	var dst io.Writer = bw
	if w.o.Gzip {
		zw, _ = gzip.NewWriterLevel(bw, gzip.BestSpeed)
		dst = bufio.NewWriterSize(zw, 1<<20)
	}
	switch w.o.Format {
	case "csv":
		out = &csvSink{w: dst}
		if _, err := io.WriteString(dst, "device,at,lat,lon,accuracy_m,ip\n"); err != nil {
			return err
		}
	case "parquet":
		out = &parquetSink{pw: observe.NewParquetWriter(dst)}
	default:
		out = &jsonSink{w: dst}
	}
	good, bad := 0, 0
	emit := func(o *obsLine) error {
		if err := out.write(o); err != nil {
			return err
		}
		good++
		for w.good > 0 && bad < w.bad && bad < good*w.bad/w.good {
			s := newSrng(w.o.Seed, uint64(kBad), uint64(bad), 0)
			b := obsLine{dev: uuidFrom(&s), ns: o.ns, lat: o.lat, lon: o.lon, acc: 10}
			if err := out.writeBad(&b, s.intn(6)); err != nil {
				return err
			}
			bad++
		}
		return nil
	}
	var p plan
	var o obsLine
	line := func(d *device, idx uint64, day int32, t int32, s *srng) *obsLine {
		f := w.report(d, idx, day, &p, t, s)
		c := w.comps[p.comp]
		utc := int64(day)*daySecs + int64(t) - c.tz
		w.obs.noteInside(d, idx, &p, p.segAt(t), day, utc)
		o = obsLine{dev: d.key, ns: (obsDay0*daySecs + utc) * 1e9, lat: f.lat, lon: f.lon, acc: f.acc, ip: f.ip, tf: tfSec}
		if s.permille(100) {
			o.tf = c.local
		}
		return &o
	}
	for day := int32(0); day < obsDays; day++ {
		for i := range w.devs {
			d := &w.devs[i]
			w.planDay(d, uint64(i), day, &p, d.kind, false)
			if len(p.times) == 0 {
				continue
			}
			s := newSrng(w.o.Seed, uint64(d.kind), uint64(i), uint64(day)^fixSalt)
			for _, t := range p.times {
				if err := emit(line(d, uint64(i), day, t, &s)); err != nil {
					return err
				}
			}
		}
		for j := range w.perDay[day] {
			s := newSrng(w.o.Seed, uint64(kTown), uint64(day), uint64(j)^fillSalt)
			ti := s.intn(len(w.townDevs))
			d := &w.townDevs[ti]
			w.planDay(d, uint64(ti), day, &p, kTown, true)
			t := int32(s.intn(daySecs))
			if t < 6*hourSecs && s.permille(700) {
				t += int32(8 * hourSecs) // asleep: fewer reports
			}
			if err := emit(line(d, uint64(ti)+1<<32, day, t, &s)); err != nil {
				return err
			}
		}
	}
	for bad < w.bad { // only when there are no good lines at all
		s := newSrng(w.o.Seed, uint64(kBad), uint64(bad), 0)
		b := obsLine{dev: uuidFrom(&s), ns: obsDay0 * nsDay, lat: 10_000_000, lon: 100_000_000, acc: 10}
		if err := out.writeBad(&b, s.intn(6)); err != nil {
			return err
		}
		bad++
	}
	if err := out.close(); err != nil {
		return err
	}
	if zw != nil {
		if err := dst.(*bufio.Writer).Flush(); err != nil {
			return err
		}
		return zw.Close()
	}
	return nil
}

// uuidFrom draws an advertising id from a stream.
func uuidFrom(s *srng) devKey {
	hi, lo := s.uint64(), s.uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(3<<62) | (2 << 62)
	t := devAAID
	if hi%5 < 2 {
		t = devIDFA
	}
	return devKey{typ: t, hi: hi, lo: lo}
}

func appendDevice(b []byte, d devKey) []byte {
	b = append(b, devTypeNames[d.typ]...)
	b = append(b, ':')
	return appendDevValue(b, d)
}

// appendMicro writes microdegrees as degrees with six decimals.
func appendMicro(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, v/microdeg, 10)
	b = append(b, '.')
	return appendDigits(b, uint64(v%microdeg), 6)
}

type jsonSink struct {
	w   io.Writer
	buf []byte
}

func (j *jsonSink) write(o *obsLine) error {
	b := append(j.buf[:0], `{"device":"`...)
	b = appendDevice(b, o.dev)
	b = append(b, `","at":"`...)
	b = appendTime(b, o.ns, o.tf)
	b = append(b, `","lat":`...)
	b = appendMicro(b, o.lat)
	b = append(b, `,"lon":`...)
	b = appendMicro(b, o.lon)
	if o.acc >= 0 {
		b = append(b, `,"accuracy_m":`...)
		b = strconv.AppendInt(b, o.acc, 10)
	}
	if o.ip.IsValid() {
		b = append(b, `,"ip":"`...)
		b = o.ip.AppendTo(b)
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

// writeBad writes a malformed line: cut short, a latitude out of range, a
// device without its type, an impossible time, a bad address, or no fix.
func (j *jsonSink) writeBad(o *obsLine, kind int) error {
	b := j.buf[:0]
	switch kind {
	case 0:
		b = append(b, `{"device":"`...)
		b = appendDevice(b, o.dev)
		b = append(b, `","at":"`...)
	case 1:
		b = fmt.Appendf(b, `{"device":"%s","at":"2024-05-01T10:00:00Z","lat":95.5,"lon":100.1}`, appendDevice(nil, o.dev))
	case 2:
		b = fmt.Appendf(b, `{"device":"%s","at":"2024-05-01T10:00:00Z","lat":10.5,"lon":100.1}`, appendDevValue(nil, o.dev))
	case 3:
		b = fmt.Appendf(b, `{"device":"%s","at":"2024-13-45T25:00:00Z","lat":10.5,"lon":100.1}`, appendDevice(nil, o.dev))
	case 4:
		b = fmt.Appendf(b, `{"device":"%s","at":"2024-05-01T10:00:00Z","lat":10.5,"lon":100.1,"ip":"300.1.2.3"}`, appendDevice(nil, o.dev))
	default:
		b = fmt.Appendf(b, `{"device":"%s","at":"2024-05-01T10:00:00Z","lat":0,"lon":0}`, appendDevice(nil, o.dev))
	}
	b = append(b, '\n')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonSink) close() error { return nil }

type csvSink struct {
	w   io.Writer
	buf []byte
}

func (c *csvSink) write(o *obsLine) error {
	b := appendDevice(c.buf[:0], o.dev)
	b = append(b, ',')
	b = appendTime(b, o.ns, o.tf)
	b = append(b, ',')
	b = appendMicro(b, o.lat)
	b = append(b, ',')
	b = appendMicro(b, o.lon)
	b = append(b, ',')
	if o.acc >= 0 {
		b = strconv.AppendInt(b, o.acc, 10)
	}
	b = append(b, ',')
	if o.ip.IsValid() {
		b = o.ip.AppendTo(b)
	}
	b = append(b, '\n')
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

func (c *csvSink) writeBad(o *obsLine, kind int) error {
	d := appendDevice(nil, o.dev)
	var line string
	switch kind {
	case 0:
		line = string(d) + ",2024-05-01T10:00:00Z,10.5\n"
	case 1:
		line = string(d) + ",2024-05-01T10:00:00Z,95.5,100.1,10,\n"
	case 2:
		line = string(appendDevValue(nil, o.dev)) + ",2024-05-01T10:00:00Z,10.5,100.1,10,\n"
	case 3:
		line = string(d) + ",2024-13-45T25:00:00Z,10.5,100.1,10,\n"
	case 4:
		line = string(d) + ",2024-05-01T10:00:00Z,10.5,100.1,10,300.1.2.3\n"
	default:
		line = string(d) + ",2024-05-01T10:00:00Z,ten,100.1,10,\n"
	}
	_, err := io.WriteString(c.w, line)
	return err
}

func (c *csvSink) close() error { return nil }

type parquetSink struct {
	pw *observe.ParquetWriter
}

func (p *parquetSink) observation(o *obsLine) observe.Observation {
	d := appendDevValue(nil, o.dev)
	ob := observe.Observation{Device: seams.DeviceID{Type: devTypeNames[o.dev.typ], Value: string(d)},
		At: timeOf(o.ns), Lat: float64(o.lat) / microdeg, Lon: float64(o.lon) / microdeg, IP: o.ip}
	if o.acc >= 0 {
		ob.Accuracy, ob.HasAccuracy = float64(o.acc), true
	}
	return ob
}

func (p *parquetSink) write(o *obsLine) error {
	ob := p.observation(o)
	return p.pw.Write(&ob)
}

// writeBad writes a row the reader must reject: a device without its
// value, or a latitude out of range (Parquet's types rule out the rest).
func (p *parquetSink) writeBad(o *obsLine, kind int) error {
	ob := p.observation(o)
	if kind%2 == 0 {
		ob.Device.Value = ""
	} else {
		ob.Lat = 95.5
	}
	return p.pw.Write(&ob)
}

func (p *parquetSink) close() error { return p.pw.Close() }

func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// writeCompounds writes compounds.csv, locations to the microdegree.
func (w *world) writeCompounds(bw *bufio.Writer) error {
	cw := csv.NewWriter(bw)
	cw.Write([]string{"id", "name", "aliases", "country", "province", "lat", "lon", "status"})
	for _, c := range w.comps {
		lat, lon := c.place(c.loc)
		cw.Write([]string{c.id, c.name, c.aliases, c.country, c.province,
			string(appendMicro(nil, lat)), string(appendMicro(nil, lon)), c.status})
	}
	cw.Flush()
	return cw.Error()
}

// ring returns the GeoJSON ring of a block, counter-clockwise as RFC 7946
// asks of outer rings.
func (c *obsCompound) ring(b *fpBlock) []byte {
	out := []byte{'['}
	for i, k := range [][2]int64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}, {-1, -1}} {
		if i > 0 {
			out = append(out, ',')
		}
		lat, lon := c.place(b.toLocal(k[0]*b.hw, k[1]*b.hh))
		out = append(out, '[')
		out = appendMicro(out, lon)
		out = append(out, ',')
		out = appendMicro(out, lat)
		out = append(out, ']')
	}
	return append(out, ']')
}

// writeFootprints writes footprints.geojson: a Polygon or a MultiPolygon
// for every compound that is not a circle, named in properties.compound or
// in the feature's id. With a bad rate, features derive must reject
// follow: one naming no known compound, and the only feature of a circle
// compound, a bow tie, for which derive must fall back to the circle.
func (w *world) writeFootprints(bw *bufio.Writer) error {
	bw.WriteString("{\"type\": \"FeatureCollection\", \"features\": [\n")
	first := true
	feature := func(s string) {
		if !first {
			bw.WriteString(",\n")
		}
		first = false
		bw.WriteString(s)
	}
	for _, c := range w.comps {
		if c.circle {
			continue
		}
		name := fmt.Sprintf(`"properties": {"compound": %q, "name": %q}`, c.id, c.name)
		if c.useID {
			name = fmt.Sprintf(`"id": %q, "properties": {"name": %q}`, c.id, c.name)
		}
		var geom string
		if len(c.blocks) == 1 {
			geom = fmt.Sprintf(`{"type": "Polygon", "coordinates": [%s]}`, c.ring(&c.blocks[0]))
		} else {
			geom = fmt.Sprintf(`{"type": "MultiPolygon", "coordinates": [[%s], [%s]]}`, c.ring(&c.blocks[0]), c.ring(&c.blocks[1]))
		}
		feature(fmt.Sprintf(`{"type": "Feature", %s, "geometry": %s}`, name, geom))
	}
	if w.o.BadRate > 0 {
		feature(`{"type": "Feature", "properties": {"compound": "c-not-in-the-compounds-file"}, "geometry": {"type": "Polygon", "coordinates": [[[100.1, 10.1], [100.2, 10.1], [100.2, 10.2], [100.1, 10.1]]]}}`)
		for _, c := range w.comps {
			if !c.badOnly {
				continue
			}
			// A bow tie: its edges cross.
			ptAt := func(x, y int64) string {
				lat, lon := c.place(pt{c.loc.x + x, c.loc.y + y})
				return "[" + string(appendMicro(nil, lon)) + ", " + string(appendMicro(nil, lat)) + "]"
			}
			feature(fmt.Sprintf(`{"type": "Feature", "properties": {"compound": %q}, "geometry": {"type": "Polygon", "coordinates": [[%s, %s, %s, %s, %s]]}}`,
				c.id, ptAt(-20000, -20000), ptAt(20000, 20000), ptAt(20000, -20000), ptAt(-20000, 20000), ptAt(-20000, -20000)))
		}
	}
	bw.WriteString("\n]}\n")
	return nil
}

// writeSensitive writes sensitive.geojson: the clinics, places of worship
// and schools of the towns (and the clinics inside some compounds), for
// derive's --exclude.
func (w *world) writeSensitive(bw *bufio.Writer) error {
	bw.WriteString("{\"type\": \"FeatureCollection\", \"features\": [\n")
	for i, z := range w.zones {
		if i > 0 {
			bw.WriteString(",\n")
		}
		c := w.comps[z.comp]
		lat, lon := c.place(z.at)
		if z.radius > 0 {
			fmt.Fprintf(bw, `{"type": "Feature", "properties": {"name": %q, "kind": %q, "radius_m": %d}, "geometry": {"type": "Point", "coordinates": [%s, %s]}}`,
				z.name, z.kind, z.radius/100, appendMicro(nil, lon), appendMicro(nil, lat))
			continue
		}
		b := fpBlock{cx: z.at.x, cy: z.at.y, hw: z.hw, hh: z.hh}
		fmt.Fprintf(bw, `{"type": "Feature", "properties": {"name": %q, "kind": %q}, "geometry": {"type": "Polygon", "coordinates": [%s]}}`,
			z.name, z.kind, c.ring(&b))
	}
	bw.WriteString("\n]}\n")
	return nil
}

// writeWorld writes the ground truth, one JSON object a line:
//
//	{"kind":"resident"|"worker","compound","device","first_day","last_day","regime","seen_days"}
//	{"kind":"address","compound","ip","first","last","lease","devices","days"}: an IPv4 lease
//	  of a compound's line (first/last: the lease) that members were seen using inside
//	{"kind":"prefix","compound","prefix","first","last","subnets","devices","days"}: an IPv6
//	  /56 of a compound's line or satellite terminal, and its /64 members were seen using
//	{"kind":"shared","ip","why":"carrier"|"satellite","compounds"}: an address of a carrier's
//	  or the satellite operator's NAT that members used inside
//	{"kind":"lease_after","ip","compound","first","last"}: a later household lease of a
//	  compound's address
//	{"kind":"rider"|"visitor"|"neighbour"|"centroid","compound","device"}
//	{"kind":"adjacent","compound","other"}, {"kind":"centroid_inside","compound"}
func (w *world) writeWorld(bw *bufio.Writer) error {
	dev := func(d devKey) string { return string(appendDevice(nil, d)) }
	date := func(d int32) string { return string(appendDateOf(nil, obsDay0+int64(d))) }
	when := func(t int64) string { return string(appendTime(nil, (obsDay0*daySecs+t)*1e9, tfSec)) }
	for i := range w.devs {
		d := &w.devs[i]
		switch d.kind {
		case kResident, kWorker:
			comps := []int32{d.comp}
			if d.comp2 >= 0 {
				comps = append(comps, d.comp2)
			}
			for k, c := range comps {
				first, last := d.start, d.end
				if d.comp2 >= 0 {
					if k == 0 {
						last = d.moveDay
					} else {
						first = d.moveDay + 1
					}
				}
				seen := 0
				if u := w.obs.members[uint64(i)<<16|uint64(c)]; u != nil {
					seen = len(u.days)
				}
				fmt.Fprintf(bw, `{"kind":%q,"compound":%q,"device":%q,"first_day":%q,"last_day":%q,"regime":%q,"seen_days":%d}`+"\n",
					kindNames[d.kind], w.comps[c].id, dev(d.key), date(first), date(last), regimeNames[d.regime], seen)
			}
		default:
			fmt.Fprintf(bw, `{"kind":%q,"compound":%q,"device":%q}`+"\n", kindNames[d.kind], w.comps[d.comp].id, dev(d.key))
		}
	}
	for _, k := range sortedKeys(w.obs.lines) {
		u := w.obs.lines[k]
		l := &w.lines[k>>32]
		ls := &l.leases[k&0xffffffff]
		kind := "dynamic"
		if len(l.leases) == 1 {
			kind = "static"
		}
		fmt.Fprintf(bw, `{"kind":"address","compound":%q,"ip":%q,"first":%q,"last":%q,"lease":%q,"devices":%d,"days":%d}`+"\n",
			w.comps[u.comp].id, addr4(ls.addr), when(ls.start), when(ls.end-1), kind, len(u.devs), len(u.days))
	}
	type pfx struct {
		comp        int32
		p           netip.Prefix
		first, last int64
		subnets     []string // "PREFIX DEVICES DAYS"
		devs, days  []int32
	}
	var ps []*pfx
	byP := map[netip.Prefix]*pfx{}
	add := func(comp int32, p netip.Prefix, first, last int64, sub netip.Prefix, u *useStat) {
		x := byP[p]
		if x == nil {
			x = &pfx{comp: comp, p: p, first: first, last: last}
			byP[p] = x
			ps = append(ps, x)
		}
		x.first, x.last = min(x.first, first), max(x.last, last)
		x.subnets = append(x.subnets, fmt.Sprintf("%s %d %d", sub, len(u.devs), len(u.days)))
		for _, d := range u.devs {
			if !slices.Contains(x.devs, d) {
				x.devs = append(x.devs, d)
			}
		}
		for _, d := range u.days {
			if !slices.Contains(x.days, d) {
				x.days = append(x.days, d)
			}
		}
	}
	for _, k := range sortedKeys(w.obs.line6) {
		u := w.obs.line6[k]
		l := &w.lines[k>>40]
		ls := &l.leases[k>>8&0xffffffff]
		sub := int(k & 0xff)
		p56 := l.prefix56(ls)
		p64 := netip.PrefixFrom(v6addr(l.isp.v6id, ls.p56<<8, byte(sub), 1), 64).Masked()
		// A stable delegation spans the leases that kept it.
		first, last := ls.start, ls.end-1
		for _, o := range l.leases {
			if o.p56 == ls.p56 {
				first, last = min(first, o.start), max(last, o.end-1)
			}
		}
		add(u.comp, p56, first, last, p64, u)
	}
	for _, ti := range sortedKeys(w.obs.sat6) {
		u := w.obs.sat6[ti]
		st := &w.sats[ti]
		add(u.comp, st.prefix56(), -daySecs, calSecs+daySecs-1, netip.PrefixFrom(st.v6(1, 0), 64).Masked(), u)
	}
	for _, x := range ps {
		slices.Sort(x.subnets)
		subs := []byte{'['}
		for i, s := range x.subnets {
			var p string
			var nd, ny int
			fmt.Sscanf(s, "%s %d %d", &p, &nd, &ny)
			if i > 0 {
				subs = append(subs, ',')
			}
			subs = fmt.Appendf(subs, `{"prefix":%q,"devices":%d,"days":%d}`, p, nd, ny)
		}
		subs = append(subs, ']')
		fmt.Fprintf(bw, `{"kind":"prefix","compound":%q,"prefix":%q,"first":%q,"last":%q,"subnets":%s,"devices":%d,"days":%d}`+"\n",
			w.comps[x.comp].id, x.p, when(x.first), when(x.last), subs, len(x.devs), len(x.days))
	}
	for _, a := range sortedKeys(w.obs.shared) {
		u := w.obs.shared[a]
		why := "carrier"
		if u.why == 2 {
			why = "satellite"
		}
		fmt.Fprintf(bw, `{"kind":"shared","ip":%q,"why":%q,"compound":%q,"devices":%d,"days":%d}`+"\n",
			addr4(a), why, w.comps[u.comp].id, len(u.devs), len(u.days))
	}
	for _, la := range w.leasesAfter() {
		fmt.Fprintf(bw, `{"kind":"lease_after","ip":%q,"compound":%q,"first":%q,"last":%q}`+"\n",
			addr4(la.addr), w.comps[la.comp].id, when(la.start), when(la.end-1))
	}
	for _, c := range w.comps {
		if c.adjacent > c.idx {
			fmt.Fprintf(bw, `{"kind":"adjacent","compound":%q,"other":%q}`+"\n", c.id, w.comps[c.adjacent].id)
		}
	}
	for _, t := range w.towns {
		if t.inComp >= 0 {
			fmt.Fprintf(bw, `{"kind":"centroid_inside","compound":%q}`+"\n", w.comps[t.inComp].id)
		}
	}
	return nil
}

// leaseAfter is a household's lease of an address a compound held before.
type leaseAfter struct {
	addr       uint32
	comp       int32 // the compound that held it before
	start, end int64
	compEnd    int64 // when the compound's last lease of it before ended
}

// leasesAfter lists the households' leases of addresses that compounds
// held, and whose compound members were seen using, before.
func (w *world) leasesAfter() []leaseAfter {
	type held struct {
		comp int32
		end  int64
	}
	compHeld := map[uint32][]held{}
	for _, k := range sortedKeys(w.obs.lines) {
		l := &w.lines[k>>32]
		ls := &l.leases[k&0xffffffff]
		compHeld[ls.addr] = append(compHeld[ls.addr], held{l.comp, ls.end})
	}
	var out []leaseAfter
	for i := range w.lines {
		l := &w.lines[i]
		if l.comp >= 0 {
			continue
		}
		for _, ls := range l.leases {
			for _, h := range compHeld[ls.addr] {
				if h.end <= ls.start {
					out = append(out, leaseAfter{addr: ls.addr, comp: h.comp, start: ls.start, end: ls.end, compEnd: h.end})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b leaseAfter) int {
		if a.addr != b.addr {
			return cmp64(int64(a.addr), int64(b.addr))
		}
		return cmp64(a.start, b.start)
	})
	return out
}
