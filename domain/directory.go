package domain

import (
	"fmt"
	"unicode"

	"github.com/google/uuid"
)

// Rules of the directory that span several aggregates. One aggregate cannot
// see the others, so the api gathers the facts these pure functions need
// from its directory read model, and the commands carry them.

// MaxSubjectLen is the longest sign-in subject accepted, in bytes.
const MaxSubjectLen = 255

// CheckAdministratorRemains returns ErrLastAdministrator when a change would
// leave an organization with no active holder of org.admin: the affected
// users held it (active, through their role) before the change and do not
// after, and otherActiveAdmins, the number of active holders the change does
// not touch, is zero. UpdateUser and UpdateRole call it; the api supplies the
// count from its directory read model.
func CheckAdministratorRemains(heldBefore, heldAfter bool, otherActiveAdmins int) error {
	if heldBefore && !heldAfter && otherActiveAdmins <= 0 {
		return ErrLastAdministrator
	}
	return nil
}

// CheckSubject checks that user userID may sign in with subject, which is
// unique across all organizations. The empty subject stands for the user's
// id. holderOf looks a subject up in the api's directory of every
// organization (the user holding it, if any); isOperator reports whether a
// subject is an operator's. It returns ErrSubjectTaken when another user
// holds the subject, ErrSubjectReserved when it is an operator's or another
// user's id, and ErrInvalidInput when it is malformed.
//
// The api calls it before CreateUser and CreateFirstAdministrator. Two
// creations racing for one subject are not caught here; the directory read
// model that answers holderOf must reject the second (see the handoff notes).
func CheckSubject(subject string, userID uuid.UUID, holderOf func(subject string) (uuid.UUID, bool), isOperator func(subject string) bool) error {
	if subject == "" {
		subject = userID.String()
	}
	if err := validSubject(subject, userID); err != nil {
		return err
	}
	if isOperator(subject) {
		return fieldErr("subject", ErrSubjectReserved, "%q is an operator's", subject)
	}
	if holder, ok := holderOf(subject); ok && holder != userID {
		return fmt.Errorf("subject %q: %w", subject, ErrSubjectTaken)
	}
	return nil
}

// validSubject checks a subject's form: printable, no white space, at most
// MaxSubjectLen bytes, and not a UUID other than the user's own id (tokens
// of users without a subject carry their id).
func validSubject(subject string, userID uuid.UUID) error {
	if subject == "" || len(subject) > MaxSubjectLen {
		return fieldErr("subject", ErrInvalidInput, "must be 1 to %d bytes long", MaxSubjectLen)
	}
	for _, r := range subject {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fieldErr("subject", ErrInvalidInput, "%q holds white space or a control character", subject)
		}
	}
	if u, err := uuid.Parse(subject); err == nil && u != userID {
		return fieldErr("subject", ErrSubjectReserved, "%q is another user's id", subject)
	}
	return nil
}
