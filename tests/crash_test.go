package tests

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCrashRestart kills the server with SIGKILL while clients are writing,
// restarts it on the same data dir, and finds everything that was
// acknowledged: the directory, cases, evidence, access lists, group
// membership, notifications, and the answers recorded for Idempotency-Keys.
func TestCrashRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)

	o := s.newOrg(t, "Crash PD")
	nothing := s.newRole(t, o, "No Access", perms{}.doc())
	u := s.newUser(t, o, "Casey Crash", nothing)
	g := s.newGroup(t, o, "Crash Unit")
	s.addMember(t, o, g, u)
	c := s.newCase(t, o.Admin, map[string]any{"title": "crash: case", "description": "before the crash"})
	e := s.addEvidence(t, o.Admin, c, map[string]any{"title": "crash: evidence"})
	grantBody := map[string]any{"entries": []any{userEntry(u, "view")}}
	granted := s.do(t, o.Admin, "POST", "/v1/cases/"+c+"/access", grantBody, "Idempotency-Key", "crash-grant-1")
	require.Equal(t, http.StatusOK, granted.Status, "%s", granted)
	cls := s.must(t, http.StatusOK, o.Admin, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "restricted"})
	lastPos := positionNumber(t, str(cls, "position"))

	// Writers create cases until the kill; each acknowledged one is kept.
	var mu sync.Mutex
	acked := map[string]string{} // id → title
	var ackedMax uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				title := fmt.Sprintf("crash: burst %d-%d", w, i)
				r, err := s.try(o.Admin, "POST", "/v1/cases", map[string]any{"title": title})
				if err != nil {
					return // the server is gone: not acknowledged
				}
				if r.Status != http.StatusCreated {
					continue
				}
				mu.Lock()
				acked[str(r.JSON, "id")] = title
				if p, ok := parsePosition(r.Header.Get("Custodian-Position")); ok && p > ackedMax {
					ackedMax = p
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(300 * time.Millisecond)
	s.kill9()
	close(stop)
	wg.Wait()
	require.NotEmpty(t, acked, "the writers got no case acknowledged before the kill")
	t.Logf("%d cases acknowledged before SIGKILL", len(acked))

	s2 := startServer(t, dir)
	head := positionNumber(t, s2.head(t))
	assert.GreaterOrEqual(t, head, max(ackedMax, lastPos), "the log holds every acknowledged position")

	// Everything acknowledged before the kill is there.
	got := s2.must(t, http.StatusOK, o.Admin, "GET", "/v1/cases/"+c, nil)
	assert.Equal(t, "crash: case", str(got, "title"))
	assert.Equal(t, "before the crash", str(got, "description"))
	assert.Equal(t, "restricted", str(got, "accessClass"))
	assert.Equal(t, []string{e}, evidenceIDs(got))
	assert.Equal(t, "restricted", str(s2.must(t, http.StatusOK, o.Admin, "GET", "/v1/evidence/"+e, nil), "accessClass"))
	acl := s2.accessList(t, o.Admin, c)
	ue, on := entryFor(acl, "user", u)
	assert.True(t, on, "the grant survived: %v", acl)
	assert.Equal(t, "view", str(ue, "level"))
	_, on = entryFor(acl, "user", o.Admin)
	assert.True(t, on, "the actor's entry from the class change survived")
	assert.Equal(t, http.StatusOK, s2.do(t, u, "GET", "/v1/cases/"+c, nil).Status, "the user's access survived")
	me := s2.must(t, http.StatusOK, u, "GET", "/v1/me", nil)
	assert.Len(t, me["groups"], 1, "group membership survived")
	var kinds []string
	for _, n := range s2.notifications(t, u) {
		kinds = append(kinds, str(n, "kind"))
	}
	assert.Equal(t, []string{"class-applied", "access-granted"}, kinds)

	missing := 0
	for id, title := range acked {
		r := s2.do(t, o.Admin, "GET", "/v1/cases/"+id, nil)
		if r.Status != http.StatusOK || str(r.JSON, "title") != title {
			missing++
			t.Errorf("acknowledged case %s (%q) after restart: %s", id, title, r)
		}
	}
	assert.Zero(t, missing)
	ids, _ := s2.search(t, o.Admin, q("crash: burst")+"&limit=200")
	assert.GreaterOrEqual(t, len(ids), len(acked), "search holds every acknowledged case")

	// The Idempotency-Key survives the restart: the retry answers the first
	// answer and appends nothing.
	before := s2.head(t)
	again := s2.do(t, o.Admin, "POST", "/v1/cases/"+c+"/access", grantBody, "Idempotency-Key", "crash-grant-1")
	assert.Equal(t, granted.Status, again.Status)
	assert.JSONEq(t, string(granted.Body), string(again.Body))
	assert.Equal(t, granted.Header.Get("Custodian-Position"), again.Header.Get("Custodian-Position"))
	assert.Equal(t, before, s2.head(t), "a retried command appends nothing")
	other := s2.do(t, o.Admin, "POST", "/v1/cases/"+c+"/access", map[string]any{"entries": []any{userEntry(u, "role")}},
		"Idempotency-Key", "crash-grant-1")
	assert.Equal(t, http.StatusUnprocessableEntity, other.Status, "the same key with another body: %s", other)
	assert.Equal(t, before, s2.head(t))

	// And the restarted server takes new writes.
	after := s2.newCase(t, o.Admin, map[string]any{"title": "crash: after restart"})
	assert.Equal(t, http.StatusOK, s2.do(t, o.Admin, "GET", "/v1/cases/"+after, nil).Status)
}
