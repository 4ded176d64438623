package domain

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Class changes and access-list commands of Case.Decide.

func (c Case) changeClass(cmd ChangeAccessClass) ([]Event, error) {
	const op = "change access class of case"
	if err := c.visible(op, cmd.CaseID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	to := cmd.AccessClass
	if !to.Valid() {
		return nil, fmt.Errorf("%s %s: %w", op, c.ID, classErr(to))
	}
	if to == c.AccessClass {
		if !caseGrounds(cmd.Actor, c, cmd.Now).act() {
			return nil, forbidden(op, c.ID, "to view the case other than only through entries of level view")
		}
		return nil, nil // already in that class: no new fact
	}
	if !CanChangeAccessClass(cmd.Actor, c, to, cmd.Now) {
		return nil, forbidden(op, c.ID, classChangeNeeds(c.AccessClass, to))
	}
	notify := c.Access.ActivePrincipals(cmd.Now)
	if to == Unrestricted {
		return []Event{AccessClassRemoved{CaseID: c.ID, PreviousClass: c.AccessClass, Notify: notify}}, nil
	}
	reclassified := []Reclassification{}
	for _, item := range c.Evidence {
		if Stricter(item.AccessClass, to) != item.AccessClass {
			reclassified = append(reclassified, Reclassification{EvidenceID: item.ID, From: item.AccessClass, To: to})
		}
	}
	events := []Event{AccessClassApplied{CaseID: c.ID, AccessClass: to, PreviousClass: c.AccessClass,
		Reclassified: reclassified, Notify: notify}}
	self := UserPrincipal(cmd.Actor.UserID)
	if e, on := c.Access.Find(self); !on || !e.ActiveAt(cmd.Now) {
		entry := AccessEntry{Principal: self, Level: LevelRole, GrantedBy: cmd.Actor.UserID, GrantedAt: cmd.Now.UTC()}
		events = append(events, grantEvent(c.ID, uuid.Nil, c.Access, entry))
	}
	return events, nil
}

// classChangeNeeds names the permissions a change from one class to another needs.
func classChangeNeeds(from, to AccessClass) string {
	switch {
	case to == Unrestricted:
		return "cases.removeClass " + string(from)
	case from == Unrestricted:
		return "cases.applyClass and evidence.applyClass " + string(to)
	}
	return "cases.applyClass and evidence.applyClass " + string(to) + ", cases.removeClass " + string(from)
}

// grantEvent returns the event that puts entry on list: InternalAccessGranted
// for a new principal, InternalAccessModified for one already on it.
func grantEvent(caseID, evidenceID uuid.UUID, list AccessList, entry AccessEntry) Event {
	if _, on := list.Find(entry.Principal); on {
		return InternalAccessModified{CaseID: caseID, EvidenceID: evidenceID, Principal: entry.Principal,
			Level: entry.Level, ExpiresAt: entry.ExpiresAt}
	}
	return InternalAccessGranted{CaseID: caseID, EvidenceID: evidenceID, Entries: []AccessEntry{entry}}
}

// manageable checks that the actor may see the case and, when evidence is
// set, the item (NotFound, then Forbidden for an item it may not view).
func (c Case) manageable(op string, caseID, evidence uuid.UUID, actor Subject, now time.Time) error {
	if err := c.visible(op, caseID, actor, now); err != nil {
		return err
	}
	if evidence != uuid.Nil {
		if err := c.visibleItem(op, evidence, actor, now); err != nil {
			return err
		}
	}
	return nil
}

// mayManage checks, after manageable and the input, that the actor may
// change the list: cases.access.manage on the case and, for an item's list,
// that it may act on the item (Forbidden otherwise).
func (c Case) mayManage(op string, evidence uuid.UUID, actor Subject, now time.Time) error {
	if !CanManageAccess(actor, c, now) {
		return forbidden(op, c.ID, string(ActionManageAccess))
	}
	if evidence != uuid.Nil {
		return c.actsOnItem(op, evidence, actor, now)
	}
	return nil
}

// validExpiry returns ErrExpiryNotInFuture, on field, for a set expiry at or
// before now.
func validExpiry(field string, expiresAt, now time.Time) error {
	if !expiresAt.IsZero() && !expiresAt.After(now) {
		return fieldErr(field, ErrExpiryNotInFuture, "%s is not after %s", expiresAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func (c Case) grant(cmd GrantAccess) ([]Event, error) {
	const op = "grant access to case"
	if err := c.manageable(op, cmd.CaseID, cmd.EvidenceID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	if len(cmd.Grants) == 0 {
		return nil, fmt.Errorf("%s %s: %w", op, c.ID, fieldErr("entries", ErrInvalidInput, "are required"))
	}
	seen := make(map[Principal]bool, len(cmd.Grants))
	for i, g := range cmd.Grants {
		entry := fmt.Sprintf("entries[%d]", i)
		var err error
		switch {
		case !g.Principal.Valid():
			err = fieldErr(entry+".principal", ErrInvalidInput, "%s %s is not a user or group", g.Principal.Type, g.Principal.ID)
		case seen[g.Principal]:
			err = fieldErr(entry+".principal", ErrInvalidInput, "%s %s is given twice", g.Principal.Type, g.Principal.ID)
		case !g.Level.Valid():
			err = levelErr(entry+".level", g.Level)
		case g.PrincipalOrgID != c.OrgID:
			err = fieldErr(entry+".principal", ErrUnknownPrincipal, "%s %s is not a user or group of this organization", g.Principal.Type, g.Principal.ID)
		default:
			err = validExpiry(entry+".expiresAt", g.ExpiresAt, cmd.Now)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, c.ID, err)
		}
		seen[g.Principal] = true
	}
	if err := c.mayManage(op, cmd.EvidenceID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	list := c.list(cmd.EvidenceID)
	granted := InternalAccessGranted{CaseID: c.ID, EvidenceID: cmd.EvidenceID, Entries: []AccessEntry{}}
	var modified []Event
	for _, g := range cmd.Grants {
		expires := g.ExpiresAt.UTC()
		if g.ExpiresAt.IsZero() {
			expires = time.Time{}
		}
		old, on := list.Find(g.Principal)
		switch {
		case !on:
			granted.Entries = append(granted.Entries, AccessEntry{Principal: g.Principal, Level: g.Level,
				ExpiresAt: expires, GrantedBy: cmd.Actor.UserID, GrantedAt: cmd.Now.UTC()})
		case old.Level != g.Level || !old.ExpiresAt.Equal(expires):
			modified = append(modified, InternalAccessModified{CaseID: c.ID, EvidenceID: cmd.EvidenceID,
				Principal: g.Principal, Level: g.Level, ExpiresAt: expires})
		}
	}
	var events []Event
	if len(granted.Entries) > 0 {
		events = append(events, granted)
	}
	return append(events, modified...), nil
}

func (c Case) modify(cmd ModifyAccess) ([]Event, error) {
	const op = "modify access to case"
	if err := c.manageable(op, cmd.CaseID, cmd.EvidenceID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	if cmd.Level.Set && !cmd.Level.Value.Valid() {
		return nil, fmt.Errorf("%s %s: %w", op, c.ID, levelErr("level", cmd.Level.Value))
	}
	if cmd.ExpiresAt.Set {
		if err := validExpiry("expiresAt", cmd.ExpiresAt.Value, cmd.Now); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, c.ID, err)
		}
	}
	// The permission before the lookup: who may not manage the list does not
	// learn who is on it.
	if err := c.mayManage(op, cmd.EvidenceID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	old, on := c.list(cmd.EvidenceID).Find(cmd.Principal)
	if !on {
		return nil, fmt.Errorf("%s %s: %s %s: %w", op, c.ID, cmd.Principal.Type, cmd.Principal.ID, ErrAccessEntryNotFound)
	}
	level, expires := old.Level, old.ExpiresAt
	if cmd.Level.Set {
		level = cmd.Level.Value
	}
	if cmd.ExpiresAt.Set {
		expires = time.Time{}
		if !cmd.ExpiresAt.Value.IsZero() {
			expires = cmd.ExpiresAt.Value.UTC()
		}
	}
	if level == old.Level && expires.Equal(old.ExpiresAt) {
		return nil, nil
	}
	return []Event{InternalAccessModified{CaseID: c.ID, EvidenceID: cmd.EvidenceID, Principal: cmd.Principal,
		Level: level, ExpiresAt: expires}}, nil
}

func (c Case) removeAccess(cmd RemoveAccess) ([]Event, error) {
	const op = "remove access to case"
	if err := c.manageable(op, cmd.CaseID, cmd.EvidenceID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	// The permission before the lookup, as in modify.
	if err := c.mayManage(op, cmd.EvidenceID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	if _, on := c.list(cmd.EvidenceID).Find(cmd.Principal); !on {
		return nil, fmt.Errorf("%s %s: %s %s: %w", op, c.ID, cmd.Principal.Type, cmd.Principal.ID, ErrAccessEntryNotFound)
	}
	return []Event{InternalAccessRemoved{CaseID: c.ID, EvidenceID: cmd.EvidenceID, Principal: cmd.Principal}}, nil
}

func (c Case) recordExpiry(cmd RecordAccessExpiry) ([]Event, error) {
	if c.ID == uuid.Nil || c.ID != cmd.CaseID {
		return nil, fmt.Errorf("record access expiry on case %s: %w", cmd.CaseID, ErrCaseNotFound)
	}
	e, on := c.list(cmd.EvidenceID).Find(cmd.Principal)
	if !on || e.ExpiresAt.IsZero() || !e.ExpiresAt.Equal(cmd.ExpiresAt) || e.ActiveAt(cmd.Now) {
		return nil, nil // removed, changed or not yet due: nothing to record
	}
	return []Event{InternalAccessExpired{CaseID: c.ID, EvidenceID: cmd.EvidenceID, Principal: cmd.Principal,
		ExpiredAt: e.ExpiresAt}}, nil
}
