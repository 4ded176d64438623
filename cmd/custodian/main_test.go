package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestServeFlagsFromEnvironment(t *testing.T) {
	cfg, err := parseServeFlags("serve", nil, env(map[string]string{
		"CUSTODIAN_ADDR": "127.0.0.1:9999", "CUSTODIAN_DATA_DIR": "/tmp/x", "CUSTODIAN_STORE": "kurrentdb",
		"KURRENTDB_URL": "esdb://h:2113?tls=false", "CUSTODIAN_OPERATORS": "ops, root ,",
	}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9999", cfg.Addr)
	assert.Equal(t, "/tmp/x", cfg.DataDir)
	assert.Equal(t, "kurrentdb", cfg.Store)
	assert.Equal(t, "esdb://h:2113?tls=false", cfg.KurrentURL)
	assert.Equal(t, []string{"ops", "root"}, cfg.Operators)
	assert.False(t, cfg.Demo)

	cfg, err = parseServeFlags("demo", []string{"--addr", "127.0.0.1:1"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", cfg.Addr, "a flag wins over the default")
	assert.Equal(t, "./data", cfg.DataDir)
	assert.Equal(t, []string{"operator"}, cfg.Operators)
	assert.True(t, cfg.Demo, "demo is serve --demo")

	_, err = parseServeFlags("serve", []string{"extra"}, env(nil), io.Discard)
	assert.Error(t, err)
	_, err = parseServeFlags("demo", nil, env(map[string]string{"CUSTODIAN_OIDC_ISSUER": "https://idp"}), io.Discard)
	assert.Error(t, err, "the demo prints HS256 tokens")

	cfg, err = parseServeFlags("serve", []string{"--gc-percent", "300"}, env(map[string]string{"CUSTODIAN_GC_PERCENT": "200"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 300, cfg.GCPercent, "the flag over the environment")
	_, err = parseServeFlags("serve", nil, env(map[string]string{"CUSTODIAN_GC_PERCENT": "abc"}), io.Discard)
	assert.ErrorContains(t, err, "CUSTODIAN_GC_PERCENT: not a number")
	_, err = parseServeFlags("serve", []string{"--gc-percent", "-1"}, env(nil), io.Discard)
	assert.ErrorContains(t, err, "0 or more")

	cfg, err = parseServeFlags("serve", []string{"--log-level", "warn"}, env(map[string]string{"CUSTODIAN_LOG_LEVEL": "debug"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, slog.LevelWarn, cfg.LogLevel)
	_, err = parseServeFlags("serve", []string{"--log-level", "verbose"}, env(nil), io.Discard)
	assert.ErrorContains(t, err, "verbose")
	_, err = parseServeFlags("serve", nil, env(map[string]string{"CUSTODIAN_LOG_LEVEL": "loud"}), io.Discard)
	assert.ErrorContains(t, err, "CUSTODIAN_LOG_LEVEL")
}

// The generated secret is created whole or not at all, 0600; a short one
// found in the data dir is an error that names the file.
func TestGeneratedSecret(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir}
	secret, err := loadSecret(cfg, true)
	require.NoError(t, err)
	assert.Len(t, secret, 64)
	info, err := os.Stat(filepath.Join(dir, secretFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	again, err := loadSecret(cfg, true)
	require.NoError(t, err)
	assert.Equal(t, secret, again, "kept, not made again")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left")

	require.NoError(t, os.WriteFile(filepath.Join(dir, secretFile), nil, 0o600))
	_, err = loadSecret(cfg, true)
	assert.ErrorContains(t, err, filepath.Join(dir, secretFile))
}

func TestRunRefusesUnknownCommands(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, env(nil), io.Discard, &stderr)
	assert.True(t, errors.Is(err, errUsage))
	assert.Contains(t, stderr.String(), "usage")
	assert.Error(t, run(context.Background(), nil, env(nil), io.Discard, io.Discard))
}

func TestTokenNeedsASecret(t *testing.T) {
	dir := t.TempDir()
	err := run(context.Background(), []string{"token", "--operator", "--data-dir", dir}, env(nil), io.Discard, io.Discard)
	require.Error(t, err, "no secret in the data dir yet")
	var out bytes.Buffer
	err = run(context.Background(), []string{"token", "--user", "u-1"}, env(map[string]string{
		"CUSTODIAN_JWT_SECRET": strings.Repeat("s", 32)}), &out, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 3, len(strings.Split(strings.TrimSpace(out.String()), ".")), "a JWT")
}

func TestSetProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	def := runtime.GOMAXPROCS(0)
	none := func(string) string { return "" }
	assert.Equal(t, 3, setProcs(3, none), "the flag wins")
	assert.Equal(t, 3, runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(def)
	assert.Equal(t, 2*def, setProcs(0, none), "twice the default")
	runtime.GOMAXPROCS(def)
	fromEnv := func(k string) string {
		if k == "GOMAXPROCS" {
			return "1"
		}
		return ""
	}
	assert.Equal(t, def, setProcs(0, fromEnv), "GOMAXPROCS in the environment is left alone")
}

func TestSetGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	assert.Equal(t, 250, setGCPercent(250), "the flag wins")
	assert.Equal(t, 250, debug.SetGCPercent(100))
	debug.SetGCPercent(-1) // as the runtime applies GOGC=off
	assert.Equal(t, -1, setGCPercent(0), "without the flag, Go's target is left alone")
	assert.Equal(t, -1, debug.SetGCPercent(100))
}
