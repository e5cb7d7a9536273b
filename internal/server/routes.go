package server

import (
	"net/http"

	"github.com/seams-dev/seams"
)

// handler is an API handler: it acts for p (the zero principal on public
// routes) and returns an error that middleware maps to a status.
type handler func(w http.ResponseWriter, r *http.Request, p seams.Principal) error

// route is one entry of the API: its method and path (net/http pattern
// syntax, which OpenAPI's path templates share), the least role it needs
// ("" for a public route), and its handler. The table is the one source of
// what the server serves: the mux, the role tests and the OpenAPI test
// read it.
type route struct {
	method, path string
	role         seams.Role
	upload       bool // takes a file body: MaxUpload instead of MaxBody
	h            func(s *Server, w http.ResponseWriter, r *http.Request, p seams.Principal) error
}

// upload returns the handler of POST /api/upload/KIND.
func upload(kind string) func(*Server, http.ResponseWriter, *http.Request, seams.Principal) error {
	return func(s *Server, w http.ResponseWriter, r *http.Request, p seams.Principal) error {
		return s.upload(w, r, p, kind)
	}
}

// public marks a route that needs no token.
const public seams.Role = ""

var routes = []route{
	{"GET", "/api/health", public, false, (*Server).health},
	{"GET", "/api/openapi.json", public, false, (*Server).openapi},
	{"GET", "/api/me", seams.RoleViewer, false, (*Server).me},
	{"GET", "/api/summary", seams.RoleViewer, false, (*Server).summary},
	{"GET", "/api/compounds", seams.RoleViewer, false, (*Server).compounds},
	{"GET", "/api/compounds/{id}", seams.RoleViewer, false, (*Server).compound},
	{"GET", "/api/indicators", seams.RoleViewer, false, (*Server).indicators},
	{"GET", "/api/indicator-files", seams.RoleViewer, false, (*Server).indicatorFiles},
	{"GET", "/api/reports", seams.RoleViewer, false, (*Server).reports},
	{"GET", "/api/findings", seams.RoleViewer, false, (*Server).findings},
	{"GET", "/api/findings/export", seams.RoleViewer, false, (*Server).exportFindings},
	{"GET", "/api/findings/{id}", seams.RoleViewer, false, (*Server).finding},
	{"POST", "/api/findings/{id}/review", seams.RoleAnalyst, false, (*Server).review},
	{"GET", "/api/search", seams.RoleViewer, false, (*Server).search},
	{"GET", "/api/brief", seams.RoleViewer, false, (*Server).brief},
	{"POST", "/api/upload/compounds", seams.RoleAnalyst, true, upload("compounds")},
	{"POST", "/api/upload/indicators", seams.RoleAnalyst, true, upload("indicators")},
	{"POST", "/api/upload/reports", seams.RoleAnalyst, true, upload("reports")},
	{"POST", "/api/upload/shared", seams.RoleAdmin, true, upload("shared")},
	{"POST", "/api/share/indicators", seams.RoleAnalyst, false, (*Server).shareIndicators},
	{"POST", "/api/share/reports", seams.RoleAnalyst, false, (*Server).shareReports},
	{"GET", "/api/runs", seams.RoleViewer, false, (*Server).runs},
	{"POST", "/api/runs", seams.RoleAnalyst, false, (*Server).startRun},
	{"GET", "/api/runs/{id}/changes", seams.RoleViewer, false, (*Server).changes},
	{"GET", "/api/tokens", seams.RoleAdmin, false, (*Server).tokens},
	{"POST", "/api/tokens", seams.RoleAdmin, false, (*Server).createToken},
	{"DELETE", "/api/tokens/{id}", seams.RoleAdmin, false, (*Server).revokeToken},
	{"GET", "/api/audit", seams.RoleAdmin, false, (*Server).audit},
	{"GET", "/api/audit/verify", seams.RoleAdmin, false, (*Server).verifyAudit},
}

// routes builds the handler: every API route behind its middleware, the
// dashboard, and a JSON 404 for any other /api/ path.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.path, s.api(rt))
	}
	mux.Handle("/api/", s.api(route{role: public, h: notFound}))
	s.ui(mux)
	return s.outer(mux)
}

func notFound(_ *Server, w http.ResponseWriter, r *http.Request, _ seams.Principal) error {
	return errorf(http.StatusNotFound, "no such API endpoint: %s %s (see /api/openapi.json)", r.Method, clip(r.URL.Path, 128))
}
