package load

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/mauth"
)

// maxBody bounds the management API answers the tool reads.
const maxBody = 1 << 20

// API is a client of the management REST API that signs every request with MAuth, as OWT's
// JavaScript REST client does. It is safe for concurrent use.
type API struct {
	base      string
	serviceID string
	key       string
	http      *http.Client
}

// NewAPI returns a client for the management API at base (e.g. http://127.0.0.1:3000).
func NewAPI(base, serviceID, key string) *API {
	return &API{base: strings.TrimRight(base, "/"), serviceID: serviceID, key: key,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// ReadSuperService reads the credentials the all-in-one binary writes to
// <dataDir>/super-service.json.
func ReadSuperService(dataDir string) (id, key string, err error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "super-service.json"))
	if err != nil {
		return "", "", fmt.Errorf("load: super service: %w", err)
	}
	var s struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal(b, &s); err != nil || s.ID == "" || s.Key == "" {
		return "", "", fmt.Errorf("%w: %s has no id and key", ErrUsage, filepath.Join(dataDir, "super-service.json"))
	}
	return s.ID, s.Key, nil
}

// authorization returns a fresh MAuth header.
func (a *API) authorization() string {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	return mauth.Header(a.serviceID, a.key, time.Now().UnixMilli(), hex.EncodeToString(nonce))
}

// do sends a signed request with an optional JSON body and returns the answer's body; any
// status other than 200 is an ErrHTTP.
func (a *API) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("load: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("load: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", a.authorization())
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("load: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("load: %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s %s: %d %.200s", ErrHTTP, method, path, resp.StatusCode, out)
	}
	return out, nil
}

// CreateRoom creates a room with the default settings (plus options, if any) and returns its
// id.
func (a *API) CreateRoom(ctx context.Context, name string, options map[string]any) (string, error) {
	body := map[string]any{"name": name}
	if options != nil {
		body["options"] = options
	}
	out, err := a.do(ctx, http.MethodPost, "/v1/rooms", body)
	if err != nil {
		return "", err
	}
	var r struct {
		ID string `json:"_id"`
	}
	if json.Unmarshal(out, &r) != nil || r.ID == "" {
		return "", fmt.Errorf("%w: room without id: %.200s", ErrHTTP, out)
	}
	return r.ID, nil
}

// DeleteRoom deletes a room.
func (a *API) DeleteRoom(ctx context.Context, room string) error {
	_, err := a.do(ctx, http.MethodDelete, "/v1/rooms/"+room, nil)
	return err
}

// CreateToken returns a join token for user with role in room.
func (a *API) CreateToken(ctx context.Context, room, user, role string) (string, error) {
	out, err := a.do(ctx, http.MethodPost, "/v1/rooms/"+room+"/tokens", map[string]string{"user": user, "role": role})
	if err != nil {
		return "", err
	}
	tok := strings.Trim(strings.TrimSpace(string(out)), `"`)
	if tok == "" {
		return "", fmt.Errorf("%w: empty token", ErrHTTP)
	}
	return tok, nil
}

// StartRecording starts an mkv recording of a stream's audio and video (either may be
// empty to leave it out) and returns the recording id.
func (a *API) StartRecording(ctx context.Context, room, audioFrom, videoFrom string) (string, error) {
	media := map[string]any{"audio": false, "video": false}
	if audioFrom != "" {
		media["audio"] = map[string]string{"from": audioFrom}
	}
	if videoFrom != "" {
		media["video"] = map[string]string{"from": videoFrom}
	}
	out, err := a.do(ctx, http.MethodPost, "/v1/rooms/"+room+"/recordings", map[string]any{"container": "mkv", "media": media})
	if err != nil {
		return "", err
	}
	var r struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(out, &r) != nil || r.ID == "" {
		return "", fmt.Errorf("%w: recording without id: %.200s", ErrHTTP, out)
	}
	return r.ID, nil
}

// StopRecording stops a recording.
func (a *API) StopRecording(ctx context.Context, room, id string) error {
	_, err := a.do(ctx, http.MethodDelete, "/v1/rooms/"+room+"/recordings/"+id, nil)
	return err
}
