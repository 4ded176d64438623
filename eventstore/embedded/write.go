package embedded

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/custodian/custodian/eventstore"
)

// Request states: the writer and a cancelling caller race to move a request
// out of pending; whoever wins decides whether it is written.
const (
	reqPending int32 = iota
	reqTaken
	reqCancelled
)

type appendReq struct {
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.Event
	state    atomic.Int32
	res      eventstore.AppendResult
	err      error
	done     chan struct{}
}

// Append implements eventstore.Store. It returns after the batch's
// transaction, shared with every other append queued at the same time, has
// been committed and fsynced.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if s.closed.Load() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if err := s.brokenError(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	if expected == nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: no expected revision: %w", stream, eventstore.ErrInvalidEvent)
	}
	if err := eventstore.ValidateBatch(stream, events); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	now := time.Now()
	norm := make([]eventstore.Event, len(events))
	for i, e := range events {
		norm[i] = e.Normalize(now)
	}
	req := &appendReq{stream: stream, expected: expected, events: norm, done: make(chan struct{})}
	select {
	case s.reqs <- req:
	case <-s.done:
		return eventstore.AppendResult{}, eventstore.ErrClosed
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	}
	select {
	case <-req.done:
	case <-ctx.Done():
		if req.state.CompareAndSwap(reqPending, reqCancelled) {
			return eventstore.AppendResult{}, ctx.Err()
		}
		<-req.done // the writer has it: its commit is moments away
	case <-s.exited:
		if req.state.CompareAndSwap(reqPending, reqCancelled) {
			return eventstore.AppendResult{}, eventstore.ErrClosed
		}
		<-req.done
	}
	if req.err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, req.err)
	}
	return req.res, nil
}

func (r *appendReq) finish(err error) {
	r.err = err
	close(r.done)
}

// writer is the single goroutine that writes. It group-commits every request
// queued while the previous commit was syncing.
func (s *Store) writer() {
	defer close(s.exited)
	defer s.w.close()
	heads := newHeadCache(100_000)
	for {
		var first *appendReq
		select {
		case first = <-s.reqs:
		case <-s.done:
			s.failQueued()
			close(s.syncs)
			return
		}
		batch := []*appendReq{first}
		n := len(first.events)
	drain:
		for n < s.opts.MaxBatchEvents {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
				n += len(r.events)
			default:
				break drain
			}
		}
		if err := s.brokenError(); err != nil {
			for _, r := range batch {
				if r.state.CompareAndSwap(reqPending, reqTaken) {
					r.finish(err)
				}
			}
			continue
		}
		answers, head := s.commit(batch, heads)
		if s.opts.syncMode == "late" {
			// The demonstration's broken order: answer first, sync later.
			if head > 0 {
				s.publish(head)
			}
			for _, r := range answers {
				r.finish(r.err)
			}
			answers = nil
		}
		s.handOff(syncJob{head: head, reqs: answers})
	}
}

func (s *Store) failQueued() {
	for {
		select {
		case r := <-s.reqs:
			if r.state.CompareAndSwap(reqPending, reqTaken) {
				r.finish(eventstore.ErrClosed)
			}
		default:
			return
		}
	}
}

// stored is where an event ID already is.
type stored struct {
	stream   string
	revision uint64
	position uint64
}

type row struct {
	position uint64
	id       uuid.UUID
	stream   string
	revision uint64
	body     []byte
}

// commit writes one group of requests in one transaction. It returns the
// requests to answer once what the group wrote is durable (each with its
// result or error set), and the last position the group wrote (0 if none).
// Requests refused by their checks carry their error; the others succeed or
// fail together with the commit.
func (s *Store) commit(batch []*appendReq, heads *headCache) ([]*appendReq, uint64) {
	live := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return nil, 0
	}
	ctx := context.Background()
	w := s.w
	if err := w.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return failAll(live, fmt.Errorf("begin: %w", mapErr(err)), heads), 0
	}
	known, err := w.lookupIDs(ctx, live)
	if err != nil {
		w.rollback(ctx)
		return failAll(live, err, heads), 0
	}
	next := s.committed + 1
	var rows []row
	var writers []*appendReq
	pending := map[string]uint64{} // stream → revision of its last event in this group, +1
	for _, r := range live {
		// A repeat of an append already stored answers with the original
		// result, once that is durable too: it goes through the syncer
		// like the rest.
		if res, ok, err := idempotent(r, known); ok || err != nil {
			r.res, r.err = res, err
			writers = append(writers, r)
			continue
		}
		cur, err := w.streamNext(ctx, r.stream, pending, heads)
		if err != nil {
			w.rollback(ctx)
			return failAll(live, err, heads), 0
		}
		if err := check(r.expected, cur); err != nil {
			r.err = err
			writers = append(writers, r)
			continue
		}
		for i, e := range r.events {
			rev := cur + uint64(i)
			env := e.Envelope(r.stream, eventstore.Revision(rev), eventstore.Position{})
			rows = append(rows, row{position: next, id: e.ID, stream: r.stream, revision: rev, body: env.Canonical()})
			known[e.ID] = stored{stream: r.stream, revision: rev, position: next}
			next++
		}
		last := rows[len(rows)-1]
		pending[r.stream] = last.revision + 1
		r.res = eventstore.AppendResult{Revision: eventstore.Revision(last.revision), Position: pos(last.position)}
		writers = append(writers, r)
	}
	if len(rows) == 0 {
		w.rollback(ctx)
		return writers, 0
	}
	if err := w.insertRows(ctx, rows); err != nil {
		w.rollback(ctx)
		return failAll(writers, err, heads), 0
	}
	if err := w.exec(ctx, `UPDATE meta SET value = ? WHERE key = 'head'`, int64(next-1)); err != nil {
		w.rollback(ctx)
		return failAll(writers, mapErr(err), heads), 0
	}
	if err := w.exec(ctx, "COMMIT"); err != nil {
		w.rollback(ctx)
		return failAll(writers, fmt.Errorf("commit: %w", mapErr(err)), heads), 0
	}
	s.commits.Add(1)
	s.written.Add(uint64(len(rows)))
	for stream, n := range pending {
		heads.put(stream, n)
	}
	s.committed = next - 1
	return writers, next - 1
}

// failAll sets err on every request of a group whose transaction failed
// (nothing of it was written) and returns them to be answered. The stream
// head cache is dropped: after a failed transaction it may be ahead.
func failAll(reqs []*appendReq, err error, heads *headCache) []*appendReq {
	heads.reset()
	for _, r := range reqs {
		r.err = err
	}
	return reqs
}

// idempotent reports whether r repeats an append already stored (ok, with
// the original result) or clashes with stored IDs (err).
func idempotent(r *appendReq, known map[uuid.UUID]stored) (eventstore.AppendResult, bool, error) {
	found := 0
	for _, e := range r.events {
		if _, ok := known[e.ID]; ok {
			found++
		}
	}
	if found == 0 {
		return eventstore.AppendResult{}, false, nil
	}
	first := known[r.events[0].ID]
	if found == len(r.events) {
		ok := first.stream == r.stream
		for i, e := range r.events {
			st := known[e.ID]
			ok = ok && st.stream == r.stream && st.revision == first.revision+uint64(i)
		}
		if ok {
			last := known[r.events[len(r.events)-1].ID]
			return eventstore.AppendResult{Revision: eventstore.Revision(last.revision), Position: pos(last.position)}, true, nil
		}
	}
	return eventstore.AppendResult{}, false, fmt.Errorf("%d of %d event ids already stored: %w", found, len(r.events), eventstore.ErrDuplicateEventID)
}

// check applies the expected revision to a stream whose next revision is next.
func check(expected eventstore.ExpectedRevision, next uint64) error {
	exists := next > 0
	ok := false
	switch exp := expected.(type) {
	case eventstore.Exact:
		ok = exists && uint64(exp) == next-1
	default:
		switch expected {
		case eventstore.Any:
			ok = true
		case eventstore.NoStream:
			ok = !exists
		case eventstore.StreamExists:
			ok = exists
		}
	}
	if ok {
		return nil
	}
	current := "no stream"
	if exists {
		current = fmt.Sprintf("revision %d", next-1)
	}
	return fmt.Errorf("expected %v, stream is at %s: %w", expected, current, eventstore.ErrWrongRevision)
}

// headCache remembers the next revision of recently written streams. Only the
// writer goroutine uses it; it is exact because nothing else writes.
type headCache struct {
	max int
	m   map[string]uint64
}

func newHeadCache(max int) *headCache { return &headCache{max: max, m: make(map[string]uint64)} }

func (c *headCache) get(stream string) (uint64, bool) {
	n, ok := c.m[stream]
	return n, ok
}

func (c *headCache) put(stream string, next uint64) {
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[stream] = next
}

func (c *headCache) reset() { clear(c.m) }
