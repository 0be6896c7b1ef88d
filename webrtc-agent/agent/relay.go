package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/rtcp"
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

// Export implements medialink.Exporter.
func (e exporter) Export(trackID string, l *medialink.Link) (medialink.Export, error) {
	e.a.mu.Lock()
	st := e.a.tracks[trackID]
	e.a.mu.Unlock()
	if st == nil || st.Closed() {
		return medialink.Export{}, fmt.Errorf("Track %s does NOT exist", trackID)
	}
	sink := &linkSink{l: l}
	st.AddSink(sink)
	st.RequestKeyframe()
	c := st.Codec()
	return medialink.Export{
		Info: medialink.TrackInfo{TrackID: trackID, Kind: strings.ToLower(st.Kind().String()), MimeType: c.MimeType,
			ClockRate: c.ClockRate, Channels: c.Channels, Fmtp: c.SDPFmtpLine},
		Keyframe: st.RequestKeyframe,
		Detach:   func() { st.RemoveSink(sink) },
	}, nil
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
