package gen

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/jsonl"
)

// CompareTruth compares the (report, compound, tier) triples of a findings
// file with a truth file and describes the first differences, or returns "".
// Both are read by package jsonl's reader of findings (the truth file's
// lines list no evidence), with its line limit.
func CompareTruth(truthPath, findingsPath string) (string, error) {
	read := func(path string) (map[[2]string]string, error) {
		in, err := input.Open(context.Background(), path, nil)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		r, err := in.Reader()
		if err != nil {
			return nil, err
		}
		out := map[[2]string]string{}
		err = jsonl.ReadFindingKeys(r, path, func(report, compound string, tier seams.Tier) error {
			out[[2]string{report, compound}] = tier.String()
			return nil
		})
		return out, err
	}
	want, err := read(truthPath)
	if err != nil {
		return "", err
	}
	got, err := read(findingsPath)
	if err != nil {
		return "", err
	}
	var diffs []string
	for k, t := range want {
		if got[k] != t {
			diffs = append(diffs, fmt.Sprintf("%s %s: want %s, got %q", k[0], k[1], t, got[k]))
		}
	}
	for k, t := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s %s: unexpected %s finding", k[0], k[1], t))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("... and %d more", len(diffs)-10))
	}
	return strings.Join(diffs, "\n"), nil
}
