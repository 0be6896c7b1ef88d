package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckListen(t *testing.T) {
	tests := []struct {
		addr        string
		allowRemote bool
		wantErr     bool
	}{
		{"127.0.0.1:27018", false, false},
		{"127.0.0.2:27018", false, false},
		{"[::1]:27018", false, false},
		{"localhost:27018", false, false},
		{":27018", false, true},
		{"0.0.0.0:27018", false, true},
		{"[::]:27018", false, true},
		{"192.0.2.2:27018", false, true},
		{"example.com:27018", false, true},
		{"192.0.2.2:27018", true, false},
		{"no-port", false, true},
	}
	for _, tc := range tests {
		err := checkListen(tc.addr, tc.allowRemote)
		if (err != nil) != tc.wantErr {
			t.Errorf("checkListen(%q, %v) = %v, want error %v", tc.addr, tc.allowRemote, err, tc.wantErr)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for _, s := range []string{"error", "warn", "info", "INFO"} {
		if _, err := parseLevel(s); err != nil {
			t.Errorf("parseLevel(%q): %v", s, err)
		}
	}
	if _, err := parseLevel("debug"); err == nil {
		t.Error("parseLevel(debug) accepted")
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-listen", "0.0.0.0:27018"}, {"-log", "loud"}, {"extra"}} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}

func TestDataDir(t *testing.T) {
	want := filepath.Join(t.TempDir(), "a", "b")
	got, cleanup, err := dataDir(want)
	if err != nil || got != want {
		t.Fatalf("dataDir = %q, %v", got, err)
	}
	cleanup()
	if _, err := os.Stat(want); err != nil {
		t.Fatal("cleanup removed a user-given dir")
	}
	tmp, cleanup, err := dataDir("")
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatal("temporary dir not removed")
	}
	file := filepath.Join(t.TempDir(), "f")
	_ = os.WriteFile(file, nil, 0o600)
	if _, _, err := dataDir(file); err == nil {
		t.Fatal("dataDir accepted a file")
	}
}
