package projections_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

// directoryWorld is two organizations: Metro Police (admin, a second
// administrator dave, investigators bob and carol in the group detectives,
// a clerk) and County Prosecutor (its admin and eve).
type directoryWorld struct {
	*world
	dir                           *projections.Directory
	metro, county                 uuid.UUID
	admin, countyAdmin            uuid.UUID
	adminRole, invRole, clerkRole uuid.UUID
	bob, carol, dave, clerk, eve  uuid.UUID
	detectives, night             uuid.UUID
}

func newDirectoryWorld(t *testing.T) *directoryWorld {
	d := &directoryWorld{dir: projections.NewDirectory()}
	d.world = newWorld(t, d.dir)
	d.metro, d.admin = d.org("Metro Police")
	d.county, d.countyAdmin = d.org("County Prosecutor")
	d.adminRole = fold[domain.User](d.world, domain.UserStream(d.admin)).RoleID
	d.invRole = d.role(d.admin, "Investigator", investigator())
	d.clerkRole = d.role(d.admin, "clerk", clerk())
	d.tick()
	d.carol = d.user(d.admin, "Carol", d.invRole, "carol@idp")
	d.bob = d.user(d.admin, "bob", d.invRole, "")
	d.dave = d.user(d.admin, "Dave", d.adminRole, "")
	d.clerk = d.user(d.admin, "Ann Clerk", d.clerkRole, "")
	d.eve = d.user(d.countyAdmin, "Eve", fold[domain.User](d.world, domain.UserStream(d.countyAdmin)).RoleID, "")
	d.detectives = d.group(d.admin, "Detectives")
	d.night = d.group(d.admin, "night shift")
	d.join(d.admin, d.detectives, d.bob)
	d.join(d.admin, d.detectives, d.carol)
	d.join(d.admin, d.night, d.carol)
	return d
}

func TestDirectoryQueries(t *testing.T) {
	d := newDirectoryWorld(t)
	dir := d.dir

	org, ok := dir.Org(d.metro)
	require.True(t, ok)
	assert.Equal(t, "Metro Police", org.Name)
	_, ok = dir.Org(id("nowhere"))
	assert.False(t, ok)

	orgNames := func(q string) []string {
		var out []string
		for _, o := range dir.Orgs(q) {
			out = append(out, o.Name)
		}
		return out
	}
	assert.Equal(t, []string{"County Prosecutor", "Metro Police"}, orgNames(""))
	assert.Equal(t, []string{"Metro Police"}, orgNames("  METRO "))
	assert.Equal(t, []string{"County Prosecutor"}, orgNames("prosec"))
	assert.Empty(t, orgNames("sheriff"))

	var users []string
	for _, u := range dir.Users(d.metro) {
		users = append(users, u.Name)
	}
	assert.Equal(t, []string{"Ann Clerk", "bob", "Carol", "Dave", "Metro Police Admin"}, users, "by name, ignoring case")
	assert.Len(t, dir.Users(d.county), 2)
	assert.Empty(t, dir.Users(id("nowhere")))

	u, ok := dir.User(d.carol)
	require.True(t, ok)
	assert.Equal(t, domain.User{ID: d.carol, OrgID: d.metro, Name: "Carol", Email: "someone@example.org",
		RoleID: d.invRole, Subject: "carol@idp", Active: true}, u)
	created, ok := dir.UserCreatedAt(d.carol)
	require.True(t, ok)
	assert.Equal(t, t0.Add(time.Minute), created)

	bySub, ok := dir.UserBySubject("carol@idp")
	require.True(t, ok)
	assert.Equal(t, d.carol, bySub.ID)
	bySub, ok = dir.UserBySubject(d.bob.String())
	require.True(t, ok, "a user created without a subject signs in with its id")
	assert.Equal(t, d.bob, bySub.ID)
	_, ok = dir.UserBySubject("CAROL@IDP")
	assert.False(t, ok, "subjects compare exactly")
	_, ok = dir.UserBySubject(d.carol.String())
	assert.False(t, ok, "a user with a subject signs in only with it")

	var roles []string
	for _, r := range dir.Roles(d.metro) {
		roles = append(roles, r.Name)
	}
	assert.Equal(t, []string{"Administrator", "clerk", "Investigator"}, roles)

	var groups []string
	for _, g := range dir.Groups(d.metro) {
		groups = append(groups, g.Name)
	}
	assert.Equal(t, []string{"Detectives", "night shift"}, groups)
	g, ok := dir.Group(d.detectives)
	require.True(t, ok)
	assert.Equal(t, []uuid.UUID{d.bob, d.carol}, g.Members)
	assert.Empty(t, dir.Groups(d.county))

	assert.Equal(t, sortedIDs(d.detectives, d.night), dir.GroupsOf(d.carol))
	assert.Equal(t, []uuid.UUID{}, dir.GroupsOf(d.eve))

	s, ok := dir.Subject(d.carol)
	require.True(t, ok)
	assert.Equal(t, domain.Subject{UserID: d.carol, OrgID: d.metro, Active: true,
		Permissions: investigator().Normalized(), Groups: sortedIDs(d.detectives, d.night)}, s)
	assert.Equal(t, d.subject(d.carol).Permissions, s.Permissions, "the same subject the domain builds")
	_, ok = dir.Subject(id("nobody"))
	assert.False(t, ok)

	assert.Equal(t, 1, dir.OtherActiveAdmins(d.metro, d.admin), "dave")
	assert.Equal(t, 2, dir.OtherActiveAdmins(d.metro, d.bob))
	assert.Equal(t, 1, dir.OtherActiveAdmins(d.county, d.countyAdmin), "eve holds the Administrator role of County")
	assert.Equal(t, 2, dir.ActiveHolders(d.adminRole))
	assert.Equal(t, 2, dir.ActiveHolders(d.invRole))
	assert.Equal(t, 0, dir.ActiveHolders(id("no role")))
	assert.Equal(t, 0, dir.ActiveAdminsOutsideRole(d.metro, d.adminRole))
	assert.Equal(t, 2, dir.ActiveAdminsOutsideRole(d.metro, d.invRole))
}

func TestDirectoryFollowsChanges(t *testing.T) {
	d := newDirectoryWorld(t)
	dir := d.dir

	d.setUser(d.admin, d.dave, uuid.Nil, false)
	assert.Equal(t, 0, dir.OtherActiveAdmins(d.metro, d.admin), "dave is inactive")
	assert.Equal(t, 1, dir.ActiveHolders(d.adminRole))
	s, _ := dir.Subject(d.dave)
	assert.False(t, s.Active)
	d.setUser(d.admin, d.dave, d.invRole, true)
	assert.Equal(t, 0, dir.OtherActiveAdmins(d.metro, d.admin), "dave is back, as an investigator")
	assert.Equal(t, 3, dir.ActiveHolders(d.invRole))
	s, _ = dir.Subject(d.dave)
	assert.True(t, s.Active)
	assert.Equal(t, investigator().Normalized(), s.Permissions)

	d.updateRole(d.admin, d.invRole, perms([3]domain.ListScope{}, [3]domain.Allowance{}, domain.ActionAdminister))
	assert.Equal(t, 3, dir.OtherActiveAdmins(d.metro, d.admin), "every investigator now holds org.admin")
	r, _ := dir.Role(d.invRole)
	assert.Equal(t, []domain.Action{domain.ActionAdminister}, r.Permissions.Actions)

	d.leave(d.admin, d.detectives, d.carol)
	assert.Equal(t, []uuid.UUID{d.night}, dir.GroupsOf(d.carol))
	d.leave(d.admin, d.night, d.carol)
	assert.Equal(t, []uuid.UUID{}, dir.GroupsOf(d.carol))
	g, _ := dir.Group(d.detectives)
	assert.Equal(t, []uuid.UUID{d.bob}, g.Members)
}

func TestDirectoryReturnsCopies(t *testing.T) {
	d := newDirectoryWorld(t)
	r, _ := d.dir.Role(d.invRole)
	r.Permissions.Actions[0] = "tampered"
	g, _ := d.dir.Group(d.detectives)
	g.Members[0] = uuid.Nil
	gs := d.dir.GroupsOf(d.carol)
	gs[0] = uuid.Nil
	s, _ := d.dir.Subject(d.carol)
	s.Groups[0], s.Permissions.Actions[0] = uuid.Nil, "tampered"

	r, _ = d.dir.Role(d.invRole)
	assert.Equal(t, investigator().Normalized(), r.Permissions)
	g, _ = d.dir.Group(d.detectives)
	assert.Equal(t, []uuid.UUID{d.bob, d.carol}, g.Members)
	assert.Equal(t, sortedIDs(d.detectives, d.night), d.dir.GroupsOf(d.carol))
}

// TestDirectorySubjectTakenTwice: CheckSubject cannot see two creations
// racing for one subject; the first user created keeps it.
func TestDirectorySubjectTakenTwice(t *testing.T) {
	d := newDirectoryWorld(t)
	second := d.user(d.admin, "Carol Two", d.invRole, "carol@idp")
	holder, ok := d.dir.SubjectHolder("carol@idp")
	require.True(t, ok)
	assert.Equal(t, d.carol, holder)
	u, _ := d.dir.UserBySubject("carol@idp")
	assert.Equal(t, d.carol, u.ID)
	assert.ErrorIs(t, domain.CheckSubject("carol@idp", second, d.dir.SubjectHolder, func(string) bool { return false }),
		domain.ErrSubjectTaken)
}

// TestDirectoryRoleViewers counts the users who view a case through their
// role alone, as domain.ViewsThroughRole decides for each.
func TestDirectoryRoleViewers(t *testing.T) {
	d := newDirectoryWorld(t)
	restricted := domain.Case{ID: id("case"), OrgID: d.metro, OwnerID: d.bob, AccessClass: domain.Restricted}
	tests := []struct {
		name string
		kase domain.Case
		want int
	}{
		// admin and dave (all); investigators list restricted as own: bob owns it.
		{"restricted owned by bob", restricted, 3},
		{"restricted owned by the clerk", withOwner(restricted, d.clerk), 3},
		{"unrestricted owned by carol", domain.Case{ID: id("case"), OrgID: d.metro, OwnerID: d.carol, AccessClass: domain.Unrestricted}, 4},
		{"confidential", domain.Case{ID: id("case"), OrgID: d.metro, OwnerID: d.bob, AccessClass: domain.Confidential}, 2},
		{"another organization's", domain.Case{ID: id("case"), OrgID: d.county, OwnerID: d.eve, AccessClass: domain.Restricted}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := 0
			for _, u := range d.dir.Users(tt.kase.OrgID) {
				if s, _ := d.dir.Subject(u.ID); domain.ViewsThroughRole(s, tt.kase) {
					want++
				}
			}
			assert.Equal(t, tt.want, want, "the fixture")
			assert.Equal(t, tt.want, d.dir.RoleViewers(tt.kase))
		})
	}
	d.setUser(d.admin, d.dave, uuid.Nil, false)
	assert.Equal(t, 2, d.dir.RoleViewers(restricted), "inactive users do not count")
}

func withOwner(c domain.Case, owner uuid.UUID) domain.Case { c.OwnerID = owner; return c }

func TestDirectoryRefusesAnInconsistentLog(t *testing.T) {
	tests := []struct {
		name  string
		given []domain.Event
		when  domain.Event
	}{
		{"organization created twice", []domain.Event{domain.OrganizationCreated{OrgID: id("o"), Name: "x"}},
			domain.OrganizationCreated{OrgID: id("o"), Name: "x"}},
		{"user changed before created", nil, domain.UserDeactivated{UserID: id("u")}},
		{"user created twice", []domain.Event{domain.UserCreated{UserID: id("u"), OrgID: id("o"), Subject: "u"}},
			domain.UserCreated{UserID: id("u"), OrgID: id("o"), Subject: "u"}},
		{"role updated before created", nil, domain.RoleUpdated{RoleID: id("r"), Name: "x"}},
		{"member added to no group", nil, domain.GroupMemberAdded{GroupID: id("g"), UserID: id("u")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := projections.NewDirectory()
			for _, e := range tt.given {
				require.NoError(t, dir.Apply(eventstore.Envelope{}, e))
			}
			assert.Error(t, dir.Apply(eventstore.Envelope{}, tt.when))
		})
	}
}

// TestDirectoryOnTheRunner: the directory read from the store at start,
// then following it live.
func TestDirectoryOnTheRunner(t *testing.T) {
	store := openStore(t)
	d := newDirectoryWorld(t)
	d.appendTo(store)
	r := live(t, store, func() projections.Projection { return projections.NewDirectory() })
	view(t, r, projections.DirectoryName, func(dir *projections.Directory) {
		s, ok := dir.Subject(d.carol)
		require.True(t, ok)
		assert.Equal(t, sortedIDs(d.detectives, d.night), s.Groups)
	})

	d.leave(d.admin, d.night, d.carol)
	wait(t, r, d.appendTo(store))
	view(t, r, projections.DirectoryName, func(dir *projections.Directory) {
		assert.Equal(t, []uuid.UUID{d.detectives}, dir.GroupsOf(d.carol))
	})
}

func sortedIDs(ids ...uuid.UUID) []uuid.UUID {
	out := append([]uuid.UUID(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].String() < out[i].String() {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
