package domain_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/custodian/custodian/domain"
)

// Property tests over random case histories. A history is built only
// through Case.Decide (what Decide refuses is skipped), by administrators
// of org A acting as random users, so it holds only what the rules allow.

var (
	poolUsers  = []uuid.UUID{id("pool-user-0"), id("pool-user-1"), id("pool-user-2"), id("pool-user-3")}
	poolGroups = []uuid.UUID{id("pool-group-0"), id("pool-group-1"), id("pool-group-2")}
	groupsB    = []uuid.UUID{id("b-group-0"), id("b-group-1")}
)

// step is one successful command of a history.
type step struct {
	before, after domain.Case
	cmd           domain.Command
	events        []domain.Event
}

type history struct {
	final domain.Case
	steps []step
	now   time.Time // the time of the last command
}

func drawScopes(t *rapid.T, label string) domain.ListByClass {
	g := rapid.SampledFrom([]domain.ListScope{"", domain.ListNone, domain.ListOwn, domain.ListAll})
	return domain.ListByClass{Unrestricted: g.Draw(t, label+".u"), Restricted: g.Draw(t, label+".r"), Confidential: g.Draw(t, label+".c")}
}

func drawAllows(t *rapid.T, label string) domain.AllowByClass {
	g := rapid.SampledFrom([]domain.Allowance{"", domain.Deny, domain.Allow})
	return domain.AllowByClass{Unrestricted: g.Draw(t, label+".u"), Restricted: g.Draw(t, label+".r"), Confidential: g.Draw(t, label+".c")}
}

func drawRestrictions(t *rapid.T, label string) domain.AllowByRestriction {
	g := rapid.SampledFrom([]domain.Allowance{"", domain.Deny, domain.Allow})
	return domain.AllowByRestriction{Restricted: g.Draw(t, label+".r"), Confidential: g.Draw(t, label+".c")}
}

func drawPermissions(t *rapid.T, label string) domain.Permissions {
	var p domain.Permissions
	p.Cases = domain.CasePermissions{List: drawScopes(t, label+".cases.list"), View: drawAllows(t, label+".cases.view"),
		ApplyClass: drawRestrictions(t, label+".cases.apply"), RemoveClass: drawRestrictions(t, label+".cases.remove")}
	p.Evidence = domain.EvidencePermissions{List: drawScopes(t, label+".evidence.list"), View: drawAllows(t, label+".evidence.view"),
		ApplyClass: drawRestrictions(t, label+".evidence.apply")}
	for _, a := range domain.AllActions() {
		if rapid.Bool().Draw(t, label+"."+string(a)) {
			p.Actions = append(p.Actions, a)
		}
	}
	return p
}

// drawSubject draws a user of org A (from the pool) with random
// permissions, groups and, rarely, inactive.
func drawSubject(t *rapid.T) domain.Subject {
	s := domain.Subject{
		UserID:      rapid.SampledFrom(poolUsers).Draw(t, "subject"),
		OrgID:       orgA,
		Active:      rapid.IntRange(0, 9).Draw(t, "active") > 0,
		Permissions: drawPermissions(t, "subject"),
	}
	for _, g := range poolGroups {
		if rapid.Bool().Draw(t, "member of "+g.String()) {
			s.Groups = append(s.Groups, g)
		}
	}
	return s
}

func drawClass(t *rapid.T, label string) domain.AccessClass {
	return rapid.SampledFrom([]domain.AccessClass{domain.Unrestricted, domain.Restricted, domain.Confidential}).Draw(t, label)
}

func drawPrincipal(t *rapid.T, label string) domain.Principal {
	if rapid.Bool().Draw(t, label+".isGroup") {
		return domain.GroupPrincipal(rapid.SampledFrom(poolGroups).Draw(t, label+".group"))
	}
	return domain.UserPrincipal(rapid.SampledFrom(poolUsers).Draw(t, label+".user"))
}

// drawList picks the case's list (uuid.Nil) or one of its items' lists.
func drawList(t *rapid.T, c domain.Case, label string) uuid.UUID {
	if len(c.Evidence) == 0 || rapid.Bool().Draw(t, label+".case") {
		return uuid.Nil
	}
	return rapid.SampledFrom(c.Evidence).Draw(t, label+".item").ID
}

func drawExpiry(t *rapid.T, now time.Time, label string) time.Time {
	if rapid.Bool().Draw(t, label+".none") {
		return time.Time{}
	}
	return now.Add(time.Duration(rapid.IntRange(1, 96).Draw(t, label+".hours")) * time.Hour)
}

func drawCommand(t *rapid.T, c domain.Case, i int, now time.Time) domain.Command {
	actor := user(rapid.SampledFrom(poolUsers).Draw(t, "actor"), orgA, domain.AdministratorPermissions())
	switch rapid.IntRange(0, 7).Draw(t, "command") {
	case 0:
		return domain.AddEvidence{CaseID: case1, EvidenceID: id(fmt.Sprint("pool-evidence-", i)), Title: "item",
			AccessClass: rapid.SampledFrom([]domain.AccessClass{"", domain.Unrestricted, domain.Restricted, domain.Confidential}).Draw(t, "given"),
			Actor:       actor, Now: now}
	case 1:
		return domain.ChangeAccessClass{CaseID: case1, AccessClass: drawClass(t, "to"), Actor: actor, Now: now}
	case 2:
		cmd := domain.GrantAccess{CaseID: case1, EvidenceID: drawList(t, c, "grant"), Actor: actor, Now: now}
		for j := range rapid.IntRange(1, 3).Draw(t, "grants") {
			label := fmt.Sprint("grant", j)
			cmd.Grants = append(cmd.Grants, domain.Grant{Principal: drawPrincipal(t, label), PrincipalOrgID: orgA,
				Level:     rapid.SampledFrom([]domain.AccessLevel{domain.LevelRole, domain.LevelView}).Draw(t, label+".level"),
				ExpiresAt: drawExpiry(t, now, label)})
		}
		return cmd
	case 3:
		cmd := domain.ModifyAccess{CaseID: case1, EvidenceID: drawList(t, c, "modify"), Principal: drawPrincipal(t, "modify"), Actor: actor, Now: now}
		if rapid.Bool().Draw(t, "modify.level") {
			cmd.Level = domain.Some(rapid.SampledFrom([]domain.AccessLevel{domain.LevelRole, domain.LevelView}).Draw(t, "level"))
		}
		if rapid.Bool().Draw(t, "modify.expiry") {
			cmd.ExpiresAt = domain.Some(drawExpiry(t, now, "modify"))
		}
		return cmd
	case 4:
		return domain.RemoveAccess{CaseID: case1, EvidenceID: drawList(t, c, "remove"), Principal: drawPrincipal(t, "remove"), Actor: actor, Now: now}
	case 5:
		ev := drawList(t, c, "remove evidence")
		return domain.RemoveEvidence{CaseID: case1, EvidenceID: ev, Actor: actor, Now: now}
	case 6:
		list := drawList(t, c, "expire")
		l := c.Access
		if item, ok := c.Item(list); ok {
			l = item.Access
		}
		if len(l) == 0 {
			return domain.RecordAccessExpiry{CaseID: case1, Now: now}
		}
		e := rapid.SampledFrom(l).Draw(t, "expire.entry")
		return domain.RecordAccessExpiry{CaseID: case1, EvidenceID: list, Principal: e.Principal, ExpiresAt: e.ExpiresAt, Now: now}
	default:
		return domain.EditCase{CaseID: case1, Owner: domain.Some(rapid.SampledFrom(poolUsers).Draw(t, "owner")), OwnerOrgID: orgA, Actor: actor, Now: now}
	}
}

// drawHistory creates case1 in org A and applies up to 30 random commands,
// with time moving forward between them.
func drawHistory(t *rapid.T) history {
	now := t0
	var c domain.Case
	events, err := c.Decide(domain.CreateCase{CaseID: case1, Title: "case", AccessClass: drawClass(t, "class"),
		OwnerID: rapid.SampledFrom(poolUsers).Draw(t, "owner"), OwnerOrgID: orgA,
		Actor: user(rapid.SampledFrom(poolUsers).Draw(t, "creator"), orgA, domain.AdministratorPermissions()), Now: now})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	c = evolveAll(c, events)
	h := history{}
	for i := range rapid.IntRange(0, 30).Draw(t, "steps") {
		now = now.Add(time.Duration(rapid.IntRange(0, 36).Draw(t, "elapsed")) * time.Hour)
		cmd := drawCommand(t, c, i, now)
		events, err := c.Decide(cmd)
		if err != nil {
			continue
		}
		next := evolveAll(c, events)
		h.steps = append(h.steps, step{before: c, after: next, cmd: cmd, events: events})
		c = next
	}
	h.final, h.now = c, now
	return h
}

func evolveAll(c domain.Case, events []domain.Event) domain.Case {
	for _, e := range events {
		c = c.Evolve(e)
	}
	return c
}

// drawNow is a moment around the end of the history: entries may be
// active or expired at it.
func drawNow(t *rapid.T, h history) time.Time {
	return h.now.Add(time.Duration(rapid.IntRange(-100, 100).Draw(t, "now offset")) * time.Hour)
}

// decisions is everything the access rules answer for s about c at now.
func decisions(s domain.Subject, c domain.Case, now time.Time) []bool {
	d := []bool{
		domain.CanList(s, c, now), domain.CanView(s, c, now), domain.HasActiveEntry(s, c, now),
		domain.CanEdit(s, c, now), domain.CanAddEvidence(s, c, now), domain.CanManageAccess(s, c, now),
		domain.CanShare(s, c, now), domain.CanClassicShare(s, c, now),
		domain.CanChangeAccessClass(s, c, domain.Unrestricted, now), domain.CanChangeAccessClass(s, c, domain.Restricted, now),
		domain.CanChangeAccessClass(s, c, domain.Confidential, now),
	}
	for _, ev := range c.Evidence {
		d = append(d, domain.CanListEvidence(s, c, ev, now), domain.CanViewEvidence(s, c, ev, now))
	}
	return d
}

// A case class change never lowers an evidence class, a restricting class
// raises every item to at least itself, and evidence is added at least at
// the case's class.
func TestPropertyClassChangeNeverLowersEvidence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		for _, st := range h.steps {
			for _, after := range st.after.Evidence {
				before, existed := st.before.Item(after.ID)
				if existed && domain.Stricter(before.AccessClass, after.AccessClass) != after.AccessClass {
					t.Fatalf("%T lowered evidence %s from %s to %s", st.cmd, after.ID, before.AccessClass, after.AccessClass)
				}
				if !existed && domain.Stricter(st.before.AccessClass, after.AccessClass) != after.AccessClass {
					t.Fatalf("evidence added as %s to a %s case", after.AccessClass, st.before.AccessClass)
				}
				if cc, ok := st.cmd.(domain.ChangeAccessClass); ok && cc.AccessClass != domain.Unrestricted &&
					domain.Stricter(cc.AccessClass, after.AccessClass) != after.AccessClass {
					t.Fatalf("applying %s left evidence %s at %s", cc.AccessClass, after.ID, after.AccessClass)
				}
			}
		}
	})
}

// CanView implies CanList; CanViewEvidence implies CanListEvidence implies
// CanView; each Explain agrees with its Can and gives reasons exactly when
// it allows.
func TestPropertyViewImpliesList(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		s, now, c := drawSubject(t), drawNow(t, h), h.final
		if domain.CanView(s, c, now) && !domain.CanList(s, c, now) {
			t.Fatalf("views but does not list")
		}
		checkExplained(t, "list", domain.CanList(s, c, now), domain.ExplainList(s, c, now))
		checkExplained(t, "view", domain.CanView(s, c, now), domain.ExplainView(s, c, now))
		for _, ev := range c.Evidence {
			list, view := domain.CanListEvidence(s, c, ev, now), domain.CanViewEvidence(s, c, ev, now)
			if view && !list || list && !domain.CanView(s, c, now) {
				t.Fatalf("evidence %s: view %v, list %v, case view %v", ev.ID, view, list, domain.CanView(s, c, now))
			}
			checkExplained(t, "list evidence", list, domain.ExplainListEvidence(s, c, ev, now))
			checkExplained(t, "view evidence", view, domain.ExplainViewEvidence(s, c, ev, now))
		}
		if got := len(domain.ListableEvidence(s, c, now)); got > len(c.Evidence) {
			t.Fatalf("lists %d of %d items", got, len(c.Evidence))
		}
		for _, a := range []func(domain.Subject, domain.Case, time.Time) bool{domain.CanEdit, domain.CanManageAccess, domain.CanShare} {
			if a(s, c, now) && !domain.CanView(s, c, now) {
				t.Fatalf("acts on a case it cannot view")
			}
		}
	})
}

func checkExplained(t *rapid.T, what string, can bool, d domain.Decision) {
	if d.Allowed != can || d.Allowed != (len(d.Reasons) > 0) {
		t.Fatalf("%s: Can %v, Explain %+v", what, can, d)
	}
}

// An entry whose expiry has passed grants nothing from that instant on:
// removing every entry with expiresAt <= now (of the case and of each item)
// changes no decision.
func TestPropertyExpiredEntryNeverGrants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		s, now, c := drawSubject(t), drawNow(t, h), h.final
		pruned := c
		for _, list := range append([]uuid.UUID{uuid.Nil}, itemIDs(c)...) {
			l := c.Access
			if item, ok := c.Item(list); ok {
				l = item.Access
			}
			for _, e := range l {
				if expired := !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(now); expired { // expiresAt <= now
					pruned = pruned.Evolve(domain.InternalAccessRemoved{CaseID: case1, EvidenceID: list, Principal: e.Principal})
				}
			}
		}
		if got, want := decisions(s, pruned, now), decisions(s, c, now); !slices.Equal(got, want) {
			t.Fatalf("expired entries changed decisions: with %v, without %v", want, got)
		}
	})
}

func itemIDs(c domain.Case) []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(c.Evidence))
	for _, ev := range c.Evidence {
		ids = append(ids, ev.ID)
	}
	return ids
}

// Removing one path of a user to a case (its entry, its membership of a
// listed group, or a role change that takes the role's view away) removes
// exactly the reasons of that path: when it was the only one, the user can
// no longer view the case.
func TestPropertyRemovingOnlyPathRemovesAccess(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		s, now, c := drawSubject(t), drawNow(t, h), h.final
		before := domain.ExplainView(s, c, now)
		if !before.Allowed {
			return
		}
		r := rapid.SampledFrom(before.Reasons).Draw(t, "path")
		gone := []domain.Reason{r}
		switch {
		case r == domain.ReasonUserEntry:
			events, err := c.Decide(domain.RemoveAccess{CaseID: case1, Principal: domain.UserPrincipal(s.UserID),
				Actor: user(id("pool-admin"), orgA, domain.AdministratorPermissions()), Now: now})
			if err != nil {
				t.Fatalf("remove entry: %v", err)
			}
			c = evolveAll(c, events)
		case r == domain.ReasonOwner || r == domain.ReasonRole:
			s.Permissions = drawPermissions(t, "new role")
			switch c.AccessClass {
			case domain.Unrestricted:
				s.Permissions.Cases.View.Unrestricted = domain.Deny
			case domain.Restricted:
				s.Permissions.Cases.View.Restricted = domain.Deny
			default:
				s.Permissions.Cases.View.Confidential = domain.Deny
			}
			gone = []domain.Reason{domain.ReasonOwner, domain.ReasonRole}
		default: // group-entry:<id>: leave the group
			s.Groups = slices.DeleteFunc(slices.Clone(s.Groups), func(g uuid.UUID) bool { return domain.GroupEntryReason(g) == r })
		}
		after := domain.ExplainView(s, c, now)
		want := slices.DeleteFunc(slices.Clone(before.Reasons), func(x domain.Reason) bool { return slices.Contains(gone, x) })
		if !slices.Equal(after.Reasons, want) && !(len(want) == 0 && len(after.Reasons) == 0) {
			t.Fatalf("removed %s: reasons %v, want %v", r, after.Reasons, want)
		}
		if after.Allowed != (len(want) > 0) {
			t.Fatalf("removed %s, the only path: still views (%v)", r, after.Reasons)
		}
	})
}

// Decisions about a case of org A never depend on another organization: a
// subject of org B gets nothing whatever its permissions, groups or user id,
// and every command it sends is not found; a subject of A decides the same
// with org B's groups added to it; principals of B cannot be put on A's lists.
func TestPropertyOrganizationsAreIsolated(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		now, c := drawNow(t, h), h.final

		outsider := drawSubject(t) // may carry a user id and group ids of org A
		outsider.OrgID = orgB
		outsider.Active = true
		outsider.Groups = append(outsider.Groups, groupsB...)
		if slices.Contains(decisions(outsider, c, now), true) || domain.ViewsThroughRole(outsider, c) {
			t.Fatalf("a subject of org B is granted something on org A's case")
		}
		for i := range 5 {
			cmd := drawCommand(t, c, 1000+i, now)
			cmd = withActor(cmd, outsider)
			if _, err := c.Decide(cmd); domain.KindOf(err) != domain.NotFound {
				t.Fatalf("%T by org B: %v, want not found", cmd, err)
			}
		}

		insider := drawSubject(t)
		mixed := insider
		mixed.Groups = append(slices.Clone(insider.Groups), groupsB...)
		if !slices.Equal(decisions(insider, c, now), decisions(mixed, c, now)) {
			t.Fatalf("org B's groups changed a decision")
		}

		_, err := c.Decide(domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{{
			Principal: domain.GroupPrincipal(rapid.SampledFrom(groupsB).Draw(t, "b group")), PrincipalOrgID: orgB, Level: domain.LevelRole,
		}}, Actor: user(id("pool-admin"), orgA, domain.AdministratorPermissions()), Now: now})
		if err == nil {
			t.Fatalf("a group of org B was put on org A's list")
		}
	})
}

// withActor returns cmd sent by actor instead.
func withActor(cmd domain.Command, actor domain.Subject) domain.Command {
	switch c := cmd.(type) {
	case domain.AddEvidence:
		c.Actor = actor
		return c
	case domain.ChangeAccessClass:
		c.Actor = actor
		return c
	case domain.GrantAccess:
		c.Actor = actor
		return c
	case domain.ModifyAccess:
		c.Actor = actor
		return c
	case domain.RemoveAccess:
		c.Actor = actor
		return c
	case domain.RemoveEvidence:
		c.Actor = actor
		return c
	case domain.EditCase:
		c.Actor = actor
		return c
	}
	// RecordAccessExpiry has no actor (system); send an edit instead.
	return domain.EditCase{CaseID: case1, Title: domain.Some("x"), Actor: actor}
}
