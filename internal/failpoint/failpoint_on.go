//go:build failpoint

// Package failpoint marks the points where a test kills the process, to
// check that a crash there loses nothing. In a binary built with the
// failpoint tag, Inject kills the process with SIGKILL when the
// environment variable SEAMS_FAILPOINT names the point.
package failpoint

import (
	"os"
	"syscall"
)

// Enabled reports whether this binary was built with failpoints.
const Enabled = true

var armed = os.Getenv("SEAMS_FAILPOINT")

// Inject kills the process, as kill -9 would, when SEAMS_FAILPOINT names
// this point.
func Inject(name string) {
	if armed != "" && armed == name {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
