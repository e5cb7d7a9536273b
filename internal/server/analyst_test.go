package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
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

// TestUploadErrorsNameTheFile: a file that cannot be read on is 422 with
// its name in the message, whatever its kind and format; records that
// cannot be used are rejections of a 2xx answer, named by file and line.
func TestUploadErrorsNameTheFile(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		kind, name, body string
		status           int
		says             string
	}{
		{"indicators", "partner-x.csv", "not,a,header\n1,2,3\n", 422, `partner-x.csv:1: missing required columns "compound", "kind", "value"`},
		{"compounds", "places.csv", "not,a,header\n", 422, `places.csv:1: missing required columns "id", "name", "country"`},
		{"reports", "tips.csv", "not,a,header\n", 422, `tips.csv:1: missing required column "report_id"`},
		{"indicators", "broken.stix.json", `{"type":"bundle","objects":[{]}`, 422, "broken.stix.json: not valid JSON"},
		{"reports", "tips.jsonl", "{\"x\":1}\n", 200, `"file": "tips.jsonl"`},
	} {
		resp, b := f.do(t, "analyst", "POST", "/api/upload/"+c.kind+"?name="+c.name, strings.NewReader(c.body))
		said := string(b)
		if resp.StatusCode >= 300 {
			said = errorOf(b)
		}
		if resp.StatusCode != c.status || !strings.Contains(said, c.says) {
			t.Errorf("%s %s: %d %s; want %d saying %q", c.kind, c.name, resp.StatusCode, b, c.status, c.says)
		}
		if strings.Contains(string(b), `"-:`) || strings.Contains(string(b), " -: ") {
			t.Errorf("%s %s names standard input: %s", c.kind, c.name, b)
		}
	}
}

// TestUploadThenRun: run=true cross-references the store once the file is
// stored, and the answer has the run; its findings are those a run
// started apart would make. Without run, nothing runs.
func TestUploadThenRun(t *testing.T) {
	f := newFixture(t)
	reports := `{"id":"r-later-1","ips":[{"ip":"203.0.113.7","at":"2024-05-02T10:00:00Z","event":"login"}]}` + "\n"
	var runs struct{ Runs []runView }
	f.get(t, "analyst", "/api/runs", &runs)
	before := len(runs.Runs)
	resp, b := f.do(t, "analyst", "POST", "/api/upload/reports?name=later.jsonl", strings.NewReader(reports))
	if resp.StatusCode != http.StatusCreated || strings.Contains(string(b), `"run"`) {
		t.Fatalf("upload without run: %d %s", resp.StatusCode, b)
	}
	f.get(t, "analyst", "/api/runs", &runs)
	if len(runs.Runs) != before {
		t.Fatalf("an upload without run=true ran: %d runs, had %d", len(runs.Runs), before)
	}
	reports2 := `{"id":"r-later-2","ips":[{"ip":"203.0.113.7","at":"2024-05-03T10:00:00Z","event":"login"}]}` + "\n"
	resp, b = f.do(t, "analyst", "POST", "/api/upload/reports?name=later2.jsonl&run=true", strings.NewReader(reports2))
	var got uploadResult
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || got.Run == nil || got.RunError != "" || got.New != 1 {
		t.Fatalf("upload with run: %d %s", resp.StatusCode, b)
	}
	// The run matched both new reports (the incremental run takes every
	// report stored since the last run), and its new findings are theirs.
	made := 0
	for _, id := range []string{"r-later-1", "r-later-2"} {
		page, err := f.st.Findings(context.Background(), seams.Operator(org, "tester"), seams.FindingQuery{Report: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range page.Findings {
			if fd.FirstRun != got.Run.ID {
				t.Errorf("finding %d of %s was made by run %d, not the upload's %d", fd.ID, id, fd.FirstRun, got.Run.ID)
			}
		}
		made += len(page.Findings)
	}
	if got.Run.Scanned != 2 || made == 0 || got.Run.Counts["new"] != made {
		t.Errorf("run after upload: scanned %d, new %d; want 2 and the %d findings of the two reports", got.Run.Scanned, got.Run.Counts["new"], made)
	}
	// A run already in progress: the file is stored all the same.
	f.srv.runMu.Lock()
	resp, b = f.do(t, "analyst", "POST", "/api/upload/reports?name=later3.jsonl&run=true",
		strings.NewReader(`{"id":"r-later-3","ips":[{"ip":"203.0.113.7","at":"2024-05-04T10:00:00Z"}]}`+"\n"))
	f.srv.runMu.Unlock()
	got = uploadResult{}
	json.Unmarshal(b, &got)
	if resp.StatusCode != http.StatusCreated || got.Run != nil || !strings.Contains(got.RunError, "in progress") || got.New != 1 {
		t.Errorf("upload with run while a run holds the store: %d %s", resp.StatusCode, b)
	}
}
