//go:build !linux

package outdir

import "os"

// lockFile is a no-op where seams has no file lock: two runs into one
// folder are not kept apart there.
func lockFile(f *os.File) error { return nil }

// exchange swaps the folders a and b where the system has no atomic
// exchange of two folders.
func exchange(a, b string) error { return twoStep(a, b) }
