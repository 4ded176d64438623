package main

import (
	"flag"
	"io"
	"time"
)

// Config is everything serve needs, from flags with defaults from CUSTODIAN_* variables.
type Config struct {
	Addr            string
	DataDir         string
	Store           string
	KurrentURL      string
	Demo            bool
	ShutdownTimeout time.Duration
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// parseServeFlags reads serve's flags from args over defaults from getenv.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", envOr(getenv, "CUSTODIAN_ADDR", "127.0.0.1:8080"), "listen address (CUSTODIAN_ADDR)")
	fs.StringVar(&cfg.DataDir, "data-dir", envOr(getenv, "CUSTODIAN_DATA_DIR", "./data"), "data directory of the embedded store (CUSTODIAN_DATA_DIR)")
	fs.StringVar(&cfg.Store, "store", envOr(getenv, "CUSTODIAN_STORE", "embedded"), "event store: embedded or kurrentdb (CUSTODIAN_STORE)")
	fs.StringVar(&cfg.KurrentURL, "kurrentdb-url", getenv("KURRENTDB_URL"), "KurrentDB connection string, esdb://… (KURRENTDB_URL)")
	fs.BoolVar(&cfg.Demo, "demo", false, "load the demo data set and print tokens")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may finish on SIGTERM")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
