package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// The media test: Chromium publishes its fake camera in VP8, H.264 and VP8 simulcast (pages
// driven by web/test/media.js that subscribe to nothing), and for one window every
// server-side path that rebuilds frames from that RTP runs at once: mkv recordings of the
// three, an mp4 recording of the H.264 one, the room's mixed view (recorded), a transcoded
// subscription of a Go client and an RTMP streaming-out to nginx. Then the files are decoded:
// each must hold the frame rate Chromium reported sending (within 10 %) and a picture that
// keeps changing; each tile of the mixed view must change every second.

const (
	mediaRoom = "media"
	// mediaWindow is how long everything runs ($CONCLAVE_MEDIA_WINDOW seconds for manual runs).
	defaultMediaWindow = 60 * time.Second
	// fpsTolerance is the accepted difference between the decoded frame rate of a file and
	// the rate Chromium reported sending.
	fpsTolerance = 0.10
	// stillThreshold is the mean grey-level difference (0–255) below which two pictures of
	// a region taken a second apart count as the same, frozen picture. The fake camera's
	// moving pie changes a region by several levels per second; encoder noise on a truly
	// frozen picture stays well below 1.
	stillThreshold = 0.5
)

// publisher is one Chromium page publishing: its label, codec and stream id.
type publisher struct {
	label, codec string
	simulcast    bool
	stream       string
}

var mediaPublishers = []*publisher{
	{label: "vp8", codec: "vp8"},
	{label: "h264", codec: "h264"},
	{label: "simulcast", codec: "vp8", simulcast: true},
}

// outboundSample is one second of media.js's STATS output.
type outboundSample struct {
	At   int64 `json:"at"` // unix ms
	Pubs map[string][]struct {
		Rid        string  `json:"rid"`
		FramesSent int64   `json:"framesSent"`
		Width      int     `json:"width"`
		Height     int     `json:"height"`
		FPS        float64 `json:"fps"`
	} `json:"pubs"`
}

// mediaFile is a file the server wrote for one path, and what it should match.
type mediaFile struct {
	name    string // e.g. "vp8 mkv"
	label   string // publisher whose sending rate it should have
	path    string
	rate    e2eutil.VideoRate
	chrome  float64 // Chromium's sending rate of the matching layer
	still   int     // 1-second intervals without a picture change
	samples int
}

func mediaWindow(t *testing.T) time.Duration {
	return time.Duration(e2eutil.EnvInt(t, "CONCLAVE_MEDIA_WINDOW", int(defaultMediaWindow/time.Second))) * time.Second
}

func testMedia(t *testing.T, srv server, art string) {
	if !e2eutil.OnPath("ffmpeg", "ffprobe") {
		e2eutil.Unavailable(t, "ffmpeg/ffprobe are not installed")
	}
	nginx := e2eutil.StartRTMP(t)
	window := mediaWindow(t)
	ctx, cancel := context.WithTimeout(context.Background(), window+3*time.Minute)
	defer cancel()
	var specs []string
	for _, p := range mediaPublishers {
		s := p.label + ":" + p.codec
		if p.simulcast {
			s += ":simulcast"
		}
		specs = append(specs, s)
	}
	// Halfway through the window the simulcast page stops its largest layer, as a browser
	// short of CPU or bandwidth does: the recording, the mix and everything else fed with
	// that layer must go on with the next one (webrtc-agent README, "Simulcast exports").
	n := startNode(t, ctx, "media.js", "PORTAL_URL="+srv.portal, "ROOM="+mediaRoom,
		"PUBLISHERS="+strings.Join(specs, ","), fmt.Sprintf("DURATION_MS=%d", (window+40*time.Second).Milliseconds()),
		fmt.Sprintf("STOP_LAYER=simulcast:%d", (window/2).Milliseconds()), envArtifacts+"="+art)
	for _, p := range mediaPublishers {
		p.stream = strings.Fields(waitLinePrefix(ctx, t, n, "STREAM "+p.label+" "))[2]
	}
	api := e2eutil.RESTClient{Base: srv.api, ServiceID: superID, Key: superKey}
	room := roomByName(t, api, mediaRoom)
	waitStreams(ctx, t, api, room, mediaPublishers)

	start := time.Now()
	paths := startMediaPaths(ctx, t, api, room, nginx)
	xcode := startTranscodedCapture(ctx, t, api, room, mediaPublishers[0].stream, window)
	sleepCtx(ctx, t, window)
	files := paths.stop(t, api, room)
	end := time.Now()
	files = append(files, xcode.wait(t))

	samples := outboundSamples(t, n.output.String())
	if l := waitLinePrefix(ctx, t, n, "LAYER_STOPPED "); l != "" {
		f := strings.Fields(l)
		at, _ := strconv.ParseInt(f[3], 10, 64)
		t.Logf("%s stopped its layer %s %.1f s into the window", f[1], f[2], time.UnixMilli(at).Sub(start).Seconds())
	}
	if len(samples) > 0 {
		last, _ := json.Marshal(samples[len(samples)-1].Pubs)
		t.Logf("Chromium's last outbound video statistics: %s", last)
	}
	analyseMedia(t, files, samples, start, end)
	checkMixedTiles(t, paths.mixedFile, paths.layout, window)
}

// waitLinePrefix waits for a stdout line of the script starting with prefix and returns it.
func waitLinePrefix(ctx context.Context, t *testing.T, n *nodeScript, prefix string) string {
	t.Helper()
	for {
		for _, l := range strings.Split(n.output.String(), "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		select {
		case _, ok := <-n.lines:
			if !ok {
				t.Fatalf("media.js ended before %q:\n%s", prefix, n.output.String())
			}
		case <-ctx.Done():
			t.Fatalf("no %q from media.js:\n%s", prefix, n.output.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func sleepCtx(ctx context.Context, t *testing.T, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
}

// roomByName finds the room the dev-token endpoint created.
func roomByName(t *testing.T, api e2eutil.RESTClient, name string) string {
	t.Helper()
	var rooms []struct{ ID, Name string }
	e2eutil.Must(t, api.Do(t, http.MethodGet, "/v1/rooms", nil), http.StatusOK).Decode(t, &rooms)
	for _, r := range rooms {
		if r.Name == name {
			return r.ID
		}
	}
	t.Fatalf("no room %q among %v", name, rooms)
	return ""
}

// waitStreams waits until the room lists every publisher's stream with its video.
func waitStreams(ctx context.Context, t *testing.T, api e2eutil.RESTClient, room string, pubs []*publisher) {
	t.Helper()
	e2eutil.WaitUntil(t, "the browsers' streams", 20*time.Second, func() bool {
		var streams []struct { // the REST (v1) stream format
			ID    string
			Media struct{ Video json.RawMessage }
		}
		api.Do(t, http.MethodGet, "/v1/rooms/"+room+"/streams", nil).Decode(t, &streams)
		found := 0
		for _, p := range pubs {
			for _, s := range streams {
				if s.ID == p.stream && len(s.Media.Video) > 0 {
					found++
				}
			}
		}
		return found == len(pubs)
	})
}

// mediaPaths are the server-side consumers started on the browsers' streams.
type mediaPaths struct {
	recordings []struct{ id, name, label, file string }
	outName    string
	outID      string
	rtmp       *e2eutil.RTMPServer
	mixedFile  string
	layout     []layoutEntry
}

// startMediaPaths starts the recordings, the mix and the streaming-out.
func startMediaPaths(ctx context.Context, t *testing.T, api e2eutil.RESTClient, room string, nginx *e2eutil.RTMPServer) *mediaPaths {
	t.Helper()
	mp := &mediaPaths{rtmp: nginx}
	record := func(name, label, from, container, audioCodec string) string {
		audio := map[string]any{"from": from}
		if audioCodec != "" {
			audio["format"] = map[string]string{"codec": audioCodec}
		}
		body := map[string]any{"container": container, "media": map[string]any{"audio": audio, "video": map[string]string{"from": from}}}
		var rec struct {
			ID      string
			Storage struct{ File string }
		}
		e2eutil.Must(t, api.Do(t, http.MethodPost, "/v1/rooms/"+room+"/recordings", body), http.StatusOK).Decode(t, &rec)
		mp.recordings = append(mp.recordings, struct{ id, name, label, file string }{rec.ID, name, label, rec.Storage.File})
		return rec.ID
	}
	for _, p := range mediaPublishers {
		record(p.label+" mkv", p.label, p.stream, "mkv", "")
		if p.codec == "h264" {
			record(p.label+" mp4", p.label, p.stream, "mp4", "aac")
		}
	}
	// Every stream into the view; the mixed view recorded.
	for _, p := range mediaPublishers {
		e2eutil.Must(t, api.Do(t, http.MethodPatch, "/v1/rooms/"+room+"/streams/"+p.stream,
			[]map[string]string{{"op": "add", "path": "/info/inViews", "value": "common"}}), http.StatusOK)
	}
	mixed := room + "-common"
	mp.layout = waitMixedLayout(ctx, t, api, room, mixed, len(mediaPublishers))
	record("mixed view mkv", "", mixed, "mkv", "")
	// The VP8 publication streamed out over RTMP (ffmpeg transcodes it to H.264).
	mp.outName = "vp8-out"
	out := map[string]any{"url": nginx.URL(mp.outName), "media": map[string]any{
		"audio": map[string]string{"from": mediaPublishers[0].stream}, "video": map[string]string{"from": mediaPublishers[0].stream}}}
	var so struct{ ID string }
	// POST streaming-outs answers once ffmpeg pushes media (it probes its input for up to
	// 2 s and needs a keyframe): on a 2-core machine busy with three Chromium encoders, the
	// mixer and the recorders that took more than the client's default 10 s once. The API
	// allows 90 s (management API addTimeout).
	slow := api
	slow.Timeout = 90 * time.Second
	began := time.Now()
	e2eutil.Must(t, slow.Do(t, http.MethodPost, "/v1/rooms/"+room+"/streaming-outs", out), http.StatusOK).Decode(t, &so)
	t.Logf("the streaming-out answered in %.1f s", time.Since(began).Seconds())
	mp.outID = so.ID
	for _, r := range mp.recordings {
		if strings.HasPrefix(r.name, "mixed") {
			mp.mixedFile = r.file
		}
	}
	return mp
}

// waitMixedLayout waits until the mixed view's layout holds n streams.
func waitMixedLayout(ctx context.Context, t *testing.T, api e2eutil.RESTClient, room, mixed string, n int) []layoutEntry {
	t.Helper()
	var layout []layoutEntry
	e2eutil.WaitUntil(t, "the mixed view's layout", 20*time.Second, func() bool {
		var s struct {
			Info struct {
				Layout []layoutEntry `json:"layout"`
			} `json:"info"`
		}
		api.Do(t, http.MethodGet, "/v1/rooms/"+room+"/streams/"+mixed, nil).Decode(t, &s)
		info := s.Info
		full := 0
		for _, e := range info.Layout {
			if e.Stream != "" {
				full++
			}
		}
		layout = info.Layout
		return full == n
	})
	return layout
}

// layoutEntry is one region of a mixed stream's layout.
type layoutEntry = e2eutil.LayoutEntry

// rectOf is the region of e in fractions of the picture.
func rectOf(t *testing.T, e layoutEntry) e2eutil.Rect {
	t.Helper()
	r, err := e.Rect()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// stop ends the recordings and the streaming-out and returns their files.
func (mp *mediaPaths) stop(t *testing.T, api e2eutil.RESTClient, room string) []*mediaFile {
	t.Helper()
	var files []*mediaFile
	e2eutil.Must(t, api.Do(t, http.MethodDelete, "/v1/rooms/"+room+"/streaming-outs/"+mp.outID, nil), http.StatusOK)
	for _, r := range mp.recordings {
		e2eutil.Must(t, api.Do(t, http.MethodDelete, "/v1/rooms/"+room+"/recordings/"+r.id, nil), http.StatusOK)
		if r.label != "" {
			files = append(files, &mediaFile{name: r.name, label: r.label, path: r.file})
		}
	}
	files = append(files, &mediaFile{name: "vp8 rtmp", label: "vp8", path: mp.rtmp.Recorded(mp.outName)})
	// The recordings are finalised when DELETE answers; nginx closes its file when ffmpeg
	// disconnects.
	for _, f := range files {
		e2eutil.WaitUntil(t, f.name+" file", 15*time.Second, func() bool {
			st, err := os.Stat(f.path)
			return err == nil && st.Size() > 0
		})
	}
	return files
}

// transcodedCapture is a Go client receiving a transcoded (smaller) version of a stream.
type transcodedCapture struct {
	file string
	done chan struct{}
	err  error
	size protocol.Resolution
}

// startTranscodedCapture subscribes a Go client to stream at a smaller resolution from its
// optional list and writes what arrives to an IVF file for d.
func startTranscodedCapture(ctx context.Context, t *testing.T, api e2eutil.RESTClient, room, stream string, d time.Duration) *transcodedCapture {
	t.Helper()
	x := &transcodedCapture{file: filepath.Join(t.TempDir(), "transcoded.ivf"), done: make(chan struct{})}
	c, info := participant.JoinReady(ctx, t, func() string { return api.MustToken(t, room, "gopher", "presenter", "") }, goClientOptions)
	var src protocol.StreamInfo
	for _, s := range info.Room.Streams {
		if s.ID == stream {
			src = s
		}
	}
	x.size = smallerResolution(t, src)
	var once sync.Once
	stop := time.Now().Add(d)
	_, err := c.Subscribe(ctx, src, rtc.SubscribeOptions{Video: true, VideoParameters: &protocol.VideoParameters{Resolution: &x.size},
		OnTrack: func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			if tr.Kind() != webrtc.RTPCodecTypeVideo {
				return
			}
			defer once.Do(func() { close(x.done) })
			x.err = writeIVF(tr, x.file, stop)
		}})
	if err != nil {
		t.Fatalf("transcoded subscription at %dx%d: %v", x.size.Width, x.size.Height, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return x
}

// smallerResolution picks a resolution below the source's from its optional list.
func smallerResolution(t *testing.T, s protocol.StreamInfo) protocol.Resolution {
	t.Helper()
	for _, tr := range s.Media.Tracks {
		if tr.Type != "video" || tr.Optional == nil || tr.Optional.Parameters == nil {
			continue
		}
		for _, r := range tr.Optional.Parameters.Resolution {
			if r.Width == 320 && r.Height == 240 {
				return r
			}
		}
		if rs := tr.Optional.Parameters.Resolution; len(rs) > 0 {
			return rs[len(rs)-1]
		}
	}
	t.Fatalf("stream %s offers no other resolution: %+v", s.ID, s.Media)
	return protocol.Resolution{}
}

// writeIVF writes a VP8 track's frames to an IVF file until stop.
func writeIVF(tr *webrtc.TrackRemote, path string, stop time.Time) error {
	w, err := ivfwriter.New(path, ivfwriter.WithCodec(webrtc.MimeTypeVP8))
	if err != nil {
		return err
	}
	defer w.Close()
	for time.Now().Before(stop) {
		_ = tr.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		p, _, err := tr.ReadRTP()
		// pion's deadline error is a net.Error timeout, not os.ErrDeadlineExceeded: a pause
		// of 200 ms in the stream (a busy machine) is not the end of it.
		var ne net.Error
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err != nil {
			return err
		}
		if len(p.Payload) == 0 {
			continue // padding: nothing for the writer
		}
		if err := w.WriteRTP(p); err != nil {
			return err
		}
	}
	return nil
}

// wait returns the capture's file once the window is over.
func (x *transcodedCapture) wait(t *testing.T) *mediaFile {
	t.Helper()
	select {
	case <-x.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the transcoded subscription never delivered video")
	}
	if x.err != nil {
		t.Fatalf("transcoded subscription: %v", x.err)
	}
	return &mediaFile{name: fmt.Sprintf("vp8 transcoded %dx%d", x.size.Width, x.size.Height), path: x.file}
}

// outboundSamples parses media.js's STATS lines.
func outboundSamples(t *testing.T, out string) []outboundSample {
	t.Helper()
	var samples []outboundSample
	for _, l := range strings.Split(out, "\n") {
		if j, ok := strings.CutPrefix(l, "STATS "); ok {
			var s outboundSample
			if err := json.Unmarshal([]byte(j), &s); err != nil {
				t.Fatalf("bad STATS line %q: %v", l, err)
			}
			samples = append(samples, s)
		}
	}
	return samples
}

// followedRate is the frame rate Chromium reported sending between start and end on the
// encoding a server-side consumer follows: in each interval between two samples, the widest
// encoding that sent frames (the only one without simulcast; the largest flowing layer with
// it, so a layer that stopped hands over to the next).
func followedRate(samples []outboundSample, label string, start, end time.Time) float64 {
	var frames int64
	var from, to int64
	for i := 1; i < len(samples); i++ {
		a, b := &samples[i-1], &samples[i]
		if a.At < start.UnixMilli() || b.At > end.UnixMilli() {
			continue
		}
		if from == 0 {
			from = a.At
		}
		to = b.At
		sent := map[string]int64{}
		for _, e := range a.Pubs[label] {
			sent[e.Rid] = e.FramesSent
		}
		bestW, delta := -1, int64(0)
		for _, e := range b.Pubs[label] {
			if d := e.FramesSent - sent[e.Rid]; d > 0 && e.Width > bestW {
				bestW, delta = e.Width, d
			}
		}
		frames += delta
	}
	if to <= from {
		return 0
	}
	return float64(frames) / (float64(to-from) / 1000)
}

// analyseMedia decodes every file and compares it with what Chromium sent.
func analyseMedia(t *testing.T, files []*mediaFile, samples []outboundSample, start, end time.Time) {
	t.Helper()
	for _, f := range files {
		f.rate = e2eutil.DecodeRate(t, f.path)
		if f.label != "" {
			f.chrome = followedRate(samples, f.label, start, end)
		}
		pics := e2eutil.SamplePictures(t, f.path, 2*time.Second, 64, 48)
		f.samples, f.still = len(pics.Frames), pics.Still(e2eutil.Whole, stillThreshold)
	}
	t.Log("path                      | decoded frames | span   | decoded fps | Chromium sent fps | size     | 2-s samples | unchanged")
	for _, f := range files {
		t.Logf("%-25s | %14d | %5.1fs | %11.1f | %17.1f | %4dx%-4d| %11d | %d",
			f.name, f.rate.Frames, f.rate.Span.Seconds(), f.rate.FPS(), f.chrome, f.rate.Width, f.rate.Height, f.samples, f.still)
	}
	for _, f := range files {
		switch {
		case f.samples < 5:
			t.Errorf("%s: only %d pictures decoded at 2-s intervals", f.name, f.samples)
		case f.still > 0:
			t.Errorf("%s: the picture did not change in %d of %d 2-s intervals", f.name, f.still, f.samples-1)
		}
		if f.label != "" && math.Abs(f.rate.FPS()-f.chrome) > fpsTolerance*f.chrome {
			t.Errorf("%s: %.1f fps decoded, Chromium sent %.1f fps", f.name, f.rate.FPS(), f.chrome)
		}
	}
}

// checkMixedTiles samples the mixed view's recording every second and checks that every
// tile's picture changed in every interval.
func checkMixedTiles(t *testing.T, path string, layout []layoutEntry, window time.Duration) {
	t.Helper()
	pics := e2eutil.SamplePictures(t, path, time.Second, 160, 120)
	if len(pics.Frames) < int(window/time.Second)-5 {
		t.Errorf("mixed view: %d pictures at 1-s intervals in a %v window", len(pics.Frames), window)
	}
	for _, e := range layout {
		if e.Stream == "" {
			continue
		}
		// The view is recorded from the moment its layout is complete: a tile shows its
		// first picture when the first keyframe of its input has been decoded.
		startup, still := pics.StillAfterStart(rectOf(t, e), stillThreshold, 3)
		t.Logf("mixed view tile %s (%s): first change after %d s, then %d of %d 1-s intervals without change",
			e.Region.ID, publisherOf(e.Stream), startup, still, len(pics.Frames)-1-startup)
		if still > 0 {
			var diffs []string
			for i := 1; i < len(pics.Frames); i++ {
				diffs = append(diffs, fmt.Sprintf("%.1f", pics.Difference(i-1, i, rectOf(t, e))))
			}
			t.Logf("tile %s differences between 1-s samples: %s", e.Region.ID, strings.Join(diffs, " "))
		}
		if still > 0 {
			t.Errorf("mixed view: the tile of %s froze in %d of %d 1-s intervals", publisherOf(e.Stream), still, len(pics.Frames)-1)
		}
	}
}

func publisherOf(stream string) string {
	for _, p := range mediaPublishers {
		if p.stream == stream {
			return p.label
		}
	}
	return stream
}
