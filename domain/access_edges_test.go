package domain_test

// Edges of the access rules that the seed table and the property tests left
// open: before these tests, a change to domain/access.go or
// domain/case_acl.go that broke each of them passed the whole suite.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
)

// never is an entry's expiry when it has none: until removed.
var never time.Time

// Seed: "If Role is selected, the actions a user can take with the case ...
// depends on the permissions associated with their assigned role."
// A Role entry does not stand in for a missing action permission.
func TestRoleEntryDoesNotGrantMissingAction(t *testing.T) {
	kase := caseOf(created(domain.Confidential), added(ev1, domain.Confidential, bob),
		granted(entry(domain.UserPrincipal(carol), domain.LevelRole, never)))
	s := user(carol, orgA, domain.Permissions{}) // role: nothing at all
	assert.True(t, domain.CanView(s, kase, t0))
	assert.False(t, domain.CanEdit(s, kase, t0))
	assert.False(t, domain.CanAddEvidence(s, kase, t0))
	assert.False(t, domain.CanManageAccess(s, kase, t0))
	for name, cmd := range map[string]domain.Command{
		"edit":   domain.EditCase{CaseID: case1, Title: domain.Some("x"), Actor: s, Now: t0},
		"add":    domain.AddEvidence{CaseID: case1, EvidenceID: ev2, Title: "x", Actor: s, Now: t0},
		"grant":  domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{{Principal: domain.UserPrincipal(alice), PrincipalOrgID: orgA, Level: domain.LevelView}}, Actor: s, Now: t0},
		"remove": domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1, Actor: s, Now: t0},
	} {
		_, err := kase.Decide(cmd)
		require.ErrorIs(t, err, domain.ErrForbidden, name)
	}
}

// Design §4: level View is read-only only "when access comes only from an
// ACL entry"; a Role entry through a group acts even when a personal View
// entry comes first on the list.
func TestPersonalViewEntryAndGroupRoleEntry(t *testing.T) {
	s := user(carol, orgA, domain.Permissions{Actions: []domain.Action{domain.ActionEditCases}}, detectives)
	both := caseOf(created(domain.Confidential), granted(
		entry(domain.UserPrincipal(carol), domain.LevelView, never),
		entry(domain.GroupPrincipal(detectives), domain.LevelRole, hours(1))))
	assert.True(t, domain.CanEdit(s, both, t0), "the group's Role entry is active")
	assert.False(t, domain.CanEdit(s, both, hours(1)), "the group's Role entry expired: only the View entry is left")
	assert.True(t, domain.CanView(s, both, hours(1)))
}

// Design §4 class changes: "The actor, if not already on the list, is added
// with level Role, until removed." decisions.md 11 reads "on the list" as an
// active *user* entry: a group entry does not count, an active View entry
// is left as it is.
func TestActorOnListOnApplyingClass(t *testing.T) {
	p := classChanger()
	viaGroup := caseOf(created(domain.Unrestricted), granted(entry(domain.GroupPrincipal(detectives), domain.LevelRole, never)))
	evs, err := viaGroup.Decide(domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Restricted, Actor: user(carol, orgA, p, detectives), Now: t0})
	require.NoError(t, err)
	require.Len(t, evs, 2, "a group entry is not 'already on the list'")
	assert.Equal(t, domain.InternalAccessGranted{CaseID: case1, Entries: []domain.AccessEntry{
		{Principal: domain.UserPrincipal(carol), Level: domain.LevelRole, GrantedBy: carol, GrantedAt: t0}}}, evs[1])

	viewEntry := caseOf(created(domain.Unrestricted), granted(entry(domain.UserPrincipal(carol), domain.LevelView, never)))
	evs, err = viewEntry.Decide(domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Restricted, Actor: user(carol, orgA, p), Now: t0})
	require.NoError(t, err)
	assert.Len(t, evs, 1, "an active View entry is left as it is (not raised to Role)")
}

// Seed rows 4-6 with a class change: the owner's rights follow the case's
// current class; the owner who applies the class keeps it through the entry.
func TestOwnerRightsFollowClassChange(t *testing.T) {
	p := perms([3]domain.ListScope{domain.ListOwn, domain.ListNone, domain.ListNone}, allow3, domain.ActionEditCases)
	p.Cases.ApplyClass.Restricted, p.Evidence.ApplyClass.Restricted = domain.Allow, domain.Allow
	kase := caseOf(created(domain.Unrestricted))
	owner := user(bob, orgA, p)
	byOther := kase.Evolve(domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Restricted, PreviousClass: domain.Unrestricted})
	assert.False(t, domain.CanList(owner, byOther, t0), "restricted listed as none: the owner loses the case")
	evs, err := kase.Decide(domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Restricted, Actor: owner, Now: t0})
	require.NoError(t, err)
	bySelf := evolveAll(kase, evs)
	assert.True(t, domain.CanEdit(owner, bySelf, t0), "added with level Role")
	assert.Equal(t, []domain.Reason{domain.ReasonUserEntry}, domain.ExplainView(owner, bySelf, t0).Reasons)
}
