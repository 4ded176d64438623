package embedded

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
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

// Append implements eventstore.Store. It returns after the group it was
// written in, shared with every other append queued at the same time, has
// been journaled and fdatasynced.
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
	// A lone appender writes its group itself: no hand-off to the writer
	// goroutine and back, which costs a thread wake-up each way. Only when
	// no other append is under way: the others, answered moments ago and
	// about to append again, would otherwise wait behind a group of one
	// and its fsync instead of sharing the next group.
	alone := s.appending.Add(1) == 1
	defer s.appending.Add(-1)
	if alone && len(s.reqs) == 0 && s.wmu.TryLock() {
		if !s.closed.Load() && len(s.reqs) == 0 {
			s.write([]*appendReq{req})
			s.wmu.Unlock()
			return req.result(stream)
		}
		s.wmu.Unlock()
	}
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
	return req.result(stream)
}

func (r *appendReq) result(stream string) (eventstore.AppendResult, error) {
	<-r.done
	if r.err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, r.err)
	}
	return r.res, nil
}

func (r *appendReq) finish(err error) {
	r.err = err
	close(r.done)
}

// gatherWait bounds how long the writer waits for appends under way to join
// its group: about one fdatasync here.
const gatherWait = 150 * time.Microsecond

// gatherSpin is how much of gatherWait the writer yields instead of parking.
const gatherSpin = 50 * time.Microsecond

// writer is the goroutine that writes the groups of concurrent appends. It
// takes every request queued while the previous group was being written,
// waits up to gatherWait for the other appends under way, and writes them
// as one group (write).
func (s *Store) writer() {
	defer close(s.exited)
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for {
		var first *appendReq
		select {
		case first = <-s.reqs:
		case <-s.done:
			s.failQueued()
			return
		}
		s.wmu.Lock()
		batch := s.gather([]*appendReq{first}, gather)
		s.write(batch)
		s.wmu.Unlock()
	}
}

// gather adds the queued requests to batch, up to MaxBatchEvents events.
// The appends under way but not queued were, nearly all, answered with the
// last group and are about to append again: it waits up to gatherWait for
// them, as one group shares one fsync. First it yields (runtime.Gosched lets
// the answered appenders run on this P, and costs nothing when nothing else
// is runnable), then it parks on the queue with timer.
func (s *Store) gather(batch []*appendReq, timer *time.Timer) []*appendReq {
	n := 0
	for _, r := range batch {
		n += len(r.events)
	}
	var start time.Time
	parked, expired := false, false
	defer timer.Stop() // Go ≥ 1.23: no stale value is received after Stop
	for n < s.opts.MaxBatchEvents {
		var r *appendReq
		select {
		case r = <-s.reqs:
		default:
			if expired || int64(len(batch)) >= s.appending.Load() {
				return batch
			}
			if start.IsZero() {
				start = time.Now()
			}
			if !parked && time.Since(start) < gatherSpin {
				runtime.Gosched()
				continue
			}
			if !parked {
				parked = true
				timer.Reset(gatherWait - gatherSpin)
			}
			select {
			case r = <-s.reqs:
			case <-timer.C:
				expired = true
				continue
			}
		}
		batch = append(batch, r)
		n += len(r.events)
	}
	return batch
}

// write writes one group, under wmu: it checks the requests, journals the
// accepted events of all of them with one write, hands them to the indexer,
// fdatasyncs the journal and answers the group. While it syncs, the next
// group gathers in the queue.
func (s *Store) write(batch []*appendReq) {
	if err := s.brokenError(); err != nil {
		for _, r := range batch {
			if r.state.CompareAndSwap(reqPending, reqTaken) {
				r.finish(err)
			}
		}
		return
	}
	answers, rows := s.prepare(batch, s.heads)
	if len(rows) > 0 {
		if err := s.j.write(rows); err != nil {
			// What part of the group reached the file is unknown: no
			// more writes after it (Open cuts a torn tail).
			s.breakStore(err)
		} else {
			s.ov.add(rows)
			s.streams.created(rows)
			for _, r := range rows {
				if bytes.Compare(r.id[:], s.maxID[:]) > 0 {
					s.maxID = r.id
				}
			}
			s.committed = rows[len(rows)-1].position
			s.written.Add(uint64(len(rows)))
		}
	}
	s.enqueue(group{last: s.committed, reqs: answers})
	if len(rows) == 0 || s.brokenError() != nil {
		s.advance(0, 0)
		return
	}
	s.index.push(rows)
	s.sync(s.j.f, s.committed)
	// After a failed sync no segment may follow the one it failed on: its
	// lost pages would be damage in a segment that is not the last.
	if s.brokenError() == nil && s.j.size >= segmentBytes {
		if err := s.rotate(); err != nil {
			s.breakStore(err)
			s.advance(0, 0)
		}
	}
}

// rotate cuts the open journal segment's allocated space after its last
// record, syncs it and starts the next one: a torn record, and zeros after
// the last record, can only ever be in the last segment.
func (s *Store) rotate() error {
	if err := s.j.f.Truncate(s.j.size); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := syncFile(s.j.f); err != nil {
		return fmt.Errorf("journal: sync: %w", err)
	}
	j, err := createSegment(s.dir, s.committed+1)
	if err != nil {
		return err
	}
	s.segMu.Lock()
	s.closedSegs = append(s.closedSegs, segment{f: s.j.f, last: s.committed})
	s.segMu.Unlock()
	j.buf = s.j.buf
	s.j = j
	return nil
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

// prepare checks one group of requests and returns the requests to answer
// once what the group writes is durable (each with its result or
// error set), and the rows to journal. Requests refused by their checks
// carry their error; the others succeed with the journal write.
func (s *Store) prepare(batch []*appendReq, heads *headCache) ([]*appendReq, []row) {
	live := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return nil, nil
	}
	ctx := context.Background()
	known, err := s.lookupIDs(ctx, live)
	if err != nil {
		return failAll(live, err), nil
	}
	next := s.committed + 1
	var rows []row
	answers := make([]*appendReq, 0, len(live))
	pending := map[string]uint64{} // stream → revision of its last event in this group, +1
	for _, r := range live {
		// A repeat of an append already stored answers with the original
		// result, once that is durable too: it waits like the rest.
		if res, ok, err := idempotent(r, known); ok || err != nil {
			r.res, r.err = res, err
			answers = append(answers, r)
			continue
		}
		cur, err := s.streamNext(ctx, r.stream, pending, heads)
		if err != nil {
			return failAll(live, err), nil
		}
		if err := check(r.expected, cur); err != nil {
			r.err = err
			answers = append(answers, r)
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
		answers = append(answers, r)
	}
	for stream, n := range pending {
		heads.put(stream, n)
	}
	return answers, rows
}

// lookupIDs finds which of the group's event IDs are already stored: in the
// overlay, else in SQLite.
func (s *Store) lookupIDs(ctx context.Context, reqs []*appendReq) (map[uuid.UUID]stored, error) {
	var ids []uuid.UUID
	for _, r := range reqs {
		for _, e := range r.events {
			ids = append(ids, e.ID)
		}
	}
	known := make(map[uuid.UUID]stored)
	// An id above every stored one (the usual case: version 7 ids grow
	// with time) needs no look-up.
	old := ids[:0]
	for _, id := range ids {
		if bytes.Compare(id[:], s.maxID[:]) <= 0 {
			old = append(old, id)
		}
	}
	rest := s.ov.lookup(old, known)
	if err := s.q.lookupIDs(ctx, rest, known); err != nil {
		return nil, err
	}
	return known, nil
}

// streamNext returns the revision the stream's next event gets (0 for a new
// stream), from this group's writes, the overlay, the cache, or SQLite.
func (s *Store) streamNext(ctx context.Context, stream string, pending map[string]uint64, heads *headCache) (uint64, error) {
	if n, ok := pending[stream]; ok {
		return n, nil
	}
	if n, ok := s.ov.stream(stream); ok {
		return n, nil
	}
	if n, ok := heads.get(stream); ok {
		return n, nil
	}
	if s.streams.absent(stream) {
		return 0, nil
	}
	n, err := s.q.streamNext(ctx, stream)
	if err != nil {
		return 0, err
	}
	heads.put(stream, n)
	return n, nil
}

// failAll sets err on every request of a group whose checks could not be
// made (nothing of it is written) and returns them to be answered.
func failAll(reqs []*appendReq, err error) []*appendReq {
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

// headCache remembers the next revision of recently written streams. Only
// the group being written uses it (under wmu); it is exact because nothing
// else writes.
//
// Names of up to headKeyLen bytes (every stream name the domain writes) are
// keyed inline, in a map with no pointers, which the garbage collector does
// not scan: 100,000 string keys would be as many heap objects to mark.
type headCache struct {
	max   int
	short map[headKey]uint64
	long  map[string]uint64
}

const headKeyLen = 63

// headKey is a stream name of up to headKeyLen bytes: its length, then its
// bytes, zero-padded.
type headKey struct {
	n uint8
	b [headKeyLen]byte
}

func keyOfStream(stream string) (headKey, bool) {
	var k headKey
	if len(stream) > headKeyLen {
		return k, false
	}
	k.n = uint8(len(stream))
	copy(k.b[:], stream)
	return k, true
}

func newHeadCache(max int) *headCache {
	return &headCache{max: max, short: make(map[headKey]uint64), long: make(map[string]uint64)}
}

func (c *headCache) get(stream string) (uint64, bool) {
	var n uint64
	var ok bool
	if k, short := keyOfStream(stream); short {
		n, ok = c.short[k]
	} else {
		n, ok = c.long[stream]
	}
	return n, ok
}

func (c *headCache) put(stream string, next uint64) {
	if len(c.short)+len(c.long) >= c.max {
		clear(c.short)
		clear(c.long)
	}
	if k, short := keyOfStream(stream); short {
		c.short[k] = next
	} else {
		c.long[stream] = next
	}
}
