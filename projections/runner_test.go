package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/embedded"
	"github.com/custodian/custodian/projections"
)

// groups is a test read model: how many GroupCreated events it applied,
// and every position, to prove none is applied twice.
type groups struct {
	version   int
	failOn    string // a group name that makes Apply fail
	names     []string
	positions map[eventstore.Position]int
}

func (g *groups) Name() string { return "groups" }
func (g *groups) Version() int { return g.version }
func (g *groups) Apply(env eventstore.Envelope, e domain.Event) error {
	g.positions[env.Position]++
	if c, ok := e.(domain.GroupCreated); ok {
		if c.Name == g.failOn {
			return errors.New("refusing " + c.Name)
		}
		g.names = append(g.names, c.Name)
	}
	return nil
}

func newGroups(version int, failOn string) projections.Factory {
	return func() projections.Projection {
		return &groups{version: version, failOn: failOn, positions: map[eventstore.Position]int{}}
	}
}

func openStore(t *testing.T) *embedded.Store {
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func appendGroup(t *testing.T, s eventstore.Store, name string) eventstore.Position {
	t.Helper()
	id := uuid.New()
	data, err := json.Marshal(domain.GroupCreated{GroupID: id, OrgID: uuid.New(), Name: name})
	require.NoError(t, err)
	res, err := s.Append(context.Background(), domain.GroupStream(id), eventstore.NoStream,
		eventstore.Event{ID: uuid.Must(uuid.NewV7()), Type: "GroupCreated", Data: data})
	require.NoError(t, err)
	return res.Position
}

func start(t *testing.T, r *projections.Runner) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
}

func names(t *testing.T, r *projections.Runner) []string {
	var out []string
	require.NoError(t, projections.View(r, "groups", func(g *groups) error {
		out = append([]string(nil), g.names...)
		for p, n := range g.positions {
			if n != 1 {
				return fmt.Errorf("position %s applied %d times", p, n)
			}
		}
		return nil
	}))
	return out
}

func wait(t *testing.T, r *projections.Runner, pos eventstore.Position) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.WaitFor(ctx, pos))
}

func TestRunnerCatchesUpThenFollows(t *testing.T) {
	s := openStore(t)
	appendGroup(t, s, "a")
	appendGroup(t, s, "b")
	r := projections.NewRunner(s, time.Now, newGroups(1, ""))
	start(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.WaitLive(ctx))
	assert.Equal(t, []string{"a", "b"}, names(t, r))
	wait(t, r, appendGroup(t, s, "c"))
	assert.Equal(t, []string{"a", "b", "c"}, names(t, r))

	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st, 1)
	assert.Equal(t, projections.StateLive, st[0].State)
	assert.Equal(t, "3", st[0].Checkpoint)
	assert.Zero(t, st[0].Lag)
}

func TestRunnerEmptyLogIsLive(t *testing.T) {
	r := projections.NewRunner(openStore(t), time.Now, newGroups(1, ""))
	start(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.WaitLive(ctx))
}

func TestRunnerStopsOnAFailingEvent(t *testing.T) {
	s := openStore(t)
	appendGroup(t, s, "a")
	bad := appendGroup(t, s, "poison")
	r := projections.NewRunner(s, time.Now, newGroups(1, "poison"))
	start(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.WaitFor(ctx, bad)
	require.ErrorIs(t, err, projections.ErrFailed)
	assert.Contains(t, err.Error(), "position "+bad.String())
	assert.Contains(t, err.Error(), "GroupCreated")

	err = projections.View(r, "groups", func(*groups) error { return nil })
	require.ErrorIs(t, err, projections.ErrFailed)
	st, err := r.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, projections.StateFailed, st[0].State)
	assert.Equal(t, "1", st[0].Checkpoint, "the failing event is not skipped")
}

func TestRunnerStopsOnAnUnknownEventType(t *testing.T) {
	s := openStore(t)
	res, err := s.Append(context.Background(), "other-1", eventstore.NoStream,
		eventstore.Event{ID: uuid.Must(uuid.NewV7()), Type: "NoSuchEvent", Data: json.RawMessage(`{}`)})
	require.NoError(t, err)
	r := projections.NewRunner(s, time.Now, newGroups(1, ""))
	start(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = r.WaitFor(ctx, res.Position)
	require.ErrorIs(t, err, domain.ErrUnknownEventType)
	assert.Contains(t, err.Error(), "NoSuchEvent")
}

// TestRebuildSwapsWithoutDowntime rebuilds while writers keep appending:
// queries never fail, and the new instance has every event exactly once.
func TestRebuildSwapsWithoutDowntime(t *testing.T) {
	s := openStore(t)
	for i := 0; i < 500; i++ {
		appendGroup(t, s, fmt.Sprintf("g%d", i))
	}
	version := 1
	var mu sync.Mutex
	factory := func() projections.Projection {
		mu.Lock()
		defer mu.Unlock()
		return &groups{version: version, positions: map[eventstore.Position]int{}}
	}
	r := projections.NewRunner(s, time.Now, factory)
	start(t, r)
	wait(t, r, appendGroup(t, s, "g500"))

	mu.Lock()
	version = 2
	mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var last eventstore.Position
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 501; i < 800; i++ {
			p := appendGroup(t, s, fmt.Sprintf("g%d", i))
			mu.Lock()
			last = p
			mu.Unlock()
		}
	}()
	require.NoError(t, r.Rebuild(ctx, "groups"))
	require.ErrorIs(t, r.Rebuild(ctx, "groups"), projections.ErrRebuilding)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var v int
		require.NoError(t, projections.View(r, "groups", func(g *groups) error { v = g.version; return nil }), "queries keep working during the rebuild")
		if v == 2 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the rebuild did not swap")
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	mu.Lock()
	wait(t, r, last)
	mu.Unlock()
	got := names(t, r)
	require.Len(t, got, 800)
	for i, n := range got {
		assert.Equal(t, fmt.Sprintf("g%d", i), n)
	}
	require.ErrorIs(t, r.Rebuild(ctx, "nope"), projections.ErrUnknown)
}

// TestRebuildRepairsAFailedProjection: a projection stopped by an event it
// could not apply is rebuilt by a fixed version, which then follows the log.
func TestRebuildRepairsAFailedProjection(t *testing.T) {
	s := openStore(t)
	appendGroup(t, s, "a")
	bad := appendGroup(t, s, "poison")
	failOn := "poison"
	var mu sync.Mutex
	factory := func() projections.Projection {
		mu.Lock()
		defer mu.Unlock()
		return &groups{version: 1, failOn: failOn, positions: map[eventstore.Position]int{}}
	}
	r := projections.NewRunner(s, time.Now, factory)
	start(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.ErrorIs(t, r.WaitFor(ctx, bad), projections.ErrFailed)
	appendGroup(t, s, "b")

	mu.Lock()
	failOn = ""
	mu.Unlock()
	require.NoError(t, r.Rebuild(ctx, "groups"))
	for r.WaitFor(ctx, bad) != nil {
		time.Sleep(5 * time.Millisecond)
	}
	wait(t, r, appendGroup(t, s, "c"))
	assert.Equal(t, []string{"a", "poison", "b", "c"}, names(t, r))
}

// TestRunnerWaiters: each WaitFor returns once the feed reaches its
// position, whatever order they wait in; a cancelled one returns at once;
// when the feed stops, every waiter gets the error instead of waiting on.
func TestRunnerWaiters(t *testing.T) {
	s := openStore(t)
	r := projections.NewRunner(s, time.Now, newGroups(1, ""))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	require.NoError(t, r.WaitLive(wctx))

	const n = 40
	errs := make(chan error, n)
	for i := n; i >= 1; i-- { // the latest positions wait first
		go func(p uint64) {
			errs <- r.WaitFor(wctx, eventstore.Position{Commit: p, Prepare: p})
		}(uint64(i))
	}
	cctx, ccancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() { cancelled <- r.WaitFor(cctx, eventstore.Position{Commit: 1000, Prepare: 1000}) }()
	ccancel()
	require.ErrorIs(t, <-cancelled, context.Canceled)
	for i := 0; i < n; i++ {
		appendGroup(t, s, fmt.Sprintf("g%d", i))
	}
	for i := 0; i < n; i++ {
		require.NoError(t, <-errs)
	}
	assert.Len(t, names(t, r), n)
	require.NoError(t, r.WaitForWithin(context.Background(), eventstore.Position{Commit: n, Prepare: n}, time.Nanosecond),
		"a position reached needs no time")
	start := time.Now()
	require.ErrorIs(t, r.WaitForWithin(wctx, eventstore.Position{Commit: 1000, Prepare: 1000}, 30*time.Millisecond),
		context.DeadlineExceeded, "the bound ends a wait for a position not reached")
	assert.Less(t, time.Since(start), 2*time.Second)

	stuck := make(chan error, 1)
	go func() { stuck <- r.WaitFor(wctx, eventstore.Position{Commit: 1000, Prepare: 1000}) }()
	time.Sleep(20 * time.Millisecond) // let it wait
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	err := <-stuck
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the stopped feed ends the wait")
}

// TestRunnerFeedFailsAtStart: when the feed cannot even start (the store
// is closed), WaitLive and WaitFor return its error instead of waiting.
func TestRunnerFeedFailsAtStart(t *testing.T) {
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	r := projections.NewRunner(s, time.Now, newGroups(1, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	live := make(chan error, 1)
	go func() { live <- r.WaitLive(ctx) }()
	require.ErrorIs(t, r.Run(ctx), eventstore.ErrClosed)
	require.ErrorIs(t, <-live, eventstore.ErrClosed)
	require.ErrorIs(t, r.WaitFor(ctx, eventstore.Position{Commit: 1, Prepare: 1}), eventstore.ErrClosed)
}
