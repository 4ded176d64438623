package embedded

import (
	"github.com/custodian/custodian/eventstore"

	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Durability: SQLite runs in WAL mode with synchronous=NORMAL, which syncs
// everything except the commits themselves: the WAL header before frames are
// overwritten after a restart, the WAL before a checkpoint copies it, the
// database file before a checkpoint records its progress or truncates the
// WAL, and all of these in the checkpoint of the last connection's close. The
// store makes each commit durable itself:
//
//   - The writer commits a group of appends (SQLite writes the WAL frames,
//     unsynced) and hands the group to the syncer, then goes on with the next
//     group. SQLite's own automatic checkpoints run in the writer, synced.
//   - The syncer fdatasyncs the WAL, which covers every group committed
//     before the call, and only then publishes the new head and answers the
//     groups' appends, in order. One fdatasync may cover several groups, and
//     the writer's work on the next group overlaps it. When the syncer is
//     idle and no append waits, the writer syncs inline instead: a lone
//     writer pays no hand-off between goroutines.
//   - Readers never see past the published head, so nothing that a power cut
//     could take back is ever read.
//   - A failed sync breaks the store for good (the kernel may have dropped
//     the dirty pages and will not report it twice): nothing more is
//     published or acknowledged, and every append fails.
//   - Open fdatasyncs the WAL before it publishes the head it recovered, so
//     what a killed process left in the page cache is durable before anyone
//     reads it.

// syncJob is one committed group the syncer must make durable.
type syncJob struct {
	head uint64       // the last position the group wrote (0: none)
	reqs []*appendReq // answered once durable
}

// openWAL opens the store's own descriptor of the WAL, used only to sync it,
// and makes the WAL's directory entry durable. SQLite keeps the WAL (same
// inode) while any connection is open, and the writer's stays open until
// Close.
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

// syncFile is how the WAL is synced; tests replace it to inject a failure.
var syncFile = fdatasync

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

// handOff gives a committed group to the syncer, or syncs it right here when
// the syncer has nothing in hand and no append is waiting.
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
	err := s.brokenError()
	if err == nil {
		switch {
		case s.opts.syncMode == "off":
		case late:
			time.Sleep(50 * time.Millisecond) // the demonstration's fsync comes well after the answer
			err = syncFile(s.walFile)
		default:
			err = syncFile(s.walFile)
		}
		s.syncCount.Add(1)
		if err != nil {
			s.broken.CompareAndSwap(nil, &brokenErr{err})
			err = s.brokenError()
		}
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
			if err != nil {
				// Not acknowledged, not even a repeat or a refusal: after a
				// failed sync nothing written since the last good one counts.
				r.err, r.res = err, eventstore.AppendResult{}
			}
			r.finish(r.err)
		}
	}
}

// brokenErr wraps the error that broke the store.
type brokenErr struct{ err error }

// brokenError is the error every append gets once a sync failed, or nil.
func (s *Store) brokenError() error {
	if b := s.broken.Load(); b != nil {
		return fmt.Errorf("the store stopped writing after a failed sync: %w", b.err)
	}
	return nil
}
