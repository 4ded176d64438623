package domain

import "github.com/google/uuid"

// AccessDenied: a request was refused — a 403, a 404 that hid something that
// exists, or a command a rule refused — and recorded in the organization's
// audit stream, audit-<orgId> (design §6). Recording is rate-limited per
// actor: Suppressed counts this actor's refusals left out since the last
// one recorded. The actor is in the envelope.
type AccessDenied struct {
	OrgID      uuid.UUID `json:"orgId"`
	Method     string    `json:"method"`
	Route      string    `json:"route"`
	TargetType string    `json:"targetType"`
	TargetID   string    `json:"targetId,omitempty"`
	Status     int       `json:"status"`
	Reason     string    `json:"reason"`
	Suppressed int       `json:"suppressed,omitempty"`
}

// RequestRecorded: a command sent with an Idempotency-Key finished; a retry
// with the same key by the same caller gets this answer again. It is
// appended with the command's last events, in the same stream and the same
// atomic append, so it exists exactly when the command took effect. Every
// aggregate's Evolve ignores it.
type RequestRecorded struct {
	// KeyHash is the SHA-256 (hex) of the caller and the key.
	KeyHash string `json:"keyHash"`
	// BodyHash is the SHA-256 (hex) of the method, route and request body.
	BodyHash string `json:"bodyHash"`
	Status   int    `json:"status"`
	// Response is the JSON body that was sent.
	Response []byte `json:"response"`
}

// EventType returns "AccessDenied".
func (AccessDenied) EventType() string { return "AccessDenied" }

// EventType returns "RequestRecorded".
func (RequestRecorded) EventType() string { return "RequestRecorded" }

func (AccessDenied) isEvent()    {}
func (RequestRecorded) isEvent() {}

// AuditStream returns "audit-<orgId>", where refused attempts are recorded.
func AuditStream(org uuid.UUID) string { return "audit-" + org.String() }
