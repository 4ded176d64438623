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
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/custodian/custodian/api"
	"github.com/custodian/custodian/projections"
)

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// serve runs the HTTP server until ctx ends, then shuts it down gracefully:
// stop accepting, finish in-flight requests, stop the projections, close the
// store.
func serve(ctx context.Context, name string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(name, args, getenv, stderr)
	if err != nil {
		return err
	}
	logOut := newLogWriter(stderr)
	defer logOut.Close() // last: the other deferred steps log
	logger := newLogger(logOut, cfg.LogLevel)
	logger.Info("threads running Go code", "procs", setProcs(cfg.Procs, getenv))
	logger.Info("garbage collection", "gcPercent", setGCPercent(cfg.GCPercent))
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
	if cfg.MemProfile != "" {
		defer writeHeapProfile(cfg.MemProfile, logger)
	}

	var secret []byte
	if cfg.OIDCIssuer == "" {
		if secret, err = loadSecret(cfg, true); err != nil {
			return err
		}
	}
	opened, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer opened.Close()
	metrics := api.NewMetrics()
	store := metrics.CountAppends(opened)

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
		Now: time.Now, Background: bg, Metrics: metrics})
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

// setProcs sets GOMAXPROCS to n, or, when n is 0 and the environment does
// not set GOMAXPROCS, to twice Go's default (the CPUs the process may use).
// The store's writer, its indexer and the projection feed block in fsync and
// pwrite; a goroutine coming back from a blocking call whose P was handed
// on waits in the run queue behind request handlers, and every request
// waits for those three. With twice the Ps the kernel time-slices them in
// sooner: measured on 2 vCPUs, +8 % commands/s and −3 ms p99
// (docs/benchmarks.md). It returns the value set.
func setProcs(n int, getenv func(string) string) int {
	if n <= 0 {
		if getenv("GOMAXPROCS") != "" {
			return runtime.GOMAXPROCS(0)
		}
		n = 2 * runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(n)
	return n
}

// setGCPercent sets the collector's target (debug.SetGCPercent) to n when n
// is above zero, and otherwise leaves Go's (GOGC, default 100). It returns
// the target in force, -1 when collection is off.
//
// Go's default stays: measured under the command load with the live heap it
// has now (57 MB), 400 % gave a heap of up to five times the live one, half
// again as many page faults a command, and a worse paced p99
// (docs/benchmarks.md, 2026-12-05 afternoon).
func setGCPercent(n int) int {
	if n > 0 {
		debug.SetGCPercent(n)
		return n
	}
	v := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(v)
	return int(v[0].Value.Uint64())
}

// writeHeapProfile writes the live heap, as a collection leaves it, to path.
func writeHeapProfile(path string, logger *slog.Logger) {
	f, err := os.Create(path)
	if err == nil {
		runtime.GC()
		err = errors.Join(pprof.Lookup("heap").WriteTo(f, 0), f.Close())
	}
	if err != nil {
		logger.Error("heap profile", "err", err)
	}
}
