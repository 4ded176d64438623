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

// casesWorld is Metro Police with an administrator, investigators bob and
// carol, clerks ann and zed (their owner filter is locked), ann in the
// group detectives; and County Prosecutor with its administrator.
type casesWorld struct {
	*world
	cases                        *projections.Cases
	metro, county                uuid.UUID
	admin, countyAdmin           uuid.UUID
	bob, carol, ann, zed, nobody uuid.UUID
	detectives                   uuid.UUID
}

func newCasesWorld(t *testing.T, projs ...projections.Projection) *casesWorld {
	c := &casesWorld{cases: projections.NewCases()}
	c.world = newWorld(t, append([]projections.Projection{c.cases}, projs...)...)
	c.metro, c.admin = c.org("Metro Police")
	c.county, c.countyAdmin = c.org("County Prosecutor")
	inv := c.role(c.admin, "Investigator", investigator())
	clerkRole := c.role(c.admin, "Clerk", clerk())
	none := c.role(c.admin, "Nobody", domain.Permissions{})
	c.bob = c.user(c.admin, "Bob", inv, "")
	c.carol = c.user(c.admin, "Carol", inv, "")
	c.ann = c.user(c.admin, "Ann", clerkRole, "")
	c.zed = c.user(c.admin, "Zed", clerkRole, "")
	c.nobody = c.user(c.admin, "Nobody", none, "")
	c.detectives = c.group(c.admin, "Detectives")
	c.join(c.admin, c.detectives, c.ann)
	return c
}

func TestCasesCaseView(t *testing.T) {
	c := newCasesWorld(t)
	created := c.now
	k := c.newCase(c.bob, "Burglary at 12 Elm St", "Back door forced", domain.Restricted)

	got, ok := c.cases.Case(k)
	require.True(t, ok)
	assert.Equal(t, projections.CaseView{
		Case: domain.Case{ID: k, OrgID: c.metro, Title: "Burglary at 12 Elm St", Description: "Back door forced",
			OwnerID: c.bob, AccessClass: domain.Restricted, Access: domain.AccessList{
				{Principal: domain.UserPrincipal(c.bob), Level: domain.LevelRole, GrantedBy: c.bob, GrantedAt: created}}},
		CreatedAt: created, UpdatedAt: created, Revision: 1,
	}, got, "CaseCreated and the creator's entry")

	c.tick()
	c.setTitle(c.bob, k, "Burglary at 14 Elm St")
	ev := c.addEvidence(c.bob, k, "Doorbell video")
	got, _ = c.cases.Case(k)
	assert.Equal(t, "Burglary at 14 Elm St", got.Title)
	assert.Equal(t, created, got.CreatedAt)
	assert.Equal(t, c.now, got.UpdatedAt)
	assert.Equal(t, eventstore.Revision(3), got.Revision)
	assert.Equal(t, fold[domain.Case](c.world, domain.CaseStream(k)), got.Case, "the state domain.Case.Evolve folds")

	holder, ok := c.cases.CaseOfEvidence(ev)
	require.True(t, ok)
	assert.Equal(t, k, holder)
	c.removeEvidence(c.bob, k, ev)
	_, ok = c.cases.CaseOfEvidence(ev)
	assert.False(t, ok, "a removed item is in no case")
	_, ok = c.cases.CaseOfEvidence(id("never"))
	assert.False(t, ok)
	_, ok = c.cases.Case(id("never"))
	assert.False(t, ok)
}

func TestCasesReturnsCopies(t *testing.T) {
	c := newCasesWorld(t)
	k := c.newCase(c.bob, "Burglary", "", domain.Restricted)
	c.addEvidence(c.bob, k, "Video")
	got, _ := c.cases.Case(k)
	got.Access[0].Level = "tampered"
	got.Evidence[0].Title = "tampered"
	res, err := c.cases.Search(c.subject(c.bob), projections.SearchQuery{}, c.now)
	require.NoError(t, err)
	res.Items[0].Access[0].Level = "tampered"

	got, _ = c.cases.Case(k)
	assert.Equal(t, domain.LevelRole, got.Access[0].Level)
	assert.Equal(t, "Video", got.Evidence[0].Title)
}

func TestCasesRefusesAnInconsistentLog(t *testing.T) {
	k := id("case")
	env := eventstore.Envelope{Stream: domain.CaseStream(k)}
	created := domain.CaseCreated{CaseID: k, OrgID: id("org"), Title: "x", OwnerID: id("u"), AccessClass: domain.Unrestricted}

	cases := projections.NewCases()
	assert.Error(t, cases.Apply(env, domain.CaseTitleChanged{CaseID: k, Title: "y"}), "before CaseCreated")
	require.NoError(t, cases.Apply(env, created))
	assert.Error(t, cases.Apply(env, created), "created twice")
	assert.NoError(t, cases.Apply(eventstore.Envelope{Stream: "user-" + id("u").String()}, domain.UserDeactivated{UserID: id("u")}),
		"other streams are ignored")
}

// TestCasesOnTheRunner: the cases read model from the store at start, then
// live: a revoked entry hides the case from the next search.
func TestCasesOnTheRunner(t *testing.T) {
	store := openStore(t)
	c := newCasesWorld(t)
	k := c.newCase(c.carol, "Homicide on Oak Ave", "", domain.Restricted)
	c.grant(c.carol, k, uuid.Nil, domain.LevelView, time.Time{}, domain.UserPrincipal(c.bob))
	c.appendTo(store)
	r := live(t, store, func() projections.Projection { return projections.NewCases() })

	search := func() []uuid.UUID {
		var ids []uuid.UUID
		view(t, r, projections.CasesName, func(cases *projections.Cases) {
			res, err := cases.Search(c.subject(c.bob), projections.SearchQuery{}, c.now)
			require.NoError(t, err)
			for _, item := range res.Items {
				ids = append(ids, item.ID)
			}
		})
		return ids
	}
	assert.Equal(t, []uuid.UUID{k}, search())

	c.revoke(c.carol, k, uuid.Nil, domain.UserPrincipal(c.bob))
	wait(t, r, c.appendTo(store))
	assert.Empty(t, search())
	view(t, r, projections.CasesName, func(cases *projections.Cases) {
		got, ok := cases.Case(k)
		require.True(t, ok)
		assert.Equal(t, eventstore.Revision(3), got.Revision)
	})
}
