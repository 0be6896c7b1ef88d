package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/streamkey"
)

type streamKeyJSON struct {
	ID, Key, User, Role, Created string
}

func TestStreamKeysLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	roomID := e.createRoom(e.svc, "obs")
	base := "/v1/rooms/" + roomID + "/streamkeys"

	rec := e.as(e.svc, "POST", base, `{"user":"obs","role":"presenter"}`)
	wantOK(t, rec)
	var k streamKeyJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &k); err != nil {
		t.Fatalf("answer %s: %v", rec.Body, err)
	}
	id, secret, ok := streamkey.Parse(k.Key)
	if !ok || id != k.ID || k.User != "obs" || k.Role != "presenter" || k.Created == "" {
		t.Fatalf("created %+v", k)
	}
	stored, err := e.st.GetStreamKey(context.Background(), k.ID)
	if err != nil || stored.RoomID != roomID || stored.ServiceID != e.svc.ID || !streamkey.Matches(stored.Hash, secret) {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	if stored.Hash == secret {
		t.Fatal("the secret is stored in clear")
	}

	rec = e.as(e.svc, "GET", base, "")
	wantOK(t, rec)
	var list []streamKeyJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 || list[0].ID != k.ID || list[0].Key != "" {
		t.Fatalf("list %s (the key itself must not be listed)", rec.Body)
	}
	// Another service sees neither the room nor its keys.
	wantError(t, e.as(e.super, "GET", base, ""), http.StatusNotFound, errs.CodeRoomNotFound)

	wantOK(t, e.as(e.svc, "DELETE", base+"/"+k.ID, ""))
	wantError(t, e.as(e.svc, "DELETE", base+"/"+k.ID, ""), http.StatusNotFound, errs.CodeNotFound)
	if _, err := e.st.GetStreamKey(context.Background(), k.ID); err == nil {
		t.Fatal("a deleted key is still stored")
	}
}

func TestStreamKeysBadInput(t *testing.T) {
	e := newEnv(t, nil)
	roomID := e.createRoom(e.svc, "obs")
	base := "/v1/rooms/" + roomID + "/streamkeys"
	for _, body := range []string{`{"user":"obs","role":"nosuchrole"}`, `{"role":"presenter"}`, `{"user":"obs","role":"presenter","extra":1}`, `[]`} {
		wantError(t, e.as(e.svc, "POST", base, body), http.StatusBadRequest, errs.CodeBadRequest)
	}
	wantError(t, e.as(e.svc, "DELETE", base+"/not-an-id!", ""), http.StatusNotFound, errs.CodeNotFound)
	wantError(t, e.do("GET", base, "", ""), http.StatusUnauthorized, errs.CodeAuth)
	wantError(t, e.as(e.svc, "POST", "/v1/rooms/000000000000000000000000/streamkeys", `{"user":"obs","role":"presenter"}`), http.StatusNotFound, errs.CodeRoomNotFound)
	rec := e.as(e.svc, "GET", base, "")
	wantOK(t, rec)
	if rec.Body.String() != "[]" {
		t.Fatalf("refused requests left keys: %s", rec.Body)
	}
}
