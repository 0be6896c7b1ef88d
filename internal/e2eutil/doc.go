// Package e2eutil is the harness shared by Conclave's end-to-end tests (e2e, e2e/chaos,
// e2e/soak, web and the client's integration test): it builds the real binaries once, runs
// them as child processes on loopback ports, signs management API requests the way OWT's
// REST clients do, and drives the outside servers the tests need (nginx-rtmp, ffprobe).
//
// It is a normal package so that several test packages can share it, but it is for tests
// only: production code must not import it. Everything that needs the Go client lives in
// the participant subpackage, so that the client's own tests can use this one.
package e2eutil
