package cluster

import (
	"fmt"
	"slices"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

// DefaultMaxLoad is the load at and above which a worker takes no new tasks (OWT max_load).
const DefaultMaxLoad = 0.85

// Worker purposes used by Conclave. Any other non-empty purpose is accepted too.
const (
	PurposePortal     = "portal"
	PurposeConference = "conference"
	PurposeWebRTC     = "webrtc"
	PurposeRecording  = "recording"
	PurposeStreaming  = "streaming"
	PurposeMixing     = "mixing"
	PurposeManagement = "management"
)

// Worker is what an agent announces about itself every second on the bus.
type Worker struct {
	ID      string  `json:"id"`      // "<purpose>-<20 hex>@<host>" like OWT
	Purpose string  `json:"purpose"` // "portal", "conference", "webrtc", "recording", "streaming", "management"
	Load    float64 `json:"load"`    // 0..1
	MaxLoad float64 `json:"maxLoad"` // available iff Load < MaxLoad (default 0.85)
	// ISPs is capacity.isps: the ISPs this worker serves (empty = any).
	ISPs []string `json:"isps,omitempty"`
	// Regions is capacity.regions: the regions this worker is close to.
	Regions []string `json:"regions,omitempty"`
	// Host is the public "host:port" clients use (portals: the Socket.IO address).
	Host string `json:"host,omitempty"`
	// Secure tells clients to use https/wss.
	Secure bool `json:"secure,omitempty"`
	// ViaHost is OWT's via_host: "https://name:port" overrides Host/Secure in tokens.
	ViaHost string    `json:"viaHost,omitempty"`
	Started time.Time `json:"started"`
}

// Preference is a scheduling preference (OWT `{isp, region}`).
type Preference = store.Preference

// NewWorkerID returns a fresh worker id in OWT's format "<purpose>-<20 hex>@<host>".
func NewWorkerID(purpose, host string) string {
	return purpose + "-" + ids.RandomHex(10) + "@" + host
}

// Available reports whether the worker takes new tasks (OWT: load < max_load).
func (w Worker) Available() bool { return w.Load < w.MaxLoad }

// validate checks the fields a registry relies on.
func (w Worker) validate() error {
	if w.ID == "" || w.Purpose == "" {
		return fmt.Errorf("%w: id %q purpose %q", ErrInvalidWorker, w.ID, w.Purpose)
	}
	return nil
}

// clone returns a copy that shares no slices with w.
func (w Worker) clone() Worker {
	w.ISPs = slices.Clone(w.ISPs)
	w.Regions = slices.Clone(w.Regions)
	return w
}
