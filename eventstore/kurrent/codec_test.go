package kurrent

// Unit tests that need no server: connection strings, the stored metadata,
// expected revisions, error translation, positions, and the decisions Append
// takes about a batch that may already be stored.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	grpcmetadata "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/custodian/custodian/eventstore"
)

func TestConnectionString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"esdb://localhost:2113?tls=false", "esdb://localhost:2113?tls=false"},
		{"esdb+discover://cluster.local:2113", "esdb+discover://cluster.local:2113"},
		{"kurrentdb://localhost:2113?tls=false", "esdb://localhost:2113?tls=false"},
		{"kurrentdb+discover://cluster.local:2113", "esdb+discover://cluster.local:2113"},
		{"kurrent://admin:changeit@a:2113,b:2114,c:2115", "esdb://admin:changeit@a:2113,b:2114,c:2115"},
		{"kurrent+discover://cluster.local", "esdb+discover://cluster.local"},
		{"KurrentDB://localhost:2113", "esdb://localhost:2113"},
		{"ESDB://localhost:2113", "esdb://localhost:2113"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := connectionString(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	for _, bad := range []string{"", "localhost:2113", "http://localhost:2113", "tcp://localhost:1113"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			_, err := connectionString(bad)
			assert.Error(t, err)
		})
	}
}

func TestParseConnectionString(t *testing.T) {
	conf, err := parseConnectionString("kurrentdb://admin:changeit@localhost:2113?tls=false")
	require.NoError(t, err)
	assert.Equal(t, "localhost:2113", conf.Address)
	assert.True(t, conf.DisableTLS)
	assert.Equal(t, "admin", conf.Username)
	assert.Equal(t, esdb.NodePreferenceLeader, conf.NodePreference)

	conf, err = parseConnectionString("kurrentdb://localhost:2113,localhost:2114,localhost:2115?tls=false&nodePreference=random")
	require.NoError(t, err)
	require.Len(t, conf.GossipSeeds, 3)
	assert.Equal(t, "localhost:2115", conf.GossipSeeds[2].String())
	assert.Equal(t, esdb.NodePreferenceRandom, conf.NodePreference)

	_, err = parseConnectionString("kurrentdb://admin:s3cret@localhost:notaport?tls=false")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret", "errors never repeat the connection string")
	_, err = parseConnectionString("kurrentdb://admin:s3cret@local host:2113")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}

// fullEvent has every envelope field set, a recorded-at with nanoseconds in a
// zone other than UTC, and data that Normalize compacts.
func fullEvent() eventstore.Event {
	return eventstore.Event{
		ID:            uuid.MustParse("0193a0c4-7d2e-7c3a-9b1f-2a6d3e4f5a6b"),
		Type:          "CaseTitleChanged",
		SchemaVersion: 3,
		RecordedAt:    time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600)),
		Actor:         eventstore.Actor{Kind: eventstore.ActorOperator, UserID: "op", OrgID: "org-9", Name: "Åsa Ünal <ops> & \"co\""},
		CorrelationID: "c-1",
		CausationID:   "k-2",
		RequestID:     "r-3",
		Data:          json.RawMessage("{\"title\": \"<b>&amp; \\u00e9\",\n \"n\": [1, 2.50, -0e1, null]}"),
	}
}

// recorded is how KurrentDB hands back an event appended as e.
func recorded(t *testing.T, e eventstore.Event, stream string, rev uint64, pos esdb.Position) *esdb.RecordedEvent {
	t.Helper()
	d, err := eventData(e)
	require.NoError(t, err)
	return &esdb.RecordedEvent{
		EventID: d.EventID, EventType: d.EventType, ContentType: "application/json",
		StreamID: stream, EventNumber: rev, Position: pos, CreatedDate: time.Now(),
		Data: append([]byte(nil), d.Data...), UserMetadata: append([]byte(nil), d.Metadata...),
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	e := fullEvent().Normalize(time.Time{})
	rec := recorded(t, e, "case-1", 4, esdb.Position{Commit: 1234, Prepare: 1234})
	got, err := envelope(rec)
	require.NoError(t, err)

	want := e.Envelope("case-1", 4, eventstore.Position{Commit: 1234, Prepare: 1234})
	assert.Equal(t, want, got)
	assert.Equal(t, want.Canonical(), got.Canonical(), "canonical bytes are identical")
	assert.Equal(t, time.UTC, got.RecordedAt.Location())
	assert.Equal(t, int64(1767319445000000006), got.RecordedAt.UnixNano(), "nanoseconds survive")
	assert.Equal(t, `{"title":"<b>&amp; \u00e9","n":[1,2.50,-0e1,null]}`, string(got.Data), "data is stored as normalized, byte for byte")

	t.Run("zero fields", func(t *testing.T) {
		bare := eventstore.Event{ID: uuid.New(), Type: "Bare", Data: json.RawMessage(`null`)}.Normalize(time.Unix(0, 1))
		got, err := envelope(recorded(t, bare, "s-1", 0, esdb.Position{Commit: 9, Prepare: 9}))
		require.NoError(t, err)
		assert.Equal(t, bare.Envelope("s-1", 0, eventstore.Position{Commit: 9, Prepare: 9}), got)
		assert.Equal(t, eventstore.Actor{}, got.Actor)
		assert.Equal(t, 1, got.SchemaVersion)
	})
}

// TestMetadataFormat fixes the stored metadata: changing it needs a new
// metadata format version and a reader for the old one.
func TestMetadataFormat(t *testing.T) {
	b, err := encodeMetadata(fullEvent().Normalize(time.Time{}))
	require.NoError(t, err)
	assert.Equal(t,
		`{"custodian":1,"schemaVersion":3,"recordedAt":"2026-01-02T02:04:05.000000006Z",`+
			`"actor":{"kind":"operator","userId":"op","orgId":"org-9","name":"Åsa Ünal \u003cops\u003e \u0026 \"co\""},`+
			`"$correlationId":"c-1","$causationId":"k-2","requestId":"r-3"}`,
		string(b))

	b, err = encodeMetadata(eventstore.Event{ID: uuid.New(), Type: "Bare", Data: json.RawMessage(`1`)}.Normalize(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)))
	require.NoError(t, err)
	assert.Equal(t, `{"custodian":1,"schemaVersion":1,"recordedAt":"2026-05-06T07:08:09.000000000Z","actor":{"kind":""}}`, string(b))
}

func TestEnvelopeRefusesForeignEvents(t *testing.T) {
	good := recorded(t, fullEvent().Normalize(time.Time{}), "case-1", 0, esdb.Position{Commit: 7, Prepare: 7})
	tests := []struct {
		name   string
		change func(*esdb.RecordedEvent)
	}{
		{"no metadata", func(r *esdb.RecordedEvent) { r.UserMetadata = nil }},
		{"metadata not JSON", func(r *esdb.RecordedEvent) { r.UserMetadata = []byte("{") }},
		{"another format", func(r *esdb.RecordedEvent) {
			r.UserMetadata = []byte(`{"custodian":2,"recordedAt":"2026-01-02T02:04:05Z"}`)
		}},
		{"someone else's metadata", func(r *esdb.RecordedEvent) { r.UserMetadata = []byte(`{"$correlationId":"x"}`) }},
		{"bad recorded-at", func(r *esdb.RecordedEvent) { r.UserMetadata = []byte(`{"custodian":1,"recordedAt":"yesterday"}`) }},
		{"no log position", func(r *esdb.RecordedEvent) {
			r.Position = esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := *good
			tt.change(&r)
			_, err := envelope(&r)
			require.ErrorIs(t, err, eventstore.ErrCorrupt)
			assert.Contains(t, err.Error(), r.EventID.String(), "the error names the event")
		})
	}
}

func TestCheckStorable(t *testing.T) {
	ok := fullEvent().Normalize(time.Time{})
	require.NoError(t, checkStorable(ok))

	badName := ok
	badName.Actor.Name = "caf\xe9"
	assert.ErrorIs(t, checkStorable(badName), eventstore.ErrInvalidEvent)

	badType := ok
	badType.Type = "Case\xffCreated"
	assert.ErrorIs(t, checkStorable(badType), eventstore.ErrInvalidEvent)

	farFuture := ok
	farFuture.RecordedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.ErrorIs(t, checkStorable(farFuture), eventstore.ErrInvalidEvent)
}

func TestEventData(t *testing.T) {
	e := fullEvent().Normalize(time.Time{})
	d, err := eventData(e)
	require.NoError(t, err)
	assert.Equal(t, e.ID, d.EventID, "the event ID is ours")
	assert.Equal(t, "CaseTitleChanged", d.EventType)
	assert.Equal(t, esdb.ContentTypeJson, d.ContentType)
	assert.Equal(t, []byte(e.Data), d.Data)
}

func TestIsSystem(t *testing.T) {
	assert.False(t, isSystem(&esdb.RecordedEvent{StreamID: "case-1", EventType: "CaseCreated"}))
	assert.True(t, isSystem(&esdb.RecordedEvent{StreamID: "$ce-case", EventType: "$>"}))
	assert.True(t, isSystem(&esdb.RecordedEvent{StreamID: "$$case-1", EventType: "$metadata"}))
	assert.True(t, isSystem(&esdb.RecordedEvent{StreamID: "$stats-127.0.0.1:2113", EventType: "Stats"}))
	assert.True(t, isSystem(&esdb.RecordedEvent{StreamID: "case-1", EventType: "$streamDeleted"}))
}

func TestExpectedRevision(t *testing.T) {
	tests := []struct {
		in   eventstore.ExpectedRevision
		want esdb.ExpectedRevision
	}{
		{eventstore.Any, esdb.Any{}},
		{eventstore.NoStream, esdb.NoStream{}},
		{eventstore.StreamExists, esdb.StreamExists{}},
		{eventstore.Exact(0), esdb.StreamRevision{Value: 0}},
		{eventstore.Exact(41), esdb.StreamRevision{Value: 41}},
	}
	for _, tt := range tests {
		got, err := toExpectedRevision(tt.in)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "%v", tt.in)
	}
	_, err := toExpectedRevision(nil)
	assert.ErrorIs(t, err, eventstore.ErrInvalidEvent)
}

func TestPositions(t *testing.T) {
	p := fromESDBPosition(esdb.Position{Commit: 5000, Prepare: 4800})
	assert.Equal(t, eventstore.Position{Commit: 5000, Prepare: 4800}, p, "both halves are kept")
	assert.Equal(t, esdb.Position{Commit: 5000, Prepare: 4800}, toAllPosition(p))
	assert.Equal(t, esdb.Start{}, toAllPosition(eventstore.Start))
	assert.Equal(t, eventstore.Start, fromESDBPosition(esdb.Position{}))

	for _, q := range []eventstore.Position{p, {Commit: 123, Prepare: 123}, {Commit: math.MaxInt64, Prepare: 1}} {
		parsed, err := eventstore.ParsePosition(q.String())
		require.NoError(t, err)
		assert.Equal(t, q, parsed)
		assert.Equal(t, q, fromESDBPosition(toAllPosition(q).(esdb.Position)))
	}
}

func TestErrorTranslation(t *testing.T) {
	assert.Equal(t, eventstore.ErrWrongRevision, sentinelFor(esdb.ErrorCodeWrongExpectedVersion))
	assert.Equal(t, eventstore.ErrClosed, sentinelFor(esdb.ErrorCodeConnectionClosed))
	for _, code := range []esdb.ErrorCode{esdb.ErrorCodeUnknown, esdb.ErrorCodeResourceNotFound, esdb.ErrorCodeNotLeader,
		esdb.ErrorCodeDeadlineExceeded, esdb.ErrorCodeAccessDenied, esdb.ErrorUnavailable} {
		assert.Nil(t, sentinelFor(code), "code %d", code)
	}

	// A real *esdb.Error: a closed client refuses every call without a server.
	closedErr := closedClientError(t)
	got := translate(fmt.Errorf("append s: %w", closedErr))
	assert.ErrorIs(t, got, eventstore.ErrClosed)
	var esErr *esdb.Error
	require.ErrorAs(t, got, &esErr, "the client's error stays in the chain")
	assert.Equal(t, esdb.ErrorCodeConnectionClosed, esErr.Code())
	assert.True(t, hasCode(got, esdb.ErrorCodeConnectionClosed))
	assert.False(t, hasCode(got, esdb.ErrorCodeNotLeader))

	plain := errors.New("boom")
	assert.Equal(t, plain, translate(plain))
	assert.NoError(t, translate(nil), "unlike esdb.FromError, nil stays nil")
	ok, isNil := esdb.FromError(nil)
	assert.True(t, isNil, "the client's FromError reports ok for nil, which is why it is not used")
	assert.Nil(t, ok)
}

func TestFail(t *testing.T) {
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Equal(t, context.Canceled, fail(cancelled, cancelled, boom), "the caller's context error wins")

	ctx := context.Background()
	op, stop := context.WithCancelCause(ctx)
	stop(eventstore.ErrClosed)
	assert.ErrorIs(t, fail(ctx, op, boom), eventstore.ErrClosed, "an operation ended by Close")

	assert.Equal(t, boom, fail(ctx, ctx, boom))
	assert.NoError(t, fail(ctx, ctx, nil))
}

func TestPermanent(t *testing.T) {
	assert.True(t, permanent(permanentError{eventstore.ErrCorrupt}))
	assert.True(t, permanent(status.Error(codes.PermissionDenied, "no")))
	assert.True(t, permanent(status.Error(codes.Unauthenticated, "no")))
	assert.False(t, permanent(status.Error(codes.Unavailable, "node went away")))
	assert.False(t, permanent(status.Error(codes.Aborted, "leader changed")))
	assert.False(t, permanent(errors.New("subscription dropped")))
	assert.True(t, permanent(closedClientError(t)))
}

func TestRetryOnFollowerOnlyRetriesNotLeader(t *testing.T) {
	calls := 0
	err := retryOnFollower(context.Background(), func() error { calls++; return closedClientError(t) })
	assert.True(t, hasCode(err, esdb.ErrorCodeConnectionClosed))
	assert.Equal(t, 1, calls)
}

func TestBatchStart(t *testing.T) {
	a, b, c, x := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	batch := []uuid.UUID{a, b, c}
	tests := []struct {
		name      string
		near      []storedEvent
		wantStart eventstore.Revision
		wantOK    bool
		wantFound bool
	}{
		{"none stored", []storedEvent{{x, 0}, {uuid.New(), 1}}, 0, false, false},
		{"nothing read", nil, 0, false, false},
		{"first at 5", []storedEvent{{x, 4}, {a, 5}, {b, 6}, {c, 7}}, 5, true, true},
		{"only a later one visible", []storedEvent{{c, 9}}, 7, true, true},
		{"a later one too early to be in order", []storedEvent{{c, 1}}, 0, false, true},
		{"reversed", []storedEvent{{c, 3}, {b, 4}, {a, 5}}, 5, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, ok, found := batchStart(batch, tt.near)
			assert.Equal(t, tt.wantFound, found)
			assert.Equal(t, tt.wantOK, ok)
			if tt.wantOK {
				assert.Equal(t, tt.wantStart, start)
			}
		})
	}
}

func TestSameBatch(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	env := func(id uuid.UUID, rev eventstore.Revision) eventstore.Envelope {
		return eventstore.Envelope{ID: id, Revision: rev}
	}
	batch := []uuid.UUID{a, b}
	assert.True(t, sameBatch(batch, 3, []eventstore.Envelope{env(a, 3), env(b, 4)}))
	assert.False(t, sameBatch(batch, 3, []eventstore.Envelope{env(b, 3), env(a, 4)}), "another order")
	assert.False(t, sameBatch(batch, 3, []eventstore.Envelope{env(a, 3)}), "only part of it")
	assert.False(t, sameBatch(batch, 3, []eventstore.Envelope{env(a, 3), env(uuid.New(), 4)}), "followed by another event")
	assert.False(t, sameBatch(batch, 2, []eventstore.Envelope{env(a, 3), env(b, 4)}), "elsewhere")
}

// unconnected returns a Store whose client was never connected; nothing in
// these tests reaches the network.
func unconnected(t *testing.T, url string) *Store {
	t.Helper()
	conf, err := parseConnectionString(url)
	require.NoError(t, err)
	conf.Logger = esdb.NoopLogging()
	client, err := esdb.NewClient(conf)
	require.NoError(t, err)
	return &Store{client: client, leader: conf.NodePreference == esdb.NodePreferenceLeader, closing: make(chan struct{})}
}

func closedClientError(t *testing.T) error {
	t.Helper()
	s := unconnected(t, "esdb://127.0.0.1:1?tls=false")
	require.NoError(t, s.client.Close())
	_, err := s.client.AppendToStream(context.Background(), "s-1", esdb.AppendToStreamOptions{}, esdb.EventData{EventType: "T"})
	require.Error(t, err)
	return err
}

func TestAppendValidatesBeforeAnyRequest(t *testing.T) {
	s := unconnected(t, "esdb://127.0.0.1:1?tls=false")
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	good := fullEvent()
	badUTF8 := fullEvent()
	badUTF8.ID = uuid.New()
	badUTF8.RequestID = "\xff"
	for name, events := range map[string][]eventstore.Event{
		"no events":   nil,
		"nil id":      {{Type: "T", Data: json.RawMessage(`{}`)}},
		"not JSON":    {{ID: uuid.New(), Type: "T", Data: json.RawMessage(`{`)}},
		"not UTF-8":   {good, badUTF8},
		"repeated id": {good, good},
	} {
		_, err := s.Append(ctx, "case-1", eventstore.Any, events...)
		assert.ErrorIs(t, err, eventstore.ErrInvalidEvent, name)
	}
	_, err := s.Append(ctx, "$all", eventstore.Any, good)
	assert.ErrorIs(t, err, eventstore.ErrInvalidEvent)

	// Reading a stream that no valid name can have is reading nothing.
	assert.NoError(t, s.ReadStream(ctx, "$all", eventstore.Forward, 0, func(eventstore.Envelope) error {
		t.Fatal("no events expected")
		return nil
	}))
}

func TestClosedStore(t *testing.T) {
	s := unconnected(t, "esdb://127.0.0.1:1?tls=false")
	require.NoError(t, s.Close())
	ctx := context.Background()
	_, err := s.Append(ctx, "case-1", eventstore.Any, fullEvent())
	assert.ErrorIs(t, err, eventstore.ErrClosed)
	assert.ErrorIs(t, s.ReadStream(ctx, "case-1", eventstore.Forward, 0, func(eventstore.Envelope) error { return nil }), eventstore.ErrClosed)
	assert.ErrorIs(t, s.ReadAll(ctx, eventstore.Start, false, func(eventstore.Envelope) error { return nil }), eventstore.ErrClosed)
	assert.ErrorIs(t, s.ReadAll(ctx, eventstore.Start, true, func(eventstore.Envelope) error { return nil }), eventstore.ErrClosed)
	_, err = s.Head(ctx)
	assert.ErrorIs(t, err, eventstore.ErrClosed)
	assert.NoError(t, s.Close(), "closing twice is harmless")
}

func TestCancelledContextComesFirst(t *testing.T) {
	s := unconnected(t, "esdb://127.0.0.1:1?tls=false")
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Append(ctx, "case-1", eventstore.Any, fullEvent())
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, s.ReadAll(ctx, eventstore.Start, true, func(eventstore.Envelope) error { return nil }), context.Canceled)
	_, err = s.Head(ctx)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestLeaderHeader(t *testing.T) {
	for url, want := range map[string][]string{
		"esdb://127.0.0.1:1?tls=false":                       {"true"},
		"esdb://127.0.0.1:1?tls=false&nodePreference=leader": {"true"},
		"esdb://127.0.0.1:1?tls=false&nodePreference=random": nil,
	} {
		s := unconnected(t, url)
		op, done, err := s.begin(context.Background(), true)
		require.NoError(t, err)
		md, _ := grpcmetadata.FromOutgoingContext(op)
		assert.Equal(t, want, md.Get("requires-leader"), url)
		done()
		require.NoError(t, s.Close())
	}
}

func TestCloseEndsReadsButWaitsForAppends(t *testing.T) {
	s := unconnected(t, "esdb://127.0.0.1:1?tls=false")
	read, endRead, err := s.begin(context.Background(), true)
	require.NoError(t, err)
	_, endAppend, err := s.begin(context.Background(), false)
	require.NoError(t, err)

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-read.Done():
		assert.ErrorIs(t, context.Cause(read), eventstore.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the read")
	}
	endRead()
	select {
	case <-closed:
		t.Fatal("Close returned while an append was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	endAppend()
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the append ended")
	}
	_, _, err = s.begin(context.Background(), false)
	assert.ErrorIs(t, err, eventstore.ErrClosed)
}

func TestOpenRefusesBadConnectionStrings(t *testing.T) {
	_, err := Open(context.Background(), "http://localhost:2113")
	assert.Error(t, err)
	_, err = Open(context.Background(), "kurrentdb://u:pw@host:port:2113")
	require.Error(t, err)
	assert.False(t, strings.Contains(err.Error(), "pw@"), "the password is not echoed")
}

// An append the server refuses as invalid (its maximum append size) is
// ErrInvalidEvent: nothing was written, and a retry would be refused again.
func TestAppendRefusedAsInvalid(t *testing.T) {
	tooBig := fmt.Errorf("append: %w", status.Error(codes.InvalidArgument, "Maximum Append Size of 1048576 Exceeded."))
	assert.ErrorIs(t, asInvalid(tooBig), eventstore.ErrInvalidEvent)
	assert.ErrorIs(t, asInvalid(tooBig), tooBig, "the server's answer stays in the chain")
	assert.NoError(t, asInvalid(status.Error(codes.Unavailable, "leader lost")))
	assert.NoError(t, asInvalid(errors.New("connection reset")))
}
