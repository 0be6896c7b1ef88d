package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/conclave-rtc/conclave/common/config"
)

// TestRecordingFromConfigDir checks that the recording directory is absolute: a relative
// dataDir (the default ./data) used to give relative file names that depend on where the
// agent was started.
func TestRecordingFromConfigDir(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	for _, tc := range []struct{ dataDir, dir, want string }{
		{"./data", "", filepath.Join(wd, "data", "recordings")},
		{"/var/lib/conclave", "", "/var/lib/conclave/recordings"},
		{"./data", "/srv/recordings", "/srv/recordings"},
		{"./data", "rec", filepath.Join(wd, "rec")},
	} {
		c.DataDir, c.Recording.Dir = tc.dataDir, tc.dir
		if got := FromConfig(c, "h").Dir; got != tc.want {
			t.Errorf("dataDir %q, recording.dir %q: Dir = %q, want %q", tc.dataDir, tc.dir, got, tc.want)
		}
	}
}
