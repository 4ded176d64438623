package embedded

import (
	"context"
	"fmt"
	"os"
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
}

func newIndexQueue() *indexQueue {
	q := &indexQueue{wake: make(chan struct{}, 1)}
	q.room = sync.NewCond(&q.mu)
	return q
}

// push queues a journaled group. It wakes the indexer when the queue was
// empty, when urgent (a reader waits) or when a transaction's worth is
// queued; otherwise the indexer, already awake, gathers it with the rest.
// It waits while the indexer is maxQueued events behind.
func (q *indexQueue) push(rows []row, urgent bool) {
	q.mu.Lock()
	for q.rows >= maxQueued && !q.closed {
		q.room.Wait()
	}
	wasEmpty := q.rows == 0
	q.groups = append(q.groups, rows)
	q.rows += len(rows)
	full := q.rows >= maxIndexBatch
	q.mu.Unlock()
	if wasEmpty || urgent || full {
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

func (q *indexQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.room.Broadcast()
	q.mu.Unlock()
	q.signal()
}

// overlay holds what the writer has journaled and SQLite does not have yet:
// the writer checks it before it asks SQLite about a stream or an event id.
// The indexer removes entries only after its commit, so an id or stream the
// overlay does not have is, if stored at all, in SQLite already.
type overlay struct {
	mu      sync.Mutex
	streams map[string]ovStream
	ids     map[uuid.UUID]stored
}

type ovStream struct{ next, last uint64 }

func newOverlay() *overlay {
	return &overlay{streams: map[string]ovStream{}, ids: map[uuid.UUID]stored{}}
}

func (o *overlay) add(rows []row) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range rows {
		o.ids[r.id] = stored{stream: r.stream, revision: r.revision, position: r.position}
		o.streams[r.stream] = ovStream{next: r.revision + 1, last: r.position}
	}
}

// remove forgets rows SQLite has committed.
func (o *overlay) remove(rows []row) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range rows {
		delete(o.ids, r.id)
		if st, ok := o.streams[r.stream]; ok && st.last <= r.position {
			delete(o.streams, r.stream)
		}
	}
}

func (o *overlay) stream(name string) (uint64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	st, ok := o.streams[name]
	return st.next, ok
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

// indexer commits journaled groups to SQLite; see above.
func (s *Store) indexer() {
	defer close(s.indexerExited)
	ctx := context.Background()
	sinceCheckpoint := 0
	for {
		<-s.index.wake
		if s.opts.IndexDelay > 0 && s.readers.Load() == 0 {
			// Nobody waits to read: gather groups for a while, so that a
			// commit writes each stream's index page once for many events.
			t := time.NewTimer(s.opts.IndexDelay)
			select {
			case <-t.C:
			case <-s.readerWaits:
			case <-s.index.wake: // a transaction's worth, or closed
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
				if sinceCheckpoint += len(rows); sinceCheckpoint >= s.opts.CheckpointPages/4 {
					sinceCheckpoint = 0
					select {
					case s.checkpoints <- struct{}{}:
					default:
					}
				}
				s.ov.remove(rows)
				s.advance(0, rows[len(rows)-1].position)
				s.dropSegments()
			}
		}
		if done {
			return
		}
	}
}

// checkpointer copies SQLite's WAL into the database file when the indexer
// asks (every CheckpointPages/4 events it indexed), on its own connection:
// a checkpoint syncs the WAL and the database file, milliseconds the
// indexer, which readers wait for, goes on committing through. PASSIVE never
// waits for readers. Under load these checkpoints are seldom complete, and
// the WAL starts over only after a complete one; SQLite's own
// autocheckpoint in the indexer, past CheckpointPages, completes it between
// two of the indexer's transactions, with little left to copy. A failed
// checkpoint is retried at the next request; nothing depends on it but the
// WAL's size.
func (s *Store) checkpointer() {
	defer close(s.checkpointerExited)
	ctx := context.Background()
	for range s.checkpoints {
		_ = s.ckpt.exec(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	}
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
	ready := s.readyHead()
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
