package medialink

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/secret"
)

func TestMediaLinkAdvertisedAddress(t *testing.T) {
	for _, tc := range []struct{ addr, host, want string }{
		{"0.0.0.0:4000", "media-1", "media-1:4000"},
		{"[::]:4000", "media-1", "media-1:4000"},
		{"[::]:4000", "fd00::1", "[fd00::1]:4000"},
		{"0.0.0.0:4000", "", "0.0.0.0:4000"},
		{"127.0.0.1:4000", "media-1", "127.0.0.1:4000"},
		{"not an address", "media-1", "not an address"},
	} {
		if got := advertised(tc.addr, tc.host); got != tc.want {
			t.Errorf("advertised(%q, %q) = %q, want %q", tc.addr, tc.host, got, tc.want)
		}
	}
	// A listener on one address advertises it, whatever Host says; Advertise wins over both.
	for _, tc := range []struct{ advertise, want string }{{"", ""}, {"media.example:7000", "media.example:7000"}, {"10.1.2.3:0", "10.1.2.3:"}} {
		s, err := NewServer(Config{Secret: testSecret, Listen: "127.0.0.1:0", Advertise: tc.advertise, Host: "media-1"}, &fakeExporter{})
		if err != nil {
			t.Fatal(err)
		}
		addr, err := s.Listen()
		if err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		ln := s.ln.Addr().String()
		s.mu.Unlock()
		want := tc.want
		if want == "" {
			want = ln
		} else if strings.HasSuffix(want, ":") { // port 0: the listener's port
			_, port, _ := net.SplitHostPort(ln)
			want += port
		}
		if addr != want || s.Addr() != want {
			t.Errorf("advertise %q: Listen = %q, Addr = %q, want %q", tc.advertise, addr, s.Addr(), want)
		}
		_ = s.ln.Close()
	}
}

func TestMediaLinkSecrets(t *testing.T) {
	if DeriveSecret(secret.Key{}) != nil {
		t.Fatal("a zero cluster key derived a ticket key")
	}
	var key secret.Key
	copy(key[:], bytes.Repeat([]byte{7}, len(key)))
	a, b := DeriveSecret(key), DeriveSecret(key)
	if len(a) != SecretSize || !bytes.Equal(a, b) {
		t.Fatalf("derived %x / %x", a, b)
	}
	if got, err := secretOrRandom(a); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("secretOrRandom(set) = %x, %v", got, err)
	}
	r1, err1 := secretOrRandom(nil)
	r2, err2 := secretOrRandom(nil)
	if err1 != nil || err2 != nil || len(r1) != SecretSize || bytes.Equal(r1, r2) {
		t.Fatalf("random keys %x (%v) / %x (%v)", r1, err1, r2, err2)
	}
}

func TestMediaLinkAgentServerDefaults(t *testing.T) {
	s, err := NewAgentServer(Config{}, &fakeExporter{})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Listen != "127.0.0.1:0" || len(s.cfg.Secret) != SecretSize {
		t.Fatalf("listen %q, secret of %d bytes", s.cfg.Listen, len(s.cfg.Secret))
	}
	s, err = NewAgentServer(Config{Listen: "127.0.0.1:0", Secret: testSecret}, &fakeExporter{})
	if err != nil || s.cfg.Listen != "127.0.0.1:0" || !bytes.Equal(s.cfg.Secret, testSecret) {
		t.Fatalf("configured server: %+v, %v", s, err)
	}
	if _, err := NewAgentServer(Config{Secret: []byte("short")}, &fakeExporter{}); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

// TestMediaLinkOfferAndImport runs rtc.export over a local bus: an agent answering with
// Offer, and Import dialling the offered link.
func TestMediaLinkOfferAndImport(t *testing.T) {
	s := startServer(t, &fakeExporter{})
	b := local.New(local.NewHub(local.Config{}))
	t.Cleanup(func() { _ = b.Close() })
	if _, err := b.Serve("holder", func(_ context.Context, req bus.Request) (any, error) {
		var r protocol.RTCExport
		if err := req.Decode(&r); err != nil {
			return nil, err
		}
		if r.TrackID == "gone" {
			return nil, errs.NotFound("Track gone does NOT exist")
		}
		return s.Offer(r.TrackID)
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	link, info, err := Import(ctx, b, protocol.TrackRef{Agent: "holder", TrackID: "track-1"})
	if err != nil {
		t.Fatal(err)
	}
	link.Close("done")
	if info.TrackID != "track-1" || info.MimeType != "video/VP8" {
		t.Fatalf("info = %+v", info)
	}
	var e *errs.Error
	if _, _, err := Import(ctx, b, protocol.TrackRef{Agent: "holder", TrackID: "gone"}); !errors.As(err, &e) || e.Status != http.StatusNotFound {
		t.Fatalf("export refusal = %v", err)
	}
	// The holder offers a ticket, but the exporter refuses the track: a cluster error.
	_, _, err = Import(ctx, b, protocol.TrackRef{Agent: "holder", TrackID: "track-2"})
	if !errors.As(err, &e) || e.Code != errs.CodeCluster || !strings.HasPrefix(e.Message, "import of track track-2 failed: ") ||
		!strings.Contains(e.Message, "does NOT exist") {
		t.Fatalf("refused link = %v", err)
	}
	if _, _, err := Import(ctx, b, protocol.TrackRef{Agent: "nobody", TrackID: "track-1"}); err == nil {
		t.Fatal("import from a missing agent succeeded")
	}
}
