package rtpframe

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// clipFrame is one encoded frame of a test clip under testdata/ (trimmed copies of the
// repository's client/media/testdata clips: VP8 and H.264 keep 61 frames, keyframes at 0, 30
// and 60; Opus is whole).
type clipFrame struct {
	Data     []byte
	Key      bool
	Duration time.Duration
}

func readClip(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clip returns the frames of the test clip of a MIME type.
func clip(t *testing.T, mime string) []clipFrame {
	t.Helper()
	switch mime {
	case "video/VP8":
		return ivfFrames(t, readClip(t, "vp8.ivf"))
	case "video/H264":
		return annexBFrames(readClip(t, "h264.h264"))
	default:
		return oggOpusFrames(t, readClip(t, "opus.ogg"))
	}
}

func ivfFrames(t *testing.T, b []byte) []clipFrame {
	t.Helper()
	if len(b) < 32 || string(b[:4]) != "DKIF" {
		t.Fatal("vp8.ivf: not IVF")
	}
	var out []clipFrame
	for p := int(binary.LittleEndian.Uint16(b[6:8])); p+12 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[p : p+4]))
		if n == 0 || p+12+n > len(b) {
			t.Fatal("vp8.ivf: truncated frame")
		}
		data := b[p+12 : p+12+n]
		out = append(out, clipFrame{Data: data, Key: data[0]&1 == 0, Duration: time.Second / 30})
		p += 12 + n
	}
	return out
}

// annexBFrames groups NAL units into access units, each ending with its picture's slice.
func annexBFrames(b []byte) []clipFrame {
	var out []clipFrame
	var au []byte
	key := false
	for _, nal := range SplitAnnexB(b) {
		typ := nal[0] & 0x1F
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal...)
		key = key || typ == 5
		if typ == 1 || typ == 5 {
			out = append(out, clipFrame{Data: au, Key: key, Duration: time.Second / 30})
			au, key = nil, false
		}
	}
	return out
}

// oggOpusFrames returns the Opus packets of an Ogg stream, skipping the two header packets.
func oggOpusFrames(t *testing.T, b []byte) []clipFrame {
	t.Helper()
	var packets [][]byte
	var cur []byte
	for p := 0; p < len(b); {
		if p+27 > len(b) || string(b[p:p+4]) != "OggS" || p+27+int(b[p+26]) > len(b) {
			t.Fatal("opus.ogg: bad page")
		}
		segs := b[p+27 : p+27+int(b[p+26])]
		q := p + 27 + len(segs)
		for _, s := range segs {
			if q+int(s) > len(b) {
				t.Fatal("opus.ogg: truncated segment")
			}
			cur = append(cur, b[q:q+int(s)]...)
			q += int(s)
			if s < 255 {
				packets, cur = append(packets, cur), nil
			}
		}
		p = q
	}
	if len(packets) < 3 {
		t.Fatal("opus.ogg: no audio packets")
	}
	out := make([]clipFrame, 0, len(packets)-2)
	for _, p := range packets[2:] {
		out = append(out, clipFrame{Data: p, Key: true, Duration: 20 * time.Millisecond})
	}
	return out
}

// packetizeAll packetizes frames back to back (MTU 1200) from sequence seq0 and timestamp
// ts0, with the marker bit on each frame's last packet.
func packetizeAll(mime string, frames []clipFrame, seq0 uint16, ts0 uint32) []*rtp.Packet {
	var pay rtp.Payloader = &codecs.OpusPayloader{}
	clock := time.Duration(48000)
	switch strings.ToLower(mime) {
	case "video/vp8":
		pay, clock = &codecs.VP8Payloader{}, 90000
	case "video/h264":
		pay, clock = &codecs.H264Payloader{}, 90000
	}
	var out []*rtp.Packet
	var elapsed time.Duration
	seq := seq0
	for _, f := range frames {
		ts := ts0 + uint32(elapsed*clock/time.Second)
		payloads := pay.Payload(1200, f.Data)
		for i, pl := range payloads {
			out = append(out, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq,
				Timestamp: ts, SSRC: 1234, Marker: i == len(payloads)-1}, Payload: pl})
			seq++
		}
		elapsed += f.Duration
	}
	return out
}
