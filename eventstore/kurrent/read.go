package kurrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/custodian/custodian/eventstore"
)

// readAllCount asks a read to go on until the end of the stream or log; the
// server counts in a signed 64-bit integer.
const readAllCount = math.MaxInt64

// headPage is how many events Head reads at a time, looking backwards for the
// last event that is not KurrentDB's own.
const headPage = 64

// callbackError carries an error returned by the caller's callback through the
// read loops, so that it is returned as is rather than translated or retried.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// errStop ends a scan early without an error.
var errStop = errors.New("stop")

// scan reads the stream that open returns and calls fn for each event, until
// the end. A missing stream is the end: no events, no error (the client
// reports it on the first Recv). fn's errors are returned unchanged; others are
// the client's, untranslated.
func scan(open func() (*esdb.ReadStream, error), fn func(*esdb.RecordedEvent) error) error {
	rs, err := open()
	if err != nil {
		return err
	}
	defer rs.Close()
	for {
		ev, err := recv(rs)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case hasCode(err, esdb.ErrorCodeResourceNotFound):
			return nil
		case err != nil:
			return err
		}
		if ev.Event == nil {
			continue // only for links to deleted events; links are not resolved here
		}
		if err := fn(ev.Event); err != nil {
			return err
		}
	}
}

// recv is rs.Recv, with the client's panic on a response type it does not
// know turned into an error.
func recv(rs *esdb.ReadStream) (ev *esdb.ResolvedEvent, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("kurrent: the client failed on a read response: %v", p)
		}
	}()
	return rs.Recv()
}

// ReadStream calls fn for each event of stream in direction dir from revision
// from (inclusive; backward from End or beyond the last event starts at the
// last event). A stream that does not exist, or whose name no stream can have,
// yields no calls and no error. An error from fn is returned as is.
func (s *Store) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from eventstore.Revision, fn func(eventstore.Envelope) error) error {
	op, done, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer done()
	if eventstore.ValidateStream(stream) != nil {
		return nil
	}
	if dir == eventstore.Forward && from > math.MaxInt64 {
		return nil // beyond any stream
	}

	// next is where a retried read resumes; end is set once nothing is left.
	next, end := from, false
	err = retryOnFollower(op, func() error {
		if end {
			return nil
		}
		opts := esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(uint64(next))}
		if dir == eventstore.Backward {
			opts.Direction = esdb.Backwards
			if next > math.MaxInt64 {
				opts.From = esdb.End{}
			}
		}
		return scan(func() (*esdb.ReadStream, error) {
			return s.client.ReadStream(op, stream, opts, readAllCount)
		}, func(rec *esdb.RecordedEvent) error {
			env, err := envelope(rec)
			if err != nil {
				return err
			}
			if dir == eventstore.Forward {
				next = env.Revision + 1
			} else if env.Revision == 0 {
				end = true
			} else {
				next = env.Revision - 1
			}
			if err := fn(env); err != nil {
				return callbackError{err}
			}
			return nil
		})
	})
	var cbErr callbackError
	if errors.As(err, &cbErr) {
		return cbErr.err
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, fail(ctx, op, err))
	}
	return nil
}

// ReadAll calls fn for each event after position from, in log order, skipping
// KurrentDB's own events. Without follow it returns nil at the end of the log.
// With follow it then delivers new events as they are written, until ctx ends
// (returning ctx's error), fn fails (returning fn's error as is), the store is
// closed (ErrClosed), or the subscription fails for good (access denied, or an
// event that cannot be decoded). A subscription that drops for another reason
// is resumed from the last delivered position after a bounded backoff; events
// at or before that position are never delivered again.
func (s *Store) ReadAll(ctx context.Context, from eventstore.Position, follow bool, fn func(eventstore.Envelope) error) error {
	op, done, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer done()
	// last is the position of the last event delivered (or from): a read of
	// $all from a position includes it, and a resumed read or subscription may
	// overlap what was delivered, so anything at or before it is skipped.
	last := from
	deliver := func(rec *esdb.RecordedEvent) error {
		pos := fromESDBPosition(rec.Position)
		if !last.Before(pos) || isSystem(rec) {
			return nil
		}
		env, err := envelope(rec)
		if err != nil {
			return err
		}
		if err := fn(env); err != nil {
			return callbackError{err}
		}
		last = pos
		return nil
	}
	if follow {
		return s.follow(ctx, op, &last, deliver)
	}
	err = retryOnFollower(op, func() error {
		return scan(func() (*esdb.ReadStream, error) {
			return s.client.ReadAll(op, esdb.ReadAllOptions{Direction: esdb.Forwards, From: toAllPosition(last)}, readAllCount)
		}, deliver)
	})
	var cbErr callbackError
	if errors.As(err, &cbErr) {
		return cbErr.err
	}
	if err != nil {
		return fmt.Errorf("read the log after %s: %w", last, fail(ctx, op, err))
	}
	return nil
}

// Backoff between subscriptions to $all after one drops.
const (
	minResubscribeDelay = 100 * time.Millisecond
	maxResubscribeDelay = 5 * time.Second
)

// follow delivers the log after *last through catch-up subscriptions to $all
// that exclude system events, resubscribing from *last whenever one drops. The
// client never resubscribes by itself.
func (s *Store) follow(ctx, op context.Context, last *eventstore.Position, deliver func(*esdb.RecordedEvent) error) error {
	delay := minResubscribeDelay
	for {
		progressed, err := s.subscribeOnce(op, *last, deliver)
		var cbErr callbackError
		switch {
		case errors.As(err, &cbErr):
			return cbErr.err
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(context.Cause(op), eventstore.ErrClosed):
			return fail(ctx, op, err)
		case permanent(err):
			return fmt.Errorf("follow the log after %s: %w", *last, fail(ctx, op, err))
		}
		if progressed {
			delay = minResubscribeDelay
		}
		if sleep(op, delay) != nil {
			return fail(ctx, op, context.Cause(op))
		}
		delay = min(2*delay, maxResubscribeDelay)
	}
}

// subscribeOnce subscribes to $all after from and delivers events until the
// subscription drops. It returns why, and whether the subscription delivered an
// event or caught up (so that the next backoff starts small again).
func (s *Store) subscribeOnce(op context.Context, from eventstore.Position, deliver func(*esdb.RecordedEvent) error) (progressed bool, err error) {
	// A subscription from a position starts after it, where a read starts at
	// it; deliver skips what is not after the last delivered position anyway,
	// so either reading gives each event once.
	sub, err := s.client.SubscribeToAll(op, esdb.SubscribeToAllOptions{
		From:   toAllPosition(from),
		Filter: esdb.ExcludeSystemEventsFilter(),
	})
	if err != nil {
		return false, err
	}
	defer sub.Close()
	for {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			if ev.SubscriptionDropped.Error == nil {
				return progressed, errors.New("subscription dropped")
			}
			return progressed, ev.SubscriptionDropped.Error
		case ev.CaughtUp != nil:
			progressed = true
		case ev.EventAppeared != nil && ev.EventAppeared.Event != nil:
			if err := deliver(ev.EventAppeared.Event); err != nil {
				if errors.As(err, new(callbackError)) {
					return progressed, err
				}
				return progressed, permanentError{err} // an event that cannot be decoded
			}
			progressed = true
		}
	}
}

// permanentError marks a subscription failure that resubscribing cannot cure.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// permanent reports whether a dropped subscription should not be resumed.
func permanent(err error) bool {
	if errors.As(err, new(permanentError)) {
		return true
	}
	var esErr *esdb.Error
	if errors.As(err, &esErr) {
		switch esErr.Code() {
		case esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeConnectionClosed,
			esdb.ErrorCodeUnsupportedFeature, esdb.ErrorCodeParsing, esdb.ErrorCodeInternalClient:
			return true
		}
		return false
	}
	// A subscription that drops after it started reports the gRPC error itself.
	switch status.Code(err) {
	case codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented, codes.InvalidArgument:
		return true
	}
	return false
}

// Head returns the position of the last event in the log that is not
// KurrentDB's own, or Start if there is none.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	op, done, err := s.begin(ctx, true)
	if err != nil {
		return eventstore.Start, err
	}
	defer done()
	var (
		head     eventstore.Position
		earliest *eventstore.Position // of the events read so far
	)
	for {
		var from esdb.AllPosition = esdb.End{}
		if earliest != nil {
			from = esdb.Position{Commit: earliest.Commit, Prepare: earliest.Prepare}
		}
		progressed := false
		err := retryOnFollower(op, func() error {
			return scan(func() (*esdb.ReadStream, error) {
				return s.client.ReadAll(op, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, headPage)
			}, func(rec *esdb.RecordedEvent) error {
				pos := fromESDBPosition(rec.Position)
				if earliest != nil && !pos.Before(*earliest) {
					return nil // a page may start where the previous one ended
				}
				earliest, progressed = &pos, true
				if isSystem(rec) {
					return nil
				}
				head = pos
				return errStop
			})
		})
		switch {
		case errors.Is(err, errStop):
			return head, nil
		case err != nil:
			return eventstore.Start, fmt.Errorf("read the head of the log: %w", fail(ctx, op, err))
		case !progressed:
			return eventstore.Start, nil // only KurrentDB's own events, or none
		}
	}
}
