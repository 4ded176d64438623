package domain

import (
	"fmt"
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
		return "", fmt.Errorf("%s is required: %w", field, ErrInvalidInput)
	case !utf8.ValidString(v):
		return "", fmt.Errorf("%s is not UTF-8: %w", field, ErrInvalidInput)
	case utf8.RuneCountInString(v) > max:
		return "", fmt.Errorf("%s is longer than %d characters: %w", field, max, ErrInvalidInput)
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
			return "", fmt.Errorf("%s holds a control character: %w", field, ErrInvalidInput)
		}
	}
	return v, nil
}

// id returns an error wrapping ErrInvalidInput when v is uuid.Nil.
func id(field string, v uuid.UUID) error {
	if v == uuid.Nil {
		return fmt.Errorf("%s is required: %w", field, ErrInvalidInput)
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
