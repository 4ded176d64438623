package projections_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/projections"
)

// searchWorld adds cases to casesWorld, in this order (newest last):
//
//	elm     bob's unrestricted burglary
//	fraud   carol's unrestricted fraud ring, "bank" in its description
//	assault bob's restricted assault
//	oak     carol's restricted homicide; ann on its list (View)
//	cartel  the admin's confidential case; the group detectives (ann) on its list
//	bike    ann's unrestricted lost bicycle
//	car     carol's restricted stolen car; ann on its list for an hour
//	old     carol's restricted old case; ann was on its list, removed; bob on it
//	county  County's unrestricted case
type searchWorld struct {
	*casesWorld
	elm, fraud, assault, oak, cartel, bike, car, old, county uuid.UUID
	names                                                    map[uuid.UUID]string
}

func newSearchWorld(t *testing.T) *searchWorld {
	s := &searchWorld{casesWorld: newCasesWorld(t)}
	s.elm = s.newCase(s.bob, "Burglary at 12 Elm St", "", domain.Unrestricted)
	s.fraud = s.newCase(s.carol, "Fraud ring", "Bank statements from 2024", domain.Unrestricted)
	s.assault = s.newCase(s.bob, "Assault downtown", "", domain.Restricted)
	s.oak = s.newCase(s.carol, "Homicide on Oak Ave", "", domain.Restricted)
	s.grant(s.carol, s.oak, uuid.Nil, domain.LevelView, time.Time{}, domain.UserPrincipal(s.ann))
	s.cartel = s.newCase(s.admin, "Cartel", "", domain.Confidential)
	s.grant(s.admin, s.cartel, uuid.Nil, domain.LevelRole, time.Time{}, domain.GroupPrincipal(s.detectives))
	s.bike = s.newCase(s.ann, "Lost bicycle", "", domain.Unrestricted)
	s.car = s.newCase(s.carol, "Stolen car", "", domain.Restricted)
	s.grant(s.carol, s.car, uuid.Nil, domain.LevelView, s.now.Add(time.Hour), domain.UserPrincipal(s.ann))
	s.old = s.newCase(s.carol, "Old case", "", domain.Restricted)
	s.grant(s.carol, s.old, uuid.Nil, domain.LevelView, time.Time{}, domain.UserPrincipal(s.ann), domain.UserPrincipal(s.bob))
	s.revoke(s.carol, s.old, uuid.Nil, domain.UserPrincipal(s.ann))
	s.county = s.newCase(s.countyAdmin, "County matter", "", domain.Unrestricted)
	s.names = map[uuid.UUID]string{s.elm: "elm", s.fraud: "fraud", s.assault: "assault", s.oak: "oak",
		s.cartel: "cartel", s.bike: "bike", s.car: "car", s.old: "old", s.county: "county"}
	return s
}

// search runs q for user at now and returns the names of the cases found.
func (s *searchWorld) search(user uuid.UUID, q projections.SearchQuery, now time.Time) ([]string, projections.SearchResult) {
	s.t.Helper()
	res, err := s.cases.Search(s.subject(user), q, now)
	require.NoError(s.t, err)
	names := []string{}
	for _, item := range res.Items {
		names = append(names, s.names[item.ID])
	}
	return names, res
}

func TestSearch(t *testing.T) {
	s := newSearchWorld(t)
	now, later := s.now, s.now.Add(2*time.Hour)
	tests := []struct {
		name       string
		user       uuid.UUID
		q          projections.SearchQuery
		at         time.Time
		want       []string
		wantLocked bool
	}{
		{name: "administrator: every case of its organization", user: s.admin,
			want: []string{"old", "car", "bike", "cartel", "oak", "assault", "fraud", "elm"}},
		{name: "investigator: all unrestricted, own restricted, restricted it is on the list for", user: s.bob,
			want: []string{"old", "bike", "assault", "fraud", "elm"}},
		{name: "clerk: own cases, plus user and group entries", user: s.ann, wantLocked: true,
			want: []string{"car", "bike", "cartel", "oak"}},
		{name: "clerk after its entry expired", user: s.ann, at: later, wantLocked: true,
			want: []string{"bike", "cartel", "oak"}},
		{name: "clerk on no list: own cases only", user: s.zed, wantLocked: true, want: []string{}},
		{name: "a role that lists nothing", user: s.nobody, wantLocked: true, want: []string{}},
		{name: "another organization", user: s.countyAdmin, want: []string{"county"}},
		{name: "text in the title, ignoring case", user: s.admin, q: projections.SearchQuery{Text: " ELM "},
			want: []string{"elm"}},
		{name: "text in the description", user: s.admin, q: projections.SearchQuery{Text: "bank"},
			want: []string{"fraud"}},
		{name: "text no case has", user: s.admin, q: projections.SearchQuery{Text: "arson"}, want: []string{}},
		{name: "class", user: s.admin, q: projections.SearchQuery{AccessClass: domain.Restricted},
			want: []string{"old", "car", "oak", "assault"}},
		{name: "class the role lists as own", user: s.bob, q: projections.SearchQuery{AccessClass: domain.Restricted},
			want: []string{"old", "assault"}},
		{name: "owner", user: s.admin, q: projections.SearchQuery{OwnerID: s.carol},
			want: []string{"old", "car", "oak", "fraud"}},
		{name: "owner seen through entries only", user: s.bob, q: projections.SearchQuery{OwnerID: s.carol},
			want: []string{"old", "fraud"}},
		{name: "locked: owner filter on itself keeps its own cases", user: s.ann, wantLocked: true,
			q: projections.SearchQuery{OwnerID: s.ann}, want: []string{"bike"}},
		{name: "locked: another owner keeps the cases on its list that owner owns", user: s.ann, wantLocked: true,
			q: projections.SearchQuery{OwnerID: s.carol}, want: []string{"car", "oak"}},
		{name: "locked: class and text", user: s.ann, wantLocked: true,
			q: projections.SearchQuery{AccessClass: domain.Restricted, Text: "oak"}, want: []string{"oak"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			if at.IsZero() {
				at = now
			}
			got, res := s.search(tt.user, tt.q, at)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantLocked, res.OwnerFilterLocked)
			assert.Empty(t, res.NextCursor)
		})
	}
}

func TestSearchPages(t *testing.T) {
	s := newSearchWorld(t)
	got, res := s.search(s.admin, projections.SearchQuery{Limit: 3}, s.now)
	assert.Equal(t, []string{"old", "car", "bike"}, got)
	require.NotEmpty(t, res.NextCursor)

	s.names[s.newCase(s.admin, "Newer case", "", domain.Unrestricted)] = "newer"
	got, res = s.search(s.admin, projections.SearchQuery{Limit: 3, Cursor: res.NextCursor}, s.now)
	assert.Equal(t, []string{"cartel", "oak", "assault"}, got, "a new case does not move the cursor")
	got, res = s.search(s.admin, projections.SearchQuery{Limit: 3, Cursor: res.NextCursor}, s.now)
	assert.Equal(t, []string{"fraud", "elm"}, got)
	assert.Empty(t, res.NextCursor)

	got, res = s.search(s.ann, projections.SearchQuery{Limit: 2}, s.now)
	assert.Equal(t, []string{"car", "bike"}, got)
	got, res = s.search(s.ann, projections.SearchQuery{Limit: 2, Cursor: res.NextCursor}, s.now)
	assert.Equal(t, []string{"cartel", "oak"}, got)
	assert.Empty(t, res.NextCursor, "exactly a page left: no further page")

	got, _ = s.search(s.admin, projections.SearchQuery{}, s.now)
	assert.Len(t, got, 9, "limit 0 means the default")
}

func TestSearchRefusesBadQueries(t *testing.T) {
	s := newSearchWorld(t)
	_, res := s.search(s.admin, projections.SearchQuery{Limit: 1}, s.now)
	metroCursor := res.NextCursor // after "old"
	require.NotEmpty(t, metroCursor)
	_, err := s.cases.Search(s.subject(s.bob), projections.SearchQuery{Cursor: metroCursor}, s.now)
	require.NoError(t, err, "bob lists old")
	_, err = s.cases.Search(s.subject(s.ann), projections.SearchQuery{Cursor: metroCursor}, s.now)
	assert.ErrorIs(t, err, projections.ErrInvalidCursor, "ann may not list old: its existence is not revealed")

	tests := []struct {
		name    string
		q       projections.SearchQuery
		wantErr error
	}{
		{"not base64", projections.SearchQuery{Cursor: "not a cursor!"}, projections.ErrInvalidCursor},
		{"not a case id", projections.SearchQuery{Cursor: "AAAA"}, projections.ErrInvalidCursor},
		{"a case of another organization", projections.SearchQuery{Cursor: metroCursor}, projections.ErrInvalidCursor},
		{"no such class", projections.SearchQuery{AccessClass: "secret"}, domain.ErrInvalidAccessClass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.cases.Search(s.subject(s.countyAdmin), tt.q, s.now)
			assert.ErrorIs(t, err, tt.wantErr)
			assert.ErrorIs(t, err, projections.ErrInvalidQuery)
		})
	}
}

// TestSearchFollowsChanges: class, owner and list changes move cases in
// and out of a subject's results.
func TestSearchFollowsChanges(t *testing.T) {
	s := newSearchWorld(t)
	bob := func() []string { got, _ := s.search(s.bob, projections.SearchQuery{}, s.now); return got }
	ann := func() []string { got, _ := s.search(s.ann, projections.SearchQuery{}, s.now); return got }

	s.setClass(s.admin, s.elm, domain.Confidential)
	assert.Equal(t, []string{"old", "bike", "assault", "fraud"}, bob(), "bob lists no confidential case")
	s.setClass(s.admin, s.elm, domain.Unrestricted)
	assert.Equal(t, []string{"old", "bike", "assault", "fraud", "elm"}, bob())

	s.setOwner(s.admin, s.fraud, s.ann)
	assert.Equal(t, []string{"car", "bike", "cartel", "oak", "fraud"}, ann(), "ann owns fraud now")
	s.setOwner(s.admin, s.bike, s.zed)
	assert.Equal(t, []string{"car", "cartel", "oak", "fraud"}, ann(), "ann no longer owns bike")

	s.leave(s.admin, s.detectives, s.ann)
	assert.Equal(t, []string{"car", "oak", "fraud"}, ann(), "the group's entry no longer acts for ann")
	s.modify(s.carol, s.car, uuid.Nil, domain.UserPrincipal(s.ann), domain.LevelView, s.now.Add(time.Minute))
	s.now = s.now.Add(2 * time.Minute)
	assert.Equal(t, []string{"oak", "fraud"}, ann(), "expired, not yet recorded")
	s.expire(s.car, uuid.Nil, domain.UserPrincipal(s.ann), s.now.Add(-time.Minute))
	assert.Equal(t, []string{"oak", "fraud"}, ann(), "expiry recorded")
	s.grant(s.carol, s.car, uuid.Nil, domain.LevelRole, time.Time{}, domain.UserPrincipal(s.ann))
	assert.Equal(t, []string{"car", "oak", "fraud"}, ann(), "granted again")

	s.setUser(s.admin, s.ann, uuid.Nil, false)
	assert.Equal(t, []string{}, ann(), "inactive")
}

// TestSearchMatchesTheRules drives random histories through the domain
// and compares every search, page by page, with the definition: every case
// of the organization that domain.CanList allows and the query matches (in
// the title, or in the description when domain.CanView allows), newest
// first.
func TestSearchMatchesTheRules(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { checkRandomHistory(t, seed) })
	}
}

func checkRandomHistory(t *testing.T, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	w := newWorld(t)
	cases := projections.NewCases()
	w.projs = append(w.projs, cases)
	org, admin := w.org("Metro")
	_, otherAdmin := w.org("Other")
	var roles []uuid.UUID
	for i := range 4 {
		roles = append(roles, w.role(admin, fmt.Sprint("role ", i), randomPermissions(rnd)))
	}
	users := []uuid.UUID{admin}
	for i := range 8 {
		users = append(users, w.user(admin, fmt.Sprint("user ", i), roles[rnd.IntN(len(roles))], ""))
	}
	groups := []uuid.UUID{w.group(admin, "g1"), w.group(admin, "g2"), w.group(admin, "g3")}
	words := []string{"burglary", "fraud", "assault", "arson", "theft"}
	classesOf := []domain.AccessClass{domain.Unrestricted, domain.Restricted, domain.Confidential}
	var created []uuid.UUID
	pick := func(ids []uuid.UUID) uuid.UUID { return ids[rnd.IntN(len(ids))] }
	principal := func() domain.Principal {
		if rnd.IntN(3) == 0 {
			return domain.GroupPrincipal(pick(groups))
		}
		return domain.UserPrincipal(pick(users))
	}
	try := func(c uuid.UUID, cmd domain.Command) {
		events, err := fold[domain.Case](w, domain.CaseStream(c)).Decide(cmd)
		if err == nil {
			w.record(domain.CaseStream(c), w.actorOf(admin), events...)
		}
	}
	expiry := func() time.Time {
		switch rnd.IntN(3) {
		case 0:
			return w.now.Add(time.Duration(1+rnd.IntN(60)) * time.Minute)
		}
		return time.Time{}
	}
	for range 300 {
		w.tick()
		switch op := rnd.IntN(10); {
		case op < 3 || len(created) == 0:
			created = append(created, w.newCase(admin, words[rnd.IntN(len(words))]+fmt.Sprint(" ", len(created)),
				words[rnd.IntN(len(words))], classesOf[rnd.IntN(3)]))
			if rnd.IntN(2) == 0 {
				w.setOwner(admin, created[len(created)-1], pick(users))
			}
		case op < 5:
			c := pick(created)
			try(c, domain.GrantAccess{CaseID: c, Grants: []domain.Grant{{Principal: principal(), PrincipalOrgID: org,
				Level: domain.LevelView, ExpiresAt: expiry()}}, Actor: w.subject(admin), Now: w.now})
		case op == 5:
			c := pick(created)
			try(c, domain.RemoveAccess{CaseID: c, Principal: principal(), Actor: w.subject(admin), Now: w.now})
		case op == 6:
			c := pick(created)
			try(c, domain.ChangeAccessClass{CaseID: c, AccessClass: classesOf[rnd.IntN(3)], Actor: w.subject(admin), Now: w.now})
		case op == 7:
			c := pick(created)
			edit := domain.EditCase{CaseID: c, Owner: domain.Some(pick(users)), OwnerOrgID: org, Actor: w.subject(admin), Now: w.now}
			switch rnd.IntN(3) { // a new title or description: the search text follows it
			case 0:
				edit.Title = domain.Some(words[rnd.IntN(len(words))] + " renamed")
			case 1:
				edit.Description = domain.Some(strings.ToUpper(words[rnd.IntN(len(words))]))
			}
			try(c, edit)
		case op == 8:
			g, u := pick(groups), pick(users[1:])
			if fold[domain.Group](w, domain.GroupStream(g)).HasMember(u) {
				w.leave(admin, g, u)
			} else {
				w.join(admin, g, u)
			}
		default:
			c := pick(created)
			p := principal()
			if e, on := fold[domain.Case](w, domain.CaseStream(c)).Access.Find(p); on && !e.ExpiresAt.IsZero() {
				try(c, domain.RecordAccessExpiry{CaseID: c, Principal: p, ExpiresAt: e.ExpiresAt, Now: w.now})
			}
		}
	}
	w.newCase(otherAdmin, "burglary elsewhere", "", domain.Unrestricted)

	for _, u := range users {
		s := w.subject(u)
		for _, q := range []projections.SearchQuery{
			{},
			{Text: words[rnd.IntN(len(words))]},
			{AccessClass: classesOf[rnd.IntN(3)]},
			{OwnerID: pick(users)},
			{OwnerID: u, Text: "1"},
		} {
			at := w.now.Add(time.Duration(rnd.IntN(40)-20) * time.Minute)
			var want []uuid.UUID
			for _, c := range slices.Backward(created) {
				if v, _ := cases.Case(c); matchesSearch(s, v.Case, q, at) {
					want = append(want, c)
				}
			}
			q.Limit = 1 + rnd.IntN(7)
			require.Equal(t, want, searchAll(t, cases, s, q, at, len(created)+1), "user %s query %+v", u, q)
		}
	}
}

// matchesSearch is what a search means: c is found by q for s at when it
// has q's class and owner (if given), domain.CanList allows it, and q's
// text is in its title, or in its description where domain.CanView allows.
func matchesSearch(s domain.Subject, c domain.Case, q projections.SearchQuery, at time.Time) bool {
	text := strings.ToLower(q.Text)
	return (q.AccessClass == "" || c.AccessClass == q.AccessClass) &&
		(q.OwnerID == uuid.Nil || c.OwnerID == q.OwnerID) &&
		domain.CanList(s, c, at) &&
		(strings.Contains(strings.ToLower(c.Title), text) ||
			strings.Contains(strings.ToLower(c.Description), text) && domain.CanView(s, c, at))
}

// searchAll runs q page by page, each page at most q.Limit long, and
// returns the ids found; the cursor must reach the end within maxPages.
func searchAll(t *testing.T, cases *projections.Cases, s domain.Subject, q projections.SearchQuery, at time.Time, maxPages int) []uuid.UUID {
	t.Helper()
	var got []uuid.UUID
	for pages := 0; ; pages++ {
		require.Less(t, pages, maxPages, "the cursor does not advance")
		res, err := cases.Search(s, q, at)
		require.NoError(t, err)
		require.LessOrEqual(t, len(res.Items), q.Limit)
		for _, item := range res.Items {
			got = append(got, item.ID)
		}
		if res.NextCursor == "" {
			return got
		}
		q.Cursor = res.NextCursor
	}
}
