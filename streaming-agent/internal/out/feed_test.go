package out

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/webrtc/v4"
)

// vp8Packets returns one VP8 frame as RTP packets seq, seq+1, …: parts packets, the first
// starting the frame (a keyframe when key), the last with the marker.
func vp8Packets(seq uint16, ts uint32, key bool, parts int) [][]byte {
	var out [][]byte
	for i := range parts {
		b := make([]byte, 12, 200)
		b[0], b[1] = 0x80, 96
		if i == parts-1 {
			b[1] |= 0x80
		}
		binary.BigEndian.PutUint16(b[2:], seq+uint16(i))
		binary.BigEndian.PutUint32(b[4:], ts)
		binary.BigEndian.PutUint32(b[8:], 1234)
		if i == 0 {
			b = append(b, 0x10) // descriptor: start of partition 0
			if key {
				b = append(b, 0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01) // 640x480
			} else {
				b = append(b, 0x01, 0x00, 0x00)
			}
		} else {
			b = append(b, 0x00) // continuation
		}
		b = append(b, make([]byte, 100)...)
		out = append(out, b)
	}
	return out
}

// TestFeedReasksAfterGateClosesMidKeyframe: ffmpeg refuses a packet in the middle of the
// keyframe that opened the feed's gate (it was not listening yet), so the gate closes again
// for the next keyframe. That keyframe must be asked for: the one in flight completes the
// watching assembler's wait, and before the fix nothing asked again and the streaming-out
// never started (the browser media test's "output not opened within 15s").
func TestFeedReasksAfterGateClosesMidKeyframe(t *testing.T) {
	asked := 0
	f := newFeed("video", protocol.TrackRef{TrackID: "t"}, nil,
		medialink.TrackInfo{Kind: "video", MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.ask = func() { asked++ }

	// ffmpeg's port with nobody listening: the kernel refuses the first datagram, and the
	// next write reports it.
	ln, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.LocalAddr().(*net.UDPAddr)
	ln.Close()
	conn, err := net.DialUDP("udp4", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	f.attach(conn)
	defer f.attach(nil)
	if asked != 1 {
		t.Fatalf("%d keyframe requests on attach, want 1", asked)
	}
	for _, p := range vp8Packets(100, 3000, true, 3) {
		f.handle(medialink.FrameRTP, p)
	}
	f.mu.Lock()
	gated := f.gated
	f.mu.Unlock()
	if !gated {
		t.Fatal("the feed did not close its gate after ffmpeg refused a packet: the test does not test what it says")
	}
	if asked != 2 {
		t.Fatalf("%d keyframe requests after the gate closed in the middle of a keyframe, want 2", asked)
	}
}
