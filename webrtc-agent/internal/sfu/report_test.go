package sfu

import (
	"sync"
	"testing"

	"github.com/pion/rtcp"
)

// reportRecorder is a ReportSink recording the Sender Reports it receives.
type reportRecorder struct {
	mu      sync.Mutex
	packets int
	reports [][]byte
}

func (r *reportRecorder) WritePacket(*Track, *Packet) {
	r.mu.Lock()
	r.packets++
	r.mu.Unlock()
}

func (r *reportRecorder) WriteSenderReport(_ *Track, sr []byte) {
	r.mu.Lock()
	r.reports = append(r.reports, append([]byte(nil), sr...))
	r.mu.Unlock()
}

func TestSFUForwardSenderReports(t *testing.T) {
	sr := func(ssrc uint32) *rtcp.SenderReport {
		return &rtcp.SenderReport{SSRC: ssrc, NTPTime: 0xE1B2C3D4_80000000, RTPTime: 90000, PacketCount: 10,
			OctetCount: 10000, Reports: []rtcp.ReceptionReport{{SSRC: 99, FractionLost: 3}}}
	}
	tests := []struct {
		name    string
		sendRTP bool
		close   bool
		pkts    []rtcp.Packet
		want    int
	}{
		{"matching report", true, false, []rtcp.Packet{sr(7)}, 1},
		{"compound with SDES and other SSRC", true, false,
			[]rtcp.Packet{sr(8), &rtcp.SourceDescription{}, sr(7), &rtcp.ReceiverReport{SSRC: 7}}, 1},
		{"before the first RTP packet", false, false, []rtcp.Packet{sr(7)}, 0},
		{"closed track", true, true, []rtcp.Packet{sr(7)}, 0},
		{"no sender report", true, false, []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 7}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newVP8Track("t", nil)
			rec := &reportRecorder{}
			// Bound to a PeerConnection: it is handed the reports and drops them (pion
			// generates its own; TestFollowSenderReports checks a plain-writer one).
			down := NewDownTrack("d", "s", tr)
			w := &recordWriter{}
			bindDown(down, w)
			tr.AddSink(rec)
			tr.AddSink(down)
			if tc.sendRTP {
				tr.Forward(vp8Packet(nil, 7, 1, 1000, true))
			}
			if tc.close {
				tr.Close()
			}
			if got := tr.ForwardSenderReports(tc.pkts); got != tc.want || len(rec.reports) != tc.want {
				t.Fatalf("forwarded %d, sink got %d, want %d", got, len(rec.reports), tc.want)
			}
			if tr.SenderReports() != uint64(tc.want) {
				t.Fatalf("SenderReports() = %d, want %d", tr.SenderReports(), tc.want)
			}
			for _, b := range rec.reports {
				checkReport(t, b, sr(7))
			}
		})
	}
}

// checkReport asserts b is exactly one Sender Report equal to want without reception reports.
func checkReport(t *testing.T, b []byte, want *rtcp.SenderReport) {
	t.Helper()
	pkts, err := rtcp.Unmarshal(b)
	if err != nil || len(pkts) != 1 {
		t.Fatalf("forwarded report %x: %v (%d packets)", b, err, len(pkts))
	}
	got, ok := pkts[0].(*rtcp.SenderReport)
	if !ok || got.SSRC != want.SSRC || got.NTPTime != want.NTPTime || got.RTPTime != want.RTPTime ||
		got.PacketCount != want.PacketCount || got.OctetCount != want.OctetCount || len(got.Reports) != 0 {
		t.Fatalf("forwarded %+v, want %+v without reception reports", pkts[0], want)
	}
}

func TestSFUTrackSSRC(t *testing.T) {
	tr := newVP8Track("t", nil)
	if _, ok := tr.SSRC(); ok {
		t.Fatal("SSRC known before any packet")
	}
	for _, ssrc := range []uint32{0, 42, 0xFFFFFFFF} {
		tr.Forward(vp8Packet(nil, ssrc, 1, 1000, false))
		if got, ok := tr.SSRC(); !ok || got != ssrc {
			t.Fatalf("SSRC() = %d, %v; want %d", got, ok, ssrc)
		}
	}
}
