package allinone

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/conclave-rtc/conclave/internal/devtokens"
	"github.com/conclave-rtc/conclave/web"
)

// portalSite is what the all-in-one portal serves besides Socket.IO: the demo page at / and
// the dev-only token endpoint at /dev/join (a 404 explaining how to enable it unless
// CONCLAVE_DEV_TOKENS=1). The separate portal binary serves neither.
func portalSite(api net.Addr, super superService, log *slog.Logger) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle("/", web.Demo())
	if !devtokens.Enabled(os.Getenv) {
		mux.Handle("/dev/", devtokens.Disabled())
		return mux, nil
	}
	h, err := devtokens.New(devtokens.Config{
		API: devtokens.APIURL(api), ServiceID: super.ID, ServiceKey: super.Key, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("dev tokens: %w", err)
	}
	log.Warn("dev tokens enabled: anyone who reaches the portal can create rooms and join them (" + devtokens.EnvVar + "=1)")
	mux.Handle("/dev/", h)
	return mux, nil
}
