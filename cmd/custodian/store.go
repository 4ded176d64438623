package main

import (
	"context"
	"fmt"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/embedded"
	"github.com/custodian/custodian/eventstore/kurrent"
)

// openStore opens the store cfg names: the embedded store in cfg.DataDir, or
// KurrentDB at cfg.KurrentURL.
func openStore(ctx context.Context, cfg Config) (eventstore.Store, error) {
	switch cfg.Store {
	case "embedded", "":
		s, err := embedded.Open(cfg.DataDir, embedded.Options{})
		if err != nil {
			return nil, err
		}
		return s, nil
	case "kurrentdb":
		if cfg.KurrentURL == "" {
			return nil, fmt.Errorf("open store: CUSTODIAN_STORE=kurrentdb needs KURRENTDB_URL")
		}
		return kurrent.Open(ctx, cfg.KurrentURL)
	}
	return nil, fmt.Errorf("open store: unknown store %q (embedded or kurrentdb)", cfg.Store)
}
