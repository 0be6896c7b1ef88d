package e2eutil

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/management-api/openapi/check"
)

// RESTClient calls the management API, signing every request the way OWT's JavaScript REST
// client does (owt-protocol.md §2.4). The signature is computed here, independently of the
// server's mauth package, so the tests check the server against the protocol.
type RESTClient struct {
	// Base is the API's URL, such as http://127.0.0.1:3000.
	Base string
	// ServiceID and Key are the service's credentials.
	ServiceID, Key string
	// Timeout bounds one request; 0 means 10 s.
	Timeout time.Duration
	// OpenAPI, when set, checks every request and its answer against the API's OpenAPI
	// description (see OpenAPIChecker); a mismatch is an error wrapping ErrOpenAPI.
	OpenAPI *check.Checker
}

// ErrOpenAPI is wrapped by the error of a request or answer that does not match the API's
// OpenAPI description.
var ErrOpenAPI = errors.New("management API and its OpenAPI description disagree")

// openAPIChecker is loaded once per test binary.
var openAPIChecker = sync.OnceValues(check.New)

// OpenAPIChecker returns the checker of the management API's OpenAPI description, failing the
// test when the description cannot be loaded.
func OpenAPIChecker(t testing.TB) *check.Checker {
	t.Helper()
	c, err := openAPIChecker()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// defaultTimeout bounds a request of a RESTClient without Timeout.
const defaultTimeout = 10 * time.Second

// Response is an HTTP answer; Took is how long the request took.
type Response struct {
	Status int
	Body   []byte
	Took   time.Duration
}

// ErrorCode returns the OWT error code of an error body, or 0.
func (r Response) ErrorCode() int {
	var e struct {
		Error struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// ErrorMessage returns the OWT error message of an error body, or "".
func (r Response) ErrorMessage() string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Message
}

// Decode unmarshals the body into v, failing the test when it is not the expected JSON.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Signature is base64 of the lower-case hex HMAC-SHA256 of toSign, as OWT computes it.
func Signature(key, toSign string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

// AuthHeader returns a fresh Authorization header: a new timestamp and client nonce, signed
// with the key.
func (c RESTClient) AuthHeader() string {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	cnonce := hex.EncodeToString(nonce)
	return fmt.Sprintf("MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=%s,mauth_cnonce=%s,mauth_timestamp=%s,mauth_signature=%s",
		c.ServiceID, cnonce, ts, Signature(c.Key, ts+","+cnonce))
}

// Try sends a signed request; body may be nil, a []byte (sent as is) or a value to encode as
// JSON. The error is a transport failure, including the timeout of a hung request.
func (c RESTClient) Try(method, path string, body any) (Response, error) {
	return c.TrySigned(method, path, body, c.AuthHeader())
}

// TrySigned is Try with the given Authorization header (none when auth is empty).
func (c RESTClient) TrySigned(method, path string, body any, auth string) (Response, error) {
	var rd io.Reader
	var sent []byte
	ctype := "text/plain;charset=UTF-8" // what OWT's JS client sends without a body
	switch b := body.(type) {
	case nil:
	case []byte:
		sent, ctype = b, "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
		}
		sent, ctype = j, "application/json"
	}
	if sent != nil {
		rd = bytes.NewReader(sent)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", ctype)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	begin := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{Took: time.Since(begin)}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := Response{Status: resp.StatusCode, Body: b, Took: time.Since(begin)}
	if err != nil {
		return r, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return r, c.checkOpenAPI(req, sent, resp, b)
}

// checkOpenAPI checks an exchange against the OpenAPI description when OpenAPI is set.
func (c RESTClient) checkOpenAPI(req *http.Request, sent []byte, resp *http.Response, body []byte) error {
	if c.OpenAPI == nil {
		return nil
	}
	x := check.Exchange{Method: req.Method, Target: req.URL.RequestURI(), Header: req.Header, Body: sent,
		Status: resp.StatusCode, RespHeader: resp.Header, RespBody: body}
	if err := c.OpenAPI.Check(x); err != nil {
		return fmt.Errorf("%w: %w", ErrOpenAPI, err)
	}
	return nil
}

// Do is Try failing the test on a transport error.
func (c RESTClient) Do(t testing.TB, method, path string, body any) Response {
	t.Helper()
	r, err := c.Try(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Send is Do with the given Authorization header (none when auth is empty), for tests of
// the API's authentication.
func (c RESTClient) Send(t testing.TB, method, path string, body any, auth string) Response {
	t.Helper()
	r, err := c.TrySigned(method, path, body, auth)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Must asserts the status of r and returns r.
func Must(t testing.TB, r Response, status int) Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// MustError asserts an OWT error answer of the given HTTP status and OWT code.
func MustError(t testing.TB, r Response, status, code int) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("got %d/%d, want %d/%d: %s", r.Status, r.ErrorCode(), status, code, r.Body)
	}
}

// CreateRoom creates a room with default settings and returns its id.
func (c RESTClient) CreateRoom(t testing.TB, name string) string {
	t.Helper()
	var r struct {
		ID string `json:"_id"`
	}
	Must(t, c.Do(t, "POST", "/v1/rooms", map[string]any{"name": name}), http.StatusOK).Decode(t, &r)
	if !ids.IsObjectID(r.ID) {
		t.Fatalf("room %q created without an id: %+v", name, r)
	}
	return r.ID
}

// Token creates a join token for user in role; isp, when set, becomes the token's
// preference.
func (c RESTClient) Token(roomID, user, role, isp string) (string, error) {
	body := map[string]any{"user": user, "role": role}
	if isp != "" {
		body["preference"] = map[string]string{"isp": isp}
	}
	r, err := c.Try("POST", "/v1/rooms/"+roomID+"/tokens", body)
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusOK {
		return "", fmt.Errorf("token for %s: %d %s", user, r.Status, r.Body)
	}
	return string(r.Body), nil
}

// MustToken is Token failing the test.
func (c RESTClient) MustToken(t testing.TB, roomID, user, role, isp string) string {
	t.Helper()
	tok, err := c.Token(roomID, user, role, isp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// CreateService has c (the super service) create a tenant service and returns its client.
func (c RESTClient) CreateService(t testing.TB, name string) RESTClient {
	t.Helper()
	key := ids.RandomHex(24)
	var s struct {
		ID string `json:"_id"`
	}
	r := Must(t, c.Do(t, "POST", "/services", map[string]string{"name": name, "key": key}), http.StatusOK)
	if err := json.Unmarshal(r.Body, &s); err != nil || !ids.IsObjectID(s.ID) {
		t.Fatalf("service answer %s", r.Body)
	}
	out := c
	out.ServiceID, out.Key = s.ID, key
	return out
}
