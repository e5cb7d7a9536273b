package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/export"
)

// exportQuery is what GET /api/findings/export takes: the filters of
// GET /api/findings, a format, and bom for CSV.
type exportQuery struct {
	q      seams.FindingQuery
	format export.Format
	bom    bool
}

func parseExportQuery(v url.Values) (exportQuery, error) {
	p := newParams(v)
	var e exportQuery
	e.q = findingFilters(p, v)
	if s := p.str("format"); s == "" {
		p.fail("missing parameter format (csv, parquet, stix, misp or gse)")
	} else if f, err := export.ParseFormat(s); err != nil {
		p.fail("parameter format: %v", err)
	} else {
		e.format = f
	}
	e.bom = p.boolean("bom")
	if e.bom && e.format != export.CSV && e.format != "" {
		p.fail("parameter bom is for format csv, not %s", e.format)
	}
	return e, p.done()
}

// exportTypes are the media types of the formats.
var exportTypes = map[export.Format][2]string{
	export.CSV:     {"text/csv; charset=utf-8", "csv"},
	export.Parquet: {"application/vnd.apache.parquet", "parquet"},
	export.STIX:    {"application/stix+json;version=2.1", "stix.json"},
	export.MISP:    {"application/json", "misp.json"},
	export.GSE:     {"application/x-ndjson", "signals.jsonl"},
}

// exportFindings is GET /api/findings/export: the findings the filters
// select, every page of them, written by the writers of seams export
// (package export) as a download. The file is made whole in a temporary
// file first, so that a failure half-way is a JSON error and not a cut
// file; the store audits each page it reads. Devices are masked for a
// viewer, as everywhere in the API. STIX, MISP and the signal feed are
// stamped with the token's organisation.
func (s *Server) exportFindings(w http.ResponseWriter, r *http.Request, p seams.Principal) error {
	eq, err := parseExportQuery(r.URL.Query())
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(s.o.Now().Add(s.o.UploadTimeout))
	f, err := os.CreateTemp(s.o.TempDir, "seams-export-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	o := export.StoreOptions{Format: eq.format, Query: eq.q, Org: p.Org, BOM: eq.bom}
	if redactorFor(p).mask {
		o.MaskDevice = func(d seams.DeviceID) seams.DeviceID { return seams.DeviceID{Type: d.Type, Value: maskValue(d.Value)} }
	}
	res, err := export.FromStore(r.Context(), s.st, p, o, f)
	if errors.Is(err, export.ErrNoTime) {
		return fmt.Errorf("%w: no finding selected has a time to stamp the %s export with; widen the filters", seams.ErrInvalid, eq.format)
	}
	if err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	t := exportTypes[eq.format]
	h := w.Header()
	h.Set("Content-Type", t[0])
	h.Set("Content-Disposition", `attachment; filename="seams-findings.`+t[1]+`"`)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("X-Seams-Findings", strconv.Itoa(res.Findings))
	w.WriteHeader(http.StatusOK)
	_, err = io.Copy(w, f)
	return err
}
