// Package eventstoretest is the conformance suite of the eventstore.Store
// contract. Every implementation calls Run from its tests; passing it is what
// makes a Store. The suite only uses stream names unique to each run and reads
// the log from the head it found, so it can run against a shared server.
//
// It imports the standard library, testify, uuid and eventstore.
package eventstoretest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
)

// NewStore opens a fresh store for one test. The suite closes it.
type NewStore func(t *testing.T) eventstore.Store

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, eventstore.Store)
	}{
		{"append to a new stream and read it back", testAppendAndRead},
		{"expected revision", testExpectedRevision},
		{"idempotent re-append", testIdempotentReappend},
		{"partial re-append is refused", testPartialReappend},
		{"invalid input writes nothing", testInvalid},
		{"read stream forwards and backwards", testReadStream},
		{"read a missing stream", testReadMissing},
		{"callback error stops the read", testCallbackError},
		{"read the log in order", testReadAllOrder},
		{"follow the log from the start", testFollowFromStart},
		{"follow the log from the end", testFollowFromEnd},
		{"concurrent appenders to one stream", testConcurrentSameStream},
		{"concurrent appenders to many streams", testConcurrentManyStreams},
		{"cancelled contexts", testCancelled},
		{"envelopes keep every field byte for byte", testEnvelopeFidelity},
		{"closed store", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s)
		})
	}
}

// Stream returns a stream name unique to this run.
func Stream(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")
}

var testTime = time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.UTC)

// NewEvent returns a valid event with a fresh ID and data {"n": n}.
func NewEvent(n int) eventstore.Event {
	return eventstore.Event{
		ID:            uuid.Must(uuid.NewV7()),
		Type:          "TestEvent",
		SchemaVersion: 1,
		RecordedAt:    testTime.Add(time.Duration(n) * time.Millisecond),
		Actor:         eventstore.Actor{Kind: eventstore.ActorUser, UserID: "u-1", OrgID: "o-1", Name: "Tester"},
		CorrelationID: "corr",
		RequestID:     "req",
		Data:          json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
	}
}

// Events returns n valid events numbered from first.
func Events(first, n int) []eventstore.Event {
	out := make([]eventstore.Event, n)
	for i := range out {
		out[i] = NewEvent(first + i)
	}
	return out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func readStream(t *testing.T, s eventstore.Store, stream string, dir eventstore.Direction, from eventstore.Revision) []eventstore.Envelope {
	t.Helper()
	var out []eventstore.Envelope
	require.NoError(t, s.ReadStream(ctx(t), stream, dir, from, func(e eventstore.Envelope) error {
		out = append(out, e)
		return nil
	}))
	return out
}

// readAfter reads the log after from, keeping only events of the given streams.
func readAfter(t *testing.T, s eventstore.Store, from eventstore.Position, streams map[string]bool) []eventstore.Envelope {
	t.Helper()
	var out []eventstore.Envelope
	last := from
	require.NoError(t, s.ReadAll(ctx(t), from, false, func(e eventstore.Envelope) error {
		if !last.Before(e.Position) {
			return fmt.Errorf("position %s delivered after %s", e.Position, last)
		}
		last = e.Position
		if streams == nil || streams[e.Stream] {
			out = append(out, e)
		}
		return nil
	}))
	return out
}

func head(t *testing.T, s eventstore.Store) eventstore.Position {
	t.Helper()
	p, err := s.Head(ctx(t))
	require.NoError(t, err)
	return p
}

func ids(envs []eventstore.Envelope) []uuid.UUID {
	out := make([]uuid.UUID, len(envs))
	for i, e := range envs {
		out[i] = e.ID
	}
	return out
}

func eventIDs(evs []eventstore.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func testAppendAndRead(t *testing.T, s eventstore.Store) {
	stream := Stream("conf")
	before := head(t, s)
	evs := Events(0, 3)
	res, err := s.Append(ctx(t), stream, eventstore.NoStream, evs...)
	require.NoError(t, err)
	assert.Equal(t, eventstore.Revision(2), res.Revision)
	assert.True(t, before.Before(res.Position), "position %s after head %s", res.Position, before)
	assert.Equal(t, res.Position, head(t, s))

	got := readStream(t, s, stream, eventstore.Forward, 0)
	require.Len(t, got, 3)
	for i, e := range got {
		assert.Equal(t, evs[i].ID, e.ID)
		assert.Equal(t, stream, e.Stream)
		assert.Equal(t, eventstore.Revision(i), e.Revision)
	}
	assert.Equal(t, res.Position, got[2].Position)
	assert.True(t, got[0].Position.Before(got[1].Position) && got[1].Position.Before(got[2].Position))

	res2, err := s.Append(ctx(t), stream, eventstore.Exact(2), NewEvent(3))
	require.NoError(t, err)
	assert.Equal(t, eventstore.Revision(3), res2.Revision)
	assert.True(t, res.Position.Before(res2.Position))
}

func testExpectedRevision(t *testing.T, s eventstore.Store) {
	existing := Stream("conf")
	_, err := s.Append(ctx(t), existing, eventstore.NoStream, Events(0, 2)...)
	require.NoError(t, err) // existing is at revision 1
	tests := []struct {
		name     string
		stream   string
		expected eventstore.ExpectedRevision
		wantErr  error
		wantRev  eventstore.Revision
	}{
		{"no stream on a missing stream", "", eventstore.NoStream, nil, 0},
		{"no stream on an existing stream", existing, eventstore.NoStream, eventstore.ErrWrongRevision, 0},
		{"stream exists on a missing stream", "", eventstore.StreamExists, eventstore.ErrWrongRevision, 0},
		{"stream exists on an existing stream", existing, eventstore.StreamExists, nil, 2},
		{"any on a missing stream", "", eventstore.Any, nil, 0},
		{"any on an existing stream", existing, eventstore.Any, nil, 3},
		{"exact revision that matches", existing, eventstore.Exact(3), nil, 4},
		{"exact revision behind", existing, eventstore.Exact(1), eventstore.ErrWrongRevision, 0},
		{"exact revision ahead", existing, eventstore.Exact(9), eventstore.ErrWrongRevision, 0},
		{"exact revision 0 on a missing stream", "", eventstore.Exact(0), eventstore.ErrWrongRevision, 0},
		{"exact revision End on a missing stream", "", eventstore.Exact(eventstore.End), eventstore.ErrWrongRevision, 0},
		{"exact revision beyond int64 on an existing stream", existing, eventstore.Exact(math.MaxInt64 + 1), eventstore.ErrWrongRevision, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := tt.stream
			if stream == "" {
				stream = Stream("conf")
			}
			n := len(readStream(t, s, stream, eventstore.Forward, 0))
			h := head(t, s)
			res, err := s.Append(ctx(t), stream, tt.expected, NewEvent(100))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Len(t, readStream(t, s, stream, eventstore.Forward, 0), n, "nothing written")
				assert.Equal(t, h, head(t, s), "log unchanged")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantRev, res.Revision)
		})
	}
}

func testIdempotentReappend(t *testing.T, s eventstore.Store) {
	stream := Stream("conf")
	evs := Events(0, 3)
	first, err := s.Append(ctx(t), stream, eventstore.NoStream, evs...)
	require.NoError(t, err)
	h := head(t, s)

	again, err := s.Append(ctx(t), stream, eventstore.NoStream, evs...)
	require.NoError(t, err, "retrying the same append is not an error")
	assert.Equal(t, first, again)

	again, err = s.Append(ctx(t), stream, eventstore.Any, evs...)
	require.NoError(t, err)
	assert.Equal(t, first.Revision, again.Revision)

	assert.Equal(t, h, head(t, s), "nothing new in the log")
	assert.Equal(t, eventIDs(evs), ids(readStream(t, s, stream, eventstore.Forward, 0)))

	// After more events, retrying the first batch with its original expected
	// revision is still a no-op.
	more := NewEvent(3)
	_, err = s.Append(ctx(t), stream, eventstore.Exact(2), more)
	require.NoError(t, err)
	_, err = s.Append(ctx(t), stream, eventstore.Exact(2), more)
	require.NoError(t, err)
	assert.Equal(t, append(eventIDs(evs), more.ID), ids(readStream(t, s, stream, eventstore.Forward, 0)))
}

func testPartialReappend(t *testing.T, s eventstore.Store) {
	stream := Stream("conf")
	evs := Events(0, 2)
	_, err := s.Append(ctx(t), stream, eventstore.NoStream, evs...)
	require.NoError(t, err)
	h := head(t, s)
	_, err = s.Append(ctx(t), stream, eventstore.Exact(1), evs[1], NewEvent(2))
	require.Error(t, err)
	assert.True(t, errors.Is(err, eventstore.ErrDuplicateEventID) || errors.Is(err, eventstore.ErrWrongRevision), "got %v", err)
	assert.Equal(t, h, head(t, s))
	assert.Len(t, readStream(t, s, stream, eventstore.Forward, 0), 2)
}

func testInvalid(t *testing.T, s eventstore.Store) {
	stream := Stream("conf")
	good := NewEvent(0)
	nilID, noType, badJSON, dollarType := NewEvent(1), NewEvent(2), NewEvent(3), NewEvent(4)
	nilID.ID = uuid.Nil
	noType.Type = ""
	badJSON.Data = json.RawMessage(`{"n":`)
	dollarType.Type = "$system"
	badUTF8, farFuture := NewEvent(5), NewEvent(6)
	badUTF8.Actor.Name = "\xff\xfe"
	farFuture.RecordedAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		stream string
		events []eventstore.Event
	}{
		{"no events", stream, nil},
		{"nil id", stream, []eventstore.Event{good, nilID}},
		{"no type", stream, []eventstore.Event{noType}},
		{"data not JSON", stream, []eventstore.Event{good, badJSON}},
		{"system type", stream, []eventstore.Event{dollarType}},
		{"envelope text not UTF-8", stream, []eventstore.Event{badUTF8}},
		{"recorded-at beyond the encoding's range", stream, []eventstore.Event{farFuture}},
		{"repeated id in batch", stream, []eventstore.Event{good, good}},
		{"empty stream name", "", []eventstore.Event{good}},
		{"system stream name", "$all", []eventstore.Event{good}},
		{"stream name with a space", "case 1", []eventstore.Event{good}},
	}
	h := head(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(ctx(t), tt.stream, eventstore.Any, tt.events...)
			require.ErrorIs(t, err, eventstore.ErrInvalidEvent)
		})
	}
	assert.Equal(t, h, head(t, s), "nothing written")
	assert.Empty(t, readStream(t, s, stream, eventstore.Forward, 0))
}

func testReadStream(t *testing.T, s eventstore.Store) {
	stream := Stream("conf")
	evs := Events(0, 10)
	_, err := s.Append(ctx(t), stream, eventstore.NoStream, evs[:4]...)
	require.NoError(t, err)
	_, err = s.Append(ctx(t), Stream("other"), eventstore.NoStream, NewEvent(50))
	require.NoError(t, err)
	_, err = s.Append(ctx(t), stream, eventstore.Exact(3), evs[4:]...)
	require.NoError(t, err)

	assert.Equal(t, eventIDs(evs), ids(readStream(t, s, stream, eventstore.Forward, 0)))
	assert.Equal(t, eventIDs(evs[6:]), ids(readStream(t, s, stream, eventstore.Forward, 6)))
	assert.Empty(t, readStream(t, s, stream, eventstore.Forward, 10))

	backward := readStream(t, s, stream, eventstore.Backward, eventstore.End)
	require.Len(t, backward, 10)
	for i, e := range backward {
		assert.Equal(t, evs[9-i].ID, e.ID)
		assert.Equal(t, eventstore.Revision(9-i), e.Revision)
	}
	assert.Equal(t, []uuid.UUID{evs[3].ID, evs[2].ID, evs[1].ID, evs[0].ID}, ids(readStream(t, s, stream, eventstore.Backward, 3)))
	assert.Len(t, readStream(t, s, stream, eventstore.Backward, 50), 10, "backward from beyond the end starts at the last event")
}

func testReadMissing(t *testing.T, s eventstore.Store) {
	assert.Empty(t, readStream(t, s, Stream("missing"), eventstore.Forward, 0))
	assert.Empty(t, readStream(t, s, Stream("missing"), eventstore.Backward, eventstore.End))
}

func testCallbackError(t *testing.T, s eventstore.Store) {
	stream := Stream("conf")
	before := head(t, s)
	_, err := s.Append(ctx(t), stream, eventstore.NoStream, Events(0, 5)...)
	require.NoError(t, err)
	stop := errors.New("stop here")
	calls := 0
	err = s.ReadStream(ctx(t), stream, eventstore.Forward, 0, func(eventstore.Envelope) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 2, calls)

	calls = 0
	err = s.ReadAll(ctx(t), before, false, func(eventstore.Envelope) error {
		calls++
		return stop
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, calls)

	calls = 0
	err = s.ReadAll(ctx(t), before, true, func(eventstore.Envelope) error {
		calls++
		return stop
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, calls)
}

func testReadAllOrder(t *testing.T, s eventstore.Store) {
	before := head(t, s)
	a, b, c := Stream("a"), Stream("b"), Stream("c")
	streams := map[string]bool{a: true, b: true, c: true}
	var want []uuid.UUID
	var positions []eventstore.Position
	revs := map[string]eventstore.ExpectedRevision{a: eventstore.NoStream, b: eventstore.NoStream, c: eventstore.NoStream}
	for i := 0; i < 12; i++ {
		stream := []string{a, b, c}[i%3]
		evs := Events(i*10, 1+i%2)
		res, err := s.Append(ctx(t), stream, revs[stream], evs...)
		require.NoError(t, err)
		revs[stream] = eventstore.Exact(res.Revision)
		want = append(want, eventIDs(evs)...)
		positions = append(positions, res.Position)
	}
	got := readAfter(t, s, before, streams)
	assert.Equal(t, want, ids(got))
	assert.Equal(t, positions[len(positions)-1], got[len(got)-1].Position)

	// Reading after a position excludes it and includes everything later.
	mid := positions[5]
	var after []uuid.UUID
	for _, e := range got {
		if mid.Before(e.Position) {
			after = append(after, e.ID)
		}
	}
	assert.Equal(t, after, ids(readAfter(t, s, mid, streams)))
	// Reading after the last position yields nothing.
	assert.Empty(t, readAfter(t, s, head(t, s), nil))
	// Positions round-trip through their string form.
	for _, e := range got {
		p, err := eventstore.ParsePosition(e.Position.String())
		require.NoError(t, err)
		assert.Equal(t, e.Position, p)
	}
}

// follower collects events delivered by a following ReadAll.
type follower struct {
	mu     sync.Mutex
	got    []eventstore.Envelope
	stream map[string]bool
	done   chan error
	cancel context.CancelFunc
}

func follow(t *testing.T, s eventstore.Store, from eventstore.Position, streams map[string]bool) *follower {
	c, cancel := context.WithCancel(ctx(t))
	f := &follower{stream: streams, done: make(chan error, 1), cancel: cancel}
	go func() {
		f.done <- s.ReadAll(c, from, true, func(e eventstore.Envelope) error {
			if f.stream[e.Stream] {
				f.mu.Lock()
				f.got = append(f.got, e)
				f.mu.Unlock()
			}
			return nil
		})
	}()
	t.Cleanup(cancel)
	return f
}

func (f *follower) waitFor(t *testing.T, n int) []eventstore.Envelope {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		f.mu.Lock()
		got := append([]eventstore.Envelope(nil), f.got...)
		f.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			// Give a duplicate a moment to show up.
			time.Sleep(50 * time.Millisecond)
			f.mu.Lock()
			got = append([]eventstore.Envelope(nil), f.got...)
			f.mu.Unlock()
			return got
		}
		select {
		case err := <-f.done:
			t.Fatalf("follow ended early: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func testFollowFromStart(t *testing.T, s eventstore.Store) {
	before := head(t, s)
	stream := Stream("follow")
	evs := Events(0, 30)
	_, err := s.Append(ctx(t), stream, eventstore.NoStream, evs[:10]...)
	require.NoError(t, err)
	f := follow(t, s, before, map[string]bool{stream: true})
	for i := 10; i < 30; i++ {
		_, err := s.Append(ctx(t), stream, eventstore.Exact(eventstore.Revision(i-1)), evs[i])
		require.NoError(t, err)
	}
	assert.Equal(t, eventIDs(evs), ids(f.waitFor(t, 30)))
	f.cancel()
	err = <-f.done
	assert.ErrorIs(t, err, context.Canceled)
}

func testFollowFromEnd(t *testing.T, s eventstore.Store) {
	stream := Stream("follow")
	evs := Events(0, 6)
	res, err := s.Append(ctx(t), stream, eventstore.NoStream, evs[:3]...)
	require.NoError(t, err)
	// Resume exactly at the position of the last event: nothing repeated,
	// nothing skipped.
	f := follow(t, s, res.Position, map[string]bool{stream: true})
	time.Sleep(50 * time.Millisecond)
	_, err = s.Append(ctx(t), stream, eventstore.Exact(2), evs[3:]...)
	require.NoError(t, err)
	assert.Equal(t, eventIDs(evs[3:]), ids(f.waitFor(t, 3)))
	// A follower started at the head before an append sees exactly that append.
	g := follow(t, s, head(t, s), map[string]bool{stream: true})
	ev := NewEvent(6)
	_, err = s.Append(ctx(t), stream, eventstore.Exact(5), ev)
	require.NoError(t, err)
	assert.Equal(t, []uuid.UUID{ev.ID}, ids(g.waitFor(t, 1)))
}

func testConcurrentSameStream(t *testing.T, s eventstore.Store) {
	stream := Stream("race")
	_, err := s.Append(ctx(t), stream, eventstore.NoStream, NewEvent(0))
	require.NoError(t, err)
	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := map[eventstore.Revision]int{}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				// Read the current revision, then race to append after it.
				last := readStream(t, s, stream, eventstore.Backward, eventstore.End)[0].Revision
				res, err := s.Append(ctx(t), stream, eventstore.Exact(last), NewEvent(w*100+r))
				if errors.Is(err, eventstore.ErrWrongRevision) {
					continue
				}
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				wins[res.Revision]++
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	got := readStream(t, s, stream, eventstore.Forward, 0)
	for i, e := range got {
		assert.Equal(t, eventstore.Revision(i), e.Revision, "gapless revisions")
	}
	for rev, n := range wins {
		assert.Equal(t, 1, n, "revision %d won by %d appenders", rev, n)
	}
	assert.Equal(t, len(got)-1, len(wins))
}

func testConcurrentManyStreams(t *testing.T, s eventstore.Store) {
	before := head(t, s)
	const streamsN, perStream, batch = 16, 10, 3
	names := make([]string, streamsN)
	all := map[string]bool{}
	for i := range names {
		names[i] = Stream(fmt.Sprintf("many%d", i))
		all[names[i]] = true
	}
	var wg sync.WaitGroup
	sent := make([][]uuid.UUID, streamsN)
	for i, name := range names {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			expected := eventstore.NoStream
			for r := 0; r < perStream; r++ {
				evs := Events(r*batch, batch)
				res, err := s.Append(ctx(t), name, expected, evs...)
				if !assert.NoError(t, err) {
					return
				}
				expected = eventstore.Exact(res.Revision)
				sent[i] = append(sent[i], eventIDs(evs)...)
			}
		}(i, name)
	}
	wg.Wait()
	got := readAfter(t, s, before, all)
	require.Len(t, got, streamsN*perStream*batch)
	perStreamGot := map[string][]uuid.UUID{}
	for i, e := range got {
		perStreamGot[e.Stream] = append(perStreamGot[e.Stream], e.ID)
		// A batch is contiguous in the log: its events are adjacent.
		if e.Revision%batch != 0 {
			require.Equal(t, e.Stream, got[i-1].Stream, "batch interleaved in the log")
			require.Equal(t, e.Revision-1, got[i-1].Revision)
		}
	}
	for i, name := range names {
		assert.Equal(t, sent[i], perStreamGot[name], name)
	}
}

func testCancelled(t *testing.T, s eventstore.Store) {
	stream := Stream("cancel")
	c, cancel := context.WithCancel(context.Background())
	cancel()
	h := head(t, s)
	_, err := s.Append(c, stream, eventstore.Any, NewEvent(0))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, h, head(t, s), "a cancelled append writes nothing")
	_, err = s.Append(ctx(t), stream, eventstore.NoStream, NewEvent(1))
	require.NoError(t, err)
	err = s.ReadStream(c, stream, eventstore.Forward, 0, func(eventstore.Envelope) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
	err = s.ReadAll(c, h, false, func(eventstore.Envelope) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
	err = s.ReadAll(c, h, true, func(eventstore.Envelope) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
	// A follower waiting at the end returns when its context ends.
	c2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	err = s.ReadAll(c2, head(t, s), true, func(eventstore.Envelope) error { return nil })
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func testEnvelopeFidelity(t *testing.T, s eventstore.Store) {
	stream := Stream("fidelity")
	full := eventstore.Event{
		ID: uuid.Must(uuid.NewV7()), Type: "CaseTitleChanged", SchemaVersion: 3,
		RecordedAt:    time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600)),
		Actor:         eventstore.Actor{Kind: eventstore.ActorOperator, UserID: "op", OrgID: "org-9", Name: "Åsa Ünal <ops>"},
		CorrelationID: "c-1", CausationID: "k-2", RequestID: "r-3",
		Data: json.RawMessage("{\"title\": \"<b>&amp; \\u00e9 \\\"q\\\"\",\n \"n\": [1, 2.50, -0e1, null]}"),
	}
	zero := eventstore.Event{ID: uuid.Must(uuid.NewV7()), Type: "Bare", Data: json.RawMessage(`null`)}
	before, h := time.Now(), head(t, s)
	_, err := s.Append(ctx(t), stream, eventstore.NoStream, full, zero)
	require.NoError(t, err)
	got := readStream(t, s, stream, eventstore.Forward, 0)
	require.Len(t, got, 2)

	want := full.Normalize(time.Time{}).Envelope(stream, 0, got[0].Position)
	assert.Equal(t, want, got[0])
	assert.Equal(t, want.Canonical(), got[0].Canonical(), "canonical bytes are identical")
	assert.JSONEq(t, string(full.Data), string(got[0].Data))
	assert.Equal(t, time.UTC, got[0].RecordedAt.Location())

	assert.Equal(t, 1, got[1].SchemaVersion, "schema version defaults to 1")
	assert.False(t, got[1].RecordedAt.Before(before.Add(-time.Second)), "recorded-at defaults to now")
	assert.Equal(t, eventstore.Actor{}, got[1].Actor)
	assert.Equal(t, json.RawMessage(`null`), got[1].Data)

	// Read through the log, the envelope is the same.
	var viaLog []eventstore.Envelope
	require.NoError(t, s.ReadAll(ctx(t), h, false, func(e eventstore.Envelope) error {
		if e.Stream == stream {
			viaLog = append(viaLog, e)
		}
		return nil
	}))
	assert.Equal(t, got, viaLog)
}

func testClosed(t *testing.T, s eventstore.Store) {
	stream := Stream("closed")
	_, err := s.Append(ctx(t), stream, eventstore.NoStream, NewEvent(0))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.Append(ctx(t), stream, eventstore.Any, NewEvent(1))
	assert.ErrorIs(t, err, eventstore.ErrClosed)
	err = s.ReadStream(ctx(t), stream, eventstore.Forward, 0, func(eventstore.Envelope) error { return nil })
	assert.ErrorIs(t, err, eventstore.ErrClosed)
	err = s.ReadAll(ctx(t), eventstore.Start, false, func(eventstore.Envelope) error { return nil })
	assert.ErrorIs(t, err, eventstore.ErrClosed)
	_, err = s.Head(ctx(t))
	assert.ErrorIs(t, err, eventstore.ErrClosed)
	assert.NoError(t, s.Close(), "closing twice is harmless")
}
