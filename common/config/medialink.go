package config

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"
)

// MediaLinkAddr is the address an agent's media-link server listens on: webrtc.mediaLinkListen
// when set, else one derived from the deployment, so that media links never listen on more
// interfaces than the processes already use to talk to each other:
//
//   - on the in-process bus (the all-in-one with embedded defaults) only agents of this
//     process dial the listener: 127.0.0.1:0;
//   - on RabbitMQ, agents on other machines dial it over the network the deployment uses: the
//     address of the interface this machine reaches the bus through (the kernel's route to
//     the bus host), port 0. A bus on 127.0.0.1 gives 127.0.0.1, one on [::1] gives [::1], a
//     bus at 10.0.0.7 gives this machine's address on that subnet.
//
// Finding the route sends nothing (a connected UDP socket); it only fails when the bus host
// does not resolve or has no route, and the error then says to set webrtc.mediaLinkListen.
func (c Config) MediaLinkAddr(ctx context.Context) (string, error) {
	if c.WebRTC.MediaLinkListen != "" {
		return c.WebRTC.MediaLinkListen, nil
	}
	if c.Bus.URL == "" {
		return "127.0.0.1:0", nil
	}
	target, err := busHostPort(c.Bus.URL)
	if err == nil {
		var ip net.IP
		if ip, err = routeSource(ctx, target); err == nil {
			return net.JoinHostPort(ip.String(), "0"), nil
		}
	}
	return "", fmt.Errorf("webrtc.mediaLinkListen is empty and the address that reaches the bus is unknown (%v): set it", err)
}

// ResolveMediaLinks sets webrtc.mediaLinkListen and mediaLinkAdvertise to the addresses every
// agent of the process uses (MediaLinkAddr, MediaLinkAdvertiseAddr).
func (c *Config) ResolveMediaLinks(ctx context.Context) error {
	listen, err := c.MediaLinkAddr(ctx)
	if err != nil {
		return err
	}
	advertise, err := c.MediaLinkAdvertiseAddr(ctx, listen)
	if err != nil {
		return err
	}
	c.WebRTC.MediaLinkListen, c.WebRTC.MediaLinkAdvertise = listen, advertise
	return nil
}

// MediaLinkAdvertiseAddr is the address other agents dial for a media-link server listening
// on listen (MediaLinkAddr): webrtc.mediaLinkAdvertise when set; for a listener on every
// address (0.0.0.0 or [::]) on RabbitMQ, the address of the interface that reaches the bus
// with port 0, which the server replaces with its listener's port (the machine's host name,
// the fallback, works only where it resolves to the right address on every other machine);
// else "" (the listen address itself is dialled).
func (c Config) MediaLinkAdvertiseAddr(ctx context.Context, listen string) (string, error) {
	if c.WebRTC.MediaLinkAdvertise != "" || c.Bus.URL == "" {
		return c.WebRTC.MediaLinkAdvertise, nil
	}
	host, _, err := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsUnspecified() {
		return "", nil
	}
	target, err := busHostPort(c.Bus.URL)
	if err == nil {
		var ip net.IP
		if ip, err = routeSource(ctx, target); err == nil {
			return net.JoinHostPort(ip.String(), "0"), nil
		}
	}
	return "", fmt.Errorf("webrtc.mediaLinkListen %s is on every address and the address that reaches the bus is unknown (%v): set webrtc.mediaLinkAdvertise", listen, err)
}

// busHostPort is the host:port of an AMQP URL (default ports 5672, amqps 5671).
func busHostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("bus URL has no host")
	}
	port := u.Port()
	if port == "" {
		port = "5672"
		if u.Scheme == "amqps" {
			port = "5671"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// routeSource is the local address the kernel picks to reach target (host:port).
func routeSource(ctx context.Context, target string) (net.IP, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // bounds the name lookup
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", target)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP, nil
}
