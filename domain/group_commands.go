package domain

import (
	"time"

	"github.com/google/uuid"
)

// CreateGroup creates a group in the actor's organization (org.admin).
type CreateGroup struct {
	GroupID uuid.UUID
	Name    string
	Actor   Subject
	Now     time.Time
}

// AddGroupMember adds a user to a group (org.admin). UserOrgID is the
// user's organization as the api's directory found it (uuid.Nil if the user
// does not exist); only users of the group's organization can join. Adding a
// member again does nothing.
type AddGroupMember struct {
	GroupID   uuid.UUID
	UserID    uuid.UUID
	UserOrgID uuid.UUID
	Actor     Subject
	Now       time.Time
}

// RemoveGroupMember removes a user from a group (org.admin).
type RemoveGroupMember struct {
	GroupID uuid.UUID
	UserID  uuid.UUID
	Actor   Subject
	Now     time.Time
}

func (CreateGroup) isCommand()       {}
func (AddGroupMember) isCommand()    {}
func (RemoveGroupMember) isCommand() {}
