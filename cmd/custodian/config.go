package main

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Config is everything serve needs, from flags with defaults from CUSTODIAN_* variables.
type Config struct {
	Addr            string
	DataDir         string
	Store           string
	KurrentURL      string
	JWTSecret       string
	OIDCIssuer      string
	OIDCAudience    string
	Operators       []string
	Demo            bool
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	CPUProfile      string
	MemProfile      string
	Procs           int
	GCPercent       int
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// envInt reads the integer in environment variable key, 0 when it is unset.
func envInt(name string, getenv func(string) string, key string) (int, error) {
	n, err := strconv.Atoi(envOr(getenv, key, "0"))
	if err != nil {
		return 0, errors.New(name + ": " + key + ": not a number")
	}
	return n, nil
}

// commonFlags registers the flags every data-touching subcommand shares.
func commonFlags(fs *flag.FlagSet, cfg *Config, getenv func(string) string) {
	fs.StringVar(&cfg.DataDir, "data-dir", envOr(getenv, "CUSTODIAN_DATA_DIR", "./data"), "data directory of the embedded store and of the generated token secret (CUSTODIAN_DATA_DIR)")
	fs.StringVar(&cfg.JWTSecret, "jwt-secret", getenv("CUSTODIAN_JWT_SECRET"), "HS256 secret for tokens (CUSTODIAN_JWT_SECRET); generated in the data dir when empty and no OIDC issuer is set")
}

// parseServeFlags reads serve's flags from args over defaults from getenv.
func parseServeFlags(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, &cfg, getenv)
	fs.StringVar(&cfg.Addr, "addr", envOr(getenv, "CUSTODIAN_ADDR", "127.0.0.1:8080"), "listen address (CUSTODIAN_ADDR)")
	fs.StringVar(&cfg.Store, "store", envOr(getenv, "CUSTODIAN_STORE", "embedded"), "event store: embedded or kurrentdb (CUSTODIAN_STORE)")
	fs.StringVar(&cfg.KurrentURL, "kurrentdb-url", getenv("KURRENTDB_URL"), "KurrentDB connection string, esdb://… (KURRENTDB_URL)")
	fs.StringVar(&cfg.OIDCIssuer, "oidc-issuer", getenv("CUSTODIAN_OIDC_ISSUER"), "OIDC issuer whose keys verify tokens (CUSTODIAN_OIDC_ISSUER)")
	fs.StringVar(&cfg.OIDCAudience, "oidc-audience", getenv("CUSTODIAN_OIDC_AUDIENCE"), "expected token audience (CUSTODIAN_OIDC_AUDIENCE)")
	ops := fs.String("operators", envOr(getenv, "CUSTODIAN_OPERATORS", "operator"), "comma-separated token subjects that are operators (CUSTODIAN_OPERATORS)")
	fs.BoolVar(&cfg.Demo, "demo", name == "demo", "load the demo data set and print tokens")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may finish on SIGTERM")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for performance work)")
	fs.StringVar(&cfg.MemProfile, "memprofile", "", "write a heap profile to this file at shutdown, after a collection (for performance work)")
	var level slog.Level
	if err := level.UnmarshalText([]byte(envOr(getenv, "CUSTODIAN_LOG_LEVEL", "info"))); err != nil {
		return Config{}, errors.New(name + ": CUSTODIAN_LOG_LEVEL: debug, info, warn or error")
	}
	fs.TextVar(&cfg.LogLevel, "log-level", level, "debug, info, warn or error (CUSTODIAN_LOG_LEVEL)")
	procs, err := envInt(name, getenv, "CUSTODIAN_PROCS")
	if err != nil {
		return Config{}, err
	}
	fs.IntVar(&cfg.Procs, "procs", procs, "how many threads run Go code at once (CUSTODIAN_PROCS); 0: twice Go's default, unless GOMAXPROCS is set")
	gc, err := envInt(name, getenv, "CUSTODIAN_GC_PERCENT")
	if err != nil {
		return Config{}, err
	}
	fs.IntVar(&cfg.GCPercent, "gc-percent", gc, "how far the heap grows over the live heap before a collection, in percent (CUSTODIAN_GC_PERCENT); 0: Go's, GOGC or 100")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if cfg.GCPercent < 0 {
		return Config{}, errors.New(name + ": --gc-percent: 0 or more (GOGC=off turns collection off)")
	}
	if fs.NArg() > 0 {
		return Config{}, errors.New(name + ": unexpected arguments: " + strings.Join(fs.Args(), " "))
	}
	for _, op := range strings.Split(*ops, ",") {
		if op = strings.TrimSpace(op); op != "" {
			cfg.Operators = append(cfg.Operators, op)
		}
	}
	if cfg.Demo && cfg.OIDCIssuer != "" {
		return Config{}, errors.New(name + ": the demo prints HS256 tokens and cannot run with an OIDC issuer")
	}
	return cfg, nil
}
