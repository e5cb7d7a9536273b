package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// The dashboard: plain HTML, CSS and JavaScript with no build step and
// nothing fetched from elsewhere, embedded in the binary. index.html is
// served at /, the rest under /ui/. The base map (region.json) is Natural
// Earth's public-domain boundaries; see ui/REGION.md.

//go:embed ui/index.html ui/app.js ui/style.css ui/region.json
var uiFiles embed.FS

// asset is one embedded file with its validator.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

var assets = loadAssets()

func loadAssets() map[string]asset {
	out := map[string]asset{}
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8", ".json": "application/json"}
	err := fs.WalkDir(uiFiles, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := uiFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path.Base(p)] = asset{body: b, ctype: types[path.Ext(p)], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("server: embedded dashboard: " + err.Error())
	}
	return out
}

// ui registers the dashboard's routes: public, since the files hold no
// data (the data comes from the API, with a token).
func (s *Server) ui(mux *http.ServeMux) {
	serve := func(name string) http.HandlerFunc {
		a := assets[name]
		return func(w http.ResponseWriter, r *http.Request) {
			// Revalidate every time (cheap with the ETag), so that an
			// upgraded server never runs a stale script.
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", a.etag)
			w.Header().Set("Content-Type", a.ctype)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
		}
	}
	mux.Handle("GET /{$}", serve("index.html"))
	for name := range assets {
		if name != "index.html" {
			mux.Handle("GET /ui/"+name, serve(name))
		}
	}
}

// uiRoutes lists the paths the dashboard is served at, for tests.
func uiRoutes() []string {
	out := []string{"/"}
	for name := range assets {
		if name != "index.html" {
			out = append(out, "/ui/"+name)
		}
	}
	return out
}
