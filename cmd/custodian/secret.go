package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
		return []byte(strings.TrimSpace(string(b))), nil
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
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create token secret: %w", err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return []byte(secret), f.Close()
}
