package signaling

import (
	"encoding/json"

	"github.com/conclave-rtc/conclave/portal/internal/socketio"
)

// Mount attaches a Session to a new socket.io socket and registers its handlers; use it
// as the socketio.Server's OnConnection callback.
func (h *Hub) Mount(sock *socketio.Socket) {
	s := h.Attach(sock)
	for _, ev := range Events() {
		sock.On(ev, func(args []json.RawMessage, ack socketio.AckFunc) {
			var a Ack
			if ack != nil {
				a = Ack(ack)
			}
			s.Handle(ev, args, a)
		})
	}
	sock.OnDisconnect(s.Disconnected)
}
