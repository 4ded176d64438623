package domain

import (
	"errors"
	"fmt"
)

// Kind classifies a refusal; api maps each Kind to one HTTP status.
type Kind int

// The kinds of refusal. The zero Kind is not a domain refusal.
const (
	Invalid   Kind = iota + 1 // the command is malformed (400)
	NotFound                  // no such aggregate, or not visible to the caller (404)
	Forbidden                 // visible, but the caller may not do this (403)
	Conflict                  // the current state forbids it, e.g. already exists (409)
	Refused                   // a rule refuses it, e.g. the last administrator (422)
)

// String returns the kind's lower-case name.
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Forbidden:
		return "forbidden"
	case Conflict:
		return "conflict"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// Error is a refusal by the domain. Its sentinel values below are matched with
// errors.Is; api finds the Kind with errors.As (or KindOf).
type Error struct {
	Kind Kind
	Msg  string
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// KindOf returns the Kind of the first *Error in err's chain, or 0 when err
// is not a domain refusal.
func KindOf(err error) Kind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return 0
}

// FieldError is a refusal of one field of a command's input. Field names it
// as the api's JSON does ("title", "entries[2].level"), Reason says what is
// wrong with it, and Err is the sentinel below that it wraps, so errors.Is
// and KindOf see through it. api reports it in a problem's errors list.
type FieldError struct {
	Field  string
	Reason string
	Err    error
}

// Error returns the field, the reason and the sentinel's message.
func (e *FieldError) Error() string { return e.Field + " " + e.Reason + ": " + e.Err.Error() }

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

// fieldErr returns a *FieldError of field wrapping err, its reason formatted.
func fieldErr(field string, err error, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: err}
}

// Invalid input. The wrapping message names the field.
var (
	// ErrInvalidInput is returned for a missing, blank, too long or malformed field.
	ErrInvalidInput = &Error{Kind: Invalid, Msg: "invalid input"}
	// ErrInvalidAccessClass is returned for an access class other than
	// unrestricted, restricted or confidential.
	ErrInvalidAccessClass = &Error{Kind: Invalid, Msg: "invalid access class"}
	// ErrInvalidAccessLevel is returned for an access level other than role or view.
	ErrInvalidAccessLevel = &Error{Kind: Invalid, Msg: "invalid access level"}
	// ErrInvalidPermissions is returned for a permission value outside its enumeration.
	ErrInvalidPermissions = &Error{Kind: Invalid, Msg: "invalid permissions"}
	// ErrExpiryNotInFuture is returned for an access expiry at or before the command's time.
	ErrExpiryNotInFuture = &Error{Kind: Invalid, Msg: "expiry must lie in the future"}
	// ErrUnknownPrincipal is returned when a user or group to put on an access
	// list is not a principal of the case's organization (or does not exist).
	ErrUnknownPrincipal = &Error{Kind: Invalid, Msg: "not a user or group of this organization"}
	// ErrUnknownUser is returned when a referenced user (owner, group member)
	// is not a user of the organization.
	ErrUnknownUser = &Error{Kind: Invalid, Msg: "not a user of this organization"}
	// ErrUnknownRole is returned when a referenced role is not a role of the organization.
	ErrUnknownRole = &Error{Kind: Invalid, Msg: "not a role of this organization"}
	// ErrUnknownFolder is returned when a referenced folder is not a folder of the case.
	ErrUnknownFolder = &Error{Kind: Invalid, Msg: "not a folder of this case"}
	// ErrSubjectReserved is returned for a sign-in subject that belongs to an
	// operator, or that is another user's id.
	ErrSubjectReserved = &Error{Kind: Invalid, Msg: "subject is reserved"}
)

// Not found, or not visible to the caller (its existence is not revealed).
var (
	// ErrOrganizationNotFound is returned when the organization does not exist.
	ErrOrganizationNotFound = &Error{Kind: NotFound, Msg: "organization not found"}
	// ErrUserNotFound is returned when the user does not exist or is in another organization.
	ErrUserNotFound = &Error{Kind: NotFound, Msg: "user not found"}
	// ErrRoleNotFound is returned when the role does not exist or is in another organization.
	ErrRoleNotFound = &Error{Kind: NotFound, Msg: "role not found"}
	// ErrGroupNotFound is returned when the group does not exist or is in another organization.
	ErrGroupNotFound = &Error{Kind: NotFound, Msg: "group not found"}
	// ErrMemberNotFound is returned when removing a user who is not a member of the group.
	ErrMemberNotFound = &Error{Kind: NotFound, Msg: "not a member of the group"}
	// ErrCaseNotFound is returned when the case does not exist or the caller may not list it.
	ErrCaseNotFound = &Error{Kind: NotFound, Msg: "case not found"}
	// ErrEvidenceNotFound is returned when the evidence is not in the case or
	// the caller may not list it.
	ErrEvidenceNotFound = &Error{Kind: NotFound, Msg: "evidence not found"}
	// ErrAccessEntryNotFound is returned when the principal is not on the access list.
	ErrAccessEntryNotFound = &Error{Kind: NotFound, Msg: "principal not on the access list"}
)

// Forbidden: visible, but not permitted.
var (
	// ErrForbidden is returned when the caller may see the target but its
	// role, or the level of its access-list entry, does not permit the
	// action. The wrapping message names the missing permission.
	ErrForbidden = &Error{Kind: Forbidden, Msg: "not permitted"}
)

// Conflicts with the current state.
var (
	// ErrOrganizationExists is returned when creating an organization that exists.
	ErrOrganizationExists = &Error{Kind: Conflict, Msg: "organization already exists"}
	// ErrUserExists is returned when creating a user that exists.
	ErrUserExists = &Error{Kind: Conflict, Msg: "user already exists"}
	// ErrRoleExists is returned when creating a role that exists.
	ErrRoleExists = &Error{Kind: Conflict, Msg: "role already exists"}
	// ErrGroupExists is returned when creating a group that exists.
	ErrGroupExists = &Error{Kind: Conflict, Msg: "group already exists"}
	// ErrCaseExists is returned when creating a case that exists.
	ErrCaseExists = &Error{Kind: Conflict, Msg: "case already exists"}
	// ErrFolderExists is returned when a folder with that id or name is already in the case.
	ErrFolderExists = &Error{Kind: Conflict, Msg: "folder already exists"}
	// ErrEvidenceExists is returned when the evidence id is already in use.
	ErrEvidenceExists = &Error{Kind: Conflict, Msg: "evidence already exists"}
	// ErrContentAlreadyAttached is returned when evidence content is uploaded a second time.
	ErrContentAlreadyAttached = &Error{Kind: Conflict, Msg: "evidence content already attached"}
	// ErrSubjectTaken is returned when another user already signs in with the subject.
	ErrSubjectTaken = &Error{Kind: Conflict, Msg: "subject already taken"}
	// ErrOutdatedFacts is returned when facts a command carries about another
	// aggregate no longer match this one (e.g. the user's current role); the
	// caller reloads and retries.
	ErrOutdatedFacts = &Error{Kind: Conflict, Msg: "command facts are outdated"}
)

// Refused by a rule.
var (
	// ErrLastAdministrator is returned when a change would leave an
	// organization with no active holder of org.admin.
	ErrLastAdministrator = &Error{Kind: Refused, Msg: "the last active administrator cannot be deactivated or demoted"}
	// ErrBuiltInRole is returned when changing the built-in Administrator role.
	ErrBuiltInRole = &Error{Kind: Refused, Msg: "the built-in Administrator role cannot be changed"}
	// ErrContentMismatch is returned when uploaded content differs from the
	// digest or size declared when the evidence was added.
	ErrContentMismatch = &Error{Kind: Refused, Msg: "content does not match what was declared"}
)
