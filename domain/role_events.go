package domain

import "github.com/google/uuid"

// RoleCreated: a role was defined in an organization. Permissions are
// normalized (every value spelled out). BuiltIn marks the organization's
// Administrator role, which holds every permission and cannot be changed.
type RoleCreated struct {
	RoleID      uuid.UUID   `json:"roleId"`
	OrgID       uuid.UUID   `json:"orgId"`
	Name        string      `json:"name"`
	Permissions Permissions `json:"permissions"`
	BuiltIn     bool        `json:"builtIn"`
}

// RoleUpdated: a role's name and permissions were replaced. Every user
// holding the role has the new permissions from then on.
type RoleUpdated struct {
	RoleID      uuid.UUID   `json:"roleId"`
	Name        string      `json:"name"`
	Permissions Permissions `json:"permissions"`
}

// EventType returns "RoleCreated".
func (RoleCreated) EventType() string { return "RoleCreated" }

// EventType returns "RoleUpdated".
func (RoleUpdated) EventType() string { return "RoleUpdated" }

func (RoleCreated) isEvent() {}
func (RoleUpdated) isEvent() {}
