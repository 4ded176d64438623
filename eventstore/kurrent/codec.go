package kurrent

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/custodian/custodian/eventstore"
)

// metadataFormat is the version of the metadata object this package writes.
const metadataFormat = 1

// recordedAtLayout is RFC 3339 in UTC with all nine fractional digits, so that
// the stored text has one form per instant and sorts as it reads.
const recordedAtLayout = "2006-01-02T15:04:05.000000000Z07:00"

// metadata is the JSON object stored as a KurrentDB event's metadata: the
// envelope fields KurrentDB has no place for.
type metadata struct {
	Format        int              `json:"custodian"`
	SchemaVersion int              `json:"schemaVersion"`
	RecordedAt    string           `json:"recordedAt"`
	Actor         eventstore.Actor `json:"actor"`
	CorrelationID string           `json:"$correlationId,omitempty"`
	CausationID   string           `json:"$causationId,omitempty"`
	RequestID     string           `json:"requestId,omitempty"`
}

// encodeMetadata returns the metadata of a normalized event.
func encodeMetadata(e eventstore.Event) ([]byte, error) {
	return json.Marshal(metadata{
		Format:        metadataFormat,
		SchemaVersion: e.SchemaVersion,
		RecordedAt:    e.RecordedAt.UTC().Format(recordedAtLayout),
		Actor:         e.Actor,
		CorrelationID: e.CorrelationID,
		CausationID:   e.CausationID,
		RequestID:     e.RequestID,
	})
}

// decodeMetadata parses metadata written by encodeMetadata into the envelope
// fields it holds.
func decodeMetadata(b []byte, env *eventstore.Envelope) error {
	var m metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("metadata is not a JSON object: %w", err)
	}
	if m.Format != metadataFormat {
		return fmt.Errorf("metadata format %d, want %d (not an event written by Custodian?)", m.Format, metadataFormat)
	}
	t, err := time.Parse(time.RFC3339Nano, m.RecordedAt)
	if err != nil {
		return fmt.Errorf("metadata recordedAt: %w", err)
	}
	env.SchemaVersion = m.SchemaVersion
	env.RecordedAt = t.UTC()
	env.Actor = m.Actor
	env.CorrelationID = m.CorrelationID
	env.CausationID = m.CausationID
	env.RequestID = m.RequestID
	return nil
}

// checkStorable refuses, with ErrInvalidEvent, what would not survive the trip
// through KurrentDB unchanged: text that is not UTF-8 (JSON and protobuf strings
// would replace or reject it) and a recorded-at outside RFC 3339's years. e must
// be normalized.
func checkStorable(e eventstore.Event) error {
	for _, s := range []string{e.Type, string(e.Actor.Kind), e.Actor.UserID, e.Actor.OrgID, e.Actor.Name,
		e.CorrelationID, e.CausationID, e.RequestID} {
		if !utf8.ValidString(s) {
			return errors.Join(eventstore.ErrInvalidEvent, fmt.Errorf("event %s: text fields must be UTF-8", e.ID))
		}
	}
	if y := e.RecordedAt.Year(); y < 0 || y > 9999 {
		return errors.Join(eventstore.ErrInvalidEvent, fmt.Errorf("event %s: recorded-at year %d is out of range", e.ID, y))
	}
	return nil
}

// eventData is how a normalized event is sent to KurrentDB.
func eventData(e eventstore.Event) (esdb.EventData, error) {
	meta, err := encodeMetadata(e)
	if err != nil {
		return esdb.EventData{}, err
	}
	return esdb.EventData{
		EventID:     e.ID,
		EventType:   e.Type,
		ContentType: esdb.ContentTypeJson,
		Data:        e.Data,
		Metadata:    meta,
	}, nil
}

// isSystem reports whether a recorded event is KurrentDB's own (a system stream,
// a system event type such as a link "$>") rather than one of ours.
func isSystem(rec *esdb.RecordedEvent) bool {
	return strings.HasPrefix(rec.StreamID, "$") || strings.HasPrefix(rec.EventType, "$")
}

// envelope rebuilds the stored envelope of a recorded event. Errors wrap
// eventstore.ErrCorrupt and name the event.
func envelope(rec *esdb.RecordedEvent) (eventstore.Envelope, error) {
	env := eventstore.Envelope{
		ID:       rec.EventID,
		Stream:   rec.StreamID,
		Revision: eventstore.Revision(rec.EventNumber),
		Position: fromESDBPosition(rec.Position),
		Type:     rec.EventType,
		Data:     json.RawMessage(rec.Data),
	}
	if rec.Position.Commit == math.MaxUint64 {
		// Servers before 22.10, and events of explicit transactions, do not
		// report the log position of an event read from its stream.
		return eventstore.Envelope{}, fmt.Errorf("%w: event %s (%s@%d) has no known log position",
			eventstore.ErrCorrupt, rec.EventID, rec.StreamID, rec.EventNumber)
	}
	if err := decodeMetadata(rec.UserMetadata, &env); err != nil {
		return eventstore.Envelope{}, fmt.Errorf("%w: event %s (%s@%d) at %s: %w",
			eventstore.ErrCorrupt, rec.EventID, rec.StreamID, rec.EventNumber, env.Position, err)
	}
	return env, nil
}

// fromESDBPosition converts a KurrentDB log position, keeping both halves.
func fromESDBPosition(p esdb.Position) eventstore.Position {
	return eventstore.Position{Commit: p.Commit, Prepare: p.Prepare}
}

// toAllPosition converts a position into where a read or subscription of $all
// starts: esdb.Start for eventstore.Start, else the position itself.
func toAllPosition(p eventstore.Position) esdb.AllPosition {
	if p.IsStart() {
		return esdb.Start{}
	}
	return esdb.Position{Commit: p.Commit, Prepare: p.Prepare}
}

// toExpectedRevision maps the contract's expected revision to the client's.
func toExpectedRevision(r eventstore.ExpectedRevision) (esdb.ExpectedRevision, error) {
	switch r {
	case eventstore.Any:
		return esdb.Any{}, nil
	case eventstore.NoStream:
		return esdb.NoStream{}, nil
	case eventstore.StreamExists:
		return esdb.StreamExists{}, nil
	}
	if n, ok := r.(eventstore.Exact); ok {
		return esdb.StreamRevision{Value: uint64(n)}, nil
	}
	return nil, errors.Join(eventstore.ErrInvalidEvent, fmt.Errorf("unknown expected revision %v", r))
}

// sentinelFor is the eventstore sentinel a client error code stands for, or nil.
func sentinelFor(code esdb.ErrorCode) error {
	switch code {
	case esdb.ErrorCodeWrongExpectedVersion:
		return eventstore.ErrWrongRevision
	case esdb.ErrorCodeConnectionClosed:
		return eventstore.ErrClosed
	}
	return nil
}

// translate wraps a client error with the sentinel it stands for, keeping the
// client error in the chain. esdb.FromError is not used: it reports ok for a
// nil error and does not unwrap.
func translate(err error) error {
	var esErr *esdb.Error
	if errors.As(err, &esErr) {
		if sentinel := sentinelFor(esErr.Code()); sentinel != nil {
			return fmt.Errorf("%w: %w", sentinel, err)
		}
	}
	return err
}

// hasCode reports whether err is a client error with the given code.
func hasCode(err error, code esdb.ErrorCode) bool {
	var esErr *esdb.Error
	return errors.As(err, &esErr) && esErr.Code() == code
}

// connectionString turns a KurrentDB connection string into one the esdb
// package accepts: esdb:// and esdb+discover:// pass, and the newer clients'
// kurrentdb://, kurrentdb+discover://, kurrent:// and kurrent+discover:// are
// rewritten to them. The scheme is matched without regard to case.
func connectionString(s string) (string, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", errors.New("kurrent: connection string has no scheme; want esdb://host:port?tls=false or kurrentdb://…")
	}
	switch strings.ToLower(scheme) {
	case "esdb", "kurrentdb", "kurrent":
		return "esdb://" + rest, nil
	case "esdb+discover", "kurrentdb+discover", "kurrent+discover":
		return "esdb+discover://" + rest, nil
	}
	return "", fmt.Errorf("kurrent: connection string scheme %q is not one of esdb, esdb+discover, kurrentdb, kurrentdb+discover", scheme)
}

// parseConnectionString parses a connection string without ever repeating it
// in an error, because it may hold a password.
func parseConnectionString(s string) (*esdb.Configuration, error) {
	rewritten, err := connectionString(s)
	if err != nil {
		return nil, err
	}
	conf, err := esdb.ParseConnectionString(rewritten)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("kurrent: invalid connection string: %w", err)
	}
	return conf, nil
}
