// Package agent is the webrtc agent: it terminates WebRTC (ICE, DTLS, SRTP) for clients and
// forwards RTP between publishers and subscribers. It serves the rtc.* RPCs on its cluster
// worker id, reports transport and operation events to the controlling conference agent on
// protocol.RTCTopic(controller), exports tracks to other agents over media links and
// announces itself in the cluster.
//
// Layering: agent (RPC, events, registry, media links) → internal/transport (one
// PeerConnection per transport) → internal/sfu (tracks, down-tracks, fan-out);
// common/medialink below all.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/transport"
)

// Purpose is the cluster purpose this agent registers under.
const Purpose = "webrtc"

// DefaultCapacity is the number of transports at which the agent reports full load.
const DefaultCapacity = 1000

// Config is the agent's configuration. The zero value of every field but Host is usable.
type Config struct {
	Host      string // this machine's name or address, part of the worker id
	Heartbeat time.Duration

	// UDPPort is the single UDP port all PeerConnections share (0: ephemeral).
	UDPPort int
	// TCPPort enables ICE-TCP on this port when > 0.
	TCPPort int
	// NAT1To1IPs are public addresses announced instead of the host candidates' addresses.
	NAT1To1IPs []string
	// Interfaces limits ICE to these network interfaces (empty: all).
	Interfaces []string
	// IncludeLoopback gathers loopback candidates (tests, or a public IP on lo).
	IncludeLoopback bool
	// WriteBatchWindow bounds how long a subscriber's packet waits to be batched with others
	// (0: transport.DefaultWriteBatchWindow; negative: no batching).
	WriteBatchWindow time.Duration
	// ISPs and Regions are the agent's scheduling capacity (OWT capacity.isps/regions):
	// participants whose token preference names an ISP go to agents listing it or none.
	ISPs, Regions []string
	// Capacity is the transport count reported as load 1.0 (default DefaultCapacity).
	Capacity int

	// MediaLinkListen is the media-link TCP listen address (default "127.0.0.1:0"; from a
	// config file: config.Config.MediaLinkAddr).
	MediaLinkListen string
	// MediaLinkAdvertise is the address other agents dial (default: the listen address, or
	// Host:port when listening on all addresses).
	MediaLinkAdvertise string
	// MediaLinkSecret keys media-link tickets (derive it from the cluster key with
	// medialink.DeriveSecret). Tickets are issued and redeemed by this
	// agent only, so when empty a random per-process key is used.
	MediaLinkSecret []byte
	// Congestion configures congestion control toward subscribers (zero value: on, with
	// the transport package's defaults).
	Congestion transport.CongestionConfig
}

// Deps are the agent's collaborators.
type Deps struct {
	Bus    bus.Bus
	Logger *slog.Logger
}

// Agent is one webrtc agent process (or the webrtc part of the all-in-one binary).
type Agent struct {
	cfg   Config
	bus   bus.Bus
	log   *slog.Logger
	id    string
	ann   *cluster.Announcer
	link  *medialink.Server
	ready chan struct{}

	mu         sync.Mutex
	eng        *transport.Engine
	transports map[string]*transport.Transport
	owners     map[string]string                 // transport id → ownerKey of its creator
	tracks     map[string]*sfu.Track             // local publications and imported relays, by track id
	imports    map[string]*relay                 // imported tracks by track id
	layers     map[string][]*sfu.Track           // local simulcast layers by layerPrefix (copy on write)
	closing    map[*transport.Transport]struct{} // removed, counted until closed and retired
	retired    transport.Totals                  // counters of closed transports
	retiredIn  ingress                           // counters of tracks that left a.tracks
	stopping   bool
	bg         sync.WaitGroup // background closes of failed transports, relay links

	// relayMu serialises subscriptions, layer switches and relay reaping, so a track is
	// imported once and no relay is reaped between being found and being attached to.
	relayMu sync.Mutex
}

// New prepares an agent; it opens no socket and starts no goroutine.
func New(cfg Config, deps Deps) (*Agent, error) {
	if deps.Bus == nil || deps.Logger == nil {
		return nil, errors.New("webrtc-agent: bus and logger are required")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCapacity
	}
	a := &Agent{cfg: cfg, bus: deps.Bus, log: deps.Logger, ready: make(chan struct{}),
		transports: map[string]*transport.Transport{}, owners: map[string]string{}, tracks: map[string]*sfu.Track{}, imports: map[string]*relay{},
		layers: map[string][]*sfu.Track{}, closing: map[*transport.Transport]struct{}{}}
	w := cluster.Worker{ID: cluster.NewWorkerID(Purpose, cfg.Host), Purpose: Purpose, MaxLoad: cluster.DefaultMaxLoad,
		ISPs: cfg.ISPs, Regions: cfg.Regions, Started: time.Now()}
	a.id = w.ID
	a.log = a.log.With("agent", a.id)
	a.ann = cluster.NewAnnouncer(deps.Bus, w, cfg.Heartbeat, a.load, a.log)
	link, err := medialink.NewAgentServer(medialink.Config{Listen: cfg.MediaLinkListen, Advertise: cfg.MediaLinkAdvertise,
		Host: cfg.Host, Secret: cfg.MediaLinkSecret, Logger: a.log}, exporter{a})
	if err != nil {
		return nil, fmt.Errorf("webrtc-agent: %w", err)
	}
	a.link = link
	return a, nil
}

// ID returns the agent's cluster worker id.
func (a *Agent) ID() string { return a.id }

// Ready is closed once the agent serves RPCs.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// MediaAddrs are the local addresses the agent receives media at (its UDP port on each
// gathered address, and ICE-TCP), known once Ready is closed; nil before.
func (a *Agent) MediaAddrs() []netip.AddrPort {
	a.mu.Lock()
	eng := a.eng
	a.mu.Unlock()
	if eng == nil {
		return nil
	}
	return eng.MediaAddrs()
}

// load is transports/capacity.
func (a *Agent) load() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return float64(len(a.transports)) / float64(a.cfg.Capacity)
}

// Run opens the sockets, serves RPCs and media links and announces the agent until ctx
// ends; then it closes every transport and link and returns after all goroutines ended.
func (a *Agent) Run(ctx context.Context) error {
	eng, err := transport.NewEngine(transport.NetConfig{UDPPort: a.cfg.UDPPort, TCPPort: a.cfg.TCPPort,
		NAT1To1IPs: a.cfg.NAT1To1IPs, Interfaces: a.cfg.Interfaces, IncludeLoopback: a.cfg.IncludeLoopback,
		WriteBatchWindow: a.cfg.WriteBatchWindow, Congestion: a.cfg.Congestion}, a.log)
	if err != nil {
		return fmt.Errorf("webrtc-agent: %w", err)
	}
	defer eng.Close()
	a.mu.Lock()
	a.eng = eng
	a.mu.Unlock()
	if _, err := a.link.Listen(); err != nil {
		return fmt.Errorf("webrtc-agent: %w", err)
	}
	err = cluster.Service{Bus: a.bus, ID: a.id, Handler: a.handle, Loops: []func(context.Context) error{a.ann.Run, a.link.Serve},
		Started: func() {
			close(a.ready)
			a.log.Info("webrtc agent running", "medialink", a.link.Addr())
		},
		Drain: a.shutdown}.Run(ctx)
	if err != nil {
		return fmt.Errorf("webrtc-agent: %w", err)
	}
	return nil
}

// shutdown closes every transport and imported relay.
func (a *Agent) shutdown() {
	a.mu.Lock()
	a.stopping = true
	trs := make([]*transport.Transport, 0, len(a.transports))
	for _, t := range a.transports {
		trs = append(trs, t)
	}
	a.transports = map[string]*transport.Transport{}
	a.owners = map[string]string{}
	rels := make([]*relay, 0, len(a.imports))
	for _, r := range a.imports {
		rels = append(rels, r)
	}
	a.mu.Unlock()
	for _, t := range trs {
		t.Close()
	}
	for _, r := range rels {
		r.link.Close("shutdown")
	}
	a.bg.Wait()
}
