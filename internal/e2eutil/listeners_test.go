package e2eutil

import (
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
)

func TestParseProcAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0100007F:1F90", "127.0.0.1:8080"},
		{"00000000:0BB8", "0.0.0.0:3000"},
		{"00000000000000000000000001000000:0050", "[::1]:80"},
		{"0000000000000000FFFF00000100007F:0050", "127.0.0.1:80"},
	}
	for _, tt := range tests {
		got, err := parseProcAddr(tt.in)
		if err != nil || got.String() != tt.want {
			t.Errorf("%s: got %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "0100007F", "XX00007F:0050", "0100007F:XYZ", "01007F:0050"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestTCPListeners(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got, err := TCPListeners(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParseAddrPort(ln.Addr().String()); !slices.Contains(got, want) {
		t.Fatalf("listeners %v do not include %v", got, want)
	}
}
