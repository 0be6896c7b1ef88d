package timeline

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestTimelineNTPRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	if d := NTPTime(ToNTP(now)).Sub(now); d > time.Microsecond || d < -time.Microsecond {
		t.Fatalf("round trip off by %v", d)
	}
}

func TestTimelineMapping(t *testing.T) {
	base := time.Unix(5000, 0)
	senderBase := time.Unix(9000, 0) // the sender's clock is 4000 s ahead
	tests := []struct {
		name string
		// audio SR says audio RTP 48000 is captured at senderBase; video SR says video RTP
		// 90000 is captured at senderBase+200ms. Both first frames arrive at base+30ms.
		withSR bool
		want   time.Duration // video local minus audio local for the first frames
	}{
		{"sender reports", true, 200 * time.Millisecond},
		{"arrival fallback", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Clock{}
			audio, video := NewTrack(c, 48000), NewTrack(c, 90000)
			if tc.withSR {
				audio.SenderReport(&rtcp.SenderReport{NTPTime: ToNTP(senderBase), RTPTime: 48000}, base)
				video.SenderReport(&rtcp.SenderReport{NTPTime: ToNTP(senderBase.Add(200 * time.Millisecond)), RTPTime: 90000}, base)
			}
			a := audio.Local(48000, base.Add(30*time.Millisecond))
			v := video.Local(90000, base.Add(30*time.Millisecond))
			if got := v.Sub(a); (got - tc.want).Abs() > time.Microsecond {
				t.Fatalf("video-audio = %v, want %v", got, tc.want)
			}
			// Later frames follow the RTP clock, not their (jittery) arrival.
			if got := audio.Local(48000+4800, base.Add(5*time.Second)).Sub(a); got != 100*time.Millisecond {
				t.Fatalf("audio +4800 ticks = %v", got)
			}
		})
	}
}

func TestTimelineSkewedClockFallsBack(t *testing.T) {
	c := &Clock{}
	base := time.Unix(5000, 0)
	a := NewTrack(c, 48000)
	a.SenderReport(&rtcp.SenderReport{NTPTime: ToNTP(time.Unix(100, 0)), RTPTime: 0}, base)
	b := NewTrack(c, 90000) // another publisher: its clock is 10 s off the first one
	b.SenderReport(&rtcp.SenderReport{NTPTime: ToNTP(time.Unix(110, 0)), RTPTime: 0}, base)
	if got := b.Local(0, base); !got.Equal(base) || b.FromSR {
		t.Fatalf("skewed track anchored at %v (fromSR %v), want its arrival", got, b.FromSR)
	}
	if got := a.Local(0, base); !got.Equal(base) || !a.FromSR {
		t.Fatalf("first track anchored at %v", got)
	}
}
