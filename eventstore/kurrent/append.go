package kurrent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/custodian/custodian/eventstore"
)

// tailSlack is how many events beyond the batch's length Append reads at the
// end of a stream (or before the expected revision) to find a batch that is
// already stored.
const tailSlack = 32

// Append writes events at the end of stream if it matches expected, atomically,
// and returns the revision and log position of the last one.
//
// Idempotency. KurrentDB itself recognises a retried batch reliably only when
// the expected revision is exact (or no stream): it then checks the events
// after that revision, by the stream's index. With any or stream exists it
// consults a bounded cache of recent event IDs, and does not check their order;
// and with an exact revision equal to the stream's it does not check at all. So
// before writing, Append reads the last len(events)+tailSlack events before the
// write would land (before the expected revision, or at the end of the stream
// for any and stream exists) and, if it finds any of the batch's IDs there,
// decides without writing: the whole batch stored in order at consecutive
// revisions returns the original result, anything else is ErrDuplicateEventID.
// A wrong-expected-revision answer is checked the same way before it becomes
// ErrWrongRevision, in case the batch landed meanwhile. A batch stored further
// back than that window is recognised only by the server's own checks above.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	op, done, err := s.begin(ctx, false)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	defer done()
	if err := eventstore.ValidateBatch(stream, events); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	want, err := toExpectedRevision(expected)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	now := time.Now()
	ids := make([]uuid.UUID, len(events))
	data := make([]esdb.EventData, len(events))
	for i, e := range events {
		e = e.Normalize(now)
		if err := checkStorable(e); err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
		}
		if data[i], err = eventData(e); err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
		}
		ids[i] = e.ID
	}

	var res eventstore.AppendResult
	err = retryOnFollower(op, func() (err error) {
		res, err = s.append(op, stream, expected, want, ids, data)
		return err
	})
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, fail(ctx, op, err))
	}
	return res, nil
}

// append is one attempt of Append, after validation.
func (s *Store) append(op context.Context, stream string, expected eventstore.ExpectedRevision, want esdb.ExpectedRevision, ids []uuid.UUID, data []esdb.EventData) (eventstore.AppendResult, error) {
	// Before writing: is (part of) the batch already there?
	var before esdb.StreamPosition = esdb.End{}
	switch expected := expected.(type) {
	case eventstore.Exact:
		before = esdb.Revision(uint64(expected))
		if uint64(expected) > math.MaxInt64 {
			before = esdb.End{}
		}
	default:
		if expected == eventstore.NoStream {
			before = nil // nothing can precede revision 0; the server checks from there
		}
	}
	if before != nil {
		if res, found, err := s.stored(op, stream, ids, before); found || err != nil {
			return res, err
		}
	}
	if e, ok := expected.(eventstore.Exact); ok && uint64(e) > math.MaxInt64 {
		// No stream reaches such a revision, and the server must not see
		// it: it reads MaxUint64 (End) as "no stream" and would write.
		return eventstore.AppendResult{}, fmt.Errorf("expected revision %d: %w", uint64(e), eventstore.ErrWrongRevision)
	}

	wr, err := s.client.AppendToStream(op, stream, esdb.AppendToStreamOptions{ExpectedRevision: want}, data...)
	if err != nil {
		if invalid := asInvalid(err); invalid != nil {
			return eventstore.AppendResult{}, invalid
		}
		if !hasCode(err, esdb.ErrorCodeWrongExpectedVersion) {
			return eventstore.AppendResult{}, err
		}
		// The server also answers so when the batch is partly stored right after
		// the expected revision. Say which it was.
		if res, found, serr := s.storedAfter(op, stream, expected, ids); found || serr != nil {
			return res, serr
		}
		return eventstore.AppendResult{}, err
	}

	res := eventstore.AppendResult{
		Revision: eventstore.Revision(wr.NextExpectedVersion),
		Position: eventstore.Position{Commit: wr.CommitPosition, Prepare: wr.PreparePosition},
	}
	if res.Position.IsStart() || res.Position.Commit == math.MaxUint64 {
		// No position in the answer (a retry the server recognised before it
		// was replicated, or an older server): read it from the event itself.
		last, err := s.eventAt(op, stream, res.Revision)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if last.ID != ids[len(ids)-1] {
			return eventstore.AppendResult{}, fmt.Errorf("%w: the server accepted the batch but revision %d holds event %s",
				eventstore.ErrDuplicateEventID, res.Revision, last.ID)
		}
		res.Position = last.Position
	}
	return res, nil
}

// stored looks for the batch's IDs among the last len(ids)+tailSlack events of
// stream up to position before (backwards), and decides as Append describes.
// found is false when none of the IDs is there.
func (s *Store) stored(op context.Context, stream string, ids []uuid.UUID, before esdb.StreamPosition) (res eventstore.AppendResult, found bool, err error) {
	var tail []storedEvent
	err = scan(func() (*esdb.ReadStream, error) {
		return s.client.ReadStream(op, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: before},
			uint64(len(ids)+tailSlack))
	}, func(rec *esdb.RecordedEvent) error {
		tail = append(tail, storedEvent{ID: rec.EventID, Revision: eventstore.Revision(rec.EventNumber)})
		return nil
	})
	if err != nil {
		return res, false, err
	}
	return s.decide(op, stream, ids, tail)
}

// storedAfter looks, after a wrong-expected-revision answer, for the batch
// where a retry would have put it (right after an exact expected revision, or
// at the start for no stream) and at the end of the stream.
func (s *Store) storedAfter(op context.Context, stream string, expected eventstore.ExpectedRevision, ids []uuid.UUID) (res eventstore.AppendResult, found bool, err error) {
	var near []storedEvent
	collect := func(rec *esdb.RecordedEvent) error {
		near = append(near, storedEvent{ID: rec.EventID, Revision: eventstore.Revision(rec.EventNumber)})
		return nil
	}
	first := eventstore.Revision(0)
	exact, isExact := expected.(eventstore.Exact)
	if isExact {
		first = eventstore.Revision(exact) + 1
	}
	if (isExact && first != 0 && first <= math.MaxInt64) || expected == eventstore.NoStream {
		err = scan(func() (*esdb.ReadStream, error) {
			return s.client.ReadStream(op, stream, esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(uint64(first))},
				uint64(len(ids)))
		}, collect)
		if err != nil {
			return res, false, err
		}
	}
	err = scan(func() (*esdb.ReadStream, error) {
		return s.client.ReadStream(op, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}},
			uint64(len(ids)+tailSlack))
	}, collect)
	if err != nil {
		return res, false, err
	}
	return s.decide(op, stream, ids, near)
}

// decide settles a batch some of whose IDs were found among near: if the whole
// batch is stored in order at consecutive revisions, it returns the result of
// the original append; otherwise ErrDuplicateEventID.
func (s *Store) decide(op context.Context, stream string, ids []uuid.UUID, near []storedEvent) (eventstore.AppendResult, bool, error) {
	start, ok, someFound := batchStart(ids, near)
	if !someFound {
		return eventstore.AppendResult{}, false, nil
	}
	if ok {
		var got []eventstore.Envelope
		err := scan(func() (*esdb.ReadStream, error) {
			return s.client.ReadStream(op, stream, esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(uint64(start))},
				uint64(len(ids)))
		}, func(rec *esdb.RecordedEvent) error {
			env, err := envelope(rec)
			if err != nil {
				return err
			}
			got = append(got, env)
			return nil
		})
		if err != nil {
			return eventstore.AppendResult{}, true, err
		}
		if sameBatch(ids, start, got) {
			last := got[len(got)-1]
			return eventstore.AppendResult{Revision: last.Revision, Position: last.Position}, true, nil
		}
	}
	return eventstore.AppendResult{}, true, fmt.Errorf("%w: some of the batch's %d events are already in %s, not as this batch",
		eventstore.ErrDuplicateEventID, len(ids), stream)
}

// storedEvent is an event ID found in a stream, with its revision.
type storedEvent struct {
	ID       uuid.UUID
	Revision eventstore.Revision
}

// batchStart finds where batch would start if it is stored: from the first of
// its IDs found in near, at index j and revision r, the batch would begin at
// r-j. someFound reports whether any ID was found; ok is false when the one
// found cannot be part of the whole batch stored in order.
func batchStart(batch []uuid.UUID, near []storedEvent) (start eventstore.Revision, ok, someFound bool) {
	at := make(map[uuid.UUID]eventstore.Revision, len(near))
	for _, e := range near {
		at[e.ID] = e.Revision
	}
	for j, id := range batch {
		r, found := at[id]
		if !found {
			continue
		}
		if r < eventstore.Revision(j) {
			return 0, false, true
		}
		return r - eventstore.Revision(j), true, true
	}
	return 0, false, false
}

// sameBatch reports whether got holds exactly the batch, in order, from
// revision start.
func sameBatch(batch []uuid.UUID, start eventstore.Revision, got []eventstore.Envelope) bool {
	if len(got) != len(batch) {
		return false
	}
	for i, e := range got {
		if e.ID != batch[i] || e.Revision != start+eventstore.Revision(i) {
			return false
		}
	}
	return true
}

// eventAt reads the event of stream at revision rev.
func (s *Store) eventAt(op context.Context, stream string, rev eventstore.Revision) (eventstore.Envelope, error) {
	var env eventstore.Envelope
	found := false
	err := scan(func() (*esdb.ReadStream, error) {
		return s.client.ReadStream(op, stream, esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(uint64(rev))}, 1)
	}, func(rec *esdb.RecordedEvent) error {
		e, err := envelope(rec)
		env, found = e, err == nil
		return err
	})
	if err == nil && (!found || env.Revision != rev) {
		err = errors.New("the event just appended cannot be read back")
	}
	return env, err
}

// asInvalid returns err as ErrInvalidEvent when the server refused the
// append as invalid (gRPC InvalidArgument: a batch over its maximum append
// size, 1 MiB by default), and nil otherwise. Nothing of such an append was
// written and the same request would be refused again; the client reports
// the code as unknown, which would leave a retry open.
func asInvalid(err error) error {
	if status.Code(err) != codes.InvalidArgument {
		return nil
	}
	return errors.Join(eventstore.ErrInvalidEvent, err)
}
