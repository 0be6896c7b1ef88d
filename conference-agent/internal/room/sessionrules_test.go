package room

import (
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

func f(codec string) *protocol.Format { return &protocol.Format{Codec: codec} }

func TestRecordingContainer(t *testing.T) {
	tests := []struct {
		name, container string
		audio, video    *protocol.Format
		want, err       string
	}{
		{"auto aac h264", "auto", f("aac"), f("h264"), "mp4", ""},
		{"omitted aac h265", "", f("aac"), f("h265"), "mp4", ""},
		{"auto aac only", "auto", f("aac"), nil, "mp4", ""},
		{"auto video only is mkv (OWT)", "auto", nil, f("h264"), "mkv", ""},
		{"auto opus h264", "auto", f("opus"), f("h264"), "mkv", ""},
		{"auto aac vp8", "auto", f("aac"), f("vp8"), "mkv", ""},
		{"mkv anything", "mkv", f("pcmu"), f("vp9"), "mkv", ""},
		{"mp4 aac h264", "mp4", f("aac"), f("h264"), "mp4", ""},
		{"mp4 video only", "mp4", nil, f("h265"), "mp4", ""},
		{"mp4 opus", "mp4", f("opus"), f("h264"), "", msgContainerMP4},
		{"mp4 vp8", "mp4", f("aac"), f("vp8"), "", msgContainerMP4},
		{"ts", "ts", f("aac"), f("h264"), "", msgContainerTS},
		{"unknown", "avi", f("aac"), nil, "", msgContainerInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := recordingContainer(tt.container, tt.audio, tt.video)
			wantErr(t, err, tt.err)
			if err != nil {
				wantStatus(t, err, 400, 1301)
			}
			if got != tt.want {
				t.Fatalf("container = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRecordingFormats(t *testing.T) {
	opus := protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}
	vga := &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 640, Height: 480}, Framerate: 30}
	vp8 := protocol.TrackInfo{Type: "video", Format: protocol.Format{Codec: "vp8"}, Parameters: vga}
	tests := []struct {
		name   string
		run    func() (protocol.Format, error)
		want   string // codec
		errMsg string
	}{
		{"audio as source", func() (protocol.Format, error) { return recordingAudio(nil, opus) }, "opus", ""},
		{"audio same codec", func() (protocol.Format, error) { return recordingAudio(f("opus"), opus) }, "opus", ""},
		{"audio other rate", func() (protocol.Format, error) {
			return recordingAudio(&protocol.Format{Codec: "opus", SampleRate: 16000}, opus)
		}, "", msgFormatNotOK},
		{"audio transcoding refused", func() (protocol.Format, error) { return recordingAudio(f("pcmu"), opus) }, "", msgFormatNotOK},
		{"opus recorded as aac", func() (protocol.Format, error) { return recordingAudio(f("aac"), opus) }, "aac", ""},
		{"audio codec not recordable", func() (protocol.Format, error) { return recordingAudio(nil, *f("g722")) }, "", msgAudioCodecInvalid},
		{"video as source", func() (protocol.Format, error) { return recordingVideo(nil, nil, vp8) }, "vp8", ""},
		{"video other codec", func() (protocol.Format, error) { return recordingVideo(f("h264"), nil, vp8) }, "", msgFormatNotOK},
		{"video same parameters", func() (protocol.Format, error) {
			return recordingVideo(nil, &protocol.VideoParameters{Framerate: 30}, vp8)
		}, "vp8", ""},
		{"video other resolution", func() (protocol.Format, error) {
			return recordingVideo(nil, &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 320, Height: 240}}, vp8)
		}, "", msgResolutionNotOK},
		{"out audio default from mediaOut", func() (protocol.Format, error) {
			return streamingOutAudio(nil, []model.AudioFormat{{Codec: "opus"}, {Codec: "aac", SampleRate: 48000, ChannelNum: 2}})
		}, "aac", ""},
		{"out audio aac disabled", func() (protocol.Format, error) {
			return streamingOutAudio(nil, []model.AudioFormat{{Codec: "opus"}})
		}, "", msgAACNotEnabled},
		{"out audio opus", func() (protocol.Format, error) { return streamingOutAudio(f("opus"), nil) }, "", msgAudioCodecInvalid},
		{"out video default", func() (protocol.Format, error) { return streamingOutVideo(nil) }, "h264", ""},
		{"out video vp8", func() (protocol.Format, error) { return streamingOutVideo(f("vp8")) }, "", msgVideoCodecInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run()
			wantErr(t, err, tt.errMsg)
			if err != nil {
				wantStatus(t, err, 400, 1301)
			}
			if got.Codec != tt.want {
				t.Fatalf("codec = %q, want %q", got.Codec, tt.want)
			}
		})
	}
}
