package domain

import (
	"time"

	"github.com/google/uuid"
)

// The access decisions of design §4: pure functions of a Subject, a Case (and
// one of its evidence items), and now. This file is the single place they
// live; Decide, the api and the projections all call them.
//
// Every decision requires that the subject is an active user of the case's
// organization. An access-list entry acts for its user, or for every member
// of its group, from its grant until its expiry instant (excluded).

// Reason says why a decision allowed something.
type Reason string

// Reasons. A group entry's reason names the group: see GroupEntryReason.
const (
	// ReasonOwner: the role lists the case's class as "own" and the subject owns the case.
	ReasonOwner Reason = "owner"
	// ReasonRole: the role alone permits it (scope "all" for the class).
	ReasonRole Reason = "role"
	// ReasonUserEntry: the subject is on the case's access list.
	ReasonUserEntry Reason = "user-entry"
	// ReasonAddedBy: the role lists the item's class as "own" and the subject added the item.
	ReasonAddedBy Reason = "added-by"
	// ReasonEvidenceUserEntry: the subject is on the evidence item's own access list.
	ReasonEvidenceUserEntry Reason = "evidence-user-entry"
)

// GroupEntryReason is the reason "group-entry:<groupId>": a group the subject
// is a member of is on the case's access list.
func GroupEntryReason(group uuid.UUID) Reason { return Reason("group-entry:" + group.String()) }

// EvidenceGroupEntryReason is the reason "evidence-group-entry:<groupId>": a
// group the subject is a member of is on the evidence item's own list.
func EvidenceGroupEntryReason(group uuid.UUID) Reason {
	return Reason("evidence-group-entry:" + group.String())
}

// Decision is an allowed-or-not answer with why it was allowed. Reasons is
// empty when Allowed is false.
type Decision struct {
	Allowed bool
	Reasons []Reason
}

// grounds are the facts a case decision reads, computed once.
type grounds struct {
	entry      bool // an active entry acts for the subject
	roleEntry  bool // an active entry of level Role acts for the subject
	listByRole bool // the role's list scope for the class permits the case
	viewByRole bool // listByRole and the role's view allows the class
}

func (g grounds) list() bool { return g.entry || g.listByRole }
func (g grounds) view() bool { return g.entry || g.viewByRole }

// act: may take an action its role permits. Access must not come only from
// entries of level View (they are read-only).
func (g grounds) act() bool { return g.viewByRole || g.roleEntry }

func caseGrounds(s Subject, c Case, now time.Time) grounds {
	if c.ID == uuid.Nil || !s.memberOf(c.OrgID) {
		return grounds{}
	}
	var g grounds
	g.entry, g.roleEntry = entries(s, c.Access, now, false)
	g.listByRole, g.viewByRole = roleGrounds(s, c)
	return g
}

// roleGrounds reports whether s's role alone lets it list and view c.
func roleGrounds(s Subject, c Case) (list, view bool) {
	if c.ID == uuid.Nil || !s.memberOf(c.OrgID) {
		return false, false
	}
	list = scopePermits(s.Permissions.Cases.List.For(c.AccessClass), c.OwnerID == s.UserID)
	return list, list && s.Permissions.Cases.View.For(c.AccessClass)
}

// entries reports whether an active entry of l acts for s, and whether one
// of level Role does. With firstOnly it stops at the first entry found.
func entries(s Subject, l AccessList, now time.Time, firstOnly bool) (found, role bool) {
	for i := range l {
		e := &l[i]
		if !s.actsFor(e.Principal) || !e.ActiveAt(now) {
			continue
		}
		found = true
		if e.Level == LevelRole {
			return true, true
		}
		if firstOnly {
			return true, false
		}
	}
	return found, false
}

func scopePermits(scope ListScope, own bool) bool {
	return scope == ListAll || (scope == ListOwn && own)
}

// HasActiveEntry reports whether an active entry of the case's access list
// acts for s (design §4 ActiveEntry).
func HasActiveEntry(s Subject, c Case, now time.Time) bool {
	if c.ID == uuid.Nil || !s.memberOf(c.OrgID) {
		return false
	}
	found, _ := entries(s, c.Access, now, true)
	return found
}

// CanList reports whether s may find c (search, reports, counts):
// an active entry, or the role's list scope for the case's class is all, or
// own and s owns the case.
func CanList(s Subject, c Case, now time.Time) bool {
	list, _ := roleGrounds(s, c)
	return list || HasActiveEntry(s, c, now)
}

// CanView reports whether s may open c: an active entry, or the role's view
// allows the class and its list scope permits the case.
func CanView(s Subject, c Case, now time.Time) bool {
	return ViewsThroughRole(s, c) || HasActiveEntry(s, c, now)
}

// ViewsThroughRole reports whether s may view c through its role alone,
// ignoring access lists (the manage-access summary counts these users).
func ViewsThroughRole(s Subject, c Case) bool {
	_, view := roleGrounds(s, c)
	return view
}

// evidenceGrounds returns whether s may list and view item ev of c, given the
// case's grounds.
func evidenceGrounds(s Subject, ev EvidenceItem, g grounds, now time.Time) (list, view bool) {
	if !g.view() {
		return false, false
	}
	if g.entry {
		return true, true
	}
	if found, _ := entries(s, ev.Access, now, true); found {
		return true, true
	}
	return evidenceRoleGrounds(s, ev)
}

// evidenceRoleGrounds reports whether s's role alone lets it list and view
// item ev: the evidence list scope for the item's class is all, or own and s
// added it; and the evidence view allows the class. It does not look at the
// case.
func evidenceRoleGrounds(s Subject, ev EvidenceItem) (list, view bool) {
	list = scopePermits(s.Permissions.Evidence.List.For(ev.AccessClass), ev.AddedBy == s.UserID)
	return list, list && s.Permissions.Evidence.View.For(ev.AccessClass)
}

// CanListEvidence reports whether s may see that item ev of case c exists:
// s may view the case, and an active entry on the case's or the item's list
// acts for s, or the role's evidence list scope for the item's class is all,
// or own and s added the item. ev must be an item of c.
func CanListEvidence(s Subject, c Case, ev EvidenceItem, now time.Time) bool {
	list, _ := evidenceGrounds(s, ev, caseGrounds(s, c, now), now)
	return list
}

// CanViewEvidence reports whether s may open item ev of case c: s may list
// it, and an active entry on the case's or the item's list acts for s, or
// the role's evidence view allows the item's class. ev must be an item of c.
func CanViewEvidence(s Subject, c Case, ev EvidenceItem, now time.Time) bool {
	_, view := evidenceGrounds(s, ev, caseGrounds(s, c, now), now)
	return view
}

// CanActOnEvidence reports whether s may take, on item ev of case c, an
// action its role permits (removing it, attaching its content, managing its
// own list): s may view the item and act on the case (CanView, not only
// through entries of level View), and its access to the item does not come
// only from entries of level View either: its role alone lists and views the
// item's class, or an active entry of level Role on the case's list or on
// the item's own list acts for s. It does not check the action's permission
// itself (cases.edit, evidence.add, cases.access.manage). ev must be an item
// of c.
func CanActOnEvidence(s Subject, c Case, ev EvidenceItem, now time.Time) bool {
	g := caseGrounds(s, c, now)
	if _, view := evidenceGrounds(s, ev, g, now); !view || !g.act() {
		return false
	}
	if g.roleEntry {
		return true
	}
	if _, role := entries(s, ev.Access, now, false); role {
		return true
	}
	_, byRole := evidenceRoleGrounds(s, ev)
	return byRole
}

// ListableEvidence returns the items of c that s may list, in case order: what
// a case view shows.
func ListableEvidence(s Subject, c Case, now time.Time) []EvidenceItem {
	g := caseGrounds(s, c, now)
	items := []EvidenceItem{}
	for _, ev := range c.Evidence {
		if list, _ := evidenceGrounds(s, ev, g, now); list {
			items = append(items, ev)
		}
	}
	return items
}

// can reports whether s may take action a on c: view it, hold a in its
// role, and not depend only on entries of level View.
func can(s Subject, c Case, now time.Time, a Action) bool {
	return caseGrounds(s, c, now).act() && s.Permissions.Has(a)
}

// CanEdit reports whether s may edit c: title, description, owner, folders,
// and removing evidence (cases.edit).
func CanEdit(s Subject, c Case, now time.Time) bool { return can(s, c, now, ActionEditCases) }

// CanAddEvidence reports whether s may add evidence to c (evidence.add).
func CanAddEvidence(s Subject, c Case, now time.Time) bool { return can(s, c, now, ActionAddEvidence) }

// CanManageAccess reports whether s may change the access lists of c and of
// its items (cases.access.manage).
func CanManageAccess(s Subject, c Case, now time.Time) bool {
	return can(s, c, now, ActionManageAccess)
}

// CanShare reports whether s may share c with a partner organization (cases.share).
func CanShare(s Subject, c Case, now time.Time) bool { return can(s, c, now, ActionShare) }

// CanClassicShare reports whether s may share c the classic way: copy, link,
// one-time download (cases.share.classic).
func CanClassicShare(s Subject, c Case, now time.Time) bool {
	return can(s, c, now, ActionClassicShare)
}

// CanChangeAccessClass reports whether s may change c's class to to. To
// restricted or confidential it needs cases.applyClass and
// evidence.applyClass for to, and from the other restricting class also
// cases.removeClass for the current one; to unrestricted it needs
// cases.removeClass for the current one. Like every action it needs to view
// the case, not only through entries of level View. A change to the class
// the case already has is not a change and is not permitted here (Decide
// accepts it as a no-op from anyone who may act on the case).
func CanChangeAccessClass(s Subject, c Case, to AccessClass, now time.Time) bool {
	return c.AccessClass != to && caseGrounds(s, c, now).act() && classPermitted(s.Permissions, c.AccessClass, to)
}

func classPermitted(p Permissions, from, to AccessClass) bool {
	switch {
	case to == Unrestricted:
		return p.Cases.RemoveClass.For(from)
	case !to.Valid():
		return false
	case from != Unrestricted && !p.Cases.RemoveClass.For(from):
		return false
	}
	return p.Cases.ApplyClass.For(to) && p.Evidence.ApplyClass.For(to)
}

// CanCreateCase reports whether s may open cases in its organization (cases.create).
func CanCreateCase(s Subject) bool {
	return s.memberOf(s.OrgID) && s.Permissions.Has(ActionCreateCases)
}

// CanReceiveShares reports whether s may see the shares its organization
// received (shares.receive).
func CanReceiveShares(s Subject) bool {
	return s.memberOf(s.OrgID) && s.Permissions.Has(ActionReceiveShares)
}

// CanReadAudit reports whether s may read the audit trail of organization org (audit.read).
func CanReadAudit(s Subject, org uuid.UUID) bool {
	return s.memberOf(org) && s.Permissions.Has(ActionReadAudit)
}

// CanAdminister reports whether s administers organization org: users,
// groups, roles, partnerships, sharing policies (org.admin).
func CanAdminister(s Subject, org uuid.UUID) bool {
	return s.memberOf(org) && s.Permissions.Has(ActionAdminister)
}

// OwnerFilterLocked reports whether a case search by a user with permissions
// p has its owner filter locked to the user: no class is listed as "all".
// The user still finds the cases whose access lists they are on.
func OwnerFilterLocked(p Permissions) bool {
	l := p.Cases.List
	return l.For(Unrestricted) != ListAll && l.For(Restricted) != ListAll && l.For(Confidential) != ListAll
}

// caseReasons lists why s may list (view false) or view (view true) c.
func caseReasons(s Subject, c Case, now time.Time, g grounds, view bool) []Reason {
	var rs []Reason
	if byRole := g.listByRole && (!view || g.viewByRole); byRole {
		if s.Permissions.Cases.List.For(c.AccessClass) == ListAll {
			rs = append(rs, ReasonRole)
		} else {
			rs = append(rs, ReasonOwner)
		}
	}
	return appendEntryReasons(rs, s, c.Access, now, ReasonUserEntry, GroupEntryReason)
}

func appendEntryReasons(rs []Reason, s Subject, l AccessList, now time.Time, user Reason, group func(uuid.UUID) Reason) []Reason {
	for _, e := range l {
		if !e.ActiveAt(now) || !s.actsFor(e.Principal) {
			continue
		}
		if e.Principal.Type == PrincipalUser {
			rs = append(rs, user)
		} else {
			rs = append(rs, group(e.Principal.ID))
		}
	}
	return rs
}

func decision(allowed bool, rs []Reason) Decision {
	if !allowed {
		return Decision{Reasons: []Reason{}}
	}
	return Decision{Allowed: true, Reasons: rs}
}

// ExplainList is CanList with its reasons: owner, role, user-entry,
// group-entry:<groupId> (one per group entry acting for s).
func ExplainList(s Subject, c Case, now time.Time) Decision {
	g := caseGrounds(s, c, now)
	return decision(g.list(), caseReasons(s, c, now, g, false))
}

// ExplainView is CanView with its reasons, as ExplainList; owner and role
// appear only when the role's view allows the class.
func ExplainView(s Subject, c Case, now time.Time) Decision {
	g := caseGrounds(s, c, now)
	return decision(g.view(), caseReasons(s, c, now, g, true))
}

// evidenceReasons lists why s may list (view false) or view item ev.
func evidenceReasons(s Subject, c Case, ev EvidenceItem, now time.Time, view bool) []Reason {
	rs := appendEntryReasons(nil, s, c.Access, now, ReasonUserEntry, GroupEntryReason)
	rs = appendEntryReasons(rs, s, ev.Access, now, ReasonEvidenceUserEntry, EvidenceGroupEntryReason)
	scope := s.Permissions.Evidence.List.For(ev.AccessClass)
	if scopePermits(scope, ev.AddedBy == s.UserID) && (!view || s.Permissions.Evidence.View.For(ev.AccessClass)) {
		if scope == ListAll {
			rs = append(rs, ReasonRole)
		} else {
			rs = append(rs, ReasonAddedBy)
		}
	}
	return rs
}

// ExplainListEvidence is CanListEvidence with its reasons: user-entry and
// group-entry:<id> (case list), evidence-user-entry and
// evidence-group-entry:<id> (the item's list), role, added-by.
func ExplainListEvidence(s Subject, c Case, ev EvidenceItem, now time.Time) Decision {
	list, _ := evidenceGrounds(s, ev, caseGrounds(s, c, now), now)
	return decision(list, evidenceReasons(s, c, ev, now, false))
}

// ExplainViewEvidence is CanViewEvidence with its reasons, as ExplainListEvidence.
func ExplainViewEvidence(s Subject, c Case, ev EvidenceItem, now time.Time) Decision {
	_, view := evidenceGrounds(s, ev, caseGrounds(s, c, now), now)
	return decision(view, evidenceReasons(s, c, ev, now, true))
}
