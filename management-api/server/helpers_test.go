package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/store/embedded"
	"github.com/conclave-rtc/conclave/management-api/openapi/check"
)

// fakeScheduler returns a fixed worker per purpose, or cluster.ErrNoWorker.
type fakeScheduler struct {
	mu      sync.Mutex
	workers map[string]cluster.Worker
	calls   []string // purpose/task
}

func (f *fakeScheduler) Schedule(_ context.Context, purpose, task string, _ cluster.Preference) (cluster.Worker, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, purpose+"/"+task)
	w, ok := f.workers[purpose]
	if !ok {
		return cluster.Worker{}, cluster.ErrNoWorker
	}
	return w, nil
}

func (f *fakeScheduler) set(purpose string, w cluster.Worker) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.workers[purpose] = w
}

// flakyStore wraps a store; while down is set, reads fail with store.ErrUnavailable.
type flakyStore struct {
	store.Store
	down atomic.Bool
}

func (s *flakyStore) err() error {
	if s.down.Load() {
		return store.ErrUnavailable
	}
	return nil
}

func (s *flakyStore) ListRooms(ctx context.Context, svc string, skip, limit int) ([]store.Room, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.ListRooms(ctx, svc, skip, limit)
}

// VisitRooms keeps the embedded store's in-place room lists (store.RoomVisitor) visible
// through the wrapper, so handler tests take the path the all-in-one takes.
func (s *flakyStore) VisitRooms(ctx context.Context, svc string, skip, limit int, fn func(store.Room) error) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.(store.RoomVisitor).VisitRooms(ctx, svc, skip, limit, fn)
}

func (s *flakyStore) GetService(ctx context.Context, id string) (store.Service, error) {
	if err := s.err(); err != nil {
		return store.Service{}, err
	}
	return s.Store.GetService(ctx, id)
}

func (s *flakyStore) Ping(ctx context.Context) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.Ping(ctx)
}

// env is one server over a real embedded store and a real local bus.
type env struct {
	t     testing.TB
	srv   *Server
	h     http.Handler
	st    *flakyStore
	bus   bus.Bus
	sched *fakeScheduler
	super store.Service
	svc   store.Service // a normal service
}

const (
	superKey   = "super-secret-key"
	serviceKey = "tenant-secret-key"
)

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	k, err := secret.Generate()
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(k.Derive(secret.PurposeServiceKey))
	if err != nil {
		t.Fatal(err)
	}
	emb, err := embedded.Open(t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close(context.Background()) })
	return newEnvWithStore(t, emb, mod)
}

// newEnvWithStore is newEnv on a given store.
func newEnvWithStore(t testing.TB, emb store.Store, mod func(*Config)) *env {
	t.Helper()
	var err error
	b := local.New(local.NewHub(local.Config{Logger: discard()}))
	t.Cleanup(func() { _ = b.Close() })
	e := &env{t: t, st: &flakyStore{Store: emb}, bus: b, sched: &fakeScheduler{workers: map[string]cluster.Worker{}}}
	ctx := context.Background()
	superID := ids.ObjectID()
	if e.super, _, err = EnsureSuperService(ctx, e.st, superID, superKey); err != nil {
		t.Fatal(err)
	}
	e.svc = store.Service{ID: ids.ObjectID(), Name: "tenant", Key: serviceKey}
	if err := e.st.CreateService(ctx, e.svc); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.SuperServiceID = superID
	cfg.AuthFailureDelay = 0
	cfg.CallTimeout = 2 * time.Second
	cfg.AddTimeout = 2 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	e.srv, err = New(cfg, Deps{Store: e.st, Bus: b, Scheduler: e.sched, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	e.h = e.srv.Handler()
	return e
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// signHeader builds an MAuth header the way the OWT JS client does (owt-protocol.md §2.4),
// independently of package mauth: base64 of the lower-case hex HMAC-SHA256 of
// "timestamp,cnonce[,username,role]".
func signHeader(serviceID, key string, ts int64, cnonce, user, role string) string {
	toSign := strconv.FormatInt(ts, 10) + "," + cnonce
	extra := ""
	if user != "" && role != "" {
		u := base64.StdEncoding.EncodeToString([]byte(user))
		toSign += "," + u + "," + role
		extra = ",mauth_username=" + u + ",mauth_role=" + role
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(toSign))
	sig := base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
	return "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=" +
		serviceID + ",mauth_cnonce=" + cnonce + ",mauth_timestamp=" + strconv.FormatInt(ts, 10) +
		extra + ",mauth_signature=" + sig
}

var cnonceSeq atomic.Int64

func (e *env) authAs(s store.Service) string {
	return signHeader(s.ID, s.Key, time.Now().UnixMilli(), strconv.FormatInt(cnonceSeq.Add(1), 10), "", "")
}

// do sends a request with the given Authorization header ("" = none) and JSON body.
func (e *env) do(method, path, authz, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	return e.serve(req, []byte(body))
}

// apiDescription is the OpenAPI description every test exchange is checked against.
var apiDescription = sync.OnceValues(check.New)

// serve serves req (whose body is body) and checks the exchange against the OpenAPI
// description, failing the test when either side does not match it. Benchmarks skip the
// check: they time the handler, and the tests make the same requests.
func (e *env) serve(req *http.Request, body []byte) *httptest.ResponseRecorder {
	e.t.Helper()
	header := req.Header.Clone()
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if _, bench := e.t.(*testing.B); bench {
		return rec
	}
	c, err := apiDescription()
	if err != nil {
		e.t.Fatal(err)
	}
	x := check.Exchange{Method: req.Method, Target: req.URL.RequestURI(), Header: header, Body: body,
		Status: rec.Code, RespHeader: rec.Header(), RespBody: rec.Body.Bytes()}
	if err := c.Check(x); err != nil {
		e.t.Errorf("%v", err)
	}
	return rec
}

// as sends a request signed by service s.
func (e *env) as(s store.Service, method, path, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(method, path, e.authAs(s), body)
}

// wantError checks an OWT error envelope.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status, code int) string {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	var env struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("body %q is not an error envelope: %v", rec.Body, err)
	}
	if env.Error.Code != code {
		t.Fatalf("code = %d, want %d (%s)", env.Error.Code, code, env.Error.Message)
	}
	return env.Error.Message
}

func wantOK(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
}

// createRoom creates a room for s and returns its id.
func (e *env) createRoom(s store.Service, name string) string {
	e.t.Helper()
	rec := e.as(s, "POST", "/v1/rooms", `{"name":"`+name+`"}`)
	wantOK(e.t, rec)
	var r struct {
		ID string `json:"_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.ID == "" {
		e.t.Fatalf("create room: %s (%v)", rec.Body, err)
	}
	return r.ID
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
