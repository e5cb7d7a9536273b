package main

import (
	"errors"
	"flag"
	"github.com/seams-dev/seams/internal/gen"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/derive"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/export"
	"github.com/seams-dev/seams/xref"
)

// TestFlagOfNamesFlags: every field a command maps names one of its flags
// (or, starting with "-", several), so that a usage error never names a
// flag the command does not have.
func TestFlagOfNamesFlags(t *testing.T) {
	var s1, s2 string
	for _, c := range []struct {
		cmd    string
		flagOf map[string]string
		sets   []*flag.FlagSet
	}{
		{"xref", xrefFlagOf, []*flag.FlagSet{xrefFlags(&xref.Options{}, &xrefArgs{})}},
		{"derive", deriveFlagOf, []*flag.FlagSet{deriveFlags(&derive.Options{}, &deriveArgs{})}},
		{"enrich", enrichFlagOf, []*flag.FlagSet{enrichFlags(&enrich.FileOptions{}, &dbArgs{})}},
		{"export", exportFlagOf, []*flag.FlagSet{exportFlags(&export.Options{}, &s1, &s2)}},
		{"gen", genFlagOf, []*flag.FlagSet{genCommandFlags(&gen.Options{}, &s1, new(int), &s2)}},
		{"pseudonymize", pseudonymFlagOf, []*flag.FlagSet{pseudonymizeFlags(&pseudonymArgs{}), depseudonymizeFlags(&pseudonymArgs{})}},
	} {
		for field, f := range c.flagOf {
			names := []string{f}
			if strings.HasPrefix(f, "-") {
				names = nil
				for _, w := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == ' ' }) {
					if strings.HasPrefix(w, "--") {
						names = append(names, strings.TrimPrefix(w, "--"))
					}
				}
			}
			for _, n := range names {
				found := false
				for _, fs := range c.sets {
					found = found || fs.Lookup(n) != nil
				}
				if !found {
					t.Errorf("%s: field %s maps to --%s, which is not one of its flags", c.cmd, field, n)
				}
			}
		}
	}
}

// TestFieldUsage: field errors become one usage error naming flags, one
// line each, and other errors are kept.
func TestFieldUsage(t *testing.T) {
	err := errors.Join(seams.MissingField("Out"), seams.InvalidField("MaxLine", "10 is too small"),
		seams.InvalidField("Inputs", "nothing to rewrite"), seams.InvalidField("Unmapped", "odd"), errors.New("other"))
	got := fieldUsage("cmd", map[string]string{"Out": "out", "MaxLine": "max-line", "Inputs": "--a or --b"}, err)
	want := "missing --out\n--max-line: 10 is too small\n--a or --b: nothing to rewrite\nUnmapped: odd\nother"
	if !strings.Contains(got.Error(), want) {
		t.Errorf("got %q, want it to hold %q", got, want)
	}
}
