package projections

import (
	"cmp"
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
type Expiry struct {
	// items holds the evidence items in their cases, as {case, item}: the
	// items whose lists may hold entries. (A set without pointers, which
	// the garbage collector does not scan: most items never have a list.)
	items map[[2]uuid.UUID]struct{}
	// lists holds, per case, per list with entries (uuid.Nil: the case's
	// own), the expiry of every entry on it (zero: until removed).
	lists map[uuid.UUID]map[uuid.UUID]map[domain.Principal]time.Time
	// pending holds the entries with an expiry, sorted by compareDue.
	pending []DueExpiry
}

var _ Projection = (*Expiry)(nil)

// NewExpiry returns an empty Expiry. As a Factory:
// func() Projection { return NewExpiry() }.
func NewExpiry() *Expiry {
	return &Expiry{items: map[[2]uuid.UUID]struct{}{}, lists: map[uuid.UUID]map[uuid.UUID]map[domain.Principal]time.Time{}}
}

// Name returns "expiry".
func (x *Expiry) Name() string { return ExpiryName }

// Version returns 1.
func (x *Expiry) Version() int { return 1 }

// Apply follows the access lists of cases and their evidence items.
func (x *Expiry) Apply(_ eventstore.Envelope, e domain.Event) error {
	switch e := e.(type) {
	case domain.EvidenceAdded:
		x.items[[2]uuid.UUID{e.CaseID, e.EvidenceID}] = struct{}{}
	case domain.EvidenceRemoved:
		for p := range x.list(e.CaseID, e.EvidenceID, false) {
			x.set(e.CaseID, e.EvidenceID, p, time.Time{}, false)
		}
		delete(x.lists[e.CaseID], e.EvidenceID)
		delete(x.items, [2]uuid.UUID{e.CaseID, e.EvidenceID})
	case domain.InternalAccessGranted:
		if _, in := x.items[[2]uuid.UUID{e.CaseID, e.EvidenceID}]; e.EvidenceID != uuid.Nil && !in {
			return nil // an item not in the case: Evolve ignores it too
		}
		x.list(e.CaseID, e.EvidenceID, true)
		for _, en := range e.Entries {
			x.set(e.CaseID, e.EvidenceID, en.Principal, en.ExpiresAt, true)
		}
	case domain.InternalAccessModified:
		if _, on := x.list(e.CaseID, e.EvidenceID, false)[e.Principal]; on {
			x.set(e.CaseID, e.EvidenceID, e.Principal, e.ExpiresAt, true)
		}
	case domain.InternalAccessRemoved:
		x.set(e.CaseID, e.EvidenceID, e.Principal, time.Time{}, false)
	case domain.InternalAccessExpired:
		x.set(e.CaseID, e.EvidenceID, e.Principal, time.Time{}, false)
	}
	return nil
}

// list returns the entries of a case's list (evidence uuid.Nil) or of an
// item's, creating it when create is set; nil if there is none.
func (x *Expiry) list(caseID, evidence uuid.UUID, create bool) map[domain.Principal]time.Time {
	byList := x.lists[caseID]
	if byList == nil {
		if !create {
			return nil
		}
		byList = map[uuid.UUID]map[domain.Principal]time.Time{}
		x.lists[caseID] = byList
	}
	l := byList[evidence]
	if l == nil && create {
		l = map[domain.Principal]time.Time{}
		byList[evidence] = l
	}
	return l
}

// set puts p on the list with expiry expires (on true), or takes it off,
// keeping pending in step. The list must exist when on is true.
func (x *Expiry) set(caseID, evidence uuid.UUID, p domain.Principal, expires time.Time, on bool) {
	l := x.list(caseID, evidence, false)
	if old, was := l[p]; was && !old.IsZero() {
		d := DueExpiry{CaseID: caseID, EvidenceID: evidence, Principal: p, ExpiresAt: old}
		if i, found := slices.BinarySearchFunc(x.pending, d, compareDue); found {
			x.pending = slices.Delete(x.pending, i, i+1)
		}
	}
	if !on {
		delete(l, p)
		return
	}
	l[p] = expires
	if !expires.IsZero() {
		d := DueExpiry{CaseID: caseID, EvidenceID: evidence, Principal: p, ExpiresAt: expires}
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
