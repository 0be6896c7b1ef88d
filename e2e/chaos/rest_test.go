package chaos

import (
	"net/http"
	"testing"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// mustJSON sends a request that must answer 200 and decodes the answer into out.
func mustJSON(t *testing.T, c e2eutil.RESTClient, method, path string, body, out any) {
	t.Helper()
	e2eutil.Must(t, c.Do(t, method, path, body), http.StatusOK).Decode(t, out)
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
func sessions(t *testing.T, c e2eutil.RESTClient, room, kind string) []session {
	t.Helper()
	var out []session
	mustJSON(t, c, "GET", "/v1/rooms/"+room+"/"+kind, nil, &out)
	return out
}
