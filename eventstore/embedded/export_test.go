package embedded

import (
	"os"
	"time"
)

// UnsafeSyncOptions returns options that break durability on purpose, for the
// power-loss suite's demonstration that it detects a store which acknowledges
// before its data is durable: "off" removes the fsync (no fdatasync of the
// journal, SQLite synchronous=OFF), "late" moves it after the
// acknowledgement (appends are answered once journaled; the journal is
// fdatasynced 50 ms later).
func UnsafeSyncOptions(mode string) Options { return Options{syncMode: mode} }

// FailSyncs makes every later sync of the journal or the WAL fail with err, until the
// returned function restores it.
func FailSyncs(err error) (restore func()) {
	syncFile = func(*os.File) error { return err }
	return func() { syncFile = fdatasync }
}

// StreamFilterBuilt waits until the store's stream filter is built (or its
// build gave up) and reports whether it is installed.
func StreamFilterBuilt(s *Store) bool {
	<-s.filterBuilt
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.streams.filter != nil
}

// waitIndexed waits until SQLite holds every acknowledged event, waking
// the indexer however long its IndexDelay.
func (s *Store) waitIndexed() {
	for {
		s.cmu.Lock()
		done := s.indexed >= s.durable
		s.cmu.Unlock()
		if done {
			return
		}
		s.index.signal()
		time.Sleep(time.Millisecond)
	}
}

// WaitIndexed waits until SQLite holds every acknowledged event.
func WaitIndexed(s *Store) { s.waitIndexed() }

// JournalSize is how much of the open journal segment is written.
func JournalSize(s *Store) int64 {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.j.size
}
