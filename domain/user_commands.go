package domain

import (
	"time"

	"github.com/google/uuid"
)

// CreateUser adds a user to the actor's organization (org.admin). Role is
// the state of the role to give (the api loads role-<id>); it must be a role
// of the organization. Subject is optional (empty: the user's id); the api
// checks it is free with CheckSubject before issuing the command.
type CreateUser struct {
	UserID  uuid.UUID
	Name    string
	Email   string
	BadgeID string
	Subject string
	Role    Role
	Actor   Subject
	Now     time.Time
}

// CreateFirstAdministrator creates a new organization's first user, with
// the id and the Administrator role the organization recorded. It is issued
// by the api right after CreateOrganization and CreateAdministratorRole, with
// the organization's state, and needs no Subject. Issued again for a user
// that exists, it does nothing.
type CreateFirstAdministrator struct {
	Org     Organization
	Name    string
	Email   string
	BadgeID string
	Subject string
	Now     time.Time
}

// UpdateUser changes a user's role, or deactivates or reactivates it
// (org.admin; PATCH). Fields left unset stay as they are.
//
// The last-administrator rule (CheckAdministratorRemains) needs facts the
// api reads from the directory: CurrentRole, the state of the user's current
// role, and OtherActiveAdmins, the number of active users of the
// organization other than this one whose role holds org.admin.
type UpdateUser struct {
	UserID uuid.UUID
	// Role is the state of the new role.
	Role              Optional[Role]
	Active            Optional[bool]
	CurrentRole       Role
	OtherActiveAdmins int
	Actor             Subject
	Now               time.Time
}

func (CreateUser) isCommand()               {}
func (CreateFirstAdministrator) isCommand() {}
func (UpdateUser) isCommand()               {}
