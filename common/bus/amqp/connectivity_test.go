package amqp_test

import (
	"testing"
	"time"
)

// TestBusAMQPConnectedReportsOutages: Connected follows the connection, and its time says
// when the state last changed (the cluster registry grants a grace from it).
func TestBusAMQPConnectedReportsOutages(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReconnectMin, cfg.ReconnectMax = 300*time.Millisecond, 300*time.Millisecond
	before := time.Now()
	b := open(t, cfg)
	up, since := b.Connected()
	if !up || since.Before(before) || since.After(time.Now()) {
		t.Fatalf("new bus: Connected() = %v, %v; want up since New", up, since)
	}
	dropped := time.Now()
	b.DropConnection()
	waitFor(t, "disconnection", func() bool { up, _ := b.Connected(); return !up })
	_, down := b.Connected()
	if down.Before(dropped) {
		t.Fatalf("disconnected since %v, before the drop at %v", down, dropped)
	}
	waitFor(t, "reconnection", func() bool { up, _ := b.Connected(); return up })
	if _, again := b.Connected(); !again.After(down) {
		t.Fatalf("reconnected since %v, not after the disconnection at %v", again, down)
	}
}
