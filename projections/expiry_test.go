package projections_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

func TestExpiry(t *testing.T) {
	x := projections.NewExpiry()
	w := newCasesWorld(t, x)
	ann, bob, det := domain.UserPrincipal(w.ann), domain.UserPrincipal(w.bob), domain.GroupPrincipal(w.detectives)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	due := func(k, ev uuid.UUID, p domain.Principal, m int) projections.DueExpiry {
		return projections.DueExpiry{CaseID: k, EvidenceID: ev, Principal: p, ExpiresAt: at(m)}
	}

	k := w.newCase(w.carol, "Homicide", "", domain.Restricted)
	ev := w.addEvidence(w.carol, k, "Knife")
	w.grant(w.carol, k, uuid.Nil, domain.LevelView, at(60), ann)
	w.grant(w.carol, k, uuid.Nil, domain.LevelView, time.Time{}, det)
	w.grant(w.carol, k, ev, domain.LevelView, at(30), bob)
	other := w.newCase(w.bob, "Fraud", "", domain.Unrestricted)
	w.grant(w.bob, other, uuid.Nil, domain.LevelRole, at(30), ann)

	assert.Empty(t, x.Due(at(29)))
	next, ok := x.Next()
	require.True(t, ok)
	assert.Equal(t, at(30), next)
	next, ok = x.NextAfter(at(30))
	require.True(t, ok)
	assert.Equal(t, at(60), next)
	_, ok = x.NextAfter(at(60))
	assert.False(t, ok)
	assert.ElementsMatch(t, []projections.DueExpiry{due(k, ev, bob, 30), due(other, uuid.Nil, ann, 30)}, x.Due(at(30)),
		"due from the expiry instant on")
	all := x.Due(at(90))
	require.Len(t, all, 3)
	assert.Equal(t, due(k, uuid.Nil, ann, 60), all[2], "earliest first")

	w.modify(w.carol, k, uuid.Nil, ann, domain.LevelView, time.Time{})
	assert.Len(t, x.Due(at(90)), 2, "until removed: nothing pending")
	w.modify(w.carol, k, uuid.Nil, ann, domain.LevelView, at(45))
	assert.Contains(t, x.Due(at(90)), due(k, uuid.Nil, ann, 45), "a new expiry replaces the old")
	w.grant(w.carol, k, uuid.Nil, domain.LevelView, at(50), ann)
	assert.Contains(t, x.Due(at(90)), due(k, uuid.Nil, ann, 50), "granted again")
	assert.NotContains(t, x.Due(at(90)), due(k, uuid.Nil, ann, 45))

	w.removeEvidence(w.carol, k, ev)
	assert.NotContains(t, x.Due(at(90)), due(k, ev, bob, 30), "the item and its list are gone")
	w.revoke(w.bob, other, uuid.Nil, ann)
	assert.Equal(t, []projections.DueExpiry{due(k, uuid.Nil, ann, 50)}, x.Due(at(90)), "removed")

	w.now = at(51)
	w.expire(k, uuid.Nil, ann, at(50))
	assert.Empty(t, x.Due(at(90)), "recorded")
	_, ok = x.Next()
	assert.False(t, ok)
}

// reactor runs RunExpiryReactor on its own runner over store until the
// returned stop is called.
func reactor(t *testing.T, store eventstore.Store) (stop func()) {
	t.Helper()
	r := projections.NewRunner(store, time.Now, func() projections.Projection { return projections.NewExpiry() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		assert.ErrorIs(t, r.Run(ctx), context.Canceled)
	}()
	go func() {
		defer wg.Done()
		assert.ErrorIs(t, projections.RunExpiryReactor(ctx, r, store, time.Now, slog.New(slog.DiscardHandler)), context.Canceled)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// expiries returns the InternalAccessExpired envelopes of case k's stream.
func expiries(t *testing.T, store eventstore.Store, k uuid.UUID) []eventstore.Envelope {
	t.Helper()
	var out []eventstore.Envelope
	require.NoError(t, store.ReadStream(context.Background(), domain.CaseStream(k), eventstore.Forward, 0,
		func(env eventstore.Envelope) error {
			if env.Type == "InternalAccessExpired" {
				out = append(out, env)
			}
			return nil
		}))
	return out
}

// TestExpiryReactor: an entry expiring 200 ms from now is recorded once,
// although two reactors watch it, and a restart records nothing more; an
// entry removed before its expiry is never recorded.
func TestExpiryReactor(t *testing.T) {
	store := openStore(t)
	w := newCasesWorld(t)
	w.now = time.Now().UTC()
	k := w.newCase(w.carol, "Homicide", "", domain.Restricted)
	expiresAt := w.now.Add(200 * time.Millisecond)
	w.grant(w.carol, k, uuid.Nil, domain.LevelView, expiresAt, domain.UserPrincipal(w.ann), domain.UserPrincipal(w.bob))
	w.revoke(w.carol, k, uuid.Nil, domain.UserPrincipal(w.bob))
	w.appendTo(store)

	stopA, stopB := reactor(t, store), reactor(t, store)
	require.Eventually(t, func() bool { return len(expiries(t, store, k)) > 0 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(1500 * time.Millisecond) // both reactors look again at least once
	stopA()
	stopB()
	got := expiries(t, store, k)
	require.Len(t, got, 1, "recorded once")

	env := got[0]
	assert.Equal(t, eventstore.Actor{Kind: eventstore.ActorSystem, Name: projections.ExpiryReactorName}, env.Actor)
	assert.False(t, env.RecordedAt.Before(expiresAt))
	e, err := domain.DecodeEvent(env.Type, env.Data)
	require.NoError(t, err)
	assert.Equal(t, domain.InternalAccessExpired{CaseID: k, Principal: domain.UserPrincipal(w.ann), ExpiredAt: expiresAt}, e)

	stop := reactor(t, store)
	time.Sleep(1200 * time.Millisecond)
	stop()
	assert.Len(t, expiries(t, store, k), 1, "a restart records nothing more")
}

// TestExpiryReactorCatchesUp: expiries that passed while no reactor ran are
// recorded once it is live.
func TestExpiryReactorCatchesUp(t *testing.T) {
	store := openStore(t)
	w := newCasesWorld(t)
	w.now = time.Now().UTC().Add(-time.Hour)
	k := w.newCase(w.carol, "Homicide", "", domain.Restricted)
	ev := w.addEvidence(w.carol, k, "Knife")
	w.grant(w.carol, k, ev, domain.LevelView, w.now.Add(time.Minute), domain.GroupPrincipal(w.detectives))
	w.appendTo(store)

	reactor(t, store)
	require.Eventually(t, func() bool { return len(expiries(t, store, k)) == 1 }, 5*time.Second, 10*time.Millisecond)
	e, err := domain.DecodeEvent("InternalAccessExpired", expiries(t, store, k)[0].Data)
	require.NoError(t, err)
	assert.Equal(t, ev, e.(domain.InternalAccessExpired).EvidenceID)
}

// TestExpiryReactorNeedsTheProjection: without the Expiry projection the
// reactor stops at once.
func TestExpiryReactorNeedsTheProjection(t *testing.T) {
	store := openStore(t)
	r := live(t, store, func() projections.Projection { return projections.NewCases() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := projections.RunExpiryReactor(ctx, r, store, time.Now, slog.New(slog.DiscardHandler))
	assert.ErrorIs(t, err, projections.ErrUnknown)
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}

// TestExpiryFollowsEvolve: after any sequence of list and evidence events,
// what Expiry holds pending is exactly the entries with an expiry on the
// lists domain.Case.Evolve builds from the same events. A user and a group
// share an id, so a key that lost the principal's type would show.
func TestExpiryFollowsEvolve(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		caseID, shared, other := uuid.New(), uuid.New(), uuid.New()
		principals := []domain.Principal{domain.UserPrincipal(shared), domain.GroupPrincipal(shared),
			domain.UserPrincipal(other), domain.GroupPrincipal(other)}
		items := []uuid.UUID{uuid.Nil, uuid.New(), uuid.New()} // uuid.Nil: the case's own list
		base := time.Date(2026, 12, 1, 8, 0, 0, 0, time.FixedZone("CET", 3600))
		expiries := []time.Time{{}, base, base.Add(time.Hour), base.Add(90 * time.Minute).UTC()}

		x := projections.NewExpiry()
		created := domain.CaseCreated{CaseID: caseID, OrgID: uuid.New(), Title: "t", OwnerID: uuid.New(),
			AccessClass: domain.Unrestricted}
		c := domain.Case{}.Evolve(created)
		require.NoError(t, x.Apply(eventstore.Envelope{}, created))
		for i, n := 0, rapid.IntRange(1, 40).Draw(t, "events"); i < n; i++ {
			ev := rapid.SampledFrom(items).Draw(t, "evidence")
			p := rapid.SampledFrom(principals).Draw(t, "principal")
			var e domain.Event
			switch rapid.IntRange(0, 5).Draw(t, "kind") {
			case 0:
				if ev == uuid.Nil {
					continue
				}
				if _, ok := c.Item(ev); ok {
					continue // commands never add an item twice
				}
				e = domain.EvidenceAdded{CaseID: caseID, EvidenceID: ev, Title: "item", AccessClass: domain.Unrestricted}
			case 1:
				if ev == uuid.Nil {
					continue
				}
				e = domain.EvidenceRemoved{CaseID: caseID, EvidenceID: ev}
			case 2:
				var entries []domain.AccessEntry
				for _, q := range rapid.SliceOfNDistinct(rapid.SampledFrom(principals), 1, 3,
					func(p domain.Principal) domain.Principal { return p }).Draw(t, "entries") {
					entries = append(entries, domain.AccessEntry{Principal: q, Level: domain.LevelView,
						ExpiresAt: rapid.SampledFrom(expiries).Draw(t, "expires")})
				}
				e = domain.InternalAccessGranted{CaseID: caseID, EvidenceID: ev, Entries: entries}
			case 3:
				e = domain.InternalAccessModified{CaseID: caseID, EvidenceID: ev, Principal: p, Level: domain.LevelRole,
					ExpiresAt: rapid.SampledFrom(expiries).Draw(t, "expires")}
			case 4:
				e = domain.InternalAccessRemoved{CaseID: caseID, EvidenceID: ev, Principal: p}
			case 5:
				e = domain.InternalAccessExpired{CaseID: caseID, EvidenceID: ev, Principal: p, ExpiredAt: base}
			}
			c = c.Evolve(e)
			require.NoError(t, x.Apply(eventstore.Envelope{}, e))
		}

		var want []projections.DueExpiry
		add := func(evidence uuid.UUID, l domain.AccessList) {
			for _, en := range l {
				if !en.ExpiresAt.IsZero() {
					want = append(want, projections.DueExpiry{CaseID: caseID, EvidenceID: evidence,
						Principal: en.Principal, ExpiresAt: en.ExpiresAt})
				}
			}
		}
		add(uuid.Nil, c.Access)
		for _, item := range c.Evidence {
			add(item.ID, item.Access)
		}
		got := x.Due(base.Add(24 * time.Hour))
		require.Len(t, got, len(want), "pending %v, lists %v", got, want)
		for _, w := range want {
			i := slices.IndexFunc(got, func(d projections.DueExpiry) bool {
				return d.EvidenceID == w.EvidenceID && d.Principal == w.Principal && d.ExpiresAt.Equal(w.ExpiresAt)
			})
			require.GreaterOrEqual(t, i, 0, "%v is on a list but not pending: %v", w, got)
		}
	})
}
