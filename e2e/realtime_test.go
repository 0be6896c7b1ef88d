package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/testutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
	"github.com/pion/webrtc/v4"
)

// TestE2ERealtimeAllInOne drives the all-in-one binary through a whole conference: join
// notifications, VP8/H.264/Opus forwarding, mute, text, the REST live resources and an
// operator's drop.
func TestE2ERealtimeAllInOne(t *testing.T) {
	srv := startRealtimeAllInOne(t)
	roomID := srv.api.CreateRoom(t, "realtime")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	evB := participant.NewRecorder()
	optsB := loopbackClient
	optsB.Events = evB.Events()
	b, _ := participant.JoinReady(ctx, t, func() string { return srv.api.MustToken(t, roomID, "bob", "presenter", "") }, optsB)
	evA := participant.NewRecorder()
	optsA := loopbackClient
	optsA.Events = evA.Events()
	a, infoA := participant.JoinReady(ctx, t, func() string { return srv.api.MustToken(t, roomID, "alice", "presenter", "") }, optsA)
	evB.Wait(ctx, t, "participant join of alice", func(v any) bool {
		ev, ok := v.(protocol.ParticipantEvent)
		p, _ := ev.Data.(protocol.ParticipantInfo)
		return ok && ev.Action == "join" && p.ID == infoA.ID && p.User == "alice" && p.Role == "presenter"
	})

	pubA, err := a.Publish(ctx, participant.ClipTracks(t, webrtc.MimeTypeVP8), rtc.PublishOptions{})
	if err != nil {
		t.Fatalf("alice publish: %v", err)
	}
	streamA := evB.Wait(ctx, t, "stream add of alice", participant.StreamEvent("add", pubA.ID())).(protocol.StreamEvent).Data.(protocol.StreamInfo)
	_, countA := subscribeCounted(ctx, t, b, streamA)
	countA.wait(ctx, t, webrtc.MimeTypeVP8, 30)
	countA.wait(ctx, t, webrtc.MimeTypeOpus, 50)

	checkMute(ctx, t, pubA, evB)
	checkText(ctx, t, a, b.ID(), evB)
	checkLiveREST(t, srv.api, roomID, infoA.ID, b.ID(), pubA.ID())

	// A third participant publishes H.264.
	c, _ := participant.JoinReady(ctx, t, func() string { return srv.api.MustToken(t, roomID, "carol", "presenter", "") }, loopbackClient)
	pubC, err := c.Publish(ctx, participant.ClipTracks(t, webrtc.MimeTypeH264), rtc.PublishOptions{})
	if err != nil {
		t.Fatalf("carol publish H.264: %v", err)
	}
	streamC := evB.Wait(ctx, t, "stream add of carol", participant.StreamEvent("add", pubC.ID())).(protocol.StreamEvent).Data.(protocol.StreamInfo)
	_, countC := subscribeCounted(ctx, t, b, streamC)
	countC.wait(ctx, t, webrtc.MimeTypeH264, 30)
	countC.wait(ctx, t, webrtc.MimeTypeOpus, 50)

	// The operator drops alice.
	e2eutil.Must(t, srv.api.Do(t, "DELETE", "/v1/rooms/"+roomID+"/participants/"+infoA.ID, nil), http.StatusOK)
	evA.Wait(ctx, t, "drop", func(v any) bool { return v == participant.DropEvent{} })
	select {
	case <-a.Done():
		if !errors.Is(a.Err(), rtc.ErrDropped) {
			t.Fatalf("alice closed with %v, want ErrDropped", a.Err())
		}
	case <-ctx.Done():
		t.Fatal("alice's client did not close after the drop")
	}
	evB.Wait(ctx, t, "participant leave of alice", func(v any) bool {
		ev, ok := v.(protocol.ParticipantEvent)
		return ok && ev.Action == "leave" && ev.Data == infoA.ID
	})
	evB.Wait(ctx, t, "stream remove of alice's stream", participant.StreamEvent("remove", pubA.ID()))

	for _, cl := range []*rtc.Client{c, b} {
		if err := cl.Leave(ctx); err != nil {
			t.Errorf("leave: %v", err)
		}
	}
	pollREST(t, srv.api, "/v1/rooms/"+roomID+"/participants", 20*time.Second, func(r e2eutil.Response) bool {
		return r.Status == http.StatusOK && strings.TrimSpace(string(r.Body)) == "[]"
	})
}

// checkMute pauses and resumes the publication's video and waits for the status updates.
func checkMute(ctx context.Context, t *testing.T, pub *rtc.Publication, ev *participant.Recorder) {
	t.Helper()
	if err := pub.Mute(ctx, "video"); err != nil {
		t.Fatalf("mute: %v", err)
	}
	ev.Wait(ctx, t, "video.status inactive", participant.StatusUpdate(pub.ID(), "video.status", "inactive"))
	if err := pub.Unmute(ctx, "video"); err != nil {
		t.Fatalf("unmute: %v", err)
	}
	ev.Wait(ctx, t, "video.status active", participant.StatusUpdate(pub.ID(), "video.status", "active"))
}

// checkText sends a broadcast and a private message from a to b.
func checkText(ctx context.Context, t *testing.T, a *rtc.Client, bID string, ev *participant.Recorder) {
	t.Helper()
	for _, to := range []struct{ dest, seen, msg string }{{"all", "all", "hello all"}, {bID, "me", "hello bob"}} {
		if err := a.Send(ctx, to.dest, to.msg); err != nil {
			t.Fatalf("send to %s: %v", to.dest, err)
		}
		ev.Wait(ctx, t, "text to "+to.seen, func(v any) bool {
			m, ok := v.(protocol.TextEvent)
			return ok && m == protocol.TextEvent{From: a.ID(), To: to.seen, Message: to.msg}
		})
	}
}

// restParticipant is an entry of GET /v1/rooms/{id}/participants.
type restParticipant struct {
	ID         string              `json:"id"`
	User       string              `json:"user"`
	Role       string              `json:"role"`
	Permission protocol.Permission `json:"permission"`
}

// restStreamJSON is the part of a v1.0 stream the test checks.
type restStreamJSON struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Media struct {
		Audio *struct {
			Status string          `json:"status"`
			Format protocol.Format `json:"format"`
		} `json:"audio"`
		Video *struct {
			Status   string `json:"status"`
			Original []struct {
				Format protocol.Format `json:"format"`
			} `json:"original"`
		} `json:"video"`
		Tracks any `json:"tracks"`
	} `json:"media"`
	Info struct {
		Owner string `json:"owner"`
		Type  string `json:"type"`
	} `json:"info"`
}

// checkLiveREST checks the participants and streams resources of a room where a (who
// publishes stream) and b are.
func checkLiveREST(t *testing.T, api e2eutil.RESTClient, roomID, aID, bID, stream string) {
	t.Helper()
	var parts []restParticipant
	e2eutil.Must(t, api.Do(t, "GET", "/v1/rooms/"+roomID+"/participants", nil), http.StatusOK).Decode(t, &parts)
	slices.SortFunc(parts, func(x, y restParticipant) int { return strings.Compare(x.User, y.User) })
	all := protocol.AV{Audio: true, Video: true}
	want := []restParticipant{
		{ID: aID, User: "alice", Role: "presenter", Permission: protocol.Permission{Publish: all, Subscribe: all}},
		{ID: bID, User: "bob", Role: "presenter", Permission: protocol.Permission{Publish: all, Subscribe: all}},
	}
	if !slices.Equal(parts, want) {
		t.Fatalf("participants %+v, want %+v", parts, want)
	}
	var one restParticipant
	e2eutil.Must(t, api.Do(t, "GET", "/v1/rooms/"+roomID+"/participants/"+aID, nil), http.StatusOK).Decode(t, &one)
	if one != want[0] {
		t.Fatalf("participant %+v, want %+v", one, want[0])
	}
	checkCongestionState(t, api, roomID, bID)

	var streams []restStreamJSON
	e2eutil.Must(t, api.Do(t, "GET", "/v1/rooms/"+roomID+"/streams", nil), http.StatusOK).Decode(t, &streams)
	i := slices.IndexFunc(streams, func(s restStreamJSON) bool { return s.ID == stream })
	if i < 0 {
		t.Fatalf("stream %s not listed: %+v", stream, streams)
	}
	checkRESTStream(t, streams[i], aID)
	var got restStreamJSON
	e2eutil.Must(t, api.Do(t, "GET", "/v1/rooms/"+roomID+"/streams/"+stream, nil), http.StatusOK).Decode(t, &got)
	if got.ID != stream {
		t.Fatalf("GET stream answered %+v", got)
	}
	checkRESTStream(t, got, aID)
}

// checkCongestionState checks what GET of a subscriber shows of its PeerConnections
// (Conclave extension): the send-side estimate from its transport-wide-cc feedback, and its
// subscription sending audio and video, not paused on this unconstrained link.
func checkCongestionState(t *testing.T, api e2eutil.RESTClient, roomID, subscriber string) {
	t.Helper()
	var got struct {
		Transports []protocol.TransportStats `json:"transports"`
	}
	pollREST(t, api, "/v1/rooms/"+roomID+"/participants/"+subscriber, 10*time.Second, func(r e2eutil.Response) bool {
		got.Transports = nil
		if r.Status != http.StatusOK {
			return false
		}
		if r.Decode(t, &got); len(got.Transports) != 1 {
			return false
		}
		tr := got.Transports[0]
		return tr.EstimateSource == "twcc" && tr.Estimate > 0 && len(tr.Subscriptions) == 1
	})
	sub := got.Transports[0].Subscriptions[0]
	if len(sub.Tracks) != 2 {
		t.Fatalf("subscription %+v: want an audio and a video track", sub)
	}
	for _, tr := range sub.Tracks {
		if tr.Paused || !tr.Active || tr.Packets == 0 || tr.Bytes == 0 || tr.Source == "" {
			t.Fatalf("subscription track %+v: want active, not paused, sending", tr)
		}
	}
}

// checkRESTStream checks a VP8+Opus forward stream in the v1.0 format.
func checkRESTStream(t *testing.T, s restStreamJSON, owner string) {
	t.Helper()
	m := s.Media
	switch {
	case s.Type != "forward" || s.Info.Owner != owner || s.Info.Type != "webrtc":
		t.Fatalf("stream %+v: want a webrtc forward stream of %s", s, owner)
	case m.Tracks != nil:
		t.Fatalf("v1.0 stream has media.tracks: %+v", s)
	case m.Video == nil || m.Video.Status != "active" || len(m.Video.Original) != 1 || m.Video.Original[0].Format.Codec != "vp8":
		t.Fatalf("media.video %+v: want active, original [vp8]", m.Video)
	case m.Audio == nil || m.Audio.Status != "active" || m.Audio.Format.Codec != "opus":
		t.Fatalf("media.audio %+v: want active opus", m.Audio)
	}
}

// TestE2ERealtimeDistributed publishes on one webrtc agent and subscribes on another: each
// participant's transports are scheduled by the ISP of its token, and the media crosses the
// agents' authenticated media link.
func TestE2ERealtimeDistributed(t *testing.T) {
	amqpURL, mongoURI := testutil.AMQPURL(t), testutil.MongoURI(t)
	cluster := e2eutil.NewCluster(amqpURL, mongoURI, "e2ert")
	portalHost := fmt.Sprintf("127.0.0.1:%d", e2eutil.FreePort(t))
	common := append(cluster.Env,
		"CONCLAVE_PORTAL_LISTEN="+portalHost,
		"CONCLAVE_PORTAL_PUBLIC_HOST="+portalHost,
		"CONCLAVE_DATA_DIR="+t.TempDir(),
		"CONCLAVE_CONFIG="+e2eutil.WriteConfig(t, e2eutil.LoopbackWebRTCConfig),
	)
	conf := e2eutil.Start(t, bins.Path(t, "conference-agent"), nil, common...)
	portal := e2eutil.Start(t, bins.Path(t, "portal"), nil, common...)
	agents := map[string]*e2eutil.Proc{}
	udpPorts := map[string]int{}
	for _, isp := range []string{"isp-a", "isp-b"} {
		udpPorts[isp] = e2eutil.FreeUDPPort(t)
		cfg := fmt.Sprintf("%s  isps: [%s]\n  udpPort: %d\n", e2eutil.LoopbackWebRTCConfig, isp, udpPorts[isp])
		agents[isp] = e2eutil.Start(t, bins.Path(t, "webrtc-agent"), nil, append(common, "CONCLAVE_CONFIG="+e2eutil.WriteConfig(t, cfg))...)
		agents[isp].Name = "webrtc-agent " + isp
	}
	mport := e2eutil.FreePort(t)
	mapi := e2eutil.Start(t, bins.Path(t, "management-api"), nil, append(common, fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport))...)
	base := fmt.Sprintf("http://127.0.0.1:%d", mport)
	stopTogether(t, mapi, portal, conf, agents["isp-a"], agents["isp-b"])
	e2eutil.WaitHTTP(t, base+"/readyz", 30*time.Second, mapi)
	e2eutil.WaitHTTP(t, "http://"+portalHost+"/healthz", 30*time.Second, portal)
	conf.WaitOutput(t, "webrtc agents known to the conference agent", 30*time.Second, func(out string) bool {
		return strings.Count(out, "purpose=webrtc") >= 2
	})
	api := cluster.Client(base)

	roomID := api.CreateRoom(t, "realtime-distributed")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	evB := participant.NewRecorder()
	optsB := loopbackClient
	optsB.Events = evB.Events()
	b, _ := participant.JoinReady(ctx, t, func() string { return api.MustToken(t, roomID, "bob", "presenter", "isp-b") }, optsB)
	a, _ := participant.JoinReady(ctx, t, func() string { return api.MustToken(t, roomID, "alice", "presenter", "isp-a") }, loopbackClient)
	pub, err := a.Publish(ctx, participant.ClipTracks(t, webrtc.MimeTypeVP8), rtc.PublishOptions{})
	if err != nil {
		t.Fatalf("alice publish: %v", err)
	}
	stream := evB.Wait(ctx, t, "stream add", participant.StreamEvent("add", pub.ID())).(protocol.StreamEvent).Data.(protocol.StreamInfo)
	sub, counts := subscribeCounted(ctx, t, b, stream)
	counts.wait(ctx, t, webrtc.MimeTypeVP8, 30)
	counts.wait(ctx, t, webrtc.MimeTypeOpus, 50)

	// Placement: each agent has its own fixed UDP port, so the answers' candidates tell
	// which agent serves a transport; and only agent B imported alice's tracks.
	checkServedBy(t, "alice's publication", pub.PeerConnection(), udpPorts["isp-a"])
	checkServedBy(t, "bob's subscription", sub.PeerConnection(), udpPorts["isp-b"])
	imported := func(line string) bool {
		return strings.Contains(line, `msg="track imported"`) && strings.Contains(line, " track="+pub.TransportID()+"-")
	}
	if n := countLines(agents["isp-b"].Output(), imported); n != 2 {
		t.Errorf("agent isp-b imported %d of alice's tracks, want 2", n)
	}
	if n := countLines(agents["isp-a"].Output(), imported); n != 0 {
		t.Errorf("agent isp-a imported %d of alice's own tracks", n)
	}
	for _, cl := range []*rtc.Client{a, b} {
		if err := cl.Leave(ctx); err != nil {
			t.Errorf("leave: %v", err)
		}
	}
}

// checkServedBy asserts that every candidate of the server's answer uses port.
func checkServedBy(t *testing.T, what string, pc *webrtc.PeerConnection, port int) {
	t.Helper()
	rd := pc.RemoteDescription()
	if rd == nil {
		t.Fatalf("%s: no remote description", what)
	}
	ports := candidatePorts(rd.SDP)
	if len(ports) == 0 || slices.IndexFunc(ports, func(p int) bool { return p != port }) >= 0 {
		t.Fatalf("%s: answer candidate ports %v, want all %d", what, ports, port)
	}
}

// countLines counts the lines of out that match.
func countLines(out string, match func(string) bool) int {
	n := 0
	for line := range strings.Lines(out) {
		if match(line) {
			n++
		}
	}
	return n
}

// stopTogether stops the processes in parallel when the test ends (before their own
// cleanups, which then find them stopped), so a deployment's graceful drains overlap.
func stopTogether(t *testing.T, procs ...*e2eutil.Proc) {
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, p := range procs {
			wg.Go(func() {
				if err := p.Stop(10 * time.Second); err != nil {
					t.Errorf("%s: %v", p.Name, err)
				}
			})
		}
		wg.Wait()
	})
}
