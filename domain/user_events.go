package domain

import "github.com/google/uuid"

// UserCreated: a user was added to an organization, with a role, active.
// Subject is what its tokens carry as "sub": the one given, or the user's id.
type UserCreated struct {
	UserID  uuid.UUID `json:"userId"`
	OrgID   uuid.UUID `json:"orgId"`
	Name    string    `json:"name"`
	Email   string    `json:"email"`
	BadgeID string    `json:"badgeId"`
	RoleID  uuid.UUID `json:"roleId"`
	Subject string    `json:"subject"`
}

// UserRoleChanged: the user was given another role.
type UserRoleChanged struct {
	UserID         uuid.UUID `json:"userId"`
	RoleID         uuid.UUID `json:"roleId"`
	PreviousRoleID uuid.UUID `json:"previousRoleId"`
}

// UserDeactivated: the user may no longer sign in; every access decision
// about it is negative from then on.
type UserDeactivated struct {
	UserID uuid.UUID `json:"userId"`
}

// UserReactivated: a deactivated user was made active again.
type UserReactivated struct {
	UserID uuid.UUID `json:"userId"`
}

// EventType returns "UserCreated".
func (UserCreated) EventType() string { return "UserCreated" }

// EventType returns "UserRoleChanged".
func (UserRoleChanged) EventType() string { return "UserRoleChanged" }

// EventType returns "UserDeactivated".
func (UserDeactivated) EventType() string { return "UserDeactivated" }

// EventType returns "UserReactivated".
func (UserReactivated) EventType() string { return "UserReactivated" }

func (UserCreated) isEvent()     {}
func (UserRoleChanged) isEvent() {}
func (UserDeactivated) isEvent() {}
func (UserReactivated) isEvent() {}
