package embedded

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
)

// The indexer writes what the writer journaled into SQLite, many groups to
// one transaction: with 64 appenders a group holds about twenty events to
// twenty streams, and a SQLite transaction of one group dirties a page of
// the (stream, revision) index per event; a transaction of a hundred groups
// dirties each stream's page once. SQLite commits are not synced (the
// journal is what is durable); SQLite syncs its own checkpoints, and the
// indexer fdatasyncs the WAL before it deletes a journal segment.

// maxIndexBatch bounds the events of one indexer transaction, and
// maxQueued the events the writer may queue ahead of the indexer.
const (
	maxIndexBatch = 16384
	maxQueued     = 4 * maxIndexBatch
)

// indexQueue is what the writer journaled and the indexer has not taken,
// as whole groups: a SQLite transaction never holds part of an append (a
// checkpoint could make that part durable before the journal's fsync, and
// a power cut then leave half an append).
type indexQueue struct {
	mu     sync.Mutex
	room   *sync.Cond // signalled when the indexer takes rows
	groups [][]row
	rows   int // in groups
	closed bool
	wake   chan struct{} // capacity 1: the indexer has work
	ending chan struct{} // closed by close
}

func newIndexQueue() *indexQueue {
	q := &indexQueue{wake: make(chan struct{}, 1), ending: make(chan struct{})}
	q.room = sync.NewCond(&q.mu)
	return q
}

// push queues a journaled group. It wakes the indexer when the queue was
// empty or when a transaction's worth is queued; otherwise the indexer,
// already awake, gathers it with the rest. It waits while the indexer is
// maxQueued events behind.
func (q *indexQueue) push(rows []row) {
	q.mu.Lock()
	for q.rows >= maxQueued && !q.closed {
		q.room.Wait()
	}
	wasEmpty := q.rows == 0
	q.groups = append(q.groups, rows)
	q.rows += len(rows)
	full := q.rows >= maxIndexBatch
	q.mu.Unlock()
	if wasEmpty || full {
		q.signal()
	}
}

func (q *indexQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns whole queued groups, at least one and up to maxIndexBatch
// rows unless one group is bigger, and whether the queue is closed and
// empty.
func (q *indexQueue) take() ([]row, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var rows []row
	n := 0
	for n < len(q.groups) && (n == 0 || len(rows)+len(q.groups[n]) <= maxIndexBatch) {
		rows = append(rows, q.groups[n]...)
		n++
	}
	clear(q.groups[:n])
	q.groups = q.groups[n:]
	if len(q.groups) == 0 {
		q.groups = nil
	} else {
		q.signal() // more to do
	}
	q.rows -= len(rows)
	q.room.Broadcast()
	return rows, q.closed && len(q.groups) == 0
}

// idle says the queue is empty and open: a wake-up finds nothing to gather.
func (q *indexQueue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.rows == 0 && !q.closed
}

func (q *indexQueue) close() {
	q.mu.Lock()
	q.closed = true
	close(q.ending)
	q.room.Broadcast()
	q.mu.Unlock()
	q.signal()
}

// overlay holds what the writer has journaled and SQLite does not have yet,
// in memory, whole groups in position order. The writer checks it before it
// asks SQLite about a stream or an event id, and readers read what is
// durable in it instead of waiting for the indexer (read.go). The indexer
// removes groups only after its commit, so a position, stream or id the
// overlay does not have is, if stored at all, in SQLite already.
type overlay struct {
	mu      sync.Mutex
	next    uint64  // the position after the last row added
	groups  [][]row // in position order, from position first() on
	streams map[string]*ovStream
	ids     map[uuid.UUID]stored
}

// ovStream is one stream's rows in the overlay, in revision order.
type ovStream struct {
	next uint64 // the revision its next event gets
	rows []row
}

// newOverlay returns an empty overlay whose next row is at position next.
func newOverlay(next uint64) *overlay {
	return &overlay{next: next, streams: map[string]*ovStream{}, ids: map[uuid.UUID]stored{}}
}

// add adds a journaled group.
func (o *overlay) add(rows []row) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.groups = append(o.groups, rows)
	o.next = rows[len(rows)-1].position + 1
	for _, r := range rows {
		o.ids[r.id] = stored{stream: r.stream, revision: r.revision, position: r.position}
		st := o.streams[r.stream]
		if st == nil {
			st = &ovStream{}
			o.streams[r.stream] = st
		}
		st.next = r.revision + 1
		st.rows = append(st.rows, r)
	}
}

// remove forgets the groups up to position upTo, which SQLite has
// committed.
func (o *overlay) remove(upTo uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for n < len(o.groups) && o.groups[n][len(o.groups[n])-1].position <= upTo {
		for _, r := range o.groups[n] {
			delete(o.ids, r.id)
			st := o.streams[r.stream]
			if len(st.rows) <= 1 {
				delete(o.streams, r.stream)
				continue
			}
			// Readers may hold the slice: rows are never changed, only
			// resliced (append moves them to a new array when it grows).
			st.rows = st.rows[1:]
		}
		n++
	}
	clear(o.groups[:n])
	o.groups = o.groups[n:]
	if len(o.groups) == 0 {
		o.groups = nil
	}
}

// first is the overlay's first position; everything before it is in SQLite.
// The caller holds mu.
func (o *overlay) first() uint64 {
	if len(o.groups) == 0 {
		return o.next
	}
	return o.groups[0][0].position
}

// since returns the overlay's first position and its rows after position
// after, as group slices the caller must not change (rows are never changed
// once added).
func (o *overlay) since(after uint64) (uint64, [][]row) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := sort.Search(len(o.groups), func(i int) bool {
		g := o.groups[i]
		return g[len(g)-1].position > after
	})
	out := slices.Clone(o.groups[i:])
	if len(out) > 0 && out[0][0].position <= after {
		out[0] = out[0][after+1-out[0][0].position:]
	}
	return o.first(), out
}

// streamRows returns the overlay's first position and the stream's rows in
// it, which the caller must not change.
func (o *overlay) streamRows(name string) (uint64, []row) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var rows []row
	if st := o.streams[name]; st != nil {
		rows = st.rows[:len(st.rows):len(st.rows)]
	}
	return o.first(), rows
}

func (o *overlay) stream(name string) (uint64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	st, ok := o.streams[name]
	if !ok {
		return 0, false
	}
	return st.next, true
}

// lookup moves the ids the overlay knows into known and returns the others.
func (o *overlay) lookup(ids []uuid.UUID, known map[uuid.UUID]stored) []uuid.UUID {
	o.mu.Lock()
	defer o.mu.Unlock()
	var rest []uuid.UUID
	for _, id := range ids {
		if st, ok := o.ids[id]; ok {
			known[id] = st
		} else {
			rest = append(rest, id)
		}
	}
	return rest
}

// indexer commits journaled groups to SQLite; see above. Readers do not
// wait for it (they read the overlay), so it gathers groups for IndexDelay.
// SQLite's autocheckpoint (CheckpointPages) copies the WAL into the
// database file between two of its transactions and lets the WAL start
// over.
func (s *Store) indexer() {
	defer close(s.indexerExited)
	ctx := context.Background()
	for {
		<-s.index.wake
		if s.index.idle() {
			// A wake-up left over from a signal whose rows were taken
			// already: gathering now would end at the next push's signal,
			// which is meant to start a gather, not to end one.
			continue
		}
		if s.opts.IndexDelay > 0 {
			// Gather groups for a while, so that a commit writes each
			// stream's index page once for many events.
			t := time.NewTimer(s.opts.IndexDelay)
			select {
			case <-t.C:
			case <-s.index.wake: // a transaction's worth
			case <-s.index.ending:
			}
			t.Stop()
		}
		rows, done := s.index.take()
		// After a failed journal write or sync the indexer goes on, so that
		// what was acknowledged stays readable; after a failed insert it
		// stops (Open replays the journal).
		if len(rows) > 0 && !s.indexFailed.Load() {
			if err := s.w.insertTx(ctx, rows); err != nil {
				s.failIndexing(fmt.Errorf("index: %w", err))
				s.advance(0, 0)
			} else {
				s.commits.Add(1)
				s.writeBackWAL()
				last := rows[len(rows)-1].position
				s.ov.remove(last)
				s.advance(0, last)
				s.dropSegments()
			}
		}
		if done {
			return
		}
	}
}

// writeBackWAL starts the writeback of what the last commit wrote to
// SQLite's WAL (startWriteback), unless the file system cannot. A failure
// breaks the store as a failed sync of the WAL would.
func (s *Store) writeBackWAL() {
	if s.noWriteback {
		return
	}
	ok, err := startWriteback(s.walFile)
	if err != nil {
		s.breakStore(fmt.Errorf("start writing the database WAL: %w", err))
		s.advance(0, 0)
	}
	s.noWriteback = !ok
}

// insertTx writes rows in one transaction.
func (w *writerConn) insertTx(ctx context.Context, rows []row) error {
	if err := w.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin: %w", mapErr(err))
	}
	if err := w.insertRows(ctx, rows); err != nil {
		w.rollback(ctx)
		return err
	}
	if err := w.exec(ctx, "COMMIT"); err != nil {
		w.rollback(ctx)
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// dropSegments deletes the finished journal segments whose events SQLite
// holds durably: it fdatasyncs SQLite's WAL first (SQLite syncs the
// database file itself before a checkpoint moves pages out of the WAL).
func (s *Store) dropSegments() {
	ready := s.indexedDurable()
	s.segMu.Lock()
	var drop []segment
	for len(s.closedSegs) > 0 && s.closedSegs[0].last <= ready {
		drop = append(drop, s.closedSegs[0])
		s.closedSegs = s.closedSegs[1:]
	}
	s.segMu.Unlock()
	if len(drop) == 0 {
		return
	}
	if err := syncFile(s.walFile); err != nil {
		s.breakStore(fmt.Errorf("sync the database WAL: %w", err))
		s.advance(0, 0)
		return
	}
	for _, seg := range drop {
		name := seg.f.Name()
		seg.f.Close()
		// A segment whose removal a crash undoes is complete and replays
		// as events SQLite has; nothing depends on its removal.
		_ = os.Remove(name)
	}
}
