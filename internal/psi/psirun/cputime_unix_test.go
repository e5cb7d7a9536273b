//go:build unix

package psirun

import "syscall"

// cpuSeconds is the CPU time this process has used: benchmarks report
// their rate per CPU second too, which a machine shared with other work
// does not skew as it skews the rate per wall-clock second.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
