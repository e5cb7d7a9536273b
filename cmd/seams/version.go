package main

import (
	"context"
	"fmt"

	"github.com/seams-dev/seams"
)

var versionCommand = &command{
	summary: "print the version of seams and of Go it was built with",
	usage: `Usage:
  seams version

Print the module version (or "devel" for a build from a checkout), the
commit when known, the Go version, and whether the binary was built with
cgo. Build it without (CGO_ENABLED=0 go install ./cmd/seams): seams needs
no C library, and a binary linked with the C library reserves memory per
thread that can make it fail under a virtual-memory limit (ulimit -v).
`,
	run: func(ctx context.Context, e *env, args []string) error {
		if err := parseFlags(newFlags("version"), args); err != nil {
			return err
		}
		b := seams.ThisBuild()
		commit, cgo := "", "cgo off"
		if b.Commit != "" {
			commit = " " + b.Commit
		}
		if b.CGO {
			cgo = "cgo on"
		}
		fmt.Fprintf(e.stdout, "seams %s%s %s (%s)\n", b.Version, commit, b.Go, cgo)
		return nil
	},
}
