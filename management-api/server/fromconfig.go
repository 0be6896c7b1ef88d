package server

import "github.com/conclave-rtc/conclave/common/config"

// FromConfig returns the server configuration for a process configuration: the management
// section over DefaultConfig, with the given super service id.
func FromConfig(c config.Config, superServiceID string) Config {
	s := DefaultConfig()
	s.Listen = c.Management.Listen
	s.BodyLimit = c.Management.BodyLimit
	s.ReplayWindow = c.Management.ReplayWindow
	s.CacheTTL = c.Management.CacheTTL
	s.RateLimit = c.Management.RateLimit
	s.SuperServiceID = superServiceID
	if c.ShutdownTimeout > 0 {
		s.ShutdownTimeout = c.ShutdownTimeout
	}
	return s
}
