package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFFmpegRing(t *testing.T) {
	r := NewRing(3)
	if r.Last() != "" || len(r.Lines()) != 0 {
		t.Fatal("empty ring not empty")
	}
	for i := range 5 {
		r.Add(fmt.Sprint(i))
	}
	if got := strings.Join(r.Lines(), ","); got != "2,3,4" || r.Last() != "4" {
		t.Fatalf("lines = %s last = %s", got, r.Last())
	}
	r.Add(strings.Repeat("x", 2000))
	if len(r.Last()) != maxLineLen {
		t.Fatalf("long line kept %d bytes", len(r.Last()))
	}
}

func TestFFmpegRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rtmp://user:pass@host/live/x", "rtmp://xxx@host/live/xxx"},
		{"rtmp://host/live/x?token=abc", "rtmp://host/live/xxx?xxx"},
		{"rtmp://host/live/STREAMKEY", "rtmp://host/live/xxx"},
		{"rtmp://host:1935/live/", "rtmp://host:1935/xxx/"}, // hiding too much is the safe side
		{"rtmp://h/app/k3y/", "rtmp://h/app/xxx/"},
		{"0000://u:secret@", "0000://xxx@"},
		{"rtmp://host", "rtmp://host"},
		{"https://ingest.example.org/hls/index.m3u8", "https://ingest.example.org/hls/xxx"},
		{"[tcp] rtsp://u:p@10.0.0.1:554/s: Connection refused", "[tcp] rtsp://xxx@10.0.0.1:554/xxx: Connection refused"},
		{"Output #0, flv, to 'rtmp://a:b@h/app/k3y':", "Output #0, flv, to 'rtmp://xxx@h/app/xxx':"},
		{"no url here", "no url here"},
		{"-i rtsp://cam/s -f flv rtmp://h/app/key?token=s3cret -y", "-i rtsp://cam/xxx -f flv rtmp://h/app/xxx?xxx -y"},
		{"to 'srt://h:9000?passphrase=abc&mode=caller'", "to 'srt://h:9000?xxx'"},
		{"rtmp://u:p@ss@host/app x", "rtmp://xxx@host/xxx x"},
		{"rtmp://h/app/k3ysecret/more", "rtmp://h/app/xxx"}, // a key with more segments
		{"rtmp://h/app/k3y#frag", "rtmp://h/app/xxx#xxx"},
		{"to 'rtmp://h/a:b/k3y/x': I/O error", "to 'rtmp://h/a:b/xxx': I/O error"},
	}
	for _, tc := range tests {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

const probeSample = `{"streams":[
 {"codec_type":"video","codec_name":"h264","profile":"Constrained Baseline","width":320,"height":240,"avg_frame_rate":"30/1","r_frame_rate":"30/1"},
 {"codec_type":"audio","codec_name":"aac","sample_rate":"48000","channels":1}]}`

func TestFFmpegParseProbe(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		video *VideoInfo
		audio *AudioInfo
		err   error
	}{
		{"av", probeSample, &VideoInfo{Codec: "h264", Profile: "Constrained Baseline", Width: 320, Height: 240, FrameRate: 30},
			&AudioInfo{Codec: "aac", SampleRate: 48000, Channels: 1}, nil},
		{"rate fallback", `{"streams":[{"codec_type":"video","codec_name":"vp8","avg_frame_rate":"0/0","r_frame_rate":"30000/1001"}]}`,
			&VideoInfo{Codec: "vp8", FrameRate: 30}, nil, nil},
		{"empty", `{"streams":[]}`, nil, nil, ErrNoStreams},
		{"data only", `{"streams":[{"codec_type":"data","codec_name":"bin"}]}`, nil, nil, ErrNoStreams},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseProbe([]byte(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if fmt.Sprint(r.Video) != fmt.Sprint(tc.video) || fmt.Sprint(r.Audio) != fmt.Sprint(tc.audio) {
				t.Fatalf("got %+v %+v", r.Video, r.Audio)
			}
		})
	}
	if _, err := ParseProbe([]byte("{")); err == nil {
		t.Fatal("bad json accepted")
	}
}

func FuzzFFmpegParseProbe(f *testing.F) {
	f.Add([]byte(probeSample))
	f.Add([]byte(`{"streams":[{"codec_type":"video","codec_name":"x","avg_frame_rate":"1/0","width":-5}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseProbe(b)
		if err != nil {
			return
		}
		if r.Video == nil && r.Audio == nil {
			t.Fatal("success without streams")
		}
		if v := r.Video; v != nil && (v.Width < 0 || v.Height < 0 || v.FrameRate < 0 || v.FrameRate > 240) {
			t.Fatalf("bad video %+v", v)
		}
	})
}

func FuzzFFmpegRedact(f *testing.F) {
	f.Add("rtmp://user:secret@host/x")
	f.Add("x rtsp://a:secret@b/c y")
	f.Add("to 'rtmp://h/app/k3ysecret' failed")
	f.Add("rtmp://h/app/k3ysecret/0")
	f.Add("x rtmp://h/app/k3ysecret/0: y")
	f.Fuzz(func(t *testing.T, s string) {
		out := Redact(s)
		if strings.Contains(s, "://u:secret@") && strings.Contains(out, "secret@") {
			t.Fatalf("credentials survived: %q", out)
		}
		if strings.Contains(s, "rtmp://h/app/k3ysecret") && strings.Contains(out, "k3ysecret") {
			t.Fatalf("stream key survived: %q", out)
		}
	})
}

func TestFFmpegProcessStop(t *testing.T) {
	// A process ignoring SIGINT is killed after the timeout; its stderr is kept.
	p, err := Start([]string{"-c", "trap '' INT; echo started >&2; sleep 30"}, Options{Binary: "sh"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.LastLine() != "started" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	begin := time.Now()
	p.Stop(300 * time.Millisecond)
	if d := time.Since(begin); d > 3*time.Second || !p.Stopped() {
		t.Fatalf("Stop took %s", d)
	}
	if p.ExitReason() != "started" {
		t.Fatalf("exit reason %q", p.ExitReason())
	}
}

func TestFFmpegRunTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := Run(ctx, "sleep", "10"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v", err)
	}
	if _, err := Run(context.Background(), "sh", "-c", "echo 'rtmp://a:b@h: boom' >&2; exit 1"); err == nil ||
		!strings.Contains(err.Error(), "rtmp://xxx@h: boom") {
		t.Fatalf("Run error = %v", err)
	}
}
