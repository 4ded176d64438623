package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/custodian/custodian/domain"
)

func TestEvidenceDecide(t *testing.T) {
	inv := user(bob, orgA, investigator())
	withItem := caseOf(created(domain.Unrestricted), added(ev1, domain.Unrestricted, bob))
	otherCase := caseOf(domain.CaseCreated{CaseID: id("case-2"), OrgID: orgA, Title: "x", OwnerID: bob, AccessClass: domain.Unrestricted},
		domain.EvidenceAdded{CaseID: id("case-2"), EvidenceID: ev1, Title: "x", AccessClass: domain.Unrestricted, AddedBy: bob})
	sha := strings.Repeat("ab", 32)
	registered := domain.EvidenceRegistered{EvidenceID: ev1, CaseID: case1, OrgID: orgA, MediaType: "video/mp4", SHA256: sha, SizeBytes: 1024}
	bare := domain.EvidenceRegistered{EvidenceID: ev1, CaseID: case1, OrgID: orgA}
	attached := domain.EvidenceContentAttached{EvidenceID: ev1, SHA256: sha, SizeBytes: 1024, MediaType: "video/mp4"}
	// seesAll views every case and every item; with evidence.add it may add.
	seesAll := withEvidence(perms(all3, allow3), domain.ListAll, domain.Allow)
	adder := withEvidence(perms(all3, allow3, domain.ActionAddEvidence), domain.ListAll, domain.Allow)
	// caseOnly views every case and may add evidence, but its role lists and
	// views no evidence: it reaches ev1 only through the entry given.
	caseOnly := user(carol, orgA, perms(all3, allow3, domain.ActionAddEvidence))
	reachedBy := func(e domain.Event) domain.Case { return withItem.Evolve(e) }
	carolP := domain.UserPrincipal(carol)
	attach := func(c domain.Case, actor domain.Subject) domain.AttachContent {
		return domain.AttachContent{EvidenceID: ev1, Case: c, SHA256: sha, SizeBytes: 1024, MediaType: "video/mp4", Actor: actor, Now: t0}
	}
	runDecide(t, []decideTest[domain.Evidence]{
		{
			name: "register evidence with declared content",
			when: domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, MediaType: "video/mp4", SHA256: strings.ToUpper(sha),
				SizeBytes: 1024, Actor: inv, Now: t0},
			want: []domain.Event{registered},
		},
		{
			name: "register evidence declaring nothing",
			when: domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, Actor: inv, Now: t0},
			want: []domain.Event{bare},
		},
		{
			name:  "register evidence again does nothing",
			given: []domain.Event{registered},
			when:  domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, Actor: inv, Now: t0},
		},
		{
			name:    "register evidence registered for another case",
			given:   []domain.Event{registered},
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: otherCase, Actor: inv, Now: t0},
			wantErr: domain.ErrEvidenceExists,
		},
		{
			name:    "register evidence the case does not hold",
			when:    domain.RegisterEvidence{EvidenceID: ev2, Case: withItem, Actor: inv, Now: t0},
			wantErr: domain.ErrEvidenceNotFound,
		},
		{
			name:    "register evidence of a case the actor may not list",
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, Actor: user(eve, orgB, domain.AdministratorPermissions()), Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
		{
			name:    "register evidence with a malformed digest",
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, SHA256: "abc", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "register evidence with a malformed media type",
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, MediaType: "video", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "register evidence with a media type holding a separator",
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, MediaType: "video/mp(4)", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "register evidence with a negative size",
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, SizeBytes: -1, Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "register evidence without evidence.add",
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, Actor: user(bob, orgA, seesAll), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "register evidence added by another user",
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, Actor: user(carol, orgA, adder), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "register evidence the actor may not list",
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, Actor: user(bob, orgA, perms(all3, allow3, domain.ActionAddEvidence)), Now: t0},
			wantErr: domain.ErrEvidenceNotFound,
		},
		{
			name:    "register evidence the actor may not list, malformed input is still not found",
			when:    domain.RegisterEvidence{EvidenceID: ev1, Case: withItem, SHA256: "abc", Actor: user(bob, orgA, perms(all3, allow3, domain.ActionAddEvidence)), Now: t0},
			wantErr: domain.ErrEvidenceNotFound,
		},
		{
			name:  "attach content matching what was declared",
			given: []domain.Event{registered},
			when:  domain.AttachContent{EvidenceID: ev1, Case: withItem, SHA256: sha, SizeBytes: 1024, MediaType: "video/mp4", Actor: inv, Now: t0},
			want:  []domain.Event{attached},
		},
		{
			name:  "attach content when nothing was declared",
			given: []domain.Event{bare},
			when: domain.AttachContent{EvidenceID: ev1, Case: withItem, SHA256: sha, SizeBytes: 7,
				MediaType: "text/plain; charset=utf-8", Actor: inv, Now: t0},
			want: []domain.Event{domain.EvidenceContentAttached{EvidenceID: ev1, SHA256: sha, SizeBytes: 7, MediaType: "text/plain; charset=utf-8"}},
		},
		{
			name:    "attach content a second time",
			given:   []domain.Event{registered, attached},
			when:    domain.AttachContent{EvidenceID: ev1, Case: withItem, SHA256: sha, SizeBytes: 1024, MediaType: "video/mp4", Actor: inv, Now: t0},
			wantErr: domain.ErrContentAlreadyAttached,
		},
		{
			name:    "attach content with another digest than declared",
			given:   []domain.Event{registered},
			when:    domain.AttachContent{EvidenceID: ev1, Case: withItem, SHA256: strings.Repeat("cd", 32), SizeBytes: 1024, MediaType: "video/mp4", Actor: inv, Now: t0},
			wantErr: domain.ErrContentMismatch,
		},
		{
			name:    "attach content with another size than declared",
			given:   []domain.Event{registered},
			when:    domain.AttachContent{EvidenceID: ev1, Case: withItem, SHA256: sha, SizeBytes: 1, MediaType: "video/mp4", Actor: inv, Now: t0},
			wantErr: domain.ErrContentMismatch,
		},
		{
			name:    "attach content without a digest",
			given:   []domain.Event{registered},
			when:    domain.AttachContent{EvidenceID: ev1, Case: withItem, SizeBytes: 1024, MediaType: "video/mp4", Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "attach content without a media type",
			given:   []domain.Event{registered},
			when:    domain.AttachContent{EvidenceID: ev1, Case: withItem, SHA256: sha, SizeBytes: 1024, Actor: inv, Now: t0},
			wantErr: domain.ErrInvalidInput,
		},
		{
			name:    "attach content to evidence not registered",
			when:    domain.AttachContent{EvidenceID: ev1, Case: withItem, SHA256: sha, SizeBytes: 1024, MediaType: "video/mp4", Actor: inv, Now: t0},
			wantErr: domain.ErrEvidenceNotFound,
		},
		{
			name:    "attach content to evidence removed from its case",
			given:   []domain.Event{registered},
			when:    domain.AttachContent{EvidenceID: ev1, Case: withItem.Evolve(domain.EvidenceRemoved{CaseID: case1, EvidenceID: ev1}), SHA256: sha, SizeBytes: 1024, MediaType: "video/mp4", Actor: inv, Now: t0},
			wantErr: domain.ErrEvidenceNotFound,
		},
		{
			name:    "attach content to a case the actor may not list",
			given:   []domain.Event{registered},
			when:    domain.AttachContent{EvidenceID: ev1, Case: withItem, SHA256: sha, SizeBytes: 1024, MediaType: "video/mp4", Actor: user(eve, orgB, domain.AdministratorPermissions()), Now: t0},
			wantErr: domain.ErrCaseNotFound,
		},
		{
			name:    "attach content without evidence.add",
			given:   []domain.Event{registered},
			when:    domain.AttachContent{EvidenceID: ev1, Case: withItem, SHA256: sha, SizeBytes: 1024, MediaType: "video/mp4", Actor: user(carol, orgA, withEvidence(perms(all3, allow3), domain.ListAll, domain.Allow)), Now: t0},
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "attach content through an entry of level view on the item's list is read-only",
			given:   []domain.Event{registered},
			when:    attach(reachedBy(grantedOn(ev1, entry(carolP, domain.LevelView, time.Time{}))), caseOnly),
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "attach content through an entry of level view on the case's list is read-only",
			given:   []domain.Event{registered},
			when:    attach(reachedBy(granted(entry(carolP, domain.LevelView, time.Time{}))), caseOnly),
			wantErr: domain.ErrForbidden,
		},
		{
			name:  "attach content through an entry of level role on the item's list uses the role",
			given: []domain.Event{registered},
			when:  attach(reachedBy(grantedOn(ev1, entry(carolP, domain.LevelRole, time.Time{}))), caseOnly),
			want:  []domain.Event{attached},
		},
		{
			name:    "attach content the actor may list but not view",
			given:   []domain.Event{registered},
			when:    attach(withItem, user(carol, orgA, withEvidence(perms(all3, allow3, domain.ActionAddEvidence), domain.ListAll, domain.Deny))),
			wantErr: domain.ErrForbidden,
		},
		{
			name:    "unknown command",
			when:    domain.CreateCase{},
			wantErr: domain.ErrInvalidInput,
		},
	})
}

func TestEvidenceEvolve(t *testing.T) {
	e := fold[domain.Evidence](domain.EvidenceRegistered{EvidenceID: ev1, CaseID: case1, OrgID: orgA, SizeBytes: 3})
	assert.False(t, e.Attached())
	e = e.Evolve(domain.EvidenceContentAttached{EvidenceID: ev1, SHA256: "aa", SizeBytes: 3, MediaType: "text/plain"}).Evolve(domain.CaseCreated{})
	assert.Equal(t, domain.Evidence{ID: ev1, CaseID: case1, OrgID: orgA, Declared: domain.EvidenceContent{SizeBytes: 3},
		Content: domain.EvidenceContent{MediaType: "text/plain", SHA256: "aa", SizeBytes: 3}}, e)
	assert.True(t, e.Attached())
}
