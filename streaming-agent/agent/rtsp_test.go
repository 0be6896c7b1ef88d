package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
)

// rtspMTU bounds the RTP packets the test RTSP server sends.
const rtspMTU = 1200

// rtspServer is an RTSP server on loopback serving one stream, an H.264 video and an
// Opus audio media made from the client test clips and played in a loop in real time.
// It accepts TCP (interleaved) and UDP unicast readers.
type rtspServer struct {
	srv    *gortsplib.Server
	stream atomic.Pointer[gortsplib.ServerStream]
	addr   string // host:port of the RTSP listener

	mu     sync.Mutex
	played []string // transport of every PLAY received ("TCP", "UDP")
}

// startRTSPServer starts the server and its clip players; all stop when the test ends.
func startRTSPServer(t *testing.T) *rtspServer {
	t.Helper()
	sps, pps := clipParameterSets(t)
	video := &description.Media{Type: description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, SPS: sps, PPS: pps, PacketizationMode: 1}}}
	audio := &description.Media{Type: description.MediaTypeAudio,
		Formats: []format.Format{&format.Opus{PayloadTyp: 111, ChannelCount: 2}}}
	s := &rtspServer{}
	s.start(t)
	stream := gortsplib.NewServerStream(s.srv, &description.Session{Medias: []*description.Media{video, audio}})
	s.stream.Store(stream)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	players := []*media.Source{
		media.NewH264Source(newRTSPWriter(stream, video, &codecs.H264Payloader{}, 90000)),
		media.NewOpusSource(newRTSPWriter(stream, audio, &codecs.OpusPayloader{}, 48000)),
	}
	for _, p := range players {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil {
				t.Errorf("rtsp clip player: %v", err)
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		stream.Close()
		s.srv.Close()
	})
	return s
}

// start listens for RTSP on an ephemeral port and for RTP/RTCP over UDP on a pair of
// consecutive ports (even RTP port) that were free a moment ago, retrying when another
// process takes one of them first.
func (s *rtspServer) start(t *testing.T) {
	t.Helper()
	var lastErr error
	for range 10 {
		rtpPort := freeUDPPort(t) &^ 1
		srv := &gortsplib.Server{
			Handler:        s,
			RTSPAddress:    "127.0.0.1:0",
			UDPRTPAddress:  fmt.Sprintf("127.0.0.1:%d", rtpPort),
			UDPRTCPAddress: fmt.Sprintf("127.0.0.1:%d", rtpPort+1),
			Listen: func(network, address string) (net.Listener, error) {
				l, err := net.Listen(network, address)
				if err == nil {
					s.addr = l.Addr().String()
				}
				return l, err
			},
		}
		if lastErr = srv.Start(); lastErr == nil {
			s.srv = srv
			return
		}
	}
	t.Fatalf("rtsp server: %v", lastErr)
}

// freeUDPPort returns a UDP port free on 127.0.0.1 now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// url is the address a player pulls the stream from.
func (s *rtspServer) url() string { return "rtsp://" + s.addr + "/stream" }

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (s *rtspServer) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return s.answer()
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (s *rtspServer) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return s.answer()
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (s *rtspServer) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	tr := "none"
	if p := ctx.Session.SetuppedTransport(); p != nil {
		tr = p.String()
	}
	s.mu.Lock()
	s.played = append(s.played, tr)
	s.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// transports returns the transport of every PLAY so far, in order.
func (s *rtspServer) transports() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.played...)
}

// answer offers the stream once it exists; every path serves the same stream.
func (s *rtspServer) answer() (*base.Response, *gortsplib.ServerStream, error) {
	st := s.stream.Load()
	if st == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

// rtspWriter packetizes a player's samples into one media of the stream.
type rtspWriter struct {
	stream *gortsplib.ServerStream
	medi   *description.Media
	p      rtp.Packetizer
	clock  uint32
}

func newRTSPWriter(stream *gortsplib.ServerStream, medi *description.Media, pay rtp.Payloader, clock uint32) *rtspWriter {
	pt := medi.Formats[0].PayloadType()
	ssrc := uint32(0x5a000000) | uint32(pt)
	return &rtspWriter{stream: stream, medi: medi, clock: clock,
		p: rtp.NewPacketizer(rtspMTU, pt, ssrc, pay, rtp.NewRandomSequencer(), clock)}
}

// WriteSample implements media.SampleWriter: the RTP timestamp advances by the sample's
// duration, so the loop keeps a steady clock.
func (w *rtspWriter) WriteSample(s pionmedia.Sample) error {
	for _, pkt := range w.p.Packetize(s.Data, uint32(s.Duration.Seconds()*float64(w.clock))) {
		if err := w.stream.WritePacketRTP(w.medi, pkt); err != nil {
			return fmt.Errorf("rtsp write: %w", err)
		}
	}
	return nil
}

// clipParameterSets returns the first SPS and PPS of the H.264 clip, for the SDP.
func clipParameterSets(t *testing.T) (sps, pps []byte) {
	t.Helper()
	r, err := h264reader.NewReader(bytes.NewReader(media.H264Clip()))
	if err != nil {
		t.Fatal(err)
	}
	for sps == nil || pps == nil {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			t.Fatal("h264 clip has no SPS/PPS")
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case nal.UnitType == h264reader.NalUnitTypeSPS && sps == nil:
			sps = append([]byte(nil), nal.Data...)
		case nal.UnitType == h264reader.NalUnitTypePPS && pps == nil:
			pps = append([]byte(nil), nal.Data...)
		}
	}
	return sps, pps
}

func TestStreamingInRTSP(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		played    string // transport the server must see in every PLAY
	}{
		{"tcp", "tcp", "TCP"},
		{"udp", "udp", "UDP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newOutEnv(t, testConfig(t))
			src := startRTSPServer(t)
			req := protocol.InStart{ID: "in-rtsp", RoomID: "room", Controller: controllerID, URL: src.url(),
				TransportProtocol: tc.transport, Audio: protocol.TrackAuto, Video: protocol.TrackAuto}
			var res protocol.InStarted
			if err := e.call(protocol.MethodInStart, req, &res); err != nil {
				t.Fatalf("in.start: %v", err)
			}
			tracks := checkTracks(t, res, "in-rtsp")
			video := importTrack(t, e, tracks["video"])
			audio := importTrack(t, e, tracks["audio"])
			waitFrames(t, video, 30)
			waitFrames(t, audio, 50)
			played := src.transports()
			t.Logf("rtsp PLAYs %v; video %+v; audio %+v", played, video.Stats(), audio.Stats())
			if len(played) == 0 {
				t.Fatal("rtsp server saw no PLAY")
			}
			for _, tr := range played {
				if tr != tc.played {
					t.Fatalf("rtsp transports = %v, want all %s", played, tc.played)
				}
			}
			if err := e.call(protocol.MethodInStop, protocol.SessionStop{ID: "in-rtsp"}, nil); err != nil {
				t.Fatal(err)
			}
			if pids := e.agent.PIDs(); len(pids) != 0 {
				t.Fatalf("ffmpeg left after in.stop: %v", pids)
			}
			waitNoFFmpeg(t)
		})
	}
}
