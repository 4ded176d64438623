package domain

import "github.com/google/uuid"

// OrganizationCreated: an organization was set up. It names the ids its
// built-in Administrator role and its first administrator will have, so
// that the follow-up commands on their own streams can be checked against it
// (and retried after a partial failure).
type OrganizationCreated struct {
	OrgID       uuid.UUID `json:"orgId"`
	Name        string    `json:"name"`
	AdminRoleID uuid.UUID `json:"adminRoleId"`
	AdminUserID uuid.UUID `json:"adminUserId"`
}

// EventType returns "OrganizationCreated".
func (OrganizationCreated) EventType() string { return "OrganizationCreated" }

func (OrganizationCreated) isEvent() {}
