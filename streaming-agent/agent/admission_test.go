package agent

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// TestStreamingAdmissionCapacity fills an agent of capacity 1 with a streaming-out whose
// RTMP server accepts the connection and never answers (so it stays starting), and checks
// that the next out.start and in.start are refused at once with a cluster error naming the
// reason, and that the slot is free again once the first session is stopped.
func TestStreamingAdmissionCapacity(t *testing.T) {
	cfg := testConfig(t)
	cfg.Capacity = 1
	e := newOutEnv(t, cfg)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	first := make(chan error, 1)
	go func() {
		first <- e.call(protocol.MethodOutStart, e.outStart("o1", "rtmp", "rtmp://"+silent.Addr().String()+"/live/x", "h264", ""), nil)
	}()
	waitFor(t, 10*time.Second, "first session registered", func() bool { return e.agent.load() >= 1 })

	refused := []struct {
		method string
		req    any
	}{
		{protocol.MethodOutStart, e.outStart("o2", "rtmp", "rtmp://127.0.0.1:9/live/y", "h264", "")},
		{protocol.MethodInStart, protocol.InStart{ID: "i1", RoomID: "room", Controller: controllerID, URL: "rtsp://127.0.0.1:9/s"}},
	}
	for _, r := range refused {
		begin := time.Now()
		err := e.call(r.method, r.req, nil)
		var ee *errs.Error
		if !errors.As(err, &ee) || ee.Code != errs.CodeCluster || !strings.Contains(ee.Message, "full") {
			t.Fatalf("%s on a full agent = %v, want a cluster error saying it is full", r.method, err)
		}
		t.Logf("%s refused after %s: %v", r.method, time.Since(begin).Round(time.Microsecond), err)
	}
	if err := e.call(protocol.MethodOutStop, protocol.SessionStop{ID: "o1"}, nil); err != nil {
		t.Fatalf("out.stop: %v", err)
	}
	if err := <-first; err == nil {
		t.Fatal("the stopped session's out.start succeeded")
	}
	waitFor(t, 10*time.Second, "slot released", func() bool { return e.agent.load() == 0 })
	err = e.call(protocol.MethodOutStart, e.outStart("o3", "rtmp", "rtmp://127.0.0.1:9/live/z", "h264", ""), nil)
	if e := errs.As(err); err == nil || strings.Contains(e.Message, "full") {
		t.Fatalf("out.start after the slot was freed = %v, want a connection failure, not a refusal", err)
	}
}
