// Package medialink carries one exported track's RTP/RTCP from the agent holding it to
// another agent (docs/architecture.md §6).
//
// A link is one TCP connection. The importer opens it with a Hello frame carrying a ticket
// the exporter issued through rtc.export; the exporter answers with a Meta frame describing
// the track's codec, then streams RTP frames and RTCP frames (the publisher's Sender Reports,
// for NTP↔RTP alignment). The importer sends keyframe requests upstream.
// Every frame is a 1-byte type, a 2-byte big-endian payload length and the payload.
//
// Tickets are HMAC-SHA256 tokens over (track id, expiry, nonce) under a key derived from
// the cluster secret; they expire quickly and can be redeemed once.
//
// Sending never blocks the media path: each link has a bounded queue of preallocated
// buffers, a slow consumer loses packets, and the importer asks for a keyframe after a
// sequence gap instead of stalling the publisher.
package medialink
