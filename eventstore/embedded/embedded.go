// Package embedded is the default event store: one SQLite database (through
// the pure-Go modernc.org/sqlite driver) in WAL mode, with a journal beside
// it, held by one process. It implements eventstore.Store and passes
// eventstoretest.Run.
//
// Writing (write.go, journal.go): appends are checked and written in groups,
// one group at a time, by a writer goroutine or, when no other append is
// under way, by the appending goroutine itself. A group's events are written to the
// journal, an append-only file, with one write and made durable with one
// fdatasync before any append of the group is answered; a request that
// fails its revision check fails alone. Global positions are dense from 1,
// assigned in journal order.
//
// Indexing (index.go): the indexer goroutine writes the journaled events
// into SQLite's events table (INTEGER PRIMARY KEY position, UNIQUE(stream,
// revision), UNIQUE(id)), many groups to a transaction. What it has not
// committed yet stays in memory, in the overlay. Readers (read.go) read the
// overlay and, before it, SQLite, up to the durable head (durable.go): a
// caller reads its own writes without waiting for the indexer, never
// position N+1 before N, and nothing not yet durable. Open replays the
// journal into SQLite; a journal segment is deleted once SQLite holds its
// events durably.
//
// Integrity: every journal record carries a CRC-32C; every row holds the
// event's canonical encoding (the audit log's Merkle leaf) and a CRC-32C of
// position and encoding, checked on every read. Damage is reported as
// eventstore.ErrCorrupt naming the position (or the journal file and
// offset), never skipped; a torn journal tail, which no append was answered
// for, ends the log.
//
// It may import the standard library, eventstore, uuid, modernc.org/sqlite
// and bits-and-blooms/bloom.
package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/custodian/custodian/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// File names inside the data directory.
const (
	DBFile   = "events.db"
	LockFile = "LOCK"
)

// Options tune a Store. The zero value is the production configuration.
type Options struct {
	// MaxBatchEvents is how many events the writer gathers into one group
	// commit at most before it stops taking requests (default 4096); the
	// last request taken may carry the group past it, and a single larger
	// append is still written whole.
	MaxBatchEvents int
	// TailCheck is how many of the last events Open verifies (default 4096).
	TailCheck int
	// CheckpointPages bounds the WAL, in pages (default 1000, SQLite's
	// own): past it the indexer checkpoints between its transactions
	// (wal_autocheckpoint), which lets the WAL start over.
	CheckpointPages int
	// IndexDelay is how long the indexer gathers journaled groups into one
	// SQLite transaction (default 2ms; negative: never). Readers do not
	// wait for it: they read what it has not committed from memory.
	IndexDelay time.Duration

	// syncMode, when set, breaks durability on purpose: "off" (no fsync of
	// the journal, SQLite synchronous=OFF) or "late" (the journal's fsync
	// comes 50 ms after the acknowledgement). Only the power-loss suite's
	// demonstration sets it (export_test.go).
	syncMode string
}

// Store is the embedded event store. Open it with Open; it is safe for
// concurrent use.
type Store struct {
	dir  string
	opts Options
	db   *sql.DB // readers
	// readStmts holds the read queries prepared on db (query → *sql.Stmt).
	readStmts sync.Map
	wdb       *sql.DB // the indexer's single connection
	w         *writerConn
	q         *writerConn // the writer's connection, for its checks
	lock      *os.File

	reqs          chan *appendReq
	done          chan struct{} // closed by Close
	exited        chan struct{} // closed when the writer goroutine has ended
	index         *indexQueue
	indexerExited chan struct{}
	closeErr      error
	once          sync.Once

	// head and its notification channel change together under headMu.
	headMu sync.Mutex
	head   uint64
	notify chan struct{}

	closed atomic.Bool

	commits, written, syncCount atomic.Uint64

	// The writer's side (write.go, journal.go), under wmu: one group is
	// written at a time, by the writer goroutine or by a lone appender.
	// committed is the last position journaled.
	wmu sync.Mutex
	// appending counts the Append calls under way.
	appending atomic.Int64
	heads     *headCache
	maxID     uuid.UUID // the greatest event id stored or journaled
	streams   knownStreams
	// filterBuilt is closed when buildStreamFilter has ended.
	filterBuilt chan struct{}
	j           journal
	ov          *overlay
	committed   uint64

	// closedSegs are finished journal segments, deleted by the indexer.
	segMu      sync.Mutex
	closedSegs []segment

	// Durability (durable.go).
	walFile *os.File
	// noWriteback: the file system refused startWriteback on walFile
	// (the indexer's).
	noWriteback bool
	broken      atomic.Pointer[brokenErr]
	brokenCh    chan struct{} // closed when the store breaks
	// indexFailedCh is closed when indexFailed is set.
	indexFailedCh chan struct{}
	indexFailed   atomic.Bool // the indexer could not write SQLite: it stopped

	// Answering (durable.go): under cmu.
	cmu                         sync.Mutex
	durable, indexed, published uint64
	waiting                     []group
}

// Stats are counters since Open.
type Stats struct {
	// Commits is the number of SQLite transactions the indexer committed;
	// one may hold many groups.
	Commits uint64
	// Syncs is the number of journal fdatasyncs that made groups durable;
	// one may cover several groups.
	Syncs uint64
	// Events is the number of events written.
	Events uint64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Syncs: s.syncCount.Load(), Events: s.written.Load()}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum covers the position and the canonical encoding of one row.
func checksum(pos uint64, body []byte) int64 {
	var p [8]byte
	for i := 0; i < 8; i++ {
		p[i] = byte(pos >> (56 - 8*i))
	}
	c := crc32.Update(crc32.Checksum(p[:], castagnoli), castagnoli, body)
	return int64(c)
}

const schema = `
CREATE TABLE IF NOT EXISTS events (
	position INTEGER PRIMARY KEY,
	id       BLOB    NOT NULL,
	stream   TEXT    NOT NULL,
	revision INTEGER NOT NULL,
	body     BLOB    NOT NULL,
	checksum INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events(stream, revision);
CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events(id);
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO meta(key, value) VALUES ('format', 1);
DELETE FROM meta WHERE key = 'head';
`

// Open opens (creating if needed) the store in dir and takes the directory's
// lock: a second process opening the same dir gets eventstore.ErrLocked. It
// verifies the density of positions and the checksums of the last events,
// and replays the journal; it refuses to open (eventstore.ErrCorrupt, naming
// the position, or the journal file and offset) when they fail.
func Open(dir string, opts Options) (*Store, error) {
	if opts.MaxBatchEvents <= 0 {
		opts.MaxBatchEvents = 4096
	}
	if opts.TailCheck <= 0 {
		opts.TailCheck = 4096
	}
	if opts.IndexDelay == 0 {
		opts.IndexDelay = 2 * time.Millisecond
	}
	if opts.CheckpointPages <= 0 {
		opts.CheckpointPages = 1000
	}
	if err := mkdirDurable(dir); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, opts: opts, lock: lock, notify: make(chan struct{}),
		brokenCh: make(chan struct{}), indexFailedCh: make(chan struct{})}
	if err := s.open(); err != nil {
		s.closeDBs()
		for _, f := range []*os.File{s.walFile, s.j.f} {
			if f != nil {
				f.Close()
			}
		}
		lock.Close()
		return nil, err
	}
	s.committed, s.durable, s.indexed, s.published = s.head, s.head, s.head, s.head
	s.ov = newOverlay(s.head + 1)
	s.heads = newHeadCache(100_000)
	s.reqs = make(chan *appendReq, 1024)
	s.done = make(chan struct{})
	s.exited = make(chan struct{})
	s.index = newIndexQueue()
	s.indexerExited = make(chan struct{})
	go s.indexer()
	s.filterBuilt = make(chan struct{})
	go s.buildStreamFilter()
	go s.writer()
	return s, nil
}

// lockDir takes an exclusive, non-blocking flock on dir/LOCK and writes our pid.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFile)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("open store %s (held by pid %s): %w", dir, strings.TrimSpace(string(pid)), eventstore.ErrLocked)
		}
		return nil, fmt.Errorf("open store: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if os.IsNotExist(statErr) {
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// mkdirDurable creates dir and its missing parents, and fsyncs the parent of
// every directory it created, so that a power cut cannot take the new data
// directory's name away with the events acknowledged inside it.
func mkdirDurable(dir string) error {
	dir = filepath.Clean(dir)
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !os.IsNotExist(err) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := syncDir(filepath.Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

func (s *Store) dsn() string {
	// synchronous=NORMAL: SQLite syncs its checkpoints but not its commits;
	// what it has not made durable, the journal holds (durable.go).
	sync := "NORMAL"
	if s.opts.syncMode == "off" {
		sync = "OFF"
	}
	return "file:" + filepath.Join(s.dir, DBFile) +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")" +
		"&_pragma=wal_autocheckpoint(" + strconv.Itoa(s.opts.CheckpointPages) + ")" +
		"&_pragma=busy_timeout(10000)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-65536)&_txlock=immediate"
}

func (s *Store) open() error {
	dbPath := filepath.Join(s.dir, DBFile)
	_, statErr := os.Stat(dbPath)
	var err error
	if s.wdb, err = sql.Open("sqlite", s.dsn()); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	ctx := context.Background()
	if _, err := s.wdb.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("open store %s: %w", dbPath, mapErr(err))
	}
	if os.IsNotExist(statErr) {
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	if s.db, err = sql.Open("sqlite", s.dsn()); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.db.SetMaxOpenConns(10) // readers and the writer's
	s.db.SetMaxIdleConns(10)
	return s.verify(ctx)
}

// verify checks the format, the density of positions and the checksums of
// the last TailCheck events; then it replays the journal (recover).
func (s *Store) verify(ctx context.Context) error {
	var format int64
	if err := s.wdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'format'`).Scan(&format); err != nil {
		return fmt.Errorf("open store: read format: %w", mapErr(err))
	}
	if format != 1 {
		return fmt.Errorf("open store: unknown format %d: %w", format, eventstore.ErrCorrupt)
	}
	var maxPos, count int64
	var err error
	if err = s.wdb.QueryRowContext(ctx, `SELECT coalesce(max(position), 0), count(*) FROM events`).Scan(&maxPos, &count); err != nil {
		return fmt.Errorf("open store: %w", mapErr(err))
	}
	if count != maxPos {
		var gap int64
		_ = s.wdb.QueryRowContext(ctx, `SELECT coalesce(min(position), 0) - 1 FROM events e WHERE position > 1 AND NOT EXISTS (SELECT 1 FROM events p WHERE p.position = e.position - 1)`).Scan(&gap)
		return fmt.Errorf("open store: %d events up to position %d: position %d is missing: %w", count, maxPos, gap, eventstore.ErrCorrupt)
	}
	from := max(0, maxPos-int64(s.opts.TailCheck))
	if err := s.readRange(ctx, s.wdb, uint64(from), uint64(maxPos), func(eventstore.Envelope) error { return nil }); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.head = uint64(maxPos)
	if s.w, err = newWriterConn(ctx, s.wdb); err != nil {
		return err
	}
	if s.q, err = newWriterConn(ctx, s.db); err != nil {
		return err
	}
	return s.recover(ctx)
}

// recover replays into SQLite what the journal holds beyond SQLite's last
// position, makes SQLite durable (what recovery found in SQLite's WAL, a
// killed process may have left in the page cache only), removes the journal
// and starts a new one.
func (s *Store) recover(ctx context.Context) error {
	next := s.head + 1
	var batch []row
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.w.insertTx(ctx, batch); err != nil {
			return fmt.Errorf("open store: replay the journal: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	// A segment starts where the one before it ended: one that starts
	// after the log's next position means acknowledged events before it
	// are missing (a segment is created only after the one before it is
	// synced), even when it holds no records yet.
	begin := func(name string, first uint64) error {
		if first > next {
			return fmt.Errorf("journal %s starts at position %d, but the log ends at %d: %w", name, first, next-1, eventstore.ErrCorrupt)
		}
		return nil
	}
	err := replayJournal(s.dir, begin, func(r row) error {
		switch {
		case r.position < next:
			return nil // SQLite has it
		case r.position > next:
			return fmt.Errorf("open store: the journal goes on at position %d, SQLite ends at %d: %w", r.position, next-1, eventstore.ErrCorrupt)
		}
		batch = append(batch, r)
		next++
		if len(batch) >= maxIndexBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.head = next - 1
	var maxID []byte
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(id), x'') FROM events`).Scan(&maxID); err != nil {
		return fmt.Errorf("open store: %w", mapErr(err))
	}
	copy(s.maxID[:], maxID)
	if err := s.openWAL(); err != nil {
		return err
	}
	if err := removeSegments(s.dir); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if s.j, err = createSegment(s.dir, s.head+1); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	return nil
}

// mapErr turns driver errors into the package's sentinels where one applies.
func mapErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("%w: %v", eventstore.ErrCorrupt, err)
		}
	}
	if errors.Is(err, sql.ErrConnDone) || (err != nil && strings.Contains(err.Error(), "sql: database is closed")) {
		return eventstore.ErrClosed
	}
	return err
}

// Close stops the writer after the group in flight, fails queued appends
// with ErrClosed, waits until what was journaled is durable and indexed,
// makes SQLite durable, removes the journal, and closes the database and
// the directory lock. After a failed write or sync the journal stays, for
// the next Open to replay.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.done)
		<-s.exited
		<-s.filterBuilt
		s.wmu.Lock() // a lone appender may be writing its group
		s.index.close()
		s.wmu.Unlock()
		<-s.indexerExited
		var errs []error
		if s.brokenError() == nil {
			if err := syncFile(s.walFile); err != nil {
				errs = append(errs, err)
			} else {
				s.j.f.Close()
				s.segMu.Lock()
				for _, seg := range s.closedSegs {
					seg.f.Close()
				}
				s.segMu.Unlock()
				errs = append(errs, removeSegments(s.dir))
			}
		}
		errs = append(errs, s.closeDBs())
		for _, f := range []*os.File{s.walFile, s.j.f} {
			if f != nil {
				f.Close()
			}
		}
		errs = append(errs, s.lock.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	var errs []error
	s.readStmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	for _, w := range []*writerConn{s.q, s.w} {
		if w != nil {
			w.close()
		}
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}

// Head returns the position of the last committed event.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if s.closed.Load() {
		return eventstore.Position{}, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return eventstore.Position{}, err
	}
	h, _, err := s.settled()
	if err != nil {
		return eventstore.Position{}, err
	}
	return pos(h), nil
}

// watch returns the head and a channel closed at the next commit, together.
func (s *Store) watch() (uint64, <-chan struct{}) {
	s.headMu.Lock()
	defer s.headMu.Unlock()
	return s.head, s.notify
}

// publish moves the head and wakes followers.
func (s *Store) publish(head uint64) {
	s.headMu.Lock()
	s.head = head
	close(s.notify)
	s.notify = make(chan struct{})
	s.headMu.Unlock()
}

func pos(n uint64) eventstore.Position { return eventstore.Position{Commit: n, Prepare: n} }

// dense converts a Position to the store's dense number.
func dense(p eventstore.Position) uint64 { return p.Commit }
