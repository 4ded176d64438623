package domain

import (
	"slices"
)

// AccessClass sets a case's or an evidence item's baseline visibility.
// The classes are ordered: unrestricted < restricted < confidential.
type AccessClass string

// The three access classes.
const (
	Unrestricted AccessClass = "unrestricted"
	Restricted   AccessClass = "restricted"
	Confidential AccessClass = "confidential"
)

// Valid reports whether c is one of the three classes.
func (c AccessClass) Valid() bool { return c.rank() > 0 }

// UnmarshalText decodes a class as JSON decodes any string, except that a
// known class is the constant itself rather than a copy: read models that
// hold a class per case and per entry hold no allocation for it.
func (c *AccessClass) UnmarshalText(b []byte) error {
	*c = canonical(b, Unrestricted, Restricted, Confidential)
	return nil
}

func (c AccessClass) rank() int {
	switch c {
	case Unrestricted:
		return 1
	case Restricted:
		return 2
	case Confidential:
		return 3
	}
	return 0
}

// Stricter returns the stricter of a and b.
func Stricter(a, b AccessClass) AccessClass {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// ListScope is a role's list permission for one class.
type ListScope string

// List scopes. The empty value means none, the most restrictive.
const (
	ListNone ListScope = "none" // no case of the class
	ListOwn  ListScope = "own"  // cases the user owns; evidence the user added
	ListAll  ListScope = "all"  // every case (or evidence item) of the class
)

// Allowance is a role's deny/allow permission. The empty value means deny.
type Allowance string

// Allowances.
const (
	Deny  Allowance = "deny"
	Allow Allowance = "allow"
)

// Action is a role permission for something other than listing and viewing.
type Action string

// The actions of design §4 and api.md.
const (
	ActionCreateCases   Action = "cases.create"
	ActionEditCases     Action = "cases.edit" // includes folders and removing evidence
	ActionAddEvidence   Action = "evidence.add"
	ActionManageAccess  Action = "cases.access.manage"
	ActionShare         Action = "cases.share"
	ActionClassicShare  Action = "cases.share.classic"
	ActionReceiveShares Action = "shares.receive"
	ActionReadAudit     Action = "audit.read"
	ActionAdminister    Action = "org.admin" // users, groups, roles, partnerships, policies
)

// AllActions returns every action, sorted.
func AllActions() []Action {
	return []Action{
		ActionReadAudit, ActionManageAccess, ActionCreateCases, ActionEditCases,
		ActionShare, ActionClassicShare, ActionAddEvidence, ActionAdminister,
		ActionReceiveShares,
	}
}

// Valid reports whether a is a known action.
func (a Action) Valid() bool { return slices.Contains(AllActions(), a) }

// ListByClass holds a list scope per access class.
type ListByClass struct {
	Unrestricted ListScope `json:"unrestricted,omitempty"`
	Restricted   ListScope `json:"restricted,omitempty"`
	Confidential ListScope `json:"confidential,omitempty"`
}

// For returns the scope for class c; an unset scope reads as ListNone.
func (l ListByClass) For(c AccessClass) ListScope {
	var s ListScope
	switch c {
	case Unrestricted:
		s = l.Unrestricted
	case Restricted:
		s = l.Restricted
	case Confidential:
		s = l.Confidential
	}
	if s == "" {
		return ListNone
	}
	return s
}

// AllowByClass holds an allowance per access class.
type AllowByClass struct {
	Unrestricted Allowance `json:"unrestricted,omitempty"`
	Restricted   Allowance `json:"restricted,omitempty"`
	Confidential Allowance `json:"confidential,omitempty"`
}

// For reports whether class c is allowed; unset reads as deny.
func (a AllowByClass) For(c AccessClass) bool {
	switch c {
	case Unrestricted:
		return a.Unrestricted == Allow
	case Restricted:
		return a.Restricted == Allow
	case Confidential:
		return a.Confidential == Allow
	}
	return false
}

// AllowByRestriction holds an allowance for each of the two restricting
// classes (applying or removing "unrestricted" is not a permission).
type AllowByRestriction struct {
	Restricted   Allowance `json:"restricted,omitempty"`
	Confidential Allowance `json:"confidential,omitempty"`
}

// For reports whether class c is allowed; unset, and unrestricted, read as deny.
func (a AllowByRestriction) For(c AccessClass) bool {
	switch c {
	case Restricted:
		return a.Restricted == Allow
	case Confidential:
		return a.Confidential == Allow
	}
	return false
}

// CasePermissions are a role's permissions on cases, per class.
type CasePermissions struct {
	List        ListByClass        `json:"list"`
	View        AllowByClass       `json:"view"`
	ApplyClass  AllowByRestriction `json:"applyClass"`
	RemoveClass AllowByRestriction `json:"removeClass"`
}

// EvidencePermissions are a role's permissions on evidence items, per class.
type EvidencePermissions struct {
	List       ListByClass        `json:"list"`
	View       AllowByClass       `json:"view"`
	ApplyClass AllowByRestriction `json:"applyClass"`
}

// Permissions is a role's permission set, in the JSON shape of api.md.
// Anything left out is the most restrictive value (none, deny, no action).
type Permissions struct {
	Cases    CasePermissions     `json:"cases"`
	Evidence EvidencePermissions `json:"evidence"`
	Actions  []Action            `json:"actions"`
}

// Has reports whether the permissions include action a.
func (p Permissions) Has(a Action) bool { return slices.Contains(p.Actions, a) }

// Equal reports whether p and q hold the same values and actions in the
// same order (compare Normalized values to ignore order and spelling).
func (p Permissions) Equal(q Permissions) bool {
	return p.Cases == q.Cases && p.Evidence == q.Evidence && slices.Equal(p.Actions, q.Actions)
}

// Validate returns an error wrapping ErrInvalidPermissions naming the first
// value outside its enumeration. Empty values are valid (most restrictive).
func (p Permissions) Validate() error {
	scopes := []struct {
		field string
		s     ListScope
	}{
		{"cases.list.unrestricted", p.Cases.List.Unrestricted},
		{"cases.list.restricted", p.Cases.List.Restricted},
		{"cases.list.confidential", p.Cases.List.Confidential},
		{"evidence.list.unrestricted", p.Evidence.List.Unrestricted},
		{"evidence.list.restricted", p.Evidence.List.Restricted},
		{"evidence.list.confidential", p.Evidence.List.Confidential},
	}
	for _, x := range scopes {
		if x.s != "" && x.s != ListNone && x.s != ListOwn && x.s != ListAll {
			return fieldErr("permissions."+x.field, ErrInvalidPermissions, "%q is not none, own or all", x.s)
		}
	}
	allows := []struct {
		field string
		a     Allowance
	}{
		{"cases.view.unrestricted", p.Cases.View.Unrestricted},
		{"cases.view.restricted", p.Cases.View.Restricted},
		{"cases.view.confidential", p.Cases.View.Confidential},
		{"cases.applyClass.restricted", p.Cases.ApplyClass.Restricted},
		{"cases.applyClass.confidential", p.Cases.ApplyClass.Confidential},
		{"cases.removeClass.restricted", p.Cases.RemoveClass.Restricted},
		{"cases.removeClass.confidential", p.Cases.RemoveClass.Confidential},
		{"evidence.view.unrestricted", p.Evidence.View.Unrestricted},
		{"evidence.view.restricted", p.Evidence.View.Restricted},
		{"evidence.view.confidential", p.Evidence.View.Confidential},
		{"evidence.applyClass.restricted", p.Evidence.ApplyClass.Restricted},
		{"evidence.applyClass.confidential", p.Evidence.ApplyClass.Confidential},
	}
	for _, x := range allows {
		if x.a != "" && x.a != Allow && x.a != Deny {
			return fieldErr("permissions."+x.field, ErrInvalidPermissions, "%q is not allow or deny", x.a)
		}
	}
	for _, a := range p.Actions {
		if !a.Valid() {
			return fieldErr("permissions.actions", ErrInvalidPermissions, "%q is not an action", a)
		}
	}
	return nil
}

// Normalized returns p with every unset value spelled out as its most
// restrictive value and the actions sorted without duplicates, so that a
// stored role reads the same however the request was written.
func (p Permissions) Normalized() Permissions {
	p.Cases.List = p.Cases.List.normalized()
	p.Cases.View = p.Cases.View.normalized()
	p.Cases.ApplyClass = p.Cases.ApplyClass.normalized()
	p.Cases.RemoveClass = p.Cases.RemoveClass.normalized()
	p.Evidence.List = p.Evidence.List.normalized()
	p.Evidence.View = p.Evidence.View.normalized()
	p.Evidence.ApplyClass = p.Evidence.ApplyClass.normalized()
	actions := slices.Clone(p.Actions)
	slices.Sort(actions)
	p.Actions = slices.Compact(actions)
	if p.Actions == nil {
		p.Actions = []Action{}
	}
	return p
}

func (l ListByClass) normalized() ListByClass {
	return ListByClass{l.For(Unrestricted), l.For(Restricted), l.For(Confidential)}
}

func (a AllowByClass) normalized() AllowByClass {
	return AllowByClass{allowance(a.For(Unrestricted)), allowance(a.For(Restricted)), allowance(a.For(Confidential))}
}

func (a AllowByRestriction) normalized() AllowByRestriction {
	return AllowByRestriction{allowance(a.For(Restricted)), allowance(a.For(Confidential))}
}

func allowance(b bool) Allowance {
	if b {
		return Allow
	}
	return Deny
}

// AdministratorPermissions returns the permissions of the built-in
// Administrator role: every list scope all, every allowance allow, every action.
func AdministratorPermissions() Permissions {
	all := ListByClass{ListAll, ListAll, ListAll}
	allow := AllowByClass{Allow, Allow, Allow}
	both := AllowByRestriction{Allow, Allow}
	return Permissions{
		Cases:    CasePermissions{List: all, View: allow, ApplyClass: both, RemoveClass: both},
		Evidence: EvidencePermissions{List: all, View: allow, ApplyClass: both},
		Actions:  AllActions(),
	}
}
