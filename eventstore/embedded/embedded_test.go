package embedded_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/embedded"
	"github.com/custodian/custodian/eventstore/eventstoretest"
)

func TestConformance(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T) eventstore.Store {
		s, err := embedded.Open(t.TempDir(), embedded.Options{})
		require.NoError(t, err)
		return s
	})
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Open(dir, embedded.Options{})
	require.NoError(t, err)
	_, err = embedded.Open(dir, embedded.Options{})
	require.ErrorIs(t, err, eventstore.ErrLocked)
	assert.Contains(t, err.Error(), "held by pid")
	require.NoError(t, s.Close())
	s, err = embedded.Open(dir, embedded.Options{})
	require.NoError(t, err, "the lock is released by Close")
	require.NoError(t, s.Close())
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, embedded.Options{})
	require.NoError(t, err)
	stream := eventstoretest.Stream("reopen")
	evs := eventstoretest.Events(0, 50)
	res, err := s.Append(ctx, stream, eventstore.NoStream, evs...)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = embedded.Open(dir, embedded.Options{})
	require.NoError(t, err)
	defer s.Close()
	h, err := s.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, res.Position, h)
	var n int
	require.NoError(t, s.ReadAll(ctx, eventstore.Start, false, func(e eventstore.Envelope) error {
		assert.Equal(t, evs[n].ID, e.ID)
		n++
		return nil
	}))
	assert.Equal(t, 50, n)
	// The stream head is read back from the table after a restart.
	_, err = s.Append(ctx, stream, eventstore.Exact(49), eventstoretest.NewEvent(50))
	require.NoError(t, err)
	_, err = s.Append(ctx, stream, eventstore.Exact(49), eventstoretest.NewEvent(51))
	require.ErrorIs(t, err, eventstore.ErrWrongRevision)
}

func TestOpenRefusesAFileThatIsNotAStore(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, embedded.DBFile), []byte("this is not a database, just text that is long enough to have a header..........................................................................................."), 0o600))
	_, err := embedded.Open(dir, embedded.Options{})
	require.ErrorIs(t, err, eventstore.ErrCorrupt)
}

// TestFailedSyncBreaksTheStore: after an fdatasync of the WAL fails, the
// store acknowledges nothing more and publishes nothing more — the kernel
// may have dropped the dirty pages and reports that only once.
func TestFailedSyncBreaksTheStore(t *testing.T) {
	ctx := context.Background()
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	require.NoError(t, err)
	defer s.Close()
	stream := eventstoretest.Stream("broken")
	first, err := s.Append(ctx, stream, eventstore.NoStream, eventstoretest.NewEvent(0))
	require.NoError(t, err)

	restore := embedded.FailSyncs(syscall.EIO)
	_, err = s.Append(ctx, stream, eventstore.Exact(0), eventstoretest.NewEvent(1))
	require.ErrorIs(t, err, syscall.EIO)
	restore()

	_, err = s.Append(ctx, stream, eventstore.Any, eventstoretest.NewEvent(2))
	require.ErrorIs(t, err, syscall.EIO, "the failure is sticky, even after syncs work again")
	h, err := s.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, first.Position, h, "nothing unsynced is published")
	var n int
	require.NoError(t, s.ReadStream(ctx, stream, eventstore.Forward, 0, func(eventstore.Envelope) error { n++; return nil }))
	assert.Equal(t, 1, n, "readers see only what was durable")

	// A follower gets what was durable, then the error: nothing more will
	// come, and it must neither wait forever nor spin.
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n = 0
	err = s.ReadAll(fctx, eventstore.Start, true, func(eventstore.Envelope) error { n++; return nil })
	require.ErrorIs(t, err, syscall.EIO)
	assert.Equal(t, 1, n)
}

// TestStreamFilter: with the filter of known streams installed, a stream
// written before the reopen, and one written while the filter was built,
// still refuse NoStream and continue at their next revision.
func TestStreamFilter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, embedded.Options{})
	require.NoError(t, err)
	before := eventstoretest.Stream("before")
	_, err = s.Append(ctx, before, eventstore.NoStream, eventstoretest.Events(0, 3)...)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = embedded.Open(dir, embedded.Options{})
	require.NoError(t, err)
	defer s.Close()
	during := eventstoretest.Stream("during")
	_, err = s.Append(ctx, during, eventstore.NoStream, eventstoretest.NewEvent(0))
	require.NoError(t, err)
	require.True(t, embedded.StreamFilterBuilt(s))

	for stream, next := range map[string]uint64{before: 3, during: 1} {
		_, err = s.Append(ctx, stream, eventstore.NoStream, eventstoretest.NewEvent(9))
		require.ErrorIs(t, err, eventstore.ErrWrongRevision, stream)
		res, err := s.Append(ctx, stream, eventstore.Any, eventstoretest.NewEvent(9))
		require.NoError(t, err)
		assert.Equal(t, eventstore.Revision(next), res.Revision, stream)
	}
	res, err := s.Append(ctx, eventstoretest.Stream("after"), eventstore.NoStream, eventstoretest.NewEvent(0))
	require.NoError(t, err)
	assert.Equal(t, eventstore.Revision(0), res.Revision)
}
