package check

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	auth   = "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=5f0000000000000000000001,mauth_cnonce=1,mauth_timestamp=1,mauth_signature=YWJj"
	roomID = "5f0000000000000000000002"
	room   = `{"_id":"` + roomID + `","name":"r","inputLimit":-1,"participantLimit":-1,"roles":[],"views":[],` +
		`"mediaIn":{"audio":[],"video":[]},"mediaOut":{"audio":[],"video":{"format":[],"parameters":{}}},` +
		`"transcoding":{"audio":true,"video":{}},"notifying":{},"__v":0}`
)

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json; charset=utf-8"}}
}

func authed(ct string) http.Header {
	h := http.Header{"Authorization": {auth}}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	return h
}

// TestCheckExchanges runs the checker over exchanges that match the description and over
// each kind of mismatch it must report.
func TestCheckExchanges(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	notFound := []byte(`{"error":{"code":1003,"message":"Room not found"}}`)
	cases := []struct {
		name    string
		x       Exchange
		wantErr string // "" = valid
	}{
		{"get room", Exchange{Method: "GET", Target: "/v1/rooms/" + roomID, Header: authed(""),
			Status: 200, RespHeader: jsonHeader(), RespBody: []byte(room)}, ""},
		{"v1.1 alias", Exchange{Method: "GET", Target: "/v1.1/rooms/" + roomID + "/", Header: authed(""),
			Status: 404, RespHeader: jsonHeader(), RespBody: notFound}, ""},
		{"room missing a field", Exchange{Method: "GET", Target: "/v1/rooms/" + roomID, Header: authed(""),
			Status: 200, RespHeader: jsonHeader(), RespBody: []byte(`{"_id":"` + roomID + `"}`)}, "does not match operation getRoom"},
		{"wrong error code", Exchange{Method: "GET", Target: "/v1/rooms/" + roomID, Header: authed(""),
			Status: 404, RespHeader: jsonHeader(), RespBody: []byte(`{"error":{"code":1004,"message":"x"}}`)}, "does not match operation getRoom"},
		{"undescribed status", Exchange{Method: "GET", Target: "/v1/rooms/" + roomID, Header: authed(""),
			Status: 418, RespHeader: jsonHeader(), RespBody: notFound}, "status is not supported"},
		{"no MAuth yet 200", Exchange{Method: "GET", Target: "/v1/rooms/" + roomID, Header: http.Header{},
			Status: 200, RespHeader: jsonHeader(), RespBody: []byte(room)}, "not an MAuth header"},
		{"no MAuth refused", Exchange{Method: "GET", Target: "/v1/rooms/" + roomID, Header: http.Header{},
			Status: 401, RespHeader: jsonHeader(), RespBody: []byte(`{"error":{"code":1101,"message":"x"}}`)}, ""},
		{"bad body accepted", Exchange{Method: "POST", Target: "/v1/rooms", Header: authed("application/json"),
			Body: []byte(`{"name":5}`), Status: 200, RespHeader: jsonHeader(), RespBody: []byte(room)}, "not refused with a 4xx"},
		{"bad body refused", Exchange{Method: "POST", Target: "/v1/rooms", Header: authed("application/json"),
			Body: []byte(`{"name":5}`), Status: 400, RespHeader: jsonHeader(),
			RespBody: []byte(`{"error":{"code":1301,"message":"x"}}`)}, ""},
		{"token text", Exchange{Method: "POST", Target: "/v1/rooms/" + roomID + "/tokens", Header: authed("application/json"),
			Body: []byte(`{"user":"u","role":"presenter"}`), Status: 200,
			RespHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, RespBody: []byte("dG9rZW4=")}, ""},
		{"unknown route", Exchange{Method: "GET", Target: "/nowhere", Status: 404, RespHeader: jsonHeader(),
			RespBody: []byte(`{"error":{"code":1001,"message":"Resource not found"}}`)}, ""},
		{"unknown route answered 200", Exchange{Method: "GET", Target: "/nowhere", Status: 200,
			RespHeader: jsonHeader(), RespBody: []byte(`{}`)}, "no operation describes"},
		{"unknown route, not an error", Exchange{Method: "GET", Target: "/nowhere", Status: 404,
			RespHeader: jsonHeader(), RespBody: []byte(`{"error":{"code":7,"message":"x"}}`)}, "not an Error"},
		{"console page", Exchange{Method: "GET", Target: "/console/", Status: 200,
			RespHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, RespBody: []byte("<html>")}, ""},
		{"console nested file", Exchange{Method: "GET", Target: "/console/lib/ui.css", Status: 200,
			RespHeader: http.Header{"Content-Type": {"text/css; charset=utf-8"}}, RespBody: []byte(":root{}")}, ""},
		{"preflight", Exchange{Method: "OPTIONS", Target: "/v1/rooms", Status: 200}, ""},
		{"preflight with a body", Exchange{Method: "OPTIONS", Target: "/v1/rooms", Status: 200, RespBody: []byte("x")}, "empty 200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(tc.x)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected mismatch: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("mismatch not reported (want %q)", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %v, want it to say %q", err, tc.wantErr)
			}
		})
	}
}

// TestCheckErrorCodes checks that the Error schema's code enum is exactly the set of Code*
// constants of common/errs, read from its source so that a new code cannot go undescribed.
func TestCheckErrorCodes(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var described []int
	for _, v := range c.Doc().Components.Schemas["Error"].Value.Properties["error"].Value.Properties["code"].Value.Enum {
		n, ok := v.(float64)
		if !ok {
			t.Fatalf("code enum value %v is not a number", v)
		}
		described = append(described, int(n))
	}
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "..", "..", "common", "errs", "errs.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var defined []int
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || len(spec.Values) != 1 || !strings.HasPrefix(spec.Names[0].Name, "Code") {
			return true
		}
		if lit, ok := spec.Values[0].(*ast.BasicLit); ok && lit.Kind == token.INT {
			n, err := strconv.Atoi(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			defined = append(defined, n)
		}
		return true
	})
	slices.Sort(described)
	slices.Sort(defined)
	if len(defined) == 0 || !slices.Equal(described, defined) {
		t.Fatalf("Error schema codes %v, common/errs codes %v", described, defined)
	}
}
