package medialink

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestMediaLinkFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		typ     FrameType
		payload []byte
	}{
		{"empty keyframe", FrameKeyframe, nil},
		{"rtp", FrameRTP, []byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xAA}},
		{"max payload", FrameRTCP, bytes.Repeat([]byte{7}, MaxPayload)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendFrame(nil, tc.typ, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			typ, payload, n, err := DecodeFrame(b)
			if err != nil || typ != tc.typ || n != len(b) || !bytes.Equal(payload, tc.payload) {
				t.Fatalf("DecodeFrame = %v %d bytes n=%d err=%v", typ, len(payload), n, err)
			}
			fr := NewFrameReader(bytes.NewReader(b))
			typ, payload, err = fr.Next()
			if err != nil || typ != tc.typ || !bytes.Equal(payload, tc.payload) {
				t.Fatalf("Next = %v %d bytes err=%v", typ, len(payload), err)
			}
			if _, _, err := fr.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("Next after end = %v, want EOF", err)
			}
		})
	}
}

func TestMediaLinkFrameErrors(t *testing.T) {
	if _, err := AppendFrame(nil, FrameRTP, make([]byte, MaxPayload+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"short header", []byte{3, 0}, io.ErrUnexpectedEOF},
		{"truncated payload", []byte{3, 0, 4, 1, 2}, io.ErrUnexpectedEOF},
		{"unknown type", []byte{9, 0, 0}, ErrBadFrame},
		{"zero type", []byte{0, 0, 0}, ErrBadFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := DecodeFrame(tc.in); !errors.Is(err, tc.want) {
				t.Fatalf("DecodeFrame err = %v, want %v", err, tc.want)
			}
			if _, _, err := NewFrameReader(bytes.NewReader(tc.in)).Next(); !errors.Is(err, tc.want) {
				t.Fatalf("Next err = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzMediaLinkFrame(f *testing.F) {
	f.Add([]byte{3, 0, 2, 0x80, 0x60})
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{6, 0, 5, 'c', 'l', 'o', 's', 'e', 5, 0, 0})
	f.Add([]byte{9, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Decoding a stream frame by frame must agree between both decoders and re-encode
		// to the same bytes.
		fr := NewFrameReader(bytes.NewReader(b))
		rest := b
		for {
			typ, payload, n, err := DecodeFrame(rest)
			rtyp, rpayload, rerr := fr.Next()
			if err != nil {
				if rerr == nil {
					t.Fatalf("DecodeFrame failed (%v) but reader succeeded", err)
				}
				return
			}
			if rerr != nil || rtyp != typ || !bytes.Equal(rpayload, payload) {
				t.Fatalf("reader disagrees: %v %v", rtyp, rerr)
			}
			again, err := AppendFrame(nil, typ, payload)
			if err != nil || !bytes.Equal(again, rest[:n]) {
				t.Fatalf("re-encoding differs")
			}
			rest = rest[n:]
		}
	})
}
