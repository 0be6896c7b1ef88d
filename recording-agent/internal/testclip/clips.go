// Package testclip reads the repository's test clips (client/media/testdata) into frames and
// plays them as RTP, for the recording agent's tests. It is not used in production.
package testclip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Frame is one encoded frame of a clip.
type Frame struct {
	Data     []byte
	Key      bool
	Duration time.Duration
}

// ErrBadClip: a clip file does not parse.
var ErrBadClip = errors.New("testclip: malformed clip")

// Dir returns the directory holding the clips.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "client", "media", "testdata")
}

func load(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(Dir(), name))
}

// VP8 returns the frames of vp8.ivf (30 fps).
func VP8() ([]Frame, error) {
	b, err := load("vp8.ivf")
	if err != nil {
		return nil, err
	}
	if len(b) < 32 || string(b[:4]) != "DKIF" {
		return nil, fmt.Errorf("%w: not IVF", ErrBadClip)
	}
	var out []Frame
	for p := int(binary.LittleEndian.Uint16(b[6:8])); p+12 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[p : p+4]))
		if p+12+n > len(b) || n == 0 {
			return nil, fmt.Errorf("%w: truncated IVF frame", ErrBadClip)
		}
		data := b[p+12 : p+12+n]
		out = append(out, Frame{Data: data, Key: data[0]&1 == 0, Duration: time.Second / 30})
		p += 12 + n
	}
	return out, nil
}

// H264 returns the access units of h264.h264 in Annex-B form (30 fps, one slice per
// picture, SPS/PPS before every IDR).
func H264() ([]Frame, error) {
	b, err := load("h264.h264")
	if err != nil {
		return nil, err
	}
	var out []Frame
	var au []byte
	key := false
	for _, nal := range splitAnnexB(b) {
		typ := nal[0] & 0x1F
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal...)
		key = key || typ == 5
		if typ == 1 || typ == 5 { // a picture's slice ends the access unit
			out = append(out, Frame{Data: au, Key: key, Duration: time.Second / 30})
			au, key = nil, false
		}
	}
	return out, nil
}

func splitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				nals = append(nals, bytes.TrimRight(b[start:i], "\x00"))
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

// Opus returns the packets of opus.ogg (20 ms each), skipping the two header packets.
func Opus() ([]Frame, error) {
	b, err := load("opus.ogg")
	if err != nil {
		return nil, err
	}
	var packets [][]byte
	var cur []byte
	for p := 0; p < len(b); {
		if p+27 > len(b) || string(b[p:p+4]) != "OggS" {
			return nil, fmt.Errorf("%w: bad Ogg page", ErrBadClip)
		}
		nseg := int(b[p+26])
		segs := b[p+27 : p+27+nseg]
		q := p + 27 + nseg
		for _, s := range segs {
			cur = append(cur, b[q:q+int(s)]...)
			q += int(s)
			if s < 255 {
				packets, cur = append(packets, cur), nil
			}
		}
		p = q
	}
	if len(packets) < 3 {
		return nil, fmt.Errorf("%w: no Opus packets", ErrBadClip)
	}
	out := make([]Frame, 0, len(packets)-2)
	for _, p := range packets[2:] {
		out = append(out, Frame{Data: p, Key: true, Duration: 20 * time.Millisecond})
	}
	return out, nil
}
