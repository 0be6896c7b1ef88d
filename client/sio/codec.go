package sio

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Engine.IO v4 packet types (the first character of every websocket text frame).
const (
	engineOpen    byte = '0'
	engineClose   byte = '1'
	enginePing    byte = '2'
	enginePong    byte = '3'
	engineMessage byte = '4'
	engineUpgrade byte = '5'
	engineNoop    byte = '6'
)

// Socket.IO packet types (the first character of an Engine.IO message's data).
const (
	packetConnect      byte = '0'
	packetDisconnect   byte = '1'
	packetEvent        byte = '2'
	packetAck          byte = '3'
	packetConnectError byte = '4'
)

// maxAckID bounds acknowledgement ids so they stay exact JavaScript numbers.
const maxAckID = 1<<53 - 1

// packet is a decoded Socket.IO packet "<type>[<nsp>,][<id>][<json>]".
type packet struct {
	typ   byte
	nsp   string // "" for the default namespace
	id    int64  // -1 when absent
	data  json.RawMessage
	event string            // event packets only
	args  []json.RawMessage // event and ack packets
}

// openInfo is the Engine.IO open packet's JSON.
type openInfo struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// decodePacket parses a Socket.IO packet (the data of an Engine.IO message) and checks the
// payload's shape for its type.
func decodePacket(s string) (packet, error) {
	if s == "" {
		return packet{}, fmt.Errorf("%w: empty packet", ErrMalformed)
	}
	p := packet{typ: s[0], id: -1}
	if p.typ < packetConnect || p.typ > packetConnectError {
		return packet{}, fmt.Errorf("%w: packet type %q", ErrMalformed, s[0])
	}
	rest := s[1:]
	if strings.HasPrefix(rest, "/") {
		nsp, after, ok := strings.Cut(rest, ",")
		if !ok {
			nsp, after = rest, ""
		}
		p.nsp, rest = nsp, after
		if p.nsp == "/" {
			p.nsp = ""
		}
	}
	rest, err := cutID(rest, &p)
	if err != nil {
		return packet{}, err
	}
	if rest != "" {
		p.data = json.RawMessage(rest)
		if !json.Valid(p.data) {
			return packet{}, fmt.Errorf("%w: invalid JSON payload", ErrMalformed)
		}
	}
	return p, checkShape(&p)
}

// cutID removes the decimal acknowledgement id that may precede the payload.
func cutID(s string, p *packet) (string, error) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return s, nil
	}
	id, err := strconv.ParseInt(s[:n], 10, 64)
	if err != nil || id > maxAckID {
		return "", fmt.Errorf("%w: ack id %q", ErrMalformed, s[:n])
	}
	p.id = id
	return s[n:], nil
}

// checkShape validates the payload per packet type and fills event and args.
func checkShape(p *packet) error {
	switch p.typ {
	case packetEvent, packetAck:
		if err := json.Unmarshal(p.data, &p.args); err != nil || p.data == nil {
			return fmt.Errorf("%w: payload of type %c must be an array", ErrMalformed, p.typ)
		}
		if p.typ == packetAck {
			return nil
		}
		if len(p.args) == 0 || json.Unmarshal(p.args[0], &p.event) != nil {
			return fmt.Errorf("%w: event without a name", ErrMalformed)
		}
		p.args = p.args[1:]
	case packetConnect, packetConnectError:
		if p.data != nil && p.data[0] != '{' && p.typ == packetConnect {
			return fmt.Errorf("%w: connect payload must be an object", ErrMalformed)
		}
	}
	return nil
}

// encodeEvent builds "42[<id>][event,args...]".
func encodeEvent(id int64, event string, args []any) (string, error) {
	list := make([]any, 0, len(args)+1)
	list = append(list, event)
	list = append(list, args...)
	b, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("sio: encode %q: %w", event, err)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 20)
	sb.WriteByte(engineMessage)
	sb.WriteByte(packetEvent)
	if id >= 0 {
		sb.WriteString(strconv.FormatInt(id, 10))
	}
	sb.Write(b)
	return sb.String(), nil
}

// encodeConnect builds "40" or "40<auth JSON>".
func encodeConnect(auth any) (string, error) {
	if auth == nil {
		return string([]byte{engineMessage, packetConnect}), nil
	}
	b, err := json.Marshal(auth)
	if err != nil {
		return "", fmt.Errorf("sio: encode auth: %w", err)
	}
	if len(b) == 0 || b[0] != '{' {
		return "", fmt.Errorf("sio: auth must encode to a JSON object")
	}
	return string([]byte{engineMessage, packetConnect}) + string(b), nil
}

// connectError extracts the message of a CONNECT_ERROR payload ({"message": …} or a string).
func connectError(data json.RawMessage) string {
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &obj) == nil && obj.Message != "" {
		return obj.Message
	}
	var s string
	if json.Unmarshal(data, &s) == nil {
		return s
	}
	return string(data)
}
