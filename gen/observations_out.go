package gen

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
)

// writeCompounds writes compounds.csv, locations to the microdegree.
func (w *world) writeCompounds(bw *bufio.Writer) error {
	cw := csv.NewWriter(bw)
	cw.Write([]string{"id", "name", "aliases", "country", "province", "lat", "lon", "status"})
	for _, c := range w.comps {
		cw.Write([]string{c.id, c.name, c.aliases, c.country, c.province,
			string(appendMicro(nil, c.lat)), string(appendMicro(nil, c.lon)), c.status})
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
		x, y := b.toLocal(k[0]*b.hw, k[1]*b.hh)
		lat, lon := c.place(x, y)
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
// in the feature's id. With a bad rate, two features that derive must
// reject follow.
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
		c := w.comps[0]
		pt := func(dlon, dlat int64) string {
			return "[" + string(appendMicro(nil, c.lon+dlon)) + ", " + string(appendMicro(nil, c.lat+dlat)) + "]"
		}
		feature(`{"type": "Feature", "properties": {"compound": "c-not-in-the-compounds-file"}, "geometry": {"type": "Polygon", "coordinates": [[[100.1, 10.1], [100.2, 10.1], [100.2, 10.2], [100.1, 10.1]]]}}`)
		// A bow tie: its edges cross.
		feature(fmt.Sprintf(`{"type": "Feature", "properties": {"compound": %q}, "geometry": {"type": "Polygon", "coordinates": [[%s, %s, %s, %s, %s]]}}`,
			c.id, pt(0, 0), pt(2000, 2000), pt(2000, 0), pt(0, 2000), pt(0, 0)))
	}
	bw.WriteString("\n]}\n")
	return nil
}

// writeWorld writes the ground truth of the observations (see
// ObservationFiles.World).
func (w *world) writeWorld(bw *bufio.Writer) error {
	dev := func(d devKey) string { return string(appendDevice(nil, d)) }
	day := func(d int32) string { return string(appendDateOf(nil, obsDay0+int64(d))) }
	for _, r := range w.residents {
		fmt.Fprintf(bw, `{"kind":"resident","compound":%q,"device":%q,"first_day":%q,"last_day":%q}`+"\n",
			w.comps[r.comp].id, dev(r.dev), day(r.start), day(r.end))
	}
	for _, k := range sortedKeys(w.wifiInside) {
		c := w.comps[k>>32]
		fmt.Fprintf(bw, `{"kind":"address","compound":%q,"ip":%q}`+"\n", c.id, addr4(c.wifi[k&0xffffffff]))
	}
	var shared []uint32
	for _, k := range sortedKeys(w.poolInside) {
		shared = append(shared, w.pools[k>>32][k&0xffffffff])
	}
	slices.Sort(shared)
	for _, a := range slices.Compact(shared) {
		fmt.Fprintf(bw, `{"kind":"shared","ip":%q}`+"\n", addr4(a))
	}
	for _, c := range w.commuters {
		fmt.Fprintf(bw, `{"kind":"commuter","compound":%q,"device":%q}`+"\n", w.comps[c.comp].id, dev(c.dev))
	}
	for i, v := range w.visitors {
		kind := "visitor"
		if i >= w.occasion {
			kind = "occasional"
		}
		fmt.Fprintf(bw, `{"kind":%q,"compound":%q,"device":%q}`+"\n", kind, w.comps[v.comp].id, dev(v.dev))
	}
	return nil
}

// writeReports writes reports to check a derived registry with: tied by a
// resident's device in the middle of its stay, or by a compound address
// then; and reports that must find nothing: a shared carrier address that
// residents used inside, the device of a commuter or a visitor, and the
// background. truth gets the tied findings.
func (w *world) writeReports(rw, truth *bufio.Writer) error {
	n := w.o.Reports
	r := newRNG(w.o.Seed, streamObservations+1)
	// Reports are planted on residents staying 45 days or more and seen on
	// most days, which derive must find: the reports check the chain
	// from observations to findings, not derive's rules, which the world's
	// truth does.
	var long []int
	var wifiLong []int
	for i, res := range w.residents {
		if res.end-res.start >= 44 && res.seen >= 500 {
			long = append(long, i)
			if res.usedWiFi {
				wifiLong = append(wifiLong, i)
			}
		}
	}
	var shared []uint32
	for _, k := range sortedKeys(w.poolInside) {
		shared = append(shared, w.pools[k>>32][k&0xffffffff])
	}
	planted := n / 5
	cats := []int{planted * 2 / 5, planted / 5, planted / 5, planted - planted*2/5 - 2*(planted/5)}
	if len(long) == 0 {
		cats[0] = 0
	}
	if len(wifiLong) == 0 {
		cats[1] = 0
	}
	if len(shared) == 0 {
		cats[2] = 0
	}
	if len(w.commuters)+len(w.visitors) == 0 {
		cats[3] = 0
	}
	width := max(7, len(strconv.Itoa(n)))
	var line []byte
	mid := func(res *resident) int64 {
		d := (int64(res.start) + int64(res.end)) / 2
		return (obsDay0+d)*nsDay + r.between(0, nsDay/1e9-1)*1e9
	}
	for i := 0; i < n; i++ {
		line = append(line[:0], `{"id":"r-obs-`...)
		line = appendDigits(line, uint64(i+1), width)
		line = append(line, '"')
		id := line[len(`{"id":"`) : len(line)-1]
		left := n - i
		x := r.intn(left)
		cat := 4
		for k, c := range cats {
			if x < c {
				cat = k
				break
			}
			x -= c
		}
		if cat < 4 {
			cats[cat]--
		}
		var at int64
		var ipv uint32
		var dv *devKey
		tied := -1
		switch cat {
		case 0:
			res := &w.residents[long[r.intn(len(long))]]
			at, dv, tied = mid(res), &res.dev, int(res.comp)
		case 1:
			res := &w.residents[wifiLong[r.intn(len(wifiLong))]]
			at, ipv, tied = mid(res), w.comps[res.comp].wifi[0], int(res.comp)
		case 2:
			at = (obsDay0+r.between(0, obsDays-1))*nsDay + r.between(0, 86399)*1e9
			ipv = shared[r.intn(len(shared))]
		case 3:
			if k := r.intn(len(w.commuters) + len(w.visitors)); k < len(w.commuters) {
				c := &w.commuters[k]
				at = (obsDay0+int64(c.start+c.end)/2)*nsDay + r.between(0, 86399)*1e9
				dv = &c.dev
			} else {
				v := &w.visitors[k-len(w.commuters)]
				at = (obsDay0+int64(v.days[0]))*nsDay + r.between(0, 86399)*1e9
				dv = &v.dev
			}
		default:
			at = (obsDay0+r.between(0, obsDays-1))*nsDay + r.between(0, 86399)*1e9
			d := obsDevice(r)
			dv = &d
			p := w.sp.byCountry[countries[r.intn(3)]]
			for ipv == 0 || w.reserved[ipv] {
				_, ipv = p.pick(r, w.sp.spans)
			}
		}
		line = append(line, `,"received":"`...)
		line = appendTime(line, at+2*nsDay, tfSec)
		line = append(line, `","incident":"sextortion","ips":[`...)
		if ipv != 0 {
			line = append(line, `{"ip":"`...)
			line = appendIPv4(line, ipv)
			line = append(line, `","at":"`...)
			line = appendTime(line, at, tfSec)
			line = append(line, `","event":"login"}`...)
		}
		line = append(line, `],"devices":[`...)
		if dv != nil {
			line = append(line, `{"type":"`...)
			line = append(line, devTypeNames[dv.typ]...)
			line = append(line, `","value":"`...)
			line = appendDevValue(line, *dv)
			line = append(line, `","at":"`...)
			line = appendTime(line, at, tfSec)
			line = append(line, `"}`...)
		}
		line = append(line, "]}\n"...)
		if tied >= 0 {
			fmt.Fprintf(truth, `{"report":%q,"compound":%q,"tier":"tied"}`+"\n", id, w.comps[tied].id)
		}
		if _, err := rw.Write(line); err != nil {
			return err
		}
	}
	return nil
}
