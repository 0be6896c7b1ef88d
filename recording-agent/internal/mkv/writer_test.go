package mkv

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/recording-agent/internal/testclip"
)

// memFile is an in-memory File.
type memFile struct {
	buf   []byte
	syncs int
}

func (m *memFile) Write(p []byte) (int, error) { m.buf = append(m.buf, p...); return len(p), nil }
func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	copy(m.buf[off:], p)
	return len(p), nil
}
func (m *memFile) Sync() error { m.syncs++; return nil }

func TestEBMLVint(t *testing.T) {
	tests := []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0x80}}, {126, []byte{0xFE}}, {127, []byte{0x40, 0x7F}},
		{16382, []byte{0x7F, 0xFE}}, {16383, []byte{0x20, 0x3F, 0xFF}},
	}
	for _, tc := range tests {
		t.Run(strconv.FormatUint(tc.v, 10), func(t *testing.T) {
			got := appendSize(nil, tc.v)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("appendSize(%d) = %x, want %x", tc.v, got, tc.want)
			}
			v, n, err := readVint(got, false)
			if err != nil || v != tc.v || n != len(got) {
				t.Fatalf("readVint = %d,%d,%v", v, n, err)
			}
		})
	}
	for _, n := range []int{2, 3, 9, 128, 129, 200} {
		if got := len(appendVoid(nil, n)); got != n {
			t.Fatalf("appendVoid(%d) is %d bytes", n, got)
		}
	}
}

func vp8opusTracks() []Track {
	return []Track{
		{Number: 1, Type: TrackVideo, CodecID: CodecVP8, Width: 320, Height: 240},
		{Number: 2, Type: TrackAudio, CodecID: CodecOpus, SampleRate: 48000, Channels: 2,
			CodecPrivate: []byte("OpusHead\x01\x02\x00\x00\x80\xbb\x00\x00\x00\x00\x00"), SeekPreRoll: 80 * time.Millisecond},
	}
}

// writeClips interleaves the VP8 and Opus clips into w and returns the last timestamp.
func writeClips(t *testing.T, w *Writer, each func(ts int64)) int64 {
	t.Helper()
	video, err := testclip.VP8()
	if err != nil {
		t.Fatal(err)
	}
	audio, err := testclip.Opus()
	if err != nil {
		t.Fatal(err)
	}
	var vi, ai int
	var last int64
	for vi < len(video) || ai < len(audio) {
		vts, ats := int64(vi)*1000/30, int64(ai)*20
		var err error
		if vi < len(video) && (ai >= len(audio) || vts <= ats) {
			err = w.WriteFrame(1, vts, video[vi].Key, video[vi].Data)
			last, vi = vts, vi+1
		} else {
			err = w.WriteFrame(2, ats, true, audio[ai].Data)
			last, ai = ats, ai+1
		}
		if err != nil {
			t.Fatal(err)
		}
		if each != nil {
			each(last)
		}
	}
	return last
}

func TestMkvWriterStructure(t *testing.T) {
	f := &memFile{}
	w := NewWriter(f, Options{App: "test"})
	if err := w.WriteFrame(1, 0, true, []byte{1}); err == nil {
		t.Fatal("WriteFrame before WriteHeader succeeded")
	}
	if err := w.WriteHeader(vp8opusTracks()); err != nil {
		t.Fatal(err)
	}
	writeClips(t, w, nil)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(1, 5000, true, []byte{1}); err == nil {
		t.Fatal("WriteFrame after Close succeeded")
	}
	top, err := parse(f.buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[0].id != idEBML || top[1].id != idSegment || top[1].unknown {
		t.Fatalf("top level = %+v", top)
	}
	seg := top[1].children
	clusters := find(seg, idCluster)
	if len(clusters) < 3 {
		t.Fatalf("%d clusters, want one per second at least", len(clusters))
	}
	dur := math.Float64frombits(binary.BigEndian.Uint64(find(find(seg, idInfo)[0].children, idDuration)[0].data))
	if dur < 2980 || dur > 3050 {
		t.Fatalf("Duration = %v ms", dur)
	}
	cues := find(find(seg, idCues)[0].children, idCuePoint)
	if len(cues) != 3 { // one per VP8 keyframe
		t.Fatalf("%d cue points, want 3", len(cues))
	}
	segData := top[1].offset + 12
	for _, c := range cues {
		pos := uintOf(find(find(c.children, idCueTrackPositions)[0].children, idCueClusterPosition)[0])
		if got := f.buf[segData+int64(pos)]; got != 0x1F {
			t.Fatalf("cue points at byte %x, not a cluster", got)
		}
	}
	seeks := find(find(seg, idSeekHead)[0].children, idSeek)
	if len(seeks) != 3 {
		t.Fatalf("%d seek entries", len(seeks))
	}
	if f.syncs < len(clusters) {
		t.Fatalf("%d syncs for %d clusters", f.syncs, len(clusters))
	}
}

func TestMkvWriterClusterRules(t *testing.T) {
	tests := []struct {
		name   string
		frames []struct {
			track uint64
			ts    int64
			key   bool
		}
		clusters int
	}{
		{"keyframe starts cluster", []struct {
			track uint64
			ts    int64
			key   bool
		}{{1, 0, true}, {1, 33, false}, {1, 66, true}}, 2},
		{"duration starts cluster", []struct {
			track uint64
			ts    int64
			key   bool
		}{{2, 0, true}, {2, 500, true}, {2, 1000, true}, {2, 1500, true}}, 2},
		{"late frame clamped", []struct {
			track uint64
			ts    int64
			key   bool
		}{{1, 100, true}, {2, 90, true}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &memFile{}
			w := NewWriter(f, Options{})
			if err := w.WriteHeader(vp8opusTracks()); err != nil {
				t.Fatal(err)
			}
			for _, fr := range tc.frames {
				if err := w.WriteFrame(fr.track, fr.ts, fr.key, []byte{0}); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			top, err := parse(f.buf, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(find(top[1].children, idCluster)); got != tc.clusters {
				t.Fatalf("%d clusters, want %d", got, tc.clusters)
			}
		})
	}
}

func TestMkvWriterBadTracks(t *testing.T) {
	tests := map[string][]Track{
		"none":      nil,
		"number 0":  {{Number: 0, Type: TrackVideo, CodecID: CodecVP8}},
		"duplicate": {{Number: 1, Type: TrackVideo, CodecID: CodecVP8}, {Number: 1, Type: TrackAudio, CodecID: CodecOpus}},
		"no codec":  {{Number: 1, Type: TrackVideo}},
	}
	for name, tracks := range tests {
		t.Run(name, func(t *testing.T) {
			if err := NewWriter(&memFile{}, Options{}).WriteHeader(tracks); err == nil {
				t.Fatal("WriteHeader accepted bad tracks")
			}
		})
	}
}

func ffprobe(t *testing.T, path string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	out, err := exec.Command("ffprobe", append([]string{"-v", "error", "-of", "compact"}, append(args, path)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	return string(out)
}

func decodes(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg decode of %s: %v\n%s", path, err, out)
	}
}

func TestMkvWriterFFprobe(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.mkv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f, Options{App: "test"})
	if err := w.WriteHeader(vp8opusTracks()); err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mkv")
	writeClips(t, w, func(ts int64) {
		if ts == 2000 { // snapshot mid-way: what a SIGKILL would leave
			b, _ := os.ReadFile(path)
			_ = os.WriteFile(cut, b, 0o600)
		}
	})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := ffprobe(t, path, "-show_entries", "stream=codec_name,width,height,sample_rate:format=duration")
	for _, want := range []string{"codec_name=vp8|width=320|height=240", "codec_name=opus|sample_rate=48000", "duration=3.0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("ffprobe output lacks %q:\n%s", want, out)
		}
	}
	decodes(t, path)
	out = ffprobe(t, cut, "-show_entries", "stream=codec_name:format=duration")
	if !strings.Contains(out, "codec_name=vp8") || strings.Contains(out, "duration=0.000") {
		t.Fatalf("cut file:\n%s", out)
	}
	decodes(t, cut)
}

// BenchmarkMkvWrite measures muxing 3 s of VP8+Opus (the test clips) into memory.
func BenchmarkMkvWrite(b *testing.B) {
	video, err := testclip.VP8()
	if err != nil {
		b.Fatal(err)
	}
	audio, err := testclip.Opus()
	if err != nil {
		b.Fatal(err)
	}
	f := &memFile{buf: make([]byte, 0, 1<<20)}
	b.ReportAllocs()
	for b.Loop() {
		f.buf = f.buf[:0]
		w := NewWriter(f, Options{})
		if err := w.WriteHeader(vp8opusTracks()); err != nil {
			b.Fatal(err)
		}
		for i := range max(len(video), len(audio)) {
			if i < len(video) {
				_ = w.WriteFrame(1, int64(i)*1000/30, video[i].Key, video[i].Data)
			}
			if i < len(audio) {
				_ = w.WriteFrame(2, int64(i)*20, true, audio[i].Data)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(f.buf)))
}
