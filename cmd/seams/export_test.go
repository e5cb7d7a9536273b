package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var so, se bytes.Buffer
	if code := Run(context.Background(), []string{"xref", "--compounds", "../../testdata/small/compounds.csv",
		"--indicators", "../../testdata/small/indicators.csv", "--reports", "../../testdata/small/reports.jsonl",
		"--out", out}, nil, &so, &se); code != exitOK {
		t.Fatalf("xref: exit %d: %s", code, se.String())
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--format", "stix", "--from", out, "--out", "x"}, exitUsage, "--org: the stix format needs the reporting organisation"},
		{[]string{"--format", "yaml", "--from", out, "--out", "x"}, exitUsage, "unknown export format"},
		{[]string{"--from", out, "--out", "x"}, exitUsage, "missing --format"},
		{[]string{"--format", "csv", "--from", out, "--out", "x", "--indicators", "i.csv"}, exitUsage, "--compounds: an indicators file needs the compounds file"},
		{[]string{"--format", "csv", "--from", out, "--out", "x", "--time", "yesterday"}, exitUsage, "--time"},
		{[]string{"--format", "csv", "--from", dir + "/nope", "--out", filepath.Join(dir, "x.csv")}, exitFailure, "the output directory of seams xref"},
		{[]string{"--format", "parquet", "--bom", "--from", out, "--out", "x"}, exitUsage, "--bom: a byte-order mark is for the csv format, not parquet"},
	} {
		so.Reset()
		se.Reset()
		if code := Run(context.Background(), append([]string{"export"}, tc.args...), nil, &so, &se); code != tc.code || !strings.Contains(se.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, se.String(), tc.code, tc.want)
		}
	}
	for _, format := range []string{"stix", "misp", "csv", "parquet", "gse"} {
		file := filepath.Join(dir, "export."+format)
		se.Reset()
		if code := Run(context.Background(), []string{"export", "--format", format, "--from", out, "--org", "Hotline Example",
			"--out", file}, nil, &so, &se); code != exitOK {
			t.Fatalf("%s: exit %d: %s", format, code, se.String())
		}
		if st, err := os.Stat(file); err != nil || st.Size() == 0 || !strings.Contains(se.String(), "wrote "+file) {
			t.Errorf("%s: %v, stderr %q", format, err, se.String())
		}
	}
	so.Reset()
	if code := Run(context.Background(), []string{"export", "--format", "csv", "--from", out, "--out", "-"}, nil, &so, &se); code != exitOK ||
		!strings.HasPrefix(so.String(), "report,compound,") {
		t.Errorf("csv to stdout: exit %d, %q", code, so.String())
	}
	so.Reset()
	if code := Run(context.Background(), []string{"export", "--format", "csv", "--bom", "--from", out, "--out", "-"}, nil, &so, &se); code != exitOK ||
		!strings.HasPrefix(so.String(), "\uFEFFreport,compound,") {
		t.Errorf("csv with --bom: exit %d, %q", code, so.String()[:min(so.Len(), 30)])
	}
	so.Reset()
	Run(context.Background(), []string{"help", "export"}, nil, &so, &se)
	for _, want := range []string{"--indicators FILE", "--bom ", "byte-order mark"} {
		if !strings.Contains(so.String(), want) {
			t.Errorf("help export does not explain %q", want)
		}
	}
}
