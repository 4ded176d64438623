package projections

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
)

// DirectoryName is the name of the Directory projection.
const DirectoryName = "directory"

// Directory is the read model of organizations, users, roles and groups,
// each state folded with its aggregate's own Evolve. It answers who a token's
// subject is, builds the domain.Subject of every access decision, and counts
// what the directory rules need (CheckAdministratorRemains, CheckSubject).
//
// Queries return values: slices inside them are copies, so a caller may
// change them freely.
type Directory struct {
	orgs   map[uuid.UUID]domain.Organization
	users  map[uuid.UUID]*dirUser
	roles  map[uuid.UUID]domain.Role
	groups map[uuid.UUID]domain.Group

	// usersByOrg holds each organization's user ids sorted by name, then
	// id (compareNamed; names never change).
	usersByOrg  map[uuid.UUID][]uuid.UUID
	rolesByOrg  map[uuid.UUID][]uuid.UUID
	groupsByOrg map[uuid.UUID][]uuid.UUID
	// groupsOf holds each user's groups, sorted; a slice is replaced, never
	// modified, when membership changes.
	groupsOf map[uuid.UUID][]uuid.UUID
	// subjects maps a sign-in subject to the first user created with it.
	subjects map[string]uuid.UUID
}

type dirUser struct {
	state     domain.User
	createdAt time.Time
}

var _ Projection = (*Directory)(nil)

// NewDirectory returns an empty Directory. As a Factory:
// func() Projection { return NewDirectory() }.
func NewDirectory() *Directory {
	return &Directory{
		orgs:        map[uuid.UUID]domain.Organization{},
		users:       map[uuid.UUID]*dirUser{},
		roles:       map[uuid.UUID]domain.Role{},
		groups:      map[uuid.UUID]domain.Group{},
		usersByOrg:  map[uuid.UUID][]uuid.UUID{},
		rolesByOrg:  map[uuid.UUID][]uuid.UUID{},
		groupsByOrg: map[uuid.UUID][]uuid.UUID{},
		groupsOf:    map[uuid.UUID][]uuid.UUID{},
		subjects:    map[string]uuid.UUID{},
	}
}

// Name returns "directory".
func (d *Directory) Name() string { return DirectoryName }

// Version returns 1.
func (d *Directory) Version() int { return 1 }

// Apply folds directory events into their aggregate's state. An event about
// an organization, user, role or group that was never created, or a second
// creation of one, means the log is inconsistent: Apply returns an error and
// the projection stops there.
func (d *Directory) Apply(env eventstore.Envelope, e domain.Event) error {
	switch e := e.(type) {
	case domain.OrganizationCreated:
		if _, ok := d.orgs[e.OrgID]; ok {
			return fmt.Errorf("organization %s created twice", e.OrgID)
		}
		d.orgs[e.OrgID] = domain.Organization{}.Evolve(e)

	case domain.RoleCreated:
		if _, ok := d.roles[e.RoleID]; ok {
			return fmt.Errorf("role %s created twice", e.RoleID)
		}
		d.roles[e.RoleID] = domain.Role{}.Evolve(e)
		d.rolesByOrg[e.OrgID] = append(d.rolesByOrg[e.OrgID], e.RoleID)
	case domain.RoleUpdated:
		r, ok := d.roles[e.RoleID]
		if !ok {
			return fmt.Errorf("role %s updated but never created", e.RoleID)
		}
		d.roles[e.RoleID] = r.Evolve(e)

	case domain.UserCreated:
		if _, ok := d.users[e.UserID]; ok {
			return fmt.Errorf("user %s created twice", e.UserID)
		}
		u := domain.User{}.Evolve(e)
		d.users[e.UserID] = &dirUser{state: u, createdAt: env.RecordedAt}
		d.usersByOrg[e.OrgID] = d.insertUser(d.usersByOrg[e.OrgID], u)
		if _, taken := d.subjects[u.Subject]; !taken {
			d.subjects[u.Subject] = u.ID
		}
	case domain.UserRoleChanged:
		return d.evolveUser(e.UserID, e)
	case domain.UserDeactivated:
		return d.evolveUser(e.UserID, e)
	case domain.UserReactivated:
		return d.evolveUser(e.UserID, e)

	case domain.GroupCreated:
		if _, ok := d.groups[e.GroupID]; ok {
			return fmt.Errorf("group %s created twice", e.GroupID)
		}
		d.groups[e.GroupID] = domain.Group{}.Evolve(e)
		d.groupsByOrg[e.OrgID] = append(d.groupsByOrg[e.OrgID], e.GroupID)
	case domain.GroupMemberAdded:
		g, ok := d.groups[e.GroupID]
		if !ok {
			return fmt.Errorf("member added to group %s that was never created", e.GroupID)
		}
		d.groups[e.GroupID] = g.Evolve(e)
		if cur := d.groupsOf[e.UserID]; !slices.Contains(cur, e.GroupID) {
			next := append(slices.Clone(cur), e.GroupID)
			slices.SortFunc(next, compareUUID)
			d.groupsOf[e.UserID] = next
		}
	case domain.GroupMemberRemoved:
		g, ok := d.groups[e.GroupID]
		if !ok {
			return fmt.Errorf("member removed from group %s that was never created", e.GroupID)
		}
		d.groups[e.GroupID] = g.Evolve(e)
		if cur := d.groupsOf[e.UserID]; slices.Contains(cur, e.GroupID) {
			next := slices.DeleteFunc(slices.Clone(cur), func(id uuid.UUID) bool { return id == e.GroupID })
			if len(next) == 0 {
				delete(d.groupsOf, e.UserID)
			} else {
				d.groupsOf[e.UserID] = next
			}
		}
	}
	return nil
}

func (d *Directory) evolveUser(id uuid.UUID, e domain.Event) error {
	u, ok := d.users[id]
	if !ok {
		return fmt.Errorf("user %s changed but never created", id)
	}
	u.state = u.state.Evolve(e)
	return nil
}

// insertUser returns ids with u's id inserted in (name, id) order.
func (d *Directory) insertUser(ids []uuid.UUID, u domain.User) []uuid.UUID {
	i, _ := slices.BinarySearchFunc(ids, u, func(id uuid.UUID, u domain.User) int {
		return compareNamed(d.users[id].state.Name, id, u.Name, u.ID)
	})
	return slices.Insert(ids, i, u.ID)
}

func compareUUID(a, b uuid.UUID) int { return strings.Compare(string(a[:]), string(b[:])) }

// compareNamed orders by name ignoring case, then by name, then by id.
func compareNamed(nameA string, a uuid.UUID, nameB string, b uuid.UUID) int {
	return cmp.Or(strings.Compare(strings.ToLower(nameA), strings.ToLower(nameB)),
		strings.Compare(nameA, nameB), compareUUID(a, b))
}

// Org returns the organization with id.
func (d *Directory) Org(id uuid.UUID) (domain.Organization, bool) {
	o, ok := d.orgs[id]
	return o, ok
}

// Orgs returns the organizations whose name contains q, ignoring case (all
// of them for an empty q), sorted by name ignoring case, then id.
func (d *Directory) Orgs(q string) []domain.Organization {
	q = strings.ToLower(strings.TrimSpace(q))
	out := []domain.Organization{}
	for _, o := range d.orgs {
		if q == "" || strings.Contains(strings.ToLower(o.Name), q) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b domain.Organization) int { return compareNamed(a.Name, a.ID, b.Name, b.ID) })
	return out
}

// User returns the user with id, active or not.
func (d *Directory) User(id uuid.UUID) (domain.User, bool) {
	u, ok := d.users[id]
	if !ok {
		return domain.User{}, false
	}
	return u.state, true
}

// UserCreatedAt returns when the user with id was created (its UserCreated
// event's recorded-at).
func (d *Directory) UserCreatedAt(id uuid.UUID) (time.Time, bool) {
	u, ok := d.users[id]
	if !ok {
		return time.Time{}, false
	}
	return u.createdAt, true
}

// UserBySubject returns the user whose sign-in subject is sub, compared
// exactly, active or not (the caller refuses inactive users). Subjects are
// unique: when two users were created with one subject (a race CheckSubject
// cannot see), the first created keeps it and the second holds none.
func (d *Directory) UserBySubject(sub string) (domain.User, bool) {
	id, ok := d.subjects[sub]
	if !ok {
		return domain.User{}, false
	}
	return d.users[id].state, true
}

// SubjectHolder returns the user holding sign-in subject sub, for
// domain.CheckSubject's holderOf.
func (d *Directory) SubjectHolder(sub string) (uuid.UUID, bool) {
	id, ok := d.subjects[sub]
	return id, ok
}

// Users returns the users of organization org, active or not, sorted by
// name ignoring case, then id.
func (d *Directory) Users(org uuid.UUID) []domain.User {
	ids := d.usersByOrg[org]
	out := make([]domain.User, len(ids))
	for i, id := range ids {
		out[i] = d.users[id].state
	}
	return out
}

// Role returns the role with id.
func (d *Directory) Role(id uuid.UUID) (domain.Role, bool) {
	r, ok := d.roles[id]
	if !ok {
		return domain.Role{}, false
	}
	return cloneRole(r), true
}

// Roles returns the roles of organization org, sorted by name ignoring
// case, then id.
func (d *Directory) Roles(org uuid.UUID) []domain.Role {
	ids := d.rolesByOrg[org]
	out := make([]domain.Role, len(ids))
	for i, id := range ids {
		out[i] = cloneRole(d.roles[id])
	}
	slices.SortFunc(out, func(a, b domain.Role) int { return compareNamed(a.Name, a.ID, b.Name, b.ID) })
	return out
}

// Group returns the group with id and its members, in the order they joined.
func (d *Directory) Group(id uuid.UUID) (domain.Group, bool) {
	g, ok := d.groups[id]
	if !ok {
		return domain.Group{}, false
	}
	return cloneGroup(g), true
}

// Groups returns the groups of organization org, sorted by name ignoring
// case, then id.
func (d *Directory) Groups(org uuid.UUID) []domain.Group {
	ids := d.groupsByOrg[org]
	out := make([]domain.Group, len(ids))
	for i, id := range ids {
		out[i] = cloneGroup(d.groups[id])
	}
	slices.SortFunc(out, func(a, b domain.Group) int { return compareNamed(a.Name, a.ID, b.Name, b.ID) })
	return out
}

// GroupsOf returns the ids of the groups user is a member of, sorted; never nil.
func (d *Directory) GroupsOf(user uuid.UUID) []uuid.UUID {
	return append([]uuid.UUID{}, d.groupsOf[user]...)
}

// Subject returns the domain.Subject of user userID: its role's permissions
// (none if the role is unknown or of another organization) and its groups.
// An inactive user's Subject is inactive, and every decision refuses it.
func (d *Directory) Subject(userID uuid.UUID) (domain.Subject, bool) {
	u, ok := d.users[userID]
	if !ok {
		return domain.Subject{}, false
	}
	r := cloneRole(d.roles[u.state.RoleID])
	return domain.NewSubject(u.state, r, d.GroupsOf(userID)), true
}

// isAdmin reports whether u is active and its role, of its organization,
// holds org.admin.
func (d *Directory) isAdmin(u domain.User) bool {
	if !u.Active {
		return false
	}
	r, ok := d.roles[u.RoleID]
	return ok && r.OrgID == u.OrgID && r.Permissions.Has(domain.ActionAdminister)
}

// OtherActiveAdmins returns the number of active users of org, other than
// except, whose role holds org.admin: UpdateUser's OtherActiveAdmins.
func (d *Directory) OtherActiveAdmins(org, except uuid.UUID) int {
	n := 0
	for _, id := range d.usersByOrg[org] {
		if id != except && d.isAdmin(d.users[id].state) {
			n++
		}
	}
	return n
}

// ActiveAdminsOutsideRole returns the number of active users of org whose
// role, other than role, holds org.admin: UpdateRole's OtherActiveAdmins.
func (d *Directory) ActiveAdminsOutsideRole(org, role uuid.UUID) int {
	n := 0
	for _, id := range d.usersByOrg[org] {
		if u := d.users[id].state; u.RoleID != role && d.isAdmin(u) {
			n++
		}
	}
	return n
}

// ActiveHolders returns the number of active users holding role:
// UpdateRole's ActiveHolders.
func (d *Directory) ActiveHolders(role uuid.UUID) int {
	r, ok := d.roles[role]
	if !ok {
		return 0
	}
	n := 0
	for _, id := range d.usersByOrg[r.OrgID] {
		if u := d.users[id].state; u.Active && u.RoleID == role {
			n++
		}
	}
	return n
}

// RoleViewers returns the number of active users of c's organization who
// may view c through their role alone (domain.ViewsThroughRole), ignoring
// access lists: the roleViewers count of the manage-access summary.
func (d *Directory) RoleViewers(c domain.Case) int {
	// The answer depends on the role, and on ownership only for the owner:
	// decide once per role for the users who do not own the case.
	byRole := map[uuid.UUID]bool{}
	n := 0
	for _, id := range d.usersByOrg[c.OrgID] {
		u := d.users[id].state
		if !u.Active {
			continue
		}
		views, known := byRole[u.RoleID]
		if !known || u.ID == c.OwnerID {
			views = domain.ViewsThroughRole(domain.NewSubject(u, d.roles[u.RoleID], nil), c)
			if u.ID != c.OwnerID {
				byRole[u.RoleID] = views
			}
		}
		if views {
			n++
		}
	}
	return n
}

func cloneRole(r domain.Role) domain.Role {
	r.Permissions.Actions = slices.Clone(r.Permissions.Actions)
	return r
}

func cloneGroup(g domain.Group) domain.Group {
	g.Members = slices.Clone(g.Members)
	return g
}
