package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
)

// leastRole is the role each route needs, written out here apart from the
// route table: the table test below holds the server to it.
var leastRole = map[string]seams.Role{
	"GET /api/health":                public,
	"GET /api/openapi.json":          public,
	"GET /api/me":                    seams.RoleViewer,
	"GET /api/summary":               seams.RoleViewer,
	"GET /api/compounds":             seams.RoleViewer,
	"GET /api/compounds/{id}":        seams.RoleViewer,
	"GET /api/indicators":            seams.RoleViewer,
	"GET /api/indicator-files":       seams.RoleViewer,
	"GET /api/reports":               seams.RoleViewer,
	"GET /api/findings":              seams.RoleViewer,
	"GET /api/findings/{id}":         seams.RoleViewer,
	"GET /api/findings/export":       seams.RoleViewer,
	"POST /api/findings/{id}/review": seams.RoleAnalyst,
	"GET /api/search":                seams.RoleViewer,
	"GET /api/brief":                 seams.RoleViewer,
	"POST /api/upload/compounds":     seams.RoleAnalyst,
	"POST /api/upload/indicators":    seams.RoleAnalyst,
	"POST /api/upload/reports":       seams.RoleAnalyst,
	"POST /api/upload/shared":        seams.RoleAdmin,
	"POST /api/share/indicators":     seams.RoleAnalyst,
	"POST /api/share/reports":        seams.RoleAnalyst,
	"GET /api/runs":                  seams.RoleViewer,
	"POST /api/runs":                 seams.RoleAnalyst,
	"GET /api/runs/{id}/changes":     seams.RoleViewer,
	"GET /api/tokens":                seams.RoleAdmin,
	"POST /api/tokens":               seams.RoleAdmin,
	"DELETE /api/tokens/{id}":        seams.RoleAdmin,
	"GET /api/audit":                 seams.RoleAdmin,
	"GET /api/audit/verify":          seams.RoleAdmin,
}

// requestFor fills a route's path and body with values that exist in the
// fixture, so that an allowed role gets past the checks to the handler.
func requestFor(t *testing.T, f *fixture, rt route) (path, body string) {
	t.Helper()
	id := f.findingID(t, "r-tied-ip", "c-jinbei")
	path = strings.NewReplacer("{id}", fmt.Sprint(id)).Replace(rt.path)
	switch rt.path {
	case "/api/compounds/{id}":
		path = "/api/compounds/c-jinbei"
	case "/api/runs/{id}/changes":
		path = "/api/runs/1/changes"
	case "/api/tokens/{id}":
		path = "/api/tokens/tok_000000000000" // none: revoking a real one would end a role of the test
	case "/api/search":
		path += "?q=203.0.113.7"
	case "/api/findings/export":
		path += "?format=csv"
	case "/api/findings/{id}/review":
		body = `{"mark":"none"}`
	case "/api/share/indicators":
		body = `{"name":"indicators.csv","shared":false}`
	case "/api/share/reports":
		body = `{"ids":["r-tied-ip"],"shared":false}`
	case "/api/tokens":
		if rt.method == "POST" {
			body = `{"role":"viewer","label":"table test"}`
		}
	case "/api/runs":
		if rt.method == "POST" {
			body = `{}`
		}
	}
	if strings.HasPrefix(rt.path, "/api/upload/") {
		path += "?name=empty.txt"
		body = ""
	}
	return path, body
}

// Every route against every role: no token is 401 (unless public), a role
// below the route's is 403, and the route's role and those above get past
// authorisation (whatever the handler then answers, it is not 401, 403 or
// a server error).
func TestRoutesByRole(t *testing.T) {
	f := newFixture(t)
	seen := map[string]bool{}
	for _, rt := range routes {
		key := rt.method + " " + rt.path
		seen[key] = true
		need, ok := leastRole[key]
		if !ok {
			t.Errorf("route %s is not in the test's table of roles", key)
			continue
		}
		if rt.role != need {
			t.Errorf("route %s needs role %q, the table says %q", key, rt.role, need)
		}
		path, body := requestFor(t, f, rt)
		for _, who := range []string{"", "viewer", "analyst", "admin"} {
			t.Run(key+" as "+cmpName(who), func(t *testing.T) {
				var rd *strings.Reader
				if body != "" {
					rd = strings.NewReader(body)
				} else {
					rd = strings.NewReader("")
				}
				resp, b := f.do(t, who, rt.method, path, rd)
				allowed := need == public || who != "" && seams.Role(who).Allows(need)
				switch {
				case need != public && who == "":
					if resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("no token: %d %s, want 401", resp.StatusCode, errorOf(b))
					}
				case !allowed:
					if resp.StatusCode != http.StatusForbidden {
						t.Errorf("%s: %d %s, want 403", who, resp.StatusCode, errorOf(b))
					}
				default:
					if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500 {
						t.Errorf("%s: %d %s, want it let through", who, resp.StatusCode, errorOf(b))
					}
				}
			})
		}
	}
	for key := range leastRole {
		if !seen[key] {
			t.Errorf("the table lists %s, which the server does not serve", key)
		}
	}
}

func cmpName(who string) string {
	if who == "" {
		return "nobody"
	}
	return who
}

// The OpenAPI document lists exactly the routes the mux serves, with the
// same roles; and every route it documents is answered by its handler, not
// by the catch-all 404.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t)
	resp, b := f.do(t, "", "GET", "/api/openapi.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json: %d", resp.StatusCode)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Role      string                     `json:"x-seams-role"`
			Responses map[string]json.RawMessage `json:"responses"`
			Summary   string                     `json:"summary"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	documented := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			documented[key] = op.Role
			if op.Summary == "" || len(op.Responses) == 0 {
				t.Errorf("%s: no summary or no responses", key)
			}
		}
	}
	var served []string
	for _, rt := range routes {
		key := rt.method + " " + rt.path
		served = append(served, key)
		role, ok := documented[key]
		switch {
		case !ok:
			t.Errorf("%s is served but not in openapi.json", key)
		case role != string(rt.role) && !(rt.role == public && role == "public"):
			t.Errorf("%s: openapi.json says role %q, the server needs %q", key, role, rt.role)
		}
	}
	for key := range documented {
		if !slices.Contains(served, key) {
			t.Errorf("%s is in openapi.json but not served", key)
		}
	}
	// Each documented route reaches its own handler: the catch-all
	// answers "no such API endpoint" and nothing else does.
	for _, rt := range routes {
		path, body := requestFor(t, f, rt)
		_, b := f.do(t, "admin", rt.method, path, strings.NewReader(body))
		if strings.Contains(errorOf(b), "no such API endpoint") {
			t.Errorf("%s %s reached the catch-all", rt.method, path)
		}
	}
	if resp, b := f.do(t, "admin", "GET", "/api/nothing-here", nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(errorOf(b), "no such API endpoint") {
		t.Errorf("unknown endpoint: %d %s", resp.StatusCode, b)
	}
}
