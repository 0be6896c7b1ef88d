package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// TestE2EREADMEShellExample runs the README's management-API shell block, exactly as written,
// with bash, curl and openssl next to the data directory of a fresh all-in-one: it must create
// a room, list it and print a join token for it.
func TestE2EREADMEShellExample(t *testing.T) {
	block := readmeBlock(t, "super-service.json")
	dir := t.TempDir()
	mport, pport := e2eutil.FreePort(t), e2eutil.FreePort(t)
	portalHost := fmt.Sprintf("127.0.0.1:%d", pport)
	p := e2eutil.Start(t, bins.Path(t, "conclave"), nil,
		"CONCLAVE_DATA_DIR="+filepath.Join(dir, "data"),
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN="+portalHost, "CONCLAVE_PORTAL_PUBLIC_HOST="+portalHost,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_SUPER_SERVICE_ID=", "CONCLAVE_SUPER_SERVICE_KEY=",
		"CONCLAVE_TURN_LISTEN=127.0.0.1:0")
	api := fmt.Sprintf("http://127.0.0.1:%d", mport)
	e2eutil.WaitHTTP(t, api+"/healthz", 30*time.Second, p)

	cmd := exec.Command("bash", "-c", block)
	cmd.Dir = dir // the block reads data/super-service.json
	cmd.Env = append(os.Environ(), "API="+api, "CONCLAVE_DATA_DIR=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README block: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines (room id, room list, token), got:\n%s", out)
	}
	room, ok := strings.CutPrefix(lines[0], "room ")
	if !ok || !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(room) {
		t.Fatalf("no room id captured: %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "[") || !strings.Contains(lines[1], `"_id":"`+room+`"`) {
		t.Fatalf("room list without the new room: %s", lines[1])
	}
	checkToken(t, lines[2], portalHost)
}

// readmeBlock returns the README's ```sh block that contains marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(string(b), "```sh\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if strings.Contains(block, marker) {
			return block
		}
	}
	t.Fatalf("README has no sh block mentioning %s", marker)
	return ""
}
