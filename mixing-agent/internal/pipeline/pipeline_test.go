package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/pion/rtp"
)

func TestPipelineDemandRunsOnlyWithConsumers(t *testing.T) {
	var running, runs, overlaps atomic.Int32
	d := NewDemand(func(ctx context.Context) {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		runs.Add(1)
		<-ctx.Done()
		time.Sleep(5 * time.Millisecond) // a slow wind-down must not overlap the next run
		running.Add(-1)
	})
	if d.Active() {
		t.Fatal("new demand active")
	}
	for i := range 5 {
		if !d.Attach() || !d.Attach() {
			t.Fatal("attach refused")
		}
		waitUntil(t, func() bool { return runs.Load() == int32(i+1) })
		d.Detach()
		if !d.Active() {
			t.Fatal("inactive with one consumer")
		}
		d.Detach()
		d.Detach() // extra detaches are ignored
	}
	d.Close()
	if d.Attach() {
		t.Fatal("attach after close accepted")
	}
	if overlaps.Load() != 0 || running.Load() != 0 {
		t.Fatalf("overlapping runs %d, still running %d", overlaps.Load(), running.Load())
	}
	if runs.Load() != 5 {
		t.Fatalf("%d runs for 5 activations", runs.Load())
	}
	// An activation cancelled before its run starts skips it.
	d2 := NewDemand(func(ctx context.Context) { runs.Add(1); <-ctx.Done() })
	d2.Attach()
	d2.Detach()
	d2.Close()
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// linkPair returns an exporter-side link attached to out and the importer-side link.
func linkPair(t *testing.T, out *Output) *medialink.Link {
	t.Helper()
	srv, err := medialink.NewServer(medialink.Config{Secret: bytes.Repeat([]byte{7}, 32)},
		exporterFunc(func(_ string, l *medialink.Link) (medialink.Export, error) { return out.Attach(l) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	ticket, _ := srv.Issue(out.Info().TrackID)
	l, _, err := medialink.Dial(ctx, srv.Addr(), ticket, 0)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type exporterFunc func(string, *medialink.Link) (medialink.Export, error)

func (f exporterFunc) Export(id string, l *medialink.Link) (medialink.Export, error) { return f(id, l) }

func TestPipelineOutputPacketizes(t *testing.T) {
	var attached, detached, keys atomic.Int32
	out, err := NewOutput(medialink.TrackInfo{TrackID: "t", Kind: "video", MimeType: "video/VP8", ClockRate: 90000},
		Hooks{Attach: func() bool { attached.Add(1); return true }, Detach: func() { detached.Add(1) },
			Keyframe: func() { keys.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	l := linkPair(t, out)
	var mu sync.Mutex
	var pkts []rtp.Packet
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		_ = l.Run(context.Background(), func(typ medialink.FrameType, b []byte) {
			var p rtp.Packet
			if typ == medialink.FrameRTP && p.Unmarshal(append([]byte(nil), b...)) == nil {
				mu.Lock()
				pkts = append(pkts, p)
				mu.Unlock()
			}
		})
	}()
	waitUntil(t, func() bool { return out.Consumers() == 1 })
	l.RequestKeyframe()
	frame := bytes.Repeat([]byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}, 500) // 3000 bytes: 3 packets
	for i := range 4 {
		out.Send(frame, uint32(1000+i*3750))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(pkts)
		mu.Unlock()
		if n >= 12 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	got := append([]rtp.Packet(nil), pkts...)
	mu.Unlock()
	if len(got) != 12 {
		t.Fatalf("%d packets, want 12", len(got))
	}
	for i := 1; i < len(got); i++ {
		p, q := got[i-1], got[i]
		if q.SSRC != p.SSRC || q.SequenceNumber != p.SequenceNumber+1 {
			t.Fatalf("packet %d: ssrc %d seq %d after ssrc %d seq %d", i, q.SSRC, q.SequenceNumber, p.SSRC, p.SequenceNumber)
		}
		wantDelta := uint32(0)
		if i%3 == 0 {
			wantDelta = 3750
		}
		if q.Timestamp-p.Timestamp != wantDelta || q.Marker != (i%3 == 2) {
			t.Fatalf("packet %d: timestamp delta %d (want %d), marker %v", i, q.Timestamp-p.Timestamp, wantDelta, q.Marker)
		}
	}
	out.Close("done")
	<-runDone
	waitUntil(t, func() bool { return detached.Load() == 1 })
	if attached.Load() != 1 || keys.Load() != 1 {
		t.Fatalf("hooks: attach %d, keyframe %d", attached.Load(), keys.Load())
	}
	if _, err := out.Attach(nil); err == nil {
		t.Fatal("attach to a closed output accepted")
	}
}

func TestPipelineOutputRejectsUnknownCodec(t *testing.T) {
	if _, err := NewOutput(medialink.TrackInfo{MimeType: "video/AV1"}, Hooks{}); err == nil {
		t.Fatal("AV1 output accepted")
	}
}

func TestPipelineMediaTicks(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		rate int64
		want uint32
	}{
		{time.Second, 90000, 90000},
		{20 * time.Millisecond, 48000, 960},
		{30 * time.Hour, 90000, uint32(int64(30*3600) * 90000 % (1 << 32))},
	} {
		if got := mediaTicks(tc.d, tc.rate); got != tc.want {
			t.Errorf("mediaTicks(%v, %d) = %d, want %d", tc.d, tc.rate, got, tc.want)
		}
	}
}

func TestPipelineAnnexB(t *testing.T) {
	var avcc []byte
	for _, nal := range [][]byte{{0x67, 1, 2}, {0x68, 3}, {0x65, 4, 5, 6}} {
		avcc = binary.BigEndian.AppendUint32(avcc, uint32(len(nal)))
		avcc = append(avcc, nal...)
	}
	want := []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 6}
	var v VideoInput
	if got := v.toAnnexB(avcc); !bytes.Equal(got, want) {
		t.Fatalf("toAnnexB = %x, want %x", got, want)
	}
}

// FuzzAnnexB feeds untrusted access units (from a publisher, via rtpframe) to the AVCC
// rewriting: it must never panic nor grow beyond the input.
func FuzzAnnexB(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 0x65, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var v VideoInput
		if out := v.toAnnexB(b); len(out) > len(b) {
			t.Fatalf("output %d bytes from %d", len(out), len(b))
		}
	})
}
