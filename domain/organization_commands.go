package domain

import (
	"time"

	"github.com/google/uuid"
)

// CreateOrganization sets up an organization on org-<OrgID>. Only operators
// may issue it; the api checks that before, so it carries no Subject. The
// api then issues CreateAdministratorRole on role-<AdminRoleID> and
// CreateFirstAdministrator on user-<AdminUserID>, each with the new
// Organization state.
type CreateOrganization struct {
	OrgID       uuid.UUID
	Name        string
	AdminRoleID uuid.UUID
	AdminUserID uuid.UUID
	Now         time.Time
}

func (CreateOrganization) isCommand() {}
