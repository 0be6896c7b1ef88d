package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/internal/siotest"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// fakePortal is a scripted OWT portal for the client's unit tests: a siotest server
// whose soac answers come from real pion PeerConnections on loopback. Publications are
// received and counted (and sent a PLI for their video); subscriptions get the VP8 clip.
type fakePortal struct {
	t   *testing.T
	srv *siotest.Server
	api *webrtc.API

	mu        sync.Mutex
	requests  []string // "<event> <json>"
	sock      *siotest.Socket
	counters  map[string]*media.FrameCounter // by mime type, publications
	pcs       []*webrtc.PeerConnection
	failSoac  string // progress error reason sent instead of an answer
	failEvent string // request answered with ('error', "unauthorized")
	cancel    context.CancelFunc
	ctx       context.Context
	wg        sync.WaitGroup
}

func newFakePortal(t *testing.T) *fakePortal {
	t.Helper()
	var se webrtc.SettingEngine
	LoopbackSettings(&se)
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	fp := &fakePortal{t: t, api: webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)),
		counters: map[string]*media.FrameCounter{}, ctx: ctx, cancel: cancel}
	fp.srv = siotest.New(siotest.Config{}, fp.onConnect)
	t.Cleanup(fp.close)
	return fp
}

func (fp *fakePortal) close() {
	fp.cancel()
	fp.srv.Close()
	fp.mu.Lock()
	pcs := fp.pcs
	fp.mu.Unlock()
	for _, pc := range pcs {
		_ = pc.Close()
	}
	fp.wg.Wait()
}

// token returns a token pointing at the fake portal.
func (fp *fakePortal) token() string {
	host := strings.TrimPrefix(fp.srv.URL(), "http://")
	b, _ := json.Marshal(map[string]any{"tokenId": "65a1b2c3d4e5f60718293a4b", "host": host, "secure": false, "signature": "c2ln"})
	return base64.StdEncoding.EncodeToString(b)
}

// set changes the portal's script under its lock.
func (fp *fakePortal) set(f func()) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	f()
}

func (fp *fakePortal) socket() *siotest.Socket {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return fp.sock
}

func (fp *fakePortal) seen(prefix string) bool {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	for _, r := range fp.requests {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

func (fp *fakePortal) counter(mime string) *media.FrameCounter {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return fp.counters[mime]
}

var existingStream = protocol.StreamInfo{ID: "s0", Type: "forward", Info: json.RawMessage(`{"owner":"other","type":"webrtc","inViews":[]}`),
	Media: protocol.StreamMedia{Tracks: []protocol.TrackInfo{
		{ID: "s0-1", Type: "video", Source: "camera", Format: protocol.Format{Codec: "vp8"}, Status: "active", Mid: "1"}}}}

func (fp *fakePortal) onConnect(s *siotest.Socket) {
	fp.mu.Lock()
	fp.sock = s
	fp.mu.Unlock()
	for _, ev := range []string{"login", "publish", "subscribe", "soac", "stream-control", "subscription-control",
		"unpublish", "unsubscribe", "text", "logout",
		"chat-send", "chat-edit", "chat-delete", "chat-react", "chat-history"} {
		s.On(ev, func(args []json.RawMessage, ack siotest.AckFunc) { fp.handle(s, ev, args, ack) })
	}
}

func (fp *fakePortal) handle(s *siotest.Socket, ev string, args []json.RawMessage, ack siotest.AckFunc) {
	var arg json.RawMessage
	if len(args) > 0 {
		arg = args[0]
	}
	fp.mu.Lock()
	fp.requests = append(fp.requests, ev+" "+string(arg))
	fail := fp.failEvent == ev
	fp.mu.Unlock()
	if fail {
		ack("error", "unauthorized")
		return
	}
	switch ev {
	case "login":
		ack("ok", map[string]any{"id": s.ID, "user": "u", "role": "presenter",
			"permission": protocol.Permission{Publish: protocol.AV{Audio: true, Video: true}, Subscribe: protocol.AV{Audio: true, Video: true}},
			"room":       protocol.RoomInfo{ID: "room1", Views: []string{"common"}, Participants: []protocol.ParticipantInfo{{ID: s.ID, User: "u", Role: "presenter"}}, Streams: []protocol.StreamInfo{existingStream}},
			"chat":       protocol.ChatHistory{Messages: []protocol.ChatMessage{oldMessage}}})
	case "publish":
		ack("ok", map[string]string{"id": "pub1", "transportId": "pub1"})
	case "subscribe":
		ack("ok", map[string]string{"id": "sub1", "transportId": "sub1"})
	case "soac":
		ack("ok")
		fp.soac(s, arg)
	case "text":
		var m struct{ To, Message string }
		_ = json.Unmarshal(arg, &m)
		ack("ok")
		_ = s.Emit("text", protocol.TextEvent{From: s.ID, To: "me", Message: m.Message})
	case "chat-send", "chat-edit", "chat-react", "chat-history":
		fp.chat(s, ev, arg, ack)
	default:
		ack("ok")
	}
}

// oldMessage is the chat history of the login answer.
var oldMessage = protocol.ChatMessage{ID: "m0", From: "other", To: "all", Content: "earlier", Timestamp: 1}

// chat answers a chat request with a message built from it; chat-send also emits `chat` new.
func (fp *fakePortal) chat(s *siotest.Socket, ev string, arg json.RawMessage, ack siotest.AckFunc) {
	var req struct {
		ID, To, Content, Reaction string
		Add                       bool
	}
	_ = json.Unmarshal(arg, &req)
	m := protocol.ChatMessage{ID: "m1", From: s.ID, To: req.To, Content: req.Content, Timestamp: 2}
	switch ev {
	case "chat-history":
		ack("ok", protocol.ChatHistory{Messages: []protocol.ChatMessage{oldMessage}})
		return
	case "chat-edit":
		m.ID, m.To, m.Edited = req.ID, "all", 3
	case "chat-react":
		m.ID, m.To, m.Reactions = req.ID, "all", map[string][]string{req.Reaction: {s.ID}}
	}
	ack("ok", map[string]any{"message": m})
	if ev == "chat-send" {
		_ = s.Emit("chat", protocol.ChatEvent{Action: protocol.ChatNew, Message: m})
	}
}

// soac answers an offer with a loopback PeerConnection and reports readiness.
func (fp *fakePortal) soac(s *siotest.Socket, arg json.RawMessage) {
	var req struct {
		ID        string `json:"id"`
		Signaling struct{ Type, SDP string }
	}
	if json.Unmarshal(arg, &req) != nil || req.Signaling.Type != "offer" {
		return
	}
	fp.mu.Lock()
	failure := fp.failSoac
	fp.mu.Unlock()
	if failure != "" {
		_ = s.Emit("progress", map[string]string{"id": req.ID, "sessionId": req.ID, "status": "error", "data": failure})
		return
	}
	answer, err := fp.answer(s, req.ID, req.Signaling.SDP)
	if err != nil {
		fp.t.Errorf("fake portal answer: %v", err)
		return
	}
	_ = s.Emit("progress", map[string]any{"id": req.ID, "status": "soac", "data": map[string]string{"type": "answer", "sdp": answer}})
}

func (fp *fakePortal) answer(s *siotest.Socket, id, offer string) (string, error) {
	pc, err := fp.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	fp.mu.Lock()
	fp.pcs = append(fp.pcs, pc)
	fp.mu.Unlock()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
		}
		fc, _ := media.NewFrameCounter(tr.Codec().MimeType)
		fp.mu.Lock()
		fp.counters[tr.Codec().MimeType] = fc
		fp.mu.Unlock()
		_ = fc.Consume(tr)
	})
	var ready sync.Once
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			ready.Do(func() {
				_ = s.Emit("progress", map[string]string{"id": id, "status": "ready"})
				_ = s.Emit("progress", map[string]string{"id": id, "sessionId": id, "status": "ready"})
			})
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	if strings.HasPrefix(id, "sub") {
		if err := fp.sendClip(pc); err != nil {
			return "", err
		}
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	<-g
	return pc.LocalDescription().SDP, nil
}

// sendClip answers a subscription with the VP8 clip.
func (fp *fakePortal) sendClip(pc *webrtc.PeerConnection) error {
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "s0")
	if err != nil {
		return err
	}
	if _, err := pc.AddTrack(track); err != nil {
		return fmt.Errorf("add track: %w", err)
	}
	src := media.NewVP8Source(track)
	fp.wg.Go(func() { _ = src.Run(fp.ctx) })
	return nil
}

// loopbackOnly asserts that an SDP only offers loopback candidates.
func loopbackOnly(t *testing.T, sdp string) {
	t.Helper()
	n := 0
	for line := range strings.SplitSeq(sdp, "\n") {
		if !strings.HasPrefix(line, "a=candidate:") {
			continue
		}
		n++
		f := strings.Fields(line)
		if len(f) < 5 || !net.ParseIP(f[4]).IsLoopback() {
			t.Fatalf("non-loopback candidate %q", line)
		}
	}
	if n == 0 {
		t.Fatal("no candidates in the offer")
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
