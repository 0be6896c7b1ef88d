package e2eutil

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestProbeParse checks the decoding of ffprobe's JSON, including the values ffprobe gives
// for files it cannot fully read.
func TestProbeParse(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    MediaInfo
		wantErr bool
	}{
		{"complete", `{"streams":[{"codec_type":"video","codec_name":"vp8","nb_read_packets":"120"},{"codec_type":"audio","codec_name":"opus","nb_read_packets":"250"}],"format":{"duration":"2.500000"}}`,
			MediaInfo{Streams: []MediaStream{{"video", "vp8", 120}, {"audio", "opus", 250}}, Duration: 2500 * time.Millisecond}, false},
		{"no duration", `{"streams":[{"codec_type":"audio","codec_name":"aac"}],"format":{"duration":"N/A"}}`,
			MediaInfo{Streams: []MediaStream{{"audio", "aac", 0}}}, false},
		{"empty", `{}`, MediaInfo{}, false},
		{"bad packets", `{"streams":[{"codec_name":"vp8","nb_read_packets":"-1"}]}`, MediaInfo{}, true},
		{"bad duration", `{"format":{"duration":"abc"}}`, MediaInfo{}, true},
		{"not json", `Invalid data found`, MediaInfo{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseProbe([]byte(c.in))
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			if len(got.Streams) != len(c.want.Streams) || got.Duration != c.want.Duration {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got.Streams {
				if got.Streams[i] != c.want.Streams[i] {
					t.Fatalf("stream %d: %+v, want %+v", i, got.Streams[i], c.want.Streams[i])
				}
			}
		})
	}
	info := MediaInfo{Streams: []MediaStream{{"video", "h264", 1}, {"audio", "aac", 2}}}
	if c := info.Codecs(); c["video"] != "h264" || c["audio"] != "aac" {
		t.Fatalf("codecs %v", c)
	}
	if s, ok := info.Stream("aac"); !ok || s.Packets != 2 {
		t.Fatalf("stream aac: %+v %v", s, ok)
	}
	if _, ok := info.Stream("vp8"); ok {
		t.Fatal("found a stream the file does not have")
	}
}

// FuzzParseProbe feeds arbitrary output to the ffprobe parser: it must not panic, and what it
// accepts has no negative figures.
func FuzzParseProbe(f *testing.F) {
	f.Add([]byte(`{"streams":[{"codec_type":"video","codec_name":"vp8","nb_read_packets":"3"}],"format":{"duration":"1.5"}}`))
	f.Add([]byte(`{"format":{"duration":"N/A"}}`))
	f.Add([]byte(`{"streams":[{"nb_read_packets":"x"}]}`))
	f.Fuzz(func(t *testing.T, out []byte) {
		info, err := ParseProbe(out)
		if err != nil {
			return
		}
		if info.Duration < 0 {
			t.Fatalf("negative duration %s", info.Duration)
		}
		for _, s := range info.Streams {
			if s.Packets < 0 {
				t.Fatalf("negative packets %+v", s)
			}
		}
	})
}

// TestProbeFile probes a short clip ffmpeg writes.
func TestProbeFile(t *testing.T) {
	Need(t, "ffmpeg and ffprobe", OnPath("ffmpeg", "ffprobe"))
	path := filepath.Join(t.TempDir(), "clip.mkv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
		"-c:v", "mpeg4", "-c:a", "pcm_s16le", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	info := Probe(t, path)
	v, okV := info.Stream("mpeg4")
	a, okA := info.Stream("pcm_s16le")
	if !okV || !okA || v.Type != "video" || a.Type != "audio" || v.Packets != 10 || a.Packets == 0 {
		t.Fatalf("probe: %+v", info)
	}
	if info.Duration < 900*time.Millisecond || info.Duration > 1100*time.Millisecond {
		t.Fatalf("duration %s of a 1 s clip", info.Duration)
	}
	t.Logf("probe of the 1 s clip: %+v", info)
}
