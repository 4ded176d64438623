package domain

import (
	"time"

	"github.com/google/uuid"
)

// CreateRole defines a role in the actor's organization (org.admin).
// Permissions left out are the most restrictive.
type CreateRole struct {
	RoleID      uuid.UUID
	Name        string
	Permissions Permissions
	Actor       Subject
	Now         time.Time
}

// CreateAdministratorRole creates the built-in Administrator role of a new
// organization, with the id the organization recorded. It is issued by the
// api right after CreateOrganization, with that organization's state, and
// needs no Subject. Issued again for a role that exists, it does nothing.
type CreateAdministratorRole struct {
	Org Organization
	Now time.Time
}

// UpdateRole replaces a role's name and permissions (org.admin; PUT).
//
// The last-administrator rule (CheckAdministratorRemains) needs two facts
// the api reads from the directory: ActiveHolders, the number of active
// users holding this role, and OtherActiveAdmins, the number of active users
// holding org.admin through another role.
type UpdateRole struct {
	RoleID            uuid.UUID
	Name              string
	Permissions       Permissions
	ActiveHolders     int
	OtherActiveAdmins int
	Actor             Subject
	Now               time.Time
}

func (CreateRole) isCommand()              {}
func (CreateAdministratorRole) isCommand() {}
func (UpdateRole) isCommand()              {}
