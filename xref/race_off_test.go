//go:build !race

package xref

const raceEnabled = false
