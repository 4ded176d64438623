package embedded

import (
	"context"
	"fmt"

	"github.com/bits-and-blooms/bloom/v3"
)

// knownStreams answers "might this stream exist?" without a query: a stream
// the Bloom filter has not seen is new, so an append to it needs no look-up
// of its last revision (creating a case is the commonest command). The
// filter is built from SQLite by a goroutine after Open; until it is
// installed, the writer remembers the streams it creates and asks SQLite.
// Only the writer (under wmu) reads or changes it once installed.
type knownStreams struct {
	filter *bloom.BloomFilter // nil until built
	since  []string           // streams created while it was being built
	gaveUp bool               // the build failed: SQLite answers from now on
}

// streamFilterFalsePositives is the filter's target false-positive rate at
// its capacity; past the capacity the rate grows and more appends ask
// SQLite, which stays correct.
const streamFilterFalsePositives = 0.01

// absent reports whether stream certainly has no events.
func (k *knownStreams) absent(stream string) bool {
	return k.filter != nil && !k.filter.TestString(stream)
}

// created records the streams whose first events rows hold.
func (k *knownStreams) created(rows []row) {
	for _, r := range rows {
		if r.revision != 0 {
			continue
		}
		switch {
		case k.filter != nil:
			k.filter.AddString(r.stream)
		case !k.gaveUp:
			k.since = append(k.since, r.stream)
		}
	}
}

// buildStreamFilter fills a filter with every stream in SQLite and installs
// it, with the streams created meanwhile. It gives up, leaving the writer
// to ask SQLite, if the store closes or the read fails.
func (s *Store) buildStreamFilter() {
	defer close(s.filterBuilt)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	f, err := s.readStreams(ctx)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err != nil {
		s.streams = knownStreams{gaveUp: true}
		return
	}
	for _, name := range s.streams.since {
		f.AddString(name)
	}
	s.streams = knownStreams{filter: f}
}

func (s *Store) readStreams(ctx context.Context) (*bloom.BloomFilter, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE revision = 0`).Scan(&n); err != nil {
		return nil, fmt.Errorf("count streams: %w", err)
	}
	f := bloom.NewWithEstimates(uint(max(1<<20, 2*n)), streamFilterFalsePositives)
	rows, err := s.db.QueryContext(ctx, `SELECT stream FROM events WHERE revision = 0`)
	if err != nil {
		return nil, fmt.Errorf("read streams: %w", err)
	}
	defer rows.Close()
	var name []byte
	for rows.Next() {
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("read streams: %w", err)
		}
		f.Add(name)
	}
	return f, rows.Err()
}
