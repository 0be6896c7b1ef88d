package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/testutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// restOp is one request of the database-outage load and what it got.
type restOp struct {
	kind   string // "create", "list", "delete"
	room   string // created or deleted room (name for create)
	id     string
	status int
	code   int
	took   time.Duration
	at     time.Time // when the answer came
	err    error     // transport failure: a hung or refused request
}

// loadWorker creates rooms, lists them and deletes every other one it created, until stop.
func loadWorker(c e2eutil.RESTClient, n int, stop <-chan struct{}, out chan<- restOp) {
	c.Timeout = 5 * time.Second
	var mine []string
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		name := fmt.Sprintf("load-%d-%d", n, i)
		r, err := c.Try("POST", "/v1/rooms", map[string]any{"name": name})
		op := restOp{kind: "create", room: name, status: r.Status, code: r.ErrorCode(), took: r.Took, at: time.Now(), err: err}
		if err == nil && r.Status == http.StatusOK {
			var room struct {
				ID string `json:"_id"`
			}
			_ = json.Unmarshal(r.Body, &room)
			op.id = room.ID
			mine = append(mine, room.ID)
		}
		out <- op
		r, err = c.Try("GET", "/v1/rooms", nil)
		out <- restOp{kind: "list", status: r.Status, code: r.ErrorCode(), took: r.Took, at: time.Now(), err: err}
		if i%2 == 1 && len(mine) > 0 {
			id := mine[0]
			r, err = c.Try("DELETE", "/v1/rooms/"+id, nil)
			out <- restOp{kind: "delete", id: id, status: r.Status, code: r.ErrorCode(), took: r.Took, at: time.Now(), err: err}
			if err == nil && r.Status == http.StatusOK {
				mine = mine[1:]
			}
		}
	}
}

// TestChaosDatabaseOutage stops the deployment's own FerretDB during a REST load of room
// creations, listings and deletions: every answer during the outage is a 500 with code 1401
// (none hangs), the API recovers by itself once the database is back, and no room is
// half-written.
func TestChaosDatabaseOutage(t *testing.T) {
	amqpURL := testutil.AMQPURL(t)
	f := startFerret(t)
	d := deploy(t, amqpURL, f.uri(), shape{})
	rec := &recovery{}
	defer rec.log(t)

	const workers = 3
	ops := make(chan restOp, 1024)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for n := range workers {
		wg.Go(func() { loadWorker(d.api, n, stop, ops) })
	}
	var all []restOp
	collect := func(until func() bool) {
		for !until() {
			all = append(all, <-ops)
		}
	}
	collect(func() bool { return len(all) >= 30 }) // the load runs against a healthy database

	down := time.Now()
	if err := f.p.Stop(10 * time.Second); errors.Is(err, e2eutil.ErrStopTimeout) {
		t.Fatal(err)
	}
	stopped := time.Now()
	t.Logf("FerretDB stopped in %s", stopped.Sub(down).Round(time.Millisecond))
	collect(func() bool { return time.Since(stopped) >= 3*time.Second })

	restart := time.Now()
	f.start(t)
	recovered := time.Time{}
	collect(func() bool {
		if recovered.IsZero() {
			last := all[len(all)-1]
			if last.at.After(restart) && last.err == nil && last.status == http.StatusOK {
				recovered = last.at
			}
		}
		return !recovered.IsZero() && time.Since(recovered) >= time.Second
	})
	close(stop)
	go func() { wg.Wait(); close(ops) }()
	for op := range ops {
		all = append(all, op)
	}
	rec.add(t, "FerretDB restart", "first successful REST answer", recovered.Sub(restart))

	checkOutageAnswers(t, rec, all, down, restart)
	checkRoomsComplete(t, d.api, all)
}

// checkOutageAnswers: every request answered; failures are 500/1401; failures happen only
// around the outage.
func checkOutageAnswers(t *testing.T, rec *recovery, all []restOp, down, restart time.Time) {
	t.Helper()
	var failed []time.Duration
	for _, op := range all {
		switch {
		case op.err != nil:
			t.Errorf("%s %s%s: no answer after %s: %v", op.kind, op.room, op.id, op.took.Round(time.Millisecond), op.err)
		case op.status == http.StatusOK:
		case op.status == http.StatusInternalServerError && op.code == 1401:
			failed = append(failed, op.took)
			if op.at.Before(down) {
				t.Errorf("%s failed before the outage: %d/%d", op.kind, op.status, op.code)
			}
		default:
			t.Errorf("%s %s%s: %d/%d, want 200 or 500/1401", op.kind, op.room, op.id, op.status, op.code)
		}
	}
	if len(failed) == 0 {
		t.Fatal("no request failed during the outage: the database was not really down")
	}
	slices.Sort(failed)
	p50, worst := failed[len(failed)/2], failed[len(failed)-1]
	t.Logf("%d requests, %d answered 500/1401 during the outage (median %s, slowest %s)",
		len(all), len(failed), p50.Round(time.Millisecond), worst.Round(time.Millisecond))
	rec.add(t, "FerretDB down", "500/1401 answer, median", p50)
	rec.add(t, "FerretDB down", "500/1401 answer, slowest", worst)
}

// checkRoomsComplete: the listed rooms are exactly those created minus those deleted, up to
// requests whose outcome the client could not know (failed during the outage), and each
// listed room reads back complete.
func checkRoomsComplete(t *testing.T, c e2eutil.RESTClient, all []restOp) {
	t.Helper()
	var listed []struct {
		ID    string            `json:"_id"`
		Name  string            `json:"name"`
		Roles []json.RawMessage `json:"roles"`
		Views []json.RawMessage `json:"views"`
	}
	mustJSON(t, c, "GET", "/v1/rooms", nil, &listed)
	want := map[string]bool{}   // created and not deleted, as the client knows
	unsure := map[string]bool{} // room names or ids whose last request failed
	created, removed := 0, 0
	for _, op := range all {
		ok := op.err == nil && op.status == http.StatusOK
		switch {
		case op.kind == "create" && ok:
			want[op.id] = true
			created++
		case op.kind == "create":
			unsure[op.room] = true
		case op.kind == "delete" && ok:
			delete(want, op.id)
			removed++
		case op.kind == "delete":
			unsure[op.id] = true
		}
	}
	found, extra := 0, 0
	for _, r := range listed {
		switch {
		case want[r.ID]:
			found++
		case unsure[r.Name] || unsure[r.ID]:
			extra++ // a failed request that the database applied anyway
		default:
			t.Errorf("room %s (%s) listed but never created or already deleted", r.ID, r.Name)
		}
		var full struct {
			ID    string            `json:"_id"`
			Name  string            `json:"name"`
			Roles []json.RawMessage `json:"roles"`
			Views []json.RawMessage `json:"views"`
		}
		mustJSON(t, c, "GET", "/v1/rooms/"+r.ID, nil, &full)
		if full.ID != r.ID || full.Name != r.Name || len(full.Roles) == 0 || len(full.Views) == 0 {
			t.Errorf("room %s reads back incomplete: %+v", r.ID, full)
		}
	}
	if found != len(want) {
		t.Errorf("%d of the %d rooms created and not deleted are listed", found, len(want))
	}
	t.Logf("rooms: %d created, %d deleted, %d listed (%d from requests that failed but were applied)",
		created, removed, len(listed), extra)
}
