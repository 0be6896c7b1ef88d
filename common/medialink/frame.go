package medialink

import (
	"encoding/binary"
	"fmt"
	"io"
)

// FrameType is the first byte of a frame.
type FrameType byte

// Frame types.
const (
	FrameHello    FrameType = 1 // importer → exporter: the ticket
	FrameMeta     FrameType = 2 // exporter → importer: JSON TrackInfo, the link is accepted
	FrameRTP      FrameType = 3 // one RTP packet
	FrameRTCP     FrameType = 4 // one RTCP compound packet
	FrameKeyframe FrameType = 5 // importer → exporter: please send a keyframe (no payload)
	FrameClose    FrameType = 6 // either side: the link ends (payload: reason text)
)

// HeaderSize is the size of a frame header.
const HeaderSize = 3

// MaxPayload is the largest payload a frame can carry.
const MaxPayload = 0xFFFF

// valid reports whether t is a known frame type.
func (t FrameType) valid() bool { return t >= FrameHello && t <= FrameClose }

// String names the frame type for logs.
func (t FrameType) String() string {
	names := [...]string{"", "hello", "meta", "rtp", "rtcp", "keyframe", "close"}
	if t.valid() {
		return names[t]
	}
	return fmt.Sprintf("frame(%d)", byte(t))
}

// AppendFrame appends the frame (typ, payload) to dst.
func AppendFrame(dst []byte, typ FrameType, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return dst, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(payload))
	}
	dst = append(dst, byte(typ), byte(len(payload)>>8), byte(len(payload)))
	return append(dst, payload...), nil
}

// DecodeFrame parses the frame at the start of b and returns its type, its payload (a
// sub-slice of b) and the number of bytes consumed. It returns io.ErrUnexpectedEOF when b
// holds only part of a frame.
func DecodeFrame(b []byte) (FrameType, []byte, int, error) {
	if len(b) < HeaderSize {
		return 0, nil, 0, io.ErrUnexpectedEOF
	}
	typ := FrameType(b[0])
	if !typ.valid() {
		return 0, nil, 0, fmt.Errorf("%w: type %d", ErrBadFrame, b[0])
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if len(b) < HeaderSize+n {
		return 0, nil, 0, io.ErrUnexpectedEOF
	}
	return typ, b[HeaderSize : HeaderSize+n], HeaderSize + n, nil
}

// FrameReader reads frames from a stream into one reused buffer.
type FrameReader struct {
	r   io.Reader
	buf [HeaderSize + MaxPayload]byte
}

// NewFrameReader returns a reader of frames from r.
func NewFrameReader(r io.Reader) *FrameReader { return &FrameReader{r: r} }

// Next reads one frame. The payload is valid until the next call.
func (fr *FrameReader) Next() (FrameType, []byte, error) {
	if _, err := io.ReadFull(fr.r, fr.buf[:HeaderSize]); err != nil {
		return 0, nil, err
	}
	typ := FrameType(fr.buf[0])
	if !typ.valid() {
		return 0, nil, fmt.Errorf("%w: type %d", ErrBadFrame, fr.buf[0])
	}
	n := int(binary.BigEndian.Uint16(fr.buf[1:3]))
	if _, err := io.ReadFull(fr.r, fr.buf[HeaderSize:HeaderSize+n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return typ, fr.buf[HeaderSize : HeaderSize+n], nil
}
