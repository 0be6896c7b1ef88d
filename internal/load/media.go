package load

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// newWebRTCAPI builds the pion API every PeerConnection of the run shares: default codecs
// and interceptors (NACK, reports, TWCC), pion's logging off, loopback-only ICE when asked,
// or ICE over TCP only (active ICE-TCP toward the server's passive candidates), or relayed
// candidates only (then nominated at once).
func newWebRTCAPI(loopback, tcp, relay bool) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("load: codecs: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("load: interceptors: %w", err)
	}
	var se webrtc.SettingEngine
	if loopback {
		client.LoopbackSettings(&se)
	}
	if tcp {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}
	if relay {
		client.RelayOnlySettings(&se)
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	se.LoggerFactory = lf
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// clipSet is the tracks a publisher sends and the sources feeding them (the video source
// answers keyframe requests).
type clipSet struct {
	tracks  []webrtc.TrackLocal
	sources []*media.Source
}

// clipTrack is a video track fed by a clip source; it implements client.KeyframeRequester
// so that the server's PLIs make the source jump to a keyframe, as an encoder would.
type clipTrack struct {
	*webrtc.TrackLocalStaticSample
	src *media.Source
}

// RequestKeyframe implements client.KeyframeRequester.
func (c clipTrack) RequestKeyframe() { c.src.RequestKeyframe() }

var _ client.KeyframeRequester = clipTrack{}

// newClipSet returns the tracks of the configured codecs, audio first; with browser the
// video is a media.BrowserTrack.
func newClipSet(video, audio string, browser *media.BrowserOptions) (clipSet, error) {
	var cs clipSet
	if audio == "opus" {
		a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "load")
		if err != nil {
			return cs, fmt.Errorf("load: audio track: %w", err)
		}
		cs.tracks, cs.sources = append(cs.tracks, a), append(cs.sources, media.NewOpusSource(a))
	}
	if video != "none" && browser != nil {
		mime := webrtc.MimeTypeVP8
		if video == "h264" {
			mime = webrtc.MimeTypeH264
		}
		bt, err := media.NewBrowserTrack(mime, *browser)
		if err != nil {
			return cs, fmt.Errorf("load: video track: %w", err)
		}
		cs.tracks, cs.sources = append(cs.tracks, bt), append(cs.sources, bt.Source())
	} else if video != "none" {
		caps := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		newSource := media.NewVP8Source
		if video == "h264" {
			caps.MimeType = webrtc.MimeTypeH264
			caps.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
			newSource = media.NewH264Source
		}
		v, err := webrtc.NewTrackLocalStaticSample(caps, "video", "load")
		if err != nil {
			return cs, fmt.Errorf("load: video track: %w", err)
		}
		src := newSource(v)
		cs.tracks, cs.sources = append(cs.tracks, clipTrack{TrackLocalStaticSample: v, src: src}), append(cs.sources, src)
	}
	return cs, nil
}

// run plays every source until ctx ends; the caller waits on wg.
func (cs clipSet) run(ctx context.Context, wg *sync.WaitGroup) {
	for _, s := range cs.sources {
		wg.Go(func() { _ = s.Run(ctx) })
	}
}

// trackRecv counts one remote track: packets, sequence gaps, and for video the decoded
// frames and freezes. ready is closed at the first decoded video frame (or the first audio
// packet when readyOnAudio).
type trackRecv struct {
	tot          *totals
	readyOnAudio bool
	ready        chan struct{}
	readyOnce    *sync.Once

	mu      sync.Mutex
	seq     seqTracker
	fz      freezeTracker
	fc      *media.FrameCounter // nil for audio
	decoded int64
	open    bool
}

// consume reads the track until it ends (pion closes it with the PeerConnection). Video
// frames are counted as a decoder would see them; while a keyframe is missing, PLIs go back
// through rcv's transport as a browser's would.
func (t *trackRecv) consume(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	t.mu.Lock()
	t.open = true
	if tr.Kind() == webrtc.RTPCodecTypeVideo {
		pli := func() {
			_, _ = rcv.Transport().WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
		}
		fc, err := media.NewFrameCounter(tr.Codec().MimeType, media.WithKeyframeRequest(pli))
		if err == nil {
			t.fc = fc
		}
	}
	video := t.fc != nil
	t.mu.Unlock()
	defer func() { t.mu.Lock(); t.open = false; t.mu.Unlock() }()
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		t.tot.packets.Add(1)
		t.tot.bytes.Add(int64(n))
		if video {
			t.onVideo(buf[:n])
		} else {
			t.onAudio(binary.BigEndian.Uint16(buf[2:4]))
		}
	}
}

func (t *trackRecv) onAudio(seq uint16) {
	t.mu.Lock()
	t.seq.push(seq)
	t.mu.Unlock()
	if t.readyOnAudio {
		t.readyOnce.Do(func() { close(t.ready) })
	}
}

func (t *trackRecv) onVideo(raw []byte) {
	p := &rtp.Packet{}
	if err := p.Unmarshal(append([]byte(nil), raw...)); err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq.push(p.SequenceNumber)
	t.fc.Push(p)
	d := t.fc.Stats().Decodable
	if d == t.decoded {
		return
	}
	t.tot.videoFrames.Add(d - t.decoded)
	t.decoded = d
	if t.fz.frame(time.Now()) {
		t.readyOnce.Do(func() { close(t.ready) })
	}
}

// trackResult are a track's final counts.
type trackResult struct {
	lost, freezes int64
}

// result returns the counts, counting a freeze still going on at now.
func (t *trackRecv) result(now time.Time) trackResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := trackResult{lost: t.seq.lost(), freezes: t.fz.freezes}
	if t.fc != nil && t.open && t.fz.pending(now) {
		r.freezes++
	}
	return r
}
