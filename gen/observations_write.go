package gen

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/observe"
)

// obsLine is one observation to write. Places are microdegrees; acc is the
// stated accuracy in meters, or -1 for none; ip 0 is none.
type obsLine struct {
	dev      devKey
	ns       int64
	lat, lon int64
	acc      int64
	ip       uint32
	tf       timeFormat
}

// sink writes observations in one format.
type sink interface {
	write(o *obsLine) error
	writeBad(o *obsLine, kind int) error
	close() error
}

// writeObservations writes the observation file: day by day, everyone seen
// that day, with malformed lines spread evenly among them.
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
		// Malformed lines go evenly among the good ones.
		for w.good > 0 && bad < w.bad && bad < good*w.bad/w.good {
			s := newSrng(w.o.Seed, kindBad, uint64(bad), 0)
			b := obsLine{dev: uuidFrom(&s), ns: o.ns, lat: o.lat, lon: o.lon, acc: 10}
			if err := out.writeBad(&b, s.intn(6)); err != nil {
				return err
			}
			bad++
		}
		return nil
	}
	var o obsLine
	for day := int32(0); day < obsDays; day++ {
		for i := range w.residents {
			if n, s := w.residentDay(i, day); n > 0 {
				for range n {
					w.residentObs(i, day, &s, &o)
					if err := emit(&o); err != nil {
						return err
					}
				}
			}
		}
		for i := range w.commuters {
			if n, s := w.commuterDay(i, day); n > 0 {
				for range n {
					w.commuterObs(i, day, &s, &o)
					if err := emit(&o); err != nil {
						return err
					}
				}
			}
		}
		for i := range w.visitors {
			if n := w.visitorCount(i, day); n > 0 {
				s := newSrng(w.o.Seed, kindVisitor, uint64(i), uint64(day))
				s.intn(5) // the count, drawn again
				for range n {
					w.visitorObs(i, day, &s, &o)
					if err := emit(&o); err != nil {
						return err
					}
				}
			}
		}
		for j := range w.perDay[day] {
			w.townObs(day, j, &o)
			if err := emit(&o); err != nil {
				return err
			}
		}
	}
	for bad < w.bad { // only when there are no good lines at all
		s := newSrng(w.o.Seed, kindBad, uint64(bad), 0)
		b := obsLine{dev: uuidFrom(&s), ns: (obsDay0) * nsDay, lat: 10_000_000, lon: 100_000_000, acc: 10}
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

// residentDay replays the draws of residentCount and returns the stream
// after them.
func (w *world) residentDay(i int, day int32) (int, srng) {
	res := &w.residents[i]
	if day < res.start || day > res.end {
		return 0, srng{}
	}
	s := newSrng(w.o.Seed, kindResident, uint64(i), uint64(day))
	if !s.permille(res.seen) {
		return 0, s
	}
	return 1 + s.intn(8), s
}

func (w *world) commuterDay(i int, day int32) (int, srng) {
	c := &w.commuters[i]
	if day < c.start || day > c.end {
		return 0, srng{}
	}
	s := newSrng(w.o.Seed, kindCommuter, uint64(i), uint64(day))
	if !s.permille(900) {
		return 0, s
	}
	return 2 + s.intn(7), s
}

// townPoint draws a point of compound c's town.
func (c *obsCompound) townPoint(s *srng) (int64, int64) {
	return c.townX + s.between(-150000, 150000), c.townY + s.between(-150000, 150000)
}

// finish fills in the time, the fix and the place of o from a true
// position (x, y) in c's plane.
func (w *world) finish(c *obsCompound, day int32, s *srng, x, y int64, o *obsLine) {
	o.ns = (obsDay0+int64(day))*nsDay + int64(s.intn(86400))*1e9
	o.tf = tfSec
	if s.permille(100) {
		o.tf = c.local
	}
	// The stated accuracy: GPS, Wi-Fi positioning, coarse, cell towers.
	var acc int64
	switch x := s.intn(100); {
	case x < 55:
		acc = s.between(3, 30)
	case x < 80:
		acc = s.between(20, 80)
	case x < 92:
		acc = s.between(80, 400)
	default:
		acc = s.between(400, 3000)
	}
	// The true error: within the stated radius, or, for 7% of fixes, up
	// to three times it.
	rad := acc * 100
	if s.permille(70) {
		rad *= 3
	}
	var ex, ey int64
	for {
		ex, ey = s.between(-rad, rad), s.between(-rad, rad)
		if ex*ex+ey*ey <= rad*rad {
			break
		}
	}
	o.lat, o.lon = c.place(x+ex, y+ey)
	o.acc = acc
	if s.permille(30) {
		o.acc = -1
	}
}

// pool returns a carrier NAT address of c's country: one per device and
// day, as a phone keeps its address for a while.
func (w *world) pool(c *obsCompound, kind uint64, idx int, day int32) (uint32, int) {
	p, main := w.pools[c.cidx], w.mainPool[c.cidx]
	s := newSrng(w.o.Seed, kind, uint64(idx), uint64(day)^0xa5a5_0000)
	i := s.intn(main)
	if s.permille(200) {
		i = main + s.intn(len(p)-main)
	}
	return p[i], i
}

func (w *world) residentObs(i int, day int32, s *srng, o *obsLine) {
	res := &w.residents[i]
	c := w.comps[res.comp]
	inTown := s.permille(50)
	var x, y int64
	switch {
	case inTown:
		x, y = c.townPoint(s)
	case s.permille(750):
		x, y = res.homeX+s.between(-800, 800), res.homeY+s.between(-800, 800)
	default:
		x, y = c.inside(s, 1500)
	}
	wantIP, wifi, pick := s.permille(700), s.permille(850), s.intn(10)
	w.finish(c, day, s, x, y, o)
	o.dev, o.ip = res.dev, 0
	switch {
	case !wantIP:
	case !inTown && wifi:
		wi := 0
		if pick >= 7 {
			wi = pick % len(c.wifi)
		}
		o.ip = c.wifi[wi]
		w.wifiInside[uint64(res.comp)<<32|uint64(wi)] = true
		res.usedWiFi = true
	default:
		a, pi := w.pool(c, kindResident, i, day)
		o.ip = a
		if !inTown {
			w.poolInside[uint64(c.cidx)<<32|uint64(pi)] = true
		}
	}
}

func (w *world) commuterObs(i int, day int32, s *srng, o *obsLine) {
	cm := &w.commuters[i]
	c := w.comps[cm.comp]
	inTown := s.permille(150)
	var x, y int64
	if inTown {
		x, y = c.townPoint(s)
	} else {
		x, y = cm.ax+s.between(-1000, 1000), cm.ay+s.between(-1000, 1000)
	}
	wantIP, wifi := s.permille(700), s.permille(200)
	w.finish(c, day, s, x, y, o)
	o.dev, o.ip = cm.dev, 0
	switch {
	case !wantIP:
	case cm.wifi && !inTown && wifi:
		o.ip = c.wifi[0]
	default:
		o.ip, _ = w.pool(c, kindCommuter, i, day)
	}
}

func (w *world) visitorObs(i int, day int32, s *srng, o *obsLine) {
	v := &w.visitors[i]
	c := w.comps[v.comp]
	inTown := s.permille(200)
	var x, y int64
	if inTown {
		x, y = c.townPoint(s)
	} else {
		x, y = c.inside(s, 1500)
	}
	wantIP, wifi := s.permille(700), s.permille(300)
	w.finish(c, day, s, x, y, o)
	o.dev, o.ip = v.dev, 0
	switch {
	case !wantIP:
	case !inTown && wifi:
		o.ip = c.wifi[0]
	default:
		o.ip, _ = w.pool(c, kindVisitor, i, day)
	}
}

// townObs is observation j of day of the towns' population.
func (w *world) townObs(day int32, j int, o *obsLine) {
	s := newSrng(w.o.Seed, kindTown, uint64(day), uint64(j))
	idx := s.intn(w.townDevs)
	c := w.comps[w.townComp[idx]]
	x, y := c.townPoint(&s)
	wantIP, mobile := s.permille(700), s.permille(600)
	w.finish(c, day, &s, x, y, o)
	ds := newSrng(w.o.Seed, kindTownDevice, uint64(idx), 0)
	o.dev, o.ip = uuidFrom(&ds), 0
	switch {
	case !wantIP:
	case mobile:
		o.ip, _ = w.pool(c, kindTownDevice, idx, day)
	default:
		// The line at home: the same address every day.
		if p := &w.fixed[c.cidx]; p.total() > 0 {
			a := pickWith(p, uint64(ds.between(0, int64(p.total())-1)), w.sp.spans)
			if !w.reserved[a] {
				o.ip = a
			}
		}
	}
}

// pickWith returns the address at position x of the spans of p.
func pickWith(p *picker, x uint64, sp []span) uint32 {
	i, _ := slices.BinarySearchFunc(p.cum, x+1, func(c, t uint64) int {
		switch {
		case c < t:
			return -1
		case c > t:
			return 1
		}
		return 0
	})
	prev := uint64(0)
	if i > 0 {
		prev = p.cum[i-1]
	}
	return sp[p.spans[i]].start + uint32(x-prev)
}

// uuidFrom draws an advertising id from a stream.
func uuidFrom(s *srng) devKey {
	hi, lo := s.uint64(), s.uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(3<<62) | (2 << 62)
	t := devAAID
	if bits.OnesCount64(hi)%5 < 2 {
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
	if o.ip != 0 {
		b = append(b, `,"ip":"`...)
		b = appendIPv4(b, o.ip)
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
	if o.ip != 0 {
		b = appendIPv4(b, o.ip)
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
		At: timeOf(o.ns), Lat: float64(o.lat) / microdeg, Lon: float64(o.lon) / microdeg}
	if o.acc >= 0 {
		ob.Accuracy, ob.HasAccuracy = float64(o.acc), true
	}
	if o.ip != 0 {
		ob.IP = addr4(o.ip)
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
