package agent

import (
	"fmt"
	"time"
)

// Defaults of Config.
const (
	DefaultDir           = "data/recordings"
	DefaultCapacity      = 8
	DefaultMinFreeBytes  = 512 << 20
	DefaultFlushInterval = time.Second
	DefaultStartWait     = 1500 * time.Millisecond
)

// Config is the agent's configuration. Zero fields take the defaults above.
type Config struct {
	Host      string // this machine's name or address, part of the worker id
	Heartbeat time.Duration
	// Dir is the recording directory (the binaries pass <dataDir>/recordings). It is
	// created if missing.
	Dir string
	// Capacity is the number of simultaneous recordings; the announced load is
	// active/Capacity.
	Capacity int
	// MinFreeBytes: rec.start is refused while the recording directory's file system has
	// less free space.
	MinFreeBytes int64
	// FlushInterval is the longest time media stays in memory before reaching the file.
	FlushInterval time.Duration
	// StartWait bounds how long rec.start waits for the first media before answering
	// anyway (never beyond the caller's deadline).
	StartWait time.Duration
	// FFmpeg is the ffmpeg binary used for mp4 (default "ffmpeg" from PATH).
	FFmpeg string
}

func (c *Config) defaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	if c.MinFreeBytes == 0 {
		c.MinFreeBytes = DefaultMinFreeBytes
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.StartWait <= 0 {
		c.StartWait = DefaultStartWait
	}
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
}

func (c *Config) validate() error {
	switch {
	case c.Capacity < 0:
		return fmt.Errorf("%w: capacity must be positive", ErrConfig)
	case c.MinFreeBytes < 0:
		return fmt.Errorf("%w: minFreeBytes must not be negative", ErrConfig)
	}
	return nil
}
