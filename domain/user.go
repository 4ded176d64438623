package domain

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// User is the state of one user, user-<id>. The zero User does not exist.
type User struct {
	ID      uuid.UUID
	OrgID   uuid.UUID
	Name    string
	Email   string
	BadgeID string
	RoleID  uuid.UUID
	// Subject is the "sub" its tokens carry.
	Subject string
	Active  bool
}

var _ State[User] = User{}

// Evolve returns u with e applied.
func (u User) Evolve(e Event) User {
	switch e := e.(type) {
	case UserCreated:
		return User{ID: e.UserID, OrgID: e.OrgID, Name: e.Name, Email: e.Email, BadgeID: e.BadgeID,
			RoleID: e.RoleID, Subject: e.Subject, Active: true}
	case UserRoleChanged:
		u.RoleID = e.RoleID
	case UserDeactivated:
		u.Active = false
	case UserReactivated:
		u.Active = true
	}
	return u
}

// Decide returns the events cmd produces against u.
func (u User) Decide(cmd Command) ([]Event, error) {
	switch cmd := cmd.(type) {
	case CreateUser:
		const op = "create user"
		created, err := userInput(cmd.UserID, cmd.Actor.OrgID, cmd.Name, cmd.Email, cmd.BadgeID, cmd.Subject)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if cmd.Role.ID == uuid.Nil || cmd.Role.OrgID != cmd.Actor.OrgID {
			return nil, fmt.Errorf("%s: %w", op, fieldErr("roleId", ErrUnknownRole, "%s is not a role of this organization", cmd.Role.ID))
		}
		if !CanAdminister(cmd.Actor, cmd.Actor.OrgID) {
			return nil, forbidden(op, cmd.UserID, string(ActionAdminister))
		}
		if u.ID != uuid.Nil {
			return nil, fmt.Errorf("%s %s: %w", op, cmd.UserID, ErrUserExists)
		}
		created.RoleID = cmd.Role.ID
		return []Event{created}, nil
	case CreateFirstAdministrator:
		const op = "create first administrator"
		if cmd.Org.ID == uuid.Nil {
			return nil, fmt.Errorf("%s: %w", op, ErrOrganizationNotFound)
		}
		created, err := userInput(cmd.Org.AdminUserID, cmd.Org.ID, cmd.Name, cmd.Email, cmd.BadgeID, cmd.Subject)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if u.ID != uuid.Nil {
			if u.ID == cmd.Org.AdminUserID && u.OrgID == cmd.Org.ID {
				return nil, nil
			}
			return nil, fmt.Errorf("%s %s: %w", op, cmd.Org.AdminUserID, ErrUserExists)
		}
		created.RoleID = cmd.Org.AdminRoleID
		return []Event{created}, nil
	case UpdateUser:
		return u.update(cmd)
	}
	return nil, fmt.Errorf("user: unknown command %T: %w", cmd, ErrInvalidInput)
}

func (u User) update(cmd UpdateUser) ([]Event, error) {
	const op = "update user"
	if u.ID == uuid.Nil || u.ID != cmd.UserID || u.OrgID != cmd.Actor.OrgID {
		return nil, fmt.Errorf("%s %s: %w", op, cmd.UserID, ErrUserNotFound)
	}
	role, active := u.RoleID, u.Active
	newRole := cmd.CurrentRole
	if cmd.Role.Set {
		if cmd.Role.Value.ID == uuid.Nil || cmd.Role.Value.OrgID != u.OrgID {
			return nil, fmt.Errorf("%s %s: %w", op, u.ID, fieldErr("roleId", ErrUnknownRole, "%s is not a role of this organization", cmd.Role.Value.ID))
		}
		role, newRole = cmd.Role.Value.ID, cmd.Role.Value
	}
	if cmd.Active.Set {
		active = cmd.Active.Value
	}
	if !CanAdminister(cmd.Actor, u.OrgID) {
		return nil, forbidden(op, u.ID, string(ActionAdminister))
	}
	if cmd.CurrentRole.ID != u.RoleID {
		return nil, fmt.Errorf("%s %s: current role %s: %w", op, u.ID, cmd.CurrentRole.ID, ErrOutdatedFacts)
	}
	before := u.Active && cmd.CurrentRole.Permissions.Has(ActionAdminister)
	after := active && newRole.Permissions.Has(ActionAdminister)
	if err := CheckAdministratorRemains(before, after, cmd.OtherActiveAdmins); err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, u.ID, err)
	}
	var events []Event
	if role != u.RoleID {
		events = append(events, UserRoleChanged{UserID: u.ID, RoleID: role, PreviousRoleID: u.RoleID})
	}
	switch {
	case active && !u.Active:
		events = append(events, UserReactivated{UserID: u.ID})
	case !active && u.Active:
		events = append(events, UserDeactivated{UserID: u.ID})
	}
	return events, nil
}

// userInput validates a new user's fields and returns its UserCreated
// without the role.
func userInput(userID, orgID uuid.UUID, name, email, badge, subject string) (UserCreated, error) {
	if err := firstErr(id("userId", userID), id("orgId", orgID)); err != nil {
		return UserCreated{}, err
	}
	name, email, badge, err := userFields(name, email, badge)
	if err != nil {
		return UserCreated{}, err
	}
	if subject == "" {
		subject = userID.String()
	}
	if err := validSubject(subject, userID); err != nil {
		return UserCreated{}, err
	}
	return UserCreated{UserID: userID, OrgID: orgID, Name: name, Email: email, BadgeID: badge, Subject: subject}, nil
}

// CheckUserFields validates a new user's name, email and badge id as
// CreateUser and CreateFirstAdministrator do. The api calls it before the
// first append of a request that creates the user in a later one.
func CheckUserFields(name, email, badgeID string) error {
	_, _, _, err := userFields(name, email, badgeID)
	return err
}

// userFields validates and trims a new user's name, email and badge id.
func userFields(name, email, badge string) (string, string, string, error) {
	name, errN := text("name", name, true, MaxNameLen, false)
	email, errE := text("email", email, true, MaxNameLen, false)
	badge, errB := text("badgeId", badge, false, MaxNameLen, false)
	if err := firstErr(errN, errE, errB); err != nil {
		return "", "", "", err
	}
	if at := strings.IndexByte(email, '@'); at <= 0 || at == len(email)-1 || strings.ContainsAny(email, " \t") {
		return "", "", "", fieldErr("email", ErrInvalidInput, "%q is not an email address", email)
	}
	return name, email, badge, nil
}
