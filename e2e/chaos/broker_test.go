package chaos

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/testutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// TestChaosBrokerRestart stops and restarts the RabbitMQ application under a live call.
// The test runs its own RabbitMQ node (own name, ports and state), so the outage disturbs no
// other test; `rabbitmqctl stop_app` closes every connection and the AMQP listener, and
// `start_app` brings them back without restarting the Erlang VM (seconds faster than a full
// node restart, and the same outage for the clients: refused connections, lost queues of
// the closed connections). Every process must reconnect by itself; requests during the
// outage must fail fast with a clear error; a new join must work afterwards, and the call in
// progress must survive.
func TestChaosBrokerRestart(t *testing.T) {
	const outage = 5 * time.Second
	mongoURI := testutil.MongoURI(t)
	r := startRabbit(t)
	d := deploy(t, r.url(), mongoURI, shape{portals: 1, conferences: 1, webrtcs: 1})
	rec := &recovery{}
	defer rec.log(t)
	room := d.api.CreateRoom(t, "chaos-broker")
	token := func(user string) func() string {
		return func() string { return d.api.MustToken(t, room, user, "presenter", "") }
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	evA, evB := participant.NewRecorder(), participant.NewRecorder()
	alice, _ := join(ctx, t, token("alice"), evA)
	bob, _ := join(ctx, t, token("bob"), evB)
	pub := publish(ctx, t, t, alice, evB)
	subscribe(ctx, t, bob, pub.ID())

	begin := time.Now()
	r.ctl(t, 30*time.Second, "stop_app")
	t.Logf("stop_app took %s", time.Since(begin).Round(time.Millisecond))
	down := time.Now()

	// A room RPC through the management API needs the bus: it must fail, not hang.
	resp, err := d.api.Try("GET", "/v1/rooms/"+room+"/participants", nil)
	if err != nil {
		t.Fatalf("REST room RPC during the outage: %v (hung for %s)", err, resp.Took)
	}
	if resp.Status < http.StatusInternalServerError || resp.ErrorCode() == 0 {
		t.Fatalf("REST room RPC during the outage: %d %s, want a 5xx OWT error", resp.Status, resp.Body)
	}
	rec.add(t, "RabbitMQ down", fmt.Sprintf("REST room RPC failed with %d/%d", resp.Status, resp.ErrorCode()), resp.Took)
	t.Logf("REST answer during the outage: %d %s", resp.Status, resp.Body)
	// A signaling request needs the bus too (portal → conference agent).
	sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
	sent := time.Now()
	err = alice.Send(sctx, "all", "during the outage")
	scancel()
	if err == nil {
		t.Fatal("text during the broker outage succeeded")
	}
	rec.add(t, "RabbitMQ down", "signaling request failed", time.Since(sent))
	t.Logf("signaling error during the outage: %v", err)
	// A store-only request does not need the bus.
	if resp := d.api.Do(t, "GET", "/v1/rooms/"+room, nil); resp.Status != http.StatusOK {
		t.Errorf("GET room (store only) during the outage: %d %s", resp.Status, resp.Body)
	}

	// Hold the broker down longer than the registries' 3-beat expiry, as a real broker
	// restart (about 6 s for a RabbitMQ node) would.
	time.Sleep(time.Until(down.Add(outage)))
	// Recovery times count from the start_app command: the listener opens during it.
	up := time.Now()
	r.ctl(t, 30*time.Second, "start_app")
	t.Logf("outage %s; start_app took %s", time.Since(down).Round(time.Millisecond), time.Since(up).Round(time.Millisecond))
	procs := append([]*e2eutil.Proc{d.mapi}, d.portals[0].Proc, d.confs[0].Proc, d.webrtcs[0].Proc)
	for _, p := range procs {
		p.WaitOutput(t, "bus reconnected", 60*time.Second, func(out string) bool { return hasLine(out, `msg="amqp bus: reconnected"`) })
		rec.add(t, "RabbitMQ restart", p.Name+" reconnected (its log)", logTime(t, p, `msg="amqp bus: reconnected"`).Sub(up))
	}
	for _, p := range procs {
		if !p.Alive() {
			t.Fatalf("%s exited during the outage", p.Name)
		}
	}

	jctx, jcancel := context.WithTimeout(ctx, 30*time.Second)
	defer jcancel()
	evD := participant.NewRecorder()
	carol, took := join(jctx, t, token("carol"), nil)
	rec.add(t, "RabbitMQ restart", "new join succeeded (join "+took.Round(time.Millisecond).String()+")", time.Since(up))
	dave, _ := join(jctx, t, token("dave"), evD)
	again := publish(jctx, t, t, carol, evD)
	subscribe(jctx, t, dave, again.ID())
	rec.add(t, "RabbitMQ restart", "publish + subscribe work again", time.Since(up))
	// The call itself survives: media never crossed the broker, and the registries do not
	// count beats they could not hear (so nobody was dropped as "agent gone").
	select {
	case <-pub.Done():
		t.Errorf("alice's publication did not survive the %s outage: %v", outage, pub.Err())
	default:
	}
	select {
	case <-bob.Done():
		t.Errorf("bob was disconnected by the %s outage: %v", outage, bob.Err())
	default:
	}
}

// logTime is the time of the first line of p's output containing msg.
func logTime(t *testing.T, p *e2eutil.Proc, msg string) time.Time {
	t.Helper()
	for line := range strings.Lines(p.Output()) {
		if !strings.Contains(line, msg) {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "time="); ok {
				at, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					t.Fatalf("%s: bad log time %q", p.Name, v)
				}
				return at
			}
		}
	}
	t.Fatalf("%s logged no %s", p.Name, msg)
	return time.Time{}
}
