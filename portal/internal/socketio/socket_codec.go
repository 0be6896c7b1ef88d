package socketio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Socket.IO packet types (the first character of an Engine.IO message's data).
const (
	sioConnect      byte = '0'
	sioDisconnect   byte = '1'
	sioEvent        byte = '2'
	sioAck          byte = '3'
	sioConnectError byte = '4'
	sioBinaryEvent  byte = '5'
	sioBinaryAck    byte = '6'
)

// defaultNamespace is the only namespace served.
const defaultNamespace = "/"

// maxAckIDDigits keeps acknowledgement ids within the range JavaScript numbers represent
// exactly and int64 holds.
const maxAckIDDigits = 15

// socketPacket is a decoded Socket.IO packet: "<type>[<nsp>,][<id>][<json>]".
type socketPacket struct {
	typ       byte
	namespace string
	hasID     bool
	id        int64
	data      json.RawMessage
	// event and args are filled for event packets by decodeSocketPacket.
	event string
	args  []json.RawMessage
}

// decodeSocketPacket parses one Socket.IO text packet and validates its payload shape
// per type. Binary packet types are rejected with ErrBinaryUnsupported.
func decodeSocketPacket(s string) (socketPacket, error) {
	if s == "" {
		return socketPacket{}, fmt.Errorf("%w: empty socket packet", ErrMalformedPacket)
	}
	p := socketPacket{typ: s[0], namespace: defaultNamespace}
	switch p.typ {
	case sioBinaryEvent, sioBinaryAck:
		return socketPacket{}, ErrBinaryUnsupported
	case sioConnect, sioDisconnect, sioEvent, sioAck, sioConnectError:
	default:
		return socketPacket{}, fmt.Errorf("%w: unknown socket packet type %q", ErrMalformedPacket, s[0])
	}
	rest := cutNamespace(s[1:], &p)
	rest, err := cutAckID(rest, &p)
	if err != nil {
		return socketPacket{}, err
	}
	if rest != "" {
		if !json.Valid([]byte(rest)) {
			return socketPacket{}, fmt.Errorf("%w: invalid JSON payload", ErrMalformedPacket)
		}
		p.data = json.RawMessage(rest)
	}
	if err := validateSocketPayload(&p); err != nil {
		return socketPacket{}, err
	}
	return p, nil
}

// cutNamespace consumes an optional "/nsp," prefix; a query string on the namespace
// (v2 clients may send "/nsp?x=y,") is dropped.
func cutNamespace(s string, p *socketPacket) string {
	if s == "" || s[0] != '/' {
		return s
	}
	nsp, rest, found := strings.Cut(s, ",")
	if !found {
		rest = ""
	}
	if q := strings.IndexByte(nsp, '?'); q >= 0 {
		nsp = nsp[:q]
	}
	p.namespace = nsp
	return rest
}

// cutAckID consumes an optional decimal acknowledgement id.
func cutAckID(s string, p *socketPacket) (string, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return s, nil
	}
	if i > maxAckIDDigits {
		return "", fmt.Errorf("%w: acknowledgement id too long", ErrMalformedPacket)
	}
	id, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: acknowledgement id: %w", ErrMalformedPacket, err)
	}
	p.hasID, p.id = true, id
	return s[i:], nil
}

// validateSocketPayload checks the payload shape each packet type requires.
func validateSocketPayload(p *socketPacket) error {
	switch p.typ {
	case sioConnect:
		if p.data != nil && firstJSONByte(p.data) != '{' {
			return fmt.Errorf("%w: connect payload must be an object", ErrMalformedPacket)
		}
	case sioDisconnect:
		if p.data != nil {
			return fmt.Errorf("%w: disconnect carries no payload", ErrMalformedPacket)
		}
	case sioEvent:
		name, args, err := splitEventPayload(p.data)
		if err != nil {
			return err
		}
		p.event, p.args = name, args
	case sioAck:
		if firstJSONByte(p.data) != '[' {
			return fmt.Errorf("%w: ack payload must be an array", ErrMalformedPacket)
		}
	}
	return nil
}

// firstJSONByte returns the first non-space byte of a JSON value, or 0.
func firstJSONByte(data json.RawMessage) byte {
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) == 0 {
		return 0
	}
	return t[0]
}

// splitEventPayload splits an event array into its name and the raw arguments that
// follow it; all arguments are passed through untouched, including trailing nulls.
func splitEventPayload(data json.RawMessage) (string, []json.RawMessage, error) {
	if firstJSONByte(data) != '[' {
		return "", nil, fmt.Errorf("%w: event payload must be an array", ErrMalformedPacket)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return "", nil, fmt.Errorf("%w: event payload: %w", ErrMalformedPacket, err)
	}
	if len(items) == 0 || firstJSONByte(items[0]) != '"' {
		return "", nil, fmt.Errorf("%w: event name must be a string", ErrMalformedPacket)
	}
	var name string
	if err := json.Unmarshal(items[0], &name); err != nil {
		return "", nil, fmt.Errorf("%w: event name: %w", ErrMalformedPacket, err)
	}
	return name, items[1:], nil
}

// encodeSocketPacket renders a Socket.IO text packet.
func encodeSocketPacket(p socketPacket) string {
	var b strings.Builder
	b.WriteByte(p.typ)
	if p.namespace != "" && p.namespace != defaultNamespace {
		b.WriteString(p.namespace)
		b.WriteByte(',')
	}
	if p.hasID {
		b.WriteString(strconv.FormatInt(p.id, 10))
	}
	b.Write(p.data)
	return b.String()
}

// marshalJSON encodes v without HTML escaping so that text round-trips byte for byte
// where JSON allows it.
func marshalJSON(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("socketio: encode payload: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// marshalArgs encodes values as a JSON array, optionally prefixed by an event name.
func marshalArgs(prefix []any, args []any) (json.RawMessage, error) {
	all := make([]any, 0, len(prefix)+len(args))
	all = append(all, prefix...)
	all = append(all, args...)
	return marshalJSON(all)
}
