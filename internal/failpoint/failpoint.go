//go:build !failpoint

// Package failpoint marks the points where a test kills the process, to
// check that a crash there loses nothing. Built without the failpoint tag
// (every build but those tests make), Inject does nothing and costs
// nothing.
package failpoint

// Enabled reports whether this binary was built with failpoints.
const Enabled = false

// Inject does nothing in a binary built without the failpoint tag.
func Inject(name string) {}
