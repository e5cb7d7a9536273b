//go:build race

package xref

// raceEnabled: the test binary runs under the race detector, and so does
// the seams binary the crash tests build.
const raceEnabled = true
