package projections

import (
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/google/uuid"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
)

// NotificationsName is the name of the Notifications projection.
const NotificationsName = "notifications"

// Notification kinds.
const (
	KindAccessGranted      = "access-granted"
	KindAccessModified     = "access-modified"
	KindAccessRemoved      = "access-removed"
	KindAccessExpired      = "access-expired"
	KindClassApplied       = "class-applied"
	KindRestrictionRemoved = "restriction-removed"
)

// Notification tells a user that its access to a case, or to one evidence
// item of it, changed.
type Notification struct {
	// ID is derived from the event and the user: the same in every rebuild.
	ID   uuid.UUID `json:"id"`
	Kind string    `json:"kind"`
	// CaseID is the case; EvidenceID the item whose own list changed, or
	// uuid.Nil for the case's list and for class changes.
	CaseID     uuid.UUID `json:"caseId"`
	EvidenceID uuid.UUID `json:"evidenceId,omitzero"`
	// At is when the event was recorded.
	At time.Time `json:"at"`
	// Principal is the entry the notification is about: the user itself,
	// or the group through which it reached the user.
	Principal domain.Principal `json:"principal,omitzero"`
	// Level and ExpiresAt are the entry's, on access-granted and
	// access-modified (a zero ExpiresAt: until removed); on access-expired
	// ExpiresAt is when the entry expired.
	Level     domain.AccessLevel `json:"level,omitempty"`
	ExpiresAt time.Time          `json:"expiresAt,omitzero"`
	// AccessClass and PreviousClass are the case's new and former class on
	// class-applied and restriction-removed.
	AccessClass   domain.AccessClass `json:"accessClass,omitempty"`
	PreviousClass domain.AccessClass `json:"previousClass,omitempty"`
	// ActorName is the display name, as it was then, of who caused it
	// (empty for the system, e.g. an expiry).
	ActorName string `json:"actorName,omitempty"`
}

// Notifications is the read model of every user's inbox. A group principal
// notifies the users who are its members as of the event (membership is
// folded here from group events, in log order). The user who caused an
// event is not notified of it.
//
// An inbox holds its notifications as storedNotifications, which hold no
// pointer: the garbage collector never reads an inbox, however long, where
// Notifications (with their strings and times) were a third of the bytes
// it scanned in the read models under the command load
// (BenchmarkReadModelsHeap).
type Notifications struct {
	inbox  map[uuid.UUID][]storedNotification // oldest first; only ever appended to
	groups map[uuid.UUID]domain.Group
	// strs holds each string an inbox refers to (kinds, principal types,
	// levels, classes and actor names).
	strs strtab
}

// storedNotification is a Notification without pointers: its strings are
// indexes into Notifications.strs.
type storedNotification struct {
	id, caseID, evidenceID, principal uuid.UUID
	at, expiresAt                     instant
	kind, principalType, level        uint32
	class, previousClass, actorName   uint32
}

var _ Projection = (*Notifications)(nil)

// NewNotifications returns an empty Notifications. As a Factory:
// func() Projection { return NewNotifications() }.
func NewNotifications() *Notifications {
	return &Notifications{inbox: map[uuid.UUID][]storedNotification{}, groups: map[uuid.UUID]domain.Group{},
		strs: newStrtab()}
}

// Name returns "notifications".
func (n *Notifications) Name() string { return NotificationsName }

// Version returns 1.
func (n *Notifications) Version() int { return 1 }

// Apply turns access-list and class-change events into notifications and
// follows group membership.
func (n *Notifications) Apply(env eventstore.Envelope, e domain.Event) error {
	switch e := e.(type) {
	case domain.GroupCreated:
		n.groups[e.GroupID] = domain.Group{}.Evolve(e)
	case domain.GroupMemberAdded:
		n.groups[e.GroupID] = n.groups[e.GroupID].Evolve(e)
	case domain.GroupMemberRemoved:
		n.groups[e.GroupID] = n.groups[e.GroupID].Evolve(e)

	case domain.InternalAccessGranted:
		var out outbox
		for _, en := range e.Entries {
			out.add(n, en.Principal, Notification{Kind: KindAccessGranted, Level: en.Level, ExpiresAt: en.ExpiresAt})
		}
		n.deliver(env, e.CaseID, e.EvidenceID, out)
	case domain.InternalAccessModified:
		var out outbox
		out.add(n, e.Principal, Notification{Kind: KindAccessModified, Level: e.Level, ExpiresAt: e.ExpiresAt})
		n.deliver(env, e.CaseID, e.EvidenceID, out)
	case domain.InternalAccessRemoved:
		var out outbox
		out.add(n, e.Principal, Notification{Kind: KindAccessRemoved})
		n.deliver(env, e.CaseID, e.EvidenceID, out)
	case domain.InternalAccessExpired:
		var out outbox
		out.add(n, e.Principal, Notification{Kind: KindAccessExpired, ExpiresAt: e.ExpiredAt})
		n.deliver(env, e.CaseID, e.EvidenceID, out)
	case domain.AccessClassApplied:
		var out outbox
		for _, p := range e.Notify {
			out.add(n, p, Notification{Kind: KindClassApplied, AccessClass: e.AccessClass, PreviousClass: e.PreviousClass})
		}
		n.deliver(env, e.CaseID, uuid.Nil, out)
	case domain.AccessClassRemoved:
		var out outbox
		for _, p := range e.Notify {
			out.add(n, p, Notification{Kind: KindRestrictionRemoved, AccessClass: domain.Unrestricted, PreviousClass: e.PreviousClass})
		}
		n.deliver(env, e.CaseID, uuid.Nil, out)
	}
	return nil
}

// outbox collects one event's notifications, one per user: a user's own
// entry wins over a group's, and otherwise the first principal that reached
// the user. Most events notify one user or a few: it searches its slice,
// and builds an index only past linearOutbox users.
type outbox struct {
	users []uuid.UUID
	items []Notification // items[i] is for users[i]
	index map[uuid.UUID]int
}

const linearOutbox = 16

func (o *outbox) add(n *Notifications, p domain.Principal, tmpl Notification) {
	tmpl.Principal = p
	switch p.Type {
	case domain.PrincipalUser:
		o.put(p.ID, true, tmpl)
	case domain.PrincipalGroup:
		for _, m := range n.groups[p.ID].Members {
			o.put(m, false, tmpl)
		}
	}
}

func (o *outbox) put(user uuid.UUID, direct bool, tmpl Notification) {
	if i, seen := o.find(user); seen {
		if direct && o.items[i].Principal.Type != domain.PrincipalUser {
			o.items[i] = tmpl
		}
		return
	}
	o.users = append(o.users, user)
	o.items = append(o.items, tmpl)
	switch {
	case o.index != nil:
		o.index[user] = len(o.users) - 1
	case len(o.users) > linearOutbox:
		o.index = make(map[uuid.UUID]int, 2*len(o.users))
		for i, u := range o.users {
			o.index[u] = i
		}
	}
}

func (o *outbox) find(user uuid.UUID) (int, bool) {
	if o.index != nil {
		i, ok := o.index[user]
		return i, ok
	}
	for i, u := range o.users {
		if u == user {
			return i, true
		}
	}
	return 0, false
}

func (n *Notifications) deliver(env eventstore.Envelope, caseID, evidenceID uuid.UUID, out outbox) {
	for i, user := range out.users {
		if env.Actor.Kind == eventstore.ActorUser && env.Actor.UserID == user.String() {
			continue // the actor knows what it did
		}
		x := out.items[i]
		stored := storedNotification{
			id: uuid.NewSHA1(env.ID, user[:]), caseID: caseID, evidenceID: evidenceID, principal: x.Principal.ID,
			at: instantOf(env.RecordedAt), expiresAt: instantOf(x.ExpiresAt),
			kind: n.strs.id(x.Kind), principalType: n.strs.id(string(x.Principal.Type)), level: n.strs.id(string(x.Level)),
			class: n.strs.id(string(x.AccessClass)), previousClass: n.strs.id(string(x.PreviousClass)),
		}
		if env.Actor.Kind != eventstore.ActorSystem {
			stored.actorName = n.strs.id(env.Actor.Name)
		}
		n.inbox[user] = append(n.inbox[user], stored)
	}
}

// notification returns x as the API shows it.
func (n *Notifications) notification(x storedNotification) Notification {
	return Notification{
		ID: x.id, Kind: n.strs.str(x.kind), CaseID: x.caseID, EvidenceID: x.evidenceID, At: x.at.time(),
		Principal: domain.Principal{Type: domain.PrincipalType(n.strs.str(x.principalType)), ID: x.principal},
		Level:     domain.AccessLevel(n.strs.str(x.level)), ExpiresAt: x.expiresAt.time(),
		AccessClass: domain.AccessClass(n.strs.str(x.class)), PreviousClass: domain.AccessClass(n.strs.str(x.previousClass)),
		ActorName: n.strs.str(x.actorName),
	}
}

// For returns a page of user's notifications, newest first, at most limit
// of them (DefaultLimit when not positive, at most MaxLimit), and the cursor
// of the next page (empty on the last). The cursor stays valid while new
// notifications arrive; one this inbox did not make is ErrInvalidCursor.
func (n *Notifications) For(user uuid.UUID, cursor string, limit int) ([]Notification, string, error) {
	inbox := n.inbox[user]
	end := len(inbox) // items below end are yet to be shown
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) != 8 || binary.BigEndian.Uint64(raw) > uint64(len(inbox)) {
			return nil, "", ErrInvalidCursor
		}
		end = int(binary.BigEndian.Uint64(raw))
	}
	limit = limitOf(limit)
	items := make([]Notification, 0, min(limit, end))
	for i := end - 1; i >= 0 && len(items) < limit; i-- {
		items = append(items, n.notification(inbox[i]))
	}
	next := ""
	if start := end - len(items); start > 0 {
		next = base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(start)))
	}
	return items, next, nil
}
