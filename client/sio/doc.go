// Package sio is a minimal Socket.IO client: Engine.IO v4 over the websocket transport
// only (no polling, no upgrade), the default namespace, JSON events with
// acknowledgements. It is what OWT signaling needs from socket.io-client.
//
// Framing: GET /socket.io/?EIO=4&transport=websocket, open packet `0{sid, pingInterval,
// pingTimeout}`, the client sends "40" and waits for `40{"sid"}` (or `44{message}`), answers
// every server ping "2" with "3", sends events as `42[event, …]` or `42<id>[…]` when it wants
// an acknowledgement, receives acks as `43<id>[…]`, and leaves with "41". The connection
// ends when the server stays silent longer than pingInterval+pingTimeout.
//
// Not supported: binary packets, other namespaces, acknowledgements requested by the
// server (such events are delivered without the ack id), reconnection (dial again).
package sio
