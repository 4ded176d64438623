package domain

import "github.com/google/uuid"

// Events of the evidence stream, evidence-<id>: an item's content and
// custody facts. Where the item is, its class and who may see it are facts
// of its case's stream (EvidenceAdded and the events after it).

// EvidenceRegistered: the evidence stream was opened for an item added to a
// case, with what was declared about its content (any of it may be empty).
type EvidenceRegistered struct {
	EvidenceID uuid.UUID `json:"evidenceId"`
	CaseID     uuid.UUID `json:"caseId"`
	OrgID      uuid.UUID `json:"orgId"`
	MediaType  string    `json:"mediaType,omitempty"`
	SHA256     string    `json:"sha256,omitempty"`
	SizeBytes  int64     `json:"sizeBytes,omitempty"`
}

// EvidenceContentAttached: the item's content was stored, once. SHA256 (hex)
// and SizeBytes are of the bytes stored.
type EvidenceContentAttached struct {
	EvidenceID uuid.UUID `json:"evidenceId"`
	SHA256     string    `json:"sha256"`
	SizeBytes  int64     `json:"sizeBytes"`
	MediaType  string    `json:"mediaType"`
}

// EventType returns "EvidenceRegistered".
func (EvidenceRegistered) EventType() string { return "EvidenceRegistered" }

// EventType returns "EvidenceContentAttached".
func (EvidenceContentAttached) EventType() string { return "EvidenceContentAttached" }

func (EvidenceRegistered) isEvent()      {}
func (EvidenceContentAttached) isEvent() {}
