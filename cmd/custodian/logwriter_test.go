package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowSink records each write it is given and takes a while over it, as a
// pipe to a busy reader does.
type slowSink struct {
	mu     sync.Mutex
	out    bytes.Buffer
	writes int
}

func (s *slowSink) Write(p []byte) (int, error) {
	time.Sleep(200 * time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.out.Write(p)
}

func TestLogWriterKeepsEveryLineWholeAndInOrder(t *testing.T) {
	sink := &slowSink{}
	l := newLogWriter(sink)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				_, err := fmt.Fprintf(l, "writer %d line %d %s\n", w, i, strings.Repeat("x", i%50))
				require.NoError(t, err)
			}
		}(w)
	}
	wg.Wait()
	l.Close()
	_, err := l.Write([]byte("after close\n"))
	require.NoError(t, err)

	got := strings.Split(strings.TrimSuffix(sink.out.String(), "\n"), "\n")
	require.Len(t, got, writers*lines+1)
	assert.Equal(t, "after close", got[len(got)-1], "a write after Close goes out, last")
	next := make([]int, writers)
	for _, line := range got[:len(got)-1] {
		var w, i int
		var pad string
		_, err := fmt.Sscanf(line, "writer %d line %d %s", &w, &i, &pad)
		if i%50 == 0 {
			_, err = fmt.Sscanf(line, "writer %d line %d", &w, &i)
		}
		require.NoError(t, err, "line %q is whole", line)
		require.Equal(t, next[w], i, "writer %d's lines in order", w)
		require.Equal(t, strings.Repeat("x", i%50), pad)
		next[w]++
	}
	assert.Less(t, sink.writes, writers*lines/2, "lines logged during a write share the next one")
}

// blockingSink holds every write until release is closed.
type blockingSink struct {
	entered chan struct{} // gets a token as a write starts
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (s *blockingSink) Write(p []byte) (int, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	s.mu.Lock()
	s.n += len(p)
	s.mu.Unlock()
	return len(p), nil
}

func TestLogWriterBoundsWhatWaits(t *testing.T) {
	sink := &blockingSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	l := newLogWriter(sink)
	line := []byte(strings.Repeat("y", 1023) + "\n")
	const lines = maxPendingLog/1024 + 2
	// The goroutine takes the first line and blocks in the sink; the next
	// lines fill pending to its bound, and the last one waits.
	_, _ = l.Write(line)
	<-sink.entered
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		for i := 1; i < lines; i++ {
			_, _ = l.Write(line)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	l.mu.Lock()
	pending := len(l.pending)
	l.mu.Unlock()
	assert.LessOrEqual(t, pending, maxPendingLog, "pending stays within its bound while the sink blocks")
	select {
	case <-writing:
		t.Fatal("every Write returned while the sink was blocked")
	default:
	}
	close(sink.release)
	<-writing
	l.Close()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	assert.Equal(t, lines*len(line), sink.n, "every line is written once the sink moves")
}

// TestLogWriterEveryCloseWaitsForTheFlush: a second Close, while the first
// is still writing, returns only once the lines are out.
func TestLogWriterEveryCloseWaitsForTheFlush(t *testing.T) {
	sink := &blockingSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	l := newLogWriter(sink)
	_, _ = l.Write([]byte("one line\n"))
	<-sink.entered
	first, second := make(chan struct{}), make(chan struct{})
	go func() { l.Close(); close(first) }()
	require.Eventually(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.closed
	}, time.Second, time.Millisecond)
	go func() { l.Close(); close(second) }()
	select {
	case <-second:
		t.Fatal("the second Close returned while the line was still being written")
	case <-time.After(50 * time.Millisecond):
	}
	close(sink.release)
	<-first
	<-second
	sink.mu.Lock()
	defer sink.mu.Unlock()
	assert.Equal(t, len("one line\n"), sink.n)
}
