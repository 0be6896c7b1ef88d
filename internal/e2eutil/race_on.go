//go:build race

package e2eutil

// RaceEnabled reports whether this binary has the race detector; the end-to-end tests build
// the binaries under test the same way (see Binaries.Race).
const RaceEnabled = true
