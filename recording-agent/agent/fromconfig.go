package agent

import (
	"path/filepath"

	"github.com/conclave-rtc/conclave/common/config"
)

// FromConfig returns the agent configuration for a process configuration: the recording
// directory (recording.dir, default <dataDir>/recordings) and capacity; everything else takes
// the defaults documented on Config.
func FromConfig(c config.Config, host string) Config {
	dir := c.Recording.Dir
	if dir == "" {
		dir = filepath.Join(c.DataDir, "recordings")
	}
	return Config{Host: host, Heartbeat: c.Cluster.Heartbeat, Dir: dir, Capacity: c.Recording.Capacity}
}
