package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

// Config is everything NewServer needs.
type Config struct {
	Logger *slog.Logger
	Store  eventstore.Store
	Runner *projections.Runner
	Auth   *Authenticator
	// Now is the clock; time.Now in production.
	Now func() time.Time
	// Background outlives requests: rebuilds run in it.
	Background context.Context
	// BodyLimit bounds request bodies (default 1 MiB).
	BodyLimit int64
	// ConsistencyWait bounds how long a request waits for the read models
	// (default 5 s, api.md).
	ConsistencyWait time.Duration
	// Metrics, when set, receives request and store metrics.
	Metrics *Metrics
}

// server holds the dependencies every handler uses.
type server struct {
	log     *slog.Logger
	store   eventstore.Store
	runner  *projections.Runner
	auth    *Authenticator
	now     func() time.Time
	bg      context.Context
	limit   int64
	wait    time.Duration
	metrics *Metrics

	ackMu   sync.Mutex
	lastAck eventstore.Position

	refusals *refusalLimiter
	aggs     *aggCache

	// dirMu serializes the directory commands whose rules read other
	// aggregates (subject uniqueness, the last administrator).
	dirMu sync.Mutex
}

// NewServer returns the HTTP handler of the whole api.
func NewServer(cfg Config) (http.Handler, error) {
	if cfg.Logger == nil || cfg.Store == nil || cfg.Runner == nil || cfg.Auth == nil {
		return nil, errors.New("api: logger, store, runner and auth are required")
	}
	s := &server{
		log: cfg.Logger, store: cfg.Store, runner: cfg.Runner, auth: cfg.Auth,
		now: cfg.Now, bg: cfg.Background, limit: cfg.BodyLimit, wait: cfg.ConsistencyWait,
		metrics: cfg.Metrics, refusals: newRefusalLimiter(10, time.Minute), aggs: newAggCache(aggCacheSize),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.bg == nil {
		s.bg = context.Background()
	}
	if s.limit <= 0 {
		s.limit = 1 << 20
	}
	if s.wait <= 0 {
		s.wait = 5 * time.Second
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(dropBadRequestID, middleware.RequestID())
	e.Use(s.logRequests())
	if s.metrics != nil {
		e.Use(s.metrics.middleware())
	}
	// Recover inside the metrics: a recovered panic is counted as its 500.
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogLevel: 0,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err, "stack", string(stack))
			return err
		}}))
	e.Use(s.limitBody)
	s.routes(e)
	return e, nil
}

// limitBody bounds every request body: reading past the limit fails, and
// decode turns that into a 413.
func (s *server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().ContentLength > s.limit {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "body over the limit")
		}
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, s.limit)
		return next(c)
	}
}

// logRequests logs one line a request with the route pattern, never the raw
// path: link and download tokens travel in paths and must not be logged.
func (s *server) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogRoutePath: true, LogLatency: true, LogRequestID: true, LogError: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("route", v.RoutePath), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("request_id", v.RequestID))
			return nil
		},
	})
}

// acked records the position of an append this process acknowledged: no
// later request is answered from read models older than it.
func (s *server) acked(p eventstore.Position) {
	s.ackMu.Lock()
	if s.lastAck.Before(p) {
		s.lastAck = p
	}
	s.ackMu.Unlock()
}

// consistent waits until the read models reached the last acknowledged
// position and the request's Custodian-Consistency token, up to the bound.
func (s *server) consistent(c echo.Context) error {
	at := eventstore.Start
	if h := c.Request().Header.Get("Custodian-Consistency"); h != "" {
		p, err := eventstore.ParsePosition(strings.TrimSpace(h))
		if err != nil {
			return invalid("Custodian-Consistency", "not a position")
		}
		at = p
	}
	return s.waitFor(c.Request().Context(), at)
}

// waitFor waits, up to the bound, until the read models reached at and every
// write this process acknowledged. Directory commands whose rules read other
// aggregates call it again while they hold dirMu, so that their facts
// include the previous such command.
func (s *server) waitFor(ctx context.Context, at eventstore.Position) error {
	s.ackMu.Lock()
	if at.Before(s.lastAck) {
		at = s.lastAck
	}
	s.ackMu.Unlock()
	if err := s.runner.WaitForWithin(ctx, at, s.wait); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return errNotReady
		}
		return err
	}
	return nil
}
