package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits on free text, in characters (runes).
const (
	MaxNameLen        = 200   // names of organizations, users, groups, roles, folders
	MaxTitleLen       = 500   // case and evidence titles
	MaxDescriptionLen = 20000 // case descriptions
)

// text returns v without surrounding white space, or an error wrapping
// ErrInvalidInput when it is blank (if required), longer than max runes, not
// UTF-8, or holds control characters (new lines and tabs are allowed only
// when multiline).
func text(field, v string, required bool, max int, multiline bool) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case required && v == "":
		return "", fieldErr(field, ErrInvalidInput, "is required")
	case !utf8.ValidString(v):
		return "", fieldErr(field, ErrInvalidInput, "is not UTF-8")
	case utf8.RuneCountInString(v) > max:
		return "", fieldErr(field, ErrInvalidInput, "is longer than %d characters", max)
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
			return "", fieldErr(field, ErrInvalidInput, "holds a control character")
		}
	}
	return v, nil
}

// id returns an error wrapping ErrInvalidInput when v is uuid.Nil.
func id(field string, v uuid.UUID) error {
	if v == uuid.Nil {
		return fieldErr(field, ErrInvalidInput, "is required")
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// classErr refuses an access class outside its enumeration, on accessClass.
func classErr(class AccessClass) error {
	return fieldErr("accessClass", ErrInvalidAccessClass, "%q is not unrestricted, restricted or confidential", class)
}

// levelErr refuses an access level outside its enumeration, on field.
func levelErr(field string, level AccessLevel) error {
	return fieldErr(field, ErrInvalidAccessLevel, "%q is not role or view", level)
}

// ownerErr refuses an owner that is not a user of the organization.
func ownerErr(owner uuid.UUID) error {
	return fieldErr("ownerId", ErrUnknownUser, "%s is not a user of this organization", owner)
}
