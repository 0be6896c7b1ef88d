package soak

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
	"github.com/pion/webrtc/v4"
)

// signalingOnly are the options of clients that never publish nor subscribe: they share one
// pion API, so joining does not build a media engine per client.
func signalingOnly() rtc.Options {
	return rtc.Options{API: webrtc.NewAPI()}
}

// errorTally counts errors by message and keeps the total.
type errorTally struct {
	mu     sync.Mutex
	counts map[string]int
	total  int
}

func (e *errorTally) add(what string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts = map[string]int{}
	}
	msg := what + ": " + err.Error()
	if len(msg) > 160 {
		msg = msg[:160]
	}
	e.counts[msg]++
	e.total++
}

func (e *errorTally) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	lines := make([]string, 0, len(e.counts))
	for m, n := range e.counts {
		lines = append(lines, fmt.Sprintf("%6d × %s", n, m))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestSoakJoinLeave runs CONCLAVE_SOAK_CLIENTS (500) signaling clients that join and leave in
// a loop for CONCLAVE_SOAK_SECONDS (60) against the all-in-one binary: every join and leave
// must succeed, and afterwards the server's goroutines and live heap must come back to their
// level before the soak (with a tolerance), within a settle period.
func TestSoakJoinLeave(t *testing.T) {
	secs := e2eutil.EnvInt(t, "CONCLAVE_SOAK_SECONDS", 60)
	clients := e2eutil.EnvInt(t, "CONCLAVE_SOAK_CLIENTS", 500)
	// The clients stand for users on many machines but all connect from 127.0.0.1: lift the
	// per-address limit on sessions that have not logged in yet (the total still applies).
	srv := startAllInOne(t, "portal:\n  maxPendingPerAddress: -1\n")
	rooms := make([]string, 10)
	for i := range rooms {
		rooms[i] = srv.super.CreateRoom(t, fmt.Sprintf("soak-%d", i))
	}
	opts := signalingOnly()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+3*time.Minute)
	defer cancel()

	// Warm up: every room once, so the baseline includes the rooms' steady state.
	for _, room := range rooms {
		c, _ := participant.JoinReady(ctx, t, func() string { return srv.super.MustToken(t, room, "warmup", "presenter", "") }, opts)
		if err := c.Leave(ctx); err != nil {
			t.Fatalf("warm-up leave: %v", err)
		}
	}
	waitRoomsEmpty(t, srv, rooms)
	before := srv.stats(t)
	t.Logf("before: %d goroutines, heap %d KiB", before.Goroutines, before.HeapAlloc>>10)

	var joins, leaves atomic.Int64
	var errs errorTally
	begin := time.Now()
	end := begin.Add(time.Duration(secs) * time.Second)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			// Spread the first connections over a second instead of 500 at the same instant.
			time.Sleep(time.Duration(i) * time.Second / time.Duration(clients))
			room, user := rooms[i%len(rooms)], fmt.Sprintf("soak-%d", i)
			for time.Now().Before(end) && ctx.Err() == nil {
				if soakRound(ctx, srv, room, user, opts, &errs) {
					joins.Add(1)
					leaves.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	t.Logf("%d clients, %s: %d joins and leaves, %.1f joins/s, %d errors", clients, elapsed.Round(time.Millisecond),
		joins.Load(), float64(joins.Load())/elapsed.Seconds(), errs.total)
	if errs.total != 0 {
		t.Fatalf("unexpected errors:\n%s", errs.String())
	}
	if joins.Load() < int64(clients) {
		t.Fatalf("only %d joins for %d clients", joins.Load(), clients)
	}
	waitRoomsEmpty(t, srv, rooms)
	checkSettles(t, srv, before)
}

// soakRound is one token, join and leave; it reports success and tallies failures.
func soakRound(ctx context.Context, srv server, room, user string, opts rtc.Options, errs *errorTally) bool {
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := srv.super.Token(room, user, "presenter", "")
	if err != nil {
		errs.add("token", err)
		return false
	}
	c, _, err := rtc.Join(octx, tok, opts)
	if err != nil {
		errs.add("join", err)
		return false
	}
	if err := c.Leave(octx); err != nil {
		errs.add("leave", err)
		return false
	}
	return true
}

// waitRoomsEmpty waits until the REST API lists no participant in any of rooms.
func waitRoomsEmpty(t *testing.T, srv server, rooms []string) {
	t.Helper()
	for _, room := range rooms {
		e2eutil.WaitUntil(t, "room "+room+" empty", time.Minute, func() bool {
			r, err := srv.super.Try("GET", "/v1/rooms/"+room+"/participants", nil)
			return err == nil && r.Status == http.StatusOK && strings.TrimSpace(string(r.Body)) == "[]"
		}, srv.proc)
	}
}

// checkSettles waits (up to a minute) for the server's goroutines and heap to come back to
// the baseline plus a tolerance: goroutines +5% +20 (timers and pool workers come and go),
// heap +50% +8 MiB (maps keep their grown buckets), and logs both figures.
func checkSettles(t *testing.T, srv server, before runtimeStats) {
	t.Helper()
	maxG := before.Goroutines + before.Goroutines/20 + 20
	maxHeap := before.HeapAlloc + before.HeapAlloc/2 + 8<<20
	settleStart := time.Now()
	var after runtimeStats
	for {
		after = srv.stats(t)
		if after.Goroutines <= maxG && after.HeapAlloc <= maxHeap {
			break
		}
		if time.Since(settleStart) > time.Minute {
			t.Fatalf("did not settle: goroutines %d → %d (max %d), heap %d → %d KiB (max %d)\n%s",
				before.Goroutines, after.Goroutines, maxG, before.HeapAlloc>>10, after.HeapAlloc>>10, maxHeap>>10,
				srv.pprofText(t, "/debug/pprof/goroutine?debug=1"))
		}
		time.Sleep(time.Second)
	}
	t.Logf("settled after %s: goroutines %d → %d, heap %d → %d KiB", time.Since(settleStart).Round(time.Millisecond),
		before.Goroutines, after.Goroutines, before.HeapAlloc>>10, after.HeapAlloc>>10)
}
