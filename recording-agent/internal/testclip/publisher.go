package testclip

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/pion/rtcp"
)

// TrackSpec describes a published test track.
type TrackSpec struct {
	ID     string
	Kind   string // "audio" | "video"
	Mime   string // "video/VP8", "video/H264", "audio/opus"
	Frames []Frame
	// Delay holds packets back from their capture time (encoder/pacing latency) while
	// Sender Reports tell the truth; arrival-based timing would be off by Delay.
	Delay time.Duration
	// NoSR suppresses Sender Reports.
	NoSR bool
}

// Publisher plays clips as live RTP tracks from a common capture clock and exports them
// over media links (a medialink.Exporter), like a webrtc agent holding a publication.
type Publisher struct {
	t0     time.Time
	mu     sync.Mutex
	tracks map[string]*pubTrack
	wg     sync.WaitGroup
}

type pubTrack struct {
	spec  TrackSpec
	clock uint32
	pz    *Packetizer

	mu        sync.Mutex
	links     map[*medialink.Link]*linkStat
	keyReq    bool
	keyframes int
	frame     int
	latest    *linkStat // of the most recent link, kept after it ends
}

// linkStat remembers when a link got its first packet and first keyframe (capture times).
type linkStat struct {
	first, firstKey time.Time
	sentSR          bool
}

// NewPublisher returns a publisher whose capture clock starts now.
func NewPublisher() *Publisher {
	return &Publisher{t0: time.Now(), tracks: map[string]*pubTrack{}}
}

// Add publishes a track; it runs until ctx ends (Wait waits for it).
func (p *Publisher) Add(ctx context.Context, spec TrackSpec) {
	t := &pubTrack{spec: spec, clock: ClockRate(spec.Mime), links: map[*medialink.Link]*linkStat{}}
	t.pz = &Packetizer{Payloader: Payloader(spec.Mime), SSRC: uint32(len(spec.ID)*7919 + 1), PT: 96, Seq: 60000, Clock: t.clock}
	p.mu.Lock()
	p.tracks[spec.ID] = t
	p.mu.Unlock()
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.run(ctx, t) }()
}

// Remove stops exporting a track: its links are closed (the source went away).
func (p *Publisher) Remove(id string) {
	p.mu.Lock()
	t := p.tracks[id]
	delete(p.tracks, id)
	p.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for l := range t.links {
		l.Close("source closed")
	}
}

// Wait waits for the track goroutines after their context ended.
func (p *Publisher) Wait() { p.wg.Wait() }

// Export implements medialink.Exporter.
func (p *Publisher) Export(trackID string, l *medialink.Link) (medialink.Export, error) {
	p.mu.Lock()
	t := p.tracks[trackID]
	p.mu.Unlock()
	if t == nil {
		return medialink.Export{}, fmt.Errorf("Track %s does NOT exist", trackID)
	}
	t.mu.Lock()
	t.latest = &linkStat{}
	t.links[l] = t.latest
	t.mu.Unlock()
	return medialink.Export{
		Info:     medialink.TrackInfo{TrackID: trackID, Kind: t.spec.Kind, MimeType: t.spec.Mime, ClockRate: t.clock, Channels: channels(t.spec.Kind)},
		Keyframe: func() { t.mu.Lock(); t.keyReq = true; t.mu.Unlock() },
		Detach:   func() { t.mu.Lock(); delete(t.links, l); t.mu.Unlock() },
	}, nil
}

func channels(kind string) uint16 {
	if kind == "audio" {
		return 2
	}
	return 0
}

// FirstSent returns the capture times of the first packet and first keyframe sent on the
// track's most recent link (zero if none).
func (p *Publisher) FirstSent(id string) (first, firstKey time.Time) {
	p.mu.Lock()
	t := p.tracks[id]
	p.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.latest == nil {
		return
	}
	return t.latest.first, t.latest.firstKey
}

// Keyframes returns how many keyframe requests the track served.
func (p *Publisher) Keyframes(id string) int {
	p.mu.Lock()
	t := p.tracks[id]
	p.mu.Unlock()
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keyframes
}

// run sends one frame per frame duration, captured at t0 + n·duration.
func (p *Publisher) run(ctx context.Context, t *pubTrack) {
	dur := t.spec.Frames[0].Duration
	for n := 0; ; n++ {
		capture := p.t0.Add(time.Duration(n) * dur)
		wait := time.Until(capture.Add(t.spec.Delay))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		t.send(capture, t.pz.Ticks(capture.Sub(p.t0)))
	}
}

// send packetizes the next frame (restarting the clip at a keyframe when one was asked
// for) and sends it with a Sender Report first to links that have none yet.
func (t *pubTrack) send(capture time.Time, ts uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keyReq && t.spec.Kind == "video" {
		t.keyReq, t.frame = false, 0
		t.keyframes++
	}
	f := t.spec.Frames[t.frame%len(t.spec.Frames)]
	t.frame++
	pkts := t.pz.Packets(f, ts)
	var sr []byte
	if !t.spec.NoSR {
		sr, _ = (&rtcp.SenderReport{SSRC: t.pz.SSRC, NTPTime: ntp(capture), RTPTime: ts}).Marshal()
	}
	for l, st := range t.links {
		if sr != nil && (!st.sentSR || t.frame%25 == 0) {
			st.sentSR = l.SendRTCP(sr)
		}
		if st.first.IsZero() {
			st.first = capture
		}
		if f.Key && st.firstKey.IsZero() {
			st.firstKey = capture
		}
		for _, pkt := range pkts {
			b, _ := pkt.Marshal()
			l.SendRTP(b)
		}
	}
}

func ntp(t time.Time) uint64 {
	const ntpToUnix = 2208988800
	return uint64(t.Unix()+ntpToUnix)<<32 | uint64(t.Nanosecond())<<32/1e9
}
