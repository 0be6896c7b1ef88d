// Package devtokens is the all-in-one binary's development-only token endpoint for the demo
// page: POST /dev/join {"room": <name>, "user": <display name>} answers {"token", "roomId",
// "path"}. The room name maps to a room path (PathFor: "Team Standup" → "team-standup"), which
// is looked up with GET /v1/rooms?path= and, when no room of the service has it, given to a new
// room named name. The demo page served at /r/<path> joins the room with that path.
//
// It behaves like a small application server: it calls the management REST API over HTTP with
// MAuth-signed requests made with the super service's credentials. Anyone who can reach it can
// join (and create) rooms, so it is only mounted when explicitly enabled (CONCLAVE_DEV_TOKENS=1)
// and never by the separate portal binary of distributed deployments. Disabled answers 404 with
// an explanation the demo page shows.
package devtokens

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/conclave-rtc/conclave/common/mauth"
)

// EnvVar is the environment variable that enables the endpoint when set to 1 or true.
const EnvVar = "CONCLAVE_DEV_TOKENS"

// Path is where the endpoint is served.
const Path = "/dev/join"

// maxNameLen bounds room and user names (in characters).
const maxNameLen = 64

// Enabled reports whether getenv (os.Getenv) enables the endpoint.
func Enabled(getenv func(string) string) bool {
	switch strings.ToLower(strings.TrimSpace(getenv(EnvVar))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Config configures the endpoint.
type Config struct {
	// API is the management API base URL, e.g. "http://127.0.0.1:3000".
	API string
	// ServiceID and ServiceKey are the credentials requests are signed with.
	ServiceID, ServiceKey string
	// Role is the role of the tokens (default "presenter").
	Role string
	// HTTPClient makes the REST calls (default: a client with a 10 s timeout).
	HTTPClient *http.Client
	// Logger receives failures (nil: discarded).
	Logger *slog.Logger
}

// Handler is the enabled endpoint.
type Handler struct {
	cfg Config
	// mu serialises find-or-create so that two pages joining a new room at once create it once
	// (without a round of refused creations; the path's uniqueness makes it safe anyway).
	mu sync.Mutex
}

// New returns the enabled endpoint.
func New(cfg Config) (*Handler, error) {
	if cfg.API == "" || cfg.ServiceID == "" || cfg.ServiceKey == "" {
		return nil, fmt.Errorf("%w: API, ServiceID and ServiceKey are required", ErrConfig)
	}
	cfg.API = strings.TrimRight(cfg.API, "/")
	if cfg.Role == "" {
		cfg.Role = "presenter"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg}, nil
}

// APIURL turns a listening address into a base URL the endpoint can call: an unspecified host
// (0.0.0.0, ::) becomes the loopback address.
func APIURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// joinRequest is the body of POST /dev/join.
type joinRequest struct {
	Room string `json:"room"`
	User string `json:"user"`
}

// joinAnswer is the success body. Path is the room's path: the page at /r/<path> joins it.
type joinAnswer struct {
	Token  string `json:"token"`
	RoomID string `json:"roomId"`
	Path   string `json:"path"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	req, err := decodeJoin(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	path := PathFor(req.Room)
	roomID, err := h.roomByPath(r.Context(), req.Room, path)
	if err != nil {
		h.cfg.Logger.Warn("dev join: room", "room", req.Room, "path", path, "err", err)
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	token, err := h.token(r.Context(), roomID, req.User)
	if err != nil {
		h.cfg.Logger.Warn("dev join: token", "room", roomID, "err", err)
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, joinAnswer{Token: token, RoomID: roomID, Path: path})
}

// decodeJoin reads and checks the request body.
func decodeJoin(r *http.Request) (joinRequest, error) {
	var req joinRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("body must be {\"room\": string, \"user\": string}: %w", err)
	}
	req.Room, req.User = strings.TrimSpace(req.Room), strings.TrimSpace(req.User)
	for _, f := range []struct{ name, v string }{{"room", req.Room}, {"user", req.User}} {
		if err := checkName(f.v); err != nil {
			return req, fmt.Errorf("%s %w", f.name, err)
		}
	}
	return req, nil
}

// checkName accepts 1..maxNameLen printable characters.
func checkName(s string) error {
	if s == "" || utf8.RuneCountInString(s) > maxNameLen || !utf8.ValidString(s) {
		return fmt.Errorf("must have 1 to %d characters", maxNameLen)
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("must be printable")
		}
	}
	return nil
}

// roomSummary is the part of a room the endpoint reads.
type roomSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Path string `json:"path"`
}

// pageSize is the page size of the room list read by namedRoom.
const pageSize = 100

// namedRoom returns the id of a room of the service named name that has no path ("" when
// there is none): a room created elsewhere (the console, a script) before paths existed.
func (h *Handler) namedRoom(ctx context.Context, name string) (string, error) {
	for page := 1; ; page++ {
		var rooms []roomSummary
		if err := h.call(ctx, http.MethodGet, fmt.Sprintf("/v1/rooms?page=%d&per_page=%d", page, pageSize), nil, &rooms); err != nil {
			return "", err
		}
		for _, r := range rooms {
			if r.Name == name && r.Path == "" {
				return r.ID, nil
			}
		}
		if len(rooms) < pageSize {
			return "", nil
		}
	}
}

// roomByPath returns the id of the service's room with path; else it gives the path to a room
// named name that has none (so that a room made in the console is joined by its name), else
// it creates the room. A path refused because it exists meanwhile (another process gave it)
// looks the room up again.
func (h *Handler) roomByPath(ctx context.Context, name, path string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lookup := "/v1/rooms?path=" + url.QueryEscape(path)
	var err error
	for range 2 {
		var found roomSummary
		err = h.call(ctx, http.MethodGet, lookup, nil, &found)
		if !isStatus(err, http.StatusNotFound) {
			return found.ID, idOrError(found.ID, err)
		}
		id, nerr := h.namedRoom(ctx, name)
		if nerr != nil {
			return "", nerr
		}
		var created roomSummary
		if id != "" {
			err = h.call(ctx, http.MethodPatch, "/v1/rooms/"+id, map[string]string{"path": path}, &created)
		} else {
			err = h.call(ctx, http.MethodPost, "/v1/rooms", map[string]string{"name": name, "path": path}, &created)
		}
		if !isStatus(err, http.StatusBadRequest) {
			return created.ID, idOrError(created.ID, err)
		}
	}
	return "", err // the second refused creation
}

// idOrError passes err on, or reports an answer without a room id.
func idOrError(id string, err error) error {
	if err == nil && id == "" {
		return fmt.Errorf("%w: room answer without an id", ErrAPI)
	}
	return err
}

// token creates a token for user in the room.
func (h *Handler) token(ctx context.Context, roomID, user string) (string, error) {
	var raw []byte
	body := map[string]string{"user": user, "role": h.cfg.Role}
	if err := h.call(ctx, http.MethodPost, "/v1/rooms/"+roomID+"/tokens", body, &raw); err != nil {
		return "", err
	}
	return strings.TrimSpace(string(raw)), nil
}

// call makes one MAuth-signed request. out is JSON-decoded, or receives the raw body when it
// is a *[]byte.
func (h *Handler) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.cfg.API+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", mauth.Header(h.cfg.ServiceID, h.cfg.ServiceKey, time.Now().UnixMilli(), cnonce()))
	resp, err := h.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{method: method, path: path, status: resp.StatusCode, body: string(bytes.TrimSpace(b))}
	}
	if p, ok := out.(*[]byte); ok {
		*p = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrAPI, method, path, err)
	}
	return nil
}

// statusError is a management API answer other than 200. It is an ErrAPI.
type statusError struct {
	method, path string
	status       int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%v: %s %s: %d %s", ErrAPI, e.method, e.path, e.status, e.body)
}

func (e *statusError) Unwrap() error { return ErrAPI }

// isStatus reports whether err is a management API answer with that status.
func isStatus(err error, status int) bool {
	var se *statusError
	return errors.As(err, &se) && se.status == status
}

// cnonce is a random 16-hex-character nonce, as OWT's REST client sends.
func cnonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DisabledMessage is the error text of the disabled endpoint.
const DisabledMessage = "dev tokens are disabled: start the all-in-one binary with " + EnvVar +
	"=1 (development only), or mint tokens in your application server (web/README.md)"

// Disabled returns the endpoint's stand-in when it is not enabled: 404 with DisabledMessage.
func Disabled() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, DisabledMessage)
	})
}

// writeError answers {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
