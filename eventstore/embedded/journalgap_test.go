package embedded

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/eventstoretest"
)

// TestJournalGaps: acknowledged events lost at the end of a segment that is
// not the last — zeroed, as allocated space reads — are refused, also when
// the segment after it holds no records yet (a crash just after rotation);
// in the last segment the same zeros are a torn tail.
func TestJournalGaps(t *testing.T) {
	ctx := context.Background()
	live := t.TempDir()
	s, err := Open(live, Options{})
	require.NoError(t, err)
	stream := eventstoretest.Stream("gap")
	var ends []int64 // the journal's written size after each append
	for i := 0; i < 20; i++ {
		_, err := s.Append(ctx, stream, eventstore.Any, eventstoretest.NewEvent(i))
		require.NoError(t, err)
		ends = append(ends, JournalSize(s))
	}
	seg, err := os.ReadFile(filepath.Join(live, segmentName(1)))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// open opens a journal whose first segment lost its records from
	// lostFrom on: zeroed (allocated space) or, with cut, cut off.
	open := func(t *testing.T, lostFrom int64, cut bool, next []byte) (int, error) {
		dir := t.TempDir()
		damaged := append([]byte(nil), seg...)
		clear(damaged[lostFrom:])
		if cut {
			damaged = damaged[:lostFrom]
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), damaged, 0o600))
		if next != nil {
			require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(21)), next, 0o600))
		}
		s, err := Open(dir, Options{})
		if err != nil {
			return 0, err
		}
		defer s.Close()
		n := 0
		err = s.ReadAll(ctx, eventstore.Start, false, func(eventstore.Envelope) error { n++; return nil })
		return n, err
	}
	headerOnly := t.TempDir()
	j, err := createSegment(headerOnly, 21)
	require.NoError(t, err)
	j.f.Close()
	header, err := os.ReadFile(filepath.Join(headerOnly, segmentName(21)))
	require.NoError(t, err)
	require.NotEmpty(t, header)

	for name, next := range map[string][]byte{"empty": {}, "zeros": make([]byte, preallocBytes), "header only": header} {
		// Appends 16-20 lost at a record boundary.
		_, err := open(t, ends[14], false, next)
		require.ErrorIs(t, err, eventstore.ErrCorrupt, "zeroed, a later segment %s", name)
		assert.Contains(t, err.Error(), "at offset ", name)
		_, err = open(t, ends[14], true, next)
		require.ErrorIs(t, err, eventstore.ErrCorrupt, "cut, a later segment %s", name)
		assert.Contains(t, err.Error(), "starts at position 21, but the log ends at 15", name)
		// Inside a record.
		_, err = open(t, ends[14]+5, false, next)
		require.ErrorIs(t, err, eventstore.ErrCorrupt, "a later segment %s", name)
	}
	for _, cut := range []bool{false, true} {
		n, err := open(t, ends[14], cut, nil)
		require.NoError(t, err)
		assert.Equal(t, 15, n, "in the last segment the lost records are a torn tail")
	}
}

// TestRotation: finished segments are cut after their last record, the
// journal replays across segments, and segments SQLite holds are deleted.
func TestRotation(t *testing.T) {
	defer func(n int64) { segmentBytes = n }(segmentBytes)
	segmentBytes = 16 << 10
	ctx := context.Background()
	live := t.TempDir()
	s, err := Open(live, Options{IndexDelay: time.Hour})
	require.NoError(t, err)
	defer s.Close()
	stream := eventstoretest.Stream("rot")
	for i := 0; i < 300; i += 3 {
		_, err := s.Append(ctx, stream, eventstore.Any, eventstoretest.Events(i, 3)...)
		require.NoError(t, err)
	}
	names, err := segments(live)
	require.NoError(t, err)
	require.Greater(t, len(names), 3, "the journal rotated")
	image := t.TempDir() // as a crash leaves it: the journal, no database
	for i, name := range names {
		data, err := os.ReadFile(filepath.Join(live, name))
		require.NoError(t, err)
		if i < len(names)-1 {
			assert.NotZero(t, data[len(data)-1], "%s ends with its last record, not allocated space", name)
			assert.Less(t, int64(len(data)), segmentBytes+4096, name)
		}
		require.NoError(t, os.WriteFile(filepath.Join(image, name), data, 0o600))
	}
	replayed, err := Open(image, Options{})
	require.NoError(t, err)
	n := 0
	require.NoError(t, replayed.ReadStream(ctx, stream, eventstore.Forward, 0, func(e eventstore.Envelope) error {
		require.Equal(t, eventstore.Revision(n), e.Revision)
		n++
		return nil
	}))
	assert.Equal(t, 300, n)
	require.NoError(t, replayed.Close())

	s.waitIndexed() // then the indexer deletes the finished segments SQLite holds
	assert.Eventually(t, func() bool {
		names, err := segments(live)
		return err == nil && len(names) == 1
	}, 5*time.Second, time.Millisecond, "only the open segment stays")
}
