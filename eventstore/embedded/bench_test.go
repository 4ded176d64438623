package embedded_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/embedded"
	"github.com/custodian/custodian/eventstore/eventstoretest"
)

// The benchmarks are one-shot measurements (run them with -benchtime 1x, as
// make bench does): each does a fixed amount of work and reports rates and
// latencies with ReportMetric, beside a reference measured in the same run.

const recordSize = 256 // about one small event's canonical encoding

// BenchmarkReferenceFsync is the plain-file reference: append a record and
// fsync it, one at a time (single) and with 64 writers sharing fsyncs
// through one group-committing loop (group).
func BenchmarkReferenceFsync(b *testing.B) {
	b.Run("single", func(b *testing.B) {
		f := tempFile(b)
		rec := make([]byte, recordSize)
		const n = 3000
		start := time.Now()
		for i := 0; i < n; i++ {
			binary.BigEndian.PutUint64(rec, uint64(i))
			_, err := f.Write(rec)
			require.NoError(b, err)
			require.NoError(b, f.Sync())
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "fsyncs/s")
	})
	b.Run("group64", func(b *testing.B) {
		reportLatency(b, groupCommitFile(b, func(op func(w, i int) error) latencies {
			return runWriters(64, 600, op)
		}), 64*600)
	})
	// paced5000: the same loop offered 5,000 records a second (as the
	// server's paced command load is): the disk's own latency at that rate.
	b.Run("paced5000", func(b *testing.B) {
		reportLatency(b, groupCommitFile(b, func(op func(w, i int) error) latencies {
			return runPaced(64, 1000, 5000, op)
		}), 64*1000)
	})
}

// groupCommitFile runs load against a plain file written by one
// group-committing loop: each operation queues a record and returns once a
// write and fsync holding it have returned.
func groupCommitFile(b *testing.B, load func(op func(w, i int) error) latencies) latencies {
	f := tempFile(b)
	reqs := make(chan chan struct{}, 1024)
	go func() {
		rec := make([]byte, recordSize)
		for first := range reqs {
			group := []chan struct{}{first}
		drain:
			for {
				select {
				case r := <-reqs:
					group = append(group, r)
				default:
					break drain
				}
			}
			buf := make([]byte, 0, len(group)*recordSize)
			for range group {
				buf = append(buf, rec...)
			}
			if _, err := f.Write(buf); err != nil {
				panic(err)
			}
			if err := f.Sync(); err != nil {
				panic(err)
			}
			for _, r := range group {
				close(r)
			}
		}
	}()
	lat := load(func(int, int) error {
		done := make(chan struct{})
		reqs <- done
		<-done
		return nil
	})
	close(reqs)
	return lat
}

func tempFile(b *testing.B) *os.File {
	f, err := os.Create(filepath.Join(b.TempDir(), "ref"))
	require.NoError(b, err)
	b.Cleanup(func() { f.Close() })
	return f
}

// latencies of a runWriters run, and its wall time.
type latencies struct {
	each []time.Duration
	wall time.Duration
}

// runWriters runs writers goroutines doing per operations each, each as
// soon as the writer's last one returned.
func runWriters(writers, per int, op func(w, i int) error) latencies {
	return runDue(writers, per, nil, op)
}

// runDue runs the writers; due, when not nil, schedules each operation and
// its latency counts from when it was due.
func runDue(writers, per int, due func(w, i int) time.Time, op func(w, i int) error) latencies {
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			mine := make([]time.Duration, 0, per)
			for i := 0; i < per; i++ {
				t0 := time.Now()
				if due != nil {
					t0 = due(w, i)
					time.Sleep(time.Until(t0))
				}
				if err := op(w, i); err != nil {
					panic(err)
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	return latencies{each: all, wall: time.Since(start)}
}

// runPaced runs writers goroutines doing per operations each, offered at
// rate operations a second in all (an open loop): writer w's i-th operation
// is due at start + (i·writers + w)/rate, and its latency counts from then.
func runPaced(writers, per int, rate float64, op func(w, i int) error) latencies {
	start := time.Now().Add(10 * time.Millisecond)
	interval := float64(time.Second) / rate
	return runDue(writers, per, func(w, i int) time.Time {
		return start.Add(time.Duration(float64(i*writers+w) * interval))
	}, op)
}

func reportLatency(b *testing.B, l latencies, events int) {
	slices.Sort(l.each)
	q := func(p float64) float64 {
		return float64(l.each[int(p*float64(len(l.each)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(events)/l.wall.Seconds(), "events/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

func openBench(b *testing.B, dir string) *embedded.Store {
	s, err := embedded.Open(dir, embedded.Options{})
	require.NoError(b, err)
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAppendSingleWriter: one writer, one durable event per append.
func BenchmarkAppendSingleWriter(b *testing.B) {
	s := openBench(b, b.TempDir())
	ctx := context.Background()
	stream := eventstoretest.Stream("single")
	const n = 3000
	expected := eventstore.NoStream
	start := time.Now()
	for i := 0; i < n; i++ {
		res, err := s.Append(ctx, stream, expected, eventstoretest.NewEvent(i))
		require.NoError(b, err)
		expected = eventstore.Exact(res.Revision)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "appends/s")
}

// BenchmarkAppendConcurrent: 64 writers, each appending single events to
// its own stream, on an empty store and on one holding 1M events.
func BenchmarkAppendConcurrent(b *testing.B) {
	b.Run("empty", func(b *testing.B) { benchConcurrent(b, openBench(b, b.TempDir())) })
	b.Run("1M", func(b *testing.B) {
		s := openBench(b, prefilled(b))
		embedded.StreamFilterBuilt(s) // start-up done: measure the store at work
		benchConcurrent(b, s)
	})
}

func benchConcurrent(b *testing.B, s *embedded.Store) {
	benchAppends(b, s, func(op func(w, i int) error) latencies { return runWriters(64, 600, op) })
}

// benchAppends runs load with an operation that appends writer w's i-th
// event to its own stream, and reports the latencies and how many events
// shared an fsync and a SQLite commit.
func benchAppends(b *testing.B, s *embedded.Store, load func(op func(w, i int) error) latencies) {
	ctx := context.Background()
	const writers = 64
	streams := make([]string, writers)
	next := make([]eventstore.ExpectedRevision, writers)
	for i := range streams {
		streams[i] = eventstoretest.Stream(fmt.Sprintf("w%d", i))
		next[i] = eventstore.NoStream
	}
	before := s.Stats()
	lat := load(func(w, i int) error {
		res, err := s.Append(ctx, streams[w], next[w], eventstoretest.NewEvent(i))
		if err == nil {
			next[w] = eventstore.Exact(res.Revision)
		}
		return err
	})
	after := s.Stats()
	events := int(after.Events - before.Events)
	reportLatency(b, lat, events)
	b.ReportMetric(float64(events)/float64(after.Syncs-before.Syncs), "events/fsync")
	b.ReportMetric(float64(events)/float64(after.Commits-before.Commits), "events/commit")
}

// BenchmarkAppendPaced: 64 writers, each appending single events to its own
// stream, offered 5,000 appends a second in all (the command load's paced
// rate), latencies from when each append was due.
func BenchmarkAppendPaced(b *testing.B) {
	benchAppends(b, openBench(b, b.TempDir()), func(op func(w, i int) error) latencies {
		return runPaced(64, 1000, 5000, op)
	})
}

// prefilled returns a fresh copy of a data dir holding 1,010,000 events:
// 100,000 streams of 10 events, plus 100 streams of 100 events ("big-<i>").
// The original is built once and kept in the temp dir across runs.
func prefilled(b *testing.B) string {
	src := filepath.Join(os.TempDir(), "custodian-bench-1M-v1")
	if _, err := os.Stat(filepath.Join(src, "complete")); err != nil {
		buildPrefilled(b, src)
	}
	dir := b.TempDir()
	copyDir(b, src, dir)
	return dir
}

func buildPrefilled(b *testing.B, dir string) {
	require.NoError(b, os.RemoveAll(dir))
	s, err := embedded.Open(dir, embedded.Options{})
	require.NoError(b, err)
	ctx := context.Background()
	start := time.Now()
	// Streams are filled in rounds, so that a stream's events are spread
	// over the log as in real use; 500 appenders at a time.
	const streams, per = 100_000, 10
	for round := 0; round < per; round++ {
		exp := eventstore.ExpectedRevision(eventstore.Exact(eventstore.Revision(round - 1)))
		if round == 0 {
			exp = eventstore.NoStream
		}
		for i := 0; i < streams; i += 500 {
			var wg sync.WaitGroup
			for j := i; j < i+500; j++ {
				wg.Add(1)
				go func(j int) {
					defer wg.Done()
					if _, err := s.Append(ctx, fmt.Sprintf("case-%06d", j), exp, eventstoretest.NewEvent(round)); err != nil {
						panic(err)
					}
				}(j)
			}
			wg.Wait()
		}
	}
	for i := 0; i < 100; i++ {
		_, err := s.Append(ctx, fmt.Sprintf("big-%d", i), eventstore.NoStream, eventstoretest.Events(0, 100)...)
		require.NoError(b, err)
	}
	require.NoError(b, s.Close())
	require.NoError(b, os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600))
	b.Logf("prefilled 1,010,000 events in %s", time.Since(start).Round(time.Millisecond))
}

func copyDir(b *testing.B, from, to string) {
	for _, name := range []string{embedded.DBFile} {
		in, err := os.Open(filepath.Join(from, name))
		require.NoError(b, err)
		out, err := os.Create(filepath.Join(to, name))
		require.NoError(b, err)
		_, err = io.Copy(out, in)
		require.NoError(b, err)
		require.NoError(b, out.Sync())
		in.Close()
		out.Close()
	}
}

// BenchmarkReadAll reads the whole 1M-event log from position 0, once
// Open's background build of the stream filter is done.
func BenchmarkReadAll(b *testing.B) {
	dir := prefilled(b)
	s := openBench(b, dir)
	embedded.StreamFilterBuilt(s)
	ctx := context.Background()
	start := time.Now()
	n := 0
	require.NoError(b, s.ReadAll(ctx, eventstore.Start, false, func(eventstore.Envelope) error {
		n++
		return nil
	}))
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(n), "events")
}

// BenchmarkReadStream reads one 100-event stream among 100,000 streams.
func BenchmarkReadStream(b *testing.B) {
	dir := prefilled(b)
	s := openBench(b, dir)
	ctx := context.Background()
	const reads = 2000
	lat := runWriters(1, reads, func(_, i int) error {
		n := 0
		err := s.ReadStream(ctx, fmt.Sprintf("big-%d", i%100), eventstore.Forward, 0, func(eventstore.Envelope) error {
			n++
			return nil
		})
		if err == nil && n != 100 {
			err = fmt.Errorf("read %d events", n)
		}
		return err
	})
	slices.Sort(lat.each)
	b.ReportMetric(float64(lat.each[len(lat.each)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat.each[len(lat.each)*99/100].Microseconds())/1000, "p99-ms")
}
