package projections

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/domain/eventcodec"
	"github.com/custodian/custodian/eventstore"
)

// Projection is a read model built by applying the log in order. Apply is
// called from one goroutine at a time, under the runner's write lock for the
// projection; queries run under its read lock (see View).
type Projection interface {
	// Name and Version are schema, like event names: a change means a rebuild.
	Name() string
	Version() int
	// Apply applies one event. An error stops this projection, with the event
	// named in its status; it is never skipped.
	Apply(env eventstore.Envelope, e domain.Event) error
}

// Log is what the runner needs of the store.
type Log interface {
	ReadAll(ctx context.Context, from eventstore.Position, follow bool, fn func(eventstore.Envelope) error) error
	Head(ctx context.Context) (eventstore.Position, error)
}

// Factory makes an empty projection; the runner calls it at start and for
// every rebuild.
type Factory func() Projection

// State of a projection, as Status reports it.
const (
	StateCatchingUp = "catching-up"
	StateLive       = "live"
	StateFailed     = "failed"
)

// ErrFailed is returned by View and WaitFor when a projection has stopped on
// an event it could not apply.
var ErrFailed = errors.New("projections: projection failed")

// ErrUnknown is returned for a projection name the runner does not have.
var ErrUnknown = errors.New("projections: unknown projection")

// slot holds one projection: the live instance and, during a rebuild, the
// instance being built beside it.
type slot struct {
	name    string
	factory Factory

	mu         sync.RWMutex
	live       Projection
	checkpoint eventstore.Position // the last position applied to live
	seen       eventstore.Position // the last position the feed offered
	failure    error
	applied    uint64 // events applied to live since start or swap
	since      time.Time

	shadow           Projection // the rebuild in progress, or nil
	shadowCheckpoint eventstore.Position
	shadowApplied    uint64
	shadowSince      time.Time
	rebuildErr       error // why the last rebuild stopped, if it failed
}

// Runner feeds the log to every projection: one goroutine reads the log from
// the start, decodes each event once and applies it to every projection, then
// follows the log live. Read models are in memory and rebuilt at start (see
// docs/decisions.md); a rebuild builds a new instance beside the live one and
// swaps it in once it has caught up.
type Runner struct {
	log   Log
	now   func() time.Time
	slots []*slot
	byNam map[string]*slot

	mu      sync.Mutex
	reached eventstore.Position // the feed's position
	live    bool                // the feed has caught up with the head it saw at start
	changed chan struct{}       // closed when reached or live changes, or the feed stops
	feedErr error
}

// NewRunner returns a runner over log for the projections the factories make.
func NewRunner(log Log, now func() time.Time, factories ...Factory) *Runner {
	r := &Runner{log: log, now: now, byNam: map[string]*slot{}, changed: make(chan struct{})}
	for _, f := range factories {
		p := f()
		s := &slot{name: p.Name(), factory: f, live: p, since: now()}
		r.slots = append(r.slots, s)
		r.byNam[s.name] = s
	}
	return r
}

// Run feeds the log to the projections until ctx ends. It returns ctx's
// error, or the store's error if reading the log fails.
func (r *Runner) Run(ctx context.Context) (err error) {
	defer func() {
		r.mu.Lock()
		r.feedErr = err
		close(r.changed) // waiters see the error instead of waiting on
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}()
	startHead, err := r.log.Head(ctx)
	if err != nil {
		return fmt.Errorf("projections: read head: %w", err)
	}
	if startHead.IsStart() {
		r.markLive()
	}
	// Three stages, so that catching up on a long log uses more than one
	// core: read the log, decode each event, apply it to every projection
	// in log order. Each stage hands the next one events in order.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	read := make(chan eventstore.Envelope, feedBuffer)
	decoded := make(chan decodedEnvelope, feedBuffer)
	readErr := make(chan error, 1)
	go func() {
		defer close(read)
		readErr <- r.log.ReadAll(ctx, eventstore.Start, true, func(env eventstore.Envelope) error {
			select {
			case read <- env:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	go func() {
		defer close(decoded)
		for env := range read {
			e, err := eventcodec.Decode(env.Type, env.Data)
			select {
			case decoded <- decodedEnvelope{env: env, event: e, err: err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for d := range decoded {
		r.apply(d)
		// Apply what else is ready before waking the waiters: each wake-up
		// runs every waiting request, and under load they would otherwise
		// wake once per event.
	more:
		for n := 1; n < feedBuffer; n++ {
			select {
			case next, ok := <-decoded:
				if !ok {
					break more
				}
				r.apply(next)
				d = next
			default:
				break more
			}
		}
		r.advance(d.env.Position, !d.env.Position.Before(startHead))
	}
	return <-readErr
}

// feedBuffer is how many events each stage of the feed may run ahead.
const feedBuffer = 1024

// decodedEnvelope is a stored event with its decoded domain event, or the
// error decoding gave.
type decodedEnvelope struct {
	env   eventstore.Envelope
	event domain.Event
	err   error
}

func (r *Runner) markLive() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.live {
		r.live = true
		close(r.changed)
		r.changed = make(chan struct{})
	}
}

// advance records that the feed applied pos.
func (r *Runner) advance(pos eventstore.Position, live bool) {
	r.mu.Lock()
	r.reached = pos
	r.live = r.live || live
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// apply applies a decoded event to every projection that has not yet seen
// it and has not failed.
func (r *Runner) apply(d decodedEnvelope) {
	env, e, decodeErr := d.env, d.event, d.err
	for _, s := range r.slots {
		s.mu.Lock()
		if s.seen.Before(env.Position) {
			s.seen = env.Position
		}
		if s.failure == nil && s.checkpoint.Before(env.Position) {
			if err := applyOne(s.live, env, e, decodeErr); err != nil {
				s.failure = err
			} else {
				s.checkpoint = env.Position
				s.applied++
			}
		}
		s.mu.Unlock()
	}
}

func applyOne(p Projection, env eventstore.Envelope, e domain.Event, decodeErr error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
		if err != nil {
			err = fmt.Errorf("%w: %s v%d stopped at position %s (%s, stream %s, id %s): %w",
				ErrFailed, p.Name(), p.Version(), env.Position, env.Type, env.Stream, env.ID, err)
		}
	}()
	if decodeErr != nil {
		return decodeErr
	}
	return p.Apply(env, e)
}

// View calls fn with the named projection under its read lock. The
// projection must be of type P.
func View[P Projection](r *Runner, name string, fn func(P) error) error {
	s, ok := r.byNam[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknown, name)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.failure != nil {
		return s.failure
	}
	p, ok := s.live.(P)
	if !ok {
		return fmt.Errorf("projections: %s is a %T", name, s.live)
	}
	return fn(p)
}

// WaitFor waits until every projection has applied the log up to pos, or ctx
// ends. It returns ErrFailed if a projection has stopped.
func (r *Runner) WaitFor(ctx context.Context, pos eventstore.Position) error {
	return r.WaitForWithin(ctx, pos, 0)
}

// WaitForWithin is WaitFor for at most within (no bound when 0): after it,
// it returns context.DeadlineExceeded. A timer starts only when it has to
// wait, so an answer the read models have already reached (most of them)
// costs no context and no timer.
func (r *Runner) WaitForWithin(ctx context.Context, pos eventstore.Position, within time.Duration) error {
	var deadline <-chan time.Time
	for {
		r.mu.Lock()
		reached, changed, feedErr := r.reached, r.changed, r.feedErr
		r.mu.Unlock()
		if !reached.Before(pos) {
			return r.failed()
		}
		if feedErr != nil {
			return fmt.Errorf("projections: the feed stopped: %w", feedErr)
		}
		if deadline == nil && within > 0 {
			t := time.NewTimer(within)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-changed:
		case <-deadline:
			return context.DeadlineExceeded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitLive waits until the feed has caught up with the log's head as it was
// at start (readiness), ctx ends, or the feed stops (its error).
func (r *Runner) WaitLive(ctx context.Context) error {
	for {
		r.mu.Lock()
		live, changed, feedErr := r.live, r.changed, r.feedErr
		r.mu.Unlock()
		if live {
			return nil
		}
		if feedErr != nil {
			return fmt.Errorf("projections: the feed stopped: %w", feedErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *Runner) failed() error {
	for _, s := range r.slots {
		s.mu.RLock()
		err := s.failure
		s.mu.RUnlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// Position is how far the feed has applied the log.
func (r *Runner) Position() eventstore.Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reached
}

// Status is one projection's state for operators.
type Status struct {
	Name            string  `json:"name"`
	Version         int     `json:"version"`
	State           string  `json:"state"`
	Checkpoint      string  `json:"checkpoint"`
	Lag             uint64  `json:"lag"`
	EventsPerSecond float64 `json:"eventsPerSecond"`
	Error           string  `json:"error,omitempty"`
	// Rebuild is the rebuild in progress, if any.
	Rebuild *RebuildStatus `json:"rebuild,omitempty"`
	// RebuildError says why the last rebuild stopped without swapping.
	RebuildError string `json:"rebuildError,omitempty"`
}

// RebuildStatus is the progress of a rebuild.
type RebuildStatus struct {
	Checkpoint      string  `json:"checkpoint"`
	Lag             uint64  `json:"lag"`
	EventsPerSecond float64 `json:"eventsPerSecond"`
	ETASeconds      float64 `json:"etaSeconds"`
}

// Status reports every projection, sorted by name. Lag is head minus
// checkpoint in the store's position units: events for the embedded store,
// bytes of log for KurrentDB.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	head, err := r.log.Head(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	live := r.live
	r.mu.Unlock()
	now := r.now()
	out := make([]Status, 0, len(r.slots))
	for _, s := range r.slots {
		s.mu.RLock()
		st := Status{Name: s.name, Version: s.live.Version(), Checkpoint: s.checkpoint.String(), Lag: lag(head, s.checkpoint)}
		if d := now.Sub(s.since).Seconds(); d > 0 {
			st.EventsPerSecond = float64(s.applied) / d
		}
		if s.shadow != nil {
			rb := &RebuildStatus{Checkpoint: s.shadowCheckpoint.String(), Lag: lag(head, s.shadowCheckpoint)}
			if d := now.Sub(s.shadowSince).Seconds(); d > 0 {
				rb.EventsPerSecond = float64(s.shadowApplied) / d
			}
			if rb.EventsPerSecond > 0 {
				rb.ETASeconds = float64(rb.Lag) / rb.EventsPerSecond
			}
			st.Rebuild = rb
		}
		if s.rebuildErr != nil {
			st.RebuildError = s.rebuildErr.Error()
		}
		switch {
		case s.failure != nil:
			st.State, st.Error = StateFailed, s.failure.Error()
		case live:
			st.State = StateLive
		default:
			st.State = StateCatchingUp
		}
		s.mu.RUnlock()
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func lag(head, at eventstore.Position) uint64 {
	if head.Commit > at.Commit {
		return head.Commit - at.Commit
	}
	return 0
}
