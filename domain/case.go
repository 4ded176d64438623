package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Case is the state of one case as rebuilt from its stream, case-<id>: what
// the access rules read about it and its evidence. The zero Case is a case
// that does not exist yet. Evolve never modifies the slices of the receiver,
// so older states stay valid.
type Case struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	Title       string
	Description string
	OwnerID     uuid.UUID
	AccessClass AccessClass
	Folders     []Folder
	Evidence    []EvidenceItem
	// Access is the case's internal access list.
	Access AccessList
}

// Folder is a folder of a case.
type Folder struct {
	ID   uuid.UUID
	Name string
}

// EvidenceItem is what a case knows about one of its evidence items.
type EvidenceItem struct {
	ID    uuid.UUID
	Title string
	// FolderID is the item's folder; uuid.Nil for the case's top level.
	FolderID    uuid.UUID
	AccessClass AccessClass
	AddedBy     uuid.UUID
	// Access is the item's own access list.
	Access AccessList
}

var _ State[Case] = Case{}

// Item returns the evidence item with id, if it is in the case.
func (c Case) Item(id uuid.UUID) (EvidenceItem, bool) {
	if i := c.itemIndex(id); i >= 0 {
		return c.Evidence[i], true
	}
	return EvidenceItem{}, false
}

func (c Case) itemIndex(id uuid.UUID) int {
	return slices.IndexFunc(c.Evidence, func(e EvidenceItem) bool { return e.ID == id })
}

// Evolve returns c with e applied.
func (c Case) Evolve(e Event) Case {
	switch e := e.(type) {
	case CaseCreated:
		return Case{ID: e.CaseID, OrgID: e.OrgID, Title: e.Title, Description: e.Description,
			OwnerID: e.OwnerID, AccessClass: e.AccessClass}
	case CaseTitleChanged:
		c.Title = e.Title
	case CaseDescriptionChanged:
		c.Description = e.Description
	case CaseOwnerChanged:
		c.OwnerID = e.OwnerID
	case FolderCreated:
		c.Folders = append(slices.Clip(c.Folders), Folder{ID: e.FolderID, Name: e.Name})
	case EvidenceAdded:
		c.Evidence = append(slices.Clip(c.Evidence), EvidenceItem{ID: e.EvidenceID, Title: e.Title,
			FolderID: e.FolderID, AccessClass: e.AccessClass, AddedBy: e.AddedBy})
	case EvidenceRemoved:
		if i := c.itemIndex(e.EvidenceID); i >= 0 {
			c.Evidence = slices.Delete(slices.Clone(c.Evidence), i, i+1)
		}
	case AccessClassApplied:
		c.AccessClass = e.AccessClass
		if len(e.Reclassified) > 0 {
			c.Evidence = slices.Clone(c.Evidence)
			for _, r := range e.Reclassified {
				if i := c.itemIndex(r.EvidenceID); i >= 0 {
					c.Evidence[i].AccessClass = r.To
				}
			}
		}
	case AccessClassRemoved:
		c.AccessClass = Unrestricted
	case InternalAccessGranted:
		c = c.withList(e.EvidenceID, func(l AccessList) AccessList {
			for _, en := range e.Entries {
				l = l.upsert(en)
			}
			return l
		})
	case InternalAccessModified:
		c = c.withList(e.EvidenceID, func(l AccessList) AccessList {
			return l.modify(e.Principal, e.Level, e.ExpiresAt)
		})
	case InternalAccessRemoved:
		c = c.withList(e.EvidenceID, func(l AccessList) AccessList { return l.remove(e.Principal) })
	case InternalAccessExpired:
		c = c.withList(e.EvidenceID, func(l AccessList) AccessList { return l.remove(e.Principal) })
	}
	return c
}

// withList returns c with the case's list (evidence uuid.Nil) or the item's
// list replaced by f of it. A missing item leaves c unchanged.
func (c Case) withList(evidence uuid.UUID, f func(AccessList) AccessList) Case {
	if evidence == uuid.Nil {
		c.Access = f(c.Access)
		return c
	}
	i := c.itemIndex(evidence)
	if i < 0 {
		return c
	}
	c.Evidence = slices.Clone(c.Evidence)
	c.Evidence[i].Access = f(c.Evidence[i].Access)
	return c
}

// list returns the case's list (evidence uuid.Nil) or the item's.
func (c Case) list(evidence uuid.UUID) AccessList {
	if evidence == uuid.Nil {
		return c.Access
	}
	item, _ := c.Item(evidence)
	return item.Access
}

// Decide returns the events cmd produces against c. See case_commands.go
// for what each command needs. Refusals are checked in this order: the case
// (and the evidence item named in the path) must be visible (NotFound), the
// input valid (Invalid), the action permitted (Forbidden), the state must
// allow it (Conflict).
func (c Case) Decide(cmd Command) ([]Event, error) {
	switch cmd := cmd.(type) {
	case CreateCase:
		return c.create(cmd)
	case EditCase:
		return c.edit(cmd)
	case CreateFolder:
		return c.createFolder(cmd)
	case AddEvidence:
		return c.addEvidence(cmd)
	case RemoveEvidence:
		return c.removeEvidence(cmd)
	case ChangeAccessClass:
		return c.changeClass(cmd)
	case GrantAccess:
		return c.grant(cmd)
	case ModifyAccess:
		return c.modify(cmd)
	case RemoveAccess:
		return c.removeAccess(cmd)
	case RecordAccessExpiry:
		return c.recordExpiry(cmd)
	}
	return nil, fmt.Errorf("case: unknown command %T: %w", cmd, ErrInvalidInput)
}

// visible returns ErrCaseNotFound unless c exists, is the case id and the
// actor may list it.
func (c Case) visible(op string, id uuid.UUID, actor Subject, now time.Time) error {
	if c.ID == uuid.Nil || c.ID != id || !CanList(actor, c, now) {
		return fmt.Errorf("%s %s: %w", op, id, ErrCaseNotFound)
	}
	return nil
}

// visibleItem returns ErrEvidenceNotFound unless item id is in c and the
// actor may list it, and ErrForbidden unless the actor may view it.
func (c Case) visibleItem(op string, id uuid.UUID, actor Subject, now time.Time) error {
	item, ok := c.Item(id)
	if !ok || !CanListEvidence(actor, c, item, now) {
		return fmt.Errorf("%s: evidence %s: %w", op, id, ErrEvidenceNotFound)
	}
	if !CanViewEvidence(actor, c, item, now) {
		return fmt.Errorf("%s: view evidence %s: %w", op, id, ErrForbidden)
	}
	return nil
}

// actsOnItem returns ErrForbidden unless the actor may act on item id of c
// (CanActOnEvidence): its access to the item must not come only from
// entries of level View, which are read-only. Call it after visibleItem and
// the action's own permission.
func (c Case) actsOnItem(op string, id uuid.UUID, actor Subject, now time.Time) error {
	if item, ok := c.Item(id); !ok || !CanActOnEvidence(actor, c, item, now) {
		return fmt.Errorf("%s: evidence %s: needs the role's evidence list and view for its class, "+
			"or an entry of level role (level view is read-only): %w", op, id, ErrForbidden)
	}
	return nil
}

func forbidden(op string, id uuid.UUID, needs string) error {
	return fmt.Errorf("%s %s: needs %s: %w", op, id, needs, ErrForbidden)
}

func (c Case) create(cmd CreateCase) ([]Event, error) {
	const op = "create case"
	class := cmd.AccessClass
	if class == "" {
		class = Unrestricted
	}
	title, errT := text("title", cmd.Title, true, MaxTitleLen, false)
	desc, errD := text("description", cmd.Description, false, MaxDescriptionLen, true)
	if err := firstErr(id("caseId", cmd.CaseID), errT, errD); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if !class.Valid() {
		return nil, fmt.Errorf("%s: %w", op, classErr(class))
	}
	owner := cmd.OwnerID
	if owner == uuid.Nil {
		owner = cmd.Actor.UserID
	} else if cmd.OwnerOrgID != cmd.Actor.OrgID {
		return nil, fmt.Errorf("%s: %w", op, ownerErr(owner))
	}
	if !CanCreateCase(cmd.Actor) {
		return nil, forbidden(op, cmd.CaseID, string(ActionCreateCases))
	}
	if class != Unrestricted && !classPermitted(cmd.Actor.Permissions, Unrestricted, class) {
		return nil, forbidden(op, cmd.CaseID, "cases.applyClass and evidence.applyClass "+string(class))
	}
	if c.ID != uuid.Nil {
		return nil, fmt.Errorf("%s %s: %w", op, cmd.CaseID, ErrCaseExists)
	}
	events := []Event{CaseCreated{CaseID: cmd.CaseID, OrgID: cmd.Actor.OrgID, Title: title,
		Description: desc, OwnerID: owner, AccessClass: class}}
	if class != Unrestricted {
		events = append(events, InternalAccessGranted{CaseID: cmd.CaseID, Entries: []AccessEntry{
			{Principal: UserPrincipal(cmd.Actor.UserID), Level: LevelRole, GrantedBy: cmd.Actor.UserID, GrantedAt: cmd.Now.UTC()},
		}})
	}
	return events, nil
}

func (c Case) edit(cmd EditCase) ([]Event, error) {
	const op = "edit case"
	if err := c.visible(op, cmd.CaseID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	var events []Event
	if cmd.Title.Set {
		title, err := text("title", cmd.Title.Value, true, MaxTitleLen, false)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, c.ID, err)
		}
		if title != c.Title {
			events = append(events, CaseTitleChanged{CaseID: c.ID, Title: title})
		}
	}
	if cmd.Description.Set {
		desc, err := text("description", cmd.Description.Value, false, MaxDescriptionLen, true)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, c.ID, err)
		}
		if desc != c.Description {
			events = append(events, CaseDescriptionChanged{CaseID: c.ID, Description: desc})
		}
	}
	if cmd.Owner.Set {
		if cmd.Owner.Value == uuid.Nil || cmd.OwnerOrgID != c.OrgID {
			return nil, fmt.Errorf("%s %s: %w", op, c.ID, ownerErr(cmd.Owner.Value))
		}
		if cmd.Owner.Value != c.OwnerID {
			events = append(events, CaseOwnerChanged{CaseID: c.ID, OwnerID: cmd.Owner.Value, PreviousOwnerID: c.OwnerID})
		}
	}
	if !CanEdit(cmd.Actor, c, cmd.Now) {
		return nil, forbidden(op, c.ID, string(ActionEditCases))
	}
	return events, nil
}

func (c Case) createFolder(cmd CreateFolder) ([]Event, error) {
	const op = "create folder in case"
	if err := c.visible(op, cmd.CaseID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	name, err := text("name", cmd.Name, true, MaxNameLen, false)
	if err = firstErr(id("folderId", cmd.FolderID), err); err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, c.ID, err)
	}
	if !CanEdit(cmd.Actor, c, cmd.Now) {
		return nil, forbidden(op, c.ID, string(ActionEditCases))
	}
	for _, f := range c.Folders {
		if f.ID == cmd.FolderID || strings.EqualFold(f.Name, name) {
			return nil, fmt.Errorf("%s %s: %q: %w", op, c.ID, name, ErrFolderExists)
		}
	}
	return []Event{FolderCreated{CaseID: c.ID, FolderID: cmd.FolderID, Name: name}}, nil
}

func (c Case) addEvidence(cmd AddEvidence) ([]Event, error) {
	const op = "add evidence to case"
	if err := c.visible(op, cmd.CaseID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	title, err := text("title", cmd.Title, true, MaxTitleLen, false)
	if err = firstErr(id("evidenceId", cmd.EvidenceID), err); err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, c.ID, err)
	}
	given := cmd.AccessClass
	if given != "" && !given.Valid() {
		return nil, fmt.Errorf("%s %s: %w", op, c.ID, classErr(given))
	}
	if cmd.FolderID != uuid.Nil && !slices.ContainsFunc(c.Folders, func(f Folder) bool { return f.ID == cmd.FolderID }) {
		return nil, fmt.Errorf("%s %s: %w", op, c.ID, fieldErr("folderId", ErrUnknownFolder, "%s is not a folder of this case", cmd.FolderID))
	}
	if !CanAddEvidence(cmd.Actor, c, cmd.Now) {
		return nil, forbidden(op, c.ID, string(ActionAddEvidence))
	}
	class := Stricter(c.AccessClass, given)
	if class != c.AccessClass && !cmd.Actor.Permissions.Evidence.ApplyClass.For(class) {
		return nil, forbidden(op, c.ID, "evidence.applyClass "+string(class))
	}
	if _, exists := c.Item(cmd.EvidenceID); exists {
		return nil, fmt.Errorf("%s %s: %s: %w", op, c.ID, cmd.EvidenceID, ErrEvidenceExists)
	}
	added := EvidenceAdded{CaseID: c.ID, EvidenceID: cmd.EvidenceID, Title: title,
		FolderID: cmd.FolderID, AccessClass: class, AddedBy: cmd.Actor.UserID}
	// The one who adds an item must be able to act on it afterwards (register
	// it and attach its content); otherwise the item would be orphaned.
	if after := c.Evolve(added); !CanActOnEvidence(cmd.Actor, after, after.Evidence[len(after.Evidence)-1], cmd.Now) {
		return nil, forbidden(op, c.ID, "evidence.list and evidence.view for "+string(class)+" evidence")
	}
	return []Event{added}, nil
}

func (c Case) removeEvidence(cmd RemoveEvidence) ([]Event, error) {
	const op = "remove evidence from case"
	if err := c.visible(op, cmd.CaseID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	if err := c.visibleItem(op, cmd.EvidenceID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	if !CanEdit(cmd.Actor, c, cmd.Now) {
		return nil, forbidden(op, c.ID, string(ActionEditCases))
	}
	if err := c.actsOnItem(op, cmd.EvidenceID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	return []Event{EvidenceRemoved{CaseID: c.ID, EvidenceID: cmd.EvidenceID}}, nil
}
