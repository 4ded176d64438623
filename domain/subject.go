package domain

import (
	"slices"

	"github.com/google/uuid"
)

// Subject is the user an access decision is about: who they are, their
// organization, whether they are active, their role's permissions and the
// groups they belong to. The api builds it from the directory (see
// NewSubject); the zero Subject may do nothing.
type Subject struct {
	UserID      uuid.UUID
	OrgID       uuid.UUID
	Active      bool
	Permissions Permissions
	// Groups are the ids of the groups the user is a member of.
	Groups []uuid.UUID
}

// NewSubject returns the Subject for user u with role r and the groups it is
// a member of. A role that is not u's (another id or organization) gives no
// permissions.
func NewSubject(u User, r Role, groups []uuid.UUID) Subject {
	s := Subject{UserID: u.ID, OrgID: u.OrgID, Active: u.Active, Groups: groups}
	if r.ID != uuid.Nil && r.ID == u.RoleID && r.OrgID == u.OrgID {
		s.Permissions = r.Permissions
	}
	return s
}

// actsFor reports whether an entry for p acts for s: p is s itself, or a
// group s is a member of.
func (s Subject) actsFor(p Principal) bool {
	switch p.Type {
	case PrincipalUser:
		return p.ID == s.UserID
	case PrincipalGroup:
		return slices.Contains(s.Groups, p.ID)
	}
	return false
}

// memberOf reports whether s is an active user of organization org.
func (s Subject) memberOf(org uuid.UUID) bool {
	return s.Active && org != uuid.Nil && s.OrgID == org && s.UserID != uuid.Nil
}
