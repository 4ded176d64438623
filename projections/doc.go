// Package projections builds read models by applying the event log in order:
// the runner owns checkpoints, catch-up, live follow and rebuild; reactors are
// projections that append follow-up events with deterministic IDs.
//
// It may import domain (and domain/eventcodec, its faster event decoder),
// eventstore and the standard library.
package projections

// ReadModels returns the factories of every read model the server runs, in
// the order the runner feeds them.
func ReadModels() []Factory {
	return []Factory{
		func() Projection { return NewDirectory() },
		func() Projection { return NewCases() },
		func() Projection { return NewNotifications() },
		func() Projection { return NewExpiry() },
		func() Projection { return NewRequests() },
	}
}
