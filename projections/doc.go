// Package projections builds read models by applying the event log in order:
// the runner owns checkpoints, catch-up, live follow and rebuild; reactors are
// projections that append follow-up events with deterministic IDs.
//
// It may import domain, eventstore and the standard library.
package projections
