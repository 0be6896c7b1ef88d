package load

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "super-service.json"), []byte(`{"id":"sid","key":"skey"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := []string{"-service", "s", "-key", "k"}
	tests := []struct {
		name  string
		args  []string
		check func(Config) bool
		err   bool
	}{
		{"defaults", creds, func(c Config) bool {
			return c.Rooms == 1 && c.Publishers == 1 && c.Subscribers == 1 && c.Video == "vp8" && c.Audio == "opus" && c.Duration == 10*time.Second
		}, false},
		{"everything", append([]string{"-rooms", "3", "-publishers", "2", "-subscribers", "5", "-video", "h264", "-audio", "none",
			"-join-rate", "2.5", "-duration", "1s", "-json", "-mesh", "-max-joining", "1", "-loopback=false"}, creds...), func(c Config) bool {
			return c.Rooms == 3 && c.Publishers == 2 && c.Subscribers == 5 && c.Video == "h264" && c.Audio == "none" &&
				c.JoinRate == 2.5 && c.Duration == time.Second && c.JSON && c.Mesh && c.MaxJoining == 1 && !c.Loopback
		}, false},
		{"data dir", []string{"-data", dir}, func(c Config) bool { return c.ServiceID == "sid" && c.Key == "skey" }, false},
		{"no credentials", nil, nil, true},
		{"missing data dir", []string{"-data", filepath.Join(dir, "nope")}, nil, true},
		{"bad video", append([]string{"-video", "av1"}, creds...), nil, true},
		{"no media", append([]string{"-video", "none", "-audio", "none"}, creds...), nil, true},
		{"no rooms", append([]string{"-rooms", "0"}, creds...), nil, true},
		{"negative rate", append([]string{"-join-rate", "-1"}, creds...), nil, true},
		{"ice-tcp", append([]string{"-tcp", "-loopback=false"}, creds...), func(c Config) bool { return c.TCP && !c.Loopback }, false},
		{"ice-tcp on loopback", append([]string{"-tcp"}, creds...), nil, true},
		{"ice-tcp and relay", append([]string{"-tcp", "-relay", "-loopback=false"}, creds...), nil, true},
		{"stray argument", append(creds, "extra"), nil, true},
		{"unknown flag", []string{"-nope"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseFlags(tt.args, io.Discard)
			if tt.err {
				if err == nil {
					t.Fatalf("accepted: %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
	if _, err := ParseFlags([]string{"-rooms", "0", "-service", "s", "-key", "k"}, io.Discard); !errors.Is(err, ErrUsage) {
		t.Fatalf("error %v is not ErrUsage", err)
	}
}
