package kurrent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	grpcmetadata "google.golang.org/grpc/metadata"

	"github.com/custodian/custodian/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// Store is an eventstore.Store kept in KurrentDB. It is safe for concurrent use.
type Store struct {
	client *esdb.Client
	// leader is whether operations ask for the cluster leader (node preference
	// leader, the default).
	leader bool

	mu      sync.RWMutex
	closed  bool
	closing chan struct{} // closed by Close; cancels reads and follows
	ops     sync.WaitGroup
}

// Option configures Open.
type Option func(*options)

type options struct {
	logger *slog.Logger
}

// WithLogger sends the client library's own log lines (connection, discovery,
// dropped subscriptions) to logger. By default they are discarded; the store's
// errors are returned to the caller either way.
func WithLogger(logger *slog.Logger) Option {
	return func(o *options) { o.logger = logger }
}

// Open connects to the KurrentDB server or cluster named by url, e.g.
// "esdb://localhost:2113?tls=false" or
// "esdb://node1:2113,node2:2113,node3:2113?tls=false" (kurrentdb:// works too),
// and checks that the log can be read before it returns. ctx bounds only the
// check; the Store lives until Close.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	conf, err := parseConnectionString(url)
	if err != nil {
		return nil, err
	}
	conf.Logger = clientLogger(o.logger)
	client, err := esdb.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("kurrent: %w", err)
	}
	s := &Store{
		client:  client,
		leader:  conf.NodePreference == esdb.NodePreferenceLeader,
		closing: make(chan struct{}),
	}

	// The client ignores ctx while it discovers a node, so the check runs
	// aside and Open returns when ctx ends; the client is then closed only
	// after the check has left it.
	checked := make(chan error, 1)
	go func() {
		_, err := s.Head(ctx)
		checked <- err
	}()
	select {
	case err = <-checked:
	case <-ctx.Done():
		go func() {
			<-checked
			_ = s.Close()
		}()
		return nil, fmt.Errorf("kurrent: connect: %w", ctx.Err())
	}
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("kurrent: connect: %w", err)
	}
	return s, nil
}

// clientLogger adapts logger to the client's logging function.
func clientLogger(logger *slog.Logger) esdb.LoggingFunc {
	if logger == nil {
		return esdb.NoopLogging()
	}
	logger = logger.With("component", "kurrentdb-client")
	return func(level esdb.LogLevel, format string, args ...interface{}) {
		msg := fmt.Sprintf(format, args...)
		switch level {
		case esdb.LogDebug:
			logger.Debug(msg)
		case esdb.LogInfo:
			logger.Info(msg)
		case esdb.LogWarn:
			logger.Warn(msg)
		default:
			logger.Error(msg)
		}
	}
}

// Close waits for appends in flight to complete or fail, ends reads and
// follows (they return ErrClosed), and closes the connection. Later calls of
// every method return eventstore.ErrClosed; a second Close returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	// No operation is inside the client after this, so closing it cannot race
	// with a call that is about to use its connection channel.
	s.ops.Wait()
	return s.client.Close()
}

// begin registers an operation and returns the context to run it with, and the
// function that ends it. With cancelOnClose, Close cancels the operation (its
// context's cause is then ErrClosed); otherwise Close waits for it.
func (s *Store) begin(ctx context.Context, cancelOnClose bool) (context.Context, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, nil, eventstore.ErrClosed
	}
	s.ops.Add(1)
	s.mu.RUnlock()

	op, cancel := context.WithCancelCause(ctx)
	finished := make(chan struct{})
	if cancelOnClose {
		go func() {
			select {
			case <-s.closing:
				cancel(eventstore.ErrClosed)
			case <-finished:
			}
		}()
	}
	if s.leader {
		// esdb sets "requires-leader" on the incoming metadata of the call's
		// context, which gRPC never sends; send it as the client means to.
		op = grpcmetadata.AppendToOutgoingContext(op, "requires-leader", "true")
	}
	return op, func() {
		close(finished)
		cancel(nil)
		s.ops.Done()
	}, nil
}

// fail turns the error of an operation into what the contract returns: the
// caller's context error if it ended, ErrClosed if Close ended the operation,
// otherwise the client error translated to a sentinel where there is one.
func fail(ctx, op context.Context, err error) error {
	if err == nil {
		return nil
	}
	if e := ctx.Err(); e != nil {
		return e
	}
	if errors.Is(context.Cause(op), eventstore.ErrClosed) {
		return fmt.Errorf("%w (%w)", eventstore.ErrClosed, err)
	}
	return translate(err)
}

// leaderRetries bounds how often an operation that reached a follower is
// retried once the client has reconnected to the leader.
const leaderRetries = 3

// retryOnFollower runs attempt until it succeeds, fails with something other
// than "not leader", or has been retried leaderRetries times.
func retryOnFollower(op context.Context, attempt func() error) error {
	delay := 50 * time.Millisecond
	for i := 0; ; i++ {
		err := attempt()
		if err == nil || i == leaderRetries || !hasCode(err, esdb.ErrorCodeNotLeader) {
			return err
		}
		if sleep(op, delay) != nil {
			return err
		}
		delay *= 2
	}
}

// sleep waits for d or until ctx ends, and returns ctx's error in that case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
