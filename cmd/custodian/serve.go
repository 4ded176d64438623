package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/custodian/custodian/api"
	"github.com/custodian/custodian/projections"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// serve runs the HTTP server until ctx ends, then shuts it down gracefully:
// stop accepting, finish in-flight requests, stop the projections, close the
// store.
func serve(ctx context.Context, name string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(name, args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}

	var secret []byte
	if cfg.OIDCIssuer == "" {
		if secret, err = loadSecret(cfg, true); err != nil {
			return err
		}
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()

	auth, err := api.NewAuthenticator(ctx, api.AuthConfig{Secret: secret, Issuer: cfg.OIDCIssuer,
		Audience: cfg.OIDCAudience, Operators: cfg.Operators}, time.Now)
	if err != nil {
		return err
	}
	runner := projections.NewRunner(store, time.Now, projections.ReadModels()...)
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := runner.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("projections stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := projections.RunExpiryReactor(bg, runner, store, time.Now, logger.With("component", "expiry")); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("expiry reactor stopped", "err", err)
		}
	}()
	defer wg.Wait()
	defer stopBackground()

	handler, err := api.NewServer(api.Config{Logger: logger, Store: store, Runner: runner, Auth: auth,
		Now: time.Now, Background: bg, Metrics: api.NewMetrics()})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	logger.Info("listening", "addr", ln.Addr().String(), "store", cfg.Store)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	if cfg.Demo {
		wait, cancel := context.WithTimeout(ctx, time.Minute)
		err := runner.WaitLive(wait)
		cancel()
		if err == nil {
			err = loadDemo(ctx, handler, auth, cfg.Operators, "http://"+ln.Addr().String(), stdout)
		}
		if err != nil {
			logger.Error("demo data", "err", err)
		}
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil // deferred: stop the projections and the reactor, then close the store
}
