package domain

import (
	"fmt"

	"github.com/google/uuid"
)

// AdministratorRoleName is the name of every organization's built-in role.
const AdministratorRoleName = "Administrator"

// Role is the state of one role, role-<id>. The zero Role does not exist.
type Role struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	Name        string
	Permissions Permissions
	BuiltIn     bool
}

var _ State[Role] = Role{}

// Evolve returns r with e applied.
func (r Role) Evolve(e Event) Role {
	switch e := e.(type) {
	case RoleCreated:
		return Role{ID: e.RoleID, OrgID: e.OrgID, Name: e.Name, Permissions: e.Permissions, BuiltIn: e.BuiltIn}
	case RoleUpdated:
		r.Name, r.Permissions = e.Name, e.Permissions
	}
	return r
}

// Decide returns the events cmd produces against r.
func (r Role) Decide(cmd Command) ([]Event, error) {
	switch cmd := cmd.(type) {
	case CreateRole:
		const op = "create role"
		name, perms, err := roleInput(cmd.Name, cmd.Permissions)
		if err = firstErr(id("roleId", cmd.RoleID), err); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if !CanAdminister(cmd.Actor, cmd.Actor.OrgID) {
			return nil, forbidden(op, cmd.RoleID, string(ActionAdminister))
		}
		if r.ID != uuid.Nil {
			return nil, fmt.Errorf("%s %s: %w", op, cmd.RoleID, ErrRoleExists)
		}
		return []Event{RoleCreated{RoleID: cmd.RoleID, OrgID: cmd.Actor.OrgID, Name: name, Permissions: perms}}, nil
	case CreateAdministratorRole:
		const op = "create administrator role"
		if cmd.Org.ID == uuid.Nil {
			return nil, fmt.Errorf("%s: %w", op, ErrOrganizationNotFound)
		}
		if r.ID != uuid.Nil {
			if r.ID == cmd.Org.AdminRoleID && r.BuiltIn {
				return nil, nil
			}
			return nil, fmt.Errorf("%s %s: %w", op, cmd.Org.AdminRoleID, ErrRoleExists)
		}
		return []Event{RoleCreated{RoleID: cmd.Org.AdminRoleID, OrgID: cmd.Org.ID, Name: AdministratorRoleName,
			Permissions: AdministratorPermissions().Normalized(), BuiltIn: true}}, nil
	case UpdateRole:
		return r.update(cmd)
	}
	return nil, fmt.Errorf("role: unknown command %T: %w", cmd, ErrInvalidInput)
}

func (r Role) update(cmd UpdateRole) ([]Event, error) {
	const op = "update role"
	if r.ID == uuid.Nil || r.ID != cmd.RoleID || r.OrgID != cmd.Actor.OrgID {
		return nil, fmt.Errorf("%s %s: %w", op, cmd.RoleID, ErrRoleNotFound)
	}
	name, perms, err := roleInput(cmd.Name, cmd.Permissions)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, r.ID, err)
	}
	if !CanAdminister(cmd.Actor, r.OrgID) {
		return nil, forbidden(op, r.ID, string(ActionAdminister))
	}
	if r.BuiltIn {
		return nil, fmt.Errorf("%s %s: %w", op, r.ID, ErrBuiltInRole)
	}
	held := cmd.ActiveHolders > 0
	before, after := held && r.Permissions.Has(ActionAdminister), held && perms.Has(ActionAdminister)
	if err := CheckAdministratorRemains(before, after, cmd.OtherActiveAdmins); err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, r.ID, err)
	}
	if name == r.Name && perms.Equal(r.Permissions) {
		return nil, nil
	}
	return []Event{RoleUpdated{RoleID: r.ID, Name: name, Permissions: perms}}, nil
}

// roleInput validates and normalizes a role's name and permissions.
func roleInput(name string, p Permissions) (string, Permissions, error) {
	name, err := text("name", name, true, MaxNameLen, false)
	if err != nil {
		return "", Permissions{}, err
	}
	if err := p.Validate(); err != nil {
		return "", Permissions{}, fmt.Errorf("permissions: %w", err)
	}
	return name, p.Normalized(), nil
}
