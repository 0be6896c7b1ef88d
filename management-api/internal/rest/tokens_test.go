package rest

import (
	"testing"

	"github.com/conclave-rtc/conclave/common/cluster"
)

func TestTokensPortalAddress(t *testing.T) {
	tests := []struct {
		w      cluster.Worker
		host   string
		secure bool
	}{
		{cluster.Worker{Host: "10.0.0.1:8080"}, "10.0.0.1:8080", false},
		{cluster.Worker{Host: "[fe80::1]:8080", Secure: true}, "[fe80::1]:8080", true},
		{cluster.Worker{Host: "10.0.0.1:8080", ViaHost: "https://a.example:443"}, "a.example:443", true},
		{cluster.Worker{Host: "10.0.0.1:8080", Secure: true, ViaHost: "http://a.example:80"}, "a.example:80", false},
		{cluster.Worker{ViaHost: "a.example:1"}, "a.example:1", false},
	}
	for _, tt := range tests {
		host, secure := portalAddress(tt.w)
		if host != tt.host || secure != tt.secure {
			t.Fatalf("%+v → %s %v", tt.w, host, secure)
		}
	}
}
