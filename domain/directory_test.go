package domain_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
)

var (
	adminRole = id("role-admin-a")
	invRole   = id("role-investigator-a")
	roleB     = id("role-b")
)

func orgCreated() domain.OrganizationCreated {
	return domain.OrganizationCreated{OrgID: orgA, Name: "Metro Police", AdminRoleID: adminRole, AdminUserID: alice}
}

func orgState() domain.Organization { return fold[domain.Organization](orgCreated()) }

func adminRoleCreated() domain.RoleCreated {
	return domain.RoleCreated{RoleID: adminRole, OrgID: orgA, Name: "Administrator",
		Permissions: domain.AdministratorPermissions().Normalized(), BuiltIn: true}
}

func invRoleCreated() domain.RoleCreated {
	return domain.RoleCreated{RoleID: invRole, OrgID: orgA, Name: "Investigator", Permissions: investigator().Normalized()}
}

func roleState(e domain.RoleCreated) domain.Role { return fold[domain.Role](e) }

func TestOrganizationDecide(t *testing.T) {
	runDecide(t, []decideTest[domain.Organization]{
		{
			name: "create organization",
			when: domain.CreateOrganization{OrgID: orgA, Name: " Metro Police ", AdminRoleID: adminRole, AdminUserID: alice, Now: t0},
			want: []domain.Event{orgCreated()},
		},
		{
			name:    "create organization that exists",
			given:   []domain.Event{orgCreated()},
			when:    domain.CreateOrganization{OrgID: orgA, Name: "Metro Police", AdminRoleID: adminRole, AdminUserID: alice, Now: t0},
			wantErr: domain.ErrOrganizationExists,
		},
		{
			name:    "create organization without a name",
			when:    domain.CreateOrganization{OrgID: orgA, AdminRoleID: adminRole, AdminUserID: alice, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create organization without an admin role id",
			when:    domain.CreateOrganization{OrgID: orgA, Name: "x", AdminUserID: alice, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create organization whose admin role and user share an id",
			when:    domain.CreateOrganization{OrgID: orgA, Name: "x", AdminRoleID: alice, AdminUserID: alice, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "unknown command",
			when:    domain.CreateGroup{},
			wantErr: domain.ErrInvalidInput,
		},
	})
	assert.Equal(t, orgState(), orgState().Evolve(domain.GroupCreated{}), "other events leave it unchanged")
}

func TestRoleDecide(t *testing.T) {
	adm := admin()
	renamed := investigator()
	renamed.Actions = []domain.Action{domain.ActionEditCases, domain.ActionCreateCases, domain.ActionEditCases}
	adminGranting := investigator()
	adminGranting.Actions = append(adminGranting.Actions, domain.ActionAdminister)
	runDecide(t, []decideTest[domain.Role]{
		{
			name: "create the built-in administrator role of a new organization",
			when: domain.CreateAdministratorRole{Org: orgState(), Now: t0},
			want: []domain.Event{adminRoleCreated()},
		},
		{
			name:  "create the administrator role again does nothing",
			given: []domain.Event{adminRoleCreated()},
			when:  domain.CreateAdministratorRole{Org: orgState(), Now: t0},
		},
		{
			name:    "create the administrator role over another role",
			given:   []domain.Event{invRoleCreated()},
			when:    domain.CreateAdministratorRole{Org: orgState(), Now: t0},
			wantErr: domain.ErrRoleExists,
		},
		{
			name:    "create the administrator role of no organization",
			when:    domain.CreateAdministratorRole{Now: t0},
			wantErr: domain.ErrOrganizationNotFound,
		},
		{
			name: "create role: unset permissions are the most restrictive, spelled out",
			when: domain.CreateRole{RoleID: invRole, Name: "Investigator", Permissions: investigator(), Actor: adm, Now: t0},
			want: []domain.Event{invRoleCreated()},
		},
		{
			name:    "create role with a permission outside its enumeration",
			when:    domain.CreateRole{RoleID: invRole, Name: "x", Permissions: perms([3]domain.ListScope{"some"}, deny3), Actor: adm, Now: t0},
			wantErr: domain.ErrInvalidPermissions,
		},
		{
			name:    "create role without a name",
			when:    domain.CreateRole{RoleID: invRole, Actor: adm, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create role without org.admin",
			when:    domain.CreateRole{RoleID: invRole, Name: "x", Actor: user(bob, orgA, investigator()), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "create role that exists",
			given:   []domain.Event{invRoleCreated()},
			when:    domain.CreateRole{RoleID: invRole, Name: "x", Actor: adm, Now: t0},
			wantErr: domain.ErrRoleExists,
		},
		{
			name:  "update role",
			given: []domain.Event{invRoleCreated()},
			when:  domain.UpdateRole{RoleID: invRole, Name: "Detective", Permissions: renamed, Actor: adm, Now: t0},
			want: []domain.Event{domain.RoleUpdated{RoleID: invRole, Name: "Detective",
				Permissions: renamed.Normalized()}},
		},
		{
			name:  "update role to what it is is no change",
			given: []domain.Event{invRoleCreated()},
			when:  domain.UpdateRole{RoleID: invRole, Name: "Investigator", Permissions: investigator(), Actor: adm, Now: t0},
		},
		{
			name:    "update the built-in administrator role",
			given:   []domain.Event{adminRoleCreated()},
			when:    domain.UpdateRole{RoleID: adminRole, Name: "Boss", Permissions: investigator(), ActiveHolders: 1, OtherActiveAdmins: 3, Actor: adm, Now: t0},
			wantErr: domain.ErrBuiltInRole,
		},
		{
			name: "update role taking org.admin from its only active holders",
			given: []domain.Event{domain.RoleCreated{RoleID: invRole, OrgID: orgA, Name: "Investigator",
				Permissions: adminGranting.Normalized()}},
			when:    domain.UpdateRole{RoleID: invRole, Name: "Investigator", Permissions: investigator(), ActiveHolders: 2, OtherActiveAdmins: 0, Actor: adm, Now: t0},
			wantErr: domain.ErrLastAdministrator,
		},
		{
			name: "update role taking org.admin while another administrator remains",
			given: []domain.Event{domain.RoleCreated{RoleID: invRole, OrgID: orgA, Name: "Investigator",
				Permissions: adminGranting.Normalized()}},
			when: domain.UpdateRole{RoleID: invRole, Name: "Investigator", Permissions: investigator(), ActiveHolders: 2, OtherActiveAdmins: 1, Actor: adm, Now: t0},
			want: []domain.Event{domain.RoleUpdated{RoleID: invRole, Name: "Investigator", Permissions: investigator().Normalized()}},
		},
		{
			name:    "update role with an invalid permission",
			given:   []domain.Event{invRoleCreated()},
			when:    domain.UpdateRole{RoleID: invRole, Name: "x", Permissions: domain.Permissions{Actions: []domain.Action{"cases.delete"}}, Actor: adm, Now: t0},
			wantErr: domain.ErrInvalidPermissions,
		},
		{
			name:    "update role without org.admin",
			given:   []domain.Event{invRoleCreated()},
			when:    domain.UpdateRole{RoleID: invRole, Name: "x", Actor: user(bob, orgA, investigator()), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "update a role of another organization",
			given:   []domain.Event{invRoleCreated()},
			when:    domain.UpdateRole{RoleID: invRole, Name: "x", Actor: user(eve, orgB, domain.AdministratorPermissions()), Now: t0},
			wantErr: domain.ErrRoleNotFound,
		},
		{
			name:    "unknown command",
			when:    domain.CreateGroup{},
			wantErr: domain.ErrInvalidInput,
		},
	})
}

func TestUserDecide(t *testing.T) {
	adm := admin()
	bobCreated := domain.UserCreated{UserID: bob, OrgID: orgA, Name: "Bob Stone", Email: "bob@metro.example",
		BadgeID: "B-17", RoleID: invRole, Subject: bob.String()}
	aliceCreated := domain.UserCreated{UserID: alice, OrgID: orgA, Name: "Alice Admin", Email: "alice@metro.example",
		RoleID: adminRole, Subject: "alice@idp"}
	runDecide(t, []decideTest[domain.User]{
		{
			name: "create the first administrator of a new organization",
			when: domain.CreateFirstAdministrator{Org: orgState(), Name: "Alice Admin", Email: "alice@metro.example", Subject: "alice@idp", Now: t0},
			want: []domain.Event{aliceCreated},
		},
		{
			name:  "create the first administrator again does nothing",
			given: []domain.Event{aliceCreated},
			when:  domain.CreateFirstAdministrator{Org: orgState(), Name: "Alice Admin", Email: "alice@metro.example", Now: t0},
		},
		{
			name:    "create the first administrator over another user",
			given:   []domain.Event{domain.UserCreated{UserID: alice, OrgID: orgB, Name: "x", Email: "x@y", RoleID: roleB, Subject: "x"}},
			when:    domain.CreateFirstAdministrator{Org: orgState(), Name: "Alice Admin", Email: "alice@metro.example", Now: t0},
			wantErr: domain.ErrUserExists,
		},
		{
			name:    "create the first administrator with white space in the email",
			when:    domain.CreateFirstAdministrator{Org: orgState(), Name: "Alice Admin", Email: "alice admin@metro.example", Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create the first administrator of no organization",
			when:    domain.CreateFirstAdministrator{Name: "Alice Admin", Email: "alice@metro.example", Now: t0},
			wantErr: domain.ErrOrganizationNotFound,
		},
		{
			name:    "create the first administrator with a bad email",
			when:    domain.CreateFirstAdministrator{Org: orgState(), Name: "Alice Admin", Email: "alice", Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name: "create user: the subject defaults to the user's id",
			when: domain.CreateUser{UserID: bob, Name: "Bob Stone", Email: "bob@metro.example", BadgeID: " B-17 ",
				Role: roleState(invRoleCreated()), Actor: adm, Now: t0},
			want: []domain.Event{bobCreated},
		},
		{
			name:    "create user with a role of another organization",
			when:    domain.CreateUser{UserID: bob, Name: "Bob", Email: "bob@metro.example", Role: domain.Role{ID: roleB, OrgID: orgB}, Actor: adm, Now: t0},
			wantErr: domain.ErrUnknownRole,
		},
		{
			name:    "create user with a subject holding white space",
			when:    domain.CreateUser{UserID: bob, Name: "Bob", Email: "bob@metro.example", Subject: "bob stone", Role: roleState(invRoleCreated()), Actor: adm, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create user whose subject is another user's id",
			when:    domain.CreateUser{UserID: bob, Name: "Bob", Email: "bob@metro.example", Subject: carol.String(), Role: roleState(invRoleCreated()), Actor: adm, Now: t0},
			wantErr: domain.ErrSubjectReserved,
		},
		{
			name:    "create user without org.admin",
			when:    domain.CreateUser{UserID: bob, Name: "Bob", Email: "bob@metro.example", Role: roleState(invRoleCreated()), Actor: user(bob, orgA, investigator()), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "create user that exists",
			given:   []domain.Event{bobCreated},
			when:    domain.CreateUser{UserID: bob, Name: "Bob", Email: "bob@metro.example", Role: roleState(invRoleCreated()), Actor: adm, Now: t0},
			wantErr: domain.ErrUserExists,
		},
		{
			name:  "change role",
			given: []domain.Event{bobCreated},
			when: domain.UpdateUser{UserID: bob, Role: domain.Some(roleState(adminRoleCreated())), CurrentRole: roleState(invRoleCreated()),
				Actor: adm, Now: t0},
			want: []domain.Event{domain.UserRoleChanged{UserID: bob, RoleID: adminRole, PreviousRoleID: invRole}},
		},
		{
			name:  "deactivate",
			given: []domain.Event{bobCreated},
			when:  domain.UpdateUser{UserID: bob, Active: domain.Some(false), CurrentRole: roleState(invRoleCreated()), Actor: adm, Now: t0},
			want:  []domain.Event{domain.UserDeactivated{UserID: bob}},
		},
		{
			name:  "reactivate",
			given: []domain.Event{bobCreated, domain.UserDeactivated{UserID: bob}},
			when:  domain.UpdateUser{UserID: bob, Active: domain.Some(true), CurrentRole: roleState(invRoleCreated()), Actor: adm, Now: t0},
			want:  []domain.Event{domain.UserReactivated{UserID: bob}},
		},
		{
			name:  "update to the same role and state is no change",
			given: []domain.Event{bobCreated},
			when: domain.UpdateUser{UserID: bob, Role: domain.Some(roleState(invRoleCreated())), Active: domain.Some(true),
				CurrentRole: roleState(invRoleCreated()), Actor: adm, Now: t0},
		},
		{
			name:    "deactivate the last active administrator",
			given:   []domain.Event{aliceCreated},
			when:    domain.UpdateUser{UserID: alice, Active: domain.Some(false), CurrentRole: roleState(adminRoleCreated()), OtherActiveAdmins: 0, Actor: adm, Now: t0},
			wantErr: domain.ErrLastAdministrator,
		},
		{
			name:  "demote the last active administrator",
			given: []domain.Event{aliceCreated},
			when: domain.UpdateUser{UserID: alice, Role: domain.Some(roleState(invRoleCreated())), CurrentRole: roleState(adminRoleCreated()),
				OtherActiveAdmins: 0, Actor: adm, Now: t0},
			wantErr: domain.ErrLastAdministrator,
		},
		{
			name:  "deactivate an administrator while another remains",
			given: []domain.Event{aliceCreated},
			when:  domain.UpdateUser{UserID: alice, Active: domain.Some(false), CurrentRole: roleState(adminRoleCreated()), OtherActiveAdmins: 1, Actor: adm, Now: t0},
			want:  []domain.Event{domain.UserDeactivated{UserID: alice}},
		},
		{
			name:  "an inactive administrator may be demoted",
			given: []domain.Event{aliceCreated, domain.UserDeactivated{UserID: alice}},
			when: domain.UpdateUser{UserID: alice, Role: domain.Some(roleState(invRoleCreated())), CurrentRole: roleState(adminRoleCreated()),
				Actor: adm, Now: t0},
			want: []domain.Event{domain.UserRoleChanged{UserID: alice, RoleID: invRole, PreviousRoleID: adminRole}},
		},
		{
			name:    "update with a current role that is not the user's",
			given:   []domain.Event{bobCreated},
			when:    domain.UpdateUser{UserID: bob, Active: domain.Some(false), CurrentRole: roleState(adminRoleCreated()), Actor: adm, Now: t0},
			wantErr: domain.ErrOutdatedFacts,
		},
		{
			name:    "update to a role of another organization",
			given:   []domain.Event{bobCreated},
			when:    domain.UpdateUser{UserID: bob, Role: domain.Some(domain.Role{ID: roleB, OrgID: orgB}), CurrentRole: roleState(invRoleCreated()), Actor: adm, Now: t0},
			wantErr: domain.ErrUnknownRole,
		},
		{
			name:    "update without org.admin",
			given:   []domain.Event{bobCreated},
			when:    domain.UpdateUser{UserID: bob, Active: domain.Some(false), CurrentRole: roleState(invRoleCreated()), Actor: user(bob, orgA, investigator()), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "update a user of another organization",
			given:   []domain.Event{bobCreated},
			when:    domain.UpdateUser{UserID: bob, Active: domain.Some(false), CurrentRole: roleState(invRoleCreated()), Actor: user(eve, orgB, domain.AdministratorPermissions()), Now: t0},
			wantErr: domain.ErrUserNotFound,
		},
		{
			name:    "unknown command",
			when:    domain.CreateGroup{},
			wantErr: domain.ErrInvalidInput,
		},
	})
}

func TestGroupDecide(t *testing.T) {
	adm := admin()
	made := domain.GroupCreated{GroupID: detectives, OrgID: orgA, Name: "Detectives"}
	joined := domain.GroupMemberAdded{GroupID: detectives, UserID: bob}
	runDecide(t, []decideTest[domain.Group]{
		{
			name: "create group",
			when: domain.CreateGroup{GroupID: detectives, Name: "Detectives", Actor: adm, Now: t0},
			want: []domain.Event{made},
		},
		{
			name:    "create group without a name",
			when:    domain.CreateGroup{GroupID: detectives, Actor: adm, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create group without org.admin",
			when:    domain.CreateGroup{GroupID: detectives, Name: "x", Actor: nobody(), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "create group that exists",
			given:   []domain.Event{made},
			when:    domain.CreateGroup{GroupID: detectives, Name: "x", Actor: adm, Now: t0},
			wantErr: domain.ErrGroupExists,
		},
		{
			name:  "add member",
			given: []domain.Event{made},
			when:  domain.AddGroupMember{GroupID: detectives, UserID: bob, UserOrgID: orgA, Actor: adm, Now: t0},
			want:  []domain.Event{joined},
		},
		{
			name:  "add a member again does nothing",
			given: []domain.Event{made, joined},
			when:  domain.AddGroupMember{GroupID: detectives, UserID: bob, UserOrgID: orgA, Actor: adm, Now: t0},
		},
		{
			name:    "add a user of another organization",
			given:   []domain.Event{made},
			when:    domain.AddGroupMember{GroupID: detectives, UserID: eve, UserOrgID: orgB, Actor: adm, Now: t0},
			wantErr: domain.ErrUnknownUser,
		},
		{
			name:    "add member without org.admin",
			given:   []domain.Event{made},
			when:    domain.AddGroupMember{GroupID: detectives, UserID: bob, UserOrgID: orgA, Actor: nobody(), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "add member to a group of another organization",
			given:   []domain.Event{made},
			when:    domain.AddGroupMember{GroupID: detectives, UserID: eve, UserOrgID: orgB, Actor: user(eve, orgB, domain.AdministratorPermissions()), Now: t0},
			wantErr: domain.ErrGroupNotFound,
		},
		{
			name:  "remove member",
			given: []domain.Event{made, joined},
			when:  domain.RemoveGroupMember{GroupID: detectives, UserID: bob, Actor: adm, Now: t0},
			want:  []domain.Event{domain.GroupMemberRemoved{GroupID: detectives, UserID: bob}},
		},
		{
			name:    "remove a user who is not a member",
			given:   []domain.Event{made, joined},
			when:    domain.RemoveGroupMember{GroupID: detectives, UserID: carol, Actor: adm, Now: t0},
			wantErr: domain.ErrMemberNotFound,
		},
		{
			name:    "remove member without org.admin",
			given:   []domain.Event{made, joined},
			when:    domain.RemoveGroupMember{GroupID: detectives, UserID: bob, Actor: nobody(), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "remove member of a group that does not exist",
			when:    domain.RemoveGroupMember{GroupID: detectives, UserID: bob, Actor: adm, Now: t0},
			wantErr: domain.ErrGroupNotFound,
		},
		{
			name:    "unknown command",
			when:    domain.CreateCase{},
			wantErr: domain.ErrInvalidInput,
		},
	})
}

func TestGroupEvolve(t *testing.T) {
	g := fold[domain.Group](
		domain.GroupCreated{GroupID: detectives, OrgID: orgA, Name: "Detectives"},
		domain.GroupMemberAdded{GroupID: detectives, UserID: bob},
		domain.GroupMemberAdded{GroupID: detectives, UserID: carol},
	)
	later := g.Evolve(domain.GroupMemberAdded{GroupID: detectives, UserID: bob}).
		Evolve(domain.GroupMemberRemoved{GroupID: detectives, UserID: bob}).
		Evolve(domain.GroupMemberRemoved{GroupID: detectives, UserID: alice}).
		Evolve(domain.CaseCreated{})
	assert.Equal(t, []uuid.UUID{bob, carol}, g.Members, "older states are not changed")
	assert.Equal(t, []uuid.UUID{carol}, later.Members)
}

func TestNewSubject(t *testing.T) {
	u := fold[domain.User](domain.UserCreated{UserID: bob, OrgID: orgA, Name: "Bob", Email: "b@x", RoleID: invRole, Subject: "bob"})
	s := domain.NewSubject(u, roleState(invRoleCreated()), []uuid.UUID{detectives})
	assert.Equal(t, domain.Subject{UserID: bob, OrgID: orgA, Active: true, Permissions: investigator().Normalized(),
		Groups: []uuid.UUID{detectives}}, s)
	other := domain.NewSubject(u, roleState(adminRoleCreated()), nil)
	assert.Equal(t, domain.Permissions{}, other.Permissions, "a role that is not the user's gives nothing")
}

func TestCheckAdministratorRemains(t *testing.T) {
	tests := []struct {
		name          string
		before, after bool
		others        int
		wantErr       error
	}{
		{name: "last holder loses it", before: true, after: false, others: 0, wantErr: domain.ErrLastAdministrator},
		{name: "another holder remains", before: true, after: false, others: 1},
		{name: "keeps it", before: true, after: true, others: 0},
		{name: "never held it", before: false, after: false, others: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, domain.CheckAdministratorRemains(tt.before, tt.after, tt.others), tt.wantErr)
		})
	}
}

func TestCheckSubject(t *testing.T) {
	holders := map[string]uuid.UUID{"bob@idp": bob, carol.String(): carol}
	holderOf := func(s string) (uuid.UUID, bool) { u, ok := holders[s]; return u, ok }
	isOperator := func(s string) bool { return s == "operator" }
	tests := []struct {
		name    string
		subject string
		user    uuid.UUID
		wantErr error
	}{
		{name: "a free subject", subject: "dave@idp", user: id("dave")},
		{name: "the subject the user holds already", subject: "bob@idp", user: bob},
		{name: "no subject: the user's id", subject: "", user: id("dave")},
		{name: "another user's subject", subject: "bob@idp", user: id("dave"), wantErr: domain.ErrSubjectTaken},
		{name: "another user's id", subject: carol.String(), user: id("dave"), wantErr: domain.ErrSubjectReserved},
		{name: "an operator's subject", subject: "operator", user: id("dave"), wantErr: domain.ErrSubjectReserved},
		{name: "a subject with a control character", subject: "a\x00b", user: id("dave"), wantErr: domain.ErrInvalidInput},
		{name: "a subject too long", subject: string(make([]byte, domain.MaxSubjectLen+1)), user: id("dave"), wantErr: domain.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, domain.CheckSubject(tt.subject, tt.user, holderOf, isOperator), tt.wantErr)
		})
	}
}
