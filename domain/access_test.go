package domain_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/custodian/custodian/domain"
)

func TestAccessEntryExpiry(t *testing.T) {
	// carol can do nothing through her role; her only path is an entry
	// expiring at hours(2).
	kase := caseOf(created(domain.Confidential), granted(entry(domain.UserPrincipal(carol), domain.LevelView, hours(2))))
	s := nobody()
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"well before the expiry", t0, true},
		{"a nanosecond before the expiry", hours(2).Add(-time.Nanosecond), true},
		{"at the expiry instant", hours(2), false},
		{"after the expiry", hours(3), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, domain.CanList(s, kase, tt.now))
			assert.Equal(t, tt.want, domain.CanView(s, kase, tt.now))
			assert.Equal(t, tt.want, domain.HasActiveEntry(s, kase, tt.now))
		})
	}
}

func TestAccessGroupEntriesActForMembers(t *testing.T) {
	kase := caseOf(created(domain.Confidential), granted(entry(domain.GroupPrincipal(detectives), domain.LevelRole, time.Time{})))
	member := user(carol, orgA, domain.Permissions{Actions: []domain.Action{domain.ActionEditCases}}, detectives)
	assert.True(t, domain.CanView(member, kase, t0))
	assert.True(t, domain.CanEdit(member, kase, t0), "a group entry of level Role lets members use their role")
	assert.Equal(t, domain.Decision{Allowed: true, Reasons: []domain.Reason{domain.GroupEntryReason(detectives)}},
		domain.ExplainView(member, kase, t0))
	assert.Equal(t, domain.Reason("group-entry:"+detectives.String()), domain.GroupEntryReason(detectives))

	notMember := user(carol, orgA, domain.Permissions{Actions: []domain.Action{domain.ActionEditCases}})
	assert.False(t, domain.CanList(notMember, kase, t0))
	assert.Equal(t, domain.Decision{Reasons: []domain.Reason{}}, domain.ExplainView(notMember, kase, t0))
}

func TestAccessOnlySameOrganization(t *testing.T) {
	kase := caseOf(created(domain.Unrestricted),
		granted(entry(domain.UserPrincipal(eve), domain.LevelRole, time.Time{}), entry(domain.GroupPrincipal(outsiders), domain.LevelRole, time.Time{})))
	// Even with eve's id and group on the list (which Decide would refuse), a
	// subject of another organization gets nothing.
	s := user(eve, orgB, domain.AdministratorPermissions(), outsiders)
	assert.False(t, domain.CanList(s, kase, t0))
	assert.False(t, domain.CanView(s, kase, t0))
	assert.False(t, domain.CanEdit(s, kase, t0))
	assert.False(t, domain.ViewsThroughRole(s, kase))
	assert.False(t, domain.CanReadAudit(s, orgA))
	assert.False(t, domain.CanAdminister(s, orgA))
	assert.True(t, domain.CanAdminister(s, orgB))
}

func TestAccessInactiveSubjectGetsNothing(t *testing.T) {
	kase := caseOf(created(domain.Unrestricted), granted(entry(domain.UserPrincipal(alice), domain.LevelRole, time.Time{})))
	s := admin()
	s.Active = false
	assert.False(t, domain.CanList(s, kase, t0))
	assert.False(t, domain.CanCreateCase(s))
	assert.False(t, domain.CanReceiveShares(s))
	assert.False(t, domain.CanAdminister(s, orgA))
	assert.False(t, domain.CanList(admin(), domain.Case{}, t0), "a case that does not exist")
}

func TestAccessActions(t *testing.T) {
	kase := caseOf(created(domain.Restricted),
		granted(entry(domain.UserPrincipal(carol), domain.LevelView, time.Time{}), entry(domain.UserPrincipal(eve), domain.LevelRole, time.Time{})))
	all := domain.AllActions()
	tests := []struct {
		name string
		s    domain.Subject
		want bool
	}{
		{"administrator through its role", admin(), true},
		{"every action but through an entry of level view only", user(carol, orgA, domain.Permissions{Actions: all}), false},
		{"every action, view entry, and view through the role", user(carol, orgA, perms(all3, allow3, all...)), true},
		{"every action through an entry of level role", user(eve, orgA, domain.Permissions{Actions: all}), true},
		{"no action, view through the role", user(bob, orgA, perms(all3, allow3)), false},
		{"listed but not viewable through the role", user(bob, orgA, perms(all3, deny3, all...)), false},
	}
	checks := map[string]func(domain.Subject, domain.Case, time.Time) bool{
		"edit": domain.CanEdit, "add evidence": domain.CanAddEvidence, "manage access": domain.CanManageAccess,
		"share": domain.CanShare, "classic share": domain.CanClassicShare,
	}
	for _, tt := range tests {
		for name, check := range checks {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				assert.Equal(t, tt.want, check(tt.s, kase, t0))
			})
		}
	}

	assert.True(t, domain.CanCreateCase(admin()))
	assert.False(t, domain.CanCreateCase(nobody()))
	assert.True(t, domain.CanReceiveShares(user(bob, orgA, domain.Permissions{Actions: []domain.Action{domain.ActionReceiveShares}})))
	assert.False(t, domain.CanReceiveShares(nobody()))
	assert.True(t, domain.CanReadAudit(user(bob, orgA, domain.Permissions{Actions: []domain.Action{domain.ActionReadAudit}}), orgA))
	assert.False(t, domain.CanReadAudit(nobody(), orgA))
	assert.False(t, domain.CanAdminister(nobody(), orgA))
	assert.False(t, domain.CanChangeAccessClass(admin(), kase, domain.Restricted, t0), "to its own class is not a change")
	assert.False(t, domain.CanChangeAccessClass(admin(), kase, "secret", t0))
}

func TestAccessReasons(t *testing.T) {
	kase := caseOf(created(domain.Restricted),
		granted(
			entry(domain.UserPrincipal(bob), domain.LevelView, time.Time{}),
			entry(domain.GroupPrincipal(detectives), domain.LevelRole, hours(1)),
			entry(domain.GroupPrincipal(id("night-shift")), domain.LevelRole, hours(-1)), // expired
		))
	p := perms([3]domain.ListScope{domain.ListAll, domain.ListOwn, domain.ListAll}, allow3)
	s := user(bob, orgA, p, detectives, id("night-shift"))
	want := []domain.Reason{domain.ReasonOwner, domain.ReasonUserEntry, domain.GroupEntryReason(detectives)}
	assert.Equal(t, domain.Decision{Allowed: true, Reasons: want}, domain.ExplainList(s, kase, t0))
	assert.Equal(t, domain.Decision{Allowed: true, Reasons: want}, domain.ExplainView(s, kase, t0))

	// With view denied for the class, the role still lists but no longer views.
	noView := user(bob, orgA, perms([3]domain.ListScope{domain.ListAll, domain.ListAll, domain.ListAll}, deny3), detectives)
	assert.Equal(t, []domain.Reason{domain.ReasonRole, domain.ReasonUserEntry, domain.GroupEntryReason(detectives)},
		domain.ExplainList(noView, kase, t0).Reasons)
	assert.Equal(t, []domain.Reason{domain.ReasonUserEntry, domain.GroupEntryReason(detectives)},
		domain.ExplainView(noView, kase, t0).Reasons)
}

func TestAccessEvidence(t *testing.T) {
	dave := id("dave")
	kase := caseOf(
		created(domain.Unrestricted),
		added(ev1, domain.Restricted, bob),
		added(ev2, domain.Confidential, dave),
		grantedOn(ev1, entry(domain.GroupPrincipal(detectives), domain.LevelView, time.Time{}), entry(domain.UserPrincipal(dave), domain.LevelView, hours(-1))),
	)
	item1, _ := kase.Item(ev1)
	item2, _ := kase.Item(ev2)
	listOwnNoView := perms(all3, allow3)
	listOwnNoView.Evidence.List = domain.ListByClass{Confidential: domain.ListOwn}
	roleAll := withEvidence(perms(all3, allow3), domain.ListAll, domain.Allow)
	tests := []struct {
		name             string
		s                domain.Subject
		item             domain.EvidenceItem
		list, view       bool
		listWhy, viewWhy []domain.Reason
	}{
		{name: "role lists and views every class", s: user(dave, orgA, roleAll), item: item1, list: true, view: true,
			listWhy: []domain.Reason{domain.ReasonRole}, viewWhy: []domain.Reason{domain.ReasonRole}},
		{name: "role lists own, added by the subject, view denied", s: user(dave, orgA, listOwnNoView), item: item2, list: true, view: false,
			listWhy: []domain.Reason{domain.ReasonAddedBy}, viewWhy: []domain.Reason{}},
		{name: "role lists own, not added by the subject", s: user(bob, orgA, listOwnNoView), item: item2,
			listWhy: []domain.Reason{}, viewWhy: []domain.Reason{}},
		{name: "through a group on the item's own list", s: user(carol, orgA, perms(all3, allow3), detectives), item: item1, list: true, view: true,
			listWhy: []domain.Reason{domain.EvidenceGroupEntryReason(detectives)}, viewWhy: []domain.Reason{domain.EvidenceGroupEntryReason(detectives)}},
		{name: "an expired entry on the item's own list", s: user(dave, orgA, perms(all3, allow3)), item: item1,
			listWhy: []domain.Reason{}, viewWhy: []domain.Reason{}},
		{name: "on the item's list but unable to view the case", s: user(carol, orgA, perms(none3, deny3), detectives), item: item1,
			listWhy: []domain.Reason{}, viewWhy: []domain.Reason{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.list, domain.CanListEvidence(tt.s, kase, tt.item, t0))
			assert.Equal(t, tt.view, domain.CanViewEvidence(tt.s, kase, tt.item, t0))
			assert.Equal(t, domain.Decision{Allowed: tt.list, Reasons: tt.listWhy}, domain.ExplainListEvidence(tt.s, kase, tt.item, t0))
			assert.Equal(t, domain.Decision{Allowed: tt.view, Reasons: tt.viewWhy}, domain.ExplainViewEvidence(tt.s, kase, tt.item, t0))
		})
	}

	onCase := kase.Evolve(granted(entry(domain.UserPrincipal(bob), domain.LevelView, time.Time{})))
	s := user(bob, orgA, domain.Permissions{})
	assert.True(t, domain.CanViewEvidence(s, onCase, item2, t0), "the case's list gives every item")
	assert.Equal(t, []domain.Reason{domain.ReasonUserEntry}, domain.ExplainViewEvidence(s, onCase, item2, t0).Reasons)
	assert.Equal(t, domain.Reason("evidence-group-entry:"+detectives.String()), domain.EvidenceGroupEntryReason(detectives))
	assert.Equal(t, []domain.EvidenceItem{}, domain.ListableEvidence(nobody(), kase, t0))
}

func TestViewsThroughRole(t *testing.T) {
	kase := caseOf(created(domain.Restricted), granted(entry(domain.UserPrincipal(carol), domain.LevelRole, time.Time{})))
	assert.True(t, domain.ViewsThroughRole(user(bob, orgA, investigator()), kase), "owner, restricted listed as own")
	assert.False(t, domain.ViewsThroughRole(user(carol, orgA, investigator()), kase), "the list is not the role")
	assert.True(t, domain.CanView(user(carol, orgA, investigator()), kase, t0))
	assert.False(t, domain.ViewsThroughRole(user(bob, orgA, investigator()), domain.Case{}))
}

func TestAccessListHelpers(t *testing.T) {
	l := domain.AccessList{
		entry(domain.UserPrincipal(bob), domain.LevelRole, hours(1)),
		entry(domain.GroupPrincipal(detectives), domain.LevelView, time.Time{}),
	}
	e, ok := l.Find(domain.GroupPrincipal(detectives))
	assert.True(t, ok)
	assert.Equal(t, domain.LevelView, e.Level)
	_, ok = l.Find(domain.UserPrincipal(detectives))
	assert.False(t, ok, "a user and a group with one id are different principals")
	assert.Equal(t, []domain.Principal{domain.GroupPrincipal(detectives)}, l.ActivePrincipals(hours(1)))
	assert.False(t, domain.Principal{Type: domain.PrincipalUser}.Valid())
	assert.False(t, domain.Principal{Type: "robot", ID: bob}.Valid())
	assert.True(t, domain.UserPrincipal(bob).Valid())
	assert.Equal(t, domain.Principal{Type: domain.PrincipalGroup, ID: uuid.Nil}, domain.GroupPrincipal(uuid.Nil))
}

func TestAccessActOnEvidence(t *testing.T) {
	// Every subject below holds every action; only the paths to the case and
	// to ev1 (restricted, added by bob) differ.
	all := domain.AllActions()
	caseRole := perms(all3, allow3, all...)    // views every case through its role, no evidence
	noRole := domain.Permissions{Actions: all} // views nothing through its role
	evidenceRole := withEvidence(caseRole, domain.ListAll, domain.Allow)
	ownEvidence := withEvidence(caseRole, domain.ListOwn, domain.Allow)
	listOnly := withEvidence(caseRole, domain.ListAll, domain.Deny)
	carolP := domain.UserPrincipal(carol)
	groupP := domain.GroupPrincipal(detectives)
	base := []domain.Event{created(domain.Unrestricted), added(ev1, domain.Restricted, bob)}
	with := func(es ...domain.Event) domain.Case { return caseOf(append(base[:2:2], es...)...) }
	never := time.Time{}
	tests := []struct {
		name string
		c    domain.Case
		s    domain.Subject
		want bool
	}{
		{"the role views the case and the item", with(), user(carol, orgA, evidenceRole), true},
		{"the role lists own items and the subject added it", with(), user(bob, orgA, ownEvidence), true},
		{"the role lists own items, added by someone else", with(), user(carol, orgA, ownEvidence), false},
		{"the role lists the item but does not view it", with(), user(carol, orgA, listOnly), false},
		{"view entry on the item's list, role views the case only", with(grantedOn(ev1, entry(carolP, domain.LevelView, never))), user(carol, orgA, caseRole), false},
		{"view entry on the case's list, role views the case only", with(granted(entry(carolP, domain.LevelView, never))), user(carol, orgA, caseRole), false},
		{"view entry of a group on the item's list", with(grantedOn(ev1, entry(groupP, domain.LevelView, never))), user(carol, orgA, caseRole, detectives), false},
		{"role entry on the item's list, role views the case", with(grantedOn(ev1, entry(carolP, domain.LevelRole, never))), user(carol, orgA, caseRole), true},
		{"role entry of a group on the item's list", with(grantedOn(ev1, entry(groupP, domain.LevelRole, never))), user(carol, orgA, caseRole, detectives), true},
		{"expired role entry on the item's list", with(grantedOn(ev1, entry(carolP, domain.LevelRole, hours(-1)))), user(carol, orgA, caseRole), false},
		{"role entry on the case's list only", with(granted(entry(carolP, domain.LevelRole, never))), user(carol, orgA, noRole), true},
		{"role entry on the item's list, view entry on the case's list, no role",
			with(granted(entry(carolP, domain.LevelView, never)), grantedOn(ev1, entry(carolP, domain.LevelRole, never))), user(carol, orgA, noRole), false},
		{"the role views the item but the case only through a view entry",
			caseOf(created(domain.Confidential), added(ev1, domain.Confidential, bob), granted(entry(carolP, domain.LevelView, never))),
			user(carol, orgA, withEvidence(noRole, domain.ListAll, domain.Allow)), false},
		{"a subject of another organization", with(), user(eve, orgB, domain.AdministratorPermissions()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item, ok := tt.c.Item(ev1)
			assert.True(t, ok)
			assert.Equal(t, tt.want, domain.CanActOnEvidence(tt.s, tt.c, item, t0))
			if tt.want {
				assert.True(t, domain.CanViewEvidence(tt.s, tt.c, item, t0), "acting implies viewing")
			}
		})
	}
}
