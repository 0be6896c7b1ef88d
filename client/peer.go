package client

import (
	"context"
	"fmt"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// buildAPI returns Options.API or a default API: pion's default codecs and interceptors
// (NACK, RTCP reports, TWCC), restricted to loopback when asked.
func buildAPI(opts Options) (*webrtc.API, error) {
	if opts.API != nil {
		return opts.API, nil
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("client: codecs: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("client: interceptors: %w", err)
	}
	var se webrtc.SettingEngine
	if opts.LoopbackOnly {
		LoopbackSettings(&se)
	}
	if opts.ICETransportPolicy == webrtc.ICETransportPolicyRelay {
		RelayOnlySettings(&se)
	}
	if opts.ConfigureSettings != nil {
		opts.ConfigureSettings(&se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// RelayOnlySettings suits a relay-only ICE policy: pion waits 2 s before it nominates a
// relayed pair, in case a better one turns up, which with only relayed candidates never
// happens; the wait was all of a relayed client's join time (2 s against 45 ms over ICE-TCP).
func RelayOnlySettings(se *webrtc.SettingEngine) {
	se.SetRelayAcceptanceMinWait(0)
}

// LoopbackSettings restricts ICE to UDP4 host candidates on loopback addresses and turns
// mDNS off, so no packet leaves the machine.
func LoopbackSettings(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
}

// newPeerConnection creates a PeerConnection for one publication or subscription.
func (c *Client) newPeerConnection() (*webrtc.PeerConnection, error) {
	ice := c.opts.ICEServers
	if len(ice) == 0 && !c.opts.LoopbackOnly { // a relay is no use on loopback
		c.mu.Lock()
		ice = c.iceServers
		c.mu.Unlock()
	}
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{
		ICEServers:         ice,
		ICETransportPolicy: c.opts.ICETransportPolicy,
		BundlePolicy:       webrtc.BundlePolicyMaxBundle,
	})
	if err != nil {
		return nil, fmt.Errorf("client: peer connection: %w", err)
	}
	return pc, nil
}

// createOffer makes the offer, sets it locally and waits for ICE gathering to finish, so
// the returned SDP carries every candidate. The client does not trickle: OWT servers
// answer with all their candidates too (owt-protocol.md §4.5), and on loopback gathering
// takes milliseconds.
func createOffer(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("client: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("client: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("client: ICE gathering: %w", ctx.Err())
	}
	return pc.LocalDescription().SDP, nil
}

// SelectedCandidatePair returns the ICE candidate pair pc sends and receives on, or nil
// before ICE has selected one (every transceiver of a bundled PeerConnection shares it).
func SelectedCandidatePair(pc *webrtc.PeerConnection) *webrtc.ICECandidatePair {
	for _, t := range pc.GetTransceivers() {
		var dtls *webrtc.DTLSTransport
		if s := t.Sender(); s != nil {
			dtls = s.Transport()
		}
		if r := t.Receiver(); dtls == nil && r != nil {
			dtls = r.Transport()
		}
		if dtls == nil {
			continue
		}
		if p, err := dtls.ICETransport().GetSelectedCandidatePair(); err == nil && p != nil {
			return p
		}
	}
	return nil
}

// NewAPI returns the pion API a Client with opts uses (Options.API, or pion's default codecs
// and interceptors with LoopbackOnly, ICETransportPolicy and ConfigureSettings applied), for
// peers that signal otherwise, such as the WHIP and WHEP clients of package client/whip.
func NewAPI(opts Options) (*webrtc.API, error) { return buildAPI(opts) }

// OfferOnlyTrackCodec restricts a sending transceiver's offer to the codec its track sends
// (for tracks of pre-encoded media, which cannot switch codec), as Publish does.
func OfferOnlyTrackCodec(tr *webrtc.RTPTransceiver, t webrtc.TrackLocal) error {
	return offerOnlyTrackCodec(tr, t)
}
