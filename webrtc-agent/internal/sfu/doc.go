// Package sfu forwards RTP: a publication Track fans packets out to its sinks (DownTracks
// toward subscribers, media-link exporters) without per-packet allocation, and a DownTrack
// rewrites payload type, SSRC, sequence numbers and timestamps per subscriber so it can be
// re-pointed to another source (simulcast layer) at a keyframe with continuous numbering.
//
// It knows nothing about signaling; package transport binds Tracks and DownTracks to
// PeerConnections.
package sfu
