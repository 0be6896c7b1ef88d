package load

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// Config are the settings of one load run.
type Config struct {
	API       string `json:"api"` // management API base URL
	ServiceID string `json:"serviceId"`
	Key       string `json:"-"`

	Rooms       int    `json:"rooms"`
	Publishers  int    `json:"publishers"`  // per room
	Subscribers int    `json:"subscribers"` // per room
	Video       string `json:"video"`       // vp8, h264 or none
	Audio       string `json:"audio"`       // opus or none
	// Browser makes publishers send video as a browser does (media.BrowserTrack): a
	// resolution ramp 320x240 → 640x480, 15-bit VP8 picture IDs, padding probes; Loss drops
	// that fraction of their video packets for good (only with Browser).
	Browser bool    `json:"browser"`
	Loss    float64 `json:"loss"`
	// Mesh makes every publisher also subscribe to the other publishers of its room.
	Mesh bool `json:"mesh"`
	// Mixed creates the rooms with autoMix (every publication is mixed into the default view)
	// and makes the subscribers subscribe to the mixed stream <roomId>-common only.
	Mixed bool `json:"mixed"`

	JoinRate   float64       `json:"joinRate"`   // participant joins started per second; 0 = no pacing
	MaxJoining int           `json:"maxJoining"` // joins in progress at once; 0 = no limit
	Jitter     time.Duration `json:"jitter"`     // extra random delay (0..Jitter) before each subscriber's join
	// LeaveAfterJoin makes each subscriber leave as soon as it has its first frames (for
	// join latency runs without a growing audience).
	LeaveAfterJoin bool `json:"leaveAfterJoin"`

	Duration    time.Duration `json:"duration"`    // the steady-state window after every join
	Warmup      time.Duration `json:"warmup"`      // pause between the last join and the window
	JoinTimeout time.Duration `json:"joinTimeout"` // token in hand → first frame of every subscription

	Recordings int `json:"recordings"` // mkv recordings started over REST once the publishers are up
	ServerPID  int `json:"serverPid"`  // the server process to observe (same machine); 0 = none

	Loopback bool `json:"loopback"` // ICE on loopback addresses only
	Relay    bool `json:"relay"`    // ICE over relayed (TURN) candidates only
	TCP      bool `json:"tcp"`      // ICE over TCP only (ICE-TCP to the server's webrtc.tcpPort)
	JSON     bool `json:"json"`     // machine-readable report on stdout
	Quiet    bool `json:"quiet"`    // no per-second progress
}

// DefaultConfig returns the defaults of the flags.
func DefaultConfig() Config {
	return Config{Rooms: 1, Publishers: 1, Subscribers: 1, Video: "vp8", Audio: "opus",
		JoinRate: 10, Duration: 10 * time.Second, Warmup: 2 * time.Second, JoinTimeout: 20 * time.Second,
		Loopback: runtime.GOOS == "linux"}
}

// ParseFlags parses the arguments of `conclave load`. With -data, the credentials come from
// <dir>/super-service.json (written by the all-in-one binary) unless -service is given.
func ParseFlags(args []string, stderr io.Writer) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("conclave load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var data string
	fs.StringVar(&c.API, "api", "http://127.0.0.1:3000", "management API URL")
	fs.StringVar(&c.ServiceID, "service", "", "service id for MAuth")
	fs.StringVar(&c.Key, "key", "", "service key for MAuth")
	fs.StringVar(&data, "data", "", "read -service and -key from `DIR`/super-service.json (all-in-one data directory)")
	fs.IntVar(&c.Rooms, "rooms", c.Rooms, "rooms to create")
	fs.IntVar(&c.Publishers, "publishers", c.Publishers, "publishers per room")
	fs.IntVar(&c.Subscribers, "subscribers", c.Subscribers, "subscribers per room (each subscribes to every publisher of its room)")
	fs.StringVar(&c.Video, "video", c.Video, "published video: vp8, h264 or none")
	fs.StringVar(&c.Audio, "audio", c.Audio, "published audio: opus or none")
	fs.BoolVar(&c.Browser, "browser", false, "publish video like a browser: resolution ramp, padding probes, VP8 picture ids")
	fs.Float64Var(&c.Loss, "loss", 0, "with -browser: fraction of video packets lost before sending (0-0.5; repaired only by keyframes)")
	fs.BoolVar(&c.Mesh, "mesh", false, "publishers also subscribe to every other publisher of their room")
	fs.BoolVar(&c.Mixed, "mixed", false, "mix every publication into the room's view and subscribe to the mixed stream only")
	fs.Float64Var(&c.JoinRate, "join-rate", c.JoinRate, "joins started per second (0: all at once)")
	fs.IntVar(&c.MaxJoining, "max-joining", 0, "joins in progress at once (0: no limit; 1: sequential)")
	fs.DurationVar(&c.Jitter, "jitter", 0, "random extra delay (0..D) before each subscriber join")
	fs.BoolVar(&c.LeaveAfterJoin, "leave-after-join", false, "subscribers leave as soon as they have their first frames")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "steady-state measurement window after all joins")
	fs.DurationVar(&c.Warmup, "warmup", c.Warmup, "pause between the last join and the measurement window")
	fs.DurationVar(&c.JoinTimeout, "join-timeout", c.JoinTimeout, "limit from token to the first frames of a subscriber")
	fs.IntVar(&c.Recordings, "recordings", 0, "mkv recordings to start (round-robin over the publications)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process id: report its CPU and memory (same machine only)")
	fs.BoolVar(&c.Loopback, "loopback", c.Loopback, "ICE on loopback addresses only")
	fs.BoolVar(&c.Relay, "relay", false, "ICE over relayed candidates only, through the TURN servers the portal hands out (needs -loopback=false)")
	fs.BoolVar(&c.TCP, "tcp", false, "ICE over TCP only: active ICE-TCP to the server's passive candidates (webrtc.tcpPort; needs -loopback=false)")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&c.Quiet, "quiet", false, "no per-second progress on stderr")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	if data != "" && c.ServiceID == "" {
		id, key, err := ReadSuperService(data)
		if err != nil {
			return c, err
		}
		c.ServiceID, c.Key = id, key
	}
	return c, c.Validate()
}

// Validate checks the settings.
func (c Config) Validate() error {
	var bad []string
	if c.API == "" || c.ServiceID == "" || c.Key == "" {
		bad = append(bad, "-api, -service and -key (or -data) are required")
	}
	if c.Rooms < 1 || c.Publishers < 1 || c.Subscribers < 0 {
		bad = append(bad, "need -rooms ≥ 1, -publishers ≥ 1, -subscribers ≥ 0")
	}
	if c.Video != "vp8" && c.Video != "h264" && c.Video != "none" {
		bad = append(bad, "-video must be vp8, h264 or none")
	}
	if c.Audio != "opus" && c.Audio != "none" {
		bad = append(bad, "-audio must be opus or none")
	}
	if c.Video == "none" && c.Audio == "none" {
		bad = append(bad, "-video and -audio cannot both be none")
	}
	if c.Loss < 0 || c.Loss > 0.5 || (c.Loss > 0 && !c.Browser) {
		bad = append(bad, "-loss must be within 0..0.5 and needs -browser")
	}
	if c.JoinRate < 0 || c.MaxJoining < 0 || c.Jitter < 0 || c.Recordings < 0 || c.ServerPID < 0 {
		bad = append(bad, "rates, limits and counts cannot be negative")
	}
	if c.Relay && c.Loopback {
		bad = append(bad, "-relay needs -loopback=false (loopback clients ignore the portal's ICE servers)")
	}
	if c.TCP && (c.Loopback || c.Relay) {
		bad = append(bad, "-tcp needs -loopback=false and no -relay (it is direct ICE over TCP)")
	}
	if c.Duration < 0 || c.Warmup < 0 || c.JoinTimeout <= 0 {
		bad = append(bad, "-duration and -warmup cannot be negative, -join-timeout must be positive")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrUsage, strings.Join(bad, "; "))
	}
	return nil
}
