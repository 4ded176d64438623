package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/domain/eventcodec"
	"github.com/custodian/custodian/eventstore"
)

// ExpiryReactorName is the actor name the expiry reactor's events carry.
const ExpiryReactorName = "expiry"

// expiryNamespace is the namespace of the expiry reactor's event ids.
var expiryNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:custodian:reactor:expiry"))

// expiryAttempts is how often one entry is tried when other writers keep
// moving its case's stream.
const expiryAttempts = 5

// expiryPoll is the longest the reactor sleeps between looks at the Expiry
// projection.
const expiryPoll = time.Second

// RunExpiryReactor records InternalAccessExpired for every access-list entry
// whose expiry has passed, until ctx ends (it returns ctx's error). It needs
// the runner r to hold the Expiry projection (ExpiryName).
//
// It waits until r is live, so it never acts on a read model that is still
// catching up, and then loops: it takes the due entries from the Expiry
// projection, and for each reads the case's stream, decides
// domain.RecordAccessExpiry with the case's state, and appends what that
// produces with the exact revision it read, retrying on a revision
// conflict. The events' ids are derived from the entry (uuid.NewSHA1), so a
// second reactor, a restart or a retry after a lost acknowledgement never
// records one expiry twice: either the store finds the same ids already
// stored, or the case no longer has the entry and Decide produces nothing.
// It then sleeps until the next expiry or for a second, whichever is first.
//
// Failures on one entry are logged and retried on the next round; a stopped
// Expiry projection is logged and waited out (a rebuild may repair it). A
// nil logger discards.
func RunExpiryReactor(ctx context.Context, r *Runner, store eventstore.Store, now func() time.Time, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := r.WaitLive(ctx); err != nil {
		return err
	}
	// handled holds the due entries already dealt with, until the
	// projection drops them; an entry whose expiry Decide finds nothing to
	// record for is not read again every round.
	handled := map[DueExpiry]bool{}
	unavailable := "" // the last error of the projection, logged once
	for {
		t := now()
		var due []DueExpiry
		var next time.Time
		var hasNext bool
		err := View(r, ExpiryName, func(x *Expiry) error {
			due = x.Due(t)
			next, hasNext = x.NextAfter(t)
			return nil
		})
		switch {
		case errors.Is(err, ErrUnknown):
			return err
		case err != nil:
			if err.Error() != unavailable {
				logger.Warn("expiry reactor: expiry projection unavailable", "err", err)
			}
			unavailable, due = err.Error(), nil
		default:
			unavailable = ""
		}
		var last eventstore.Position
		stillDue := make(map[DueExpiry]bool, len(due))
		for _, d := range due {
			stillDue[d] = true
			if handled[d] {
				continue
			}
			pos, err := recordExpiry(ctx, store, d, t)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				logger.Warn("expiry reactor: recording failed; will retry", "case", d.CaseID,
					"evidence", d.EvidenceID, "principal", d.Principal.ID, "err", err)
				continue
			}
			handled[d] = true
			if last.Before(pos) {
				last = pos
			}
		}
		for d := range handled {
			if !stillDue[d] {
				delete(handled, d)
			}
		}
		if !last.IsStart() {
			// Let the projections see what was recorded before looking again.
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_ = r.WaitFor(wctx, last) // a stopped projection is reported above
			cancel()
		}
		wait := expiryPoll
		if hasNext {
			wait = min(wait, max(next.Sub(now()), time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// recordExpiry records one due entry's expiry on its case's stream, if the
// case still holds the entry with that expiry. It returns the position of
// what it appended, or Start when there was nothing to append.
func recordExpiry(ctx context.Context, store eventstore.Store, d DueExpiry, now time.Time) (eventstore.Position, error) {
	stream := domain.CaseStream(d.CaseID)
	var err error
	for range expiryAttempts {
		var kase domain.Case
		var rev eventstore.Revision
		var found bool
		err = store.ReadStream(ctx, stream, eventstore.Forward, 0, func(env eventstore.Envelope) error {
			e, err := eventcodec.Decode(env.Type, env.Data)
			if err != nil {
				return fmt.Errorf("%s revision %d: %w", stream, env.Revision, err)
			}
			kase, rev, found = kase.Evolve(e), env.Revision, true
			return nil
		})
		if err != nil {
			return eventstore.Start, fmt.Errorf("read %s: %w", stream, err)
		}
		if !found {
			return eventstore.Start, nil
		}
		events, err := kase.Decide(domain.RecordAccessExpiry{CaseID: d.CaseID, EvidenceID: d.EvidenceID,
			Principal: d.Principal, ExpiresAt: d.ExpiresAt, Now: now})
		if err != nil {
			return eventstore.Start, fmt.Errorf("decide expiry on %s: %w", stream, err)
		}
		if len(events) == 0 {
			return eventstore.Start, nil
		}
		batch := make([]eventstore.Event, len(events))
		for i, e := range events {
			data, err := json.Marshal(e)
			if err != nil {
				return eventstore.Start, fmt.Errorf("encode %s: %w", e.EventType(), err)
			}
			batch[i] = eventstore.Event{
				ID:         expiryEventID(d, i),
				Type:       e.EventType(),
				RecordedAt: now,
				Actor:      eventstore.Actor{Kind: eventstore.ActorSystem, Name: ExpiryReactorName},
				Data:       data,
			}
		}
		res, err := store.Append(ctx, stream, eventstore.Exact(rev), batch...)
		if errors.Is(err, eventstore.ErrWrongRevision) {
			continue // someone else wrote to the case: read it again
		}
		if err != nil {
			return eventstore.Start, fmt.Errorf("append to %s: %w", stream, err)
		}
		return res.Position, nil
	}
	return eventstore.Start, fmt.Errorf("append to %s: %d attempts: %w", stream, expiryAttempts, err)
}

// expiryEventID is the id of the index-th event recording entry d's expiry.
func expiryEventID(d DueExpiry, index int) uuid.UUID {
	name := fmt.Sprintf("%s/%s/%s/%s/%s/%d", d.CaseID, d.EvidenceID, d.Principal.Type, d.Principal.ID,
		d.ExpiresAt.UTC().Format(time.RFC3339Nano), index)
	return uuid.NewSHA1(expiryNamespace, []byte(name))
}
