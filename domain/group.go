package domain

import (
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// Group is the state of one group, group-<id>. The zero Group does not exist.
type Group struct {
	ID      uuid.UUID
	OrgID   uuid.UUID
	Name    string
	Members []uuid.UUID
}

var _ State[Group] = Group{}

// HasMember reports whether user is a member of g.
func (g Group) HasMember(user uuid.UUID) bool { return slices.Contains(g.Members, user) }

// Evolve returns g with e applied.
func (g Group) Evolve(e Event) Group {
	switch e := e.(type) {
	case GroupCreated:
		return Group{ID: e.GroupID, OrgID: e.OrgID, Name: e.Name}
	case GroupMemberAdded:
		if !g.HasMember(e.UserID) {
			g.Members = append(slices.Clip(g.Members), e.UserID)
		}
	case GroupMemberRemoved:
		if i := slices.Index(g.Members, e.UserID); i >= 0 {
			g.Members = slices.Delete(slices.Clone(g.Members), i, i+1)
		}
	}
	return g
}

// Decide returns the events cmd produces against g.
func (g Group) Decide(cmd Command) ([]Event, error) {
	switch cmd := cmd.(type) {
	case CreateGroup:
		const op = "create group"
		name, err := text("name", cmd.Name, true, MaxNameLen, false)
		if err = firstErr(id("groupId", cmd.GroupID), err); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if !CanAdminister(cmd.Actor, cmd.Actor.OrgID) {
			return nil, forbidden(op, cmd.GroupID, string(ActionAdminister))
		}
		if g.ID != uuid.Nil {
			return nil, fmt.Errorf("%s %s: %w", op, cmd.GroupID, ErrGroupExists)
		}
		return []Event{GroupCreated{GroupID: cmd.GroupID, OrgID: cmd.Actor.OrgID, Name: name}}, nil
	case AddGroupMember:
		const op = "add member to group"
		if err := g.administered(op, cmd.GroupID, cmd.Actor); err != nil {
			return nil, err
		}
		if cmd.UserID == uuid.Nil || cmd.UserOrgID != g.OrgID {
			return nil, fmt.Errorf("%s %s: %w", op, g.ID, fieldErr("userId", ErrUnknownUser, "%s is not a user of this organization", cmd.UserID))
		}
		if !CanAdminister(cmd.Actor, g.OrgID) {
			return nil, forbidden(op, g.ID, string(ActionAdminister))
		}
		if g.HasMember(cmd.UserID) {
			return nil, nil
		}
		return []Event{GroupMemberAdded{GroupID: g.ID, UserID: cmd.UserID}}, nil
	case RemoveGroupMember:
		const op = "remove member from group"
		if err := g.administered(op, cmd.GroupID, cmd.Actor); err != nil {
			return nil, err
		}
		if !CanAdminister(cmd.Actor, g.OrgID) {
			return nil, forbidden(op, g.ID, string(ActionAdminister))
		}
		if !g.HasMember(cmd.UserID) {
			return nil, fmt.Errorf("%s %s: user %s: %w", op, g.ID, cmd.UserID, ErrMemberNotFound)
		}
		return []Event{GroupMemberRemoved{GroupID: g.ID, UserID: cmd.UserID}}, nil
	}
	return nil, fmt.Errorf("group: unknown command %T: %w", cmd, ErrInvalidInput)
}

// administered returns ErrGroupNotFound unless g exists, is the group id and
// belongs to the actor's organization.
func (g Group) administered(op string, id uuid.UUID, actor Subject) error {
	if g.ID == uuid.Nil || g.ID != id || g.OrgID != actor.OrgID {
		return fmt.Errorf("%s %s: %w", op, id, ErrGroupNotFound)
	}
	return nil
}
