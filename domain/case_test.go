package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/custodian/custodian/domain"
)

type caseTest = decideTest[domain.Case]

func TestCaseDecideCreate(t *testing.T) {
	inv := user(bob, orgA, investigator())
	restricting := investigator()
	restricting.Cases.ApplyClass.Restricted = domain.Allow
	restricting.Evidence.ApplyClass.Restricted = domain.Allow
	runDecide(t, []caseTest{
		{
			name: "create case: owner defaults to the creator, class to unrestricted",
			when: domain.CreateCase{CaseID: case1, Title: "  Burglary at 12 Elm St ", Actor: inv, Now: t0},
			want: []domain.Event{created(domain.Unrestricted)},
		},
		{
			name: "create case with an owner of the organization and a description",
			when: domain.CreateCase{CaseID: case1, Title: "Fraud", Description: "line one\nline two",
				OwnerID: carol, OwnerOrgID: orgA, Actor: inv, Now: t0},
			want: []domain.Event{domain.CaseCreated{CaseID: case1, OrgID: orgA, Title: "Fraud",
				Description: "line one\nline two", OwnerID: carol, AccessClass: domain.Unrestricted}},
		},
		{
			name: "create restricted case adds the creator to the access list",
			when: domain.CreateCase{CaseID: case1, Title: "Burglary at 12 Elm St", AccessClass: domain.Restricted,
				Actor: user(bob, orgA, restricting), Now: t0},
			want: []domain.Event{created(domain.Restricted), domain.InternalAccessGranted{CaseID: case1,
				Entries: []domain.AccessEntry{{Principal: domain.UserPrincipal(bob), Level: domain.LevelRole, GrantedBy: bob, GrantedAt: t0}}}},
		},
		{
			name:    "create restricted case without the right to apply the class",
			when:    domain.CreateCase{CaseID: case1, Title: "x", AccessClass: domain.Restricted, Actor: inv, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "create case without cases.create",
			when:    domain.CreateCase{CaseID: case1, Title: "x", Actor: nobody(), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name: "create case as an inactive user",
			when: domain.CreateCase{CaseID: case1, Title: "x", Actor: domain.Subject{UserID: bob, OrgID: orgA,
				Permissions: investigator()}, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "create case with a blank title",
			when:    domain.CreateCase{CaseID: case1, Title: "   ", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create case with a title too long",
			when:    domain.CreateCase{CaseID: case1, Title: strings.Repeat("é", domain.MaxTitleLen+1), Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create case with a control character in the title",
			when:    domain.CreateCase{CaseID: case1, Title: "a\nb", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create case with a title that is not UTF-8",
			when:    domain.CreateCase{CaseID: case1, Title: "a\xffb", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create case without an id",
			when:    domain.CreateCase{Title: "x", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create case with an unknown class",
			when:    domain.CreateCase{CaseID: case1, Title: "x", AccessClass: "secret", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidAccessClass,
		},
		{
			name:    "create case owned by a user of another organization",
			when:    domain.CreateCase{CaseID: case1, Title: "x", OwnerID: eve, OwnerOrgID: orgB, Actor: inv, Now: t0},
			wantErr: domain.ErrUnknownUser,
		},
		{
			name:    "create case that exists",
			given:   []domain.Event{created(domain.Unrestricted)},
			when:    domain.CreateCase{CaseID: case1, Title: "x", Actor: inv, Now: t0},
			wantErr: domain.ErrCaseExists,
		},
	})
}

func TestCaseDecideEdit(t *testing.T) {
	inv := user(bob, orgA, investigator())
	viewOnly := user(carol, orgA, domain.Permissions{Actions: []domain.Action{domain.ActionEditCases}})
	base := []domain.Event{created(domain.Unrestricted)}
	onList := func(level domain.AccessLevel) []domain.Event {
		return []domain.Event{created(domain.Confidential), granted(entry(domain.UserPrincipal(carol), level, time.Time{}))}
	}
	runDecide(t, []caseTest{
		{
			name:  "edit title, description and owner",
			given: base,
			when: domain.EditCase{CaseID: case1, Title: domain.Some("Burglary"), Description: domain.Some("notes"),
				Owner: domain.Some(carol), OwnerOrgID: orgA, Actor: inv, Now: t0},
			want: []domain.Event{
				domain.CaseTitleChanged{CaseID: case1, Title: "Burglary"},
				domain.CaseDescriptionChanged{CaseID: case1, Description: "notes"},
				domain.CaseOwnerChanged{CaseID: case1, OwnerID: carol, PreviousOwnerID: bob},
			},
		},
		{
			name:  "edit with the values the case has is no change",
			given: base,
			when: domain.EditCase{CaseID: case1, Title: domain.Some(created(domain.Unrestricted).Title),
				Description: domain.Some(""), Owner: domain.Some(bob), OwnerOrgID: orgA, Actor: inv, Now: t0},
		},
		{
			name:    "edit a case that does not exist",
			when:    domain.EditCase{CaseID: case1, Title: domain.Some("x"), Actor: inv, Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
		{
			name:    "edit a case the actor may not list",
			given:   []domain.Event{created(domain.Confidential)},
			when:    domain.EditCase{CaseID: case1, Title: domain.Some("x"), Actor: inv, Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
		{
			name:    "edit a case of another organization",
			given:   base,
			when:    domain.EditCase{CaseID: case1, Title: domain.Some("x"), Actor: user(eve, orgB, domain.AdministratorPermissions()), Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
		{
			name:    "edit without cases.edit",
			given:   base,
			when:    domain.EditCase{CaseID: case1, Title: domain.Some("x"), Actor: user(carol, orgA, perms(all3, allow3)), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "edit through an entry of level view is read-only",
			given:   onList(domain.LevelView),
			when:    domain.EditCase{CaseID: case1, Title: domain.Some("x"), Actor: viewOnly, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "edit through an entry of level role uses the role's cases.edit",
			given: onList(domain.LevelRole),
			when:  domain.EditCase{CaseID: case1, Title: domain.Some("Renamed"), Actor: viewOnly, Now: t0},
			want:  []domain.Event{domain.CaseTitleChanged{CaseID: case1, Title: "Renamed"}},
		},
		{
			name:    "edit to a blank title",
			given:   base,
			when:    domain.EditCase{CaseID: case1, Title: domain.Some(" "), Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "edit to a description too long",
			given:   base,
			when:    domain.EditCase{CaseID: case1, Description: domain.Some(strings.Repeat("a", domain.MaxDescriptionLen+1)), Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "edit owner to a user of another organization",
			given:   base,
			when:    domain.EditCase{CaseID: case1, Owner: domain.Some(eve), OwnerOrgID: orgB, Actor: inv, Now: t0},
			wantErr: domain.ErrUnknownUser,
		},
		{
			name:    "edit owner to no one",
			given:   base,
			when:    domain.EditCase{CaseID: case1, Owner: domain.Some(uuid.Nil), OwnerOrgID: orgA, Actor: inv, Now: t0},
			wantErr: domain.ErrUnknownUser,
		},
	})
}

func TestCaseDecideFolders(t *testing.T) {
	inv := user(bob, orgA, investigator())
	base := []domain.Event{created(domain.Unrestricted)}
	withFolder := append(base, domain.FolderCreated{CaseID: case1, FolderID: folder, Name: "Video"})
	runDecide(t, []caseTest{
		{
			name:  "create folder",
			given: base,
			when:  domain.CreateFolder{CaseID: case1, FolderID: folder, Name: " Video ", Actor: inv, Now: t0},
			want:  []domain.Event{domain.FolderCreated{CaseID: case1, FolderID: folder, Name: "Video"}},
		},
		{
			name:    "create folder with a name in use, ignoring letter case",
			given:   withFolder,
			when:    domain.CreateFolder{CaseID: case1, FolderID: id("folder-2"), Name: "VIDEO", Actor: inv, Now: t0},
			wantErr: domain.ErrFolderExists,
		},
		{
			name:    "create folder with an id in use",
			given:   withFolder,
			when:    domain.CreateFolder{CaseID: case1, FolderID: folder, Name: "Audio", Actor: inv, Now: t0},
			wantErr: domain.ErrFolderExists,
		},
		{
			name:    "create folder without a name",
			given:   base,
			when:    domain.CreateFolder{CaseID: case1, FolderID: folder, Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create folder without an id",
			given:   base,
			when:    domain.CreateFolder{CaseID: case1, Name: "Video", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "create folder without cases.edit",
			given:   base,
			when:    domain.CreateFolder{CaseID: case1, FolderID: folder, Name: "Video", Actor: user(carol, orgA, perms(all3, allow3)), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "create folder in a case that does not exist",
			when:    domain.CreateFolder{CaseID: case1, FolderID: folder, Name: "Video", Actor: inv, Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
	})
}

func TestCaseDecideEvidence(t *testing.T) {
	inv := user(bob, orgA, investigator())
	applier := investigator()
	applier.Evidence.ApplyClass.Confidential = domain.Allow
	base := []domain.Event{created(domain.Unrestricted), domain.FolderCreated{CaseID: case1, FolderID: folder, Name: "Video"}}
	restricted := []domain.Event{created(domain.Restricted)}
	withItem := slices.Clip(append(base, added(ev1, domain.Unrestricted, bob))) // rows append to it
	// carol can view the case, list restricted evidence but not view it.
	lister := withEvidence(perms(all3, allow3, domain.ActionEditCases), domain.ListAll, domain.Deny)
	// editor views every case and may edit, but its role lists and views no
	// evidence: it reaches ev1 only through the entries given.
	editor := user(carol, orgA, perms(all3, allow3, domain.ActionEditCases))
	// entryEditor may edit but its role views no case and no evidence.
	entryEditor := user(carol, orgA, domain.Permissions{Actions: []domain.Action{domain.ActionEditCases}})
	carolP := domain.UserPrincipal(carol)
	ownLister := perms(all3, allow3, domain.ActionEditCases)
	ownLister.Evidence.List = domain.ListByClass{Unrestricted: domain.ListOwn}
	ownLister.Evidence.View = domain.AllowByClass{Unrestricted: domain.Allow}
	runDecide(t, []caseTest{
		{
			name:  "add evidence into a folder",
			given: base,
			when:  domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "Doorbell video", FolderID: folder, Actor: inv, Now: t0},
			want: []domain.Event{domain.EvidenceAdded{CaseID: case1, EvidenceID: ev1, Title: "Doorbell video",
				FolderID: folder, AccessClass: domain.Unrestricted, AddedBy: bob}},
		},
		{
			name:  "evidence added to a restricted case is restricted",
			given: restricted,
			when:  domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "Doorbell video", Actor: inv, Now: t0},
			want:  []domain.Event{added(ev1, domain.Restricted, bob)},
		},
		{
			name:  "evidence given a laxer class than the case's gets the case's",
			given: restricted,
			when: domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "Doorbell video", AccessClass: domain.Unrestricted,
				Actor: inv, Now: t0},
			want: []domain.Event{added(ev1, domain.Restricted, bob)},
		},
		{
			name:  "evidence given a stricter class keeps it",
			given: restricted,
			when: domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "Doorbell video", AccessClass: domain.Confidential,
				Actor: user(bob, orgA, applier), Now: t0},
			want: []domain.Event{added(ev1, domain.Confidential, bob)},
		},
		{
			name:  "evidence given a stricter class needs evidence.applyClass for it",
			given: restricted,
			when: domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "Doorbell video", AccessClass: domain.Confidential,
				Actor: inv, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "add evidence with an unknown class",
			given:   base,
			when:    domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "x", AccessClass: "top", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidAccessClass,
		},
		{
			name:    "add evidence into a folder the case does not have",
			given:   base,
			when:    domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "x", FolderID: id("nope"), Actor: inv, Now: t0},
			wantErr: domain.ErrUnknownFolder,
		},
		{
			name:    "add evidence without a title",
			given:   base,
			when:    domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "add evidence without evidence.add",
			given:   base,
			when:    domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "x", Actor: user(carol, orgA, perms(all3, allow3)), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			// The adder could not list or view the item it adds: it would
			// be orphaned (no registration, no content), so it is refused.
			name:  "add evidence the actor could not then see",
			given: base,
			when: domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "x", Now: t0,
				Actor: user(carol, orgA, perms(all3, allow3, domain.ActionAddEvidence))},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "add evidence with an id in use",
			given:   withItem,
			when:    domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "x", Actor: inv, Now: t0},
			wantErr: domain.ErrEvidenceExists,
		},
		{
			name:    "add evidence to a case that does not exist",
			when:    domain.AddEvidence{CaseID: case1, EvidenceID: ev1, Title: "x", Actor: inv, Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
		{
			name:  "remove evidence",
			given: withItem,
			when:  domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1, Actor: inv, Now: t0},
			want:  []domain.Event{domain.EvidenceRemoved{CaseID: case1, EvidenceID: ev1}},
		},
		{
			name:    "remove evidence the case does not hold",
			given:   withItem,
			when:    domain.RemoveEvidence{CaseID: case1, EvidenceID: ev2, Actor: inv, Now: t0},
			wantErr: domain.ErrEvidenceNotFound,
		},
		{
			name:    "remove evidence the actor may not list",
			given:   append(withItem, added(ev2, domain.Confidential, alice)),
			when:    domain.RemoveEvidence{CaseID: case1, EvidenceID: ev2, Actor: user(carol, orgA, perms(all3, allow3, domain.ActionEditCases)), Now: t0},
			wantErr: domain.ErrEvidenceNotFound,
		},
		{
			name:    "remove evidence the actor may list but not view",
			given:   withItem,
			when:    domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1, Actor: user(carol, orgA, lister), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "remove evidence through an entry of level view on the item's list is read-only",
			given:   append(withItem, grantedOn(ev1, entry(carolP, domain.LevelView, time.Time{}))),
			when:    domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1, Actor: editor, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "remove evidence through an entry of level view on the case's list is read-only",
			given:   append(withItem, granted(entry(carolP, domain.LevelView, time.Time{}))),
			when:    domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1, Actor: editor, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name: "remove evidence through a view entry on the item's list and the case's role is still read-only",
			given: append(withItem, granted(entry(carolP, domain.LevelView, time.Time{})),
				grantedOn(ev1, entry(carolP, domain.LevelView, time.Time{}))),
			when:    domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1, Actor: entryEditor, Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "remove evidence through an entry of level role on the item's list uses the role",
			given: append(withItem, grantedOn(ev1, entry(carolP, domain.LevelRole, time.Time{}))),
			when:  domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1, Actor: editor, Now: t0},
			want:  []domain.Event{domain.EvidenceRemoved{CaseID: case1, EvidenceID: ev1}},
		},
		{
			name:  "remove evidence through an entry of level role on the case's list uses the role",
			given: append(withItem, granted(entry(carolP, domain.LevelRole, time.Time{}))),
			when:  domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1, Actor: entryEditor, Now: t0},
			want:  []domain.Event{domain.EvidenceRemoved{CaseID: case1, EvidenceID: ev1}},
		},
		{
			name:  "remove evidence the actor added, its role listing its own items",
			given: append(base, added(ev1, domain.Unrestricted, carol)),
			when:  domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1, Actor: user(carol, orgA, ownLister), Now: t0},
			want:  []domain.Event{domain.EvidenceRemoved{CaseID: case1, EvidenceID: ev1}},
		},
		{
			name:  "remove evidence without cases.edit",
			given: withItem,
			when: domain.RemoveEvidence{CaseID: case1, EvidenceID: ev1,
				Actor: user(carol, orgA, withEvidence(perms(all3, allow3), domain.ListAll, domain.Allow)), Now: t0},
			wantErr: domain.ErrForbidden,
		},
	})
}

func TestCaseDecideAccessClass(t *testing.T) {
	// changer may apply and remove both restricting classes.
	changer := investigator()
	changer.Cases.List = domain.ListByClass{Unrestricted: domain.ListAll, Restricted: domain.ListAll, Confidential: domain.ListAll}
	changer.Cases.View = domain.AllowByClass{Unrestricted: domain.Allow, Restricted: domain.Allow, Confidential: domain.Allow}
	changer.Cases.ApplyClass = domain.AllowByRestriction{Restricted: domain.Allow, Confidential: domain.Allow}
	changer.Cases.RemoveClass = domain.AllowByRestriction{Restricted: domain.Allow, Confidential: domain.Allow}
	changer.Evidence.ApplyClass = domain.AllowByRestriction{Restricted: domain.Allow, Confidential: domain.Allow}
	ch := user(bob, orgA, changer)
	noRemove := changer
	noRemove.Cases.RemoveClass = domain.AllowByRestriction{}
	noEvidence := changer
	noEvidence.Evidence.ApplyClass = domain.AllowByRestriction{}
	entryOnly := changer // may change classes, but sees the case only through its entry
	entryOnly.Cases.List, entryOnly.Cases.View = domain.ListByClass{}, domain.AllowByClass{}

	carolEntry := entry(domain.UserPrincipal(carol), domain.LevelView, time.Time{})
	groupEntry := entry(domain.GroupPrincipal(detectives), domain.LevelRole, hours(48))
	expired := entry(domain.UserPrincipal(eve), domain.LevelRole, hours(-1))
	unrestricted := []domain.Event{
		created(domain.Unrestricted),
		added(ev1, domain.Unrestricted, bob),
		added(ev2, domain.Confidential, bob),
		granted(carolEntry, groupEntry, expired),
	}
	bobEntry := entry(domain.UserPrincipal(bob), domain.LevelRole, time.Time{})
	bobAdded := domain.AccessEntry{Principal: domain.UserPrincipal(bob), Level: domain.LevelRole, GrantedBy: bob, GrantedAt: t0}
	runDecide(t, []caseTest{
		{
			name:  "apply restricted: evidence rises, the list is notified, the actor is added",
			given: unrestricted,
			when:  domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Restricted, Actor: ch, Now: t0},
			want: []domain.Event{
				domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Restricted, PreviousClass: domain.Unrestricted,
					Reclassified: []domain.Reclassification{{EvidenceID: ev1, From: domain.Unrestricted, To: domain.Restricted}},
					Notify:       []domain.Principal{domain.UserPrincipal(carol), domain.GroupPrincipal(detectives)}},
				domain.InternalAccessGranted{CaseID: case1, Entries: []domain.AccessEntry{bobAdded}},
			},
		},
		{
			name:  "apply restricted when the actor is on the list already",
			given: append(unrestricted[:1:1], granted(bobEntry)),
			when:  domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Restricted, Actor: ch, Now: t0},
			want: []domain.Event{domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Restricted,
				PreviousClass: domain.Unrestricted, Reclassified: []domain.Reclassification{},
				Notify: []domain.Principal{domain.UserPrincipal(bob)}}},
		},
		{
			name:  "apply restricted when the actor's entry expired renews it until removed",
			given: append(unrestricted[:1:1], granted(entry(domain.UserPrincipal(bob), domain.LevelView, hours(-2)))),
			when:  domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Restricted, Actor: ch, Now: t0},
			want: []domain.Event{
				domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Restricted, PreviousClass: domain.Unrestricted,
					Reclassified: []domain.Reclassification{}, Notify: []domain.Principal{}},
				domain.InternalAccessModified{CaseID: case1, Principal: domain.UserPrincipal(bob), Level: domain.LevelRole},
			},
		},
		{
			name:  "restricted to confidential with removeClass restricted",
			given: append(unrestricted, domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Restricted, PreviousClass: domain.Unrestricted}),
			when:  domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Confidential, Actor: ch, Now: t0},
			want: []domain.Event{
				domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Confidential, PreviousClass: domain.Restricted,
					Reclassified: []domain.Reclassification{{EvidenceID: ev1, From: domain.Unrestricted, To: domain.Confidential}},
					Notify:       []domain.Principal{domain.UserPrincipal(carol), domain.GroupPrincipal(detectives)}},
				domain.InternalAccessGranted{CaseID: case1, Entries: []domain.AccessEntry{bobAdded}},
			},
		},
		{
			name:    "restricted to confidential without removeClass restricted",
			given:   append(unrestricted, domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Restricted, PreviousClass: domain.Unrestricted}),
			when:    domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Confidential, Actor: user(bob, orgA, noRemove), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "apply confidential without evidence.applyClass confidential",
			given:   unrestricted,
			when:    domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Confidential, Actor: user(bob, orgA, noEvidence), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "to unrestricted: evidence keeps its class, the list is told",
			given: append(unrestricted, domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Confidential, PreviousClass: domain.Unrestricted}),
			when:  domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Unrestricted, Actor: ch, Now: t0},
			want: []domain.Event{domain.AccessClassRemoved{CaseID: case1, PreviousClass: domain.Confidential,
				Notify: []domain.Principal{domain.UserPrincipal(carol), domain.GroupPrincipal(detectives)}}},
		},
		{
			name:    "to unrestricted without removeClass",
			given:   append(unrestricted, domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Restricted, PreviousClass: domain.Unrestricted}),
			when:    domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Unrestricted, Actor: user(bob, orgA, noRemove), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "to the class the case has is no change",
			given: unrestricted,
			when:  domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Unrestricted, Actor: ch, Now: t0},
		},
		{
			name:  "to the class the case has is no change, needing no class permission",
			given: unrestricted,
			when: domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Unrestricted,
				Actor: user(bob, orgA, perms(all3, allow3)), Now: t0},
		},
		{
			name:    "to the class the case has, through an entry of level view only",
			given:   unrestricted,
			when:    domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Unrestricted, Actor: user(carol, orgA, entryOnly), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "to the class the case has, listed but not viewable",
			given:   unrestricted,
			when:    domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Unrestricted, Actor: user(bob, orgA, perms(all3, deny3)), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "to the class the case has, not listable",
			given:   unrestricted,
			when:    domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Unrestricted, Actor: user(bob, orgA, perms(none3, deny3)), Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
		{
			name:    "to an unknown class",
			given:   unrestricted,
			when:    domain.ChangeAccessClass{CaseID: case1, AccessClass: "", Actor: ch, Now: t0},
			wantErr: domain.ErrInvalidAccessClass,
		},
		{
			name:    "change the class of a case the actor may not list",
			given:   unrestricted,
			when:    domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Restricted, Actor: user(eve, orgB, changer), Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
		{
			name:  "change the class through an entry of level view only",
			given: append(unrestricted[:1:1], granted(entry(domain.UserPrincipal(carol), domain.LevelView, time.Time{}))),
			when: domain.ChangeAccessClass{CaseID: case1, AccessClass: domain.Restricted,
				Actor: user(carol, orgA, entryOnly), Now: t0},
			wantErr: domain.ErrForbidden,
		},
	})
}

func TestCaseEvolve(t *testing.T) {
	carolP, groupP := domain.UserPrincipal(carol), domain.GroupPrincipal(detectives)
	history := []domain.Event{
		created(domain.Unrestricted),
		domain.CaseTitleChanged{CaseID: case1, Title: "Burglary"},
		domain.CaseDescriptionChanged{CaseID: case1, Description: "Rear window"},
		domain.CaseOwnerChanged{CaseID: case1, OwnerID: carol, PreviousOwnerID: bob},
		domain.FolderCreated{CaseID: case1, FolderID: folder, Name: "Video"},
		added(ev1, domain.Unrestricted, bob),
		added(ev2, domain.Confidential, bob),
		granted(entry(carolP, domain.LevelView, time.Time{}), entry(groupP, domain.LevelRole, hours(5))),
		grantedOn(ev1, entry(carolP, domain.LevelRole, time.Time{})),
		domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Restricted, PreviousClass: domain.Unrestricted,
			Reclassified: []domain.Reclassification{{EvidenceID: ev1, From: domain.Unrestricted, To: domain.Restricted}}},
	}
	mid := caseOf(history...)
	snapshot := caseOf(history...)

	later := mid
	for _, e := range []domain.Event{
		domain.InternalAccessModified{CaseID: case1, Principal: carolP, Level: domain.LevelRole, ExpiresAt: hours(9)},
		domain.InternalAccessExpired{CaseID: case1, Principal: groupP, ExpiredAt: hours(5)},
		domain.InternalAccessRemoved{CaseID: case1, EvidenceID: ev1, Principal: carolP},
		domain.InternalAccessModified{CaseID: case1, Principal: domain.UserPrincipal(eve), Level: domain.LevelView},
		grantedOn(id("no-such-item"), entry(carolP, domain.LevelRole, time.Time{})),
		domain.EvidenceRemoved{CaseID: case1, EvidenceID: ev2},
		domain.EvidenceRemoved{CaseID: case1, EvidenceID: id("no-such-item")},
		domain.GroupCreated{GroupID: detectives, OrgID: orgA, Name: "not a case event"},
		domain.AccessClassRemoved{CaseID: case1, PreviousClass: domain.Restricted},
	} {
		later = later.Evolve(e)
	}

	assert.Equal(t, snapshot, mid, "evolving a state must not change older states")
	assert.Equal(t, domain.Case{
		ID: case1, OrgID: orgA, Title: "Burglary", Description: "Rear window", OwnerID: carol,
		AccessClass: domain.Unrestricted,
		Folders:     []domain.Folder{{ID: folder, Name: "Video"}},
		Evidence: []domain.EvidenceItem{{ID: ev1, Title: "Doorbell video", AccessClass: domain.Restricted, AddedBy: bob,
			Access: domain.AccessList{}}},
		Access: domain.AccessList{{Principal: carolP, Level: domain.LevelRole, ExpiresAt: hours(9), GrantedBy: alice, GrantedAt: t0}},
	}, later)
	item, ok := mid.Item(ev2)
	assert.True(t, ok)
	assert.Equal(t, domain.Confidential, item.AccessClass)
	_, ok = later.Item(ev2)
	assert.False(t, ok)
}

func TestCaseDecideUnknownCommand(t *testing.T) {
	_, err := caseOf(created(domain.Unrestricted)).Decide(domain.CreateGroup{})
	assert.ErrorIs(t, err, domain.ErrInvalidInput)
}

// Evolve accepts every stored event, even ones Decide would not produce
// today: a grant to a principal already on the list replaces its entry, and
// removing a principal not on the list changes nothing.
func TestCaseEvolveAcceptsAnyHistory(t *testing.T) {
	carolP := domain.UserPrincipal(carol)
	c := caseOf(created(domain.Unrestricted),
		granted(entry(carolP, domain.LevelView, time.Time{})),
		granted(entry(carolP, domain.LevelRole, hours(3))),
		domain.InternalAccessRemoved{CaseID: case1, Principal: domain.GroupPrincipal(detectives)},
	)
	assert.Equal(t, domain.AccessList{entry(carolP, domain.LevelRole, hours(3))}, c.Access)
}
