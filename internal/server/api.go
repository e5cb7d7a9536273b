package server

import (
	_ "embed"
	"net/http"

	"github.com/seams-dev/seams"
)

// The read side of the API. The store checks visibility and audits every
// read of findings and reports itself; handlers only parse, call and
// shape.

//go:embed openapi.json
var openapiDoc []byte

func (s *Server) health(w http.ResponseWriter, r *http.Request, _ seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request, _ seams.Principal) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err := w.Write(openapiDoc)
	return err
}

// noParams refuses any query parameter on a route that takes none.
func noParams(r *http.Request) error { return newParams(r.URL.Query()).done() }

type meView struct {
	Org   string `json:"org"`
	User  string `json:"user,omitempty"`
	Role  string `json:"role"`
	Token string `json:"token"`
	// What the dashboard may offer this token.
	Can struct {
		Upload  bool `json:"upload"`
		Review  bool `json:"review"`
		Run     bool `json:"run"`
		Devices bool `json:"devices"`
		Admin   bool `json:"admin"`
	} `json:"can"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	v := meView{Org: p.Org, User: p.User, Role: string(p.Role), Token: p.Token}
	analyst := p.Role.Allows(seams.RoleAnalyst)
	v.Can.Upload, v.Can.Review, v.Can.Run, v.Can.Devices = analyst, analyst, analyst, analyst
	v.Can.Admin = p.Role.Allows(seams.RoleAdmin)
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) summary(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	ps := newParams(r.URL.Query())
	q := seams.SummaryQuery{Compound: ps.str("compound")}
	if err := ps.done(); err != nil {
		return err
	}
	sum, err := s.st.Summary(r.Context(), p, q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, summaryOf(sum, redactorFor(p)))
}

// summaryView is StoreSummary with the last run in the API's shape.
type summaryView struct {
	*seams.StoreSummary
	LastRun *runView `json:"last_run,omitempty"`
}

func summaryOf(sum *seams.StoreSummary, red redactor) summaryView {
	v := summaryView{StoreSummary: sum}
	if sum.LastRun != nil {
		rv := red.run(*sum.LastRun)
		v.LastRun = &rv
	}
	return v
}

// compounds lists the compounds with their counts, or with counts=false
// only what the registry says of them (reference data: fast, and not a
// read of findings).
func (s *Server) compounds(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	ps := newParams(r.URL.Query())
	counts := true
	if ps.str("counts") != "" {
		counts = ps.boolean("counts")
	}
	if err := ps.done(); err != nil {
		return err
	}
	if !counts {
		cs, err := s.st.Compounds(r.Context())
		if err != nil {
			return err
		}
		out := make([]compoundView, len(cs))
		for i := range cs {
			out[i] = viewCompound(cs[i])
		}
		return writeJSON(w, http.StatusOK, map[string]any{"compounds": out})
	}
	stats, err := s.st.CompoundStats(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]compoundStatsView, len(stats))
	for i := range stats {
		out[i] = viewCompoundStats(stats[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"compounds": out})
}

func (s *Server) compound(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !seams.ValidCompoundID(id) {
		return errorf(http.StatusNotFound, "no compound %q", clip(id, 64))
	}
	stats, err := s.st.CompoundStats(r.Context(), p, id)
	if err != nil {
		return err
	}
	if len(stats) != 1 {
		return errorf(http.StatusNotFound, "no compound %q", id)
	}
	sum, err := s.st.Summary(r.Context(), p, seams.SummaryQuery{Compound: id})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"compound": viewCompoundStats(stats[0]), "summary": summaryOf(sum, redactorFor(p))})
}

func (s *Server) indicators(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	q, err := parseIndicatorQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.st.Indicators(r.Context(), p, q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"indicators": redactorFor(p).indicators(page.Indicators), "next": page.Next})
}

func (s *Server) indicatorFiles(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	files, err := s.st.IndicatorFiles(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]fileVersionView, len(files))
	for i := range files {
		out[i] = viewFileVersion(files[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"files": out})
}

func (s *Server) reports(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	q, err := parseReportQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.st.Reports(r.Context(), p, q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reports": redactorFor(p).reports(page.Reports), "next": page.Next})
}

func (s *Server) findings(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	q, err := parseFindingQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.st.Findings(r.Context(), p, q)
	if err != nil {
		return err
	}
	out := map[string]any{"findings": redactorFor(p).findings(page.Findings), "next": page.Next, "prev": page.Prev}
	if q.Count {
		out["total"] = page.Total
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) finding(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	if err := noParams(r); err != nil {
		return err
	}
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.st.Finding(r.Context(), p, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, redactorFor(p).findingDetail(d))
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	q, err := parseSearch(r.URL.Query())
	if err != nil {
		return err
	}
	// A viewer sees devices masked; searching by one would tell which
	// reports hold a device it may not read.
	if q.Kind == seams.SearchDevice && !p.Role.Allows(seams.RoleAnalyst) {
		return errorf(http.StatusForbidden, "searching by device needs role analyst (this token has role %s)", p.Role)
	}
	res, err := s.st.Search(r.Context(), p, q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, redactorFor(p).search(res))
}

func (s *Server) runs(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	ps := newParams(r.URL.Query())
	n := ps.limit("limit", 1000)
	if err := ps.done(); err != nil {
		return err
	}
	if n == 0 {
		n = 20
	}
	list, err := s.st.Runs(r.Context(), p, n)
	if err != nil {
		return err
	}
	out := make([]runView, len(list))
	for i := range list {
		out[i] = redactorFor(p).run(list[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	q, err := parseChangeQuery(r.PathValue("id"), r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.st.Changes(r.Context(), p, q)
	if err != nil {
		return err
	}
	out := make([]changeView, len(page.Changes))
	for i, c := range page.Changes {
		out[i] = changeView{Run: c.Run, Finding: c.Finding, Report: c.Report, Compound: c.Compound, Kind: string(c.Kind),
			From: c.From.String(), To: c.To.String(), Version: c.Version}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"changes": out, "next": page.Next})
}
