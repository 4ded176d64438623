package embedded

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/eventstoretest"
)

// TestFailedIndexing: when SQLite refuses the indexer's insert, appends
// already acknowledged are in the journal (and the overlay) only. Reads
// fail (they neither hang nor answer without them), later appends fail,
// and the next Open, once SQLite takes inserts again, replays them.
func TestFailedIndexing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// The indexer gathers for a second: the second append is acknowledged
	// before the indexer tries it.
	s, err := Open(dir, Options{IndexDelay: time.Second})
	require.NoError(t, err)
	stream := eventstoretest.Stream("idx")
	_, err = s.Append(ctx, stream, eventstore.NoStream, eventstoretest.NewEvent(0))
	require.NoError(t, err)
	s.waitIndexed()

	s.wmu.Lock()
	err = s.q.exec(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'refused'); END`)
	s.wmu.Unlock()
	require.NoError(t, err)
	_, err = s.Append(ctx, stream, eventstore.Exact(0), eventstoretest.NewEvent(1))
	require.NoError(t, err, "acknowledged once journaled")

	var n int
	require.NoError(t, s.ReadStream(ctx, stream, eventstore.Forward, 0, func(eventstore.Envelope) error { n++; return nil }))
	assert.Equal(t, 2, n, "the second event is read from the overlay before it is indexed")
	require.Eventually(t, s.indexFailed.Load, 5*time.Second, time.Millisecond, "the indexer tries the insert")

	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = s.ReadStream(rctx, stream, eventstore.Forward, 0, func(eventstore.Envelope) error { return nil })
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the read fails instead of waiting")
	_, err = s.Head(rctx)
	require.Error(t, err)
	_, err = s.Append(ctx, stream, eventstore.Any, eventstoretest.NewEvent(2))
	require.Error(t, err)
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", filepath.Join(dir, DBFile))
	require.NoError(t, err)
	_, err = db.Exec(`DROP TRIGGER refuse`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err = Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	n = 0
	require.NoError(t, s.ReadStream(ctx, stream, eventstore.Forward, 0, func(eventstore.Envelope) error { n++; return nil }))
	assert.Equal(t, 2, n, "the acknowledged event came back from the journal")
}
