package projections

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
)

// ExpiryName is the name of the Expiry projection.
const ExpiryName = "expiry"

// DueExpiry is an access-list entry with an expiry that is still on its
// list: what the expiry reactor records (domain.RecordAccessExpiry) once
// ExpiresAt has passed.
type DueExpiry struct {
	CaseID uuid.UUID
	// EvidenceID is the item whose own list holds the entry; uuid.Nil for
	// the case's list.
	EvidenceID uuid.UUID
	Principal  domain.Principal
	ExpiresAt  time.Time
}

// compareDue orders by ExpiresAt, then case, evidence and principal.
func compareDue(a, b DueExpiry) int {
	return cmp.Or(a.ExpiresAt.Compare(b.ExpiresAt),
		compareUUID(a.CaseID, b.CaseID), compareUUID(a.EvidenceID, b.EvidenceID),
		strings.Compare(string(a.Principal.Type), string(b.Principal.Type)),
		compareUUID(a.Principal.ID, b.Principal.ID))
}

// Expiry is the read model of the access-list entries that have an expiry
// and are still on a list (case lists and evidence lists), following the
// lists as domain.Case.Evolve does: an entry leaves when it is removed, when
// its expiry is recorded, when a modification drops its expiry, or with its
// evidence item.
//
// It holds every entry on every list, most of them until removed, in one
// map without pointers: the garbage collector marks it without reading it
// (a pointer-free map is never scanned). Maps keyed by domain.Principal (a
// string) with time.Time values (a *Location) were a fifth of the server's
// live heap under load, and a map per list two heap objects a case.
type Expiry struct {
	// items holds the evidence items in their cases: the items whose lists
	// may hold entries. Most items never have a list.
	items map[listKey]struct{}
	// entries holds every entry on every list with its expiry (unset: until
	// removed).
	entries map[listEntry]instant
	// itemEntries holds, per item list with entries, its entries: what an
	// item's removal takes off (case lists are never dropped whole).
	itemEntries map[listKey][]entryKey
	// pending holds the entries with an expiry, sorted by compareDue.
	pending []DueExpiry
}

// listKey names a list: a case's own (evidence uuid.Nil) or an item's.
type listKey struct{ caseID, evidence uuid.UUID }

// entryKey is a domain.Principal without its type's string.
type entryKey struct {
	group bool
	id    uuid.UUID
}

// listEntry is an entry on a list.
type listEntry struct {
	list  listKey
	entry entryKey
}

func keyOf(p domain.Principal) entryKey {
	return entryKey{group: p.Type == domain.PrincipalGroup, id: p.ID}
}

func (k entryKey) principal() domain.Principal {
	if k.group {
		return domain.GroupPrincipal(k.id)
	}
	return domain.UserPrincipal(k.id)
}

var _ Projection = (*Expiry)(nil)

// NewExpiry returns an empty Expiry. As a Factory:
// func() Projection { return NewExpiry() }.
func NewExpiry() *Expiry {
	return &Expiry{items: map[listKey]struct{}{}, entries: map[listEntry]instant{},
		itemEntries: map[listKey][]entryKey{}}
}

// Name returns "expiry".
func (x *Expiry) Name() string { return ExpiryName }

// Version returns 1.
func (x *Expiry) Version() int { return 1 }

// Apply follows the access lists of cases and their evidence items. A grant
// to a principal that is neither a user nor a group (which no command
// records) stops it, as its key could not tell that principal apart; such a
// principal is on no list, so its modification or removal changes nothing.
func (x *Expiry) Apply(_ eventstore.Envelope, e domain.Event) error {
	switch e := e.(type) {
	case domain.EvidenceAdded:
		x.items[listKey{e.CaseID, e.EvidenceID}] = struct{}{}
	case domain.EvidenceRemoved:
		l := listKey{e.CaseID, e.EvidenceID}
		for _, k := range slices.Clone(x.itemEntries[l]) {
			x.set(l, k, time.Time{}, false) // the last one drops the list
		}
		delete(x.items, l)
	case domain.InternalAccessGranted:
		l := listKey{e.CaseID, e.EvidenceID}
		if _, in := x.items[l]; e.EvidenceID != uuid.Nil && !in {
			return nil // an item not in the case: Evolve ignores it too
		}
		for _, en := range e.Entries {
			if err := checkPrincipal(en.Principal); err != nil {
				return err
			}
		}
		for _, en := range e.Entries {
			x.set(l, keyOf(en.Principal), en.ExpiresAt, true)
		}
	case domain.InternalAccessModified:
		l := listKey{e.CaseID, e.EvidenceID}
		if _, on := x.entries[listEntry{l, keyOf(e.Principal)}]; on && checkPrincipal(e.Principal) == nil {
			x.set(l, keyOf(e.Principal), e.ExpiresAt, true)
		}
	case domain.InternalAccessRemoved:
		x.remove(listKey{e.CaseID, e.EvidenceID}, e.Principal)
	case domain.InternalAccessExpired:
		x.remove(listKey{e.CaseID, e.EvidenceID}, e.Principal)
	}
	return nil
}

func checkPrincipal(p domain.Principal) error {
	if p.Type != domain.PrincipalUser && p.Type != domain.PrincipalGroup {
		return fmt.Errorf("principal type %q is neither a user nor a group", p.Type)
	}
	return nil
}

// remove takes p off list l, if it is on it (as that type).
func (x *Expiry) remove(l listKey, p domain.Principal) {
	if checkPrincipal(p) == nil {
		x.set(l, keyOf(p), time.Time{}, false)
	}
}

// set puts k on list l with expiry expires (on true), or takes it off,
// keeping pending and itemEntries in step. An item's list is made by its
// first entry and dropped with its last.
func (x *Expiry) set(l listKey, k entryKey, expires time.Time, on bool) {
	key := listEntry{l, k}
	old, was := x.entries[key]
	if was && old.set {
		d := DueExpiry{CaseID: l.caseID, EvidenceID: l.evidence, Principal: k.principal(), ExpiresAt: old.time()}
		if i, found := slices.BinarySearchFunc(x.pending, d, compareDue); found {
			x.pending = slices.Delete(x.pending, i, i+1)
		}
	}
	onItem := l.evidence != uuid.Nil
	if !on {
		delete(x.entries, key)
		if was && onItem {
			list := slices.DeleteFunc(x.itemEntries[l], func(e entryKey) bool { return e == k })
			if len(list) == 0 {
				delete(x.itemEntries, l)
			} else {
				x.itemEntries[l] = list
			}
		}
		return
	}
	if !was && onItem {
		x.itemEntries[l] = append(x.itemEntries[l], k)
	}
	x.entries[key] = instantOf(expires)
	if !expires.IsZero() {
		d := DueExpiry{CaseID: l.caseID, EvidenceID: l.evidence, Principal: k.principal(), ExpiresAt: expires}
		i, _ := slices.BinarySearchFunc(x.pending, d, compareDue)
		x.pending = slices.Insert(x.pending, i, d)
	}
}

// Due returns the entries whose expiry is at or before now (they grant
// nothing any more) and whose expiry is not recorded yet, earliest first.
func (x *Expiry) Due(now time.Time) []DueExpiry {
	n, _ := slices.BinarySearchFunc(x.pending, now, func(d DueExpiry, now time.Time) int {
		if d.ExpiresAt.After(now) {
			return 1
		}
		return -1
	})
	return slices.Clone(x.pending[:n])
}

// Next returns the earliest expiry still pending, due or not.
func (x *Expiry) Next() (time.Time, bool) {
	if len(x.pending) == 0 {
		return time.Time{}, false
	}
	return x.pending[0].ExpiresAt, true
}

// NextAfter returns the earliest pending expiry after t.
func (x *Expiry) NextAfter(t time.Time) (time.Time, bool) {
	i, _ := slices.BinarySearchFunc(x.pending, t, func(d DueExpiry, t time.Time) int {
		if d.ExpiresAt.After(t) {
			return 1
		}
		return -1
	})
	if i == len(x.pending) {
		return time.Time{}, false
	}
	return x.pending[i].ExpiresAt, true
}
