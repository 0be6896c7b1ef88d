package web

// The Go subscriber of the lab: the test binary started again in a client namespace.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// TestMain lets the test binary play a lab subscriber when started with envLabRole set.
func TestMain(m *testing.M) {
	if os.Getenv(envLabRole) == "subscriber" {
		os.Exit(runLabSubscriber())
	}
	os.Exit(m.Run())
}

// subStatus is a Go subscriber's STATUS line, printed every second.
type subStatus struct {
	Size   string  `json:"size"`   // of the last keyframe
	Frames int     `json:"frames"` // complete frames in the last second
	Kbps   float64 `json:"kbps"`
}

// runLabSubscriber joins the lab room, subscribes to the video of $LAB_STREAM without asking
// for a layer and records it with a media.Timeline until $LAB_STOP_FILE exists; then it
// prints "RECORDING <json>" and a RESULT line as the node scripts do.
func runLabSubscriber() int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	rec, err := labSubscribe(ctx, os.Getenv("LAB_PORTAL"), os.Getenv("LAB_ROOM"), os.Getenv("LAB_USER"),
		os.Getenv("LAB_STREAM"), os.Getenv("LAB_STOP_FILE"))
	res := nodeResult{Test: "lab-subscriber " + os.Getenv("LAB_USER"), OK: err == nil, MS: int(time.Since(start).Milliseconds())}
	if err != nil {
		res.Error = err.Error()
	} else {
		b, _ := json.Marshal(rec)
		fmt.Printf("RECORDING %s\n", b)
	}
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
	if err != nil {
		return 1
	}
	return 0
}

// labSubscribe is the subscriber process's work: join, subscribe, record until stopped.
func labSubscribe(ctx context.Context, portal, room, user, streamID, stop string) (media.Recording, error) {
	c, err := labJoin(ctx, portal, room, user)
	if err != nil {
		return media.Recording{}, err
	}
	defer c.Close()
	stream, err := labStream(ctx, c, streamID)
	if err != nil {
		return media.Recording{}, err
	}
	var pli pliSender
	tl, err := media.NewTimeline(webrtc.MimeTypeVP8, media.WithKeyframeRequest(pli.request))
	if err != nil {
		return media.Recording{}, err
	}
	wrong := make(chan string, 1)
	sub, err := c.Subscribe(ctx, stream, rtc.SubscribeOptions{Video: true,
		OnTrack: func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			if !strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeVP8) {
				wrong <- tr.Codec().MimeType
				return
			}
			pli.ssrc.Store(uint32(tr.SSRC()))
			feedTimeline(tr, tl)
		}})
	if err != nil {
		return media.Recording{}, fmt.Errorf("subscribe: %w", err)
	}
	pli.pc.Store(sub.PeerConnection())
	err = reportUntil(ctx, tl, sub, stop, wrong)
	return tl.Recording(), err
}

// labJoin joins with a dev token, retrying while the portal is still starting.
func labJoin(ctx context.Context, portal, room, user string) (*rtc.Client, error) {
	for {
		token, err := labToken(ctx, portal, room, user)
		if err != nil {
			return nil, err
		}
		opts, err := labClientOptions()
		if err != nil {
			return nil, err
		}
		c, _, err := rtc.Join(ctx, token, opts)
		var se *rtc.ServerError
		switch {
		case err == nil:
			return c, nil
		case !errors.As(err, &se) || se.Message != "Portal is not ready":
			return nil, fmt.Errorf("join: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("join: %w (%w)", err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// labToken asks the portal's dev-token endpoint for a token.
func labToken(ctx context.Context, portal, room, user string) (string, error) {
	body, _ := json.Marshal(map[string]string{"room": room, "user": user})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, portal+"/dev/join", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("dev token: %w", err)
	}
	defer resp.Body.Close()
	var out struct{ Token, Error string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("dev token: %d %v %s", resp.StatusCode, err, out.Error)
	}
	return out.Token, nil
}

// labClientOptions: ICE over UDP4 on the namespace's link (lo has no candidates unless asked
// for), no mDNS, pion's own logging off. With $LAB_NACK=0 the subscriber never NACKs a lost
// packet (pion's default interceptors but the NACK generator): a receiver that can only ask
// for a keyframe, the loss lab's baseline.
func labClientOptions() (rtc.Options, error) {
	configure := func(se *webrtc.SettingEngine) {
		f := logging.NewDefaultLoggerFactory()
		f.DefaultLogLevel = logging.LogLevelDisabled
		se.LoggerFactory = f
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	if os.Getenv("LAB_NACK") != "0" {
		return rtc.Options{ConfigureSettings: configure}, nil
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return rtc.Options{}, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return rtc.Options{}, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return rtc.Options{}, err
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return rtc.Options{}, err
	}
	se := webrtc.SettingEngine{}
	configure(&se)
	return rtc.Options{API: webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))}, nil
}

// labStream waits until the room lists the stream id.
func labStream(ctx context.Context, c *rtc.Client, id string) (protocol.StreamInfo, error) {
	for {
		for _, s := range c.Streams() {
			if s.ID == id {
				return s, nil
			}
		}
		select {
		case <-ctx.Done():
			return protocol.StreamInfo{}, fmt.Errorf("stream %s: %w", id, errNoStream)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pliSender asks the server for a keyframe of the subscribed video, as a decoding receiver
// does after a loss it cannot repair (RFC 4585 §6.3.1 Picture Loss Indication).
type pliSender struct {
	pc   atomic.Pointer[webrtc.PeerConnection]
	ssrc atomic.Uint32
}

func (p *pliSender) request() {
	if pc, ssrc := p.pc.Load(), p.ssrc.Load(); pc != nil && ssrc != 0 {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

// feedTimeline pushes every packet of the track into tl until the track ends.
func feedTimeline(tr *webrtc.TrackRemote, tl *media.Timeline) {
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		tl.Push(p, time.Now())
	}
}

// reportUntil prints a STATUS line every second until the stop file exists.
func reportUntil(ctx context.Context, tl *media.Timeline, sub *rtc.Subscription, stop string, wrong <-chan string) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Done():
			return fmt.Errorf("the subscription ended: %v", sub.Err())
		case mime := <-wrong:
			return fmt.Errorf("the video arrives as %s, not VP8", mime)
		case now := <-tick.C:
			if _, err := os.Stat(stop); err == nil {
				return nil
			}
			b, _ := json.Marshal(statusOf(tl, now))
			fmt.Printf("STATUS %s\n", b)
		}
	}
}

// statusOf summarises the last second.
func statusOf(tl *media.Timeline, now time.Time) subStatus {
	s := tl.Summary(now.Add(-time.Second), now)
	st := subStatus{Frames: s.Frames, Kbps: s.Kbps}
	if len(s.Sizes) > 0 {
		st.Size = s.Sizes[len(s.Sizes)-1].String()
	}
	return st
}
