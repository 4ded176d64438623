package projections_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

// Property tests of the read models together: random histories of case,
// group and user commands, decided by the domain against the world's
// streams, and the read models they feed compared with what folding
// domain's Evolve over the same streams says.

const (
	// foldSeeds random histories of historySteps commands each, checked
	// every checkEvery commands, take 7 to 8 s with -race on two cores.
	// Five histories hold every kind of event at least 15 times (recorded
	// expiries and removed evidence are the rarest), so it takes some tens
	// of them to meet the rare ones in many orders with the rest.
	foldSeeds    = 40
	historySteps = 400
	checkEvery   = 20
	// rebuildSeeds histories go through the runner with rebuilds racing
	// the appends, about 0.5 s each with -race: each run interleaves
	// differently, so a few seeds cover more schedules than one.
	rebuildSeeds = 4
)

// history is a random history: the world it was recorded in, the ids it
// made, and the read models it fed directly (every one of
// projections.ReadModels).
type history struct {
	*world
	rnd      *rand.Rand
	orgID    uuid.UUID
	admin    uuid.UUID
	roles    []uuid.UUID
	users    []uuid.UUID // users[0] is the administrator
	caseIDs  []uuid.UUID
	evidence map[uuid.UUID][]uuid.UUID // every item ever added, per case

	cases  *projections.Cases
	expiry *projections.Expiry
	inbox  *projections.Notifications
	dir    *projections.Directory
}

// newHistory sets up an organization with random roles, users and groups,
// and a second organization to stay out of every result.
func newHistory(t *testing.T, seed uint64) *history {
	h := &history{world: newWorld(t), rnd: rand.New(rand.NewPCG(seed, 7)), evidence: map[uuid.UUID][]uuid.UUID{}}
	for _, f := range projections.ReadModels() {
		p := f()
		switch p := p.(type) {
		case *projections.Cases:
			h.cases = p
		case *projections.Expiry:
			h.expiry = p
		case *projections.Notifications:
			h.inbox = p
		case *projections.Directory:
			h.dir = p
		}
		h.projs = append(h.projs, p)
	}
	h.orgID, h.admin = h.org("Metro")
	h.org("Other")
	for i := range 3 {
		h.roles = append(h.roles, h.role(h.admin, fmt.Sprint("role ", i), randomPermissions(h.rnd)))
	}
	h.users = []uuid.UUID{h.admin}
	for i := range 6 {
		h.users = append(h.users, h.user(h.admin, fmt.Sprint("user ", i), h.pick(h.roles), ""))
	}
	h.group(h.admin, "g1")
	h.group(h.admin, "g2")
	return h
}

// randomHistory is a history of historySteps random commands.
func randomHistory(t *testing.T, seed uint64) *history {
	h := newHistory(t, seed)
	for step := range historySteps {
		h.step(step)
	}
	return h
}

func (h *history) pick(ids []uuid.UUID) uuid.UUID { return ids[h.rnd.IntN(len(ids))] }

var (
	classes = []domain.AccessClass{domain.Unrestricted, domain.Restricted, domain.Confidential}
	levels  = []domain.AccessLevel{domain.LevelRole, domain.LevelView}
)

// step issues one random command, by the administrator or, one time in
// three, a random user. Commands the domain refuses record nothing.
func (h *history) step(step int) {
	h.tick()
	actor := h.admin
	if h.rnd.IntN(3) == 0 {
		actor = h.pick(h.users)
	}
	s := h.subject(actor)
	principal := func() domain.Principal {
		if h.rnd.IntN(3) == 0 {
			return domain.GroupPrincipal(h.pick(h.groups))
		}
		return domain.UserPrincipal(h.pick(h.users))
	}
	expires := func() time.Time { // until removed, or a time soon
		if h.rnd.IntN(2) == 0 {
			return h.now.Add(time.Duration(1+h.rnd.IntN(30)) * time.Minute)
		}
		return time.Time{}
	}
	onList := func(c uuid.UUID) uuid.UUID { // the case's own list (uuid.Nil) or an item's
		if l := h.evidence[c]; len(l) > 0 && h.rnd.IntN(2) == 0 {
			return h.pick(l)
		}
		return uuid.Nil
	}
	list := func(c, ev uuid.UUID) domain.AccessList {
		k := fold[domain.Case](h.world, domain.CaseStream(c))
		if ev == uuid.Nil {
			return k.Access
		}
		item, _ := k.Item(ev)
		return item.Access
	}
	listed := func(c, ev uuid.UUID) domain.Principal { // half the time one on the list, if any
		if l := list(c, ev); len(l) > 0 && h.rnd.IntN(2) == 0 {
			return l[h.rnd.IntN(len(l))].Principal
		}
		return principal()
	}
	try := func(c uuid.UUID, cmd domain.Command) bool {
		events, err := fold[domain.Case](h.world, domain.CaseStream(c)).Decide(cmd)
		if err != nil {
			return false
		}
		h.record(domain.CaseStream(c), h.actorOf(actor), events...)
		return true
	}

	op := h.rnd.IntN(15)
	if op < 2 || len(h.caseIDs) == 0 {
		h.caseIDs = append(h.caseIDs, h.newCase(h.admin, "t", "", classes[h.rnd.IntN(3)]))
		return
	}
	c := h.pick(h.caseIDs)
	switch {
	case op < 4:
		try(c, domain.GrantAccess{CaseID: c, EvidenceID: onList(c), Grants: []domain.Grant{{Principal: principal(),
			PrincipalOrgID: h.orgID, Level: levels[h.rnd.IntN(2)], ExpiresAt: expires()}}, Actor: s, Now: h.now})
	case op == 4:
		ev := onList(c)
		try(c, domain.RemoveAccess{CaseID: c, EvidenceID: ev, Principal: listed(c, ev), Actor: s, Now: h.now})
	case op == 5:
		ev := onList(c)
		try(c, domain.ModifyAccess{CaseID: c, EvidenceID: ev, Principal: listed(c, ev),
			Level: domain.Some(levels[h.rnd.IntN(2)]), ExpiresAt: domain.Some(expires()), Actor: s, Now: h.now})
	case op == 6:
		try(c, domain.ChangeAccessClass{CaseID: c, AccessClass: classes[h.rnd.IntN(3)], Actor: s, Now: h.now})
	case op == 7:
		try(c, domain.EditCase{CaseID: c, Owner: domain.Some(h.pick(h.users)), OwnerOrgID: h.orgID, Actor: s, Now: h.now})
	case op == 8:
		g, u := h.pick(h.groups), h.pick(h.users[1:])
		if fold[domain.Group](h.world, domain.GroupStream(g)).HasMember(u) {
			h.leave(h.admin, g, u)
		} else {
			h.join(h.admin, g, u)
		}
	case op == 9:
		ev := h.next("evidence")
		if l := h.evidence[c]; len(l) > 0 && h.rnd.IntN(3) == 0 {
			ev = h.pick(l) // re-add an item, which the domain allows once it is removed
		}
		added := try(c, domain.AddEvidence{CaseID: c, EvidenceID: ev, Title: "e", AccessClass: classes[h.rnd.IntN(3)],
			Actor: s, Now: h.now})
		if added && !slices.Contains(h.evidence[c], ev) {
			h.evidence[c] = append(h.evidence[c], ev)
		}
	case op == 10:
		if l := h.evidence[c]; len(l) > 0 {
			try(c, domain.RemoveEvidence{CaseID: c, EvidenceID: h.pick(l), Actor: s, Now: h.now})
		}
	case op == 11: // the clock reaches an entry's expiry, which the reactor records
		ev := onList(c)
		l := list(c, ev)
		if len(l) == 0 {
			return
		}
		if en := l[h.rnd.IntN(len(l))]; !en.ExpiresAt.IsZero() {
			if en.ExpiresAt.After(h.now) {
				h.now = en.ExpiresAt
			}
			h.expire(c, ev, en.Principal, en.ExpiresAt)
		}
	case op == 12:
		edit := domain.EditCase{CaseID: c, Title: domain.Some(fmt.Sprint("Title ", step)), Actor: s, Now: h.now}
		if h.rnd.IntN(2) == 0 {
			edit = domain.EditCase{CaseID: c, Description: domain.Some(fmt.Sprint("DESC ", step)), Actor: s, Now: h.now}
		}
		try(c, edit)
	default:
		u := h.pick(h.users[1:])
		h.setUser(h.admin, u, h.pick(h.roles), !fold[domain.User](h.world, domain.UserStream(u)).Active || h.rnd.IntN(2) == 0)
	}
}

// TestReadModelsFollowTheFold drives random histories of every case command
// (grants, changes and removals on the case's and items' lists, expiries,
// class changes, edits, evidence added, removed and re-added), group
// membership and user changes through the domain, and checks every
// checkEvery commands that each read model says what folding Evolve over
// the streams says: see checkAgainstTheFold.
func TestReadModelsFollowTheFold(t *testing.T) {
	for seed := range uint64(foldSeeds) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			h := newHistory(t, seed)
			for step := range historySteps {
				h.step(step)
				if step%checkEvery == 0 {
					h.checkAgainstTheFold(t)
				}
			}
			h.checkAgainstTheFold(t)
		})
	}
}

// checkAgainstTheFold compares the read models with the fold of the
// streams: Cases holds each case as domain.Case.Evolve builds it and
// CaseOfEvidence the items on it; Expiry holds every entry with an expiry
// on those lists; each inbox is what checkInboxes derives from the log;
// Directory gives each user's domain.Subject; and each search, page by
// page, finds the cases the query matches and domain.CanList allows
// (matching the description only where domain.CanView allows), newest
// first.
func (h *history) checkAgainstTheFold(t *testing.T) {
	t.Helper()
	var due []projections.DueExpiry
	for _, c := range h.caseIDs {
		want := fold[domain.Case](h.world, domain.CaseStream(c))
		got, ok := h.cases.Case(c)
		require.True(t, ok)
		require.Equal(t, normalCase(want), normalCase(got.Case), "case %s", c)
		for _, ev := range h.evidence[c] {
			holder, ok := h.cases.CaseOfEvidence(ev)
			_, on := want.Item(ev)
			require.Equal(t, on, ok && holder == c, "CaseOfEvidence %s", ev)
		}
		add := func(evidence uuid.UUID, l domain.AccessList) {
			for _, en := range l {
				if !en.ExpiresAt.IsZero() {
					due = append(due, projections.DueExpiry{CaseID: c, EvidenceID: evidence, Principal: en.Principal,
						ExpiresAt: en.ExpiresAt.UTC()})
				}
			}
		}
		add(uuid.Nil, want.Access)
		for _, item := range want.Evidence {
			add(item.ID, item.Access)
		}
	}
	require.ElementsMatch(t, due, h.expiry.Due(h.now.Add(1000*time.Hour)))

	h.checkInboxes(t)

	for _, u := range h.users {
		want := h.subject(u)
		got, ok := h.dir.Subject(u)
		require.True(t, ok)
		require.ElementsMatch(t, want.Groups, got.Groups)
		want.Groups, got.Groups = nil, nil
		require.Equal(t, want, got, "subject %s", u)
	}

	for _, u := range h.users {
		sub := h.subject(u)
		at := h.now.Add(time.Duration(h.rnd.IntN(40)-20) * time.Minute)
		queries := []projections.SearchQuery{{}, {Text: "T"}, {Text: "desc"}, {AccessClass: classes[h.rnd.IntN(3)]},
			{OwnerID: h.pick(h.users)}, {OwnerID: u, Text: "1"}}
		q := queries[h.rnd.IntN(len(queries))]
		var want []uuid.UUID
		for _, c := range slices.Backward(h.caseIDs) {
			if matchesSearch(sub, fold[domain.Case](h.world, domain.CaseStream(c)), q, at) {
				want = append(want, c)
			}
		}
		q.Limit = 1 + h.rnd.IntN(5)
		got := searchAll(t, h.cases, sub, q, at, len(h.caseIDs)+1)
		require.Equal(t, want, got, "search of %s for %+v", u, q)
	}
}

// inboxItem is what checkInboxes compares of a notification.
type inboxItem struct {
	Kind               string
	CaseID, EvidenceID uuid.UUID
}

// checkInboxes derives every user's inbox from the log, oldest first: for
// each access or class event, one item per user its principals reach (a
// group: its members at that point of the log), except the user who
// caused it.
func (h *history) checkInboxes(t *testing.T) {
	t.Helper()
	members := map[uuid.UUID][]uuid.UUID{}
	want := map[uuid.UUID][]inboxItem{}
	for _, env := range h.log {
		e, err := domain.DecodeEvent(env.Type, env.Data)
		require.NoError(t, err)
		var ps []domain.Principal
		var item inboxItem
		switch e := e.(type) {
		case domain.GroupMemberAdded:
			if !slices.Contains(members[e.GroupID], e.UserID) {
				members[e.GroupID] = append(members[e.GroupID], e.UserID)
			}
		case domain.GroupMemberRemoved:
			members[e.GroupID] = slices.DeleteFunc(members[e.GroupID], func(u uuid.UUID) bool { return u == e.UserID })
		case domain.InternalAccessGranted:
			for _, en := range e.Entries {
				ps = append(ps, en.Principal)
			}
			item = inboxItem{projections.KindAccessGranted, e.CaseID, e.EvidenceID}
		case domain.InternalAccessModified:
			ps, item = []domain.Principal{e.Principal}, inboxItem{projections.KindAccessModified, e.CaseID, e.EvidenceID}
		case domain.InternalAccessRemoved:
			ps, item = []domain.Principal{e.Principal}, inboxItem{projections.KindAccessRemoved, e.CaseID, e.EvidenceID}
		case domain.InternalAccessExpired:
			ps, item = []domain.Principal{e.Principal}, inboxItem{projections.KindAccessExpired, e.CaseID, e.EvidenceID}
		case domain.AccessClassApplied:
			ps, item = e.Notify, inboxItem{Kind: projections.KindClassApplied, CaseID: e.CaseID}
		case domain.AccessClassRemoved:
			ps, item = e.Notify, inboxItem{Kind: projections.KindRestrictionRemoved, CaseID: e.CaseID}
		}
		told := map[uuid.UUID]bool{}
		for _, p := range ps {
			reach := []uuid.UUID{p.ID}
			if p.Type == domain.PrincipalGroup {
				reach = members[p.ID]
			}
			for _, u := range reach {
				if !told[u] && env.Actor.UserID != u.String() {
					told[u] = true
					want[u] = append(want[u], item)
				}
			}
		}
	}
	for _, u := range h.users {
		var got []inboxItem
		for _, n := range slices.Backward(allNotifications(t, h.inbox, u)) {
			got = append(got, inboxItem{n.Kind, n.CaseID, n.EvidenceID})
		}
		require.Equal(t, want[u], got, "inbox of %s", u)
	}
}

// allNotifications is every notification of user, newest first, page by
// page.
func allNotifications(t *testing.T, n *projections.Notifications, user uuid.UUID) []projections.Notification {
	t.Helper()
	var all []projections.Notification
	for cursor := ""; ; {
		items, next, err := n.For(user, cursor, projections.MaxLimit)
		require.NoError(t, err)
		all = append(all, items...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

// normalCase makes empty lists nil and times UTC, so that a case the read
// model keeps compares equal to the fold's.
func normalCase(c domain.Case) domain.Case {
	normal := func(l domain.AccessList) domain.AccessList {
		if len(l) == 0 {
			return nil
		}
		out := slices.Clone(l)
		for i := range out {
			if !out[i].ExpiresAt.IsZero() {
				out[i].ExpiresAt = out[i].ExpiresAt.UTC()
			}
			out[i].GrantedAt = out[i].GrantedAt.UTC()
		}
		return out
	}
	c.Access = normal(c.Access)
	if len(c.Folders) == 0 {
		c.Folders = nil
	}
	if len(c.Evidence) == 0 {
		c.Evidence = nil
	} else {
		c.Evidence = slices.Clone(c.Evidence)
		for i := range c.Evidence {
			c.Evidence[i].Access = normal(c.Evidence[i].Access)
		}
	}
	return c
}

// TestRunnerMatchesDirectApply: a random history, half of it in the store
// before the runner starts and half appended while every read model
// rebuilds, leaves the runner's read models equal to the same read models
// applied the history directly.
func TestRunnerMatchesDirectApply(t *testing.T) {
	h := randomHistory(t, 3)
	s := openStore(t)
	all := h.log
	h.log = all[:len(all)/2]
	h.appendTo(s)
	r := live(t, s, projections.ReadModels()...)
	for _, f := range projections.ReadModels() {
		require.NoError(t, r.Rebuild(context.Background(), f().Name()))
	}
	h.log = all
	h.appendTo(s)
	h.requireSameModels(t, r, s)
}

// TestRebuildUnderLoad: while a random history is appended to the store,
// every read model is rebuilt again and again (each time the last rebuild
// has swapped); once the appends and rebuilds are done, the runner's read
// models equal the same read models applied the history directly.
func TestRebuildUnderLoad(t *testing.T) {
	for seed := range uint64(rebuildSeeds) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			h := randomHistory(t, seed)
			s := openStore(t)
			r := live(t, s, projections.ReadModels()...)
			done := make(chan struct{})
			go func() {
				defer close(done)
				h.appendTo(s)
			}()
			rebuilds := 0
			for appending := true; appending; {
				select {
				case <-done:
					appending = false
				default:
				}
				for _, f := range projections.ReadModels() {
					if r.Rebuild(context.Background(), f().Name()) == nil {
						rebuilds++
					}
				}
				time.Sleep(time.Millisecond)
			}
			t.Logf("%d rebuilds started while appending", rebuilds)
			h.requireSameModels(t, r, s)
		})
	}
}

// requireSameModels waits until r has no rebuild left and has applied the
// whole of store, then compares its read models with the history's: every
// case with its revision and times, the expiries, every inbox and every
// subject.
func (h *history) requireSameModels(t *testing.T, r *projections.Runner, store eventstore.Store) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := r.Status(ctx)
		require.NoError(t, err)
		rebuilding := false
		for _, x := range st {
			require.Empty(t, x.Error, x.Name)
			require.Empty(t, x.RebuildError, x.Name)
			rebuilding = rebuilding || x.Rebuild != nil
		}
		if !rebuilding {
			break
		}
		require.True(t, time.Now().Before(deadline), "the rebuilds did not finish")
		time.Sleep(10 * time.Millisecond)
	}
	head, err := store.Head(ctx)
	require.NoError(t, err)
	wait(t, r, head)

	view(t, r, projections.CasesName, func(m *projections.Cases) {
		for _, c := range h.caseIDs {
			want, _ := h.cases.Case(c)
			got, ok := m.Case(c)
			require.True(t, ok)
			want.Case, got.Case = normalCase(want.Case), normalCase(got.Case)
			require.Equal(t, want, got)
		}
	})
	view(t, r, projections.ExpiryName, func(x *projections.Expiry) {
		require.Equal(t, h.expiry.Due(h.now.Add(1000*time.Hour)), x.Due(h.now.Add(1000*time.Hour)))
	})
	view(t, r, projections.NotificationsName, func(n *projections.Notifications) {
		for _, u := range h.users {
			require.Equal(t, allNotifications(t, h.inbox, u), allNotifications(t, n, u), "inbox of %s", u)
		}
	})
	view(t, r, projections.DirectoryName, func(d *projections.Directory) {
		for _, u := range h.users {
			want, _ := h.dir.Subject(u)
			got, ok := d.Subject(u)
			require.True(t, ok)
			require.Equal(t, want, got, "subject %s", u)
		}
	})
}
