package tests

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// badBody is one invalid request body and the field its 400 must name
// ("" when any field, or none, will do).
type badBody struct {
	name, body, field string
}

// commandEndpoint is a command endpoint with a body, a caller who may use
// it, a valid body (sent last, to show that the endpoint and the head
// measure work) and its endpoint-specific invalid bodies.
type commandEndpoint struct {
	route        string
	sub          string
	method, path string
	valid        string
	validStatus  int
	// wrongType, missing and badEnum are the endpoint's own bad bodies; a
	// zero badBody means the endpoint has nothing of that kind (no required
	// field, no enumeration).
	wrongType, missing, badEnum badBody
	// badPath is path with a malformed id, when it has one.
	badPath string
}

// TestBadInput sends, to every command endpoint with a body, malformed
// JSON, unknown fields, wrong types, missing fields, values outside an
// enumeration and bodies over 1 MiB: each is a 4xx application/problem+json
// (400 with errors naming the field; 413 for the size), never a 5xx, and
// nothing is appended to the log.
func TestBadInput(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Bad Input PD")
	role := s.newRole(t, o, "Plain", perms{}.doc())
	spare := s.newRole(t, o, "Spare", perms{}.doc())
	u := s.newUser(t, o, "Bea Bad", role)
	u2 := s.newUser(t, o, "Ben Bad", role)
	g := s.newGroup(t, o, "Bad Group")
	c := s.newCase(t, o.Admin, map[string]any{"title": "bad-input: case"})
	e := s.addEvidence(t, o.Admin, c, map[string]any{"title": "bad-input: evidence"})
	s.grant(t, o.Admin, c, userEntry(u, "view"))
	s.must(t, http.StatusOK, o.Admin, "POST", "/v1/evidence/"+e+"/access", map[string]any{"entries": []any{userEntry(u, "view")}})

	entry := `{"principal":{"type":"user","id":"` + u2 + `"},"level":"view"}`
	badLevel := `{"entries":[{"principal":{"type":"user","id":"` + u2 + `"},"level":"admin"}]}`
	admin := o.Admin
	endpoints := []commandEndpoint{
		{route: "POST /v1/orgs", sub: operatorSub, method: "POST", path: "/v1/orgs",
			valid: `{"name":"Bad Input Two","admin":{"name":"Two Admin","email":"two@bad.example"}}`, validStatus: 201,
			wrongType: badBody{"wrong type", `{"name":42,"admin":{"name":"a","email":"a@b.example"}}`, "name"},
			missing:   badBody{"missing", `{"admin":{"name":"a","email":"a@b.example"}}`, "name"}},
		{route: "POST /v1/roles", sub: admin, method: "POST", path: "/v1/roles",
			valid: `{"name":"Clerk","permissions":{}}`, validStatus: 201,
			wrongType: badBody{"wrong type", `{"name":42,"permissions":{}}`, "name"},
			missing:   badBody{"missing", `{"permissions":{}}`, "name"},
			badEnum:   badBody{"bad enum", `{"name":"x","permissions":{"cases":{"list":{"unrestricted":"everything"}}}}`, "permissions"}},
		{route: "PUT /v1/roles/{id}", sub: admin, method: "PUT", path: "/v1/roles/" + spare, badPath: "/v1/roles/not-a-uuid",
			valid: `{"name":"Spare","permissions":{"cases":{"list":{"unrestricted":"own"}}}}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"name":"Spare","permissions":[]}`, "permissions"},
			missing:   badBody{"missing", `{"permissions":{}}`, "name"},
			badEnum:   badBody{"bad enum", `{"name":"Spare","permissions":{"actions":["cases.destroy"]}}`, "permissions"}},
		{route: "POST /v1/users", sub: admin, method: "POST", path: "/v1/users",
			valid: `{"name":"Cal New","email":"cal@bad.example","roleId":"` + role + `"}`, validStatus: 201,
			wrongType: badBody{"wrong type", `{"name":"x","email":"x@bad.example","roleId":7}`, "roleId"},
			missing:   badBody{"missing", `{"name":"x","email":"x@bad.example"}`, "roleId"}},
		{route: "PATCH /v1/users/{id}", sub: admin, method: "PATCH", path: "/v1/users/" + u2, badPath: "/v1/users/not-a-uuid",
			valid: `{"roleId":"` + spare + `"}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"active":"yes"}`, "active"},
			missing:   badBody{"missing", `{}`, ""}},
		{route: "POST /v1/groups", sub: admin, method: "POST", path: "/v1/groups",
			valid: `{"name":"Second Group"}`, validStatus: 201,
			wrongType: badBody{"wrong type", `{"name":["a"]}`, "name"},
			missing:   badBody{"missing", `{}`, "name"}},
		{route: "POST /v1/groups/{id}/members", sub: admin, method: "POST", path: "/v1/groups/" + g + "/members", badPath: "/v1/groups/not-a-uuid/members",
			valid: `{"userId":"` + u + `"}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"userId":42}`, "userId"},
			missing:   badBody{"missing", `{}`, "userId"}},
		{route: "POST /v1/cases", sub: admin, method: "POST", path: "/v1/cases",
			valid: `{"title":"bad-input: valid case"}`, validStatus: 201,
			wrongType: badBody{"wrong type", `{"title":42}`, "title"},
			missing:   badBody{"missing", `{"description":"no title"}`, "title"},
			badEnum:   badBody{"bad enum", `{"title":"x","accessClass":"secret"}`, "accessClass"}},
		{route: "PATCH /v1/cases/{id}", sub: admin, method: "PATCH", path: "/v1/cases/" + c, badPath: "/v1/cases/not-a-uuid",
			valid: `{"title":"bad-input: case renamed"}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"title":42}`, "title"},
			missing:   badBody{"missing (null title)", `{"title":null}`, "title"}},
		{route: "POST /v1/cases/{id}/folders", sub: admin, method: "POST", path: "/v1/cases/" + c + "/folders", badPath: "/v1/cases/not-a-uuid/folders",
			valid: `{"name":"Photos"}`, validStatus: 201,
			wrongType: badBody{"wrong type", `{"name":true}`, "name"},
			missing:   badBody{"missing", `{}`, "name"}},
		{route: "POST /v1/cases/{id}/evidence", sub: admin, method: "POST", path: "/v1/cases/" + c + "/evidence", badPath: "/v1/cases/not-a-uuid/evidence",
			valid: `{"title":"bad-input: valid item"}`, validStatus: 201,
			wrongType: badBody{"wrong type", `{"title":"x","sizeBytes":"big"}`, "sizeBytes"},
			missing:   badBody{"missing", `{"mediaType":"image/jpeg"}`, "title"},
			badEnum:   badBody{"bad enum", `{"title":"x","accessClass":"top-secret"}`, "accessClass"}},
		{route: "PUT /v1/cases/{id}/access-class", sub: admin, method: "PUT", path: "/v1/cases/" + c + "/access-class", badPath: "/v1/cases/not-a-uuid/access-class",
			valid: `{"accessClass":"restricted"}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"accessClass":2}`, "accessClass"},
			missing:   badBody{"missing", `{}`, "accessClass"},
			badEnum:   badBody{"bad enum", `{"accessClass":"secret"}`, "accessClass"}},
		{route: "POST /v1/cases/{id}/access", sub: admin, method: "POST", path: "/v1/cases/" + c + "/access", badPath: "/v1/cases/not-a-uuid/access",
			valid: `{"entries":[` + entry + `]}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"entries":"everyone"}`, "entries"},
			missing:   badBody{"missing", `{}`, "entries"},
			badEnum:   badBody{"bad enum", badLevel, "level"}},
		{route: "PATCH /v1/cases/{id}/access/{type}/{principalId}", sub: admin, method: "PATCH", path: "/v1/cases/" + c + "/access/user/" + u,
			badPath: "/v1/cases/" + c + "/access/robot/" + u,
			valid:   `{"level":"role"}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"level":1}`, "level"},
			missing:   badBody{"missing (null level)", `{"level":null}`, "level"},
			badEnum:   badBody{"bad enum", `{"level":"admin"}`, "level"}},
		{route: "POST /v1/access-grants", sub: admin, method: "POST", path: "/v1/access-grants",
			valid: `{"caseIds":["` + c + `"],"entries":[` + strings.Replace(entry, `"view"`, `"role"`, 1) + `]}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"caseIds":"` + c + `","entries":[` + entry + `]}`, "caseIds"},
			missing:   badBody{"missing", `{"entries":[` + entry + `]}`, "caseIds"},
			badEnum:   badBody{"bad enum", `{"caseIds":["` + c + `"],"entries":[{"principal":{"type":"robot","id":"` + u2 + `"},"level":"view"}]}`, "type"}},
		{route: "POST /v1/evidence/{id}/access", sub: admin, method: "POST", path: "/v1/evidence/" + e + "/access", badPath: "/v1/evidence/not-a-uuid/access",
			valid: `{"entries":[` + entry + `]}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"entries":[{"principal":"everyone","level":"view"}]}`, "principal"},
			missing:   badBody{"missing", `{}`, "entries"},
			badEnum:   badBody{"bad enum", badLevel, "level"}},
		{route: "PATCH /v1/evidence/{id}/access/{type}/{principalId}", sub: admin, method: "PATCH", path: "/v1/evidence/" + e + "/access/user/" + u,
			badPath: "/v1/evidence/" + e + "/access/user/not-a-uuid",
			valid:   `{"level":"role"}`, validStatus: 200,
			wrongType: badBody{"wrong type", `{"expiresAt":12}`, "expiresAt"},
			missing:   badBody{"missing (null level)", `{"level":null}`, "level"},
			badEnum:   badBody{"bad enum", `{"level":"owner"}`, "level"}},
	}

	// Every command endpoint with a body of the matrix is here.
	covered := map[string]bool{}
	for _, ep := range endpoints {
		covered[ep.route] = true
	}
	for _, r := range registeredRoutes {
		method, _, _ := strings.Cut(r, " ")
		if (method == "POST" || method == "PUT" || method == "PATCH") && r != "POST /v1/ops/projections/{name}/rebuild" {
			assert.True(t, covered[r], "command endpoint %s has no bad-input row", r)
		}
	}

	for _, ep := range endpoints {
		t.Run(ep.route, func(t *testing.T) {
			valid := ep.valid
			bodies := []badBody{
				{"malformed", valid[:len(valid)-1], ""},
				{"not JSON", `name=x`, ""},
				{"empty", ``, ""},
				{"array", `[` + valid + `]`, ""},
				{"trailing data", valid + ` {}`, ""},
				{"unknown field", valid[:len(valid)-1] + `,"colour":"red"}`, "colour"},
				ep.wrongType, ep.missing, ep.badEnum,
			}
			before := s.head(t)
			for _, b := range bodies {
				if b.name == "" {
					continue
				}
				r := s.do(t, ep.sub, ep.method, ep.path, b.body)
				assertProblem(t, r, http.StatusBadRequest, "%s: %s", b.name, b.body)
				if r.Status == http.StatusBadRequest {
					assertFieldNamed(t, r, b.field, "%s: %s", b.name, b.body)
				}
			}
			if ep.badPath != "" {
				r := s.do(t, ep.sub, ep.method, ep.badPath, valid)
				assertProblem(t, r, http.StatusBadRequest, "malformed path id %s", ep.badPath)
			}
			big := `{"title":"` + strings.Repeat("x", 1<<20) + `"}`
			r := s.do(t, ep.sub, ep.method, ep.path, big)
			assertProblem(t, r, http.StatusRequestEntityTooLarge, "body over 1 MiB")
			r = s.do(t, ep.sub, ep.method, ep.path, io.MultiReader(strings.NewReader(big)))
			assertProblem(t, r, http.StatusRequestEntityTooLarge, "body over 1 MiB without a Content-Length")
			assert.Equal(t, before, s.head(t), "bad input appended nothing")

			// The endpoint takes the valid body, which does append.
			ok := s.do(t, ep.sub, ep.method, ep.path, valid)
			require.Equal(t, ep.validStatus, ok.Status, "valid body %s: %s", valid, ok)
			assert.NotEqual(t, before, s.head(t), "the valid body appended")
		})
	}
}

// assertProblem checks an RFC 9457 answer with the status.
func assertProblem(t *testing.T, r response, status int, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, status, r.Status, append(msgAndArgs, r.String())...)
	if status < 500 {
		assert.Less(t, r.Status, 500, msgAndArgs...)
	}
	assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), msgAndArgs...)
	if assert.NotNil(t, r.JSON, "a problem document: %s", r.Body) {
		assert.Equal(t, float64(r.Status), r.JSON["status"], msgAndArgs...)
		assert.NotEmpty(t, r.JSON["title"], msgAndArgs...)
		assert.NotEmpty(t, r.JSON["type"], msgAndArgs...)
	}
}

// assertFieldNamed checks that a 400 has errors:[{field,message}], one of
// whose fields contains field.
func assertFieldNamed(t *testing.T, r response, field string, msgAndArgs ...any) {
	t.Helper()
	errs, ok := r.JSON["errors"].([]any)
	if !assert.True(t, ok && len(errs) > 0, "a 400 has errors: %s", r.Body) {
		return
	}
	var fields []string
	for _, e := range errs {
		m, _ := e.(map[string]any)
		_, hasField := m["field"].(string)
		assert.True(t, hasField, "each error has a field: %s", r.Body)
		assert.NotEmpty(t, m["message"], "each error has a message: %s", r.Body)
		fields = append(fields, str(m, "field"))
	}
	if field == "" {
		return
	}
	for _, f := range fields {
		if strings.Contains(f, field) {
			return
		}
	}
	assert.Fail(t, fmt.Sprintf("the errors do not name the field %q (fields %q): %s", field, fields, r.Body), msgAndArgs...)
}

// TestBadPathOnDelete sends every DELETE route a malformed id or type in its
// path: a 400 problem naming the parameter, and nothing appended.
func TestBadPathOnDelete(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Bad Path PD")
	u := s.newUser(t, o, "Bo Path", s.newRole(t, o, "Plain", perms{}.doc()))
	g := s.newGroup(t, o, "Path Group")
	c := s.newCase(t, o.Admin, map[string]any{"title": "bad-path: case"})
	e := s.addEvidence(t, o.Admin, c, map[string]any{"title": "bad-path: evidence"})
	deletes := map[string][]struct{ path, field string }{
		"DELETE /v1/groups/{id}/members/{userId}": {
			{"/v1/groups/not-a-uuid/members/" + u, "id"}, {"/v1/groups/" + g + "/members/not-a-uuid", "userId"}},
		"DELETE /v1/cases/{id}/evidence/{evidenceId}": {
			{"/v1/cases/not-a-uuid/evidence/" + e, "id"}, {"/v1/cases/" + c + "/evidence/not-a-uuid", "evidenceId"}},
		"DELETE /v1/cases/{id}/access/{type}/{principalId}": {
			{"/v1/cases/not-a-uuid/access/user/" + u, "id"}, {"/v1/cases/" + c + "/access/robot/" + u, "type"},
			{"/v1/cases/" + c + "/access/user/not-a-uuid", "principalId"}},
		"DELETE /v1/evidence/{id}/access/{type}/{principalId}": {
			{"/v1/evidence/not-a-uuid/access/user/" + u, "id"}, {"/v1/evidence/" + e + "/access/robot/" + u, "type"},
			{"/v1/evidence/" + e + "/access/user/not-a-uuid", "principalId"}},
	}
	for _, r := range registeredRoutes {
		if strings.HasPrefix(r, "DELETE ") {
			assert.Contains(t, deletes, r, "DELETE route %s has no bad-path row", r)
		}
	}
	before := s.head(t)
	for route, cases := range deletes {
		for _, tc := range cases {
			r := s.do(t, o.Admin, "DELETE", tc.path, nil)
			assertProblem(t, r, http.StatusBadRequest, "%s: %s", route, tc.path)
			if r.Status == http.StatusBadRequest {
				assertFieldNamed(t, r, tc.field, "%s: %s", route, tc.path)
			}
		}
	}
	assert.Equal(t, before, s.head(t), "nothing appended")
}
