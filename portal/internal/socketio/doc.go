// Package socketio is a minimal Socket.IO server for the portal's OWT signaling
// (owt-protocol.md §4.1): the default namespace, JSON events with acknowledgements,
// over Engine.IO v3 and v4.
//
// # Supported
//
//   - Engine.IO v3 (EIO=3: socket.io-client 2.x, socket.io-client-cpp 1.6/2.x) and v4
//     (EIO=4: socket.io-client 3.x/4.x), chosen per connection from the EIO query
//     parameter.
//   - Transports: XHR long-polling, polling with upgrade to websocket ("2probe" /
//     "3probe", pending polls released with a noop, "5" switches), and websocket-only.
//   - Polling payload framing: v3 "<length>:<packet>" where length counts UTF-16 code
//     units (JavaScript string length, so non-BMP characters count 2); v4 packets joined
//     by the record separator 0x1e.
//   - Heartbeat: v3 clients ping and the server answers, closing after
//     PingInterval+PingTimeout of silence; v4 the server pings every PingInterval and
//     closes when the pong is PingTimeout late. Both close with reason "ping timeout".
//   - Socket.IO on "/": v3 clients are connected implicitly ("40" right after the open
//     packet), v4 clients send "40[auth]" and get `40{"sid":…}`; events "42[…]" with
//     acknowledgement ids "42<id>[…]" answered by "43<id>[…]"; "41" both ways.
//   - CORS for browsers (allowed Origin echoed with credentials, OPTIONS preflight) and
//     the same Origin check for websockets; requests without Origin (native SDKs) pass.
//   - Engine.IO error answers: HTTP 400/403 with {"code":n,"message":…}, e.g.
//     {"code":1,"message":"Session ID unknown"}.
//
// # Deliberately not supported
//
//   - Binary: binary Engine.IO packets, binary websocket frames and Socket.IO binary
//     packets (types 5 and 6) close the connection. OWT signaling is JSON only, and the
//     server never sends binary, so the v3 b64=1 parameter is harmless.
//   - Namespaces other than "/": a CONNECT to them is answered with CONNECT_ERROR
//     "Invalid namespace"; other packets for them are ignored.
//   - JSONP polling (the j= parameter): answered with "Transport unknown".
//   - Server→client acknowledgements, rooms, broadcasting and connection-state recovery:
//     callers keep their own registries of sockets.
//
// # Model and limits
//
// One Engine.IO session carries exactly one Socket. A client "41" closes the whole
// session (the official clients close their engine right after it anyway). The Socket
// id is random and distinct from the Engine.IO sid, which authorises polling requests
// and is therefore never handed to the application (socket.io v2 servers exposed the
// sid as the socket id; OWT clients do not rely on that).
//
// Each Socket runs its OnConnection callback, event handlers and OnDisconnect handlers
// sequentially on one goroutine, so a client's requests are handled in order. Sending
// (Emit, acknowledgements) never blocks: packets go to a bounded queue, and a socket
// whose queue overflows is closed. Incoming packets are limited to MaxMessageBytes and
// polling bodies to MaxPollingBodyBytes; events are rate limited per socket by a token
// bucket (see Config.MaxEventsPerSecond). Server.Close closes every session and waits
// for all goroutines the server started, including running handlers (so handlers must
// return); a websocket closed just before may add up to 5 s of close handshake.
//
// # Mounting
//
//	srv, err := socketio.NewServer(socketio.Config{}, logger)
//	srv.OnConnection(func(s *socketio.Socket) {
//		s.On("login", func(args []json.RawMessage, ack socketio.AckFunc) { … })
//		s.OnDisconnect(func(reason string) { … })
//	})
//	mux.Handle("/socket.io/", srv)
//	defer srv.Close()
//
// Long-poll GETs are held up to PingInterval, so the http.Server's WriteTimeout must be
// zero or larger than PingInterval (websockets are hijacked and unaffected).
package socketio
