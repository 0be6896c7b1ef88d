package codec

/*
#cgo pkg-config: opus
#include <opus.h>

static int cv_opus_set_bitrate(OpusEncoder *e, int bps) { return opus_encoder_ctl(e, OPUS_SET_BITRATE(bps)); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Opus stream parameters used throughout the mixing agent (RFC 7587: 48 kHz RTP clock).
const (
	OpusSampleRate = 48000
	// OpusFrameSamples is the number of samples per channel in one 20 ms frame.
	OpusFrameSamples = 960
	// OpusMaxFrameSamples is the longest Opus packet (120 ms) in samples per channel.
	OpusMaxFrameSamples = 5760
)

// opusError returns libopus's text for an error code.
func opusError(code C.int) string { return C.GoString(C.opus_strerror(code)) }

// OpusDecoder decodes Opus packets to 48 kHz interleaved int16 PCM. It is not safe for
// concurrent use.
type OpusDecoder struct {
	d        *C.OpusDecoder
	channels int
}

// NewOpusDecoder returns a decoder producing 1 or 2 channels.
func NewOpusDecoder(channels int) (*OpusDecoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("%w: opus channels %d (want 1 or 2)", ErrInvalidConfig, channels)
	}
	var e C.int
	d := C.opus_decoder_create(OpusSampleRate, C.int(channels), &e)
	if e != C.OPUS_OK || d == nil {
		return nil, fmt.Errorf("codec: opus decoder: %s", opusError(e))
	}
	live.opusDec.Add(1)
	return &OpusDecoder{d: d, channels: channels}, nil
}

// Decode decodes one packet into pcm (interleaved) and returns the samples per channel
// written. A nil or empty packet asks for packet-loss concealment of one 20 ms frame. pcm
// must hold the whole packet: OpusMaxFrameSamples×channels always suffices.
func (d *OpusDecoder) Decode(packet []byte, pcm []int16) (int, error) {
	if d.d == nil {
		return 0, ErrClosed
	}
	room := len(pcm) / d.channels
	if room == 0 {
		return 0, fmt.Errorf("%w: opus PCM buffer of %d samples", ErrInvalidInput, len(pcm))
	}
	if len(packet) > 1<<20 {
		return 0, fmt.Errorf("%w: opus packet of %d bytes", ErrInvalidInput, len(packet))
	}
	var data *C.uchar
	if len(packet) > 0 {
		data = (*C.uchar)(unsafe.Pointer(&packet[0]))
	} else {
		room = min(room, OpusFrameSamples) // PLC length is the requested frame size
	}
	n := C.opus_decode(d.d, data, C.opus_int32(len(packet)), (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(min(room, OpusMaxFrameSamples)), 0)
	if n < 0 {
		return 0, fmt.Errorf("codec: opus decode: %s", opusError(n))
	}
	return int(n), nil
}

// Close frees the decoder; it is idempotent.
func (d *OpusDecoder) Close() {
	if d.d != nil {
		C.opus_decoder_destroy(d.d)
		d.d = nil
		live.opusDec.Add(-1)
	}
}

// OpusEncoder encodes 20 ms frames of 48 kHz interleaved int16 PCM. It is not safe for
// concurrent use.
type OpusEncoder struct {
	e        *C.OpusEncoder
	channels int
}

// NewOpusEncoder returns an encoder for 1 or 2 channels at bitrateBps (6000..510000; 0 →
// 32 kbps per channel). Like WebRTC, mono uses the VOIP application (speech tuned) and stereo
// the AUDIO one.
func NewOpusEncoder(channels, bitrateBps int) (*OpusEncoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("%w: opus channels %d (want 1 or 2)", ErrInvalidConfig, channels)
	}
	if bitrateBps == 0 {
		bitrateBps = 32000 * channels
	}
	if bitrateBps < 6000 || bitrateBps > 510000 {
		return nil, fmt.Errorf("%w: opus bitrate %d bps (want 6000..510000)", ErrInvalidConfig, bitrateBps)
	}
	app := C.int(C.OPUS_APPLICATION_VOIP)
	if channels == 2 {
		app = C.OPUS_APPLICATION_AUDIO
	}
	var e C.int
	enc := C.opus_encoder_create(OpusSampleRate, C.int(channels), app, &e)
	if e != C.OPUS_OK || enc == nil {
		return nil, fmt.Errorf("codec: opus encoder: %s", opusError(e))
	}
	if r := C.cv_opus_set_bitrate(enc, C.int(bitrateBps)); r != C.OPUS_OK {
		C.opus_encoder_destroy(enc)
		return nil, fmt.Errorf("codec: opus encoder bitrate: %s", opusError(r))
	}
	live.opusEnc.Add(1)
	return &OpusEncoder{e: enc, channels: channels}, nil
}

// Encode encodes one 20 ms frame (OpusFrameSamples×channels samples) into out and returns
// the packet length. 1275 bytes of out always suffice (RFC 6716 §3.4).
func (e *OpusEncoder) Encode(pcm []int16, out []byte) (int, error) {
	if e.e == nil {
		return 0, ErrClosed
	}
	if len(pcm) != OpusFrameSamples*e.channels {
		return 0, fmt.Errorf("%w: opus frame of %d samples, want %d", ErrInvalidInput, len(pcm), OpusFrameSamples*e.channels)
	}
	if len(out) == 0 {
		return 0, fmt.Errorf("%w: empty opus output buffer", ErrInvalidInput)
	}
	n := C.opus_encode(e.e, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), OpusFrameSamples,
		(*C.uchar)(unsafe.Pointer(&out[0])), C.opus_int32(min(len(out), 1<<20)))
	if n < 0 {
		return 0, fmt.Errorf("codec: opus encode: %s", opusError(n))
	}
	return int(n), nil
}

// Close frees the encoder; it is idempotent.
func (e *OpusEncoder) Close() {
	if e.e != nil {
		C.opus_encoder_destroy(e.e)
		e.e = nil
		live.opusEnc.Add(-1)
	}
}
