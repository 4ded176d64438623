package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

// Fixtures of the read-model tests: a world that issues commands through
// the domain's own Decide against the state folded from each stream,
// records the events as envelopes (through their JSON, as the runner
// decodes them) and applies them to the projections under test.

// id returns a deterministic UUID for a readable name.
func id(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// perms builds permissions: case list and view per class (unrestricted,
// restricted, confidential), evidence list all and view allow, and actions.
func perms(list [3]domain.ListScope, view [3]domain.Allowance, actions ...domain.Action) domain.Permissions {
	all := domain.ListByClass{Unrestricted: domain.ListAll, Restricted: domain.ListAll, Confidential: domain.ListAll}
	allow := domain.AllowByClass{Unrestricted: domain.Allow, Restricted: domain.Allow, Confidential: domain.Allow}
	return domain.Permissions{
		Cases: domain.CasePermissions{
			List:        domain.ListByClass{Unrestricted: list[0], Restricted: list[1], Confidential: list[2]},
			View:        domain.AllowByClass{Unrestricted: view[0], Restricted: view[1], Confidential: view[2]},
			ApplyClass:  domain.AllowByRestriction{Restricted: domain.Allow, Confidential: domain.Allow},
			RemoveClass: domain.AllowByRestriction{Restricted: domain.Allow, Confidential: domain.Allow},
		},
		Evidence: domain.EvidencePermissions{List: all, View: allow,
			ApplyClass: domain.AllowByRestriction{Restricted: domain.Allow, Confidential: domain.Allow}},
		Actions: actions,
	}
}

var (
	allowAll = [3]domain.Allowance{domain.Allow, domain.Allow, domain.Allow}
	worker   = []domain.Action{domain.ActionCreateCases, domain.ActionEditCases, domain.ActionAddEvidence, domain.ActionManageAccess}
)

// randomPermissions are a worker's permissions with a random list scope and
// view allowance per case class: a role may list a class it may not view.
func randomPermissions(rnd *rand.Rand) domain.Permissions {
	scopes := []domain.ListScope{domain.ListNone, domain.ListOwn, domain.ListAll}
	allowances := []domain.Allowance{domain.Allow, domain.Deny}
	list := [3]domain.ListScope{scopes[rnd.IntN(3)], scopes[rnd.IntN(3)], scopes[rnd.IntN(3)]}
	view := [3]domain.Allowance{allowances[rnd.IntN(2)], allowances[rnd.IntN(2)], allowances[rnd.IntN(2)]}
	return perms(list, view, worker...)
}

// investigator lists all unrestricted cases, its own restricted ones and no
// confidential one.
func investigator() domain.Permissions {
	return perms([3]domain.ListScope{domain.ListAll, domain.ListOwn, domain.ListNone}, allowAll, worker...)
}

// clerk lists only its own cases, in every class: its owner filter is locked.
func clerk() domain.Permissions {
	return perms([3]domain.ListScope{domain.ListOwn, domain.ListOwn, domain.ListOwn}, allowAll, worker...)
}

// world is the log of a test and the projections it feeds.
type world struct {
	t       testing.TB
	now     time.Time
	pos     uint64 // the position of the last event recorded
	keepLog bool   // keep log, for appendTo
	log     []eventstore.Envelope
	streams map[string][]domain.Event
	projs   []projections.Projection
	groups  []uuid.UUID
	flushed int // how much of log appendTo has written
	n       int // counter for ids
}

func newWorld(t testing.TB, projs ...projections.Projection) *world {
	return &world{t: t, now: t0, keepLog: true, streams: map[string][]domain.Event{}, projs: projs}
}

// next returns a fresh deterministic id.
func (w *world) next(kind string) uuid.UUID {
	w.n++
	return id(fmt.Sprint(kind, "-", w.n))
}

// tick moves the clock on by a minute.
func (w *world) tick() { w.now = w.now.Add(time.Minute) }

// exec decides cmd against the state of stream and records its events,
// caused by actor (uuid.Nil: an operator).
func exec[S domain.State[S]](w *world, stream string, actor uuid.UUID, cmd domain.Command) []domain.Event {
	w.t.Helper()
	events, err := fold[S](w, stream).Decide(cmd)
	require.NoError(w.t, err, "%T", cmd)
	w.record(stream, w.actorOf(actor), events...)
	return events
}

func fold[S domain.State[S]](w *world, stream string) S {
	var s S
	for _, e := range w.streams[stream] {
		s = s.Evolve(e)
	}
	return s
}

func (w *world) actorOf(user uuid.UUID) eventstore.Actor {
	if user == uuid.Nil {
		return eventstore.Actor{Kind: eventstore.ActorOperator, Name: "operator"}
	}
	u := fold[domain.User](w, domain.UserStream(user))
	return eventstore.Actor{Kind: eventstore.ActorUser, UserID: user.String(), OrgID: u.OrgID.String(), Name: u.Name}
}

// record stores events on stream and applies them to every projection.
func (w *world) record(stream string, actor eventstore.Actor, events ...domain.Event) {
	w.t.Helper()
	for _, e := range events {
		data, err := json.Marshal(e)
		require.NoError(w.t, err)
		w.pos++
		pos := w.pos
		env := eventstore.Event{ID: id(fmt.Sprint("event-", pos)), Type: e.EventType(), RecordedAt: w.now,
			Actor: actor, Data: data}.Normalize(w.now).
			Envelope(stream, eventstore.Revision(len(w.streams[stream])), eventstore.Position{Commit: pos, Prepare: pos})
		decoded, err := domain.DecodeEvent(env.Type, env.Data)
		require.NoError(w.t, err)
		if w.keepLog {
			w.log = append(w.log, env)
		}
		w.streams[stream] = append(w.streams[stream], decoded)
		for _, p := range w.projs {
			require.NoError(w.t, p.Apply(env, decoded), "%s applying %s", p.Name(), env.Type)
		}
	}
}

// appendTo writes what the world recorded since the last call to store, in
// order, and returns the store's position after it.
func (w *world) appendTo(store eventstore.Store) eventstore.Position {
	w.t.Helper()
	var pos eventstore.Position
	for _, env := range w.log[w.flushed:] {
		var expected eventstore.ExpectedRevision = eventstore.NoStream
		if env.Revision > 0 {
			expected = eventstore.Exact(env.Revision - 1)
		}
		res, err := store.Append(context.Background(), env.Stream, expected, eventstore.Event{
			ID: env.ID, Type: env.Type, RecordedAt: env.RecordedAt, Actor: env.Actor, Data: env.Data})
		require.NoError(w.t, err)
		pos = res.Position
	}
	w.flushed = len(w.log)
	return pos
}

// subject is user's domain.Subject as the world's streams say.
func (w *world) subject(user uuid.UUID) domain.Subject {
	u := fold[domain.User](w, domain.UserStream(user))
	var groups []uuid.UUID
	for _, g := range w.groups {
		if fold[domain.Group](w, domain.GroupStream(g)).HasMember(user) {
			groups = append(groups, g)
		}
	}
	return domain.NewSubject(u, fold[domain.Role](w, domain.RoleStream(u.RoleID)), groups)
}

// org creates an organization as an operator would: the organization, its
// Administrator role and its first administrator. It returns the org and
// the administrator.
func (w *world) org(name string) (org, admin uuid.UUID) {
	w.t.Helper()
	org, role, admin := w.next("org"), w.next("role"), w.next("user")
	exec[domain.Organization](w, domain.OrganizationStream(org), uuid.Nil,
		domain.CreateOrganization{OrgID: org, Name: name, AdminRoleID: role, AdminUserID: admin, Now: w.now})
	state := fold[domain.Organization](w, domain.OrganizationStream(org))
	exec[domain.Role](w, domain.RoleStream(role), uuid.Nil, domain.CreateAdministratorRole{Org: state, Now: w.now})
	exec[domain.User](w, domain.UserStream(admin), uuid.Nil, domain.CreateFirstAdministrator{Org: state,
		Name: name + " Admin", Email: "admin@example.org", Now: w.now})
	return org, admin
}

func (w *world) role(admin uuid.UUID, name string, p domain.Permissions) uuid.UUID {
	w.t.Helper()
	r := w.next("role")
	exec[domain.Role](w, domain.RoleStream(r), admin,
		domain.CreateRole{RoleID: r, Name: name, Permissions: p, Actor: w.subject(admin), Now: w.now})
	return r
}

func (w *world) updateRole(admin, role uuid.UUID, p domain.Permissions) {
	w.t.Helper()
	r := fold[domain.Role](w, domain.RoleStream(role))
	exec[domain.Role](w, domain.RoleStream(role), admin, domain.UpdateRole{RoleID: role, Name: r.Name,
		Permissions: p, OtherActiveAdmins: 1, Actor: w.subject(admin), Now: w.now})
}

// user creates a user with role; subject may be empty (the user's id).
func (w *world) user(admin uuid.UUID, name string, role uuid.UUID, subject string) uuid.UUID {
	w.t.Helper()
	u := w.next("user")
	exec[domain.User](w, domain.UserStream(u), admin, domain.CreateUser{UserID: u, Name: name,
		Email: "someone@example.org", Subject: subject, Role: fold[domain.Role](w, domain.RoleStream(role)),
		Actor: w.subject(admin), Now: w.now})
	return u
}

// setUser changes a user's role (uuid.Nil: unchanged) and active flag.
func (w *world) setUser(admin, user, role uuid.UUID, active bool) {
	w.t.Helper()
	u := fold[domain.User](w, domain.UserStream(user))
	cmd := domain.UpdateUser{UserID: user, Active: domain.Some(active),
		CurrentRole: fold[domain.Role](w, domain.RoleStream(u.RoleID)), OtherActiveAdmins: 1,
		Actor: w.subject(admin), Now: w.now}
	if role != uuid.Nil {
		cmd.Role = domain.Some(fold[domain.Role](w, domain.RoleStream(role)))
	}
	exec[domain.User](w, domain.UserStream(user), admin, cmd)
}

func (w *world) group(admin uuid.UUID, name string) uuid.UUID {
	w.t.Helper()
	g := w.next("group")
	exec[domain.Group](w, domain.GroupStream(g), admin,
		domain.CreateGroup{GroupID: g, Name: name, Actor: w.subject(admin), Now: w.now})
	w.groups = append(w.groups, g)
	return g
}

func (w *world) join(admin, group, user uuid.UUID) {
	w.t.Helper()
	exec[domain.Group](w, domain.GroupStream(group), admin, domain.AddGroupMember{GroupID: group, UserID: user,
		UserOrgID: fold[domain.User](w, domain.UserStream(user)).OrgID, Actor: w.subject(admin), Now: w.now})
}

func (w *world) leave(admin, group, user uuid.UUID) {
	w.t.Helper()
	exec[domain.Group](w, domain.GroupStream(group), admin,
		domain.RemoveGroupMember{GroupID: group, UserID: user, Actor: w.subject(admin), Now: w.now})
}

// newCase opens a case owned by actor.
func (w *world) newCase(actor uuid.UUID, title, description string, class domain.AccessClass) uuid.UUID {
	w.t.Helper()
	c := w.next("case")
	exec[domain.Case](w, domain.CaseStream(c), actor, domain.CreateCase{CaseID: c, Title: title,
		Description: description, AccessClass: class, Actor: w.subject(actor), Now: w.now})
	return c
}

func (w *world) caseCmd(actor, c uuid.UUID, cmd domain.Command) []domain.Event {
	w.t.Helper()
	return exec[domain.Case](w, domain.CaseStream(c), actor, cmd)
}

func (w *world) setOwner(actor, c, owner uuid.UUID) {
	w.t.Helper()
	w.caseCmd(actor, c, domain.EditCase{CaseID: c, Owner: domain.Some(owner),
		OwnerOrgID: fold[domain.User](w, domain.UserStream(owner)).OrgID, Actor: w.subject(actor), Now: w.now})
}

func (w *world) setTitle(actor, c uuid.UUID, title string) {
	w.t.Helper()
	w.caseCmd(actor, c, domain.EditCase{CaseID: c, Title: domain.Some(title), Actor: w.subject(actor), Now: w.now})
}

func (w *world) setClass(actor, c uuid.UUID, class domain.AccessClass) {
	w.t.Helper()
	w.caseCmd(actor, c, domain.ChangeAccessClass{CaseID: c, AccessClass: class, Actor: w.subject(actor), Now: w.now})
}

func (w *world) addEvidence(actor, c uuid.UUID, title string) uuid.UUID {
	w.t.Helper()
	ev := w.next("evidence")
	w.caseCmd(actor, c, domain.AddEvidence{CaseID: c, EvidenceID: ev, Title: title, Actor: w.subject(actor), Now: w.now})
	return ev
}

func (w *world) removeEvidence(actor, c, ev uuid.UUID) {
	w.t.Helper()
	w.caseCmd(actor, c, domain.RemoveEvidence{CaseID: c, EvidenceID: ev, Actor: w.subject(actor), Now: w.now})
}

// principalOrg is the organization of a user or group principal.
func (w *world) principalOrg(p domain.Principal) uuid.UUID {
	if p.Type == domain.PrincipalGroup {
		return fold[domain.Group](w, domain.GroupStream(p.ID)).OrgID
	}
	return fold[domain.User](w, domain.UserStream(p.ID)).OrgID
}

// grant puts principals on the case's list (evidence uuid.Nil) or an item's.
func (w *world) grant(actor, c, evidence uuid.UUID, level domain.AccessLevel, expires time.Time, ps ...domain.Principal) {
	w.t.Helper()
	grants := make([]domain.Grant, len(ps))
	for i, p := range ps {
		grants[i] = domain.Grant{Principal: p, PrincipalOrgID: w.principalOrg(p), Level: level, ExpiresAt: expires}
	}
	w.caseCmd(actor, c, domain.GrantAccess{CaseID: c, EvidenceID: evidence, Grants: grants, Actor: w.subject(actor), Now: w.now})
}

func (w *world) modify(actor, c, evidence uuid.UUID, p domain.Principal, level domain.AccessLevel, expires time.Time) {
	w.t.Helper()
	w.caseCmd(actor, c, domain.ModifyAccess{CaseID: c, EvidenceID: evidence, Principal: p,
		Level: domain.Some(level), ExpiresAt: domain.Some(expires), Actor: w.subject(actor), Now: w.now})
}

func (w *world) revoke(actor, c, evidence uuid.UUID, p domain.Principal) {
	w.t.Helper()
	w.caseCmd(actor, c, domain.RemoveAccess{CaseID: c, EvidenceID: evidence, Principal: p, Actor: w.subject(actor), Now: w.now})
}

// expire records an entry's expiry as the reactor would.
func (w *world) expire(c, evidence uuid.UUID, p domain.Principal, expiresAt time.Time) {
	w.t.Helper()
	events, err := fold[domain.Case](w, domain.CaseStream(c)).Decide(domain.RecordAccessExpiry{CaseID: c,
		EvidenceID: evidence, Principal: p, ExpiresAt: expiresAt, Now: w.now})
	require.NoError(w.t, err)
	require.NotEmpty(w.t, events, "nothing to record")
	w.record(domain.CaseStream(c), eventstore.Actor{Kind: eventstore.ActorSystem, Name: "expiry"}, events...)
}

// view runs fn on the named projection of a runner.
func view[P projections.Projection](t *testing.T, r *projections.Runner, name string, fn func(P)) {
	t.Helper()
	require.NoError(t, projections.View(r, name, func(p P) error { fn(p); return nil }))
}

// live starts a runner over store with factories and waits until it is live.
func live(t *testing.T, store eventstore.Store, factories ...projections.Factory) *projections.Runner {
	t.Helper()
	r := projections.NewRunner(store, time.Now, factories...)
	start(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, r.WaitLive(ctx))
	return r
}
