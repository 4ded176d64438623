package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Durability is ours, not SQLite's: SQLite runs with synchronous=OFF and no
// automatic checkpoints, and the store makes every commit durable itself.
//
//   - The writer commits a group of appends (SQLite writes the WAL frames,
//     without syncing) and hands the group to the syncer, then goes on with
//     the next group.
//   - The syncer fdatasyncs the WAL, which covers every group committed
//     before the call, and only then publishes the new head and answers the
//     group's appends. One fdatasync may cover several groups, and the
//     writer's work on the next group overlaps it.
//   - Checkpoints run in the writer, between groups: first every committed
//     frame is synced (a barrier through the syncer), then the WAL is copied
//     into the database file, then the database file is fsynced. Only after
//     that can a later commit reset the WAL and overwrite frames, so no
//     acknowledged event ever exists only in unsynced pages.
//   - Close checkpoints (TRUNCATE) and fsyncs the database file before
//     SQLite's last connection deletes the WAL.
//
// Readers never see more than the published head, so nothing that is not yet
// durable is ever read (design: a reader never sees N+1 before N, and never
// sees what a power cut could take back).

// syncJob is one committed group the syncer must make durable, or a barrier.
type syncJob struct {
	head    uint64        // the last position the group wrote (0: none)
	reqs    []*appendReq  // answered once durable
	barrier chan struct{} // closed once everything before it is durable
}

// openFiles opens the store's own descriptors of the database file and its
// WAL, used only to sync them. They stay open until every SQLite connection
// is closed: closing any descriptor of a file drops the process's POSIX locks
// on it, SQLite's included.
func (s *Store) openFiles() error {
	var err error
	if s.dbFile, err = os.OpenFile(filepath.Join(s.dir, DBFile), os.O_RDWR, 0); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	return s.reopenWAL()
}

// reopenWAL opens the WAL SQLite uses now and makes its directory entry durable.
func (s *Store) reopenWAL() error {
	f, err := os.OpenFile(filepath.Join(s.dir, DBFile+"-wal"), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open store: the WAL: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	if s.walFile != nil {
		s.oldFiles = append(s.oldFiles, s.walFile) // closed with the others, after SQLite
	}
	s.walFile = f
	return nil
}

// syncWAL makes every WAL frame written so far durable. It first checks
// that its descriptor is still the WAL's: SQLite does not recreate the WAL
// while a connection is open, but a sync of a stale file would be silent.
func (s *Store) syncWAL() error {
	st, err := s.walFile.Stat()
	if err != nil {
		return err
	}
	cur, err := os.Stat(filepath.Join(s.dir, DBFile+"-wal"))
	if err != nil {
		return fmt.Errorf("the WAL: %w", err)
	}
	if !os.SameFile(st, cur) {
		if err := s.reopenWAL(); err != nil {
			return err
		}
	}
	return fdatasync(s.walFile)
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// syncer makes committed groups durable and answers them; see above.
func (s *Store) syncer() {
	defer close(s.syncerExited)
	for job := range s.syncs {
		jobs := []syncJob{job}
	drain:
		for {
			select {
			case j, ok := <-s.syncs:
				if !ok {
					break drain
				}
				jobs = append(jobs, j)
			default:
				break drain
			}
		}
		s.complete(jobs)
		s.outstanding.Add(-int64(len(jobs)))
	}
}

// handOff gives a committed group to the syncer, or, when the syncer has
// nothing in hand and no append is waiting, syncs it right here: a lone
// writer then pays no hand-off between goroutines (each costs a wake-up).
func (s *Store) handOff(job syncJob) {
	if s.outstanding.Load() == 0 && len(s.reqs) == 0 {
		s.complete([]syncJob{job})
		return
	}
	s.outstanding.Add(1)
	s.syncs <- job
}

// complete makes jobs durable with one fdatasync of the WAL, then publishes
// the new head and answers the jobs' appends, in order. It runs in the
// syncer, or in the writer when the syncer is idle (handOff); never both.
func (s *Store) complete(jobs []syncJob) {
	late := s.opts.syncMode == "late"
	var err error
	switch {
	case s.opts.syncMode == "off":
	case late:
		time.Sleep(50 * time.Millisecond) // the demonstration's fsync comes well after the answer
		err = s.syncWAL()
	default:
		err = s.syncWAL()
	}
	s.syncCount.Add(1)
	if err != nil {
		// After a failed fsync the kernel may have dropped the dirty
		// pages: nothing written since the last good sync can be trusted,
		// so the store refuses every further append.
		s.broken.CompareAndSwap(nil, &brokenErr{err})
		err = fmt.Errorf("sync the WAL: %w", err)
	}
	var head uint64
	for _, j := range jobs {
		head = max(head, j.head)
	}
	if err == nil && head > 0 && !late {
		s.publish(head)
	}
	for _, j := range jobs {
		for _, r := range j.reqs {
			if err != nil && r.err == nil {
				r.err = err
			}
			r.finish(r.err)
		}
		if j.barrier != nil {
			close(j.barrier)
		}
	}
}

// brokenErr wraps the error that broke the store.
type brokenErr struct{ err error }

// barrier waits until everything committed so far is durable.
func (s *Store) barrier() {
	b := make(chan struct{})
	s.outstanding.Add(1)
	s.syncs <- syncJob{barrier: b}
	<-b
}

// maybeCheckpoint checkpoints once the commits since the last checkpoint
// have written about CheckpointPages WAL frames. The WAL file's size cannot
// tell: SQLite reuses it from the start after a checkpoint without
// shrinking it. A commit writes a table page, the head record's page and
// about one index page per event.
func (s *Store) maybeCheckpoint(ctx context.Context, events int) {
	s.sinceCheck += 2 + events
	if s.sinceCheck < s.opts.CheckpointPages {
		return
	}
	s.sinceCheck = 0
	if err := s.checkpoint(ctx, "PASSIVE"); err != nil {
		s.broken.CompareAndSwap(nil, &brokenErr{err})
	}
}

// checkpoint copies the WAL into the database file, durably: synced WAL
// before, synced database file after, before any later commit.
func (s *Store) checkpoint(ctx context.Context, mode string) error {
	if s.syncs != nil { // at Open, nothing is in flight yet
		s.barrier()
	}
	if s.opts.syncMode == "off" {
		_, err := s.w.conn.ExecContext(ctx, "PRAGMA wal_checkpoint("+mode+")")
		return err
	}
	if _, err := s.w.conn.ExecContext(ctx, "PRAGMA wal_checkpoint("+mode+")"); err != nil {
		return fmt.Errorf("checkpoint: %w", mapErr(err))
	}
	if err := s.dbFile.Sync(); err != nil {
		return fmt.Errorf("checkpoint: sync the database file: %w", err)
	}
	if mode == "TRUNCATE" {
		return fdatasync(s.walFile)
	}
	return nil
}

// closeFiles closes the store's own descriptors, after SQLite's connections.
func (s *Store) closeFiles() {
	for _, f := range append(s.oldFiles, s.walFile, s.dbFile) {
		if f != nil {
			f.Close()
		}
	}
}
