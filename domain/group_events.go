package domain

import "github.com/google/uuid"

// GroupCreated: a group of users was created in an organization.
type GroupCreated struct {
	GroupID uuid.UUID `json:"groupId"`
	OrgID   uuid.UUID `json:"orgId"`
	Name    string    `json:"name"`
}

// GroupMemberAdded: a user joined the group; the group's access-list entries
// act for it from then on.
type GroupMemberAdded struct {
	GroupID uuid.UUID `json:"groupId"`
	UserID  uuid.UUID `json:"userId"`
}

// GroupMemberRemoved: a user left the group; the group's entries no longer
// act for it.
type GroupMemberRemoved struct {
	GroupID uuid.UUID `json:"groupId"`
	UserID  uuid.UUID `json:"userId"`
}

// EventType returns "GroupCreated".
func (GroupCreated) EventType() string { return "GroupCreated" }

// EventType returns "GroupMemberAdded".
func (GroupMemberAdded) EventType() string { return "GroupMemberAdded" }

// EventType returns "GroupMemberRemoved".
func (GroupMemberRemoved) EventType() string { return "GroupMemberRemoved" }

func (GroupCreated) isEvent()       {}
func (GroupMemberAdded) isEvent()   {}
func (GroupMemberRemoved) isEvent() {}
