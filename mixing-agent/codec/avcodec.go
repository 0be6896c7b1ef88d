package codec

/*
#cgo pkg-config: libavcodec libavutil
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/pixfmt.h>

typedef struct {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame, *tmp;
	uint8_t *buf;
	size_t cap;
} cv_h264dec;

static void cv_h264_free(cv_h264dec *d) {
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	av_frame_free(&d->frame);
	av_frame_free(&d->tmp);
	av_free(d->buf);
	free(d);
}

static int cv_h264_open(cv_h264dec *d) {
	// libavcodec would print every bitstream complaint to stderr; Decode returns errors instead.
	av_log_set_level(AV_LOG_QUIET);
	const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_H264);
	if (!c) return AVERROR_DECODER_NOT_FOUND;
	d->ctx = avcodec_alloc_context3(c);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	d->tmp = av_frame_alloc();
	if (!d->ctx || !d->pkt || !d->frame || !d->tmp) return AVERROR(ENOMEM);
	d->ctx->thread_count = 1;
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	return avcodec_open2(d->ctx, c, NULL);
}

// cv_h264_decode sends one access unit (copied into a padded buffer) and keeps the last
// picture it yields in d->frame; *got says whether there is one.
static int cv_h264_decode(cv_h264dec *d, const uint8_t *data, size_t n, int *got) {
	*got = 0;
	if (n + AV_INPUT_BUFFER_PADDING_SIZE > d->cap) {
		av_free(d->buf);
		d->cap = 0;
		d->buf = av_malloc(n + AV_INPUT_BUFFER_PADDING_SIZE);
		if (!d->buf) return AVERROR(ENOMEM);
		d->cap = n + AV_INPUT_BUFFER_PADDING_SIZE;
	}
	memcpy(d->buf, data, n);
	memset(d->buf + n, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	d->pkt->data = d->buf;
	d->pkt->size = (int)n;
	int r = avcodec_send_packet(d->ctx, d->pkt);
	d->pkt->data = NULL;
	d->pkt->size = 0;
	if (r < 0) return r;
	for (;;) {
		r = avcodec_receive_frame(d->ctx, d->tmp);
		if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return 0;
		if (r < 0) return r;
		av_frame_unref(d->frame);
		av_frame_move_ref(d->frame, d->tmp);
		*got = 1;
	}
}

static int cv_is_yuv420p(int fmt) { return fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_YUVJ420P; }
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// h264Decoder decodes H.264 Annex-B access units with libavcodec (one thread, low delay, so a
// picture comes out of the call that brought its access unit for streams without B-frames).
// Pictures other than 8-bit 4:2:0 are rejected with ErrUnsupported: WebRTC's H.264 profiles
// only carry 4:2:0.
type h264Decoder struct {
	d *C.cv_h264dec
}

var _ VideoDecoder = (*h264Decoder)(nil)

func newH264Decoder() (*h264Decoder, error) {
	d := (*C.cv_h264dec)(C.calloc(1, C.sizeof_cv_h264dec))
	if d == nil {
		return nil, fmt.Errorf("codec: h264 decoder: out of memory")
	}
	if r := C.cv_h264_open(d); r < 0 {
		C.cv_h264_free(d)
		return nil, fmt.Errorf("codec: h264 decoder (libavcodec): %s", averror(r))
	}
	live.videoDec.Add(1)
	return &h264Decoder{d: d}, nil
}

// averror returns libavutil's text for an error code.
func averror(code C.int) string {
	var buf [128]C.char
	if C.av_strerror(code, &buf[0], C.size_t(len(buf))) < 0 {
		return fmt.Sprintf("error %d", int(code))
	}
	return C.GoString(&buf[0])
}

// Decode implements VideoDecoder.
func (h *h264Decoder) Decode(frame []byte) (*yuv.Image, error) {
	if h.d == nil {
		return nil, ErrClosed
	}
	if len(frame) == 0 || len(frame) > 1<<30 {
		return nil, fmt.Errorf("%w: h264 access unit of %d bytes", ErrInvalidInput, len(frame))
	}
	if !hasStartCode(frame) {
		return nil, fmt.Errorf("%w: h264 access unit without an Annex-B start code", ErrInvalidInput)
	}
	var got C.int
	if r := C.cv_h264_decode(h.d, (*C.uint8_t)(unsafe.Pointer(&frame[0])), C.size_t(len(frame)), &got); r < 0 {
		return nil, fmt.Errorf("codec: h264 decode (libavcodec): %s", averror(r))
	}
	if got == 0 {
		return nil, nil
	}
	f := h.d.frame
	defer C.av_frame_unref(f)
	if C.cv_is_yuv420p(C.int(f.format)) == 0 {
		return nil, fmt.Errorf("%w: h264 pixel format %d (only 8-bit 4:2:0)", ErrUnsupported, int(f.format))
	}
	return copyPicture(int(f.width), int(f.height),
		plane{unsafe.Pointer(f.data[0]), int(f.linesize[0])},
		plane{unsafe.Pointer(f.data[1]), int(f.linesize[1])},
		plane{unsafe.Pointer(f.data[2]), int(f.linesize[2])})
}

// hasStartCode reports whether b begins with an Annex-B start code (00 00 01 or 00 00 00 01).
func hasStartCode(b []byte) bool {
	return len(b) > 3 && b[0] == 0 && b[1] == 0 && (b[2] == 1 || (b[2] == 0 && len(b) > 4 && b[3] == 1))
}

// Close implements VideoDecoder.
func (h *h264Decoder) Close() {
	if h.d != nil {
		C.cv_h264_free(h.d)
		h.d = nil
		live.videoDec.Add(-1)
	}
}
