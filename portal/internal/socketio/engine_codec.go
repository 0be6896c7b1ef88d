package socketio

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Engine.IO packet types (the first character of every Engine.IO packet, both protocol
// versions 3 and 4).
const (
	engineOpen    byte = '0'
	engineClose   byte = '1'
	enginePing    byte = '2'
	enginePong    byte = '3'
	engineMessage byte = '4'
	engineUpgrade byte = '5'
	engineNoop    byte = '6'
)

// Protocol versions of Engine.IO served by this package.
const (
	protocolV3 = 3
	protocolV4 = 4
)

// v4RecordSeparator separates packets of an Engine.IO v4 polling payload.
const v4RecordSeparator = "\x1e"

// maxV3LengthDigits bounds the length prefix of a v3 payload packet so that it cannot
// overflow; nine digits already allow packets far beyond any configured limit.
const maxV3LengthDigits = 9

// enginePacket is one decoded Engine.IO text packet.
type enginePacket struct {
	typ  byte
	data string
}

// decodeEnginePacket parses one Engine.IO text packet ("<type digit><data>"). Binary
// packets (v3 "b<type><base64>", v4 "b<base64>") are rejected.
func decodeEnginePacket(s string) (enginePacket, error) {
	if s == "" {
		return enginePacket{}, fmt.Errorf("%w: empty engine packet", ErrMalformedPacket)
	}
	if s[0] == 'b' {
		return enginePacket{}, ErrBinaryUnsupported
	}
	if s[0] < engineOpen || s[0] > engineNoop {
		return enginePacket{}, fmt.Errorf("%w: unknown engine packet type %q", ErrMalformedPacket, s[0])
	}
	return enginePacket{typ: s[0], data: s[1:]}, nil
}

// encodeEnginePacket renders an Engine.IO text packet.
func encodeEnginePacket(typ byte, data string) string {
	return string(typ) + data
}

// utf16Len returns the number of UTF-16 code units of s, which is what JavaScript's
// String.prototype.length counts: the unit of Engine.IO v3 payload length prefixes.
// Each byte of an invalid UTF-8 sequence counts as one unit, as it would once decoded
// to U+FFFD by a JavaScript peer.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// encodePayloadV3 renders Engine.IO v3 polling payload framing: each packet as
// "<utf16 length>:<packet>".
func encodePayloadV3(packets []string) string {
	var b strings.Builder
	for _, p := range packets {
		b.WriteString(strconv.Itoa(utf16Len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// encodePayloadV4 renders Engine.IO v4 polling payload framing: packets joined by the
// ASCII record separator.
func encodePayloadV4(packets []string) string {
	return strings.Join(packets, v4RecordSeparator)
}

// encodePayload renders a polling payload for the given protocol version.
func encodePayload(protocol int, packets []string) string {
	if protocol == protocolV3 {
		return encodePayloadV3(packets)
	}
	return encodePayloadV4(packets)
}

// decodePayload splits a polling payload of the given protocol version into packets.
func decodePayload(protocol int, payload string) ([]enginePacket, error) {
	if protocol == protocolV3 {
		return decodePayloadV3(payload)
	}
	return decodePayloadV4(payload)
}

// decodePayloadV4 splits an Engine.IO v4 payload on the record separator and decodes
// each packet.
func decodePayloadV4(payload string) ([]enginePacket, error) {
	if payload == "" {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformedPayload)
	}
	parts := strings.Split(payload, v4RecordSeparator)
	packets := make([]enginePacket, 0, len(parts))
	for _, part := range parts {
		p, err := decodeEnginePacket(part)
		if err != nil {
			return nil, err
		}
		packets = append(packets, p)
	}
	return packets, nil
}

// decodePayloadV3 decodes Engine.IO v3 "<length>:<packet>" framing, where length counts
// UTF-16 code units. Zero-length entries are skipped, as the reference parser does.
func decodePayloadV3(payload string) ([]enginePacket, error) {
	if payload == "" {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformedPayload)
	}
	var packets []enginePacket
	for rest := payload; rest != ""; {
		n, body, err := cutV3Length(rest)
		if err != nil {
			return nil, err
		}
		msg, tail, err := takeUTF16Units(body, n)
		if err != nil {
			return nil, err
		}
		rest = tail
		if msg == "" {
			continue
		}
		p, err := decodeEnginePacket(msg)
		if err != nil {
			return nil, err
		}
		packets = append(packets, p)
	}
	return packets, nil
}

// cutV3Length parses the decimal length prefix and colon of a v3 payload entry.
func cutV3Length(s string) (int, string, error) {
	i := strings.IndexByte(s, ':')
	if i <= 0 || i > maxV3LengthDigits {
		return 0, "", fmt.Errorf("%w: bad length prefix", ErrMalformedPayload)
	}
	n := 0
	for _, c := range []byte(s[:i]) {
		if c < '0' || c > '9' {
			return 0, "", fmt.Errorf("%w: non-digit in length prefix", ErrMalformedPayload)
		}
		n = n*10 + int(c-'0')
	}
	return n, s[i+1:], nil
}

// takeUTF16Units splits s after exactly n UTF-16 code units. It fails when s is shorter
// or when the boundary would split a surrogate pair.
func takeUTF16Units(s string, n int) (string, string, error) {
	units, i := 0, 0
	for units < n {
		if i >= len(s) {
			return "", "", fmt.Errorf("%w: packet shorter than its length prefix", ErrMalformedPayload)
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
		i += size
	}
	if units != n {
		return "", "", fmt.Errorf("%w: length prefix splits a surrogate pair", ErrMalformedPayload)
	}
	return s[:i], s[i:], nil
}
