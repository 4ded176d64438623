package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
)

// Fixtures shared by the tests of this package: readable deterministic ids,
// a clock, permission sets and a given/when/then runner.

// id returns a deterministic UUID for a readable name.
func id(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }

var (
	t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

	orgA = id("org-a")
	orgB = id("org-b")

	alice = id("alice") // administrator of A
	bob   = id("bob")   // investigator of A, owner of case1
	carol = id("carol") // another user of A
	eve   = id("eve")   // a user of B

	detectives = id("detectives") // a group of A
	outsiders  = id("outsiders")  // a group of B

	case1  = id("case-1")
	ev1    = id("evidence-1")
	ev2    = id("evidence-2")
	folder = id("folder-1")
)

// hours returns t0 plus h hours.
func hours(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

// perms builds permissions: case list and view for each class (in the order
// unrestricted, restricted, confidential), and actions.
func perms(list [3]domain.ListScope, view [3]domain.Allowance, actions ...domain.Action) domain.Permissions {
	return domain.Permissions{
		Cases: domain.CasePermissions{
			List: domain.ListByClass{Unrestricted: list[0], Restricted: list[1], Confidential: list[2]},
			View: domain.AllowByClass{Unrestricted: view[0], Restricted: view[1], Confidential: view[2]},
		},
		Actions: actions,
	}
}

var (
	all3   = [3]domain.ListScope{domain.ListAll, domain.ListAll, domain.ListAll}
	allow3 = [3]domain.Allowance{domain.Allow, domain.Allow, domain.Allow}
	none3  = [3]domain.ListScope{}
	deny3  = [3]domain.Allowance{}
)

// withEvidence returns p with evidence list and view set for every class.
func withEvidence(p domain.Permissions, list domain.ListScope, view domain.Allowance) domain.Permissions {
	p.Evidence.List = domain.ListByClass{Unrestricted: list, Restricted: list, Confidential: list}
	p.Evidence.View = domain.AllowByClass{Unrestricted: view, Restricted: view, Confidential: view}
	return p
}

// investigator can list and view unrestricted cases, its own restricted
// ones, no confidential one, all evidence it can reach, and edit, add
// evidence and manage access.
func investigator() domain.Permissions {
	p := perms([3]domain.ListScope{domain.ListAll, domain.ListOwn, domain.ListNone},
		[3]domain.Allowance{domain.Allow, domain.Allow, domain.Deny},
		domain.ActionCreateCases, domain.ActionEditCases, domain.ActionAddEvidence, domain.ActionManageAccess)
	return withEvidence(p, domain.ListAll, domain.Allow)
}

// user returns an active subject of org with permissions p and groups.
func user(uid, org uuid.UUID, p domain.Permissions, groups ...uuid.UUID) domain.Subject {
	return domain.Subject{UserID: uid, OrgID: org, Active: true, Permissions: p, Groups: groups}
}

func admin() domain.Subject { return user(alice, orgA, domain.AdministratorPermissions()) }

// nobody is an active user of A whose role permits nothing.
func nobody() domain.Subject { return user(carol, orgA, domain.Permissions{}) }

// created is case1 of org A, owned by bob, in class.
func created(class domain.AccessClass) domain.CaseCreated {
	return domain.CaseCreated{CaseID: case1, OrgID: orgA, Title: "Burglary at 12 Elm St", OwnerID: bob, AccessClass: class}
}

func added(evidence uuid.UUID, class domain.AccessClass, by uuid.UUID) domain.EvidenceAdded {
	return domain.EvidenceAdded{CaseID: case1, EvidenceID: evidence, Title: "Doorbell video", AccessClass: class, AddedBy: by}
}

func entry(p domain.Principal, level domain.AccessLevel, expires time.Time) domain.AccessEntry {
	return domain.AccessEntry{Principal: p, Level: level, ExpiresAt: expires, GrantedBy: alice, GrantedAt: t0}
}

func granted(entries ...domain.AccessEntry) domain.InternalAccessGranted {
	return domain.InternalAccessGranted{CaseID: case1, Entries: entries}
}

func grantedOn(evidence uuid.UUID, entries ...domain.AccessEntry) domain.InternalAccessGranted {
	return domain.InternalAccessGranted{CaseID: case1, EvidenceID: evidence, Entries: entries}
}

// fold applies events to the zero state S.
func fold[S domain.State[S]](events ...domain.Event) S {
	var s S
	for _, e := range events {
		s = s.Evolve(e)
	}
	return s
}

func caseOf(events ...domain.Event) domain.Case { return fold[domain.Case](events...) }

// decideTest is one given/when/then row for aggregate state S.
type decideTest[S domain.State[S]] struct {
	name    string
	given   []domain.Event
	when    domain.Command
	want    []domain.Event
	wantErr error
}

// runDecide runs the rows. Besides comparing events and errors it checks
// that Decide leaves the state unchanged, that a refusal carries a Kind,
// and that every event produced survives a JSON round trip and is accepted
// by Evolve.
func runDecide[S domain.State[S]](t *testing.T, tests []decideTest[S]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := fold[S](tt.given...)
			before := fold[S](tt.given...)
			got, err := state.Decide(tt.when)
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr != nil {
				assert.NotZero(t, domain.KindOf(err), "refusals carry a kind")
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, before, state, "Decide must not change the state")
			for _, e := range got {
				assert.Equal(t, e, roundTrip(t, e))
				state = state.Evolve(e)
			}
		})
	}
}

// roundTrip encodes e as stored and decodes it back.
func roundTrip(t *testing.T, e domain.Event) domain.Event {
	t.Helper()
	data, err := json.Marshal(e)
	require.NoError(t, err)
	back, err := domain.DecodeEvent(e.EventType(), data)
	require.NoError(t, err)
	return back
}
