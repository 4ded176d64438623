// Package kurrent is the eventstore.Store over KurrentDB (and EventStoreDB), through
// the esdb package of github.com/EventStore/EventStore-Client-Go/v4.
//
// It owns the mapping between the storage contract and KurrentDB: connection
// strings (esdb:// and esdb+discover://, with kurrentdb:// and kurrent:// rewritten
// to them), the event metadata that carries the envelope fields KurrentDB does not
// have natively, expected revisions, positions (both halves, commit and prepare),
// the translation of client errors into the eventstore sentinels, explicit
// idempotency for re-appended batches, and the catch-up-then-live reading of $all
// with resubscription when a subscription drops. It passes eventstoretest.Run
// when KURRENTDB_URL names a running server.
//
// # Stored form
//
// An Event is stored as one KurrentDB event: event ID = Event.ID, event type =
// Event.Type, content type application/json, data = Event.Data byte for byte (after
// eventstore's Normalize), and metadata = a JSON object holding the rest of the
// envelope:
//
//	{"custodian":1,"schemaVersion":1,"recordedAt":"2026-11-22T10:00:00.123456789Z",
//	 "actor":{"kind":"user","userId":"u-1","orgId":"o-1","name":"Tester"},
//	 "$correlationId":"…","$causationId":"…","requestId":"…"}
//
// "custodian" is the metadata format version. Correlation and causation use
// KurrentDB's conventional $correlationId and $causationId keys, so the server's
// $by_correlation_id projection understands them. recordedAt is RFC 3339 in UTC
// with all nine fractional digits. Reads refuse an event whose metadata is not in
// this form (ErrCorrupt), because such an event was not written by this package.
//
// Events whose type or stream starts with '$' are KurrentDB's own and are never
// delivered by ReadAll, nor counted by Head.
//
// # Consistency
//
// Operations ask for the cluster leader when the connection string's node
// preference is leader (the default), so that a read sees every write
// acknowledged before it. (The client sets that request header on the wrong
// side of the gRPC context; this package sets it on the outgoing one.) When a
// follower answers "not leader", the client reconnects to the leader and the
// operation is retried a few times. Add nodePreference=follower or random to the
// connection string to allow reads from followers.
//
// This package may import the standard library, github.com/google/uuid,
// eventstore, the esdb package, and google.golang.org/grpc (status codes and
// outgoing metadata only). It never imports domain.
package kurrent
