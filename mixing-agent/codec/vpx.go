package codec

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

// The codec contexts and configurations live in C memory because libvpx keeps pointers to
// them between calls.
typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_dec_cfg_t cfg;
	vpx_codec_iter_t iter;
	uint8_t *buf;
	size_t cap;
	int inited;
} cv_vpx_dec;

static const char *cv_vpx_error(vpx_codec_ctx_t *ctx) {
	const char *d = vpx_codec_error_detail(ctx);
	return d ? d : vpx_codec_error(ctx);
}

static const char *cv_vpx_dec_open(cv_vpx_dec *d, int vp9) {
	d->cfg.threads = 1;
	vpx_codec_err_t err = vpx_codec_dec_init(&d->ctx, vp9 ? vpx_codec_vp9_dx() : vpx_codec_vp8_dx(), &d->cfg, 0);
	if (err != VPX_CODEC_OK) return vpx_codec_err_to_string(err);
	d->inited = 1;
	return NULL;
}

// cv_vpx_dec_decode copies the frame into the decoder's own buffer, decodes it and returns
// the last picture produced (NULL if none); *err is set to the error text on failure.
static vpx_image_t *cv_vpx_dec_decode(cv_vpx_dec *d, const uint8_t *data, size_t n, const char **err) {
	*err = NULL;
	if (n > d->cap) {
		uint8_t *b = realloc(d->buf, n);
		if (!b) { *err = "out of memory"; return NULL; }
		d->buf = b;
		d->cap = n;
	}
	memcpy(d->buf, data, n);
	if (vpx_codec_decode(&d->ctx, d->buf, (unsigned int)n, NULL, 0) != VPX_CODEC_OK) {
		*err = cv_vpx_error(&d->ctx);
		return NULL;
	}
	vpx_codec_iter_t iter = NULL;
	vpx_image_t *img, *last = NULL;
	while ((img = vpx_codec_get_frame(&d->ctx, &iter)) != NULL) last = img;
	return last;
}

static void cv_vpx_dec_free(cv_vpx_dec *d) {
	if (d->inited) vpx_codec_destroy(&d->ctx);
	free(d->buf);
	free(d);
}

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	vpx_image_t img;
	vpx_codec_iter_t iter;
	vpx_codec_pts_t pts;
	int inited, img_alloced;
} cv_vpx_enc;

static const char *cv_vpx_enc_open(cv_vpx_enc *e, int w, int h, int fps, int kbps, int keyint) {
	vpx_codec_err_t err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (err != VPX_CODEC_OK) return vpx_codec_err_to_string(err);
	e->cfg.g_w = w;
	e->cfg.g_h = h;
	e->cfg.g_timebase.num = 1;
	e->cfg.g_timebase.den = fps;
	e->cfg.g_threads = 1;
	e->cfg.g_lag_in_frames = 0;
	e->cfg.g_pass = VPX_RC_ONE_PASS;
	e->cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	e->cfg.rc_end_usage = VPX_CBR;
	e->cfg.rc_target_bitrate = kbps;
	e->cfg.rc_dropframe_thresh = 0;
	e->cfg.rc_min_quantizer = 2;
	e->cfg.rc_max_quantizer = 56;
	e->cfg.rc_undershoot_pct = 100;
	e->cfg.rc_overshoot_pct = 15;
	e->cfg.rc_buf_initial_sz = 500;
	e->cfg.rc_buf_optimal_sz = 600;
	e->cfg.rc_buf_sz = 1000;
	e->cfg.kf_mode = VPX_KF_AUTO;
	e->cfg.kf_min_dist = keyint;
	e->cfg.kf_max_dist = keyint;
	err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &e->cfg, 0);
	if (err != VPX_CODEC_OK) return vpx_codec_err_to_string(err);
	e->inited = 1;
	if (vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, 8) != VPX_CODEC_OK) return cv_vpx_error(&e->ctx);
	if (vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1) != VPX_CODEC_OK) return cv_vpx_error(&e->ctx);
	if (!vpx_img_alloc(&e->img, VPX_IMG_FMT_I420, w, h, 16)) return "cannot allocate the input picture";
	e->img_alloced = 1;
	return NULL;
}

static const char *cv_vpx_enc_encode(cv_vpx_enc *e, int force) {
	e->iter = NULL;
	vpx_enc_frame_flags_t flags = force ? VPX_EFLAG_FORCE_KF : 0;
	if (vpx_codec_encode(&e->ctx, &e->img, e->pts++, 1, flags, VPX_DL_REALTIME) != VPX_CODEC_OK)
		return cv_vpx_error(&e->ctx);
	return NULL;
}

// cv_vpx_enc_next returns the next compressed frame of the last encode call, or 0 at the end.
static int cv_vpx_enc_next(cv_vpx_enc *e, const void **buf, size_t *size, int *key) {
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &e->iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		*buf = pkt->data.frame.buf;
		*size = pkt->data.frame.sz;
		*key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
		return 1;
	}
	return 0;
}

static const char *cv_vpx_enc_set_bitrate(cv_vpx_enc *e, int kbps) {
	e->cfg.rc_target_bitrate = kbps;
	if (vpx_codec_enc_config_set(&e->ctx, &e->cfg) != VPX_CODEC_OK) return cv_vpx_error(&e->ctx);
	return NULL;
}

static void cv_vpx_enc_free(cv_vpx_enc *e) {
	if (e->inited) vpx_codec_destroy(&e->ctx);
	if (e->img_alloced) vpx_img_free(&e->img);
	free(e);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// vpxDecoder decodes VP8 or VP9 (profile 0, 8-bit 4:2:0) with libvpx.
type vpxDecoder struct {
	d    *C.cv_vpx_dec
	name string
}

var _ VideoDecoder = (*vpxDecoder)(nil)

func newVPXDecoder(vp9 bool) (*vpxDecoder, error) {
	name := "vp8"
	if vp9 {
		name = "vp9"
	}
	d := (*C.cv_vpx_dec)(C.calloc(1, C.sizeof_cv_vpx_dec))
	if d == nil {
		return nil, fmt.Errorf("codec: %s decoder: out of memory", name)
	}
	vp := C.int(0)
	if vp9 {
		vp = 1
	}
	if msg := C.cv_vpx_dec_open(d, vp); msg != nil {
		err := fmt.Errorf("codec: %s decoder: %s", name, C.GoString(msg))
		C.cv_vpx_dec_free(d)
		return nil, err
	}
	live.videoDec.Add(1)
	return &vpxDecoder{d: d, name: name}, nil
}

// Decode implements VideoDecoder.
func (v *vpxDecoder) Decode(frame []byte) (*yuv.Image, error) {
	if v.d == nil {
		return nil, ErrClosed
	}
	if len(frame) == 0 || len(frame) > 1<<30 {
		return nil, fmt.Errorf("%w: %s frame of %d bytes", ErrInvalidInput, v.name, len(frame))
	}
	var msg *C.char
	img := C.cv_vpx_dec_decode(v.d, (*C.uint8_t)(unsafe.Pointer(&frame[0])), C.size_t(len(frame)), &msg)
	if msg != nil {
		return nil, fmt.Errorf("codec: %s decode: %s", v.name, C.GoString(msg))
	}
	if img == nil {
		return nil, nil
	}
	if img.fmt != C.VPX_IMG_FMT_I420 {
		return nil, fmt.Errorf("%w: %s picture format %d (only 8-bit 4:2:0)", ErrUnsupported, v.name, int(img.fmt))
	}
	return copyPicture(int(img.d_w), int(img.d_h),
		plane{unsafe.Pointer(img.planes[0]), int(img.stride[0])},
		plane{unsafe.Pointer(img.planes[1]), int(img.stride[1])},
		plane{unsafe.Pointer(img.planes[2]), int(img.stride[2])})
}

// Close implements VideoDecoder.
func (v *vpxDecoder) Close() {
	if v.d != nil {
		C.cv_vpx_dec_free(v.d)
		v.d = nil
		live.videoDec.Add(-1)
	}
}

// vp8Encoder encodes VP8 with libvpx in realtime mode (CBR, no lag, cpu-used 8).
type vp8Encoder struct {
	e    *C.cv_vpx_enc
	w, h int
}

var _ VideoEncoder = (*vp8Encoder)(nil)

func newVP8Encoder(cfg VideoEncoderConfig) (*vp8Encoder, error) {
	e := (*C.cv_vpx_enc)(C.calloc(1, C.sizeof_cv_vpx_enc))
	if e == nil {
		return nil, fmt.Errorf("codec: vp8 encoder: out of memory")
	}
	msg := C.cv_vpx_enc_open(e, C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.Framerate), C.int(cfg.BitrateKbps), C.int(cfg.KeyFrameInterval))
	if msg != nil {
		err := fmt.Errorf("codec: vp8 encoder: %s", C.GoString(msg))
		C.cv_vpx_enc_free(e)
		return nil, err
	}
	live.videoEnc.Add(1)
	return &vp8Encoder{e: e, w: cfg.Width, h: cfg.Height}, nil
}

// Encode implements VideoEncoder.
func (v *vp8Encoder) Encode(img *yuv.Image, forceKey bool) ([]byte, bool, error) {
	if v.e == nil {
		return nil, false, ErrClosed
	}
	if err := checkImage(img, v.w, v.h); err != nil {
		return nil, false, err
	}
	in := &v.e.img
	fillPlane(plane{unsafe.Pointer(in.planes[0]), int(in.stride[0])}, img.Y, img.YStride, v.w, v.h)
	fillPlane(plane{unsafe.Pointer(in.planes[1]), int(in.stride[1])}, img.U, img.UStride, v.w/2, v.h/2)
	fillPlane(plane{unsafe.Pointer(in.planes[2]), int(in.stride[2])}, img.V, img.VStride, v.w/2, v.h/2)
	force := C.int(0)
	if forceKey {
		force = 1
	}
	if msg := C.cv_vpx_enc_encode(v.e, force); msg != nil {
		return nil, false, fmt.Errorf("codec: vp8 encode: %s", C.GoString(msg))
	}
	var out []byte
	key := false
	var buf unsafe.Pointer
	var size C.size_t
	var k C.int
	for C.cv_vpx_enc_next(v.e, &buf, &size, &k) != 0 {
		out = append(out, unsafe.Slice((*byte)(buf), int(size))...)
		key = key || k != 0
	}
	return out, key, nil
}

// SetBitrate implements VideoEncoder.
func (v *vp8Encoder) SetBitrate(kbps int) error {
	if v.e == nil {
		return ErrClosed
	}
	if err := validBitrate(kbps); err != nil {
		return err
	}
	if msg := C.cv_vpx_enc_set_bitrate(v.e, C.int(kbps)); msg != nil {
		return fmt.Errorf("codec: vp8 set bitrate: %s", C.GoString(msg))
	}
	return nil
}

// Close implements VideoEncoder.
func (v *vp8Encoder) Close() {
	if v.e != nil {
		C.cv_vpx_enc_free(v.e)
		v.e = nil
		live.videoEnc.Add(-1)
	}
}
