package room

import (
	"errors"
	"testing"

	"context"
	"github.com/conclave-rtc/conclave/common/errs"
	"sync"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// sessionCall is one recorded call to the fake session agents.
type sessionCall struct {
	method string
	agent  string
	req    any
}

// fakeSessions records session RPCs; fail maps a method to its error, inTracks are the
// tracks in.start reports, and hook (if set) runs inside a start call (to race it).
type fakeSessions struct {
	mu       sync.Mutex
	calls    []sessionCall
	fail     map[string]error
	inTracks []protocol.RTCTrack
	hook     func()
}

func newFakeSessions() *fakeSessions {
	return &fakeSessions{fail: map[string]error{}, inTracks: []protocol.RTCTrack{
		{ID: "in-a", Type: "audio", Format: protocol.Format{Codec: "aac", SampleRate: 48000, ChannelNum: 2}},
		{ID: "in-v", Type: "video", Format: protocol.Format{Codec: "h264", Profile: "CB"}},
	}}
}

func (f *fakeSessions) record(method, agent string, req any) error {
	f.mu.Lock()
	f.calls = append(f.calls, sessionCall{method, agent, req})
	err, hook := f.fail[method], f.hook
	f.mu.Unlock()
	if hook != nil && (method == protocol.MethodRecStart || method == protocol.MethodOutStart || method == protocol.MethodInStart) {
		hook()
	}
	return err
}

func (f *fakeSessions) RecStart(_ context.Context, agent string, req protocol.RecStart) (protocol.SessionStarted, error) {
	err := f.record(protocol.MethodRecStart, agent, req)
	return protocol.SessionStarted{Host: "rec-host", File: "/tmp/" + req.ID + "." + req.Container}, err
}

func (f *fakeSessions) OutStart(_ context.Context, agent string, req protocol.OutStart) (protocol.SessionStarted, error) {
	return protocol.SessionStarted{}, f.record(protocol.MethodOutStart, agent, req)
}

func (f *fakeSessions) InStart(_ context.Context, agent string, req protocol.InStart) (protocol.InStarted, error) {
	err := f.record(protocol.MethodInStart, agent, req)
	f.mu.Lock()
	defer f.mu.Unlock()
	return protocol.InStarted{Tracks: f.inTracks}, err
}

func (f *fakeSessions) Update(_ context.Context, agent, method string, req protocol.SessionUpdate) error {
	return f.record(method, agent, req)
}

func (f *fakeSessions) Stop(agent, method, id string) {
	_ = f.record(method, agent, protocol.SessionStop{ID: id})
}

func (f *fakeSessions) StopWait(_ context.Context, agent, method, id string) error {
	return f.record(method, agent, protocol.SessionStop{ID: id})
}

// byMethod returns the recorded calls of method.
func (f *fakeSessions) byMethod(method string) []sessionCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sessionCall
	for _, c := range f.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

// wantStatus checks err's HTTP status and OWT code.
func wantStatus(t *testing.T, err error, status, code int) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("error = %#v, want %d/%d", err, status, code)
	}
}

// idleNow reports whether the room holds nothing.
func (r *Room) idleNow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.idleLocked()
}
