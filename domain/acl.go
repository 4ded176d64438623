package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// PrincipalType says whether a principal is a user or a group.
type PrincipalType string

// Principal types.
const (
	PrincipalUser  PrincipalType = "user"
	PrincipalGroup PrincipalType = "group"
)

// UnmarshalText decodes a type as JSON decodes any string, with the
// constants' memory for the known ones (see AccessClass.UnmarshalText).
func (t *PrincipalType) UnmarshalText(b []byte) error {
	*t = canonical(b, PrincipalUser, PrincipalGroup)
	return nil
}

// canonical returns the one of known that b spells, or else a copy of b.
func canonical[S ~string](b []byte, known ...S) S {
	for _, k := range known {
		if string(b) == string(k) {
			return k
		}
	}
	return S(b)
}

// Principal is a user or a group that can be on an access list.
type Principal struct {
	Type PrincipalType `json:"type"`
	ID   uuid.UUID     `json:"id"`
}

// UserPrincipal returns the principal for user id.
func UserPrincipal(id uuid.UUID) Principal { return Principal{Type: PrincipalUser, ID: id} }

// GroupPrincipal returns the principal for group id.
func GroupPrincipal(id uuid.UUID) Principal { return Principal{Type: PrincipalGroup, ID: id} }

// Valid reports whether p has a known type and an id.
func (p Principal) Valid() bool {
	return (p.Type == PrincipalUser || p.Type == PrincipalGroup) && p.ID != uuid.Nil
}

// AccessLevel is what an access-list entry lets its principal do.
type AccessLevel string

// Access levels.
const (
	// LevelRole: the principal may do what its role permits on the case and
	// its evidence, even where the role alone would not let it see them.
	LevelRole AccessLevel = "role"
	// LevelView: the principal may only view the case and its evidence.
	LevelView AccessLevel = "view"
)

// Valid reports whether l is role or view.
func (l AccessLevel) Valid() bool { return l == LevelRole || l == LevelView }

// UnmarshalText decodes a level as JSON decodes any string, with the
// constants' memory for the known ones (see AccessClass.UnmarshalText).
func (l *AccessLevel) UnmarshalText(b []byte) error {
	*l = canonical(b, LevelRole, LevelView)
	return nil
}

// AccessEntry is one entry of an internal access list (a case's or an
// evidence item's). A zero ExpiresAt means until removed.
type AccessEntry struct {
	Principal Principal   `json:"principal"`
	Level     AccessLevel `json:"level"`
	ExpiresAt time.Time   `json:"expiresAt,omitzero"`
	GrantedBy uuid.UUID   `json:"grantedBy"`
	GrantedAt time.Time   `json:"grantedAt"`
}

// ActiveAt reports whether the entry grants anything at now: it has no
// expiry, or now is before it. From the expiry instant on it grants nothing.
func (e AccessEntry) ActiveAt(now time.Time) bool {
	return e.ExpiresAt.IsZero() || now.Before(e.ExpiresAt)
}

// AccessList is an internal access list: at most one entry per principal, in
// the order they were granted. Its methods never modify the receiver.
type AccessList []AccessEntry

// Find returns the entry for p, if p is on the list (active or not).
func (l AccessList) Find(p Principal) (AccessEntry, bool) {
	if i := l.index(p); i >= 0 {
		return l[i], true
	}
	return AccessEntry{}, false
}

// ActivePrincipals returns the principals whose entries are active at now,
// in list order. The result is never nil.
func (l AccessList) ActivePrincipals(now time.Time) []Principal {
	ps := make([]Principal, 0, len(l))
	for _, e := range l {
		if e.ActiveAt(now) {
			ps = append(ps, e.Principal)
		}
	}
	return ps
}

func (l AccessList) index(p Principal) int {
	return slices.IndexFunc(l, func(e AccessEntry) bool { return e.Principal == p })
}

// upsert returns a copy of l with e in place of p's entry, or appended.
func (l AccessList) upsert(e AccessEntry) AccessList {
	out := slices.Clone(l)
	if i := out.index(e.Principal); i >= 0 {
		out[i] = e
		return out
	}
	return append(out, e)
}

// modify returns a copy of l with p's level and expiry changed, keeping who
// granted it and when. A principal not on the list leaves it unchanged.
func (l AccessList) modify(p Principal, level AccessLevel, expiresAt time.Time) AccessList {
	i := l.index(p)
	if i < 0 {
		return l
	}
	out := slices.Clone(l)
	out[i].Level, out[i].ExpiresAt = level, expiresAt
	return out
}

// remove returns a copy of l without p's entry.
func (l AccessList) remove(p Principal) AccessList {
	i := l.index(p)
	if i < 0 {
		return l
	}
	return slices.Delete(slices.Clone(l), i, i+1)
}

// Grant asks for one principal to be put on an access list (or, when it is
// on it already, for its entry to be updated).
type Grant struct {
	Principal Principal
	// PrincipalOrgID is the organization of the principal as the api's
	// directory found it; uuid.Nil when the principal does not exist. Only
	// principals of the case's own organization can be on its lists.
	PrincipalOrgID uuid.UUID
	Level          AccessLevel
	// ExpiresAt is the end of the access; zero means until removed. It must
	// lie after the command's Now.
	ExpiresAt time.Time
}
