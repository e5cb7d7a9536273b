package brief

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/evidence"
	"github.com/seams-dev/seams/internal/server/ui"
)

//go:embed brief.html.tmpl
var pageText string

//go:embed brief.css
var css string

var page = template.Must(template.New("brief").Funcs(template.FuncMap{
	"num":      num,
	"pct":      pct,
	"month":    func(t time.Time) string { return monthText(t) },
	"day":      func(t time.Time) string { return dayText(t) },
	"when":     whenText,
	"window":   windowText,
	"observed": observedText,
	"join":     strings.Join,
	"num64":    func(n int64) string { return num(int(n)) },
	"ptr":      func(b seams.Build) *seams.Build { return &b },
	"rules":    rulesText,
	"build":    buildText,
	"css":      func() template.CSS { return template.CSS(css) },
	"shortsha": func(s string) string {
		if len(s) > 16 {
			return s[:16] + "…"
		}
		return s
	},
}).Parse(pageText))

// view is what the template reads.
type view struct {
	*Data
	MapSVG        template.HTML
	MapMissing    int
	CompoundSVG   template.HTML
	CompoundShown int
	CountrySVG    template.HTML
	TimelineSVG   template.HTML
	Rules         []evidence.RuleText
	MapNotice     string
	TopCompounds  int
}

// maxBars is the number of compounds in the bar chart; the table lists
// all.
const maxBars = 25

// HTML writes the brief as one self-contained HTML document: styles and
// charts inline, no script, and a Content-Security-Policy that lets it
// fetch nothing, so that what is read is what was written.
func HTML(w io.Writer, d *Data) error {
	v := &view{Data: d, Rules: evidence.Rules, MapNotice: ui.RegionNotice, TopCompounds: maxBars}
	v.MapSVG, v.MapMissing = compoundMap(d.ByCompound, "Map of the compounds with findings")
	var bars []bar
	for _, r := range d.ByCompound {
		if len(bars) == maxBars {
			break
		}
		if r.Tied+r.Potential == 0 {
			continue
		}
		name := r.Name
		if name == "" {
			name = r.ID
		}
		bars = append(bars, bar{Label: name, Tied: r.Tied, Potential: r.Potential})
	}
	v.CompoundShown = len(bars)
	v.CompoundSVG = hbars(bars, "Reports by compound and tier")
	var cbars []bar
	for _, c := range d.ByCountry {
		cbars = append(cbars, bar{Label: countryName(c.Country), Tied: c.Tied, Potential: c.Potential})
	}
	v.CountrySVG = hbars(cbars, "Reports by country of the compound and tier")
	v.TimelineSVG = timeline(d.Months, "Reports by month of their earliest observation and tier")
	return page.Execute(w, v)
}

var countryNames = map[string]string{"KH": "Cambodia", "MM": "Myanmar", "LA": "Laos", "TH": "Thailand", "VN": "Vietnam",
	"CN": "China", "MY": "Malaysia", "PH": "Philippines", "ID": "Indonesia", "BD": "Bangladesh", "IN": "India"}

func countryName(cc string) string {
	if n, ok := countryNames[cc]; ok {
		return n + " (" + cc + ")"
	}
	return cc
}

// num writes an integer with thousands separators: 18,000.
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// pct writes part of whole as a percentage with one decimal, or "-".
func pct(part, whole int) string {
	if whole == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64) + "%"
}

func monthText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("January 2006")
}

func dayText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

func whenText(t time.Time) string {
	if t.IsZero() {
		return "no time"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func windowText(in *seams.Indicator) string {
	f, l := "open", "open"
	if !in.Window.First.IsZero() {
		f = dayText(in.Window.First)
	}
	if !in.Window.Last.IsZero() {
		l = dayText(in.Window.Last)
	}
	return f + " to " + l
}

func observedText(e seams.Evidence) string {
	o := e.Observed
	var parts []string
	if o.Device != (seams.DeviceID{}) {
		parts = append(parts, "device "+o.Device.String())
	} else {
		s := "address " + o.IP.String()
		if o.Port != 0 {
			s += " port " + strconv.Itoa(o.Port)
		}
		parts = append(parts, s)
	}
	parts = append(parts, whenText(o.At))
	if o.Event != "" {
		parts = append(parts, o.Event)
	}
	if o.Proxy {
		parts = append(parts, "flagged as a proxy")
	}
	if o.Associated {
		parts = append(parts, "of an associated account")
	}
	if e.Shared.IsValid() {
		s := "in shared space " + e.Shared.String()
		if e.SharedWhy != "" {
			s += " (" + e.SharedWhy + ")"
		}
		parts = append(parts, s)
	}
	if e.Drift > 0 {
		parts = append(parts, fmt.Sprintf("%.1f days outside the window", e.Drift.Hours()/24))
	}
	if n := o.Net; n.ASN != 0 || n.Country != "" {
		s := ""
		if n.ASN != 0 {
			s = "AS" + strconv.FormatUint(uint64(n.ASN), 10)
			if n.Org != "" {
				s += " " + n.Org
			}
		}
		if n.Country != "" {
			s = strings.TrimSpace(s + " " + n.Country)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func rulesText(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

func buildText(b *seams.Build) string {
	if b == nil {
		return "not recorded"
	}
	var extra []string
	if b.Commit != "" {
		extra = append(extra, "commit "+b.Commit)
	}
	if b.Go != "" {
		extra = append(extra, b.Go)
	}
	if b.CGO {
		extra = append(extra, "cgo")
	}
	if len(extra) == 0 {
		return b.Version
	}
	return b.Version + " (" + strings.Join(extra, ", ") + ")"
}
