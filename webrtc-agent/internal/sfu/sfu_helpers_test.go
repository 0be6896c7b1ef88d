package sfu

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// recordWriter is a webrtc.TrackLocalWriter that records headers (or only counts them).
type recordWriter struct {
	mu       sync.Mutex
	count    bool
	n        int
	headers  []rtp.Header
	payloads [][]byte
}

func (w *recordWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	if !w.count {
		w.headers = append(w.headers, *h)
		w.payloads = append(w.payloads, append([]byte(nil), payload...))
	}
	return len(payload), nil
}

func (w *recordWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *recordWriter) snapshot() []rtp.Header {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]rtp.Header(nil), w.headers...)
}

// bindContext is a webrtc.TrackLocalContext for binding down-tracks without a PeerConnection.
type bindContext struct {
	codecs  []webrtc.RTPCodecParameters
	w       webrtc.TrackLocalWriter
	rtxSSRC webrtc.SSRC // SSRCRetransmission (0: RTX not negotiated)
}

func (c bindContext) CodecParameters() []webrtc.RTPCodecParameters { return c.codecs }
func (c bindContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (c bindContext) SSRC() webrtc.SSRC                       { return 0xABCD }
func (c bindContext) SSRCRetransmission() webrtc.SSRC         { return c.rtxSSRC }
func (c bindContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (c bindContext) WriteStream() webrtc.TrackLocalWriter    { return c.w }
func (c bindContext) ID() string                              { return "bind" }
func (c bindContext) RTCPReader() interceptor.RTCPReader      { return nil }

var vp8 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}

// newVP8Track returns a video track counting keyframe requests.
func newVP8Track(id string, kf *atomic.Int32) *Track {
	return NewTrack(TrackConfig{ID: id, Kind: webrtc.RTPCodecTypeVideo, Codec: vp8,
		Keyframe: func() {
			if kf != nil {
				kf.Add(1)
			}
		}})
}

// bindDown binds d to a recording writer with payload type 120.
func bindDown(d *DownTrack, w *recordWriter) {
	_, err := d.Bind(bindContext{codecs: []webrtc.RTPCodecParameters{{PayloadType: 120, RTPCodecCapability: vp8}}, w: w})
	if err != nil {
		panic(err)
	}
}

// vp8Packet builds an RTP packet with a VP8 payload descriptor; key marks a keyframe start.
func vp8Packet(buf []byte, ssrc uint32, seq uint16, ts uint32, key bool) []byte {
	buf = buf[:0]
	buf = append(buf, 0x90, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // V=2, X=1 (one-word extension)
	binary.BigEndian.PutUint16(buf[2:], seq)
	binary.BigEndian.PutUint32(buf[4:], ts)
	binary.BigEndian.PutUint32(buf[8:], ssrc)
	buf = append(buf, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0) // one-byte extension profile
	vp8hdr := byte(0x01)                                  // inter frame
	if key {
		vp8hdr = 0x00
	}
	buf = append(buf, 0x10, vp8hdr, 0x11, 0x22, 0x33)
	for len(buf) < 1000 {
		buf = append(buf, byte(len(buf)))
	}
	return buf
}
