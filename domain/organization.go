package domain

import (
	"fmt"

	"github.com/google/uuid"
)

// Organization is the state of one organization, org-<id>. The zero
// Organization does not exist.
type Organization struct {
	ID          uuid.UUID
	Name        string
	AdminRoleID uuid.UUID
	AdminUserID uuid.UUID
}

var _ State[Organization] = Organization{}

// Evolve returns o with e applied.
func (o Organization) Evolve(e Event) Organization {
	if e, ok := e.(OrganizationCreated); ok {
		return Organization{ID: e.OrgID, Name: e.Name, AdminRoleID: e.AdminRoleID, AdminUserID: e.AdminUserID}
	}
	return o
}

// Decide returns the events cmd produces against o.
func (o Organization) Decide(cmd Command) ([]Event, error) {
	switch cmd := cmd.(type) {
	case CreateOrganization:
		const op = "create organization"
		name, err := text("name", cmd.Name, true, MaxNameLen, false)
		if err = firstErr(id("orgId", cmd.OrgID), id("adminRoleId", cmd.AdminRoleID), id("adminUserId", cmd.AdminUserID), err); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if cmd.AdminRoleID == cmd.AdminUserID || cmd.AdminRoleID == cmd.OrgID || cmd.AdminUserID == cmd.OrgID {
			return nil, fmt.Errorf("%s: the organization, role and user ids must differ: %w", op, ErrInvalidInput)
		}
		if o.ID != uuid.Nil {
			return nil, fmt.Errorf("%s %s: %w", op, cmd.OrgID, ErrOrganizationExists)
		}
		return []Event{OrganizationCreated{OrgID: cmd.OrgID, Name: name, AdminRoleID: cmd.AdminRoleID, AdminUserID: cmd.AdminUserID}}, nil
	}
	return nil, fmt.Errorf("organization: unknown command %T: %w", cmd, ErrInvalidInput)
}
