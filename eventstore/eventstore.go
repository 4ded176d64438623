// Package eventstore appends events to streams and reads them back, in stream
// order and in global (log) order. It is the system of record of Custodian: the
// audit trail and the source of every read model.
//
// It owns the storage contract (Store, Envelope, ExpectedRevision, Position and
// the sentinel errors), the canonical envelope encoding that is the Merkle leaf
// of the audit log, and the conformance suite in eventstoretest that every
// implementation must pass. It knows nothing about the domain: event data is
// opaque JSON with a type name.
//
// Implementations live in subpackages: embedded (the durable single-file
// default) and kurrent (KurrentDB over EventStore-Client-Go v4).
//
// This package may import the standard library, github.com/google/uuid and
// golang.org/x/mod/sumdb/tlog (for the leaf hash). It never imports domain.
package eventstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Sentinel errors. Implementations wrap them with context; match with errors.Is.
var (
	// ErrWrongRevision is returned by Append when the stream is not at the
	// expected revision. Nothing of the request was written.
	ErrWrongRevision = errors.New("eventstore: wrong expected revision")
	// ErrClosed is returned by every method once the store has been closed.
	ErrClosed = errors.New("eventstore: store is closed")
	// ErrInvalidEvent is returned by Append for an event that cannot be
	// stored: nil ID, empty type, data that is not JSON, an empty batch, or an
	// invalid stream name.
	ErrInvalidEvent = errors.New("eventstore: invalid event")
	// ErrDuplicateEventID is returned by Append when some, but not all, of the
	// batch's event IDs are already stored, or they are stored in another
	// stream or another order. Re-appending a whole batch unchanged is not an
	// error (see Store.Append).
	ErrDuplicateEventID = errors.New("eventstore: event id already stored elsewhere")
	// ErrCorrupt is returned when stored data fails its integrity checks. The
	// error names the position or offset that failed.
	ErrCorrupt = errors.New("eventstore: stored data is corrupt")
	// ErrLocked is returned by an embedded store's Open when another process
	// holds the data directory.
	ErrLocked = errors.New("eventstore: data directory is in use by another process")
)

// Revision is the 0-based number of an event within its stream.
type Revision uint64

// End, as the from argument of a backward ReadStream, starts at the last event.
const End Revision = math.MaxUint64

// ExpectedRevision is what Append requires of a stream before it writes:
// Any, NoStream, StreamExists or an exact revision (Exact).
type ExpectedRevision interface{ isExpectedRevision() }

type anyRevision struct{}
type noStream struct{}
type streamExists struct{}

// Exact requires the stream's last event to be at this revision.
type Exact Revision

func (anyRevision) isExpectedRevision()  {}
func (noStream) isExpectedRevision()     {}
func (streamExists) isExpectedRevision() {}
func (Exact) isExpectedRevision()        {}

func (anyRevision) String() string  { return "any" }
func (noStream) String() string     { return "no stream" }
func (streamExists) String() string { return "stream exists" }

var (
	// Any accepts the stream in whatever state it is, including absent.
	Any ExpectedRevision = anyRevision{}
	// NoStream requires that the stream has no events.
	NoStream ExpectedRevision = noStream{}
	// StreamExists requires that the stream has at least one event.
	StreamExists ExpectedRevision = streamExists{}
)

// Direction is the order of a stream read.
type Direction int

// Directions of ReadStream.
const (
	Forward Direction = iota
	Backward
)

// ActorKind says what kind of actor caused an event.
type ActorKind string

// Actor kinds (design §3).
const (
	ActorUser     ActorKind = "user"
	ActorSystem   ActorKind = "system"
	ActorOperator ActorKind = "operator"
	ActorLink     ActorKind = "link"
)

// Actor is who caused an event, with the display name as it was at the time.
type Actor struct {
	Kind   ActorKind `json:"kind"`
	UserID string    `json:"userId,omitempty"`
	OrgID  string    `json:"orgId,omitempty"`
	Name   string    `json:"name,omitempty"`
}

// Event is what a caller hands to Append: everything of the envelope that is
// not assigned by the store.
type Event struct {
	// ID identifies the event for idempotency. It must not be uuid.Nil;
	// callers use UUIDv7, reactors deterministic uuid.NewSHA1 values.
	ID uuid.UUID
	// Type is the stored event type name, e.g. "CaseCreated".
	Type string
	// SchemaVersion of Data for this Type; 0 is taken as 1.
	SchemaVersion int
	// RecordedAt is when the event was decided. Zero means "now" at append;
	// it is stored in UTC with nanosecond precision.
	RecordedAt    time.Time
	Actor         Actor
	CorrelationID string
	CausationID   string
	RequestID     string
	// Data is the event's JSON document. It must be valid JSON; it is stored
	// and returned byte for byte.
	Data json.RawMessage
}

// Envelope is a stored event: the Event as appended plus where the store put it.
type Envelope struct {
	ID            uuid.UUID       `json:"id"`
	Stream        string          `json:"stream"`
	Revision      Revision        `json:"revision"`
	Position      Position        `json:"position"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schemaVersion"`
	RecordedAt    time.Time       `json:"recordedAt"`
	Actor         Actor           `json:"actor"`
	CorrelationID string          `json:"correlationId,omitempty"`
	CausationID   string          `json:"causationId,omitempty"`
	RequestID     string          `json:"requestId,omitempty"`
	Data          json.RawMessage `json:"data"`
}

// AppendResult is where an append left the stream and the log.
type AppendResult struct {
	// Revision is the revision of the last event of the batch, the value to
	// pass as Exact for the next append to the stream.
	Revision Revision
	// Position is the global position of the last event of the batch: the
	// consistency token a caller may wait for.
	Position Position
}

// Store is the storage contract. Implementations are embedded and kurrent;
// both must pass eventstoretest.Run. All methods are safe for concurrent use.
type Store interface {
	// Append atomically writes events at the end of stream if the stream
	// matches expected, and returns once they are durable. Either all events
	// are written, contiguously in the stream and in the log, or none.
	//
	// Re-appending a batch whose event IDs are all already stored, in the same
	// stream and order, writes nothing and returns the original result,
	// whatever expected says (a retry after a lost acknowledgement). A batch
	// of which only some IDs are stored fails with ErrDuplicateEventID.
	//
	// Errors: ErrWrongRevision, ErrInvalidEvent, ErrDuplicateEventID,
	// ErrClosed, or the context's error. An error other than ErrWrongRevision
	// and ErrInvalidEvent does not say whether the events were written;
	// retrying with the same IDs is safe.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...Event) (AppendResult, error)

	// ReadStream calls fn for each event of stream in the given direction,
	// starting at revision from (inclusive; with Backward, End starts at the
	// last event). A stream with no events yields no calls and no error.
	// An error from fn stops the read and is returned as is.
	ReadStream(ctx context.Context, stream string, dir Direction, from Revision, fn func(Envelope) error) error

	// ReadAll calls fn for each event after position from (exclusive), in
	// global order. Start reads from the beginning. Without follow it returns
	// nil at the end of the log; with follow it then waits for new events and
	// delivers them until ctx ends (returning ctx's error) or fn fails. No
	// event is delivered twice or skipped, including when from is the last
	// position of the log. An error from fn stops the read and is returned as is.
	ReadAll(ctx context.Context, from Position, follow bool, fn func(Envelope) error) error

	// Head returns the position of the last event in the log, or Start if
	// the log is empty.
	Head(ctx context.Context) (Position, error)

	// Close releases the store. Appends in flight either complete or fail;
	// later calls return ErrClosed.
	Close() error
}

// ValidateStream reports whether name can be used as a stream name: 1 to 255
// bytes of printable ASCII without spaces, not starting with '$' (KurrentDB's
// system streams).
func ValidateStream(name string) error {
	if name == "" || len(name) > 255 || name[0] == '$' {
		return errors.Join(ErrInvalidEvent, errors.New("stream name must be 1-255 bytes and not start with '$'"))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' {
			return errors.Join(ErrInvalidEvent, errors.New("stream name must be printable ASCII without spaces"))
		}
	}
	return nil
}

// Validate reports whether e can be appended: a non-nil ID, a type name,
// and data that is one valid JSON value.
func (e Event) Validate() error {
	switch {
	case e.ID == uuid.Nil:
		return errors.Join(ErrInvalidEvent, errors.New("event id is nil"))
	case e.Type == "" || len(e.Type) > 255 || e.Type[0] == '$':
		return errors.Join(ErrInvalidEvent, errors.New("event type must be 1-255 bytes and not start with '$'"))
	case e.SchemaVersion < 0:
		return errors.Join(ErrInvalidEvent, errors.New("schema version is negative"))
	case !json.Valid(e.Data):
		return errors.Join(ErrInvalidEvent, errors.New("event data is not valid JSON"))
	case !e.RecordedAt.IsZero() && (e.RecordedAt.Before(minRecordedAt) || e.RecordedAt.After(maxRecordedAt)):
		return errors.Join(ErrInvalidEvent, errors.New("recorded-at lies outside 1678-2262, the range of the canonical encoding"))
	}
	for _, s := range []string{e.Type, string(e.Actor.Kind), e.Actor.UserID, e.Actor.OrgID, e.Actor.Name, e.CorrelationID, e.CausationID, e.RequestID} {
		if !utf8.ValidString(s) {
			return errors.Join(ErrInvalidEvent, errors.New("envelope text is not valid UTF-8"))
		}
	}
	return nil
}

// The canonical encoding stores RecordedAt as int64 Unix nanoseconds.
var (
	minRecordedAt = time.Unix(0, math.MinInt64).UTC()
	maxRecordedAt = time.Unix(0, math.MaxInt64).UTC()
)

// ValidateBatch checks stream and events as Append requires.
func ValidateBatch(stream string, events []Event) error {
	if err := ValidateStream(stream); err != nil {
		return err
	}
	if len(events) == 0 {
		return errors.Join(ErrInvalidEvent, errors.New("no events to append"))
	}
	seen := make(map[uuid.UUID]struct{}, len(events))
	for _, e := range events {
		if err := e.Validate(); err != nil {
			return err
		}
		if _, dup := seen[e.ID]; dup {
			return errors.Join(ErrInvalidEvent, errors.New("event id repeated within the batch"))
		}
		seen[e.ID] = struct{}{}
	}
	return nil
}

// Normalize returns e as it will be stored: schema version at least 1,
// RecordedAt in UTC (now when zero), and Data as compact JSON, so that it
// survives a round trip through any JSON encoder (export, KurrentDB) byte for
// byte. Call it after Validate.
func (e Event) Normalize(now time.Time) Event {
	if !compactJSON(e.Data) {
		var buf bytes.Buffer
		if json.Compact(&buf, e.Data) == nil {
			e.Data = buf.Bytes()
		}
	}
	if e.SchemaVersion == 0 {
		e.SchemaVersion = 1
	}
	if e.RecordedAt.IsZero() {
		e.RecordedAt = now
	}
	e.RecordedAt = e.RecordedAt.UTC()
	return e
}

// compactJSON reports whether data has no white space outside its strings,
// as json.Marshal writes it: json.Compact would return it unchanged (for
// valid JSON), so Normalize need not copy it.
func compactJSON(data []byte) bool {
	in := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if in {
			if c == '\\' {
				i++
			} else if c == '"' {
				in = false
			}
			continue
		}
		switch c {
		case '"':
			in = true
		case ' ', '\t', '\n', '\r':
			return false
		}
	}
	return true
}

// Envelope returns the envelope for e stored at stream, rev and pos.
func (e Event) Envelope(stream string, rev Revision, pos Position) Envelope {
	return Envelope{
		ID: e.ID, Stream: stream, Revision: rev, Position: pos,
		Type: e.Type, SchemaVersion: e.SchemaVersion, RecordedAt: e.RecordedAt,
		Actor: e.Actor, CorrelationID: e.CorrelationID, CausationID: e.CausationID,
		RequestID: e.RequestID, Data: e.Data,
	}
}
