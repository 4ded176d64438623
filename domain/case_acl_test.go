package domain_test

import (
	"testing"
	"time"

	"github.com/custodian/custodian/domain"
)

func TestCaseDecideGrantAccess(t *testing.T) {
	mgr := user(bob, orgA, investigator())
	carolP, groupP := domain.UserPrincipal(carol), domain.GroupPrincipal(detectives)
	base := []domain.Event{created(domain.Unrestricted), added(ev1, domain.Unrestricted, bob)}
	onList := append(base[:2:2], granted(entry(carolP, domain.LevelView, hours(5))))
	grantBy := func(p domain.Principal, level domain.AccessLevel, expires time.Time) domain.AccessEntry {
		return domain.AccessEntry{Principal: p, Level: level, ExpiresAt: expires, GrantedBy: bob, GrantedAt: t0}
	}
	// caseManager views every case and manages access, but its role lists
	// and views no evidence: it reaches ev1 only through the entries given.
	caseManager := user(carol, orgA, perms(all3, allow3, domain.ActionManageAccess))
	reached := func(e domain.Event) []domain.Event { return append(base[:2:2], e) }
	grantBob := []domain.Grant{{Principal: domain.UserPrincipal(bob), PrincipalOrgID: orgA, Level: domain.LevelRole}}
	carolGrant := func(p domain.Principal, level domain.AccessLevel) domain.AccessEntry {
		return domain.AccessEntry{Principal: p, Level: level, GrantedBy: carol, GrantedAt: t0}
	}
	runDecide(t, []caseTest{
		{
			name:  "grant a user and a group, one until removed, one with an expiry",
			given: base,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelView},
				{Principal: groupP, PrincipalOrgID: orgA, Level: domain.LevelRole, ExpiresAt: hours(24)},
			}, Actor: mgr, Now: t0},
			want: []domain.Event{granted(grantBy(carolP, domain.LevelView, time.Time{}), grantBy(groupP, domain.LevelRole, hours(24)))},
		},
		{
			name:  "grant to a principal on the list updates its entry",
			given: onList,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelRole},
				{Principal: groupP, PrincipalOrgID: orgA, Level: domain.LevelView},
			}, Actor: mgr, Now: t0},
			want: []domain.Event{
				granted(grantBy(groupP, domain.LevelView, time.Time{})),
				domain.InternalAccessModified{CaseID: case1, Principal: carolP, Level: domain.LevelRole},
			},
		},
		{
			name:  "grant what the list already says is no change",
			given: onList,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelView, ExpiresAt: hours(5)},
			}, Actor: mgr, Now: t0},
		},
		{
			name:  "grant on an evidence item's own list",
			given: base,
			when: domain.GrantAccess{CaseID: case1, EvidenceID: ev1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelView},
			}, Actor: mgr, Now: t0},
			want: []domain.Event{grantedOn(ev1, grantBy(carolP, domain.LevelView, time.Time{}))},
		},
		{
			name:    "grant on an item's list through an entry of level view on it is read-only",
			given:   reached(grantedOn(ev1, entry(carolP, domain.LevelView, time.Time{}))),
			when:    domain.GrantAccess{CaseID: case1, EvidenceID: ev1, Grants: grantBob, Actor: caseManager, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "grant on an item's list to oneself through an entry of level view on it is read-only",
			given: reached(grantedOn(ev1, entry(carolP, domain.LevelView, time.Time{}))),
			when: domain.GrantAccess{CaseID: case1, EvidenceID: ev1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelRole},
			}, Actor: caseManager, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "grant on an item's list through an entry of level view on the case's list is read-only",
			given:   reached(granted(entry(carolP, domain.LevelView, time.Time{}))),
			when:    domain.GrantAccess{CaseID: case1, EvidenceID: ev1, Grants: grantBob, Actor: caseManager, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "grant on an item's list through an entry of level role on it uses the role",
			given: reached(grantedOn(ev1, entry(carolP, domain.LevelRole, time.Time{}))),
			when:  domain.GrantAccess{CaseID: case1, EvidenceID: ev1, Grants: grantBob, Actor: caseManager, Now: t0},
			want:  []domain.Event{grantedOn(ev1, carolGrant(domain.UserPrincipal(bob), domain.LevelRole))},
		},
		{
			name:  "grant on the case's list needs no access to its items",
			given: reached(grantedOn(ev1, entry(carolP, domain.LevelView, time.Time{}))),
			when:  domain.GrantAccess{CaseID: case1, Grants: grantBob, Actor: caseManager, Now: t0},
			want:  []domain.Event{granted(carolGrant(domain.UserPrincipal(bob), domain.LevelRole))},
		},
		{
			name:  "grant on an item the case does not hold",
			given: base,
			when: domain.GrantAccess{CaseID: case1, EvidenceID: ev2, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelView},
			}, Actor: mgr, Now: t0},
			wantErr: domain.ErrEvidenceNotFound,
		},
		{
			name:  "grant with an expiry at the command's time",
			given: base,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelView, ExpiresAt: t0},
			}, Actor: mgr, Now: t0},
			wantErr: domain.ErrExpiryNotInFuture,
		},
		{
			name:  "grant to a user of another organization",
			given: base,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: domain.UserPrincipal(eve), PrincipalOrgID: orgB, Level: domain.LevelView},
			}, Actor: mgr, Now: t0},
			wantErr: domain.ErrUnknownPrincipal,
		},
		{
			name:  "grant to a group that does not exist",
			given: base,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: domain.GroupPrincipal(outsiders), Level: domain.LevelView},
			}, Actor: mgr, Now: t0},
			wantErr: domain.ErrUnknownPrincipal,
		},
		{
			name:  "grant to one principal twice",
			given: base,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelView},
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelRole},
			}, Actor: mgr, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "grant to no one",
			given:   base,
			when:    domain.GrantAccess{CaseID: case1, Actor: mgr, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:  "grant to a principal of an unknown type",
			given: base,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: domain.Principal{Type: "team", ID: detectives}, PrincipalOrgID: orgA, Level: domain.LevelView},
			}, Actor: mgr, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:  "grant without a level",
			given: base,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA},
			}, Actor: mgr, Now: t0},
			wantErr: domain.ErrInvalidAccessLevel,
		},
		{
			name:  "grant without cases.access.manage",
			given: base,
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelView},
			}, Actor: user(carol, orgA, perms(all3, allow3)), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "grant on a case the actor may not list",
			given: []domain.Event{created(domain.Confidential)},
			when: domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{
				{Principal: carolP, PrincipalOrgID: orgA, Level: domain.LevelView},
			}, Actor: mgr, Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
	})
}

func TestCaseDecideModifyAndRemoveAccess(t *testing.T) {
	mgr := user(bob, orgA, investigator())
	carolP := domain.UserPrincipal(carol)
	onList := []domain.Event{
		created(domain.Unrestricted),
		added(ev1, domain.Unrestricted, bob),
		granted(entry(carolP, domain.LevelView, hours(5))),
		grantedOn(ev1, entry(carolP, domain.LevelView, time.Time{})),
	}
	// caseManager views every case and manages access, but its role lists
	// and views no evidence: carol reaches ev1 only through her view entries.
	caseManager := user(carol, orgA, perms(all3, allow3, domain.ActionManageAccess))
	lister := user(carol, orgA, perms(all3, allow3))
	runDecide(t, []caseTest{
		{
			name:  "modify one's own entry of level view on an item's list to role is read-only",
			given: onList,
			when: domain.ModifyAccess{CaseID: case1, EvidenceID: ev1, Principal: carolP, Level: domain.Some(domain.LevelRole),
				Actor: caseManager, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "modify on an item's list through an entry of level view is read-only, entry or not",
			given: onList,
			when: domain.ModifyAccess{CaseID: case1, EvidenceID: ev1, Principal: domain.UserPrincipal(alice),
				Level: domain.Some(domain.LevelRole), Actor: caseManager, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "remove from an item's list through an entry of level view is read-only",
			given:   onList,
			when:    domain.RemoveAccess{CaseID: case1, EvidenceID: ev1, Principal: carolP, Actor: caseManager, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "remove from the case's list needs no access to its items",
			given: onList,
			when:  domain.RemoveAccess{CaseID: case1, Principal: carolP, Actor: caseManager, Now: t0},
			want:  []domain.Event{domain.InternalAccessRemoved{CaseID: case1, Principal: carolP}},
		},
		{
			name:    "modify a principal not on the list without cases.access.manage does not reveal the list",
			given:   onList,
			when:    domain.ModifyAccess{CaseID: case1, Principal: domain.UserPrincipal(alice), Level: domain.Some(domain.LevelRole), Actor: lister, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "remove a principal not on the list without cases.access.manage does not reveal the list",
			given:   onList,
			when:    domain.RemoveAccess{CaseID: case1, Principal: domain.UserPrincipal(alice), Actor: lister, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "modify to an unknown level without cases.access.manage: input before permission",
			given:   onList,
			when:    domain.ModifyAccess{CaseID: case1, Principal: domain.UserPrincipal(alice), Level: domain.Some(domain.AccessLevel("owner")), Actor: lister, Now: t0},
			wantErr: domain.ErrInvalidAccessLevel,
		},
		{
			name:  "modify level",
			given: onList,
			when:  domain.ModifyAccess{CaseID: case1, Principal: carolP, Level: domain.Some(domain.LevelRole), Actor: mgr, Now: t0},
			want:  []domain.Event{domain.InternalAccessModified{CaseID: case1, Principal: carolP, Level: domain.LevelRole, ExpiresAt: hours(5)}},
		},
		{
			name:  "modify expiry to until removed",
			given: onList,
			when:  domain.ModifyAccess{CaseID: case1, Principal: carolP, ExpiresAt: domain.Some(time.Time{}), Actor: mgr, Now: t0},
			want:  []domain.Event{domain.InternalAccessModified{CaseID: case1, Principal: carolP, Level: domain.LevelView}},
		},
		{
			name:  "modify expiry on an item's list",
			given: onList,
			when: domain.ModifyAccess{CaseID: case1, EvidenceID: ev1, Principal: carolP,
				ExpiresAt: domain.Some(hours(1).In(time.FixedZone("CET", 3600))), Actor: mgr, Now: t0},
			want: []domain.Event{domain.InternalAccessModified{CaseID: case1, EvidenceID: ev1, Principal: carolP,
				Level: domain.LevelView, ExpiresAt: hours(1)}},
		},
		{
			name:  "modify to what the entry says is no change",
			given: onList,
			when: domain.ModifyAccess{CaseID: case1, Principal: carolP, Level: domain.Some(domain.LevelView),
				ExpiresAt: domain.Some(hours(5)), Actor: mgr, Now: t0},
		},
		{
			name:    "modify a principal not on the list",
			given:   onList,
			when:    domain.ModifyAccess{CaseID: case1, Principal: domain.UserPrincipal(alice), Level: domain.Some(domain.LevelRole), Actor: mgr, Now: t0},
			wantErr: domain.ErrAccessEntryNotFound,
		},
		{
			name:    "modify expiry into the past",
			given:   onList,
			when:    domain.ModifyAccess{CaseID: case1, Principal: carolP, ExpiresAt: domain.Some(hours(-1)), Actor: mgr, Now: t0},
			wantErr: domain.ErrExpiryNotInFuture,
		},
		{
			name:    "modify to an unknown level",
			given:   onList,
			when:    domain.ModifyAccess{CaseID: case1, Principal: carolP, Level: domain.Some(domain.AccessLevel("owner")), Actor: mgr, Now: t0},
			wantErr: domain.ErrInvalidAccessLevel,
		},
		{
			name:    "modify without cases.access.manage",
			given:   onList,
			when:    domain.ModifyAccess{CaseID: case1, Principal: carolP, Level: domain.Some(domain.LevelRole), Actor: user(carol, orgA, domain.Permissions{}), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "remove from the case's list",
			given: onList,
			when:  domain.RemoveAccess{CaseID: case1, Principal: carolP, Actor: mgr, Now: t0},
			want:  []domain.Event{domain.InternalAccessRemoved{CaseID: case1, Principal: carolP}},
		},
		{
			name:  "remove from an item's list",
			given: onList,
			when:  domain.RemoveAccess{CaseID: case1, EvidenceID: ev1, Principal: carolP, Actor: mgr, Now: t0},
			want:  []domain.Event{domain.InternalAccessRemoved{CaseID: case1, EvidenceID: ev1, Principal: carolP}},
		},
		{
			name:    "remove a principal not on the list",
			given:   onList,
			when:    domain.RemoveAccess{CaseID: case1, Principal: domain.GroupPrincipal(detectives), Actor: mgr, Now: t0},
			wantErr: domain.ErrAccessEntryNotFound,
		},
		{
			name:    "remove without cases.access.manage (through an entry of level view)",
			given:   onList,
			when:    domain.RemoveAccess{CaseID: case1, Principal: carolP, Actor: user(carol, orgA, domain.Permissions{Actions: []domain.Action{domain.ActionManageAccess}}), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "remove on a case that does not exist",
			when:    domain.RemoveAccess{CaseID: case1, Principal: carolP, Actor: mgr, Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
	})
}

func TestCaseDecideRecordAccessExpiry(t *testing.T) {
	carolP := domain.UserPrincipal(carol)
	onList := []domain.Event{
		created(domain.Unrestricted),
		added(ev1, domain.Unrestricted, bob),
		granted(entry(carolP, domain.LevelView, hours(5)), entry(domain.UserPrincipal(bob), domain.LevelRole, time.Time{})),
		grantedOn(ev1, entry(carolP, domain.LevelView, hours(2))),
	}
	runDecide(t, []caseTest{
		{
			name:  "record an expiry at its instant",
			given: onList,
			when:  domain.RecordAccessExpiry{CaseID: case1, Principal: carolP, ExpiresAt: hours(5), Now: hours(5)},
			want:  []domain.Event{domain.InternalAccessExpired{CaseID: case1, Principal: carolP, ExpiredAt: hours(5)}},
		},
		{
			name:  "record an expiry on an item's list, late",
			given: onList,
			when:  domain.RecordAccessExpiry{CaseID: case1, EvidenceID: ev1, Principal: carolP, ExpiresAt: hours(2), Now: hours(30)},
			want:  []domain.Event{domain.InternalAccessExpired{CaseID: case1, EvidenceID: ev1, Principal: carolP, ExpiredAt: hours(2)}},
		},
		{
			name:  "record an expiry before it is due",
			given: onList,
			when:  domain.RecordAccessExpiry{CaseID: case1, Principal: carolP, ExpiresAt: hours(5), Now: hours(4)},
		},
		{
			name:  "record an expiry whose entry was extended",
			given: append(onList[:4:4], domain.InternalAccessModified{CaseID: case1, Principal: carolP, Level: domain.LevelView, ExpiresAt: hours(50)}),
			when:  domain.RecordAccessExpiry{CaseID: case1, Principal: carolP, ExpiresAt: hours(5), Now: hours(6)},
		},
		{
			name:  "record an expiry for an entry without one",
			given: onList,
			when:  domain.RecordAccessExpiry{CaseID: case1, Principal: domain.UserPrincipal(bob), Now: hours(6)},
		},
		{
			name:  "record an expiry for an entry already removed",
			given: append(onList[:4:4], domain.InternalAccessRemoved{CaseID: case1, Principal: carolP}),
			when:  domain.RecordAccessExpiry{CaseID: case1, Principal: carolP, ExpiresAt: hours(5), Now: hours(6)},
		},
		{
			name:    "record an expiry on a case that does not exist",
			when:    domain.RecordAccessExpiry{CaseID: case1, Principal: carolP, ExpiresAt: hours(5), Now: hours(6)},
			wantErr: domain.ErrCaseNotFound,
		},
	})
}
