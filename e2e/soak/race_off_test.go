//go:build !race

package soak

// raceEnabled reports whether this test binary has the race detector; the binaries under
// test are built the same way.
const raceEnabled = false
