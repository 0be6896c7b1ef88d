package config

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// deployDir holds the example configs and systemd units (deploy/README.md).
const deployDir = "../../deploy"

// TestDeployExamples loads every example config of deploy/config as a binary would (unknown
// keys and invalid values fail), and checks that every systemd unit starts a binary that
// scripts/build builds with an example config that exists.
func TestDeployExamples(t *testing.T) {
	configs, _ := filepath.Glob(filepath.Join(deployDir, "config", "*.yaml"))
	if len(configs) == 0 {
		t.Fatal("no example configs")
	}
	for _, path := range configs {
		if _, err := Load(path, nil); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	build, err := os.ReadFile("../../scripts/build")
	if err != nil {
		t.Fatal(err)
	}
	units, _ := filepath.Glob(filepath.Join(deployDir, "systemd", "*.service"))
	exec := regexp.MustCompile(`(?m)^ExecStart=/opt/conclave/bin/([a-z-]+) -config /etc/conclave/([a-z-]+\.yaml)$`)
	for _, path := range units {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := exec.FindSubmatch(b)
		if m == nil {
			t.Errorf("%s: no ExecStart of /opt/conclave/bin/<binary> -config /etc/conclave/<file>", path)
			continue
		}
		bin, cfg := string(m[1]), string(m[2])
		if !regexp.MustCompile(`/cmd/` + bin + `[\s)]`).Match(build) {
			t.Errorf("%s starts %s, which scripts/build does not build", path, bin)
		}
		if _, err := os.Stat(filepath.Join(deployDir, "config", cfg)); err != nil {
			t.Errorf("%s: no example config %s", path, cfg)
		}
	}
	if len(units) != len(configs) {
		t.Errorf("%d units for %d example configs: one of each per role", len(units), len(configs))
	}
}
