package server

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
)

// front adds OWT's CORS headers and nosniff to every response, answers OPTIONS for any path
// with 200 and no authentication (owt-protocol.md §2.1), and strips trailing slashes so that
// "rooms/<id>/tokens/" (what the OWT JS client sends) reaches the "rooms/:room/tokens" route
// without a redirect.
func front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, DELETE, PATCH, PUT")
		h.Set("Access-Control-Allow-Headers", "origin, authorization, content-type")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusOK)
			return
		}
		if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
			r.URL.Path = strings.TrimRight(p, "/")
			if r.URL.Path == "" {
				r.URL.Path = "/"
			}
			r.URL.RawPath = ""
		}
		next.ServeHTTP(w, r)
	})
}

// protectedPrefixes are the paths OWT authenticates before routing (api.js).
var protectedPrefixes = []string{"/v1/rooms", "/v1.1/rooms", "/services"}

// noRoute answers 404/1001, after authenticating requests under the protected prefixes as OWT
// does (an unsigned request to an unknown room sub-path is a 401 there too).
func noRoute(authMW gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		for _, p := range protectedPrefixes {
			if strings.HasPrefix(c.Request.URL.Path, p) {
				authMW(c)
				if c.IsAborted() {
					return
				}
				break
			}
		}
		respond.Error(c, errs.NotFound("Resource not found"))
	}
}

// recovery turns a handler panic into 500/2001 and logs it.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.Error("handler panic", "route", c.FullPath(), "panic", v)
			if !c.Writer.Written() {
				respond.Error(c, errs.Unexpected("Unexpected server error"))
			}
			c.Abort()
		}()
		c.Next()
	}
}
