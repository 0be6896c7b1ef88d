package out

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/rtpx"
	"github.com/pion/rtp"
)

// feed moves one imported track's RTP from its media link to ffmpeg's UDP port. ffmpeg
// depacketizes it itself but can neither ask for a keyframe nor start from a delta frame,
// so video is held back until a keyframe starts, and a frame assembler (rtpframe, whose
// frames are discarded) watches the stream: after a loss, or while the feed waits to start,
// it asks the source for keyframes with back-off until one arrives.
type feed struct {
	kind   string
	source protocol.TrackRef
	link   *medialink.Link
	ask    func() // asks the source for a keyframe (link.RequestKeyframe)
	info   medialink.TrackInfo
	pt     uint8
	isKey  func([]byte) bool // nil for audio

	mu      sync.Mutex
	conn    *net.UDPConn // ffmpeg's RTP port; nil while ffmpeg is down
	gated   bool
	depack  *rtpframe.Depacketizer // video only
	onFrame func(rtpframe.Frame)   // f.watched, bound once
	opens   bool                   // the packet being pushed starts the keyframe the gate waits for
	pushAt  time.Time              // arrival of the packet being pushed
	pkt     rtp.Packet
	buf     []byte

	retired   atomic.Bool  // replaced by a source switch: its link's end is expected
	forwarded atomic.Int64 // packets written in the current ffmpeg run
	last      atomic.Int64 // unix nanoseconds of the last packet received from the link
}

// newFeed wraps an imported link.
func newFeed(kind string, src protocol.TrackRef, l *medialink.Link, info medialink.TrackInfo, log *slog.Logger) *feed {
	f := &feed{kind: kind, source: src, link: l, info: info, pt: audioPT, buf: make([]byte, 0, 1500)}
	if l != nil {
		f.ask = l.RequestKeyframe
	}
	if kind != "video" {
		return f
	}
	f.pt = videoPT
	f.isKey = rtpframe.KeyframeDetector(info.MimeType)
	f.onFrame = f.watched
	if c, err := rtpframe.CodecOf(info.MimeType); err == nil {
		log = log.With("kind", kind, "track", src.TrackID)
		f.depack = rtpframe.New(c, rtpframe.Options{Keyframe: func() { f.ask() }, Stalled: func(s rtpframe.Stall) {
			if s.Recovered {
				log.Info("keyframe arrived after a long wait", "waited", s.Waited, "requests", s.Requests)
				return
			}
			// Info, not a warning: a source late with its keyframe is the publisher's network
			// or encoder, nothing an operator of this server can act on (issue 21).
			log.Info("waiting for a keyframe", "waited", s.Waited, "requests", s.Requests, "dropped", s.Dropped)
		}})
	}
	return f
}

// attach points the feed at ffmpeg's port (nil detaches) and, for video, waits for the
// next keyframe, asking for one until it comes.
func (f *feed) attach(conn *net.UDPConn) {
	f.mu.Lock()
	old := f.conn
	f.conn, f.gated = conn, conn != nil && f.isKey != nil
	f.forwarded.Store(0)
	if f.gated {
		f.resync()
	}
	f.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
}

// resync starts a wait for a keyframe; f.mu is held.
func (f *feed) resync() {
	if f.depack != nil {
		f.depack.Resync(time.Now())
	} else {
		f.ask()
	}
}

// handle is the link's frame handler.
func (f *feed) handle(typ medialink.FrameType, p []byte) {
	if typ != medialink.FrameRTP || !rtpx.Valid(p) {
		return
	}
	now := time.Now()
	f.last.Store(now.UnixNano())
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.depack != nil && f.pkt.Unmarshal(p) == nil {
		f.opens = f.gated && f.isKey(rtpx.Payload(p)) // this packet starts the keyframe the gate waits for
		f.pushAt = now
		f.depack.Push(&f.pkt, now, f.onFrame)
	}
	if f.conn == nil {
		return
	}
	if f.gated {
		if !f.isKey(rtpx.Payload(p)) {
			return
		}
		f.gated = false
	}
	f.buf = append(f.buf[:0], p...)
	rtpx.SetPayloadType(f.buf, f.pt)
	_, err := f.conn.Write(f.buf)
	switch {
	case err == nil:
		f.forwarded.Add(1)
	case errors.Is(err, syscall.ECONNREFUSED) && f.isKey != nil:
		// ffmpeg was not listening yet when an earlier packet arrived (the kernel reports the
		// refusal on the next write): that packet, maybe the keyframe, is lost, so wait for
		// another keyframe, which a source with long keyframe intervals must be asked for.
		f.gated = true
		f.resync()
	}
}

// state summarises the feed for an error message: packets written to the current ffmpeg and,
// for video, whether it still waits for a keyframe and how many it asked for.
func (f *feed) state() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := fmt.Sprintf("%s: %d packets to ffmpeg", f.kind, f.forwarded.Load())
	if f.isKey != nil {
		if f.gated {
			s += ", waiting for a keyframe"
		}
		if f.depack != nil {
			st := f.depack.Stats()
			s += fmt.Sprintf(", %d keyframe requests, %d frames seen, %d gaps", st.KeyRequests, st.Frames, st.Gaps)
		}
	}
	return s
}

// watched sees the frames of the feed's watching assembler (ffmpeg gets the packets; f.mu is
// held). A keyframe that completes while the gate still waits, and did not start with the
// packet being pushed, is one whose start the gate did not pass: the gate closed in the middle
// of it (ffmpeg refused a packet). It ended the assembler's wait, so nothing would ask for the
// next keyframe and the feed would wait for good (a streaming-out that never started, seen
// in the browser media test): start a new wait, which asks.
func (f *feed) watched(fr rtpframe.Frame) {
	if fr.Key && f.gated && !f.opens {
		f.depack.Resync(f.pushAt)
	}
}

// idle reports whether nothing arrived from the link for d (or ever, since start).
func (f *feed) idle(d time.Duration, since time.Time) bool {
	last := f.last.Load()
	if last == 0 {
		return time.Since(since) >= d
	}
	return time.Since(time.Unix(0, last)) >= d
}
