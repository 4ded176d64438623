package projections

import (
	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
)

// RequestsName is the name of the Requests projection.
const RequestsName = "requests"

// RecordedRequest is the answer recorded for an Idempotency-Key.
type RecordedRequest struct {
	BodyHash string
	Status   int
	Response []byte
	// Position is where the request's events ended (the record itself).
	Position eventstore.Position
}

// Requests indexes the answers of commands sent with an Idempotency-Key
// (domain.RequestRecorded), by the hash of caller and key. Records are kept
// for the life of the process, which is at least the 24 hours api.md asks.
type Requests struct {
	byKey map[string]RecordedRequest
}

// NewRequests returns an empty Requests projection.
func NewRequests() *Requests { return &Requests{byKey: map[string]RecordedRequest{}} }

// Name implements Projection.
func (*Requests) Name() string { return RequestsName }

// Version implements Projection.
func (*Requests) Version() int { return 1 }

// Apply implements Projection.
func (q *Requests) Apply(env eventstore.Envelope, e domain.Event) error {
	if r, ok := e.(domain.RequestRecorded); ok {
		if _, seen := q.byKey[r.KeyHash]; !seen {
			q.byKey[r.KeyHash] = RecordedRequest{BodyHash: r.BodyHash, Status: r.Status, Response: r.Response, Position: env.Position}
		}
	}
	return nil
}

// Lookup returns the answer recorded for keyHash.
func (q *Requests) Lookup(keyHash string) (RecordedRequest, bool) {
	r, ok := q.byKey[keyHash]
	return r, ok
}
