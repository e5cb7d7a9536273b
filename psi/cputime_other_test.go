//go:build !unix

package psi

// cpuSeconds is not measured here; benchmarks then leave out their rate per
// CPU second.
func cpuSeconds() float64 { return 0 }
