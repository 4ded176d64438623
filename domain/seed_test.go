package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
)

// One test per row of the permission table of
// ../shared/seeds/case-access-control.txt ("User permissions for case
// access"), plus its two worked examples. Each row has three columns that
// matter: the role-based outcome for a user, the group-monitor column (NA in
// every row: groups have no role of their own, they act only through access
// lists), and the outcome for an access-list member.

// seedCase is case1 of org A in class, owned by bob, with carol (who holds
// the same role as dave) on its access list at level Role.
func seedCase(class domain.AccessClass) domain.Case {
	return caseOf(created(class), granted(entry(domain.UserPrincipal(carol), domain.LevelRole, time.Time{})))
}

// classScopes returns list scopes with scope for class c and all for the others.
func classScopes(c domain.AccessClass, scope domain.ListScope) [3]domain.ListScope {
	s := all3
	s[map[domain.AccessClass]int{domain.Unrestricted: 0, domain.Restricted: 1, domain.Confidential: 2}[c]] = scope
	return s
}

func classAllows(c domain.AccessClass, a domain.Allowance) [3]domain.Allowance {
	s := allow3
	s[map[domain.AccessClass]int{domain.Unrestricted: 0, domain.Restricted: 1, domain.Confidential: 2}[c]] = a
	return s
}

// listProhibited proves a row "List <c> Cases | Prohibited | No Cases | NA |
// Can search and run reports if on the case access list".
func listProhibited(t *testing.T, c domain.AccessClass) {
	t.Helper()
	p := perms(classScopes(c, domain.ListNone), allow3)
	kase := seedCase(c)
	assert.False(t, domain.CanList(user(bob, orgA, p), kase, t0), "role-based: no cases, not even the owner's")
	assert.False(t, domain.CanList(user(id("dave"), orgA, p), kase, t0), "role-based: no cases")
	assert.True(t, domain.CanList(user(carol, orgA, p), kase, t0), "access-list member: can search and report")
	other := caseOf(domain.CaseCreated{CaseID: id("other"), OrgID: orgA, Title: "x", OwnerID: bob, AccessClass: otherClass(c)})
	assert.True(t, domain.CanList(user(bob, orgA, p), other, t0), "only class %s is prohibited", c)
}

// listOwn proves a row "List <c> Cases | Only Their Own | If assigned as
// case owner | NA | Can search and run reports if on the case access list".
func listOwn(t *testing.T, c domain.AccessClass) {
	t.Helper()
	p := perms(classScopes(c, domain.ListOwn), allow3)
	kase := seedCase(c)
	assert.True(t, domain.CanList(user(bob, orgA, p), kase, t0), "role-based: the case owner lists it")
	assert.Equal(t, []domain.Reason{domain.ReasonOwner}, domain.ExplainList(user(bob, orgA, p), kase, t0).Reasons)
	assert.False(t, domain.CanList(user(id("dave"), orgA, p), kase, t0), "role-based: not someone else's case")
	assert.True(t, domain.CanList(user(carol, orgA, p), kase, t0), "access-list member: can search and report")
	assert.Equal(t, []domain.Reason{domain.ReasonUserEntry}, domain.ExplainList(user(carol, orgA, p), kase, t0).Reasons)
	reassigned := kase.Evolve(domain.CaseOwnerChanged{CaseID: case1, OwnerID: id("dave"), PreviousOwnerID: bob})
	assert.False(t, domain.CanList(user(bob, orgA, p), reassigned, t0), "once no longer owner, bob loses it")
	assert.True(t, domain.CanList(user(id("dave"), orgA, p), reassigned, t0), "the new owner gains it")
}

// viewProhibited proves a row "View <c> Case | Prohibited | No Case | NA |
// Can view case if on the access list". Through Decide, "No Case" is a
// refusal of every command on it: 403 for a user whose role lists the case
// (it may know it exists), 404 for one whose role does not list it either;
// the access-list member (level Role) acts with its role.
func viewProhibited(t *testing.T, c domain.AccessClass) {
	t.Helper()
	actions := []domain.Action{domain.ActionEditCases, domain.ActionAddEvidence, domain.ActionManageAccess}
	p := perms(all3, classAllows(c, domain.Deny), actions...)
	kase := seedCase(c)
	assert.True(t, domain.CanList(user(bob, orgA, p), kase, t0), "listing is a separate permission")
	assert.False(t, domain.CanView(user(bob, orgA, p), kase, t0), "role-based: no case, not even the owner")
	assert.False(t, domain.CanView(user(id("dave"), orgA, p), kase, t0), "role-based: no case")
	assert.True(t, domain.CanView(user(carol, orgA, p), kase, t0), "access-list member: can view")

	unlisted := perms(classScopes(c, domain.ListNone), classAllows(c, domain.Deny), actions...)
	commands := map[string]func(domain.Subject) domain.Command{
		"edit": func(s domain.Subject) domain.Command {
			return domain.EditCase{CaseID: case1, Title: domain.Some("Renamed"), Actor: s, Now: t0}
		},
		"create folder": func(s domain.Subject) domain.Command {
			return domain.CreateFolder{CaseID: case1, FolderID: folder, Name: "Video", Actor: s, Now: t0}
		},
		"add evidence": func(s domain.Subject) domain.Command {
			return domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "Doorbell video", Actor: s, Now: t0}
		},
		"grant access": func(s domain.Subject) domain.Command {
			return domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{{Principal: domain.UserPrincipal(alice),
				PrincipalOrgID: orgA, Level: domain.LevelView}}, Actor: s, Now: t0}
		},
		"remove access": func(s domain.Subject) domain.Command {
			return domain.RemoveAccess{CaseID: case1, Principal: domain.UserPrincipal(carol), Actor: s, Now: t0}
		},
		"keep its class": func(s domain.Subject) domain.Command {
			return domain.ChangeAccessClass{CaseID: case1, AccessClass: c, Actor: s, Now: t0}
		},
	}
	for name, cmd := range commands {
		_, err := kase.Decide(cmd(user(bob, orgA, p)))
		require.ErrorIs(t, err, domain.ErrForbidden, "%s: the owner lists it but may not view it: 403", name)
		_, err = kase.Decide(cmd(user(id("dave"), orgA, p)))
		require.ErrorIs(t, err, domain.ErrForbidden, "%s: listed but not viewable: 403", name)
		_, err = kase.Decide(cmd(user(bob, orgA, unlisted)))
		require.ErrorIs(t, err, domain.ErrCaseNotFound, "%s: neither listed nor viewable: 404", name)
		_, err = kase.Decide(cmd(user(carol, orgA, p)))
		require.NoError(t, err, "%s: the access-list member acts with its role", name)
	}
}

// applyProhibited proves a row "Apply Access Class - <c> | Prohibited |
// Cannot apply access class | NA | No effect".
func applyProhibited(t *testing.T, c domain.AccessClass) {
	t.Helper()
	p := classChanger()
	if c == domain.Restricted {
		p.Cases.ApplyClass.Restricted = domain.Deny
	} else {
		p.Cases.ApplyClass.Confidential = domain.Deny
	}
	for _, from := range []domain.AccessClass{domain.Unrestricted, otherRestriction(c)} {
		kase := seedCase(from)
		for _, u := range []domain.Subject{user(bob, orgA, p), user(carol, orgA, p)} { // carol: on the list, level Role
			assert.False(t, domain.CanChangeAccessClass(u, kase, c, t0), "from %s", from)
			_, err := kase.Decide(domain.ChangeAccessClass{CaseID: case1, AccessClass: c, Actor: u, Now: t0})
			require.ErrorIs(t, err, domain.ErrForbidden)
		}
	}
	assert.True(t, domain.CanChangeAccessClass(user(bob, orgA, classChanger()), seedCase(domain.Unrestricted), c, t0),
		"with the permission it can")
}

// removeProhibited proves a row "Remove Access Class - <c> | Prohibited |
// Cannot remove access class | NA | No effect".
func removeProhibited(t *testing.T, c domain.AccessClass) {
	t.Helper()
	p := classChanger()
	if c == domain.Restricted {
		p.Cases.RemoveClass.Restricted = domain.Deny
	} else {
		p.Cases.RemoveClass.Confidential = domain.Deny
	}
	kase := seedCase(c)
	// Removing it: back to unrestricted, or over to the other restricting class.
	for _, to := range []domain.AccessClass{domain.Unrestricted, otherRestriction(c)} {
		for _, u := range []domain.Subject{user(bob, orgA, p), user(carol, orgA, p)} {
			assert.False(t, domain.CanChangeAccessClass(u, kase, to, t0), "to %s", to)
			_, err := kase.Decide(domain.ChangeAccessClass{CaseID: case1, AccessClass: to, Actor: u, Now: t0})
			require.ErrorIs(t, err, domain.ErrForbidden)
		}
	}
	assert.True(t, domain.CanChangeAccessClass(user(bob, orgA, classChanger()), kase, domain.Unrestricted, t0),
		"with the permission it can")
}

// classChanger may list and view every case and apply and remove every class.
func classChanger() domain.Permissions {
	p := perms(all3, allow3, domain.ActionEditCases)
	both := domain.AllowByRestriction{Restricted: domain.Allow, Confidential: domain.Allow}
	p.Cases.ApplyClass, p.Cases.RemoveClass, p.Evidence.ApplyClass = both, both, both
	return p
}

func otherRestriction(c domain.AccessClass) domain.AccessClass {
	if c == domain.Restricted {
		return domain.Confidential
	}
	return domain.Restricted
}

func otherClass(c domain.AccessClass) domain.AccessClass {
	if c == domain.Unrestricted {
		return domain.Restricted
	}
	return domain.Unrestricted
}

// Row 1: List Unrestricted Cases | Prohibited | No Cases | NA | Can search and run reports if on the case access list.
func TestSeedRow01ListUnrestrictedProhibited(t *testing.T) { listProhibited(t, domain.Unrestricted) }

// Row 2: List Restricted Cases | Prohibited | No Cases | NA | Can search and run reports if on the case access list.
func TestSeedRow02ListRestrictedProhibited(t *testing.T) { listProhibited(t, domain.Restricted) }

// Row 3: List Confidential Cases | Prohibited | No Cases | NA | Can search and run reports if on the case access list.
func TestSeedRow03ListConfidentialProhibited(t *testing.T) { listProhibited(t, domain.Confidential) }

// Row 4: List Unrestricted Cases | Only Their Own | If assigned as case owner | NA | Can search and run reports if on the case access list.
func TestSeedRow04ListUnrestrictedOnlyTheirOwn(t *testing.T) { listOwn(t, domain.Unrestricted) }

// Row 5: List Restricted Cases | Only Their Own | If assigned as case owner | NA | Can search and run reports if on the case access list.
func TestSeedRow05ListRestrictedOnlyTheirOwn(t *testing.T) { listOwn(t, domain.Restricted) }

// Row 6: List Confidential Cases | Only Their Own | If assigned as case owner | NA | Can search and run reports if on the case access list.
func TestSeedRow06ListConfidentialOnlyTheirOwn(t *testing.T) { listOwn(t, domain.Confidential) }

// Row 7: View Unrestricted Case | Prohibited | No Case | NA | Can view case if on the access list.
func TestSeedRow07ViewUnrestrictedProhibited(t *testing.T) { viewProhibited(t, domain.Unrestricted) }

// Row 8: View Restricted Case | Prohibited | No Case | NA | Can view case if on the access list.
func TestSeedRow08ViewRestrictedProhibited(t *testing.T) { viewProhibited(t, domain.Restricted) }

// Row 9: View Confidential Case | Prohibited | No Case | NA | Can view case if on the access list.
func TestSeedRow09ViewConfidentialProhibited(t *testing.T) { viewProhibited(t, domain.Confidential) }

// Row 10: Apply Access Class - Restricted | Prohibited | Cannot apply access class | NA | No effect.
func TestSeedRow10ApplyRestrictedProhibited(t *testing.T) { applyProhibited(t, domain.Restricted) }

// Row 11: Apply Access Class - Confidential | Prohibited | Cannot apply access class | NA | No effect.
func TestSeedRow11ApplyConfidentialProhibited(t *testing.T) { applyProhibited(t, domain.Confidential) }

// Row 12: Remove Access Class - Restricted | Prohibited | Cannot remove access class | NA | No effect.
func TestSeedRow12RemoveRestrictedProhibited(t *testing.T) { removeProhibited(t, domain.Restricted) }

// Row 13: Remove Access Class - Confidential | Prohibited | Cannot remove access class | NA | No effect.
func TestSeedRow13RemoveConfidentialProhibited(t *testing.T) {
	removeProhibited(t, domain.Confidential)
}

// Section "Evidence access vs. case access", its example: a role that may
// list and view all restricted cases but not list or view restricted
// evidence sees the case, and of its evidence only what its role grants by
// default or what it is on the access list for; being on the case's list
// gives the case and all its evidence.
func TestSeedExampleEvidenceAccessVsCaseAccess(t *testing.T) {
	p := perms(all3, allow3)
	p.Evidence.List = domain.ListByClass{Unrestricted: domain.ListAll, Restricted: domain.ListOwn, Confidential: domain.ListNone}
	p.Evidence.View = domain.AllowByClass{Unrestricted: domain.Allow, Restricted: domain.Allow, Confidential: domain.Deny}
	dave := id("dave")
	kase := caseOf(
		created(domain.Restricted),
		added(ev1, domain.Restricted, bob),                 // nothing grants dave this one
		added(ev2, domain.Restricted, dave),                // dave added it: his role lists "own"
		added(id("evidence-3"), domain.Confidential, bob),  // on its own list
		added(id("evidence-4"), domain.Confidential, dave), // added by dave, but confidential: none
		grantedOn(id("evidence-3"), entry(domain.UserPrincipal(dave), domain.LevelView, time.Time{})),
	)
	s := user(dave, orgA, p)
	require.True(t, domain.CanView(s, kase, t0), "dave can search for and view the case")
	var listed []string
	for _, ev := range domain.ListableEvidence(s, kase, t0) {
		listed = append(listed, ev.ID.String())
		assert.True(t, domain.CanViewEvidence(s, kase, ev, t0))
	}
	assert.Equal(t, []string{ev2.String(), id("evidence-3").String()}, listed)
	item, _ := kase.Item(ev1)
	assert.False(t, domain.CanListEvidence(s, kase, item, t0))

	onList := kase.Evolve(granted(entry(domain.UserPrincipal(dave), domain.LevelView, time.Time{})))
	assert.Len(t, domain.ListableEvidence(s, onList, t0), 4, "on the case's list: all evidence in the case")
	for _, ev := range onList.Evidence {
		assert.True(t, domain.CanViewEvidence(s, onList, ev, t0))
	}
}

// Section "Case search page views", its example: a role listing unrestricted
// cases as "Only Their Own" (and nothing else) and on no access list sees
// only the unrestricted cases it owns: not others' unrestricted cases, no
// restricted or confidential case; its owner filter is locked to itself.
func TestSeedExampleOwnerFilter(t *testing.T) {
	p := perms([3]domain.ListScope{domain.ListOwn, domain.ListNone, domain.ListNone}, allow3)
	s := user(bob, orgA, p)
	cases := map[string]domain.Case{
		"own unrestricted":    caseOf(domain.CaseCreated{CaseID: id("c1"), OrgID: orgA, Title: "a", OwnerID: bob, AccessClass: domain.Unrestricted}),
		"other unrestricted":  caseOf(domain.CaseCreated{CaseID: id("c2"), OrgID: orgA, Title: "b", OwnerID: carol, AccessClass: domain.Unrestricted}),
		"own restricted":      caseOf(domain.CaseCreated{CaseID: id("c3"), OrgID: orgA, Title: "c", OwnerID: bob, AccessClass: domain.Restricted}),
		"other confidential":  caseOf(domain.CaseCreated{CaseID: id("c4"), OrgID: orgA, Title: "d", OwnerID: carol, AccessClass: domain.Confidential}),
		"own confidential":    caseOf(domain.CaseCreated{CaseID: id("c5"), OrgID: orgA, Title: "e", OwnerID: bob, AccessClass: domain.Confidential}),
		"other unrestricted2": caseOf(domain.CaseCreated{CaseID: id("c6"), OrgID: orgA, Title: "f", OwnerID: alice, AccessClass: domain.Unrestricted}),
	}
	var found []string
	for name, c := range cases {
		if domain.CanList(s, c, t0) {
			found = append(found, name)
		}
	}
	assert.Equal(t, []string{"own unrestricted"}, found)
	assert.True(t, domain.OwnerFilterLocked(p), "the owner filter is locked to the user")
	assert.False(t, domain.OwnerFilterLocked(perms([3]domain.ListScope{domain.ListOwn, domain.ListAll, domain.ListNone}, allow3)))
	assert.True(t, domain.OwnerFilterLocked(domain.Permissions{}))
	// ... plus the cases it is on the access list for.
	listed := cases["other confidential"].Evolve(domain.InternalAccessGranted{CaseID: id("c4"),
		Entries: []domain.AccessEntry{entry(domain.UserPrincipal(bob), domain.LevelView, time.Time{})}})
	assert.True(t, domain.CanList(s, listed, t0))
}
