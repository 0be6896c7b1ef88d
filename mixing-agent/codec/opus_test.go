package codec

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// sine returns n 20 ms frames of an interleaved sine at freq Hz and the given amplitude.
func sine(freq float64, amplitude float64, channels, frames int) []int16 {
	pcm := make([]int16, frames*OpusFrameSamples*channels)
	for i := range frames * OpusFrameSamples {
		v := int16(amplitude * math.Sin(2*math.Pi*freq*float64(i)/OpusSampleRate))
		for c := range channels {
			pcm[i*channels+c] = v
		}
	}
	return pcm
}

// goertzel returns the power of samples (one channel) at freq Hz.
func goertzel(samples []float64, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/OpusSampleRate)
	var s1, s2 float64
	for _, x := range samples {
		s1, s2 = x+coeff*s1-s2, s1
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

func rms(samples []float64) float64 {
	sum := 0.0
	for _, x := range samples {
		sum += x * x
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// channel returns channel c of interleaved pcm as floats.
func channel(pcm []int16, channels, c int) []float64 {
	out := make([]float64, 0, len(pcm)/channels)
	for i := c; i < len(pcm); i += channels {
		out = append(out, float64(pcm[i]))
	}
	return out
}

func TestCodecOpusRoundTrip(t *testing.T) {
	const frames = 50 // 1 s
	for _, channels := range []int{1, 2} {
		for _, freq := range []float64{440, 1000} {
			t.Run(fmt.Sprintf("%dch_%.0fHz", channels, freq), func(t *testing.T) {
				enc, err := NewOpusEncoder(channels, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer enc.Close()
				dec, err := NewOpusDecoder(channels)
				if err != nil {
					t.Fatal(err)
				}
				defer dec.Close()
				in := sine(freq, 8000, channels, frames)
				var out []int16
				pkt := make([]byte, 1500)
				pcm := make([]int16, OpusMaxFrameSamples*channels)
				bytes := 0
				for f := range frames {
					n, err := enc.Encode(in[f*OpusFrameSamples*channels:(f+1)*OpusFrameSamples*channels], pkt)
					if err != nil || n == 0 {
						t.Fatalf("encode frame %d: %d, %v", f, n, err)
					}
					bytes += n
					got, err := dec.Decode(pkt[:n], pcm)
					if err != nil || got != OpusFrameSamples {
						t.Fatalf("decode frame %d: %d samples, %v", f, got, err)
					}
					out = append(out, pcm[:got*channels]...)
				}
				// Skip the first 100 ms (codec delay and start-up) on both sides.
				skip := 5 * OpusFrameSamples * channels
				for c := range channels {
					ref, dec := channel(in[skip:], channels, c), channel(out[skip:], channels, c)
					ratio := rms(dec) / rms(ref)
					at := goertzel(dec, freq)
					var worst float64
					for _, other := range []float64{freq / 2, freq * 1.5, freq * 2, 3000} {
						worst = max(worst, goertzel(dec, other))
					}
					t.Logf("channel %d: level ratio %.3f, tone/other power %.0f dB, %d bytes/s", c, ratio, 10*math.Log10(at/worst), bytes)
					if ratio < 0.7 || ratio > 1.3 {
						t.Fatalf("channel %d: level ratio %.2f", c, ratio)
					}
					if at < 100*worst {
						t.Fatalf("channel %d: %.0f Hz is not dominant (power %.3g vs %.3g)", c, freq, at, worst)
					}
				}
			})
		}
	}
}

func TestCodecOpusPLC(t *testing.T) {
	dec, err := NewOpusDecoder(2)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pcm := make([]int16, OpusMaxFrameSamples*2)
	for _, pkt := range [][]byte{nil, {}} {
		if n, err := dec.Decode(pkt, pcm); err != nil || n != OpusFrameSamples {
			t.Fatalf("PLC: %d samples, %v", n, err)
		}
	}
}

func TestCodecOpusBadInput(t *testing.T) {
	for _, ch := range []int{0, 3} {
		if _, err := NewOpusDecoder(ch); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("NewOpusDecoder(%d) = %v", ch, err)
		}
		if _, err := NewOpusEncoder(ch, 0); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("NewOpusEncoder(%d) = %v", ch, err)
		}
	}
	if _, err := NewOpusEncoder(1, 1000); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewOpusEncoder(1, 1000) = %v", err)
	}
	enc, err := NewOpusEncoder(1, 24000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]int16, 100), make([]byte, 1500)); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("Encode of a short frame = %v", err)
	}
	if _, err := enc.Encode(make([]int16, OpusFrameSamples), nil); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("Encode into nil = %v", err)
	}
	enc.Close()
	enc.Close()
	if _, err := enc.Encode(make([]int16, OpusFrameSamples), make([]byte, 1500)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Encode after Close = %v", err)
	}
	dec, err := NewOpusDecoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pcm := make([]int16, OpusMaxFrameSamples)
	// TOC code 3 (arbitrary frame count) with a frame count of 0 is invalid (RFC 6716 §3.2.5).
	if _, err := dec.Decode([]byte{0x03, 0x00}, pcm); err == nil {
		t.Fatal("invalid packet decoded")
	}
	if _, err := dec.Decode([]byte{0xF8, 1, 2}, nil); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("Decode into nil = %v", err)
	}
	// A 20 ms packet does not fit a 10 ms buffer.
	pkt := make([]byte, 1500)
	enc2, _ := NewOpusEncoder(1, 0)
	defer enc2.Close()
	n, _ := enc2.Encode(sine(440, 8000, 1, 1), pkt)
	if _, err := dec.Decode(pkt[:n], pcm[:480]); err == nil {
		t.Fatal("decoded into a buffer too small")
	}
}
