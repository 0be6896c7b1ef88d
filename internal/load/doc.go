// Package load is Conclave's load generator, run as `conclave load`. It creates rooms and
// tokens over the MAuth-signed management API, joins publishers that play the embedded clips
// of package client/media (with -browser, as browsers send them: media.BrowserTrack's
// resolution ramp, padding probes and optional loss), then joins subscribers at a fixed rate that subscribe to every
// publisher of their room, and reports join latency, packets, losses, freezes and errors.
//
// It needs only the management API's URL and credentials: the portal address comes from the
// tokens, so it works against the all-in-one binary and a distributed deployment alike. When
// given the server's process id (same machine), it also reports the server's CPU time and
// memory over a steady-state window, which is what scripts/bench prints.
//
// Every wait is bounded (per-step timeouts, the run duration, a cleanup deadline) and every
// goroutine started by Run ends before Run returns.
package load
