package config

import (
	"context"
	"net"
	"strings"
	"testing"
)

func TestMediaLinkAddr(t *testing.T) {
	tests := []struct {
		name, listen, bus, want string
	}{
		{"configured", "0.0.0.0:7000", "amqp://guest:guest@127.0.0.1:5672/", "0.0.0.0:7000"},
		{"in-process bus", "", "", "127.0.0.1:0"},
		{"bus on loopback", "", "amqp://guest:guest@127.0.0.1:5672/", "127.0.0.1:0"},
		{"bus on another loopback address", "", "amqp://127.0.0.9/", "127.0.0.1:0"},
		{"amqps default port", "", "amqps://u:p@127.0.0.1/vhost", "127.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.WebRTC.MediaLinkListen, c.Bus.URL = tt.listen, tt.bus
			got, err := c.MediaLinkAddr(context.Background())
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("bus on IPv6 loopback", func(t *testing.T) {
		if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		} else {
			_ = ln.Close()
		}
		c := Default()
		c.Bus.URL = "amqp://[::1]:5672/"
		if got, err := c.MediaLinkAddr(context.Background()); err != nil || got != "[::1]:0" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	for _, bus := range []string{"amqp:///vhost", "amqp://no-such-host.invalid/"} {
		c := Default()
		c.Bus.URL = bus
		if got, err := c.MediaLinkAddr(context.Background()); err == nil || !strings.Contains(err.Error(), "set it") {
			t.Errorf("bus %s: got %q, %v; want an error asking for webrtc.mediaLinkListen", bus, got, err)
		}
	}
}

func TestMediaLinkAdvertiseAddr(t *testing.T) {
	tests := []struct {
		name, advertise, bus, listen, want string
	}{
		{"configured", "media.example:7000", "amqp://127.0.0.1/", "0.0.0.0:0", "media.example:7000"},
		{"in-process bus", "", "", "0.0.0.0:0", ""},
		{"one address", "", "amqp://127.0.0.1/", "127.0.0.1:0", ""},
		{"every IPv4 address", "", "amqp://127.0.0.1/", "0.0.0.0:7000", "127.0.0.1:0"},
		{"every address", "", "amqp://127.0.0.1/", "[::]:0", "127.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.WebRTC.MediaLinkAdvertise, c.Bus.URL = tt.advertise, tt.bus
			got, err := c.MediaLinkAdvertiseAddr(context.Background(), tt.listen)
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	c := Default()
	c.Bus.URL, c.WebRTC.MediaLinkListen = "amqp://127.0.0.1/", "0.0.0.0:7000"
	if err := c.ResolveMediaLinks(context.Background()); err != nil ||
		c.WebRTC.MediaLinkListen != "0.0.0.0:7000" || c.WebRTC.MediaLinkAdvertise != "127.0.0.1:0" {
		t.Fatalf("ResolveMediaLinks: %v, listen %q, advertise %q", err, c.WebRTC.MediaLinkListen, c.WebRTC.MediaLinkAdvertise)
	}
	c = Default()
	c.Bus.URL = "amqp://no-such-host.invalid/"
	if got, err := c.MediaLinkAdvertiseAddr(context.Background(), "0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "mediaLinkAdvertise") {
		t.Errorf("unresolvable bus: got %q, %v; want an error asking for webrtc.mediaLinkAdvertise", got, err)
	}
}
