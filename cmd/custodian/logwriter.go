package main

import (
	"io"
	"sync"
)

// maxPendingLog is how many bytes of log lines may wait for the writer
// goroutine; a Write beyond it waits for room.
const maxPendingLog = 1 << 20

// logWriter hands log lines to one goroutine that writes them on to w, so
// that the lines logged while a write is under way go out together in the
// next one: under load one system call carries many request logs instead of
// one each, and no request waits for a write to stderr. A line goes out as
// soon as the goroutine is free (no timer holds it back).
//
// Close writes what is pending and stops the goroutine; Writes after it go
// straight to w. Lines accepted and not yet written are lost only if the
// process dies without closing it (kill -9, a fatal error): the log is
// diagnostics, the audit trail is the event log.
type logWriter struct {
	w    io.Writer
	wake chan struct{} // holds a token while pending has lines to write
	done chan struct{} // closed when the goroutine has ended

	mu      sync.Mutex
	room    *sync.Cond // signalled when the goroutine takes pending
	pending []byte
	closed  bool
}

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	l.room = sync.NewCond(&l.mu)
	go l.run()
	return l
}

// Write queues p (slog's handlers write one whole line a call) and returns
// without writing it; after Close it writes p itself.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	for !l.closed && len(l.pending) > 0 && len(l.pending)+len(p) > maxPendingLog {
		l.room.Wait()
	}
	if !l.closed {
		l.pending = append(l.pending, p...)
		select {
		case l.wake <- struct{}{}:
		default:
		}
		l.mu.Unlock()
		return len(p), nil
	}
	l.mu.Unlock()
	<-l.done // the lines queued before Close go first
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// run writes whatever is pending, one write a wake-up; after Close, it
// writes what is left and ends.
func (l *logWriter) run() {
	defer close(l.done)
	var spare []byte
	for range l.wake {
		l.mu.Lock()
		buf := l.pending
		l.pending = spare[:0]
		l.room.Broadcast()
		l.mu.Unlock()
		if len(buf) > 0 {
			_, _ = l.w.Write(buf) // stderr: there is nowhere to report its failure
		}
		spare = buf
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) > 0 {
		_, _ = l.w.Write(l.pending)
		l.pending = nil
	}
}

// Close writes the pending lines and ends the goroutine; every Close
// returns once that is done.
func (l *logWriter) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done // another Close is flushing: done when it is
		return
	}
	l.closed = true
	l.room.Broadcast()
	l.mu.Unlock()
	close(l.wake)
	<-l.done
}
