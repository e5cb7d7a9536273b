package pseudonym

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/seams-dev/seams"
)

// TestSetOptionsValidate: every mistake is reported at once, by field.
func TestSetOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		name   string
		o      SetOptions
		fields []string
	}{
		{"valid", SetOptions{Inputs: Inputs{Shared: "shared.txt"}, Out: out}, nil},
		{"nothing", SetOptions{}, []string{"Out", "Inputs"}},
		{"indicators without compounds", SetOptions{Inputs: Inputs{Indicators: "i.csv"}, Out: out}, []string{"Compounds"}},
		{"clear indicators without compounds", SetOptions{Inputs: Inputs{Findings: []string{"f.jsonl"}}, Out: out, ClearIndicators: "i.csv"}, []string{"Compounds"}},
		{"written over its input", SetOptions{Inputs: Inputs{Shared: filepath.Join(dir, OutputName("shared", "shared.txt"))}, Out: dir}, []string{"Out"}},
		{"rejections inside the output", SetOptions{Inputs: Inputs{Shared: "shared.txt"}, Out: out, RejectedFile: filepath.Join(out, "rejected.jsonl")}, []string{"RejectedFile"}},
	} {
		fes, others := seams.FieldErrors(c.o.Validate())
		var fields []string
		for _, fe := range fes {
			fields = append(fields, fe.Field)
		}
		if !slices.Equal(fields, c.fields) || len(others) != 0 {
			t.Errorf("%s: fields %v (and %v), want %v", c.name, fields, others, c.fields)
		}
	}
}
