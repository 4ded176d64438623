package domain

import (
	"time"

	"github.com/google/uuid"
)

// Events of the case stream, case-<id>. Everything an access decision reads
// about the case's evidence (items, classes, folders, who added them, their
// own access lists) is here, so that a class change and its inheritance are
// one atomic append.

// CaseCreated: a case was opened in an organization.
type CaseCreated struct {
	CaseID      uuid.UUID   `json:"caseId"`
	OrgID       uuid.UUID   `json:"orgId"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	OwnerID     uuid.UUID   `json:"ownerId"`
	AccessClass AccessClass `json:"accessClass"`
}

// CaseTitleChanged: the case's title was changed.
type CaseTitleChanged struct {
	CaseID uuid.UUID `json:"caseId"`
	Title  string    `json:"title"`
}

// CaseDescriptionChanged: the case's description was changed.
type CaseDescriptionChanged struct {
	CaseID      uuid.UUID `json:"caseId"`
	Description string    `json:"description"`
}

// CaseOwnerChanged: the case was assigned to another owner.
type CaseOwnerChanged struct {
	CaseID          uuid.UUID `json:"caseId"`
	OwnerID         uuid.UUID `json:"ownerId"`
	PreviousOwnerID uuid.UUID `json:"previousOwnerId"`
}

// FolderCreated: a folder was created in the case.
type FolderCreated struct {
	CaseID   uuid.UUID `json:"caseId"`
	FolderID uuid.UUID `json:"folderId"`
	Name     string    `json:"name"`
}

// EvidenceAdded: an evidence item was added to the case. AccessClass is the
// item's effective class: the stricter of the class it was given and the
// case's class at that moment.
type EvidenceAdded struct {
	CaseID      uuid.UUID   `json:"caseId"`
	EvidenceID  uuid.UUID   `json:"evidenceId"`
	Title       string      `json:"title"`
	FolderID    uuid.UUID   `json:"folderId,omitzero"`
	AccessClass AccessClass `json:"accessClass"`
	AddedBy     uuid.UUID   `json:"addedBy"`
}

// EvidenceRemoved: an evidence item was removed from the case, with its own
// access list.
type EvidenceRemoved struct {
	CaseID     uuid.UUID `json:"caseId"`
	EvidenceID uuid.UUID `json:"evidenceId"`
}

// Reclassification is one evidence item whose class a case class change raised.
type Reclassification struct {
	EvidenceID uuid.UUID   `json:"evidenceId"`
	From       AccessClass `json:"from"`
	To         AccessClass `json:"to"`
}

// AccessClassApplied: the case was given the restricted or confidential
// class. Reclassified lists every evidence item whose class rose to it (none
// is ever lowered). Notify is who was on the case's access list (active
// entries) and is told the class changed and that they keep access.
type AccessClassApplied struct {
	CaseID        uuid.UUID          `json:"caseId"`
	AccessClass   AccessClass        `json:"accessClass"`
	PreviousClass AccessClass        `json:"previousClass"`
	Reclassified  []Reclassification `json:"reclassified"`
	Notify        []Principal        `json:"notify"`
}

// AccessClassRemoved: the case was made unrestricted again. Evidence keeps
// its classes. Notify is who was on the case's access list (active entries)
// and is told that the restriction was removed.
type AccessClassRemoved struct {
	CaseID        uuid.UUID   `json:"caseId"`
	PreviousClass AccessClass `json:"previousClass"`
	Notify        []Principal `json:"notify"`
}

// InternalAccessGranted: principals were put on the case's access list, or,
// when EvidenceID is set, on that evidence item's own list. Each entry's
// principal is a grantee to notify (a group through its members).
type InternalAccessGranted struct {
	CaseID     uuid.UUID     `json:"caseId"`
	EvidenceID uuid.UUID     `json:"evidenceId,omitzero"`
	Entries    []AccessEntry `json:"entries"`
}

// InternalAccessModified: the level or expiry of a principal's entry was
// changed (a zero ExpiresAt: until removed). The principal is notified.
type InternalAccessModified struct {
	CaseID     uuid.UUID   `json:"caseId"`
	EvidenceID uuid.UUID   `json:"evidenceId,omitzero"`
	Principal  Principal   `json:"principal"`
	Level      AccessLevel `json:"level"`
	ExpiresAt  time.Time   `json:"expiresAt,omitzero"`
}

// InternalAccessRemoved: a principal was taken off the list. The principal
// is notified.
type InternalAccessRemoved struct {
	CaseID     uuid.UUID `json:"caseId"`
	EvidenceID uuid.UUID `json:"evidenceId,omitzero"`
	Principal  Principal `json:"principal"`
}

// InternalAccessExpired: a principal's entry reached its expiry and left the
// list. Recorded by a reactor for the trail and the notification; the entry
// granted nothing from ExpiredAt on, whenever this was recorded.
type InternalAccessExpired struct {
	CaseID     uuid.UUID `json:"caseId"`
	EvidenceID uuid.UUID `json:"evidenceId,omitzero"`
	Principal  Principal `json:"principal"`
	ExpiredAt  time.Time `json:"expiredAt"`
}

// EventType returns "CaseCreated".
func (CaseCreated) EventType() string { return "CaseCreated" }

// EventType returns "CaseTitleChanged".
func (CaseTitleChanged) EventType() string { return "CaseTitleChanged" }

// EventType returns "CaseDescriptionChanged".
func (CaseDescriptionChanged) EventType() string { return "CaseDescriptionChanged" }

// EventType returns "CaseOwnerChanged".
func (CaseOwnerChanged) EventType() string { return "CaseOwnerChanged" }

// EventType returns "FolderCreated".
func (FolderCreated) EventType() string { return "FolderCreated" }

// EventType returns "EvidenceAdded".
func (EvidenceAdded) EventType() string { return "EvidenceAdded" }

// EventType returns "EvidenceRemoved".
func (EvidenceRemoved) EventType() string { return "EvidenceRemoved" }

// EventType returns "AccessClassApplied".
func (AccessClassApplied) EventType() string { return "AccessClassApplied" }

// EventType returns "AccessClassRemoved".
func (AccessClassRemoved) EventType() string { return "AccessClassRemoved" }

// EventType returns "InternalAccessGranted".
func (InternalAccessGranted) EventType() string { return "InternalAccessGranted" }

// EventType returns "InternalAccessModified".
func (InternalAccessModified) EventType() string { return "InternalAccessModified" }

// EventType returns "InternalAccessRemoved".
func (InternalAccessRemoved) EventType() string { return "InternalAccessRemoved" }

// EventType returns "InternalAccessExpired".
func (InternalAccessExpired) EventType() string { return "InternalAccessExpired" }

func (CaseCreated) isEvent()            {}
func (CaseTitleChanged) isEvent()       {}
func (CaseDescriptionChanged) isEvent() {}
func (CaseOwnerChanged) isEvent()       {}
func (FolderCreated) isEvent()          {}
func (EvidenceAdded) isEvent()          {}
func (EvidenceRemoved) isEvent()        {}
func (AccessClassApplied) isEvent()     {}
func (AccessClassRemoved) isEvent()     {}
func (InternalAccessGranted) isEvent()  {}
func (InternalAccessModified) isEvent() {}
func (InternalAccessRemoved) isEvent()  {}
func (InternalAccessExpired) isEvent()  {}
