package e2eutil

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// MediaInfo describes a media file as ffprobe reads it.
type MediaInfo struct {
	// Streams are the file's streams in order.
	Streams []MediaStream
	// Duration is the container's duration (0 when ffprobe gives none, as for a file whose
	// writer never finalised it).
	Duration time.Duration
}

// MediaStream is one stream of a media file; Packets is how many packets ffprobe read.
type MediaStream struct {
	Type    string // "video", "audio", …
	Codec   string // "vp8", "opus", "h264", …
	Packets int
}

// Codecs maps each stream type to its codec (the last stream's, when a type repeats).
func (m MediaInfo) Codecs() map[string]string {
	out := map[string]string{}
	for _, s := range m.Streams {
		out[s.Type] = s.Codec
	}
	return out
}

// Stream returns the first stream of codec.
func (m MediaInfo) Stream(codec string) (MediaStream, bool) {
	for _, s := range m.Streams {
		if s.Codec == codec {
			return s, true
		}
	}
	return MediaStream{}, false
}

// probeTimeout bounds one ffprobe run.
const probeTimeout = 30 * time.Second

// Probe runs ffprobe on path, counting the packets of every stream; it fails the test when
// ffprobe cannot read the file.
func Probe(t testing.TB, path string) MediaInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-count_packets", "-show_entries",
		"stream=codec_type,codec_name,nb_read_packets:format=duration", "-of", "json", path).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v\n%s", path, err, msg)
	}
	info, err := ParseProbe(out)
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return info
}

// ParseProbe decodes ffprobe's JSON output (-of json with stream codec_type, codec_name,
// nb_read_packets and format duration).
func ParseProbe(out []byte) (MediaInfo, error) {
	var raw struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
			Packets   string `json:"nb_read_packets"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return MediaInfo{}, fmt.Errorf("ffprobe output %.200q: %w", out, err)
	}
	var info MediaInfo
	for _, s := range raw.Streams {
		ms := MediaStream{Type: s.CodecType, Codec: s.CodecName}
		if s.Packets != "" && s.Packets != "N/A" {
			n, err := strconv.Atoi(s.Packets)
			if err != nil || n < 0 {
				return MediaInfo{}, fmt.Errorf("ffprobe packet count %q of %s", s.Packets, s.CodecName)
			}
			ms.Packets = n
		}
		info.Streams = append(info.Streams, ms)
	}
	if d := raw.Format.Duration; d != "" && d != "N/A" {
		f, err := strconv.ParseFloat(d, 64)
		if err != nil || f < 0 || f > 1e6 {
			return MediaInfo{}, fmt.Errorf("ffprobe duration %q", d)
		}
		info.Duration = time.Duration(f * float64(time.Second))
	}
	return info, nil
}
