// Package allinone wires every Conclave part into one process: what `go run ./cmd/conclave`
// starts. The parts are the same libraries the separate agent binaries run; only the bus and the
// store default to their in-process and embedded implementations.
package allinone

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
	conference "github.com/conclave-rtc/conclave/conference-agent/agent"
	"github.com/conclave-rtc/conclave/internal/devtokens"
	mgmt "github.com/conclave-rtc/conclave/management-api/server"
	mixing "github.com/conclave-rtc/conclave/mixing-agent/agent"
	portal "github.com/conclave-rtc/conclave/portal/server"
	recording "github.com/conclave-rtc/conclave/recording-agent/agent"
	streaming "github.com/conclave-rtc/conclave/streaming-agent/agent"
	"github.com/conclave-rtc/conclave/web"
	webrtc "github.com/conclave-rtc/conclave/webrtc-agent/agent"
	"golang.org/x/sync/errgroup"
)

// part is one long-running component.
type part interface {
	Run(ctx context.Context) error
}

// Run starts everything and blocks until ctx ends and every part has stopped. It prints the
// addresses and the super service credentials to out.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, out io.Writer) error {
	key, err := boot.ClusterKey(cfg, true)
	if err != nil {
		return err
	}
	st, err := boot.OpenStore(ctx, cfg, key)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer st.Close(context.WithoutCancel(ctx))
	b, err := boot.OpenBus(cfg, log)
	if err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	defer b.Close()
	if err := cfg.ResolveMediaLinks(ctx); err != nil {
		return err
	}

	rl, err := startRelay(cfg, key, log.With("part", "turn"))
	if err != nil {
		return err
	}
	defer rl.close()

	super, err := ensureSuperService(ctx, cfg, st)
	if err != nil {
		return err
	}
	reg, err := cluster.NewRegistry(b, cluster.RegistryConfig{Strategies: cfg.Cluster.Strategies}, log)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	apiCfg := mgmt.FromConfig(cfg, super.ID)
	apiCfg.Console = web.Console()
	apiCfg.ICEServers = rl.issuer
	api, err := mgmt.New(apiCfg, mgmt.Deps{Store: st, Bus: b, Scheduler: reg, Logger: log.With("part", "management-api")})
	if err != nil {
		return err
	}
	if err := api.Listen(); err != nil {
		return err
	}
	site, err := portalSite(api.Addr(), super, log.With("part", "devtokens"))
	if err != nil {
		return err
	}
	ptl, err := portal.New(portal.Config{
		Listen:     cfg.Portal.Listen,
		PublicHost: cfg.Portal.PublicAddr(),
		Secure:     cfg.Portal.Secure,
		ViaHost:    cfg.Portal.ViaHost,
		ISPs:       cfg.Portal.ISPs,
		Regions:    cfg.Portal.Regions,
		Heartbeat:  cfg.Cluster.Heartbeat,
		Extra:      site,

		MaxPendingPerAddress: cfg.Portal.MaxPendingPerAddress,
		MaxPending:           cfg.Portal.MaxPending,
		ICEServers:           rl.issuer,
	}, portal.Deps{Bus: b, Logger: log.With("part", "portal"), Store: st, Scheduler: reg, Alive: reg.Alive})
	if err != nil {
		return err
	}
	parts := []part{reg, api, ptl}
	var conf *conference.Agent
	sh := shared{host: host, cfg: cfg, bus: b, store: st, reg: reg, key: key, log: log}
	for _, mk := range agentMakers {
		a, err := mk(sh)
		if err != nil {
			return err
		}
		parts = append(parts, a)
		if c, ok := a.(*conference.Agent); ok {
			conf = c
		}
		if w, ok := a.(*webrtc.Agent); ok {
			rl.rtc = w
			if err := api.RegisterCollector(w.Collector()); err != nil {
				return fmt.Errorf("webrtc metrics: %w", err)
			}
		}
	}
	if err := api.RegisterCollector(newCHeapCollector(conf)); err != nil {
		return fmt.Errorf("process metrics: %w", err)
	}
	parts = append(parts, rl)
	apiAddr := api.Addr()
	portalAddr, err := ptl.Listen()
	if err != nil {
		return err
	}
	printBanner(out, cfg, apiAddr, portalAddr, super, devtokens.Enabled(os.Getenv), rl)

	g, gctx := errgroup.WithContext(ctx)
	for _, p := range parts {
		g.Go(func() error { return p.Run(gctx) })
	}
	return g.Wait()
}

// shared is what every agent of the process shares.
type shared struct {
	host  string
	cfg   config.Config
	bus   bus.Bus
	store store.Store
	reg   *cluster.Registry
	key   secret.Key
	log   *slog.Logger
}

// agentMakers builds the room and media agents.
var agentMakers = []func(s shared) (part, error){
	func(s shared) (part, error) {
		return conference.New(conference.Config{Host: s.host, Heartbeat: s.cfg.Cluster.Heartbeat,
			ChatMaxMessages: s.cfg.Conference.ChatMaxMessages, ChatMaxBytes: s.cfg.Conference.ChatMaxBytes,
			CleanGrace: s.cfg.Conference.CleanGrace},
			conference.Deps{Bus: s.bus, Store: s.store, Scheduler: s.reg, Alive: s.reg.Alive,
				Logger: s.log.With("part", conference.Purpose)})
	},
	func(s shared) (part, error) {
		return webrtc.New(webrtc.FromConfig(s.cfg, s.host, s.key),
			webrtc.Deps{Bus: s.bus, Logger: s.log.With("part", webrtc.Purpose)})
	},
	func(s shared) (part, error) {
		return recording.New(recording.FromConfig(s.cfg, s.host),
			recording.Deps{Bus: s.bus, Logger: s.log.With("part", recording.Purpose)})
	},
	func(s shared) (part, error) {
		return streaming.New(streaming.FromConfig(s.cfg, s.host, s.key),
			streaming.Deps{Bus: s.bus, Logger: s.log.With("part", streaming.Purpose)})
	},
	func(s shared) (part, error) {
		return mixing.New(mixing.FromConfig(s.cfg, s.host, s.key),
			mixing.Deps{Bus: s.bus, Logger: s.log.With("part", mixing.Purpose)})
	},
}

// shownKey is the super service key as the banner prints it: only a key generated by this
// start is shown (the banner is how a new user learns it); afterwards, and for a configured
// key, the banner says where it is kept (stdout often ends up in a journal).
func shownKey(s superService) string {
	switch {
	case s.Generated:
		return s.Key + "   (generated now; also kept in " + s.File + ", mode 0600)"
	case s.File == "configuration":
		return "(configured; not shown)"
	}
	return "(not shown; read it from " + s.File + ")"
}

// openable is the URL form of a listening address a person can open: an unspecified host
// (0.0.0.0, ::) becomes 127.0.0.1, which reaches it from the same machine.
func openable(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// listening describes where a listener accepts connections.
func listening(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsUnspecified() {
		return "all interfaces, port " + port
	}
	return a.String()
}

func printBanner(out io.Writer, cfg config.Config, api, portal net.Addr, super superService, devTokens bool, rl *relay) {
	demo := "(dev tokens off: set " + devtokens.EnvVar + "=1 to try it, development only)"
	if devTokens {
		demo = "(dev tokens on: anyone who reaches it can create rooms; development only)"
	}
	fmt.Fprintf(out, `Conclave is running (all-in-one).
  management API : http://%s   (listening on %s; MAuth-signed, OWT REST clients work unchanged)
  portal         : http://%s   (listening on %s; tokens send clients to %s)
  demo page      : http://%s/   %s
  console        : http://%s/console
  data directory : %s
  super service  : id  %s
                   key %s
`, openable(api), listening(api), openable(portal), listening(portal), cfg.Portal.PublicAddr(),
		cfg.Portal.PublicAddr(), demo, openable(api), cfg.DataDir, super.ID, shownKey(super))
	if rl == nil {
		return
	}
	urls := strings.Join(rl.urls, " ")
	if urls == "" {
		urls = "(none handed to clients)"
	}
	fmt.Fprintf(out, "  ICE servers    : %s\n                   TURN %s\n", urls, rl.note)
}
