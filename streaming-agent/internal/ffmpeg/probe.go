package ffmpeg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNoStreams: the input has no audio or video stream.
var ErrNoStreams = errors.New("ffmpeg: no audio or video stream")

// VideoInfo is the first video stream of an input.
type VideoInfo struct {
	Codec     string // ffmpeg codec name: h264, vp8, hevc…
	Profile   string // ffmpeg profile name: "Constrained Baseline", "High"…
	Width     int
	Height    int
	FrameRate int // rounded frames per second, 0 when unknown
}

// AudioInfo is the first audio stream of an input.
type AudioInfo struct {
	Codec      string // aac, opus, mp3…
	SampleRate int
	Channels   int
}

// ProbeResult is what Probe learned about an input.
type ProbeResult struct {
	Video *VideoInfo
	Audio *AudioInfo
}

// probeStream is the subset of one ffprobe -show_streams JSON entry we read.
type probeStream struct {
	CodecType  string `json:"codec_type"`
	CodecName  string `json:"codec_name"`
	Profile    string `json:"profile"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	FrameRate  string `json:"avg_frame_rate"`
	RFrameRate string `json:"r_frame_rate"`
	SampleRate string `json:"sample_rate"`
	Channels   int    `json:"channels"`
}

// ParseProbe parses `ffprobe -show_streams -of json` output.
func ParseProbe(out []byte) (ProbeResult, error) {
	var doc struct {
		Streams []probeStream `json:"streams"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return ProbeResult{}, fmt.Errorf("ffmpeg: ffprobe output: %w", err)
	}
	var r ProbeResult
	for _, s := range doc.Streams {
		switch {
		case s.CodecType == "video" && r.Video == nil && s.CodecName != "":
			r.Video = &VideoInfo{Codec: s.CodecName, Profile: s.Profile, Width: max(s.Width, 0), Height: max(s.Height, 0),
				FrameRate: parseRate(s.FrameRate, s.RFrameRate)}
		case s.CodecType == "audio" && r.Audio == nil && s.CodecName != "":
			sr, _ := strconv.Atoi(s.SampleRate)
			r.Audio = &AudioInfo{Codec: s.CodecName, SampleRate: max(sr, 0), Channels: max(s.Channels, 0)}
		}
	}
	if r.Video == nil && r.Audio == nil {
		return r, ErrNoStreams
	}
	return r, nil
}

// parseRate reads the first usable "num/den" rate, rounded to whole frames per second.
func parseRate(rates ...string) int {
	for _, s := range rates {
		num, den, ok := strings.Cut(s, "/")
		n, err1 := strconv.Atoi(num)
		d, err2 := strconv.Atoi(den)
		if !ok || err1 != nil || err2 != nil || n <= 0 || d <= 0 {
			continue
		}
		if fps := (n + d/2) / d; fps > 0 && fps <= 240 {
			return fps
		}
	}
	return 0
}

// ProbeArgs returns the ffprobe arguments for url; inputArgs are protocol options placed
// before -i (e.g. -rtsp_transport tcp).
func ProbeArgs(url string, inputArgs []string, timeout time.Duration) []string {
	args := []string{"-v", "error", "-hide_banner"}
	args = append(args, inputArgs...)
	if !strings.HasPrefix(url, "rtsp") {
		args = append(args, "-rw_timeout", strconv.FormatInt(timeout.Microseconds(), 10))
	}
	return append(args, "-show_streams", "-of", "json", "-i", url)
}

// Probe runs ffprobe on url within timeout.
func Probe(ctx context.Context, binary, url string, inputArgs []string, timeout time.Duration) (ProbeResult, error) {
	if binary == "" {
		binary = "ffprobe"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := Run(ctx, binary, ProbeArgs(url, inputArgs, timeout)...)
	if err != nil {
		return ProbeResult{}, err
	}
	return ParseProbe(out)
}
