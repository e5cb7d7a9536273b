//go:build !unix

package psirun

// cpuSeconds is not measured here; benchmarks then leave out their rate per
// CPU second.
func cpuSeconds() float64 { return 0 }
