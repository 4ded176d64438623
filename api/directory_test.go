package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var investigator = map[string]any{
	"cases": map[string]any{
		"list": map[string]any{"unrestricted": "all", "restricted": "own"},
		"view": map[string]any{"unrestricted": "allow", "restricted": "allow"},
	},
	"evidence": map[string]any{"list": map[string]any{"unrestricted": "all"}, "view": map[string]any{"unrestricted": "allow"}},
	"actions":  []string{"cases.create", "cases.edit", "evidence.add", "cases.access.manage"},
}

func TestCreateOrganization(t *testing.T) {
	h := newHarness(t)
	o := h.newOrg("metro")
	got := h.must(http.StatusOK, o.AdminID, "GET", "/v1/orgs/"+o.ID, nil)
	assert.Equal(t, "metro", got["name"])
	me := h.must(http.StatusOK, o.AdminID, "GET", "/v1/me", nil)
	assert.Equal(t, o.ID, me["orgId"])
	assert.Equal(t, "Administrator", me["role"].(map[string]any)["name"])

	// Only operators create organizations; users are refused.
	r := h.do(o.AdminID, "POST", "/v1/orgs", map[string]any{"name": "x", "admin": map[string]any{"name": "a", "email": "a@b"}})
	assert.Equal(t, http.StatusForbidden, r.Code)
	assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	o := h.newOrg("metro")
	assert.Equal(t, http.StatusUnauthorized, h.do("", "GET", "/v1/me", nil).Code, "no token")
	assert.Equal(t, http.StatusUnauthorized, h.do("nobody", "GET", "/v1/me", nil).Code, "unknown subject")
	tampered := h.token(o.AdminID)
	tampered = tampered[:len(tampered)-3] + "abc"
	r := h.do("", "GET", "/v1/me", nil, "Authorization", "Bearer "+tampered)
	assert.Equal(t, http.StatusUnauthorized, r.Code, "tampered signature")
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + "eyJzdWIiOiJvcGVyYXRvciIsImV4cCI6NDEwMjQ0NDgwMH0."
	assert.Equal(t, http.StatusUnauthorized, h.do("", "GET", "/v1/me", nil, "Authorization", "Bearer "+none).Code, "alg none")
	assert.Equal(t, http.StatusOK, h.do("", "GET", "/healthz", nil).Code)
	assert.Equal(t, http.StatusUnauthorized, h.do("", "GET", "/metrics", nil).Code)
	assert.Equal(t, http.StatusForbidden, h.do(o.AdminID, "GET", "/metrics", nil).Code)
	assert.Equal(t, http.StatusOK, h.do("operator", "GET", "/metrics", nil).Code)
}

func TestUsersRolesGroups(t *testing.T) {
	h := newHarness(t)
	o := h.newOrg("metro")
	role := h.newRole(o, "Investigator", investigator)
	dana := h.newUser(o, "dana", role)
	assert.Equal(t, http.StatusForbidden, h.do(dana, "GET", "/v1/users", nil).Code, "needs org.admin")
	users := h.must(http.StatusOK, o.AdminID, "GET", "/v1/users", nil)["items"].([]any)
	assert.Len(t, users, 2)

	g := h.must(http.StatusCreated, o.AdminID, "POST", "/v1/groups", map[string]any{"name": "Burglary"})
	gid := g["id"].(string)
	h.must(http.StatusOK, o.AdminID, "POST", "/v1/groups/"+gid+"/members", map[string]any{"userId": dana})
	me := h.must(http.StatusOK, dana, "GET", "/v1/me", nil)
	require.Len(t, me["groups"], 1)
	h.must(http.StatusOK, o.AdminID, "DELETE", "/v1/groups/"+gid+"/members/"+dana, nil)
	assert.Len(t, h.must(http.StatusOK, dana, "GET", "/v1/me", nil)["groups"], 0)

	// Deactivated users are unknown to authentication from the next request on.
	h.must(http.StatusOK, o.AdminID, "PATCH", "/v1/users/"+dana, map[string]any{"active": false})
	assert.Equal(t, http.StatusUnauthorized, h.do(dana, "GET", "/v1/me", nil).Code)

	// The last active administrator cannot deactivate itself.
	r := h.do(o.AdminID, "PATCH", "/v1/users/"+o.AdminID, map[string]any{"active": false})
	assert.Equal(t, http.StatusUnprocessableEntity, r.Code, string(r.Body))
}

func TestSubjectsAreUnique(t *testing.T) {
	h := newHarness(t)
	o := h.newOrg("metro")
	role := h.newRole(o, "Investigator", investigator)
	h.must(http.StatusCreated, o.AdminID, "POST", "/v1/users", map[string]any{"name": "a", "email": "a@x", "roleId": role, "subject": "dana@idp"})
	r := h.do(o.AdminID, "POST", "/v1/users", map[string]any{"name": "b", "email": "b@x", "roleId": role, "subject": "dana@idp"})
	assert.Equal(t, http.StatusConflict, r.Code, string(r.Body))
	r = h.do(o.AdminID, "POST", "/v1/users", map[string]any{"name": "b", "email": "b@x", "roleId": role, "subject": "operator"})
	assert.Equal(t, http.StatusBadRequest, r.Code, string(r.Body))
	h.must(http.StatusOK, "dana@idp", "GET", "/v1/me", nil)
}

func TestBadInputAppendsNothing(t *testing.T) {
	h := newHarness(t)
	o := h.newOrg("metro")
	before := h.head()
	for name, body := range map[string]string{
		"malformed":     `{"name":`,
		"unknown field": `{"name":"x","permissions":{},"colour":"red"}`,
		"wrong type":    `{"name":42}`,
		"missing":       `{}`,
		"bad enum":      `{"name":"x","permissions":{"cases":{"list":{"unrestricted":"everything"}}}}`,
		"empty":         ``,
		"trailing":      `{"name":"x"} {}`,
	} {
		r := h.do(o.AdminID, "POST", "/v1/roles", body)
		assert.Equal(t, http.StatusBadRequest, r.Code, "%s: %s", name, r.Body)
		assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), name)
		assert.NotEmpty(t, r.JSON(t)["errors"], name)
	}
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	assert.Equal(t, http.StatusRequestEntityTooLarge, h.do(o.AdminID, "POST", "/v1/roles", big).Code)
	assert.Equal(t, before, h.head(), "nothing appended")
}

func TestIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	o := h.newOrg("metro")
	body := map[string]any{"name": "Clerk", "permissions": map[string]any{}}
	first := h.do(o.AdminID, "POST", "/v1/roles", body, "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, first.Code)
	head := h.head()
	again := h.do(o.AdminID, "POST", "/v1/roles", body, "Idempotency-Key", "k1")
	assert.Equal(t, http.StatusCreated, again.Code)
	assert.JSONEq(t, string(first.Body), string(again.Body))
	assert.Equal(t, first.Header.Get("Custodian-Position"), again.Header.Get("Custodian-Position"))
	assert.Equal(t, head, h.head(), "a retry appends nothing")
	other := h.do(o.AdminID, "POST", "/v1/roles", map[string]any{"name": "Other", "permissions": map[string]any{}}, "Idempotency-Key", "k1")
	assert.Equal(t, http.StatusUnprocessableEntity, other.Code)
}

func TestConsistencyHeader(t *testing.T) {
	h := newHarness(t)
	o := h.newOrg("metro")
	r := h.do(o.AdminID, "GET", "/v1/me", nil, "Custodian-Consistency", "nonsense")
	assert.Equal(t, http.StatusBadRequest, r.Code)
	pos := h.head().String()
	assert.Equal(t, http.StatusOK, h.do(o.AdminID, "GET", "/v1/me", nil, "Custodian-Consistency", pos).Code)
}
