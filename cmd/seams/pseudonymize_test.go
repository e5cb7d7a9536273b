package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const partnersDir = "../../testdata/partners/"

// TestPseudonymizeXrefDepseudonymize is the partners' workflow through the
// command line: a new key; the registry and the reports pseudonymised (the
// reports from JSON Lines and CyberTipline XML); xref on the pseudonymised
// files; the findings depseudonymized with the clear files' devices. The
// result is the clear run's findings.jsonl, byte for byte, and the key
// never shows in any output.
func TestPseudonymizeXrefDepseudonymize(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "partners.key")
	code, out, errs := run(t, "", "pseudonymize", "--new-key", key)
	if code != 0 {
		t.Fatalf("--new-key: exit %d: %s", code, errs)
	}
	keyText, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(string(keyText))
	outputs := out + errs
	if code, _, errs := run(t, "", "pseudonymize", "--new-key", key); code != 1 || !strings.Contains(errs, "never overwrites") {
		t.Fatalf("--new-key over an existing key: exit %d: %s", code, errs)
	}

	for _, reports := range [][]string{{partnersDir + "reports.jsonl"}, {partnersDir + "reports.xml"}} {
		clearOut := filepath.Join(t.TempDir(), "clear")
		xargs := []string{"xref", "--compounds", partnersDir + "compounds.csv", "--indicators", partnersDir + "indicators.csv",
			"--shared", partnersDir + "shared.txt", "--out", clearOut}
		for _, r := range reports {
			xargs = append(xargs, "--reports", r)
		}
		if code, _, errs := run(t, "", xargs...); code != 0 {
			t.Fatalf("clear xref: exit %d: %s", code, errs)
		}

		shared := filepath.Join(t.TempDir(), "shared")
		rejected := filepath.Join(t.TempDir(), "rejected.jsonl")
		pargs := []string{"pseudonymize", "--key-file", key, "--out", shared, "--compounds", partnersDir + "compounds.csv",
			"--indicators", partnersDir + "indicators.csv", "--shared", partnersDir + "shared.txt", "--rejected", rejected}
		for _, r := range reports {
			pargs = append(pargs, "--reports", r)
		}
		code, out, errs := run(t, "", pargs...)
		if code != 0 {
			t.Fatalf("pseudonymize: exit %d: %s", code, errs)
		}
		outputs += out + errs
		for _, name := range []string{"indicators.csv", "shared.txt", "reports.jsonl"} {
			if _, err := os.Stat(filepath.Join(shared, name)); err != nil {
				t.Fatalf("pseudonymize wrote no %s: %v\n%s", name, err, out)
			}
		}
		b, _ := os.ReadFile(filepath.Join(shared, "reports.jsonl"))
		if bytes.Contains(b, []byte("203.0.113.7")) || bytes.Contains(b, []byte("358240051111110")) {
			t.Fatal("the pseudonymised reports hold a clear address or device")
		}

		pseudoOut := filepath.Join(t.TempDir(), "pseudo")
		if code, _, errs := run(t, "", "xref", "--compounds", partnersDir+"compounds.csv", "--indicators", filepath.Join(shared, "indicators.csv"),
			"--shared", filepath.Join(shared, "shared.txt"), "--reports", filepath.Join(shared, "reports.jsonl"), "--out", pseudoOut); code != 0 {
			t.Fatalf("pseudonymised xref: exit %d: %s", code, errs)
		}

		back := filepath.Join(t.TempDir(), "back")
		dargs := []string{"depseudonymize", "--key-file", key, "--out", back, "--findings", filepath.Join(pseudoOut, "findings.jsonl"),
			"--compounds", partnersDir + "compounds.csv", "--clear-indicators", partnersDir + "indicators.csv"}
		for _, r := range reports {
			dargs = append(dargs, "--clear-reports", r)
		}
		code, out, errs = run(t, "", dargs...)
		if code != 0 {
			t.Fatalf("depseudonymize: exit %d: %s", code, errs)
		}
		outputs += out + errs
		if strings.Contains(errs, "left as pseudonyms") {
			t.Errorf("devices were not reversed: %s", errs)
		}
		got, _ := os.ReadFile(filepath.Join(back, "findings.jsonl"))
		want, _ := os.ReadFile(filepath.Join(clearOut, "findings.jsonl"))
		if len(want) == 0 || !bytes.Equal(got, want) {
			t.Errorf("%v: depseudonymized findings differ from the clear run's:\n got %s\nwant %s", reports, got, want)
		}
		pseudo, _ := os.ReadFile(filepath.Join(pseudoOut, "findings.jsonl"))
		if bytes.Equal(pseudo, want) {
			t.Error("the pseudonymised run's findings are the clear ones")
		}

		// Without the clear devices, devices stay pseudonyms, and it says so.
		code, _, errs = run(t, "", "depseudonymize", "--key-file", key, "--out", filepath.Join(t.TempDir(), "b2"),
			"--findings", filepath.Join(pseudoOut, "findings.jsonl"))
		if code != 0 || !strings.Contains(errs, "left as pseudonyms") {
			t.Errorf("depseudonymize without clear devices: exit %d, %q", code, errs)
		}
	}
	if strings.Contains(outputs, secret) {
		t.Fatal("the key shows in the commands' output")
	}
}

func TestPseudonymizeUsage(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	if code, _, errs := run(t, "", "pseudonymize", "--new-key", key); code != 0 {
		t.Fatal(errs)
	}
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no key", []string{"pseudonymize", "--out", out, "--shared", partnersDir + "shared.txt"}, 2, "missing --key-file"},
		{"both keys", []string{"pseudonymize", "--key-file", key, "--new-key", key + "2", "--out", out}, 2, "not both"},
		{"no out", []string{"pseudonymize", "--key-file", key, "--shared", partnersDir + "shared.txt"}, 2, "missing --out"},
		{"nothing to do", []string{"pseudonymize", "--key-file", key, "--out", out}, 2, "nothing to rewrite"},
		{"indicators without compounds", []string{"pseudonymize", "--key-file", key, "--out", out, "--indicators", partnersDir + "indicators.csv"}, 2, "--compounds: needed with an indicators file"},
		{"rejections among the shared files", []string{"pseudonymize", "--key-file", key, "--out", out, "--shared", partnersDir + "shared.txt",
			"--rejected", filepath.Join(out, "rejected.jsonl")}, 2, "is inside the output folder"},
		{"over an input", []string{"pseudonymize", "--key-file", key, "--out", partnersDir, "--shared", partnersDir + "shared.txt"}, 2, "written over"},
		{"two inputs, one name", []string{"pseudonymize", "--key-file", key, "--out", out, "--reports", partnersDir + "reports.jsonl",
			"--reports", partnersDir + "reports.xml"}, 1, "both be written as reports.jsonl"},
		{"depseudonymize without key", []string{"depseudonymize", "--out", out, "--findings", "f"}, 2, "missing --key-file"},
		{"clear indicators without compounds", []string{"depseudonymize", "--key-file", key, "--out", out, "--findings", "f",
			"--clear-indicators", partnersDir + "indicators.csv"}, 2, "--compounds: needed with clear indicators"},
	} {
		code, _, errs := run(t, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, %q; want %d and %q", c.name, code, errs, c.code, c.want)
		}
	}
	if runtime.GOOS != "windows" {
		os.Chmod(key, 0o640)
		code, _, errs := run(t, "", "pseudonymize", "--key-file", key, "--out", out, "--shared", partnersDir+"shared.txt")
		if code != 1 || !strings.Contains(errs, "chmod 600") {
			t.Errorf("a key others can read: exit %d, %q", code, errs)
		}
	}
}

func TestPseudonymizeManualsDocumentEveryFlag(t *testing.T) {
	var a, b pseudonymArgs
	for _, c := range []struct {
		name string
		fs   *flag.FlagSet
	}{{"pseudonymize", pseudonymizeFlags(&a)}, {"depseudonymize", depseudonymizeFlags(&b)}} {
		usage := commands[c.name].usage
		c.fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(usage, "--"+f.Name) {
				t.Errorf("seams help %s does not document --%s", c.name, f.Name)
			}
		})
	}
}
