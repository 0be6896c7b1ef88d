package agent

import (
	"path/filepath"

	"github.com/conclave-rtc/conclave/common/config"
)

// FromConfig returns the agent configuration for a process configuration: the recording
// directory (recording.dir, default <dataDir>/recordings, made absolute so that the file
// names the REST API reports and the agent logs at start do not depend on the directory the
// agent was started in) and capacity; everything else takes the defaults documented on Config.
func FromConfig(c config.Config, host string) Config {
	dir := c.Recording.Dir
	if dir == "" {
		dir = filepath.Join(c.DataDir, "recordings")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return Config{Host: host, Heartbeat: c.Cluster.Heartbeat, Dir: dir, Capacity: c.Recording.Capacity}
}
