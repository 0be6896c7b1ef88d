package transport

import (
	"fmt"
	"log/slog"
	"net"
	"slices"

	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
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
}

// Engine holds the shared sockets and the pion API every transport is built from.
type Engine struct {
	api   *webrtc.API
	udp   *ice.MultiUDPMuxDefault
	tcpLn net.Listener
	tcp   ice.TCPMux
}

// NewEngine opens the UDP (and optional TCP) sockets and builds the API. Close releases
// them.
func NewEngine(cfg NetConfig, log *slog.Logger) (*Engine, error) {
	lf := slogFactory{log: log}
	filter := func(name string) bool { return len(cfg.Interfaces) == 0 || slices.Contains(cfg.Interfaces, name) }
	opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithInterfaceFilter(filter),
		ice.UDPMuxFromPortWithLogger(lf.NewLogger("udpmux"))}
	if cfg.IncludeLoopback {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback())
	}
	udp, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, opts...)
	if err != nil {
		return nil, fmt.Errorf("transport: udp mux on port %d: %w", cfg.UDPPort, err)
	}
	e := &Engine{udp: udp}
	if cfg.TCPPort > 0 {
		if e.tcpLn, err = net.Listen("tcp", fmt.Sprintf(":%d", cfg.TCPPort)); err != nil {
			_ = udp.Close()
			return nil, fmt.Errorf("transport: ice-tcp listen on port %d: %w", cfg.TCPPort, err)
		}
		e.tcp = webrtc.NewICETCPMux(lf.NewLogger("tcpmux"), e.tcpLn, 8)
	}
	se, err := e.settings(cfg, filter, lf)
	if err == nil {
		e.api, err = newAPI(se)
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// settings builds the SettingEngine: shared muxes, interface filter, loopback, NAT 1:1, no
// mDNS.
func (e *Engine) settings(cfg NetConfig, filter func(string) bool, lf slogFactory) (webrtc.SettingEngine, error) {
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
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(cfg.NAT1To1IPs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.NAT1To1IPs, AsCandidateType: webrtc.ICECandidateTypeHost})
		if err != nil {
			return se, fmt.Errorf("transport: nat 1:1 ips: %w", err)
		}
	}
	return se, nil
}

// newAPI registers the codecs, header extensions and interceptors: the NACK generator
// (publishers), RTCP reports, TWCC feedback and header extension. Subscribers' NACKs are
// answered by the SFU from each source's shared history (sfu.DownTrack), not by pion's
// per-track responder, which kept a copy of every packet per subscriber.
func newAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
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
		func() error { return webrtc.ConfigureTWCCHeaderExtensionSender(m, ir) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("transport: configure api: %w", err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

// newPeerConnection creates a PeerConnection on the shared sockets.
func (e *Engine) newPeerConnection() (*webrtc.PeerConnection, error) {
	return e.api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
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
