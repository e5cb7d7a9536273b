package main

import (
	"context"
	"io"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
)

// writeOutput writes a command's output to name ("-": standard output)
// through write, all at once: a file appears complete or not at all, and
// an earlier one stays as it was when write fails.
func writeOutput(e *env, name string, write func(w io.Writer) error) error {
	if name == "-" {
		return write(e.stdout)
	}
	f, err := atomicfile.Create(name)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// eachStoredFinding calls fn with every current finding of the store that
// p may see, a page at a time.
func eachStoredFinding(ctx context.Context, st seams.Store, p seams.Principal, q seams.FindingQuery, fn func(*seams.StoredFinding) error) error {
	q.Limit = 1000
	for {
		page, err := st.Findings(ctx, p, q)
		if err != nil {
			return err
		}
		for i := range page.Findings {
			if err := fn(&page.Findings[i]); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}
