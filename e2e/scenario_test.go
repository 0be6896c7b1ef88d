package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// roomJSON is the part of a room answer the scenario looks at.
type roomJSON struct {
	ID               string `json:"_id"`
	VirtualID        string `json:"id"`
	Name             string `json:"name"`
	ParticipantLimit int    `json:"participantLimit"`
	InputLimit       int    `json:"inputLimit"`
	Roles            []struct {
		Role string `json:"role"`
	} `json:"roles"`
	Views []struct {
		Label string `json:"label"`
	} `json:"views"`
}

// exerciseREST runs the operator scenario of issue 2 against a running management API and
// returns the tenant service's client and the id of one of its rooms that still exists.
func exerciseREST(t *testing.T, super e2eutil.RESTClient, portalHost string) (e2eutil.RESTClient, string) {
	t.Helper()
	// Services: the super service creates a tenant.
	var services []map[string]any
	e2eutil.Must(t, super.Do(t, "GET", "/services", nil), http.StatusOK).Decode(t, &services)
	svcKey := ids.RandomHex(24)
	var created map[string]any
	e2eutil.Must(t, super.Do(t, "POST", "/services", map[string]string{"name": "tenant-" + ids.RandomHex(4), "key": svcKey}), http.StatusOK).Decode(t, &created)
	svcID, _ := created["_id"].(string)
	if !ids.IsObjectID(svcID) {
		t.Fatalf("service answer without _id: %v", created)
	}
	if _, leaked := created["key"]; leaked {
		t.Fatalf("service answer leaks the key: %v", created)
	}
	svc := e2eutil.RESTClient{Base: super.Base, ServiceID: svcID, Key: svcKey}
	e2eutil.MustError(t, svc.Do(t, "GET", "/services", nil), http.StatusForbidden, 1102)
	e2eutil.Must(t, svc.Do(t, "GET", "/services/"+svcID, nil), http.StatusOK)

	// Rooms: create with defaults, paginate in creation order, update, scope per service.
	var first roomJSON
	e2eutil.Must(t, svc.Do(t, "POST", "/v1/rooms", map[string]any{"name": "first"}), http.StatusOK).Decode(t, &first)
	if !ids.IsObjectID(first.ID) || first.VirtualID != first.ID || first.ParticipantLimit != -1 || first.InputLimit != -1 {
		t.Fatalf("room defaults: %+v", first)
	}
	if len(first.Roles) != 5 || first.Roles[0].Role != "presenter" || len(first.Views) != 1 || first.Views[0].Label != "common" {
		t.Fatalf("room default roles/views: %+v", first)
	}
	all := []string{first.ID}
	for i := range 4 {
		var r roomJSON
		opts := map[string]any{"participantLimit": 10 + i}
		e2eutil.Must(t, svc.Do(t, "POST", "/v1/rooms/", map[string]any{"name": "room", "options": opts}), http.StatusOK).Decode(t, &r)
		if r.ParticipantLimit != 10+i {
			t.Fatalf("options not applied: %+v", r)
		}
		all = append(all, r.ID)
	}
	var page []roomJSON
	e2eutil.Must(t, svc.Do(t, "GET", "/v1/rooms?page=2&per_page=2", nil), http.StatusOK).Decode(t, &page)
	if got := []string{page[0].ID, page[1].ID}; len(page) != 2 || !reflect.DeepEqual(got, all[2:4]) {
		t.Fatalf("page 2 = %v, want %v", page, all[2:4])
	}
	var list []roomJSON
	e2eutil.Must(t, svc.Do(t, "GET", "/v1/rooms", nil), http.StatusOK).Decode(t, &list)
	if len(list) != len(all) {
		t.Fatalf("listed %d rooms, want %d", len(list), len(all))
	}
	var updated roomJSON
	e2eutil.Must(t, svc.Do(t, "PUT", "/v1/rooms/"+first.ID, map[string]any{"participantLimit": 3}), http.StatusOK).Decode(t, &updated)
	if updated.ParticipantLimit != 3 || updated.Name != "first" {
		t.Fatalf("PUT merged wrongly: %+v", updated)
	}
	var got roomJSON
	e2eutil.Must(t, svc.Do(t, "GET", "/v1/rooms/"+first.ID+"/", nil), http.StatusOK).Decode(t, &got)
	if got.ParticipantLimit != 3 {
		t.Fatalf("update not stored: %+v", got)
	}
	e2eutil.MustError(t, super.Do(t, "GET", "/v1/rooms/"+first.ID, nil), http.StatusNotFound, 1003)
	e2eutil.MustError(t, super.Do(t, "DELETE", "/v1/rooms/"+first.ID, nil), http.StatusNotFound, 1003)

	// Authentication failures.
	bad := svc
	bad.Key = "wrong"
	e2eutil.MustError(t, bad.Do(t, "GET", "/v1/rooms", nil), http.StatusUnauthorized, 1101)
	e2eutil.MustError(t, svc.Send(t, "GET", "/v1/rooms", nil, ""), http.StatusUnauthorized, 1101)
	e2eutil.MustError(t, svc.Send(t, "GET", "/v1/rooms", nil, "MAuth garbage"), http.StatusUnauthorized, 1101)

	// Bad bodies never become 500s.
	e2eutil.MustError(t, svc.Do(t, "POST", "/v1/rooms", []byte(`{"name":`)), http.StatusBadRequest, 1301)
	e2eutil.MustError(t, svc.Do(t, "POST", "/v1/rooms", map[string]any{"name": 5}), http.StatusBadRequest, 1301)
	e2eutil.MustError(t, svc.Do(t, "POST", "/v1/rooms", map[string]any{"name": "x", "options": map[string]any{"participantLimit": "many"}}), http.StatusBadRequest, 1301)
	conflict := map[string]any{"name": "x", "options": map[string]any{"views": []any{map[string]any{"video": map[string]any{"format": map[string]any{"codec": "h265"}}}}}}
	e2eutil.MustError(t, svc.Do(t, "POST", "/v1/rooms", conflict), http.StatusBadRequest, 1301)
	e2eutil.MustError(t, svc.Do(t, "PUT", "/v1/rooms/"+first.ID, map[string]any{"roles": "none"}), http.StatusBadRequest, 1301)

	// Tokens (the OWT JS client posts to tokens/ with a trailing slash).
	tok := e2eutil.Must(t, svc.Do(t, "POST", "/v1/rooms/"+first.ID+"/tokens/", map[string]any{"user": "alice", "role": "presenter", "preference": map[string]string{"isp": "isp", "region": "region"}}), http.StatusOK)
	checkToken(t, string(tok.Body), portalHost)
	e2eutil.MustError(t, svc.Do(t, "POST", "/v1/rooms/"+first.ID+"/tokens", map[string]any{"user": "alice", "role": "nobody"}), http.StatusBadRequest, 1301)
	e2eutil.MustError(t, svc.Do(t, "POST", "/v1/rooms/"+first.ID+"/tokens", map[string]any{"user": "", "role": "presenter"}), http.StatusBadRequest, 1301)

	// Live resources of a room nobody is in.
	for _, path := range []string{"/v1/rooms/" + first.ID + "/participants", "/v1/rooms/" + first.ID + "/streams", "/v1.1/rooms/" + first.ID + "/streams", "/v1/rooms/" + first.ID + "/recordings"} {
		if r := e2eutil.Must(t, svc.Do(t, "GET", path, nil), http.StatusOK); strings.TrimSpace(string(r.Body)) != "[]" {
			t.Fatalf("GET %s = %s, want []", path, r.Body)
		}
	}
	e2eutil.MustError(t, svc.Do(t, "DELETE", "/v1/rooms/"+first.ID+"/participants/nobody", nil), http.StatusNotFound, 1005)
	e2eutil.MustError(t, svc.Do(t, "GET", "/v1/rooms/"+first.ID+"/streams/nostream", nil), http.StatusNotFound, 1004)

	// Delete.
	r := e2eutil.Must(t, svc.Do(t, "DELETE", "/v1/rooms/"+all[4], nil), http.StatusOK)
	if string(r.Body) != "Room deleted" {
		t.Fatalf("DELETE room body %q", r.Body)
	}
	e2eutil.MustError(t, svc.Do(t, "GET", "/v1/rooms/"+all[4], nil), http.StatusNotFound, 1003)

	// CORS pre-flight and operations endpoints.
	pre := e2eutil.Must(t, svc.Send(t, "OPTIONS", "/v1/rooms", nil, ""), http.StatusOK)
	_ = pre
	m := e2eutil.Must(t, svc.Send(t, "GET", "/metrics", nil, ""), http.StatusOK)
	if !strings.Contains(string(m.Body), "# TYPE") {
		t.Fatalf("/metrics is not Prometheus text: %.200s", m.Body)
	}
	return svc, first.ID
}

// checkToken decodes an OWT token and checks its shape (owt-protocol.md §3.1).
func checkToken(t *testing.T, s, portalHost string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("token is not base64: %q", s)
	}
	if !strings.HasPrefix(string(raw), `{"tokenId":"`) || !strings.Contains(string(raw), `","host":"`) {
		t.Fatalf("token JSON key order differs from OWT: %s", raw)
	}
	var tok struct {
		TokenID   string `json:"tokenId"`
		Host      string `json:"host"`
		Secure    *bool  `json:"secure"`
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	if !ids.IsObjectID(tok.TokenID) || tok.Host != portalHost || tok.Secure == nil || len(tok.Signature) != 88 {
		t.Fatalf("token %s (want host %s)", raw, portalHost)
	}
}
