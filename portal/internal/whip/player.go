package whip

import (
	_ "embed"
	"net/http"
)

// playerPage is the WHEP player: a standard WHEP client in a page (docs/whip-whep.md).
//
//go:embed player.html
var playerPage []byte

// servePlayer serves the player; its parameters are read by the page's script.
func servePlayer(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the URL may carry a token
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(playerPage)
}
