package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// shape is how many processes of each role a deployment runs.
type shape struct {
	portals, conferences, webrtcs, recordings, streamings, mixings int
}

// member is one process of a deployment; port is its portal port or webrtc UDP port.
type member struct {
	*e2eutil.Proc
	port int
}

// deployment is a distributed Conclave: one management API and the processes of a shape,
// on a bus prefix and a database of their own.
type deployment struct {
	t        *testing.T
	env      []string
	api      e2eutil.RESTClient
	mapi     *e2eutil.Proc
	portals  []member
	confs    []member
	webrtcs  []member
	recs     []member
	streams  []member
	mixers   []member
	recDir   string
	readyDur time.Duration
}

// deploy starts a deployment against the broker busURL and the database server mongoURI and
// waits until every process knows the workers it schedules onto.
func deploy(t *testing.T, busURL, mongoURI string, s shape) *deployment {
	t.Helper()
	begin := time.Now()
	cluster := e2eutil.NewCluster(busURL, mongoURI, "chaos")
	d := &deployment{t: t, recDir: t.TempDir()}
	d.env = append(cluster.Env,
		"CONCLAVE_DATA_DIR="+t.TempDir(),
		"CONCLAVE_CONFIG="+d.config(e2eutil.LoopbackWebRTCConfig),
	)
	mport := e2eutil.FreePort(t)
	d.api = cluster.Client(fmt.Sprintf("http://127.0.0.1:%d", mport))
	d.api.Timeout = restTimeout
	d.mapi = d.start("management-api", fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport))
	for range s.conferences {
		d.confs = append(d.confs, member{Proc: d.start("conference-agent")})
	}
	for range s.webrtcs {
		port := e2eutil.FreeUDPPort(t)
		cfg := d.config(fmt.Sprintf("%s  udpPort: %d\n", e2eutil.LoopbackWebRTCConfig, port))
		d.webrtcs = append(d.webrtcs, member{Proc: d.start("webrtc-agent", "CONCLAVE_CONFIG="+cfg), port: port})
	}
	for range s.recordings {
		cfg := d.config(e2eutil.LoopbackWebRTCConfig + "recording:\n  dir: " + d.recDir + "\n")
		d.recs = append(d.recs, member{Proc: d.start("recording-agent", "CONCLAVE_CONFIG="+cfg)})
	}
	for range s.streamings {
		d.streams = append(d.streams, member{Proc: d.start("streaming-agent")})
	}
	for range s.mixings {
		d.mixers = append(d.mixers, member{Proc: d.start("mixing-agent")})
	}
	for range s.portals {
		d.addPortal()
	}
	d.waitReady(s)
	d.readyDur = time.Since(begin)
	t.Logf("deployment %+v ready in %s", s, d.readyDur.Round(time.Millisecond))
	return d
}

// config writes a config file and returns its path.
func (d *deployment) config(yaml string) string {
	path := filepath.Join(d.t.TempDir(), "conclave.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		d.t.Fatal(err)
	}
	return path
}

// start runs one role's binary with the deployment's environment plus env.
func (d *deployment) start(role string, env ...string) *e2eutil.Proc {
	d.t.Helper()
	return e2eutil.Start(d.t, bins.Path(d.t, role), nil, append(append([]string{}, d.env...), env...)...)
}

// addPortal starts one more portal and waits for its health endpoint.
func (d *deployment) addPortal() member {
	d.t.Helper()
	port := e2eutil.FreePort(d.t)
	host := fmt.Sprintf("127.0.0.1:%d", port)
	p := d.start("portal", "CONCLAVE_PORTAL_LISTEN="+host, "CONCLAVE_PORTAL_PUBLIC_HOST="+host)
	m := member{Proc: p, port: port}
	d.portals = append(d.portals, m)
	return m
}

// joined counts the distinct workers of purpose a process has seen join.
func joined(out, purpose string) int {
	seen := map[string]bool{}
	for line := range strings.Lines(out) {
		if strings.Contains(line, `msg="worker joined"`) && strings.Contains(line, "purpose="+purpose+" ") {
			for _, f := range strings.Fields(line) {
				if w, ok := strings.CutPrefix(f, "worker="); ok {
					seen[w] = true
				}
			}
		}
	}
	return len(seen)
}

// waitReady waits for the APIs and for each scheduler's view of the cluster.
func (d *deployment) waitReady(s shape) {
	t := d.t
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	waitHTTP := func(p *e2eutil.Proc, url string) { e2eutil.WaitHTTP(t, url, time.Until(deadline), p) }
	waitHTTP(d.mapi, d.api.Base+"/readyz")
	for _, p := range d.portals {
		waitHTTP(p.Proc, fmt.Sprintf("http://127.0.0.1:%d/healthz", p.port))
	}
	within := time.Until(deadline)
	d.mapi.WaitOutput(t, "portals known", within, func(out string) bool { return joined(out, "portal") >= s.portals })
	for _, p := range d.portals {
		p.WaitOutput(t, "conference agents known", within, func(out string) bool { return joined(out, "conference") >= s.conferences })
	}
	for _, c := range d.confs {
		c.WaitOutput(t, "agents known", within, func(out string) bool {
			return joined(out, "webrtc") >= s.webrtcs && joined(out, "recording") >= s.recordings &&
				joined(out, "streaming") >= s.streamings && joined(out, "mixing") >= s.mixings
		})
	}
}

// mixerOf returns the mixing agent that started the mix of a mixed stream (its log line).
func (d *deployment) mixerOf(t *testing.T, mixID string) (int, member) {
	t.Helper()
	for i, m := range d.mixers {
		if hasLine(m.Output(), `msg="mix started"`, "mix="+mixID+" ") {
			return i, m
		}
	}
	t.Fatalf("no mixing agent logged starting %s", mixID)
	return -1, member{}
}

// webrtcServing returns the webrtc agent whose UDP port the SDP's candidates use.
func (d *deployment) webrtcServing(t *testing.T, sdp string) (int, member) {
	t.Helper()
	for i, m := range d.webrtcs {
		if strings.Contains(sdp, fmt.Sprintf(" 127.0.0.1 %d typ host", m.port)) {
			return i, m
		}
	}
	t.Fatalf("no webrtc agent of ports %v serves this SDP:\n%s", d.webrtcPorts(), sdp)
	return -1, member{}
}

func (d *deployment) webrtcPorts() []int {
	var out []int
	for _, m := range d.webrtcs {
		out = append(out, m.port)
	}
	return out
}
