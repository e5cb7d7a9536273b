package brief

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/seams-dev/seams/internal/server/ui"
)

// The charts are SVG drawn here, in the dashboard's colours and shapes
// (server/ui/app.js draws the same charts in the browser), so that a
// brief needs no script and fetches nothing.

// esc escapes text for SVG and HTML.
func esc(s string) string { return template.HTMLEscapeString(s) }

// bar is one row of a horizontal bar chart.
type bar struct {
	Label           string
	Tied, Potential int
}

// hbars draws horizontal bars, tied then potential stacked.
func hbars(rows []bar, title string) template.HTML {
	const rowH, labelW, width = 22, 190, 640
	barW := float64(width - labelW - 90)
	peak := 1
	for _, r := range rows {
		peak = max(peak, r.Tied+r.Potential)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" class="chart" role="img" aria-label="%s"><title>%s</title>`, width, len(rows)*rowH+8, esc(title), esc(title))
	for i, r := range rows {
		y := i*rowH + 4
		wt := float64(r.Tied) / float64(peak) * barW
		wp := float64(r.Potential) / float64(peak) * barW
		label := r.Label
		if len([]rune(label)) > 28 {
			label = string([]rune(label)[:27]) + "…"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="label">%s</text>`, labelW-6, y+14, esc(label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" class="tied"><title>%s: %d tied</title></rect>`, labelW, y, wt, rowH-6, esc(r.Label), r.Tied)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" class="potential"><title>%s: %d potentially associated</title></rect>`, float64(labelW)+wt, y, wp, rowH-6, esc(r.Label), r.Potential)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis">%d / %d</text>`, float64(labelW)+wt+wp+4, y+14, r.Tied, r.Potential)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceMax rounds up to 1, 2 or 5 times a power of ten.
func niceMax(v int) int {
	p := int(math.Pow(10, math.Floor(math.Log10(float64(max(1, v))))))
	for _, k := range []int{1, 2, 5, 10} {
		if k*p >= v {
			return k * p
		}
	}
	return 10 * p
}

// timeline draws reports by month, stacked by tier.
func timeline(ms []MonthCount, title string) template.HTML {
	const width, height, left, bottom, top = 760, 220, 48, 30, 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" class="chart" role="img" aria-label="%s"><title>%s</title>`, width, height, esc(title), esc(title))
	if len(ms) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="40" class="axis">No finding has an observation time.</text></svg>`, left)
		return template.HTML(b.String())
	}
	peak := 1
	for _, m := range ms {
		peak = max(peak, m.Tied+m.Potential)
	}
	step := niceMax(peak) / 5
	switch {
	case peak <= 5:
		step = 1
	case peak <= 10:
		step = 2
	}
	step = max(step, 1)
	top2 := (peak + step - 1) / step * step
	plotH := float64(height - bottom - top)
	slot := float64(width-left-8) / float64(len(ms))
	bw := math.Max(1, slot*0.8)
	for v := 0; v <= top2; v += step {
		y := top + plotH - float64(v)/float64(top2)*plotH
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, left, width-8, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" class="axis">%d</text>`, left-4, y+4, v)
	}
	every := (len(ms) + 11) / 12
	base := top + plotH
	for i, m := range ms {
		x := float64(left) + float64(i)*slot + (slot-bw)/2
		ht := float64(m.Tied) / float64(top2) * plotH
		hp := float64(m.Potential) / float64(top2) * plotH
		label := m.Month.Format("2006-01")
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="tied"><title>%s: %d tied</title></rect>`, x, base-ht, bw, ht, label, m.Tied)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="potential"><title>%s: %d potentially associated</title></rect>`, x, base-ht-hp, bw, hp, label, m.Potential)
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" class="axis">%s</text>`, x+bw/2, height-10, label)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// region is the dashboard's base map.
type region struct {
	Countries []struct {
		ISO   string         `json:"iso"`
		Name  string         `json:"name"`
		Rings [][][2]float64 `json:"rings"`
	} `json:"countries"`
}

var baseMap = func() *region {
	var r region
	if err := json.Unmarshal(ui.Region, &r); err != nil {
		panic("brief: embedded base map: " + err.Error())
	}
	return &r
}()

var focus = map[string]bool{"KH": true, "MM": true, "LA": true, "TH": true}

// countryLabels are where the map names countries, as the dashboard does.
var countryLabels = map[string][2]float64{"MM": {96.2, 21.5}, "TH": {100.9, 15.6}, "LA": {102.6, 19.6}, "KH": {104.9, 12.7},
	"VN": {107.5, 14.5}, "CN": {103, 26.5}, "MY": {102.2, 5.6}, "BD": {90.4, 24.2}}

// compoundMap draws the base map (equirectangular, longitudes scaled by the
// cosine of the middle latitude, as the dashboard) with a marker per
// located compound with findings: its area grows with tied reports, its
// colour says its status. It returns the SVG and how many compounds with
// findings have no location.
func compoundMap(rows []CompoundRow, title string) (template.HTML, int) {
	view := [4]float64{90, 5, 110, 28.5}
	const k = 30.0
	cx := math.Cos((view[1] + view[3]) / 2 * math.Pi / 180)
	px := func(lon float64) float64 { return (lon - view[0]) * cx * k }
	py := func(lat float64) float64 { return (view[3] - lat) * k }
	width, height := px(view[2]), py(view[1])
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" class="map" role="img" aria-label="%s"><title>%s</title>`, width, height, esc(title), esc(title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%.0f" class="sea"/>`, width, height)
	for _, c := range baseMap.Countries {
		var d strings.Builder
		for _, ring := range c.Rings {
			for i, p := range ring {
				if i == 0 {
					d.WriteByte('M')
				} else {
					d.WriteByte('L')
				}
				fmt.Fprintf(&d, "%.1f,%.1f", px(p[0]), py(p[1]))
			}
			d.WriteByte('Z')
		}
		class := "land"
		if focus[c.ISO] {
			class += " focus"
		}
		fmt.Fprintf(&b, `<path d="%s" class="%s"><title>%s</title></path>`, d.String(), class, esc(c.Name))
	}
	for _, c := range baseMap.Countries {
		if at, ok := countryLabels[c.ISO]; ok {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="cname">%s</text>`, px(at[0]), py(at[1]), esc(c.Name))
		}
	}
	var located []CompoundRow
	missing := 0
	for _, r := range rows {
		if r.Tied+r.Potential == 0 {
			continue
		}
		if !r.HasLocation {
			missing++
			continue
		}
		located = append(located, r)
	}
	// Largest first, so that small markers are drawn on top.
	slices.SortStableFunc(located, func(a, b CompoundRow) int { return b.Tied - a.Tied })
	peak := 1
	for _, r := range located {
		peak = max(peak, r.Tied)
	}
	for _, r := range located {
		rad := 3 + 14*math.Sqrt(float64(r.Tied)/float64(peak))
		status := r.Status
		if status == "" {
			status = "unknown"
		}
		name := r.Name
		if name == "" {
			name = r.ID
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.1f" class="s-%s"><title>%s (%s, %s): %d tied, %d potentially associated</title></circle>`,
			px(r.Lon), py(r.Lat), rad, esc(status), esc(name), esc(r.Country), esc(status), r.Tied, r.Potential)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), missing
}
