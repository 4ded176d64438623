package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/custodian/custodian/eventstore"
)

// Durability: an append is answered only after the journal (journal.go)
// holds its events durably; readers read SQLite, which the indexer
// (index.go) writes beside it:
//
//   - One group is written at a time, under wmu, by the writer goroutine
//     or by a lone appender: its requests are checked, its events written
//     to the journal with one write, handed to the indexer, and the journal
//     fdatasynced; meanwhile the next group gathers in the queue.
//   - The indexer commits the groups to SQLite beside this (WAL mode,
//     synchronous=NORMAL: SQLite syncs its checkpoints, not its commits).
//   - After the fdatasync a group's appends are answered, in order
//     (advance). What is both durable and indexed is published to readers;
//     a read first waits until every acknowledged append is published
//     (settled), so a caller reads its own writes, and nothing a power cut
//     could take back is ever read.
//   - A failed write or sync breaks the store for good (the kernel may have
//     dropped the dirty pages and will not report it twice): nothing more is
//     acknowledged, and every append fails. After a failed SQLite insert
//     reads that would miss acknowledged events fail instead.
//   - Open replays into SQLite what the journal has beyond SQLite's last
//     position, makes SQLite durable, and only then removes the journal.

// group is a group's appends waiting to be answered.
type group struct {
	last uint64 // durable and indexed up to here, they are answered
	reqs []*appendReq
}

// openWAL opens the store's own descriptor of SQLite's WAL, used only to
// sync it, and makes it durable. SQLite keeps the WAL (same inode) while any
// connection is open, and the writer's stays open until Close.
func (s *Store) openWAL() error {
	f, err := os.OpenFile(filepath.Join(s.dir, DBFile+"-wal"), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open store: the WAL: %w", err)
	}
	s.walFile = f
	if err := syncDir(s.dir); err != nil {
		return err
	}
	return fdatasync(f)
}

// syncFile is how the journal and SQLite's WAL are synced; tests replace it
// to inject a failure.
var syncFile = fdatasync

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// sync makes the journal durable up to last with one fdatasync of the
// segment f, then answers what it covers.
func (s *Store) sync(f *os.File, last uint64) {
	switch s.opts.syncMode {
	case "off":
		s.advance(last, 0)
		return
	case "late":
		// The demonstration's broken order: answer first, sync well after.
		s.advance(last, 0)
		time.AfterFunc(50*time.Millisecond, func() { _ = syncFile(f) })
		return
	}
	s.syncCount.Add(1)
	if err := syncFile(f); err != nil {
		s.breakStore(fmt.Errorf("journal: sync: %w", err))
		s.advance(0, 0)
		return
	}
	s.advance(last, 0)
}

// enqueue adds a group to be answered; the writer enqueues in position order.
func (s *Store) enqueue(g group) {
	s.cmu.Lock()
	s.waiting = append(s.waiting, g)
	s.cmu.Unlock()
}

// readyHead is the last position both durable and indexed.
func (s *Store) readyHead() uint64 {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.visible()
}

// visible is what readers may read: durable and indexed.
func (s *Store) visible() uint64 { return min(s.durable, s.indexed) }

// advance moves the durable and indexed heads (0: unchanged), publishes
// what readers may read, and answers the groups now durable, in order. Once
// the store is broken it answers every waiting group with the error.
func (s *Store) advance(durable, indexed uint64) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.durable = max(s.durable, durable)
	s.indexed = max(s.indexed, indexed)
	err := s.brokenError()
	// The durable head moves only on a good sync, so what is visible stays
	// readable after the store broke.
	if v := s.visible(); v > s.published {
		s.published = v
		s.publish(v)
	}
	acked := s.durable // appends are answered once durable
	n := 0
	for n < len(s.waiting) && (err != nil || s.waiting[n].last <= acked) {
		n++
	}
	if n == 0 {
		return
	}
	for _, g := range s.waiting[:n] {
		for _, r := range g.reqs {
			if err != nil {
				// Not acknowledged, not even a repeat or a refusal: after a
				// failed write or sync nothing since the last good one counts.
				r.err, r.res = err, eventstore.AppendResult{}
			}
			r.finish(r.err)
		}
	}
	s.waiting = append(s.waiting[:0:0], s.waiting[n:]...)
}

// settled waits until readers see every append acknowledged so far (the
// indexer is at most a few milliseconds behind the journal), then returns
// the head readers may read and the channel closed when it next moves.
func (s *Store) settled(ctx context.Context) (uint64, <-chan struct{}, error) {
	s.cmu.Lock()
	want := s.durable
	s.cmu.Unlock()
	for {
		h, changed := s.watch()
		if h >= want {
			return h, changed, nil
		}
		if s.indexFailed.Load() {
			// Acknowledged events SQLite could not take: reading on
			// would silently miss them. Open replays them.
			return 0, nil, fmt.Errorf("read: events up to position %d are acknowledged but not indexed: %w", want, s.brokenError())
		}
		if err := s.await(ctx, changed, s.indexFailedCh); err != nil {
			return 0, nil, err
		}
	}
}

// brokenErr wraps the error that broke the store.
type brokenErr struct{ err error }

// breakStore stops the store for good after a failed write or sync.
func (s *Store) breakStore(err error) {
	if s.broken.CompareAndSwap(nil, &brokenErr{err}) {
		close(s.brokenCh)
	}
}

// failIndexing stops the indexer for good after a failed SQLite insert.
// The store breaks first: a reader that sees indexFailed fails, and no
// append after it may be acknowledged.
func (s *Store) failIndexing(err error) {
	s.breakStore(err)
	s.indexFailed.Store(true)
	close(s.indexFailedCh)
}

// brokenError is the error every append gets once a write or sync failed,
// or nil.
func (s *Store) brokenError() error {
	if b := s.broken.Load(); b != nil {
		return fmt.Errorf("the store stopped writing after a failed write or sync: %w", b.err)
	}
	return nil
}

// reading tells the indexer that a reader waits for it, until the returned
// function is called.
func (s *Store) reading() (done func()) {
	s.readers.Add(1)
	select {
	case s.readerWaits <- struct{}{}:
	default:
	}
	return func() { s.readers.Add(-1) }
}
