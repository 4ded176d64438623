package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/custodian/custodian/eventstore"
)

// pageSize is how many rows one read query returns. Reads page so that no
// read transaction stays open long enough to hold back WAL checkpoints.
const pageSize = 2048

// querier is what reads need of a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from eventstore.Revision, fn func(eventstore.Envelope) error) error {
	if s.closed.Load() {
		return eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Only what is durable is read: what the journal holds beyond the
	// durable head may be lost to a power cut. What the indexer has not
	// committed is read from the overlay, the rest from SQLite.
	const fwd = `SELECT position, body, checksum FROM events WHERE stream = ? AND revision >= ? AND position <= ? ORDER BY revision LIMIT ?`
	const bwd = `SELECT position, body, checksum FROM events WHERE stream = ? AND revision <= ? AND position <= ? ORDER BY revision DESC LIMIT ?`
	head, _, err := s.settled()
	if err != nil {
		return err
	}
	// The overlay first: what it no longer holds, SQLite has committed
	// before the read transactions below start.
	ovFirst, mem := s.ov.streamRows(stream)
	for len(mem) > 0 && mem[len(mem)-1].position > head {
		mem = mem[:len(mem)-1]
	}
	sqlHead := min(head, ovFirst-1)
	q := fwd
	if dir == eventstore.Backward {
		q = bwd
		if from > 1<<62 {
			from = 1 << 62 // SQLite integers are signed
		}
	}
	// Every row must belong to the stream and follow the one before it: a
	// damaged index must not silently skip or substitute events.
	want, first := uint64(from), true
	check := func(env eventstore.Envelope) error {
		if env.Stream != stream {
			return fmt.Errorf("event at position %s is in stream %q, indexed under %q: %w", env.Position, env.Stream, stream, eventstore.ErrCorrupt)
		}
		r := uint64(env.Revision)
		switch {
		case dir == eventstore.Forward && r != want,
			dir == eventstore.Backward && !first && r != want,
			dir == eventstore.Backward && first && r > want:
			return fmt.Errorf("stream %q: revision %d where %d was expected: %w", stream, r, want, eventstore.ErrCorrupt)
		}
		first = false
		if dir == eventstore.Forward {
			want = r + 1
		} else {
			want = r - 1
		}
		return fn(env)
	}
	next := int64(from)
	if dir == eventstore.Backward {
		// The overlay holds the stream's newest events.
		for i := len(mem) - 1; i >= 0; i-- {
			if mem[i].revision > uint64(from) {
				continue
			}
			if err := mem[i].deliver(check); err != nil {
				return err
			}
			if mem[i].revision == 0 {
				return nil
			}
			next = int64(mem[i].revision) - 1
		}
	}
	for {
		n, last, err := s.scan(ctx, s.db, q, []any{stream, next, int64(sqlHead), pageSize}, check)
		if err != nil {
			return err
		}
		if n < pageSize {
			break
		}
		env, err := eventstore.DecodeCanonical(last)
		if err != nil {
			return err
		}
		if dir == eventstore.Backward {
			if env.Revision == 0 {
				return nil
			}
			next = int64(env.Revision) - 1
		} else {
			next = int64(env.Revision) + 1
		}
	}
	if dir == eventstore.Forward {
		for _, r := range mem {
			if r.revision < uint64(from) {
				continue
			}
			if err := r.deliver(check); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, from eventstore.Position, follow bool, fn func(eventstore.Envelope) error) error {
	if s.closed.Load() {
		return eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	after := dense(from)
	for {
		// Take the head and the channel that announces the next one
		// together, then read up to that head: a commit after this point
		// closes the channel, so no wake-up is missed.
		head, changed, err := s.settled()
		if err != nil {
			return err
		}
		if after < head {
			if err := s.readLog(ctx, after, head, fn); err != nil {
				return err
			}
			after = head
			continue
		}
		if !follow {
			return nil
		}
		if err := s.brokenError(); err != nil {
			return err // nothing more will be acknowledged
		}
		if err := s.await(ctx, changed, s.brokenCh); err != nil {
			return err
		}
	}
}

// readLog calls fn for positions after..upTo (after exclusive, upTo
// inclusive): what the indexer has committed from SQLite, the rest from the
// overlay.
func (s *Store) readLog(ctx context.Context, after, upTo uint64, fn func(eventstore.Envelope) error) error {
	// The overlay first: what it no longer holds, SQLite has committed
	// before readRange's read transactions start.
	first, mem := s.ov.since(after)
	if sqlHead := min(upTo, first-1); after < sqlHead {
		read := s.readRange
		if sqlHead-after > 2*pageSize {
			read = s.readPages
		}
		if err := read(ctx, s.db, after, sqlHead, fn); err != nil {
			return err
		}
		after = sqlHead
	}
	for _, g := range mem {
		for _, r := range g {
			if r.position > upTo {
				return nil
			}
			if r.position != after+1 {
				return fmt.Errorf("position %d is missing (next held is %d): %w", after+1, r.position, eventstore.ErrCorrupt)
			}
			if err := r.deliver(fn); err != nil {
				return err
			}
			after = r.position
		}
	}
	if after < upTo {
		return fmt.Errorf("position %d is missing (log head is %d): %w", after+1, upTo, eventstore.ErrCorrupt)
	}
	return nil
}

// readRange calls fn for positions after..upTo (after exclusive, upTo
// inclusive), checking that every position is present and intact.
func (s *Store) readRange(ctx context.Context, q querier, after, upTo uint64, fn func(eventstore.Envelope) error) error {
	const query = `SELECT position, body, checksum FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`
	expect := after + 1
	check := func(env eventstore.Envelope) error {
		if p := dense(env.Position); p != expect {
			return fmt.Errorf("position %d is missing (next stored is %d): %w", expect, p, eventstore.ErrCorrupt)
		}
		expect++
		return fn(env)
	}
	for after < upTo {
		n, _, err := s.scan(ctx, q, query, []any{int64(after), int64(upTo), pageSize}, check)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("position %d is missing (log head is %d): %w", expect, upTo, eventstore.ErrCorrupt)
		}
		after = expect - 1
	}
	return nil
}

// deliver decodes the overlay's row and calls fn with it.
func (r row) deliver(fn func(eventstore.Envelope) error) error {
	env, err := eventstore.DecodeCanonical(r.body)
	if err != nil {
		return fmt.Errorf("event at position %d: %v: %w", r.position, err, eventstore.ErrCorrupt)
	}
	env.Position = pos(r.position)
	return fn(env)
}

// readWorkers is how many pages readPages reads at the same time.
const readWorkers = 2

// readPages is readRange for long ranges: readWorkers goroutines each read
// every readWorkers-th page of pageSize positions (positions are dense), on
// connections of the reader pool, and decode it; the caller's goroutine
// checks and delivers the pages in order. Stepping SQLite's cursor is most
// of a read's CPU, and this spreads it over the cores.
func (s *Store) readPages(ctx context.Context, q querier, after, upTo uint64, fn func(eventstore.Envelope) error) error {
	const query = `SELECT position, body, checksum FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`
	ctx, cancel := context.WithCancel(ctx)
	type page struct {
		envs []eventstore.Envelope
		err  error
	}
	var pages [readWorkers]chan page
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait() // no worker outlives the read
	}()
	for w := range pages {
		pages[w] = make(chan page, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(pages[w])
			for lo := after + uint64(w)*pageSize; lo < upTo; lo += readWorkers * pageSize {
				hi := min(upTo, lo+pageSize)
				var p page
				p.envs = make([]eventstore.Envelope, 0, hi-lo)
				_, _, p.err = s.scan(ctx, q, query, []any{int64(lo), int64(hi), pageSize}, func(env eventstore.Envelope) error {
					p.envs = append(p.envs, env)
					return nil
				})
				select {
				case pages[w] <- p:
				case <-ctx.Done():
					return
				}
				if p.err != nil {
					return
				}
			}
		}()
	}
	expect := after + 1
	for k := 0; ; k++ {
		p, ok := <-pages[k%readWorkers]
		if !ok {
			if after+uint64(k)*pageSize < upTo {
				// The worker stopped before page k: only the caller's
				// context ends a worker early.
				return ctx.Err()
			}
			break // page k would start at or after upTo
		}
		if p.err != nil {
			return p.err
		}
		for _, env := range p.envs {
			if pos := dense(env.Position); pos != expect {
				return fmt.Errorf("position %d is missing (next stored is %d): %w", expect, pos, eventstore.ErrCorrupt)
			}
			expect++
			if err := fn(env); err != nil {
				return err
			}
		}
		if want := min(upTo, after+uint64(k+1)*pageSize); expect-1 != want {
			return fmt.Errorf("position %d is missing (log head is %d): %w", expect, upTo, eventstore.ErrCorrupt)
		}
	}
	if expect-1 != upTo {
		return fmt.Errorf("position %d is missing (log head is %d): %w", expect, upTo, eventstore.ErrCorrupt)
	}
	return nil
}

// scan runs a query of (position, body, checksum) rows, verifies and decodes
// each row and calls fn. It returns the number of rows and the last body.
func (s *Store) scan(ctx context.Context, q querier, query string, args []any, fn func(eventstore.Envelope) error) (int, []byte, error) {
	var rows *sql.Rows
	var err error
	if q == querier(s.db) {
		rows, err = s.readStmt(ctx, query, args)
	} else {
		rows, err = q.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return 0, nil, s.readErr(ctx, err)
	}
	defer rows.Close()
	n := 0
	var body []byte
	for rows.Next() {
		var p, sum int64
		if err := rows.Scan(&p, &body, &sum); err != nil {
			return n, nil, s.readErr(ctx, err)
		}
		if checksum(uint64(p), body) != sum {
			return n, nil, fmt.Errorf("event at position %d fails its checksum: %w", p, eventstore.ErrCorrupt)
		}
		env, err := eventstore.DecodeCanonical(body)
		if err != nil {
			return n, nil, fmt.Errorf("event at position %d: %v: %w", p, err, eventstore.ErrCorrupt)
		}
		env.Position = pos(uint64(p))
		n++
		if err := fn(env); err != nil {
			return n, nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, nil, s.readErr(ctx, err)
	}
	return n, body, nil
}

func (s *Store) readErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if s.closed.Load() {
		return eventstore.ErrClosed
	}
	return mapErr(err)
}

// readStmt runs one of the few read queries as a statement prepared once on
// the reader pool (database/sql prepares it on each connection as needed), so
// that no SQL is parsed per read.
func (s *Store) readStmt(ctx context.Context, query string, args []any) (*sql.Rows, error) {
	st, ok := s.readStmts.Load(query)
	if !ok {
		prepared, err := s.db.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		if st, ok = s.readStmts.LoadOrStore(query, prepared); ok {
			prepared.Close()
		}
	}
	return st.(*sql.Stmt).QueryContext(ctx, args...)
}

// await waits for changed or stop.
func (s *Store) await(ctx context.Context, changed, stop <-chan struct{}) error {
	select {
	case <-changed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return eventstore.ErrClosed
	case <-stop:
		return nil // the caller looks at what stopped it
	}
}
