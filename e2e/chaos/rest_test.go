package chaos

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// api is a management API client signing requests as OWT's REST clients do
// (owt-protocol.md §2.4).
type api struct {
	base      string
	serviceID string
	key       string
}

// response is a decoded HTTP answer; Took is how long the request took.
type response struct {
	Status int
	Body   []byte
	Took   time.Duration
}

// code returns the OWT error code of an error answer, or 0.
func (r response) code() int {
	var e struct {
		Error struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

func (c api) auth() string {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	cnonce := hex.EncodeToString(nonce)
	m := hmac.New(sha256.New, []byte(c.key))
	m.Write([]byte(ts + "," + cnonce))
	sig := base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
	return fmt.Sprintf("MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=%s,mauth_cnonce=%s,mauth_timestamp=%s,mauth_signature=%s",
		c.serviceID, cnonce, ts, sig)
}

// try sends a signed request with a timeout; err is a transport failure (including the
// timeout: a hung request).
func (c api) try(method, path string, body any, timeout time.Duration) (response, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.auth())
	begin := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{Took: time.Since(begin)}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b, Took: time.Since(begin)}, err
}

// do sends a request that must get an answer within 15 s.
func (c api) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	r, err := c.try(method, path, body, 15*time.Second)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// must sends a request and requires status 200, decoding the answer into out (if not nil).
func (c api) must(t *testing.T, method, path string, body, out any) {
	t.Helper()
	r := c.do(t, method, path, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, r.Body, err)
		}
	}
}

// createRoom creates a room with default settings and returns its id.
func (c api) createRoom(t *testing.T, name string) string {
	t.Helper()
	var r struct {
		ID string `json:"_id"`
	}
	c.must(t, "POST", "/v1/rooms", map[string]any{"name": name}, &r)
	if r.ID == "" {
		t.Fatalf("room %q created without id", name)
	}
	return r.ID
}

// token creates a join token (isp, when set, is the token's preference).
func (c api) token(t *testing.T, room, user, isp string) string {
	t.Helper()
	body := map[string]any{"user": user, "role": "presenter"}
	if isp != "" {
		body["preference"] = map[string]string{"isp": isp}
	}
	r := c.do(t, "POST", "/v1/rooms/"+room+"/tokens", body)
	if r.Status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", user, r.Status, r.Body)
	}
	return string(r.Body)
}

// session is a recording or streaming-out as the REST API lists it.
type session struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Storage *struct {
		File string `json:"file"`
	} `json:"storage"`
}

// sessions lists a room's recordings or streaming-outs.
func (c api) sessions(t *testing.T, room, kind string) []session {
	t.Helper()
	var out []session
	c.must(t, "GET", "/v1/rooms/"+room+"/"+kind, nil, &out)
	return out
}
