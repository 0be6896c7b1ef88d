package room

import (
	"slices"

	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

// Recording containers.
const (
	containerAuto = "auto"
	containerMKV  = "mkv"
	containerMP4  = "mp4"
	containerTS   = "ts"
)

// Codecs named by the session rules.
const (
	codecAAC  = "aac"
	codecOpus = "opus"
	codecH264 = "h264"
	codecH265 = "h265"
)

// recordingAudioCodecs are the audio codecs a recording accepts (OWT createFileOut).
var recordingAudioCodecs = []string{"pcmu", "pcma", "opus", codecAAC}

// streamingOutVideoDefault is what a streaming-out delivers when no video format is asked
// (OWT: H.264 constrained baseline).
var streamingOutVideoDefault = protocol.Format{Codec: codecH264, Profile: "CB"}

// audioWant converts a requested audio format.
func audioWant(f *protocol.AudioFormat) *protocol.Format {
	if f == nil {
		return nil
	}
	return &protocol.Format{Codec: f.Codec, SampleRate: f.SampleRate, ChannelNum: f.ChannelNum}
}

// videoWant converts a requested video format.
func videoWant(f *protocol.VideoFormat) *protocol.Format {
	if f == nil {
		return nil
	}
	return &protocol.Format{Codec: f.Codec, Profile: f.Profile}
}

// recordingAudio checks a recording's audio: a requested format must be the source's, except
// AAC from an Opus source, which the recording agent converts while writing mp4 (OWT needs an
// audio transcoder node for that); the codec must be one a recording can hold. It returns the
// recorded format.
func recordingAudio(want *protocol.Format, src protocol.Format) (protocol.Format, error) {
	if want != nil && !sameFormat(*want, src) {
		if want.Codec == codecAAC && src.Codec == codecOpus {
			return protocol.Format{Codec: codecAAC, SampleRate: 48000, ChannelNum: 2}, nil
		}
		return protocol.Format{}, badRequest(msgFormatNotOK)
	}
	if !slices.Contains(recordingAudioCodecs, src.Codec) {
		return protocol.Format{}, badRequest(msgAudioCodecInvalid)
	}
	return src, nil
}

// recordingVideo checks a recording's video: a requested format and parameters must be the
// source's. It returns the recorded format.
func recordingVideo(want *protocol.Format, params *protocol.VideoParameters, src protocol.TrackInfo) (protocol.Format, error) {
	if want != nil && !sameFormat(*want, src.Format) {
		return protocol.Format{}, badRequest(msgFormatNotOK)
	}
	if params != nil {
		if msg := parametersProblem(*params, src.Parameters); msg != "" {
			return protocol.Format{}, badRequest(msg)
		}
	}
	return src.Format, nil
}

// recordingContainer resolves the container of a recording with OWT's rule: `auto` is mp4 iff
// the audio is AAC and the video absent, H.264 or H.265, else mkv. OWT accepts an explicit
// mp4 for any codecs and lets the muxer fail later; we refuse it at once. `ts` is accepted by
// OWT's schema but not by this server's recording agent.
func recordingContainer(container string, audio, video *protocol.Format) (string, error) {
	audioMP4 := audio == nil || audio.Codec == codecAAC
	videoMP4 := video == nil || video.Codec == codecH264 || video.Codec == codecH265
	switch container {
	case containerAuto, "":
		if audio != nil && audioMP4 && videoMP4 {
			return containerMP4, nil
		}
		return containerMKV, nil
	case containerMKV:
		return containerMKV, nil
	case containerMP4:
		if !audioMP4 || !videoMP4 {
			return "", badRequest(msgContainerMP4)
		}
		return containerMP4, nil
	case containerTS:
		return "", badRequest(msgContainerTS)
	}
	return "", badRequest(msgContainerInvalid)
}

// streamingOutAudio returns the audio format a streaming-out delivers: AAC, as requested or
// the room's mediaOut AAC entry (OWT createAVStreamOut).
func streamingOutAudio(want *protocol.Format, mediaOut []model.AudioFormat) (protocol.Format, error) {
	if want != nil {
		if want.Codec != codecAAC {
			return protocol.Format{}, badRequest(msgAudioCodecInvalid)
		}
		return *want, nil
	}
	for _, f := range mediaOut {
		if f.Codec == codecAAC {
			return protocol.Format{Codec: f.Codec, SampleRate: f.SampleRate, ChannelNum: f.ChannelNum}, nil
		}
	}
	return protocol.Format{}, badRequest(msgAACNotEnabled)
}

// streamingOutVideo returns the video format a streaming-out delivers: H.264.
func streamingOutVideo(want *protocol.Format) (protocol.Format, error) {
	if want == nil {
		return streamingOutVideoDefault, nil
	}
	if want.Codec != codecH264 {
		return protocol.Format{}, badRequest(msgVideoCodecInvalid)
	}
	return *want, nil
}

// acceptsInput reports whether the room's mediaIn lists codec for kind (a streaming-in's
// tracks; only the codec is compared, as a pulled stream's rate and profile vary).
func acceptsInput(in model.MediaIn, kind, codec string) bool {
	if kind == kindAudio {
		return slices.ContainsFunc(in.Audio, func(f model.AudioFormat) bool { return f.Codec == codec })
	}
	return slices.ContainsFunc(in.Video, func(f model.VideoFormat) bool { return f.Codec == codec })
}
