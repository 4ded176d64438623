package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOperations: the operator's view of a running server (api.md
// "Operations"): health, readiness with the log's head, projection status
// at that head, and Prometheus metrics.
func TestOperations(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Ops PD")
	c := s.newCase(t, o.Admin, map[string]any{"title": "ops: case"})
	require.NotEmpty(t, c)

	h := s.must(t, http.StatusOK, "", "GET", "/healthz", nil)
	assert.NotEmpty(t, h)
	head := s.head(t)
	assert.Greater(t, positionNumber(t, head), uint64(0))

	// The projections reach the head (bounded), each live with no lag.
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := s.must(t, http.StatusOK, operatorSub, "GET", "/v1/ops/projections", nil)
		items, ok := out["items"].([]any)
		require.True(t, ok, "items: %v", out)
		require.NotEmpty(t, items)
		caughtUp := true
		names := map[string]bool{}
		for _, it := range items {
			p := it.(map[string]any)
			names[str(p, "name")] = true
			for _, k := range []string{"name", "version", "state", "checkpoint", "lag", "eventsPerSecond"} {
				assert.Contains(t, p, k, "projection status field %s: %v", k, p)
			}
			assert.Equal(t, "live", str(p, "state"), "%v", p)
			assert.Empty(t, p["error"], "%v", p)
			if str(p, "checkpoint") != head || p["lag"] != float64(0) {
				caughtUp = false
			}
		}
		for _, n := range []string{"directory", "cases", "notifications"} {
			assert.True(t, names[n], "projection %s is reported: %v", n, names)
		}
		if caughtUp {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("projections did not reach head %s: %v", head, out)
		}
		time.Sleep(50 * time.Millisecond)
	}

	r := s.do(t, operatorSub, "GET", "/metrics", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain"), r.Header.Get("Content-Type"))
	body := string(r.Body)
	assert.Contains(t, body, "# TYPE")
	assert.Contains(t, body, "_bucket{", "a latency histogram")

	// Every answer carries a request id.
	assert.NotEmpty(t, s.do(t, o.Admin, "GET", "/v1/me", nil).Header.Get("X-Request-Id"))
}

// TestConsistencyToken: a command answers with its position in the body and
// the Custodian-Position header; a query with Custodian-Consistency at that
// position answers, a malformed one is a 400, and one the read models never
// reach is a 503 after about 5 s.
func TestConsistencyToken(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Consistency PD")
	r := s.do(t, o.Admin, "POST", "/v1/cases", map[string]any{"title": "consistency: case"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r)
	pos := r.Header.Get("Custodian-Position")
	require.NotEmpty(t, pos)
	assert.Equal(t, pos, str(r.JSON, "position"), "the body and the header hold the same position")

	got := s.do(t, o.Admin, "GET", "/v1/cases/"+str(r.JSON, "id"), nil, "Custodian-Consistency", pos)
	assert.Equal(t, http.StatusOK, got.Status, "%s", got)
	bad := s.do(t, o.Admin, "GET", "/v1/me", nil, "Custodian-Consistency", "yesterday")
	assertProblem(t, bad, http.StatusBadRequest, "malformed Custodian-Consistency")

	s.allow5xx(http.StatusServiceUnavailable)
	future := strconv.FormatUint(positionNumber(t, pos)+1_000_000, 10)
	start := time.Now()
	late := s.do(t, o.Admin, "GET", "/v1/me", nil, "Custodian-Consistency", future)
	took := time.Since(start)
	assertProblem(t, late, http.StatusServiceUnavailable, "a position the read models do not reach")
	assert.GreaterOrEqual(t, took, 4500*time.Millisecond, "it waits about 5 s (api.md)")
	assert.Less(t, took, 10*time.Second, "it waits about 5 s (api.md)")
}

// TestRefusedAttemptsRecorded: every 403, and every 404 that hides
// something that exists, is appended to the organization's audit stream
// (seen here as the log's head moving), rate-limited per actor; a 404 for
// nothing and invalid input append nothing.
func TestRefusedAttemptsRecorded(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Refusals PD")
	nothing := s.newRole(t, o, "No Access", perms{}.doc())
	u := s.newUser(t, o, "Rex Refused", nothing)
	c := s.newCase(t, o.Admin, map[string]any{"title": "refusals: case"})

	moved := func(f func()) int {
		t.Helper()
		before := positionNumber(t, s.head(t))
		f()
		return int(positionNumber(t, s.head(t)) - before)
	}
	assert.Equal(t, 0, moved(func() {
		assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/cases/0190a0a0-0000-7000-8000-0000000000aa", nil).Status)
	}), "a 404 for a case that does not exist records nothing")
	assert.Equal(t, 0, moved(func() {
		assert.Equal(t, http.StatusBadRequest, s.do(t, u, "POST", "/v1/cases", `{"title":`).Status)
	}), "invalid input records nothing")
	assert.Equal(t, 1, moved(func() {
		assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/cases/"+c, nil).Status)
	}), "a 404 hiding an existing case is recorded")
	assert.Equal(t, 1, moved(func() {
		assert.Equal(t, http.StatusForbidden, s.do(t, u, "GET", "/v1/users", nil).Status)
	}), "a 403 is recorded")
	n := moved(func() {
		for i := 0; i < 40; i++ {
			assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/cases/"+c, nil).Status)
		}
	})
	assert.Less(t, n, 40, "refusals are rate-limited per actor")
	assert.Equal(t, 1, moved(func() {
		assert.Equal(t, http.StatusForbidden, s.do(t, o.Admin, "GET", "/metrics", nil).Status)
	}), "another actor's refusal is recorded")
}

// TestGracefulShutdown: on SIGTERM the server finishes the request in
// flight before it exits cleanly. The request is a command whose body is
// still arriving when the signal comes, so it can only succeed if the server
// lets it finish: it answers 201 and the case is there after a restart.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	o := s.newOrg(t, "Shutdown PD")
	type answer struct {
		r   response
		err error
	}
	done := make(chan answer, 1)
	body, rest := io.Pipe()
	go func() {
		r, err := s.try(o.Admin, "POST", "/v1/cases", body)
		done <- answer{r, err}
	}()
	const title = `{"title":"Finished after SIGTERM"}`
	_, err := rest.Write([]byte(title[:10])) // returns once the client has taken it
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond) // the server has the headers and waits for the body
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(300 * time.Millisecond) // the shutdown has begun
	_, err = rest.Write([]byte(title[10:]))
	require.NoError(t, err)
	require.NoError(t, rest.Close())
	var a answer
	select {
	case a = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the request in flight")
	}
	require.NoError(t, a.err, "the request in flight was cut off")
	require.Equal(t, http.StatusCreated, a.r.Status, "%s", a.r)
	var created struct{ ID string }
	require.NoError(t, json.Unmarshal(a.r.Body, &created))
	s.stop() // requires a clean exit

	again := startServer(t, dir)
	again.must(t, http.StatusOK, o.Admin, "GET", "/v1/cases/"+created.ID, nil)
}
