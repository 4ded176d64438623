package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// secretFile is where serve keeps the HS256 secret it generates.
const secretFile = "jwt-secret"

// loadSecret returns the configured secret, or the one kept in the data dir,
// creating it (32 random bytes, hex, mode 0600) when create is set.
func loadSecret(cfg Config, create bool) ([]byte, error) {
	if cfg.JWTSecret != "" {
		if len(cfg.JWTSecret) < 32 {
			return nil, errors.New("CUSTODIAN_JWT_SECRET must be at least 32 bytes")
		}
		return []byte(cfg.JWTSecret), nil
	}
	path := filepath.Join(cfg.DataDir, secretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		secret := strings.TrimSpace(string(b))
		if len(secret) < 32 {
			return nil, fmt.Errorf("token secret %s: shorter than 32 bytes (remove the file and start `custodian serve` to make a new one)", path)
		}
		return []byte(secret), nil
	}
	if !os.IsNotExist(err) || !create {
		return nil, fmt.Errorf("read token secret %s: %w (start `custodian serve` once, or set CUSTODIAN_JWT_SECRET)", path, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	secret := hex.EncodeToString(raw)
	if err := createDurably(path, []byte(secret+"\n")); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process made it meanwhile
			return loadSecret(cfg, false)
		}
		return nil, fmt.Errorf("create token secret: %w", err)
	}
	return []byte(secret), nil
}

// createDurably creates path (mode 0600) holding data, whole or not at all,
// even across a crash: it writes and syncs a temporary file, links it to
// path (fs.ErrExist when path exists), and syncs the directory.
func createDurably(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
