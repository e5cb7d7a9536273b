package server

import (
	"bytes"
	"net/http"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/brief"
)

// brief returns the brief of what the caller may see of the store, as
// seams brief --data writes it: one self-contained HTML document, sent as
// a download (opened from the server's origin, its inline styles would
// meet the dashboard's Content-Security-Policy). The store audits the
// reads of findings and reports it makes.
func (s *Server) brief(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	ps := newParams(r.URL.Query())
	title := ps.str("title")
	if err := ps.done(); err != nil {
		return err
	}
	o := brief.StoreOptions{
		Title:  title,
		Source: "the store, as " + p.Actor() + " of " + p.Org + " sees it",
		Made:   s.o.Now(),
	}
	// A viewer sees devices masked here as everywhere in the API.
	if red := redactorFor(p); red.mask {
		o.MaskDevice = func(d seams.DeviceID) seams.DeviceID {
			return seams.DeviceID{Type: d.Type, Value: maskValue(d.Value)}
		}
	}
	d, err := brief.FromStore(r.Context(), s.st, p, o)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := brief.HTML(&b, d); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="seams-brief.html"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b.Bytes())
	return err
}
