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
commit when known, and the Go version.
`,
	run: func(ctx context.Context, e *env, args []string) error {
		if err := parseFlags(newFlags("version"), args); err != nil {
			return err
		}
		v, commit, goVersion := "devel", "", ""
		if bi, ok := debug.ReadBuildInfo(); ok {
			goVersion = bi.GoVersion
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					commit = " " + s.Value
				}
			}
		}
		fmt.Fprintf(e.stdout, "seams %s%s %s\n", v, commit, goVersion)
		return nil
	},
}
