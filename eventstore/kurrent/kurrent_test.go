package kurrent_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/eventstoretest"
	"github.com/custodian/custodian/eventstore/kurrent"
)

// TestConformance runs the eventstore conformance suite against the KurrentDB
// named by KURRENTDB_URL. The suite uses fresh stream names and reads the log
// from the head it finds, so the server may hold other data.
func TestConformance(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL is not set: the KurrentDB conformance suite needs a running KurrentDB (make test-kurrent, or docker compose up)")
	}
	eventstoretest.Run(t, func(t *testing.T) eventstore.Store {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := kurrent.Open(ctx, url)
		require.NoError(t, err)
		return s
	})
}
