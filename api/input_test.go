package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A client's X-Request-Id is kept when it is printable ASCII of at most 128
// characters, and otherwise replaced: it goes into every event's metadata,
// and a header the client got wrong must not make a command fail.
func TestClientRequestID(t *testing.T) {
	w := newCaseWorld(t)
	for _, tc := range []struct {
		name, id string
		kept     bool
	}{
		{"printable", "req-42.A_b~", true},
		{"at the limit", strings.Repeat("r", 128), true},
		{"not UTF-8", "abc\xff", false},
		{"a space", "a b", false},
		{"a control character", "a\x01b", false},
		{"too long", strings.Repeat("r", 129), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.h.do(w.sup, "POST", "/v1/cases", `{"title":"x"}`, "X-Request-Id", tc.id)
			require.Equal(t, http.StatusCreated, r.Code, string(r.Body))
			got := r.Header.Get("X-Request-Id")
			if tc.kept {
				assert.Equal(t, tc.id, got)
			} else {
				assert.NotEqual(t, tc.id, got)
				assert.Len(t, got, 32, "a generated id")
			}
		})
	}
}

// Invalid input the domain refuses names its field in the problem's errors,
// as the decoder's refusals do, nested fields with their parent's name.
func TestDomainRefusalNamesTheField(t *testing.T) {
	w := newCaseWorld(t)
	caseID := w.createCase(w.sup, map[string]any{"title": "x"})["id"].(string)
	for _, tc := range []struct{ sub, method, path, body, field string }{
		{w.sup, "POST", "/v1/cases", `{"title":"a\u0001b"}`, "title"},
		{w.sup, "POST", "/v1/cases", `{"title":"` + strings.Repeat("t", 501) + `"}`, "title"},
		{w.admin, "POST", "/v1/users", `{"name":"u","email":"nope","roleId":"` + w.org.AdminRoleID + `"}`, "email"},
		{w.admin, "POST", "/v1/groups", `{"name":"` + strings.Repeat("x", 201) + `"}`, "name"},
		{w.sup, "POST", "/v1/cases/" + caseID + "/access", `{"entries":[{"principal":{"type":"user","id":"` + w.sup2 + `"},"level":"view"},` +
			`{"principal":{"type":"user","id":"` + w.sup2 + `"},"level":"view"}]}`, "entries[1].principal"},
		{w.sup, "POST", "/v1/cases/" + caseID + "/access", `{"entries":[{"principal":{"type":"user","id":"` + w.sup2 + `"},"level":"view",` +
			`"expiresAt":"2001-01-01T00:00:00Z"}]}`, "entries[0].expiresAt"},
		{"operator", "POST", "/v1/orgs", `{"name":"x","admin":{"name":"a","email":"nope"}}`, "admin.email"},
		{"operator", "POST", "/v1/orgs", `{"name":"x","admin":{"name":"a\u0001","email":"a@b"}}`, "admin.name"},
		{"operator", "POST", "/v1/orgs", `{"name":"x","admin":{"name":"a","email":"a@b","subject":"has space"}}`, "admin.subject"},
	} {
		before := w.h.head()
		r := w.h.do(tc.sub, tc.method, tc.path, tc.body)
		require.Equal(t, http.StatusBadRequest, r.Code, "%s %s: %s", tc.method, tc.path, r.Body)
		errs, _ := r.JSON(t)["errors"].([]any)
		require.Len(t, errs, 1, "%s %s: %s", tc.method, tc.path, r.Body)
		assert.Equal(t, tc.field, errs[0].(map[string]any)["field"], "%s %s", tc.method, tc.path)
		assert.NotEmpty(t, errs[0].(map[string]any)["message"])
		assert.Equal(t, before, w.h.head(), "%s %s appended", tc.method, tc.path)
	}
}

// The item access-list commands answer a caller who may not list an item as
// they answer for an item that does not exist, whatever the input: bad input
// must not reveal that a hidden item exists.
func TestEvidenceListCommandsRevealNothing(t *testing.T) {
	w := newCaseWorld(t)
	caseID := w.createCase(w.ownA, map[string]any{"title": "Alma's"})["id"].(string)
	ev := w.addEvidence(w.ownA, caseID, map[string]any{"title": "Note"})["id"].(string)
	missing := "01890000-0000-7000-8000-000000000000"
	for _, caller := range []string{w.ownB, w.outside, "operator"} {
		for _, rq := range []struct {
			method, suffix string
			body           any
		}{
			{"POST", "/access", map[string]any{}},
			{"POST", "/access", map[string]any{"entries": []any{userEntry(w.sup, "view")}}},
			{"PATCH", "/access/nobody/x", map[string]any{"level": "view"}},
			{"PATCH", "/access/user/" + w.sup, map[string]any{"level": "nope"}},
			{"PATCH", "/access/user/" + w.sup, map[string]any{"level": "view"}},
			{"DELETE", "/access/nobody/x", nil},
			{"DELETE", "/access/user/" + w.sup, nil},
		} {
			hidden := w.h.do(caller, rq.method, "/v1/evidence/"+ev+rq.suffix, rq.body)
			absent := w.h.do(caller, rq.method, "/v1/evidence/"+missing+rq.suffix, rq.body)
			assert.Equal(t, absent.Code, hidden.Code, "%s %s%s as %s", rq.method, "/v1/evidence/…", rq.suffix, caller)
			assert.JSONEq(t, string(absent.Body), string(hidden.Body), "%s …%s as %s", rq.method, rq.suffix, caller)
		}
	}
}

// Field names match exactly, as api.md spells them: another case is an
// unknown field, and so is a second spelling beside the right one.
func TestFieldNamesMatchExactly(t *testing.T) {
	w := newCaseWorld(t)
	for _, body := range []string{`{"TITLE":"x"}`, `{"Title":"x"}`, `{"title":"a","Title":"b"}`,
		`{"title":"x","accessclass":"restricted"}`} {
		before := w.h.head()
		r := w.h.do(w.sup, "POST", "/v1/cases", body)
		require.Equal(t, http.StatusBadRequest, r.Code, "%s: %s", body, r.Body)
		errs, _ := r.JSON(t)["errors"].([]any)
		require.Len(t, errs, 1, string(r.Body))
		assert.Equal(t, "unknown field", errs[0].(map[string]any)["message"], body)
		assert.Equal(t, before, w.h.head())
	}
	// Nested names too.
	caseID := w.createCase(w.sup, map[string]any{"title": "x"})["id"].(string)
	r := w.h.do(w.sup, "POST", "/v1/cases/"+caseID+"/access", `{"entries":[{"Principal":{"type":"user","id":"`+w.sup2+`"},"level":"view"}]}`)
	assert.Equal(t, http.StatusBadRequest, r.Code, string(r.Body))
}

// A query string is parsed strictly where an endpoint reads one: malformed,
// unknown or repeated parameters are 400s, never silently dropped.
func TestQueryStringsAreStrict(t *testing.T) {
	w := newCaseWorld(t)
	for _, tc := range []struct{ sub, path, field string }{
		{w.sup, "/v1/cases?cursor=%zz", "(query)"},
		{w.sup, "/v1/cases?q=a;b", "(query)"},
		{w.sup, "/v1/reports/cases?q=%", "(query)"},
		{w.sup, "/v1/me/notifications?limit=%zz", "(query)"},
		{w.sup, "/v1/me/notifications?page=2", "page"},
		{w.sup, "/v1/me/notifications?limit=5&limit=6", "limit"},
		{w.admin, "/v1/orgs?q=%zz", "(query)"},
		{w.admin, "/v1/orgs?name=x", "name"},
	} {
		r := w.h.do(tc.sub, "GET", tc.path, nil)
		require.Equal(t, http.StatusBadRequest, r.Code, "%s: %s", tc.path, r.Body)
		errs, _ := r.JSON(t)["errors"].([]any)
		require.NotEmpty(t, errs, tc.path)
		assert.Equal(t, tc.field, errs[0].(map[string]any)["field"], tc.path)
	}
	w.h.must(http.StatusOK, w.sup, "GET", "/v1/me/notifications?limit=5", nil)
	w.h.must(http.StatusOK, w.admin, "GET", "/v1/orgs?q=met", nil)
}

// HEAD is answered as the GET of the path, without the content.
func TestHeadIsGetWithoutContent(t *testing.T) {
	w := newCaseWorld(t)
	srv := httptest.NewServer(w.h.handler)
	defer srv.Close()
	head := func(path, sub string) *http.Response {
		req, err := http.NewRequest(http.MethodHead, srv.URL+path, nil)
		require.NoError(t, err)
		if sub != "" {
			req.Header.Set("Authorization", "Bearer "+w.h.token(sub))
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Empty(t, body, path)
		return resp
	}
	for _, path := range []string{"/healthz", "/readyz", "/v1/openapi.json"} {
		resp := head(path, "")
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, resp.Header.Get("Content-Type"), "application/json", path)
	}
	assert.Equal(t, http.StatusOK, head("/v1/cases", w.sup).StatusCode)
	assert.Equal(t, http.StatusUnauthorized, head("/v1/cases", "").StatusCode)
	assert.Equal(t, http.StatusNotFound, head("/v1/cases/01890000-0000-7000-8000-000000000000", w.sup).StatusCode)
}
