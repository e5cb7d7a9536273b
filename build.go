package seams

import "runtime/debug"

// Build says which seams made an output: its module version ("devel" for
// a build from a checkout), the commit when the build recorded one, the Go
// version, and whether it was built with cgo.
type Build struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Go      string `json:"go"`
	CGO     bool   `json:"cgo"`
}

// ThisBuild returns the Build of the running binary.
func ThisBuild() Build {
	b := Build{Version: "devel"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Go = bi.GoVersion
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			if s.Value == "true" && b.Commit != "" {
				b.Commit += "+modified"
			}
		case "CGO_ENABLED":
			b.CGO = s.Value == "1"
		}
	}
	return b
}
