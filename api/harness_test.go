package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/api"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/embedded"
	"github.com/custodian/custodian/projections"
)

// harness is a real api server over an embedded store in a temp dir, with
// every read model, driven through httptest.
type harness struct {
	t       *testing.T
	store   *embedded.Store
	runner  *projections.Runner
	auth    *api.Authenticator
	handler http.Handler
	now     func() time.Time
}

const testSecret = "0123456789abcdef0123456789abcdef-test-secret"

func newHarness(t *testing.T) *harness {
	t.Helper()
	store, err := embedded.Open(t.TempDir(), embedded.Options{})
	require.NoError(t, err)
	now := time.Now
	runner := projections.NewRunner(store, now, projections.ReadModels()...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = runner.Run(ctx) }()
	auth, err := api.NewAuthenticator(ctx, api.AuthConfig{Secret: []byte(testSecret), Operators: []string{"operator"}}, now)
	require.NoError(t, err)
	metrics := api.NewMetrics() // as serve has it: the store counts its appends
	h, err := api.NewServer(api.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: metrics.CountAppends(store),
		Runner: runner, Auth: auth, Now: now, Background: ctx, Metrics: metrics})
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		<-done
		store.Close()
	})
	return &harness{t: t, store: store, runner: runner, auth: auth, handler: h, now: now}
}

// token returns a valid token for sub.
func (h *harness) token(sub string) string {
	tok, err := h.auth.Token(sub, time.Hour)
	require.NoError(h.t, err)
	return tok
}

// response is a recorded answer.
type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r response) JSON(t *testing.T) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

// do sends a request as sub ("" for no token); body may be nil, a string
// (sent as is) or a value (sent as JSON).
func (h *harness) do(sub, method, path string, body any, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.t, err)
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if sub != "" {
		req.Header.Set("Authorization", "Bearer "+h.token(sub))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// must sends a request and requires the status.
func (h *harness) must(status int, sub, method, path string, body any, headers ...string) map[string]any {
	h.t.Helper()
	r := h.do(sub, method, path, body, headers...)
	require.Equal(h.t, status, r.Code, "%s %s: %s", method, path, r.Body)
	if len(r.Body) == 0 || r.Body[0] != '{' {
		return nil
	}
	return r.JSON(h.t)
}

// head is the store's last position.
func (h *harness) head() eventstore.Position {
	p, err := h.store.Head(context.Background())
	require.NoError(h.t, err)
	return p
}

// org is an organization set up through the api, with its administrator.
type org struct {
	ID, AdminID, AdminRoleID string
}

func (h *harness) newOrg(name string) org {
	out := h.must(http.StatusCreated, "operator", "POST", "/v1/orgs", map[string]any{"name": name,
		"admin": map[string]any{"name": name + " Admin", "email": "admin@" + name + ".example"}})
	return org{ID: out["id"].(string), AdminID: out["adminUserId"].(string), AdminRoleID: out["adminRoleId"].(string)}
}

// newRole creates a role in o with the permissions document and returns its id.
func (h *harness) newRole(o org, name string, permissions map[string]any) string {
	return h.must(http.StatusCreated, o.AdminID, "POST", "/v1/roles", map[string]any{"name": name, "permissions": permissions})["id"].(string)
}

// newUser creates a user of o with role and returns its id (its token subject).
func (h *harness) newUser(o org, name, role string) string {
	return h.must(http.StatusCreated, o.AdminID, "POST", "/v1/users", map[string]any{"name": name,
		"email": name + "@example.org", "roleId": role})["id"].(string)
}
