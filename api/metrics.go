package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/custodian/custodian/eventstore"
)

// Metrics are the Prometheus metrics the server exposes at /metrics.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
	appends  prometheus.Counter
	lag      *prometheus.GaugeVec
}

// NewMetrics returns a registry with the process collectors and ours.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "custodian_http_request_duration_seconds", Help: "HTTP request latency by route, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "status"}),
		appends: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "custodian_events_appended_total", Help: "Events in the appends this process had acknowledged.",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custodian_projection_lag", Help: "Log head minus projection checkpoint (events on the embedded store).",
		}, []string{"projection"}),
	}
	m.registry.MustRegister(m.requests, m.appends, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CountAppends returns st with the events of its acknowledged appends
// counted in custodian_events_appended_total. serve hands the one store of
// the process through it, to the api and the reactors alike.
func (m *Metrics) CountAppends(st eventstore.Store) eventstore.Store {
	return countingStore{Store: st, m: m}
}

type countingStore struct {
	eventstore.Store
	m *Metrics
}

func (c countingStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	res, err := c.Store.Append(ctx, stream, expected, events...)
	if err == nil {
		c.m.appends.Add(float64(len(events)))
	}
	return res, err
}

// methods are the label values of the request methods: any other method is
// "OTHER", so that a client cannot add series by inventing methods.
var methods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true}

func methodLabel(method string) string {
	if methods[method] {
		return method
	}
	return "OTHER"
}

func (m *Metrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				status = problemFor(err).Status
			}
			m.requests.WithLabelValues(c.Path(), methodLabel(c.Request().Method), strconv.Itoa(status)).Observe(time.Since(start).Seconds())
			return err
		}
	}
}

func (s *server) metricsHandler(c echo.Context) error {
	if s.metrics == nil {
		return echo.NewHTTPError(http.StatusNotFound, "metrics are off")
	}
	if st, err := s.runner.Status(c.Request().Context()); err == nil {
		for _, p := range st {
			s.metrics.lag.WithLabelValues(p.Name).Set(float64(p.Lag))
		}
	}
	promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}
