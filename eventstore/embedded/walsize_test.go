package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/eventstoretest"
)

// TestWALStaysBounded: under sustained appends, SQLite's WAL starts over
// instead of growing with the data (a checkpoint on another connection
// while the indexer commits is seldom complete).
func TestWALStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64,000 events")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 400; i++ {
				st := eventstoretest.Stream(fmt.Sprintf("w%d-%d", g, i))
				if _, err := s.Append(ctx, st, eventstore.NoStream, eventstoretest.Events(i*10, 5)...); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	wal, err := os.Stat(filepath.Join(dir, DBFile+"-wal"))
	require.NoError(t, err)
	db, err := os.Stat(filepath.Join(dir, DBFile))
	require.NoError(t, err)
	t.Logf("64,000 events in %d SQLite transactions: WAL %d KiB, database %d KiB", s.commits.Load(), wal.Size()>>10, db.Size()>>10)
	// The WAL's high-water mark: CheckpointPages (1,000) plus what one
	// transaction adds after it (~900 events, ~500 pages here). With the
	// checkpointer goroutine alone it reached 2,500–12,000 pages.
	assert.Less(t, wal.Size(), int64(2000*4096), "the WAL grows with the data")
}
