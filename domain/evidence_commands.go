package domain

import (
	"time"

	"github.com/google/uuid"
)

// RegisterEvidence opens evidence-<EvidenceID> for an item the case already
// holds: the api issues it after AddEvidence succeeded on the case, with the
// case's state after that append, by the same actor. The actor must be able
// to list the item (ErrEvidenceNotFound otherwise), hold evidence.add on the
// case and be the user who added the item (ErrForbidden otherwise). Issued
// again for the same item and case, it does nothing, so a retry after a
// partial failure is safe.
type RegisterEvidence struct {
	EvidenceID uuid.UUID
	Case       Case
	// MediaType, SHA256 (64 hex digits) and SizeBytes are what the client
	// declared; each may be empty or zero.
	MediaType string
	SHA256    string
	SizeBytes int64
	Actor     Subject
	Now       time.Time
}

// AttachContent records the item's stored content, once. The actor must be
// able to view the item, add evidence to its case and act on the item
// (CanActOnEvidence: not only through entries of level View). Case is the
// case's state. Declared digest and size, if any, must match.
type AttachContent struct {
	EvidenceID uuid.UUID
	Case       Case
	SHA256     string
	SizeBytes  int64
	MediaType  string
	Actor      Subject
	Now        time.Time
}

func (RegisterEvidence) isCommand() {}
func (AttachContent) isCommand()    {}
