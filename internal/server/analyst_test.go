package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestExportFindings: the export answers the filters as a download, masks
// devices for a viewer as the rest of the API does, and refuses a bad
// format or a byte-order mark outside CSV. (cmd/seams holds its bytes to
// seams export --data: TestExportStoreMatchesAPI.)
func TestExportFindings(t *testing.T) {
	f := newFixture(t)
	const device = "358240051111110"
	for _, c := range []struct {
		who, query string
		status     int
		has, lacks string
	}{
		{"analyst", "format=csv&report=r-device", 200, device, ""},
		{"viewer", "format=csv&report=r-device", 200, "imei:…1110", device},
		{"viewer", "format=stix&report=r-device", 200, "…1110", device},
		{"analyst", "format=csv&tier=tied", 200, "r-tied-ip", "\tpotential"},
		{"analyst", "", 400, "missing parameter format", ""},
		{"analyst", "format=xml", 400, "unknown export format", ""},
		{"analyst", "format=stix&bom=true", 400, "bom is for format csv", ""},
		{"analyst", "format=csv&cursor=f1", 400, "unknown parameter", ""},
	} {
		resp, b := f.do(t, c.who, "GET", "/api/findings/export?"+c.query, nil)
		body := string(b)
		if resp.StatusCode != c.status || !strings.Contains(body, c.has) || c.lacks != "" && strings.Contains(body, c.lacks) {
			t.Errorf("%s %s: %d %.300s; want %d with %q without %q", c.who, c.query, resp.StatusCode, body, c.status, c.has, c.lacks)
		}
		if c.status == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s: not a download: %v", c.query, resp.Header)
		}
	}
}
