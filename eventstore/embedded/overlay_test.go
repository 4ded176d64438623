package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/eventstoretest"
)

// TestOverlayReads: reads join what SQLite holds and what only the overlay
// holds, at every boundary, both ways, across read pages, and give the same
// answers once everything is indexed and after a reopen.
func TestOverlayReads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{IndexDelay: time.Hour})
	require.NoError(t, err)
	a, b := eventstoretest.Stream("a"), eventstoretest.Stream("b")
	const total = 2*pageSize + 504 // a multiple of 50
	var log []eventstore.Event     // the log in order: a and b interleaved
	var streamOf []string
	for rev := 0; rev < total; rev += 50 {
		evs := eventstoretest.Events(rev, 50)
		_, err := s.Append(ctx, a, eventstore.Any, evs...)
		require.NoError(t, err)
		log = append(log, evs...)
		streamOf = append(streamOf, repeat(a, 50)...)
		eb := eventstoretest.Events(100000+rev, 1)
		_, err = s.Append(ctx, b, eventstore.Any, eb...)
		require.NoError(t, err)
		log = append(log, eb...)
		streamOf = append(streamOf, b)
		if rev == 2250 {
			s.waitIndexed() // SQLite holds a's first 2,300 events (positions 1–2346), the overlay the rest
		}
	}
	var aIDs []string
	for i, e := range log {
		if streamOf[i] == a {
			aIDs = append(aIDs, e.ID.String())
		}
	}
	check := func(when string) {
		for _, from := range []int{0, 1, pageSize - 1, pageSize, 2299, 2300, 2301, total - 1, total, total + 5} {
			var got []string
			require.NoError(t, s.ReadStream(ctx, a, eventstore.Forward, eventstore.Revision(from), func(e eventstore.Envelope) error {
				got = append(got, e.ID.String())
				return nil
			}), when)
			sameIDs(t, aIDs[min(from, total):], got, "%s: forward from %d", when, from)
			got = nil
			require.NoError(t, s.ReadStream(ctx, a, eventstore.Backward, eventstore.Revision(from), func(e eventstore.Envelope) error {
				got = append(got, e.ID.String())
				return nil
			}), when)
			var want []string
			for i := min(from, total-1); i >= 0; i-- {
				want = append(want, aIDs[i])
			}
			sameIDs(t, want, got, "%s: backward from %d", when, from)
		}
		for _, after := range []int{0, 1, 2000, 2345, 2346, 2347, len(log) - 1, len(log)} {
			var got []string
			require.NoError(t, s.ReadAll(ctx, eventstore.Position{Commit: uint64(after), Prepare: uint64(after)}, false, func(e eventstore.Envelope) error {
				require.Equal(t, uint64(after+len(got)+1), e.Position.Commit, when)
				got = append(got, e.ID.String())
				return nil
			}), when)
			var want []string
			for _, e := range log[after:] {
				want = append(want, e.ID.String())
			}
			sameIDs(t, want, got, "%s: the log after %d", when, after)
		}
	}
	s.ov.mu.Lock()
	held := s.ov.next - s.ov.first()
	s.ov.mu.Unlock()
	require.Greater(t, held, uint64(pageSize), "the overlay holds more than a read page")
	check("half indexed")
	s.waitIndexed()
	check("indexed")
	require.NoError(t, s.Close())
	s, err = Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	check("reopened")
}

// sameIDs reports the first difference of two id lists, not the lists.
func sameIDs(t *testing.T, want, got []string, msg string, args ...any) {
	t.Helper()
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Errorf("%s: at %d: %s where %s was expected", fmt.Sprintf(msg, args...), i, got[i], want[i])
			return
		}
	}
	assert.Len(t, got, len(want), fmt.Sprintf(msg, args...))
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestOverlayFollow: a live follower sees every position once, in order,
// while the indexer commits at random moments beneath it.
func TestOverlayFollow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(t.TempDir(), Options{IndexDelay: time.Hour})
	require.NoError(t, err)
	defer s.Close()
	const writers, per = 8, 200
	got := make(chan uint64, writers*per)
	go func() {
		_ = s.ReadAll(ctx, eventstore.Start, true, func(e eventstore.Envelope) error {
			got <- e.Position.Commit
			return nil
		})
	}()
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			for i := 0; i < per; i++ {
				if _, err := s.Append(ctx, eventstoretest.Stream(fmt.Sprintf("f%d", w)), eventstore.Any, eventstoretest.NewEvent(i)); err != nil {
					errs <- err
					return
				}
				if i%37 == w {
					s.index.signal()
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < writers; w++ {
		require.NoError(t, <-errs)
	}
	for want := uint64(1); want <= writers*per; want++ {
		select {
		case p := <-got:
			require.Equal(t, want, p)
		case <-ctx.Done():
			t.Fatalf("the follower stopped before position %d", want)
		}
	}
}

// TestReadPages: long reads of what SQLite holds go through readPages:
// every position once and in order from any start, the caller's error
// stops the read, and a damaged row is reported, not skipped.
func TestReadPages(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	const total = 3*pageSize + 106 // a multiple of 50
	for i := 0; i < total; i += 50 {
		_, err := s.Append(ctx, eventstoretest.Stream(fmt.Sprintf("p%d", i%7)), eventstore.Any, eventstoretest.Events(i, 50)...)
		require.NoError(t, err)
	}
	s.waitIndexed()
	for _, after := range []uint64{0, 1, pageSize - 1, pageSize + 7, total - 2*pageSize - 1} {
		next := after + 1
		require.NoError(t, s.ReadAll(ctx, eventstore.Position{Commit: after, Prepare: after}, false, func(e eventstore.Envelope) error {
			require.Equal(t, next, e.Position.Commit)
			next++
			return nil
		}))
		assert.Equal(t, uint64(total+1), next, "read all after %d", after)
	}
	stop := errors.New("enough")
	n := 0
	err = s.ReadAll(ctx, eventstore.Start, false, func(eventstore.Envelope) error {
		if n++; n == pageSize+3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	for i := 0; i < 50; i++ { // a cancelled read says so, whichever goroutine sees it first
		cctx, cancel := context.WithCancel(ctx)
		n := 0
		err = s.ReadAll(cctx, eventstore.Start, false, func(eventstore.Envelope) error {
			if n++; n == 100 {
				cancel()
			}
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		cancel()
	}
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", filepath.Join(dir, DBFile))
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE events SET checksum = checksum + 1 WHERE position = 1500`) // before the tail Open checks
	require.NoError(t, err)
	require.NoError(t, db.Close())
	s, err = Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	err = s.ReadAll(ctx, eventstore.Start, false, func(eventstore.Envelope) error { return nil })
	require.ErrorIs(t, err, eventstore.ErrCorrupt)
	assert.Contains(t, err.Error(), "position 1500 fails its checksum")
}
