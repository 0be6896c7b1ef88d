// Package metrics exposes the management API's Prometheus metrics from a registry owned by
// one server (never the global one), and logs every request.
package metrics

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/conclave-rtc/conclave/management-api/internal/respond"
)

// unmatched is the route label of requests no route matched, so that scanners cannot create
// unbounded label values.
const unmatched = "unmatched"

// Metrics holds one server's collectors.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New registers the HTTP collectors and the Go/process collectors in a new registry.
func New() *Metrics {
	labels := []string{"route", "method", "code"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "conclave", Subsystem: "management_api", Name: "http_requests_total",
			Help: "HTTP requests by route template, method and status code.",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "conclave", Subsystem: "management_api", Name: "http_request_duration_seconds",
			Help:    "HTTP request latency by route template, method and status code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, labels),
	}
	m.reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds another part's collector (e.g. the all-in-one's webrtc agent) to the
// registry /metrics serves.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Middleware counts and times every request, and logs it (never its headers).
func (m *Metrics) Middleware(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		d := time.Since(start)
		route := c.FullPath()
		if route == "" {
			route = unmatched
		}
		method := method(c.Request.Method)
		code := strconv.Itoa(c.Writer.Status())
		m.requests.WithLabelValues(route, method, code).Inc()
		m.latency.WithLabelValues(route, method, code).Observe(d.Seconds())
		attrs := []any{"method", method, "route", route, "status", c.Writer.Status(), "duration", d}
		if e, ok := respond.Answered(c); ok {
			attrs = append(attrs, "code", e.Code)
		}
		log.Info("request", attrs...)
	}
}

// method bounds the method label to the verbs the API knows.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodHead:
		return m
	}
	return "OTHER"
}
