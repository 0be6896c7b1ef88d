package sfu

import (
	"fmt"
	"testing"
)

// BenchmarkFanout forwards one publication to 200 bound down-tracks. Each op is one
// incoming packet (200 forwarded packets); the writer is a counter, so this measures the SFU
// layer only (pion's interceptors and SRTP are not included).
func BenchmarkFanout(b *testing.B) {
	const subscribers = 200
	src := newVP8Track("bench", nil)
	w := &recordWriter{count: true}
	for i := range subscribers {
		d := NewDownTrack(fmt.Sprint("v", i), "s", src)
		bindDown(d, w)
		d.Attach()
	}
	pkts := make([][]byte, 64)
	for i := range pkts {
		pkts[i] = vp8Packet(make([]byte, 0, 1500), 1, uint16(i), uint32(i)*3000, i == 0)
	}
	src.Forward(pkts[0])
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := pkts[i%len(pkts)]
		p[2], p[3] = byte(i>>8), byte(i) // keep sequence numbers moving
		src.Forward(p)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*subscribers/b.Elapsed().Seconds(), "fwd-pkts/s")
}
