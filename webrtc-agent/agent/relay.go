package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// relay is a track imported from another agent over a media link.
type relay struct {
	track *sfu.Track
	link  *medialink.Link
}

// source finds the track a subscription or layer switch refers to: a local publication, an
// existing relay, or a new import from the agent holding it. relayMu must be held.
func (a *Agent) source(ctx context.Context, ref protocol.TrackRef) (*sfu.Track, error) {
	a.mu.Lock()
	t := a.tracks[ref.TrackID]
	a.mu.Unlock()
	if t != nil && !t.Closed() {
		return t, nil
	}
	if ref.Agent == "" || ref.Agent == a.id {
		return nil, errTrackNotFound(ref.TrackID)
	}
	return a.importTrack(ctx, ref)
}

// importTrack asks the holder to export the track (rtc.export), dials the media link and
// registers a relay track fed by it.
func (a *Agent) importTrack(ctx context.Context, ref protocol.TrackRef) (*sfu.Track, error) {
	var res protocol.RTCExportResult
	if err := a.bus.Call(ctx, ref.Agent, protocol.MethodRTCExport, protocol.RTCExport{TrackID: ref.TrackID}, &res); err != nil {
		return nil, err
	}
	link, info, err := medialink.Dial(ctx, res.Address, res.Ticket, 0)
	if err != nil {
		return nil, errs.Cluster(fmt.Sprintf("import of track %s from %s failed: %v", ref.TrackID, ref.Agent, err))
	}
	kind := webrtc.NewRTPCodecType(info.Kind)
	if kind == 0 || info.ClockRate == 0 {
		link.Close("bad track info")
		return nil, errs.Cluster(fmt.Sprintf("import of track %s: invalid track info", ref.TrackID))
	}
	st := sfu.NewTrack(sfu.TrackConfig{ID: ref.TrackID, Kind: kind, Keyframe: link.RequestKeyframe,
		Codec: webrtc.RTPCodecCapability{MimeType: info.MimeType, ClockRate: info.ClockRate, Channels: info.Channels, SDPFmtpLine: info.Fmtp}})
	r := &relay{track: st, link: link}
	a.mu.Lock()
	if a.stopping {
		a.mu.Unlock()
		link.Close("shutdown")
		return nil, errs.Cluster("webrtc agent is stopping")
	}
	a.tracks[st.ID()], a.imports[st.ID()] = st, r
	a.bg.Add(1)
	a.mu.Unlock()
	go a.runRelay(r)
	a.log.Info("track imported", "track", st.ID(), "from", ref.Agent)
	return st, nil
}

// runRelay feeds the relay track from its link until the link ends, then unregisters it.
func (a *Agent) runRelay(r *relay) {
	defer a.bg.Done()
	err := r.link.Run(context.Background(), func(typ medialink.FrameType, payload []byte) {
		switch typ {
		case medialink.FrameRTP:
			r.track.Forward(payload)
		case medialink.FrameRTCP: // the publisher's Sender Reports, passed on to our exports
			if pkts, err := rtcp.Unmarshal(payload); err == nil {
				r.track.ForwardSenderReports(pkts)
			}
		}
	})
	r.track.Close()
	a.mu.Lock()
	if a.imports[r.track.ID()] == r {
		delete(a.imports, r.track.ID())
		delete(a.tracks, r.track.ID())
		a.retireTrackLocked(r.track)
	}
	a.mu.Unlock()
	a.log.Debug("relay ended", "track", r.track.ID(), "error", err)
}

// reapRelays closes imported tracks no subscriber uses any more. relayMu must be held, so no
// subscription is between finding a relay and attaching to it.
func (a *Agent) reapRelays() {
	a.mu.Lock()
	var idle []*relay
	for _, r := range a.imports {
		if r.track.Sinks() == 0 {
			idle = append(idle, r)
		}
	}
	a.mu.Unlock()
	for _, r := range idle {
		r.link.Close("no subscribers")
	}
}

// exporter attaches media links to local tracks (medialink.Exporter).
type exporter struct{ a *Agent }

// Export implements medialink.Exporter. A simulcast layer is exported through a follower
// (exportLayer); any other track's packets go out unmodified.
func (e exporter) Export(trackID string, l *medialink.Link) (medialink.Export, error) {
	e.a.mu.Lock()
	st := e.a.tracks[trackID]
	e.a.mu.Unlock()
	if st == nil || st.Closed() {
		return medialink.Export{}, fmt.Errorf("Track %s does NOT exist", trackID)
	}
	c := st.Codec()
	info := medialink.TrackInfo{TrackID: trackID, Kind: strings.ToLower(st.Kind().String()), MimeType: c.MimeType,
		ClockRate: c.ClockRate, Channels: c.Channels, Fmtp: c.SDPFmtpLine}
	if len(e.a.layersOf(st)) > 1 {
		return e.exportLayer(st, l, info)
	}
	sink := &linkSink{l: l}
	st.AddSink(sink)
	st.RequestKeyframe()
	return medialink.Export{
		Info:     info,
		Keyframe: st.RequestKeyframe,
		Detach:   func() { st.RemoveSink(sink) },
	}, nil
}

// followInterval is how often a layer export checks which layers flow (sfu.Follow: a few
// atomic loads and a clock read per layer). With sfu.FlowWindow it bounds how long a
// stopped layer goes unnoticed: 500–600 ms.
const followInterval = 100 * time.Millisecond

// exportLayer exports simulcast layer st through a down-track that sends st while the
// publisher sends it and otherwise the best layer below it that flows (sfu.Follow), in one
// continuous numbering with the layer's SSRC: a recording or mix of a browser that stopped
// its largest layer gets the next one instead of nothing. Sender Reports are translated to
// match.
func (e exporter) exportLayer(st *sfu.Track, l *medialink.Link, info medialink.TrackInfo) (medialink.Export, error) {
	e.a.mu.Lock()
	if e.a.stopping {
		e.a.mu.Unlock()
		return medialink.Export{}, errors.New("the agent is shutting down")
	}
	e.a.bg.Add(1)
	e.a.mu.Unlock()
	d := sfu.NewDownTrack(st.ID(), st.ID(), st)
	ssrc, ok := st.SSRC()
	if !ok {
		ssrc = rand.Uint32()
	}
	d.BindWriter(&linkWriter{l: l}, ssrc, st.PayloadType(), func(sr []byte) { l.SendRTCP(sr) })
	d.Attach()
	stop := make(chan struct{})
	go func() {
		defer e.a.bg.Done()
		tick := time.NewTicker(followInterval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-st.Done():
				l.Close("source closed")
				return
			case <-tick.C:
				before := d.Target()
				if err := sfu.Follow(d, e.a.layersOf(st), st); err != nil {
					e.a.log.Warn("layer export cannot switch", "track", st.ID(), "err", err)
				}
				if after := d.Target(); after != before {
					e.a.log.Info("layer export switches", "track", st.ID(), "from", before.ID(), "to", after.ID())
				}
			}
		}
	}()
	var once sync.Once
	return medialink.Export{
		Info:     info,
		Keyframe: func() { d.Target().RequestKeyframe() },
		Detach: func() {
			once.Do(func() { close(stop) })
			d.Detach()
		},
	}, nil
}

// linkWriter writes a down-track's packets into a media link (webrtc.TrackLocalWriter).
// The down-track calls it under its own lock, so buf is never shared.
type linkWriter struct {
	l   *medialink.Link
	buf []byte
}

// WriteRTP implements webrtc.TrackLocalWriter; a full link queue drops the packet.
func (w *linkWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	n := h.MarshalSize() + len(payload)
	if cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	b := w.buf[:n]
	hn, err := h.MarshalTo(b)
	if err != nil {
		return 0, err
	}
	copy(b[hn:], payload)
	w.l.SendRTP(b)
	return n, nil
}

// Write implements webrtc.TrackLocalWriter for a marshalled packet.
func (w *linkWriter) Write(b []byte) (int, error) {
	w.l.SendRTP(b)
	return len(b), nil
}

// linkSink forwards a track's packets and the publisher's Sender Reports, unmodified (the
// link keeps the publisher's SSRC, so the reports need no rewriting), into a media link.
type linkSink struct{ l *medialink.Link }

var _ sfu.ReportSink = (*linkSink)(nil)

// WritePacket implements sfu.Sink; a full link queue drops the packet.
func (s *linkSink) WritePacket(_ *sfu.Track, p *sfu.Packet) { s.l.SendRTP(p.Raw) }

// WriteSenderReport implements sfu.ReportSink; a full link queue drops the report.
func (s *linkSink) WriteSenderReport(_ *sfu.Track, sr []byte) { s.l.SendRTCP(sr) }

// SourceClosed implements sfu.SourceCloser: the importer learns the track is gone.
func (s *linkSink) SourceClosed() { s.l.Close("source closed") }
