package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The dashboard works with no internet: no embedded file refers to
// anything but this server. The only absolute URL allowed is the SVG
// namespace, a name that is never fetched.
func TestDashboardReferencesNothingExternal(t *testing.T) {
	absolute := regexp.MustCompile(`(?i)\b(?:https?|ftp|wss?):\/\/[^\s"'<>)]*|(?:src|href|action)\s*=\s*["']?\/\/|url\(\s*["']?(?:https?:)?\/\/|@import`)
	allowed := map[string]bool{"http://www.w3.org/2000/svg": true}
	for name, a := range assets {
		for _, m := range absolute.FindAllString(string(a.body), -1) {
			if !allowed[m] {
				t.Errorf("%s refers to %q: every asset must be served by seams", name, m)
			}
		}
	}
	// What index.html loads is embedded.
	ref := regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	for _, m := range ref.FindAllStringSubmatch(string(assets["index.html"].body), -1) {
		u := m[1]
		if strings.HasPrefix(u, "data:") {
			continue
		}
		name, ok := strings.CutPrefix(u, "/ui/")
		if _, have := assets[name]; !ok || !have {
			t.Errorf("index.html loads %q, which is not an embedded asset", u)
		}
	}
	// Scripts build the page with DOM calls: no HTML parsing of data.
	for _, bad := range []string{".innerHTML", "outerHTML =", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(assets["app.js"].body), bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
}

func TestDashboardAssetsServed(t *testing.T) {
	f := newFixture(t)
	want := map[string]string{"/": "text/html", "/ui/app.js": "text/javascript", "/ui/style.css": "text/css", "/ui/region.json": "application/json"}
	for path, ctype := range want {
		resp, b := f.do(t, "", "GET", path, nil)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(b) == 0 {
			t.Errorf("GET %s: %d %s, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
			continue
		}
		req, _ := http.NewRequest("GET", f.ts.URL+path, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		r2, err := f.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", path, r2.StatusCode)
		}
	}
	if resp, _ := f.do(t, "", "GET", "/ui/missing.js", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing asset: %d", resp.StatusCode)
	}
}

// The base map holds the region's countries, clipped and small.
func TestBaseMap(t *testing.T) {
	var reg struct {
		Source    string
		Bbox      []float64
		Countries []struct {
			ISO   string
			Name  string
			Rings [][][2]float64
		}
	}
	if err := json.Unmarshal(assets["region.json"].body, &reg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reg.Source, "Natural Earth") || len(reg.Bbox) != 4 {
		t.Errorf("source %q, bbox %v", reg.Source, reg.Bbox)
	}
	have := map[string]bool{}
	for _, c := range reg.Countries {
		have[c.ISO] = true
		for _, r := range c.Rings {
			for _, p := range r {
				if p[0] < reg.Bbox[0] || p[0] > reg.Bbox[2] || p[1] < reg.Bbox[1] || p[1] > reg.Bbox[3] {
					t.Fatalf("%s has a point %v outside the box %v", c.ISO, p, reg.Bbox)
				}
			}
		}
	}
	for _, iso := range []string{"KH", "MM", "LA", "TH", "VN", "CN", "MY"} {
		if !have[iso] {
			t.Errorf("the base map lacks %s", iso)
		}
	}
	if n := len(assets["region.json"].body); n > 200<<10 {
		t.Errorf("region.json is %d bytes: simplify it", n)
	}
}
