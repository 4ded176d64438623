package domain_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/custodian/custodian/domain"
)

// Property tests over random case histories. A history is built only
// through Case.Decide (what Decide refuses is skipped), so it holds only
// what the rules allow; its actors are administrators of org A (drawHistory)
// or, in mixed histories, also users of A with random permissions.

var (
	poolUsers  = []uuid.UUID{id("pool-user-0"), id("pool-user-1"), id("pool-user-2"), id("pool-user-3")}
	poolGroups = []uuid.UUID{id("pool-group-0"), id("pool-group-1"), id("pool-group-2")}
	groupsB    = []uuid.UUID{id("b-group-0"), id("b-group-1")}
	usersB     = []uuid.UUID{id("b-user-0"), id("b-user-1")}

	// viewer and viewers are never drawn into a history: the only path they
	// have to a case is the one a test gives them.
	viewer  = id("viewer")
	viewers = id("viewers")
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

// drawAdmin draws a user of the pool holding the Administrator role.
func drawAdmin(t *rapid.T) domain.Subject {
	return user(rapid.SampledFrom(poolUsers).Draw(t, "actor"), orgA, domain.AdministratorPermissions())
}

// drawCommand draws a command on case1 (in state c) sent by actor at now;
// i makes the ids it creates unique.
func drawCommand(t *rapid.T, c domain.Case, i int, now time.Time, actor domain.Subject) domain.Command {
	switch rapid.IntRange(0, 8).Draw(t, "command") {
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
	case 7:
		return domain.CreateFolder{CaseID: case1, FolderID: id(fmt.Sprint("pool-folder-", i)), Name: fmt.Sprint("folder ", i), Actor: actor, Now: now}
	default:
		return domain.EditCase{CaseID: case1, Owner: domain.Some(rapid.SampledFrom(poolUsers).Draw(t, "owner")), OwnerOrgID: orgA, Actor: actor, Now: now}
	}
}

// drawHistory creates case1 in org A and applies up to 30 random commands
// by administrators, with time moving forward between them.
func drawHistory(t *rapid.T) history { return drawHistoryBy(t, drawAdmin) }

// drawMixedHistory is drawHistory with actors that are administrators or,
// as often, users of A with random permissions (see drawSubject).
func drawMixedHistory(t *rapid.T) history {
	return drawHistoryBy(t, func(t *rapid.T) domain.Subject {
		if rapid.Bool().Draw(t, "actor is an administrator") {
			return drawAdmin(t)
		}
		return drawSubject(t)
	})
}

func drawHistoryBy(t *rapid.T, drawActor func(*rapid.T) domain.Subject) history {
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
		cmd := drawCommand(t, c, i, now, drawActor(t))
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
		d = append(d, domain.CanListEvidence(s, c, ev, now), domain.CanViewEvidence(s, c, ev, now),
			domain.CanActOnEvidence(s, c, ev, now))
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
			if domain.CanActOnEvidence(s, c, ev, now) && !view {
				t.Fatalf("evidence %s: acts on an item it cannot view", ev.ID)
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

// Decisions about a case of org A never depend on another organization.
// Decide refuses org B's principals on A's lists, so to give the property
// something to resist, entries for every user and group of B (levels and
// expiries at random) are put on the case's list and on every item's list
// directly with Evolve, as a corrupt history would. Then: a subject of A
// decides exactly as without those entries; a subject of B that every one
// of them acts for (whatever its user id, groups and permissions) gets
// nothing, and every command it sends is not found; and Decide still refuses
// to put a principal of B on A's list.
func TestPropertyOrganizationsAreIsolated(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		now, c := drawNow(t, h), h.final
		polluted := c
		for _, list := range append([]uuid.UUID{uuid.Nil}, itemIDs(c)...) {
			var entries []domain.AccessEntry
			for _, p := range principalsB() {
				entries = append(entries, domain.AccessEntry{Principal: p,
					Level:     rapid.SampledFrom([]domain.AccessLevel{domain.LevelRole, domain.LevelView}).Draw(t, "b level"),
					ExpiresAt: drawExpiry(t, h.now, "b expiry"), GrantedBy: eve, GrantedAt: t0})
			}
			polluted = polluted.Evolve(domain.InternalAccessGranted{CaseID: case1, EvidenceID: list, Entries: entries})
		}

		insider := drawSubject(t)
		if !slices.Equal(decisions(insider, polluted, now), decisions(insider, c, now)) {
			t.Fatalf("entries of org B changed a decision for a subject of A")
		}
		if got, want := domain.ExplainView(insider, polluted, now), domain.ExplainView(insider, c, now); !slices.Equal(got.Reasons, want.Reasons) {
			t.Fatalf("entries of org B changed the reasons for a subject of A: %v, want %v", got.Reasons, want.Reasons)
		}
		if got, want := len(domain.ListableEvidence(insider, polluted, now)), len(domain.ListableEvidence(insider, c, now)); got != want {
			t.Fatalf("entries of org B changed the evidence listed for a subject of A: %d, want %d", got, want)
		}

		outsider := drawSubject(t) // permissions at random, the Administrator's at times
		outsider.OrgID, outsider.Active = orgB, true
		outsider.UserID = rapid.SampledFrom(append(slices.Clone(usersB), poolUsers...)).Draw(t, "outsider")
		outsider.Groups = append(outsider.Groups, groupsB...)
		if rapid.Bool().Draw(t, "outsider is an administrator of B") {
			outsider.Permissions = domain.AdministratorPermissions()
		}
		if slices.Contains(decisions(outsider, polluted, now), true) || domain.ViewsThroughRole(outsider, polluted) ||
			len(domain.ListableEvidence(outsider, polluted, now)) > 0 {
			t.Fatalf("a subject of org B is granted something on org A's case")
		}
		for i := range 5 {
			cmd := withActor(drawCommand(t, polluted, 1000+i, now, outsider), outsider)
			if _, err := polluted.Decide(cmd); domain.KindOf(err) != domain.NotFound {
				t.Fatalf("%T by org B: %v, want not found", cmd, err)
			}
		}
		for _, item := range polluted.Evidence {
			registered := domain.Evidence{}.Evolve(domain.EvidenceRegistered{EvidenceID: item.ID, CaseID: case1, OrgID: orgA})
			if _, err := registered.Decide(domain.AttachContent{EvidenceID: item.ID, Case: polluted, SHA256: strings.Repeat("ab", 32),
				MediaType: "text/plain", Actor: outsider, Now: now}); domain.KindOf(err) != domain.NotFound {
				t.Fatalf("attach content by org B: %v, want not found", err)
			}
		}

		_, err := c.Decide(domain.GrantAccess{CaseID: case1, Grants: []domain.Grant{{
			Principal: rapid.SampledFrom(principalsB()).Draw(t, "b principal"), PrincipalOrgID: orgB, Level: domain.LevelRole,
		}}, Actor: user(id("pool-admin"), orgA, domain.AdministratorPermissions()), Now: now})
		if !errors.Is(err, domain.ErrUnknownPrincipal) {
			t.Fatalf("a principal of org B was put on org A's list: %v", err)
		}
	})
}

// principalsB are the users and groups of org B.
func principalsB() []domain.Principal {
	var ps []domain.Principal
	for _, u := range usersB {
		ps = append(ps, domain.UserPrincipal(u))
	}
	for _, g := range groupsB {
		ps = append(ps, domain.GroupPrincipal(g))
	}
	return ps
}

// A user whose only path to a case, or to one of its items, is an active
// entry of level View (for itself or for its group) gets no events from
// any command on it: the entry is read-only (design §4), even though its
// role holds every action. On the case's list (its role views no case) it
// is refused every command on the case and its items; on an item's own
// list (its role views every case but no evidence) every command on that
// item: removing it, attaching its content, and granting, modifying
// (raising its own entry included) or removing entries of its list. The
// same entry at level Role lets it act. Histories have random actors, not
// only administrators.
func TestPropertyViewEntryIsReadOnly(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawMixedHistory(t)
		now, c := h.now, h.final
		s := domain.Subject{UserID: viewer, OrgID: orgA, Active: true, Permissions: drawPermissions(t, "viewer")}
		s.Permissions.Actions = domain.AllActions()
		p := domain.UserPrincipal(viewer)
		if rapid.Bool().Draw(t, "through a group") {
			s.Groups, p = []uuid.UUID{viewers}, domain.GroupPrincipal(viewers)
		}
		view := domain.AccessEntry{Principal: p, Level: domain.LevelView, ExpiresAt: drawExpiry(t, now, "view"), GrantedBy: alice, GrantedAt: now}
		role := view
		role.Level = domain.LevelRole

		var target uuid.UUID // uuid.Nil: the case's list
		if len(c.Evidence) > 0 && rapid.Bool().Draw(t, "on an item's list") {
			target = rapid.SampledFrom(c.Evidence).Draw(t, "item").ID
		}
		var cmds []domain.Command
		if target == uuid.Nil {
			s.Permissions.Cases.View = domain.AllowByClass{Unrestricted: domain.Deny, Restricted: domain.Deny, Confidential: domain.Deny}
			for i := range 8 {
				cmds = append(cmds, withActor(drawCommand(t, c, 2000+i, now, s), s))
			}
			for _, item := range c.Evidence {
				cmds = append(cmds, itemCommands(t, item.ID, p, now, s)...)
			}
		} else {
			s.Permissions.Cases.List = domain.ListByClass{Unrestricted: domain.ListAll, Restricted: domain.ListAll, Confidential: domain.ListAll}
			s.Permissions.Cases.View = domain.AllowByClass{Unrestricted: domain.Allow, Restricted: domain.Allow, Confidential: domain.Allow}
			s.Permissions.Evidence.View = domain.AllowByClass{Unrestricted: domain.Deny, Restricted: domain.Deny, Confidential: domain.Deny}
			cmds = itemCommands(t, target, p, now, s)
		}
		viewing := c.Evolve(domain.InternalAccessGranted{CaseID: case1, EvidenceID: target, Entries: []domain.AccessEntry{view}})
		if !domain.CanView(s, viewing, now) {
			t.Fatalf("the entry of level view does not let its principal view the case")
		}
		for _, cmd := range cmds {
			if events, err := decideAny(viewing, cmd); err == nil || len(events) > 0 {
				t.Fatalf("%T %+v through an entry of level view: %v, %v", cmd, cmd, events, err)
			}
		}

		acting := c.Evolve(domain.InternalAccessGranted{CaseID: case1, EvidenceID: target, Entries: []domain.AccessEntry{role}})
		var contrast domain.Command = domain.EditCase{CaseID: case1, Title: domain.Some("Renamed"), Actor: s, Now: now}
		if target != uuid.Nil {
			contrast = domain.RemoveEvidence{CaseID: case1, EvidenceID: target, Actor: s, Now: now}
		}
		if events, err := acting.Decide(contrast); err != nil || len(events) == 0 {
			t.Fatalf("%T through the same entry at level role: %v, %v", contrast, events, err)
		}
	})
}

// itemCommands draws the commands that act on one item of case1: remove
// it, attach its content, and grant, modify (self is the actor's own
// principal, raised to Role at times) or remove an entry of its own list.
func itemCommands(t *rapid.T, item uuid.UUID, self domain.Principal, now time.Time, actor domain.Subject) []domain.Command {
	other := drawPrincipal(t, "item principal")
	if rapid.Bool().Draw(t, "about itself") {
		other = self
	}
	return []domain.Command{
		domain.RemoveEvidence{CaseID: case1, EvidenceID: item, Actor: actor, Now: now},
		domain.AttachContent{EvidenceID: item, SHA256: strings.Repeat("ab", 32), SizeBytes: 1, MediaType: "text/plain", Actor: actor, Now: now},
		domain.GrantAccess{CaseID: case1, EvidenceID: item, Grants: []domain.Grant{{Principal: other, PrincipalOrgID: orgA,
			Level:     rapid.SampledFrom([]domain.AccessLevel{domain.LevelRole, domain.LevelView}).Draw(t, "item grant level"),
			ExpiresAt: drawExpiry(t, now, "item grant")}}, Actor: actor, Now: now},
		domain.ModifyAccess{CaseID: case1, EvidenceID: item, Principal: other, Level: domain.Some(domain.LevelRole), Actor: actor, Now: now},
		domain.RemoveAccess{CaseID: case1, EvidenceID: item, Principal: other, Actor: actor, Now: now},
	}
}

// decideAny sends cmd to case c or, for AttachContent, to the item's
// evidence stream (registered, nothing attached) with c as its case.
func decideAny(c domain.Case, cmd domain.Command) ([]domain.Event, error) {
	if a, ok := cmd.(domain.AttachContent); ok {
		a.Case = c
		e := domain.Evidence{}.Evolve(domain.EvidenceRegistered{EvidenceID: a.EvidenceID, CaseID: c.ID, OrgID: c.OrgID})
		return e.Decide(a)
	}
	return c.Decide(cmd)
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
	case domain.CreateFolder:
		c.Actor = actor
		return c
	}
	// RecordAccessExpiry has no actor (system); send an edit instead.
	return domain.EditCase{CaseID: case1, Title: domain.Some("x"), Actor: actor}
}
