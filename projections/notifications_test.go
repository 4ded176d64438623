package projections_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

// notificationsWorld: carol's restricted case k with ann (View, for an
// hour) and the group detectives (bob, ann; Role) on its list; then zed
// joins the group, ann's entry is modified, the administrator makes the case
// confidential and then unrestricted, carol takes the group off the list,
// adds evidence and puts bob on its list, and ann's entry expires.
type notificationsWorld struct {
	*casesWorld
	inbox *projections.Notifications
	k, ev uuid.UUID
	times map[string]time.Time
}

func newNotificationsWorld(t *testing.T) *notificationsWorld {
	n := &notificationsWorld{inbox: projections.NewNotifications(), times: map[string]time.Time{}}
	n.casesWorld = newCasesWorld(t, n.inbox)
	n.join(n.admin, n.detectives, n.bob)
	n.k = n.newCase(n.carol, "Homicide on Oak Ave", "", domain.Restricted)
	n.tick()
	n.times["granted"] = n.now
	n.grant(n.carol, n.k, uuid.Nil, domain.LevelView, n.now.Add(time.Hour), domain.UserPrincipal(n.ann))
	n.grant(n.carol, n.k, uuid.Nil, domain.LevelRole, time.Time{}, domain.GroupPrincipal(n.detectives))
	n.join(n.admin, n.detectives, n.zed)
	n.tick()
	n.times["modified"] = n.now
	n.modify(n.carol, n.k, uuid.Nil, domain.UserPrincipal(n.ann), domain.LevelRole, n.now.Add(time.Hour))
	n.tick()
	n.times["applied"] = n.now
	n.setClass(n.admin, n.k, domain.Confidential)
	n.tick()
	n.times["lifted"] = n.now
	n.setClass(n.admin, n.k, domain.Unrestricted)
	n.tick()
	n.times["removed"] = n.now
	n.revoke(n.carol, n.k, uuid.Nil, domain.GroupPrincipal(n.detectives))
	n.ev = n.addEvidence(n.carol, n.k, "Knife")
	n.tick()
	n.times["evidence"] = n.now
	n.grant(n.carol, n.k, n.ev, domain.LevelView, time.Time{}, domain.UserPrincipal(n.bob))
	n.now = n.now.Add(2 * time.Hour)
	n.times["expired"] = n.now
	n.expire(n.k, uuid.Nil, domain.UserPrincipal(n.ann), n.times["modified"].Add(time.Hour))
	return n
}

// brief keeps what a test compares of a notification.
type brief struct {
	Kind          string
	EvidenceID    uuid.UUID
	At            time.Time
	Principal     domain.Principal
	Level         domain.AccessLevel
	ExpiresAt     time.Time
	AccessClass   domain.AccessClass
	PreviousClass domain.AccessClass
	ActorName     string
}

func briefs(items []projections.Notification) []brief {
	out := []brief{}
	for _, n := range items {
		out = append(out, brief{n.Kind, n.EvidenceID, n.At, n.Principal, n.Level, n.ExpiresAt, n.AccessClass, n.PreviousClass, n.ActorName})
	}
	return out
}

func TestNotifications(t *testing.T) {
	n := newNotificationsWorld(t)
	ann, bob, zed := domain.UserPrincipal(n.ann), domain.UserPrincipal(n.bob), domain.GroupPrincipal(n.detectives)
	group := zed
	tests := []struct {
		name string
		user uuid.UUID
		want []brief
	}{
		{"ann: granted directly and through the group, modified, class changes (once each), group removed, expired", n.ann, []brief{
			{Kind: projections.KindAccessExpired, At: n.times["expired"], Principal: ann, ExpiresAt: n.times["modified"].Add(time.Hour)},
			{Kind: projections.KindAccessRemoved, At: n.times["removed"], Principal: group, ActorName: "Carol"},
			{Kind: projections.KindRestrictionRemoved, At: n.times["lifted"], Principal: ann, AccessClass: domain.Unrestricted, PreviousClass: domain.Confidential, ActorName: "Metro Police Admin"},
			{Kind: projections.KindClassApplied, At: n.times["applied"], Principal: ann, AccessClass: domain.Confidential, PreviousClass: domain.Restricted, ActorName: "Metro Police Admin"},
			{Kind: projections.KindAccessModified, At: n.times["modified"], Principal: ann, Level: domain.LevelRole, ExpiresAt: n.times["modified"].Add(time.Hour), ActorName: "Carol"},
			{Kind: projections.KindAccessGranted, At: n.times["granted"], Principal: group, Level: domain.LevelRole, ActorName: "Carol"},
			{Kind: projections.KindAccessGranted, At: n.times["granted"], Principal: ann, Level: domain.LevelView, ExpiresAt: n.times["granted"].Add(time.Hour), ActorName: "Carol"},
		}},
		{"bob: through the group, then on the evidence list", n.bob, []brief{
			{Kind: projections.KindAccessGranted, EvidenceID: n.ev, At: n.times["evidence"], Principal: bob, Level: domain.LevelView, ActorName: "Carol"},
			{Kind: projections.KindAccessRemoved, At: n.times["removed"], Principal: group, ActorName: "Carol"},
			{Kind: projections.KindRestrictionRemoved, At: n.times["lifted"], Principal: group, AccessClass: domain.Unrestricted, PreviousClass: domain.Confidential, ActorName: "Metro Police Admin"},
			{Kind: projections.KindClassApplied, At: n.times["applied"], Principal: group, AccessClass: domain.Confidential, PreviousClass: domain.Restricted, ActorName: "Metro Police Admin"},
			{Kind: projections.KindAccessGranted, At: n.times["granted"], Principal: group, Level: domain.LevelRole, ActorName: "Carol"},
		}},
		{"zed: only what happened after joining the group", n.zed, []brief{
			{Kind: projections.KindAccessRemoved, At: n.times["removed"], Principal: group, ActorName: "Carol"},
			{Kind: projections.KindRestrictionRemoved, At: n.times["lifted"], Principal: group, AccessClass: domain.Unrestricted, PreviousClass: domain.Confidential, ActorName: "Metro Police Admin"},
			{Kind: projections.KindClassApplied, At: n.times["applied"], Principal: group, AccessClass: domain.Confidential, PreviousClass: domain.Restricted, ActorName: "Metro Police Admin"},
		}},
		{"carol: told of the class changes the administrator made, not of her own acts", n.carol, []brief{
			{Kind: projections.KindRestrictionRemoved, At: n.times["lifted"], Principal: domain.UserPrincipal(n.carol), AccessClass: domain.Unrestricted, PreviousClass: domain.Confidential, ActorName: "Metro Police Admin"},
			{Kind: projections.KindClassApplied, At: n.times["applied"], Principal: domain.UserPrincipal(n.carol), AccessClass: domain.Confidential, PreviousClass: domain.Restricted, ActorName: "Metro Police Admin"},
		}},
		{"the administrator: added to the list by its own class change, not told", n.admin, []brief{}},
		{"a stranger", n.countyAdmin, []brief{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, next, err := n.inbox.For(tt.user, "", 0)
			require.NoError(t, err)
			assert.Equal(t, tt.want, briefs(items))
			assert.Empty(t, next)
			for _, item := range items {
				assert.Equal(t, n.k, item.CaseID)
			}
		})
	}
}

func TestNotificationsPagesAndIDs(t *testing.T) {
	n := newNotificationsWorld(t)
	all, _, err := n.inbox.For(n.ann, "", 0)
	require.NoError(t, err)
	require.Len(t, all, 7)
	ids := map[uuid.UUID]bool{}
	for _, item := range all {
		ids[item.ID] = true
	}
	assert.Len(t, ids, 7, "ids are unique")

	page, next, err := n.inbox.For(n.ann, "", 3)
	require.NoError(t, err)
	assert.Equal(t, all[:3], page)
	require.NotEmpty(t, next)

	n.grant(n.carol, n.k, n.ev, domain.LevelView, time.Time{}, domain.UserPrincipal(n.ann))
	page, next, err = n.inbox.For(n.ann, next, 3)
	require.NoError(t, err)
	assert.Equal(t, all[3:6], page, "a new notification does not move the cursor")
	page, next, err = n.inbox.For(n.ann, next, 3)
	require.NoError(t, err)
	assert.Equal(t, all[6:], page)
	assert.Empty(t, next)

	newest, _, err := n.inbox.For(n.ann, "", 1)
	require.NoError(t, err)
	assert.Equal(t, projections.KindAccessGranted, newest[0].Kind)
	assert.Equal(t, n.ev, newest[0].EvidenceID)

	for _, bad := range []string{"!", "AAAA"} {
		_, _, err = n.inbox.For(n.ann, bad, 0)
		assert.ErrorIs(t, err, projections.ErrInvalidCursor, bad)
	}
	_, beyond, err := n.inbox.For(n.ann, "", 1)
	require.NoError(t, err)
	_, _, err = n.inbox.For(n.zed, beyond, 0)
	assert.ErrorIs(t, err, projections.ErrInvalidCursor, "a cursor beyond zed's inbox")
}

// TestNotificationsOnTheRunner: the inboxes rebuilt from the store are the
// same, ids included.
func TestNotificationsOnTheRunner(t *testing.T) {
	store := openStore(t)
	n := newNotificationsWorld(t)
	n.appendTo(store)
	want, _, err := n.inbox.For(n.bob, "", 0)
	require.NoError(t, err)
	r := live(t, store, func() projections.Projection { return projections.NewNotifications() })
	view(t, r, projections.NotificationsName, func(inbox *projections.Notifications) {
		got, _, err := inbox.For(n.bob, "", 0)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
}

// TestNotificationsOnePerUserPerEvent: a user reached by several entries of
// one event is told once, through its own entry if it has one.
func TestNotificationsOnePerUserPerEvent(t *testing.T) {
	n := &notificationsWorld{inbox: projections.NewNotifications()}
	n.casesWorld = newCasesWorld(t, n.inbox)
	n.join(n.admin, n.detectives, n.bob)
	k := n.newCase(n.carol, "Fraud ring", "", domain.Unrestricted)
	n.grant(n.carol, k, uuid.Nil, domain.LevelRole, time.Time{}, domain.GroupPrincipal(n.detectives), domain.UserPrincipal(n.ann))
	n.setClass(n.admin, k, domain.Restricted)

	items, _, err := n.inbox.For(n.ann, "", 0)
	require.NoError(t, err)
	require.Len(t, items, 2)
	for _, item := range items {
		assert.Equal(t, domain.UserPrincipal(n.ann), item.Principal, item.Kind)
	}
	items, _, err = n.inbox.For(n.bob, "", 0)
	require.NoError(t, err)
	require.Len(t, items, 2)
	assert.Equal(t, domain.GroupPrincipal(n.detectives), items[1].Principal)
}

// TestNotificationsKeepNoEventEncoding: an envelope read from the log
// shares the memory of its whole encoding (eventstore.DecodeCanonical); a
// notification keeps its actor's name in a copy of its own, or every
// notified event's encoding would stay in memory with it.
func TestNotificationsKeepNoEventEncoding(t *testing.T) {
	inbox := projections.NewNotifications()
	k, ann := id("case"), id("ann")
	var names []string
	for i := range 2 {
		b := eventstore.Envelope{ID: uuid.New(), Stream: domain.CaseStream(k), Type: "InternalAccessGranted",
			SchemaVersion: 1, RecordedAt: time.Unix(int64(i), 0).UTC(),
			Actor: eventstore.Actor{Kind: eventstore.ActorUser, UserID: id("carol").String(), Name: "Carol"},
			Data:  []byte(`{}`)}.Canonical()
		env, err := eventstore.DecodeCanonical(b)
		require.NoError(t, err)
		require.NoError(t, inbox.Apply(env, domain.InternalAccessGranted{CaseID: k,
			Entries: []domain.AccessEntry{{Principal: domain.UserPrincipal(ann), Level: domain.LevelView}}}))
		items, _, err := inbox.For(ann, "", 0)
		require.NoError(t, err)
		name := items[0].ActorName
		require.Equal(t, "Carol", name)
		start := uintptr(unsafe.Pointer(&b[0]))
		at := uintptr(unsafe.Pointer(unsafe.StringData(name)))
		assert.False(t, at >= start && at < start+uintptr(len(b)), "the name is not inside the event's encoding")
		runtime.KeepAlive(b)
		names = append(names, name)
	}
	assert.Equal(t, unsafe.StringData(names[0]), unsafe.StringData(names[1]), "one copy of a name for every notification")
}

// TestNotificationsOnePerUserInALargeGroup: past the outbox's linear search
// (its index), still one notification per user, the user's own entry
// winning over the group's wherever it comes in the event.
func TestNotificationsOnePerUserInALargeGroup(t *testing.T) {
	n := &notificationsWorld{inbox: projections.NewNotifications()}
	n.casesWorld = newCasesWorld(t, n.inbox)
	squad := n.group(n.admin, "Squad")
	role := n.role(n.admin, "Member", investigator())
	var members []uuid.UUID
	for i := range 40 {
		u := n.user(n.admin, fmt.Sprintf("Member %d", i), role, "")
		n.join(n.admin, squad, u)
		members = append(members, u)
	}
	k := n.newCase(n.carol, "Fraud ring", "", domain.Unrestricted)
	n.grant(n.carol, k, uuid.Nil, domain.LevelView, time.Time{}, domain.UserPrincipal(members[3]),
		domain.GroupPrincipal(squad), domain.UserPrincipal(members[30]))
	for i, u := range members {
		items, _, err := n.inbox.For(u, "", 0)
		require.NoError(t, err)
		require.Len(t, items, 1, "member %d", i)
		want := domain.GroupPrincipal(squad)
		if i == 3 || i == 30 {
			want = domain.UserPrincipal(u)
		}
		assert.Equal(t, want, items[0].Principal, "member %d", i)
	}
}
