package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/custodian/custodian/eventstore"
)

// Durability: an append is answered only after the journal (journal.go)
// holds its events durably; readers read SQLite, which the indexer
// (index.go) writes beside it, and the overlay, which holds in memory what
// the indexer has not committed yet:
//
//   - One group is written at a time, under wmu, by the writer goroutine
//     or by a lone appender: its requests are checked, its events written
//     to the journal with one write, handed to the indexer, and the journal
//     fdatasynced; meanwhile the next group gathers in the queue.
//   - The indexer commits the groups to SQLite beside this (WAL mode,
//     synchronous=NORMAL: SQLite syncs its checkpoints, not its commits).
//   - After the fdatasync the durable head moves, is published to readers,
//     and the group's appends are answered, in order (advance). Readers
//     read up to the published head, so a caller reads its own writes, and
//     nothing a power cut could take back is ever read.
//   - A failed write or sync breaks the store for good (the kernel may have
//     dropped the dirty pages and will not report it twice): nothing more is
//     acknowledged, and every append fails. After a failed SQLite insert
//     the indexer stops, and reads fail until Open replays the journal.
//   - Open replays into SQLite what the journal has beyond SQLite's last
//     position, makes SQLite durable, and only then removes the journal.

// group is a group's appends waiting to be answered.
type group struct {
	last uint64 // durable up to here, they are answered
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

// startWriteback asks the kernel to start writing f's dirty pages now
// (sync_file_range with SYNC_FILE_RANGE_WRITE), without waiting for them or
// flushing the disk's cache: it makes nothing durable. The indexer calls it
// on SQLite's WAL after each commit, so that the WAL reaches the disk in the
// small pieces its commits write rather than all at once: otherwise a
// checkpoint's sync flushes megabytes of it, and the journal's fdatasyncs
// meanwhile wait behind them (the slowest appends of a paced load; see
// docs/benchmarks.md). It reports false where the file system cannot do
// it, and an error for anything else, which the caller takes as a failed
// sync: the error might otherwise not be reported again to the next
// fdatasync of f.
var startWriteback = func(f *os.File) (bool, error) {
	for {
		err := unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ESPIPE), errors.Is(err, unix.EOPNOTSUPP):
			return false, nil
		default:
			return false, err
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

// indexedDurable is the last position both durable and indexed: SQLite
// holds everything up to it, and the journal need not.
func (s *Store) indexedDurable() uint64 {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return min(s.durable, s.indexed)
}

// advance moves the durable and indexed heads (0: unchanged), publishes
// what readers may read, and answers the groups now durable, in order. Once
// the store is broken it answers every waiting group with the error.
func (s *Store) advance(durable, indexed uint64) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.durable = max(s.durable, durable)
	s.indexed = max(s.indexed, indexed)
	err := s.brokenError()
	// Readers read what is durable. The durable head moves only on a good
	// sync, so what is visible stays readable after the store broke.
	if s.durable > s.published {
		s.published = s.durable
		s.publish(s.durable)
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

// settled returns the head readers may read, every append acknowledged so
// far, and the channel closed when it next moves.
func (s *Store) settled() (uint64, <-chan struct{}, error) {
	if s.indexFailed.Load() {
		// The indexer stopped and the overlay would only grow: reads fail
		// until Open replays the journal.
		return 0, nil, fmt.Errorf("read: the indexer stopped: %w", s.brokenError())
	}
	h, changed := s.watch()
	return h, changed, nil
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
