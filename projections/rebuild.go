package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/custodian/custodian/domain/eventcodec"
	"github.com/custodian/custodian/eventstore"
)

// ErrRebuilding is returned by Rebuild when the projection is already being rebuilt.
var ErrRebuilding = errors.New("projections: a rebuild is already running")

// Rebuild builds a new instance of the named projection from position 0
// beside the live one, without stopping it, and swaps it in once it has
// applied everything the feed has offered the live one. Queries keep using
// the live instance until the swap. It returns at once; the rebuild runs
// until it swaps, fails (the live instance stays, Status names the event), or
// ctx ends. ctx must outlive the request that asked for the rebuild.
func (r *Runner) Rebuild(ctx context.Context, name string) error {
	s, ok := r.byNam[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknown, name)
	}
	s.mu.Lock()
	if s.shadow != nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrRebuilding, name)
	}
	s.shadow, s.shadowCheckpoint, s.shadowApplied, s.shadowSince, s.rebuildErr = s.factory(), eventstore.Start, 0, r.now(), nil
	s.mu.Unlock()
	go r.rebuild(ctx, s)
	return nil
}

func (r *Runner) rebuild(ctx context.Context, s *slot) {
	stop := func(err error) {
		s.mu.Lock()
		s.shadow, s.rebuildErr = nil, err
		s.mu.Unlock()
	}
	for {
		s.mu.RLock()
		from := s.shadowCheckpoint
		s.mu.RUnlock()
		err := r.log.ReadAll(ctx, from, false, func(env eventstore.Envelope) error {
			e, decodeErr := eventcodec.Decode(env.Type, env.Data)
			s.mu.Lock()
			defer s.mu.Unlock()
			if err := applyOne(s.shadow, env, e, decodeErr); err != nil {
				return err
			}
			s.shadowCheckpoint = env.Position
			s.shadowApplied++
			return nil
		})
		if err != nil {
			stop(fmt.Errorf("rebuild: %w", err))
			return
		}
		s.mu.Lock()
		if !s.shadowCheckpoint.Before(s.seen) {
			// Caught up with everything the feed has offered: swap. The
			// feed applies to the new instance only what comes after its
			// checkpoint, so nothing is applied twice or skipped.
			s.live, s.checkpoint, s.failure = s.shadow, s.shadowCheckpoint, nil
			s.applied, s.since = s.shadowApplied, s.shadowSince
			s.shadow = nil
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}
