package egress

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func TestEgressAllowed(t *testing.T) {
	p, err := New([]string{"10.1.0.0/16", "127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true, "93.184.216.34": true,
		"127.0.0.1": true, "127.0.0.2": false, "::1": false, "10.1.2.3": true, "10.2.0.1": false,
		"192.168.1.1": false, "172.16.0.1": false, "172.32.0.1": true, "169.254.169.254": false,
		"100.100.100.200": false, "0.0.0.0": false, "::": false, "224.0.0.1": false, "255.255.255.255": false,
		"fd00:ec2::254": false, "fe80::1": false, "ff02::1": false,
		"::ffff:127.0.0.1": true, "::ffff:192.168.0.1": false, "::ffff:8.8.8.8": true,
		"64:ff9b::a9fe:a9fe": false, "64:ff9b::808:808": true, "2002:7f00:1::": false, "240.0.0.1": false,
	}
	for addr, want := range tests {
		if got := p.Allowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", addr, got, want)
		}
	}
	var zero *Policy
	if zero.Allowed(netip.MustParseAddr("127.0.0.1")) || !zero.Allowed(netip.MustParseAddr("8.8.8.8")) {
		t.Error("the nil policy is the default policy")
	}
	if _, err := New([]string{"not-an-address"}, nil); err == nil {
		t.Error("bad allow entry accepted")
	}
}

func TestEgressCheckPinsTheAddress(t *testing.T) {
	dns := map[string][]netip.Addr{
		"public.example":   {netip.MustParseAddr("93.184.216.34")},
		"rebind.example":   {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")},
		"metadata.example": {netip.MustParseAddr("169.254.169.254")},
		"v6.example":       {netip.MustParseAddr("2606:4700::1111")},
	}
	p, _ := New(nil, func(_ context.Context, h string) ([]netip.Addr, error) { return dns[h], nil })
	tests := []struct {
		in, url, tcurl, host string
		err                  error
	}{
		{"rtmp://public.example/live/key", "rtmp://93.184.216.34/live/key", "rtmp://public.example/live", "", nil},
		{"rtmp://public.example:1936/app/inst/key?t=1", "rtmp://93.184.216.34:1936/app/inst/key?t=1", "rtmp://public.example:1936/app", "", nil},
		{"http://public.example/hls/index.m3u8", "http://93.184.216.34/hls/index.m3u8", "", "public.example", nil},
		{"rtsp://v6.example:554/cam", "rtsp://[2606:4700::1111]:554/cam", "", "", nil},
		{"https://public.example/x.mpd", "https://public.example/x.mpd", "", "", nil},
		{"rtmp://8.8.8.8/live/k", "rtmp://8.8.8.8/live/k", "", "", nil},
		{"rtmp://rebind.example/live/k", "", "", "", ErrRefused},
		{"http://metadata.example/latest/meta-data/", "", "", "", ErrRefused},
		{"http://127.0.0.1:3000/healthz", "", "", "", ErrRefused},
		{"rtsp://[::1]:1/x", "", "", "", ErrRefused},
		{"rtmp://nowhere.example/x", "", "", "", ErrUnresolved},
		{"::nonsense", "", "", "", ErrRefused},
	}
	for _, tc := range tests {
		got, err := p.Check(context.Background(), tc.in)
		if !errors.Is(err, tc.err) || (err == nil && (got.URL != tc.url || got.RTMPTCURL != tc.tcurl || got.HTTPHost != tc.host)) {
			t.Errorf("Check(%q) = %+v, %v; want %q tcurl %q host %q, %v", tc.in, got, err, tc.url, tc.tcurl, tc.host, tc.err)
		}
	}
}

// FuzzEgressCheck: no URL makes Check panic, and an accepted one is pinned to an allowed
// address.
func FuzzEgressCheck(f *testing.F) {
	f.Add("rtmp://127.0.0.1:1935/live/x")
	f.Add("http://[::ffff:a9fe:a9fe]/")
	f.Add("rtsp://public.example:554/s")
	p, _ := New(nil, func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	})
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := p.Check(context.Background(), raw)
		if err == nil && !p.Allowed(got.Addr) {
			t.Fatalf("%q accepted with %s", raw, got.Addr)
		}
	})
}
