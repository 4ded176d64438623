package embedded

import (
	"context"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/eventstoretest"
)

// replaceWriteback makes startWriteback call with, counting its calls,
// until the test ends.
func replaceWriteback(t *testing.T, with func(*os.File) (bool, error)) *atomic.Int32 {
	var calls atomic.Int32
	saved := startWriteback
	startWriteback = func(f *os.File) (bool, error) {
		calls.Add(1)
		return with(f)
	}
	t.Cleanup(func() { startWriteback = saved })
	return &calls
}

// answer returns a startWriteback that answers ok and err.
func answer(ok bool, err error) func(*os.File) (bool, error) {
	return func(*os.File) (bool, error) { return ok, err }
}

// appendSome appends n events to stream one by one, each after the
// indexer committed the one before.
func appendSome(t *testing.T, s *Store, stream string, n int) {
	t.Helper()
	for i := range n {
		exp := eventstore.ExpectedRevision(eventstore.Exact(eventstore.Revision(i - 1)))
		if i == 0 {
			exp = eventstore.NoStream
		}
		_, err := s.Append(context.Background(), stream, exp, eventstoretest.NewEvent(i))
		require.NoError(t, err)
		s.waitIndexed()
	}
}

// TestWritebackAfterEachCommit: the indexer starts the WAL's writeback
// after each of its commits, on the real file system too.
func TestWritebackAfterEachCommit(t *testing.T) {
	calls := replaceWriteback(t, startWriteback)
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	before := calls.Load()
	appendSome(t, s, eventstoretest.Stream("wb"), 3)
	assert.Equal(t, int32(3), calls.Load()-before, "one writeback a commit")
	assert.False(t, s.noWriteback, "this file system starts writebacks")
}

// TestWritebackUnsupported: where the file system cannot start a writeback,
// the indexer stops asking and the store goes on.
func TestWritebackUnsupported(t *testing.T) {
	calls := replaceWriteback(t, answer(false, nil))
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	appendSome(t, s, eventstoretest.Stream("wb"), 3)
	assert.Equal(t, int32(1), calls.Load(), "asked once")
}

// TestWritebackFailureBreaksStore: a failed writeback counts as a failed
// sync of the WAL (its error might not be reported to the next fdatasync):
// the store stops acknowledging appends.
func TestWritebackFailureBreaksStore(t *testing.T) {
	replaceWriteback(t, answer(false, syscall.EIO))
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	stream := eventstoretest.Stream("wb")
	_, err = s.Append(context.Background(), stream, eventstore.NoStream, eventstoretest.NewEvent(0))
	require.NoError(t, err, "acknowledged once journaled")
	require.Eventually(t, func() bool { return s.brokenError() != nil }, 5*time.Second, time.Millisecond,
		"the indexer commits and starts the writeback")
	_, err = s.Append(context.Background(), stream, eventstore.Any, eventstoretest.NewEvent(1))
	require.ErrorIs(t, err, syscall.EIO)
	assert.ErrorContains(t, err, "start writing the database WAL")
}
