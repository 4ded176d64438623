package domain

import (
	"time"

	"github.com/google/uuid"
)

// Commands on the case stream, case-<id>. Each carries the acting Subject
// and the time, and Case.Decide authorizes it: a case the actor may not list
// is ErrCaseNotFound (404), an action it may not take on a case it may list
// is ErrForbidden (403).

// CreateCase opens a case in the actor's organization. It needs
// cases.create; a class other than unrestricted needs what applying that
// class needs, and adds the actor to the access list.
type CreateCase struct {
	CaseID      uuid.UUID
	Title       string
	Description string
	// AccessClass is the initial class; empty means unrestricted.
	AccessClass AccessClass
	// OwnerID is the owner; uuid.Nil means the actor.
	OwnerID uuid.UUID
	// OwnerOrgID is the organization of OwnerID as the api's directory found
	// it (uuid.Nil if unknown); ignored when OwnerID is uuid.Nil.
	OwnerOrgID uuid.UUID
	Actor      Subject
	Now        time.Time
}

// EditCase changes a case's title, description or owner (cases.edit).
// Fields left unset stay as they are.
type EditCase struct {
	CaseID      uuid.UUID
	Title       Optional[string]
	Description Optional[string]
	Owner       Optional[uuid.UUID]
	// OwnerOrgID is the organization of Owner.Value as the api found it.
	OwnerOrgID uuid.UUID
	Actor      Subject
	Now        time.Time
}

// CreateFolder creates a folder in a case (cases.edit).
type CreateFolder struct {
	CaseID   uuid.UUID
	FolderID uuid.UUID
	Name     string
	Actor    Subject
	Now      time.Time
}

// AddEvidence adds an evidence item to a case (evidence.add), optionally in
// a folder and with its own class. The item's class becomes the stricter of
// the given class and the case's; a given class stricter than the case's
// needs evidence.applyClass for it. Its content and custody facts go to
// the evidence-<id> stream (RegisterEvidence), after this command.
type AddEvidence struct {
	CaseID     uuid.UUID
	EvidenceID uuid.UUID
	Title      string
	// FolderID is the folder; uuid.Nil means the case's top level.
	FolderID uuid.UUID
	// AccessClass is the class asked for; empty means the case's class.
	AccessClass AccessClass
	Actor       Subject
	Now         time.Time
}

// RemoveEvidence removes an evidence item from a case (cases.edit). The
// actor must be able to view the item (ErrEvidenceNotFound if it may not
// list it, ErrForbidden if it may list but not view it) and to act on it
// (CanActOnEvidence: not only through entries of level View).
type RemoveEvidence struct {
	CaseID     uuid.UUID
	EvidenceID uuid.UUID
	Actor      Subject
	Now        time.Time
}

// ChangeAccessClass sets a case's class (design §4, "Class changes"). A
// change to the class the case already has produces nothing, but still
// needs the actor to be able to act on the case (CanView, not only through
// entries of level View).
type ChangeAccessClass struct {
	CaseID      uuid.UUID
	AccessClass AccessClass
	Actor       Subject
	Now         time.Time
}

// GrantAccess puts principals on the case's access list or, when EvidenceID
// is set, on that item's own list (cases.access.manage; for an item's list
// the actor must also view the item and act on it, see CanActOnEvidence). A
// principal already on the list has its entry updated instead.
type GrantAccess struct {
	CaseID     uuid.UUID
	EvidenceID uuid.UUID
	Grants     []Grant
	Actor      Subject
	Now        time.Time
}

// ModifyAccess changes a principal's level or expiry on the case's list (or
// the item's, when EvidenceID is set), with what GrantAccess needs. An actor
// who may not manage the list gets ErrForbidden whether or not the principal
// is on it; ErrAccessEntryNotFound is for those who may. ExpiresAt set to
// the zero time means until removed.
type ModifyAccess struct {
	CaseID     uuid.UUID
	EvidenceID uuid.UUID
	Principal  Principal
	Level      Optional[AccessLevel]
	ExpiresAt  Optional[time.Time]
	Actor      Subject
	Now        time.Time
}

// RemoveAccess takes a principal off the case's list (or the item's), with
// what GrantAccess needs; refusals as for ModifyAccess.
type RemoveAccess struct {
	CaseID     uuid.UUID
	EvidenceID uuid.UUID
	Principal  Principal
	Actor      Subject
	Now        time.Time
}

// RecordAccessExpiry records that a principal's entry expired. It is issued
// by the expiry reactor (a system actor, no Subject): it produces
// InternalAccessExpired only while the principal's entry still has exactly
// ExpiresAt and Now is not before it; otherwise there is nothing to record.
type RecordAccessExpiry struct {
	CaseID     uuid.UUID
	EvidenceID uuid.UUID
	Principal  Principal
	ExpiresAt  time.Time
	Now        time.Time
}

func (CreateCase) isCommand()         {}
func (EditCase) isCommand()           {}
func (CreateFolder) isCommand()       {}
func (AddEvidence) isCommand()        {}
func (RemoveEvidence) isCommand()     {}
func (ChangeAccessClass) isCommand()  {}
func (GrantAccess) isCommand()        {}
func (ModifyAccess) isCommand()       {}
func (RemoveAccess) isCommand()       {}
func (RecordAccessExpiry) isCommand() {}
