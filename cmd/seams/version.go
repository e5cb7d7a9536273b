package main

import (
	"context"
	"fmt"
	"runtime/debug"
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
		v, commit, goVersion, cgo := "devel", "", "", "cgo unknown"
		if bi, ok := debug.ReadBuildInfo(); ok {
			goVersion = bi.GoVersion
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = " " + s.Value
				case "CGO_ENABLED":
					cgo = map[string]string{"0": "cgo off", "1": "cgo on"}[s.Value]
				}
			}
		}
		fmt.Fprintf(e.stdout, "seams %s%s %s (%s)\n", v, commit, goVersion, cgo)
		return nil
	},
}
