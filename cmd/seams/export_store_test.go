package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seams-dev/seams/internal/server"
	"github.com/seams-dev/seams/sqlite"
)

// TestExportStoreMatchesAPI is the differential test of the two doors to
// the export writers: GET /api/findings/export and seams export --data
// give the same bytes for the same store, filter and format; and with no
// filter, the CSV and Parquet of the store are those seams export --from
// writes of seams xref's own output.
func TestExportStoreMatchesAPI(t *testing.T) {
	dir := t.TempDir()
	loadSmall(t, dir)
	if code, _, stderr := run(t, "", "xref", "--store", dir); code != 0 {
		t.Fatalf("xref --store: %s", stderr)
	}
	code, stdout, stderr := run(t, "", "token", "create", "--data", dir, "--org", "hotline", "--role", "analyst", "--user", "user-a")
	if code != 0 {
		t.Fatalf("token create: %s", stderr)
	}
	secret := strings.Fields(stdout)[0]
	cases := []struct {
		name  string
		query string   // of the API
		flags []string // of seams export
	}{
		{"everything", "", nil},
		{"tied in KH", "tier=tied&country=kh", []string{"--tier", "tied", "--country", "kh"}},
		{"potential, newest first", "tier=potential&sort=newest", []string{"--tier", "potential", "--newest"}},
		{"one compound, not reviewed", "compound=c-jinbei&review=none", []string{"--compound", "c-jinbei", "--review", "none"}},
		{"a time range", "from=2024-05-01&to=2024-09-01", []string{"--from-time", "2024-05-01", "--to", "2024-09-01"}},
		{"the review queue by rule", "review=none&sort=tier&rule=ip-drift", []string{"--review", "none", "--queue", "--rule", "ip-drift"}},
		{"one source", "source=partner-a&sort=tier", []string{"--source", "partner-a", "--queue"}},
	}
	formats := []string{"csv", "parquet", "stix", "misp"}
	// The command line first: it opens the store itself.
	cli := map[string][]byte{}
	for _, c := range cases {
		for _, f := range formats {
			out := filepath.Join(t.TempDir(), "export."+f)
			args := append([]string{"export", "--data", dir, "--format", f, "--out", out, "--org", "hotline"}, c.flags...)
			if code, _, stderr := run(t, "", args...); code != 0 {
				t.Fatalf("%v: exit %d %s", args, code, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			cli[c.name+"/"+f] = b
		}
	}
	// seams xref's own output, exported from files.
	xout := t.TempDir()
	if code, _, stderr := run(t, "", smallArgs(xout)...); code != 0 {
		t.Fatalf("xref: %s", stderr)
	}
	for _, f := range []string{"csv", "parquet"} {
		out := filepath.Join(t.TempDir(), "files."+f)
		if code, _, stderr := run(t, "", "export", "--from", xout, "--format", f, "--out", out); code != 0 {
			t.Fatalf("export --from: %s", stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(cli["everything/"+f]) {
			t.Errorf("%s: seams export --data differs from seams export --from of seams xref's output", f)
		}
	}

	st, err := sqlite.Open(context.Background(), dir, sqlite.NewOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	o := server.NewOptions()
	o.TempDir, o.Rate = t.TempDir(), 0
	ts := httptest.NewServer(server.New(st, o).Handler())
	defer ts.Close()
	rows := 0
	for _, c := range cases {
		for _, f := range formats {
			req, _ := http.NewRequest("GET", ts.URL+"/api/findings/export?format="+f+"&"+c.query, nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d %s", c.name, f, resp.StatusCode, b)
			}
			want := cli[c.name+"/"+f]
			if string(b) != string(want) {
				t.Errorf("%s, %s: the API's export (%d bytes) differs from seams export --data (%d bytes)", c.name, f, len(b), len(want))
			}
			if f == "csv" {
				rows += strings.Count(string(b), "\r\n") - 1
			}
		}
	}
	if rows == 0 {
		t.Error("every CSV export was empty: the comparison proved nothing")
	}
}
