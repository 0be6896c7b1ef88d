package transport

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/webrtc-agent/internal/pionlog"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// NetConfig is the ICE networking of an Engine.
type NetConfig struct {
	// UDPPort is the one UDP port every PeerConnection shares (0: an ephemeral port per
	// local address, for tests).
	UDPPort int
	// TCPPort enables ICE-TCP (passive) on this port when > 0.
	TCPPort int
	// NAT1To1IPs replace the host candidates' addresses (a 1:1 NAT's public addresses).
	NAT1To1IPs []string
	// Interfaces limits gathering to these interface names (empty: all).
	Interfaces []string
	// IncludeLoopback gathers loopback candidates too (tests: with Interfaces ["lo"]).
	IncludeLoopback bool
	// WriteBatchWindow is the longest a datagram waits to be sent with others in one
	// sendmmsg(2) (0: DefaultWriteBatchWindow; negative: one sendto(2) per datagram).
	WriteBatchWindow time.Duration
	// Congestion configures congestion control toward subscribers.
	Congestion CongestionConfig
}

// CongestionConfig configures congestion control toward subscribers: a send-side bandwidth
// estimate per PeerConnection (GCC on the subscriber's transport-wide-cc feedback) that
// chooses simulcast layers and pauses video (allocate.go).
type CongestionConfig struct {
	// Disabled sends every subscriber the layer it asked for whatever its link, without
	// transport-wide sequence numbers (the cheapest forwarding).
	Disabled bool
	// InitialBitrate is the estimate before the first feedback, bit/s (default
	// DefaultInitialBitrate): what a new subscriber is first given.
	InitialBitrate int
	// MaxBitrate caps the estimate, bit/s (default DefaultMaxBitrate).
	MaxBitrate int
}

// Defaults of CongestionConfig.
const (
	DefaultInitialBitrate = 1_500_000
	DefaultMaxBitrate     = 20_000_000
	minBitrate            = 30_000
)

// Engine holds the shared sockets and the pion API every transport is built from.
type Engine struct {
	api *webrtc.API
	// newPC serialises PeerConnection creation so that the estimator pion's interceptor
	// registry builds inside NewPeerConnection (reported through lastBWE) is the new one's.
	newPC   sync.Mutex
	lastBWE cc.BandwidthEstimator
	udp     *ice.MultiUDPMuxDefault
	batch   *batchNet // nil without write batching
	tcpLn   net.Listener
	tcp     ice.TCPMux
}

// NewEngine opens the UDP (and optional TCP) sockets and builds the API. Close releases
// them. A nil log discards pion's logs.
func NewEngine(cfg NetConfig, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lf := pionlog.Factory{Log: log, InfoLevel: slog.LevelInfo}
	if ifs, err := hostInterfaces(); err == nil {
		cfg = loopbackFallback(cfg, ifs, log)
	}
	filter := func(name string) bool { return len(cfg.Interfaces) == 0 || slices.Contains(cfg.Interfaces, name) }
	opts, batch, err := udpMuxOptions(cfg, filter, lf, log)
	if err != nil {
		return nil, err
	}
	udp, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, opts...)
	if err != nil {
		return nil, fmt.Errorf("transport: udp mux on port %d: %w", cfg.UDPPort, err)
	}
	e := &Engine{udp: udp, batch: batch}
	if cfg.TCPPort > 0 {
		if e.tcpLn, err = net.Listen("tcp", fmt.Sprintf(":%d", cfg.TCPPort)); err != nil {
			_ = udp.Close()
			return nil, fmt.Errorf("transport: ice-tcp listen on port %d: %w", cfg.TCPPort, err)
		}
		e.tcp = webrtc.NewICETCPMux(lf.NewLogger("tcpmux"), e.tcpLn, 8)
	}
	se, err := e.settings(cfg, filter, lf)
	if err == nil {
		e.api, err = e.newAPI(se, cfg.Congestion)
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// usableIP keeps the addresses media may arrive at: not IPv6 link-local ones, which clients
// cannot reach without a zone and which may still be tentative (duplicate address detection)
// when the agent starts, so binding them fails.
func usableIP(ip net.IP) bool { return !(ip.To4() == nil && ip.IsLinkLocalUnicast()) }

// udpMuxOptions returns the options of the shared UDP sockets, which batch their writes
// unless cfg.WriteBatchWindow < 0 (batch is then nil).
func udpMuxOptions(cfg NetConfig, filter func(string) bool, lf pionlog.Factory, log *slog.Logger) (
	opts []ice.UDPMuxFromPortOption, batch *batchNet, err error) {
	opts = []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithInterfaceFilter(filter),
		ice.UDPMuxFromPortWithIPFilter(usableIP), ice.UDPMuxFromPortWithLogger(lf.NewLogger("udpmux"))}
	if cfg.IncludeLoopback {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback())
	}
	if cfg.WriteBatchWindow < 0 {
		return opts, nil, nil
	}
	window := cfg.WriteBatchWindow
	if window == 0 {
		window = DefaultWriteBatchWindow
	}
	if batch, err = newBatchNet(window, log.With("component", "udp-batch")); err != nil {
		return nil, nil, err
	}
	return append(opts, ice.UDPMuxFromPortWithNet(batch)), batch, nil
}

// settings builds the SettingEngine: shared muxes, interface filter, loopback, NAT 1:1, no
// mDNS.
func (e *Engine) settings(cfg NetConfig, filter func(string) bool, lf pionlog.Factory) (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = lf
	se.SetICEUDPMux(e.udp)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if e.tcp != nil {
		se.SetICETCPMux(e.tcp)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	se.SetInterfaceFilter(filter)
	se.SetIPFilter(usableIP)
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// AES-128-GCM (RFC 7714) is the cheapest SRTP profile per packet; pion's default list
	// starts with AES-256-GCM, which a browser acting as DTLS server would pick (4 more AES
	// rounds per block on every forwarded packet). AES-CM/HMAC-SHA1 stays as the fallback
	// every endpoint implements.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	if len(cfg.NAT1To1IPs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.NAT1To1IPs, AsCandidateType: webrtc.ICECandidateTypeHost})
		if err != nil {
			return se, fmt.Errorf("transport: nat 1:1 ips: %w", err)
		}
	}
	return se, nil
}

// newAPI registers the codecs (with RTX for video), header extensions and interceptors: the NACK generator
// (publishers), RTCP reports, TWCC feedback (to publishers) and, unless cong.Disabled,
// congestion control toward subscribers: transport-wide sequence numbers on every packet
// sent and pion's GCC estimator per PeerConnection, without its pacer (packets leave as they
// are forwarded; the allocator keeps the rate within the estimate by choosing layers).
// Subscribers' NACKs are answered by the SFU from each source's shared history
// (sfu.DownTrack), not by pion's per-track responder, which kept a copy of every packet per
// subscriber.
func (e *Engine) newAPI(se webrtc.SettingEngine, cong CongestionConfig) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range sfu.Codecs() {
		kind := webrtc.RTPCodecTypeVideo
		if c.ClockRate != 90000 {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := m.RegisterCodec(c, kind); err != nil {
			return nil, fmt.Errorf("transport: register %s: %w", c.MimeType, err)
		}
	}
	for _, c := range sfu.RTXCodecs() {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("transport: register rtx (%s): %w", c.SDPFmtpLine, err)
		}
	}
	ir := &interceptor.Registry{}
	steps := []func() error{
		func() error { return webrtc.ConfigureSimulcastExtensionHeaders(m) },
		func() error {
			return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.SDESMidURI}, webrtc.RTPCodecTypeAudio)
		},
		func() error {
			gen, err := nack.NewGeneratorInterceptor()
			if err != nil {
				return err
			}
			ir.Add(gen)
			return nil
		},
		func() error { return webrtc.ConfigureRTCPReports(ir) },
		func() error { return webrtc.ConfigureTWCCSender(m, ir) },
	}
	if !cong.Disabled {
		steps = append(steps, func() error { return e.configureCongestion(ir, cong) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("transport: configure api: %w", err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

// configureCongestion adds the GCC interceptor, then the transport-wide sequence number
// stamper: interceptors added later wrap the earlier ones' writers, so every packet is
// stamped before the estimator records its sending.
func (e *Engine) configureCongestion(ir *interceptor.Registry, cong CongestionConfig) error {
	// The estimator logs every feedback at debug level and every rate change at info level:
	// noise, for the allocator logs its decisions (debug) and the stats show the estimate.
	quiet := pionlog.Factory{Log: slog.New(slog.DiscardHandler)}
	initial, maxRate := cong.InitialBitrate, cong.MaxBitrate
	if initial <= 0 {
		initial = DefaultInitialBitrate
	}
	if maxRate <= 0 {
		maxRate = DefaultMaxBitrate
	}
	initial = min(initial, maxRate)
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(initial), gcc.SendSideBWEMinBitrate(minBitrate),
			gcc.SendSideBWEMaxBitrate(maxRate), gcc.SendSideBWEPacer(newPassPacer()), gcc.WithLoggerFactory(quiet))
	})
	if err != nil {
		return err
	}
	f.OnNewPeerConnection(func(_ string, bwe cc.BandwidthEstimator) { e.lastBWE = bwe })
	ir.Add(f)
	stamp, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return err
	}
	ir.Add(stamp)
	return nil
}

// newPeerConnection creates a PeerConnection on the shared sockets and returns its
// bandwidth estimator (nil with congestion control off).
func (e *Engine) newPeerConnection() (*webrtc.PeerConnection, cc.BandwidthEstimator, error) {
	e.newPC.Lock()
	defer e.newPC.Unlock()
	e.lastBWE = nil
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	bwe := e.lastBWE
	e.lastBWE = nil
	return pc, bwe, err
}

// MediaAddrs are the local addresses media arrives at: one UDP address per gathered local
// address of the shared UDP port, and the ICE-TCP listener when enabled.
func (e *Engine) MediaAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range e.udp.GetListenAddresses() {
		if u, ok := a.(*net.UDPAddr); ok {
			out = append(out, u.AddrPort())
		}
	}
	if e.tcpLn != nil {
		if t, ok := e.tcpLn.Addr().(*net.TCPAddr); ok {
			out = append(out, t.AddrPort())
		}
	}
	return out
}

// Close releases the sockets. Transports must be closed first.
func (e *Engine) Close() {
	if e.tcp != nil {
		_ = e.tcp.Close()
	}
	if e.tcpLn != nil {
		_ = e.tcpLn.Close()
	}
	if e.udp != nil {
		_ = e.udp.Close()
	}
}
