package codec

/*
#cgo pkg-config: x264
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <x264.h>

typedef struct {
	x264_t *h;
	x264_param_t p;
	x264_picture_t pic;
	int64_t pts;
	int pic_alloced;
	char msg[256]; // x264's last error message
} cv_x264;

// cv_x264_log keeps x264's error messages (it reports failures only through its log).
static void cv_x264_log(void *priv, int level, const char *fmt, va_list args) {
	if (level > X264_LOG_ERROR) return;
	cv_x264 *e = priv;
	vsnprintf(e->msg, sizeof e->msg, fmt, args);
}

static const char *cv_x264_msg(cv_x264 *e, const char *fallback) { return e->msg[0] ? e->msg : fallback; }

static const char *cv_x264_open(cv_x264 *e, int w, int h, int fps, int kbps, int keyint, const char *profile) {
	if (x264_param_default_preset(&e->p, "veryfast", "zerolatency") < 0) return "unknown preset";
	e->p.i_log_level = X264_LOG_ERROR;
	e->p.pf_log = cv_x264_log;
	e->p.p_log_private = e;
	e->p.i_width = w;
	e->p.i_height = h;
	e->p.i_csp = X264_CSP_I420;
	e->p.i_fps_num = fps;
	e->p.i_fps_den = 1;
	e->p.i_timebase_num = 1;
	e->p.i_timebase_den = fps;
	e->p.b_vfr_input = 0;
	e->p.i_threads = 1;
	e->p.b_sliced_threads = 0;
	e->p.i_bframe = 0;
	e->p.rc.i_lookahead = 0;
	e->p.i_keyint_max = keyint;
	e->p.i_keyint_min = X264_KEYINT_MIN_AUTO;
	e->p.i_scenecut_threshold = 0;
	e->p.b_repeat_headers = 1;
	e->p.b_annexb = 1;
	e->p.rc.i_rc_method = X264_RC_ABR;
	e->p.rc.i_bitrate = kbps;
	e->p.rc.i_vbv_max_bitrate = kbps;
	e->p.rc.i_vbv_buffer_size = kbps;
	if (x264_param_apply_profile(&e->p, profile) < 0) return cv_x264_msg(e, "profile rejected");
	if (x264_picture_alloc(&e->pic, X264_CSP_I420, w, h) < 0) return "cannot allocate the input picture";
	e->pic_alloced = 1;
	e->h = x264_encoder_open(&e->p);
	if (!e->h) return cv_x264_msg(e, "encoder_open rejected the parameters");
	return NULL;
}

// cv_x264_encode encodes e->pic and returns the byte count (0: no output, < 0: error); the
// NAL payloads are contiguous in memory from *out.
static int cv_x264_encode(cv_x264 *e, int force, uint8_t **out, int *key) {
	e->msg[0] = 0;
	x264_nal_t *nals;
	int n;
	x264_picture_t pout;
	e->pic.i_pts = e->pts++;
	e->pic.i_type = force ? X264_TYPE_IDR : X264_TYPE_AUTO;
	int size = x264_encoder_encode(e->h, &nals, &n, &e->pic, &pout);
	if (size <= 0 || n <= 0) return size < 0 ? size : 0;
	*out = nals[0].p_payload;
	*key = pout.b_keyframe;
	return size;
}

static int cv_x264_set_bitrate(cv_x264 *e, int kbps) {
	e->msg[0] = 0;
	x264_param_t p;
	x264_encoder_parameters(e->h, &p);
	p.rc.i_bitrate = kbps;
	p.rc.i_vbv_max_bitrate = kbps;
	p.rc.i_vbv_buffer_size = kbps;
	return x264_encoder_reconfig(e->h, &p);
}

static void cv_x264_free(cv_x264 *e) {
	if (e->h) x264_encoder_close(e->h);
	if (e->pic_alloced) x264_picture_clean(&e->pic);
	free(e);
}
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// x264Encoder encodes H.264 with x264 ("veryfast" preset, "zerolatency" tune, one thread, ABR
// with a one-second VBV, no scene-cut keyframes so keyframes come only from the interval or a
// request).
type x264Encoder struct {
	e    *C.cv_x264
	w, h int
}

var _ VideoEncoder = (*x264Encoder)(nil)

func newX264Encoder(cfg VideoEncoderConfig) (*x264Encoder, error) {
	e := (*C.cv_x264)(C.calloc(1, C.sizeof_cv_x264))
	if e == nil {
		return nil, fmt.Errorf("codec: h264 encoder: out of memory")
	}
	profile := C.CString(h264Profiles[cfg.Profile])
	defer C.free(unsafe.Pointer(profile))
	msg := C.cv_x264_open(e, C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.Framerate), C.int(cfg.BitrateKbps), C.int(cfg.KeyFrameInterval), profile)
	if msg != nil {
		err := fmt.Errorf("codec: h264 encoder (x264): %s", strings.TrimSpace(C.GoString(msg)))
		C.cv_x264_free(e)
		return nil, err
	}
	live.videoEnc.Add(1)
	return &x264Encoder{e: e, w: cfg.Width, h: cfg.Height}, nil
}

// Encode implements VideoEncoder.
func (x *x264Encoder) Encode(img *yuv.Image, forceKey bool) ([]byte, bool, error) {
	if x.e == nil {
		return nil, false, ErrClosed
	}
	if err := checkImage(img, x.w, x.h); err != nil {
		return nil, false, err
	}
	in := &x.e.pic.img
	fillPlane(plane{unsafe.Pointer(in.plane[0]), int(in.i_stride[0])}, img.Y, img.YStride, x.w, x.h)
	fillPlane(plane{unsafe.Pointer(in.plane[1]), int(in.i_stride[1])}, img.U, img.UStride, x.w/2, x.h/2)
	fillPlane(plane{unsafe.Pointer(in.plane[2]), int(in.i_stride[2])}, img.V, img.VStride, x.w/2, x.h/2)
	force := C.int(0)
	if forceKey {
		force = 1
	}
	var out *C.uint8_t
	var key C.int
	n := C.cv_x264_encode(x.e, force, &out, &key)
	if n < 0 {
		return nil, false, fmt.Errorf("codec: h264 encode (x264): %s", x.lastError("encode failed"))
	}
	if n == 0 {
		return nil, false, nil
	}
	return C.GoBytes(unsafe.Pointer(out), n), key != 0, nil
}

// lastError returns x264's last logged error, or fallback when it logged none.
func (x *x264Encoder) lastError(fallback string) string {
	if m := strings.TrimSpace(C.GoString(&x.e.msg[0])); m != "" {
		return m
	}
	return fallback
}

// SetBitrate implements VideoEncoder.
func (x *x264Encoder) SetBitrate(kbps int) error {
	if x.e == nil {
		return ErrClosed
	}
	if err := validBitrate(kbps); err != nil {
		return err
	}
	if r := C.cv_x264_set_bitrate(x.e, C.int(kbps)); r < 0 {
		return fmt.Errorf("codec: h264 set bitrate (x264): %s", x.lastError("reconfig failed"))
	}
	return nil
}

// Close implements VideoEncoder.
func (x *x264Encoder) Close() {
	if x.e != nil {
		C.cv_x264_free(x.e)
		x.e = nil
		live.videoEnc.Add(-1)
	}
}
