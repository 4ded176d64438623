package tests

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The authorization matrix: every endpoint × every kind of caller, with the
// expected status from one table. A route the server registers (its
// OpenAPI document, api/routes.go, or the list below) without a row fails
// TestAuthorizationMatrix.

// The callers, in the order of the table's columns.
const (
	cNone     = iota // no Authorization header
	cTampered        // a user's token with its subject changed to the administrator's
	cOtherOrg        // the administrator of another organization
	cNoPerm          // a user of the organization whose role has no permission at all
	cView            // on the case's list with level View (role: actions, no lists)
	cRole            // on the case's list with level Role (role: actions, no lists)
	cExpired         // was on the list with level Role; the entry has expired
	cOwner           // owns the case; role lists and views its own restricted cases
	cAdmin           // the organization's administrator
	cOperator        // an operator (CUSTODIAN_OPERATORS)
	nCallers
)

var callerNames = [nCallers]string{"no token", "tampered token", "other organization", "no permission",
	"View entry", "Role entry", "expired entry", "owner", "administrator", "operator"}

// publicRoutes need no token.
var publicRoutes = []string{"GET /healthz", "GET /readyz", "GET /v1/openapi.json"}

// registeredRoutes is copied from api/routes.go: every route it registers.
var registeredRoutes = []string{
	"GET /healthz",
	"GET /readyz",
	"GET /v1/openapi.json",
	"GET /metrics",
	"GET /v1/ops/projections",
	"POST /v1/ops/projections/{name}/rebuild",
	"POST /v1/orgs",
	"GET /v1/orgs",
	"GET /v1/orgs/{id}",
	"POST /v1/roles",
	"PUT /v1/roles/{id}",
	"GET /v1/roles",
	"POST /v1/users",
	"PATCH /v1/users/{id}",
	"GET /v1/users",
	"POST /v1/groups",
	"GET /v1/groups",
	"POST /v1/groups/{id}/members",
	"DELETE /v1/groups/{id}/members/{userId}",
	"GET /v1/me",
	"GET /v1/me/notifications",
	"POST /v1/cases",
	"GET /v1/cases",
	"GET /v1/cases/{id}",
	"PATCH /v1/cases/{id}",
	"GET /v1/reports/cases",
	"POST /v1/cases/{id}/folders",
	"POST /v1/cases/{id}/evidence",
	"DELETE /v1/cases/{id}/evidence/{evidenceId}",
	"GET /v1/evidence/{id}",
	"PUT /v1/cases/{id}/access-class",
	"GET /v1/cases/{id}/access",
	"POST /v1/cases/{id}/access",
	"PATCH /v1/cases/{id}/access/{type}/{principalId}",
	"DELETE /v1/cases/{id}/access/{type}/{principalId}",
	"POST /v1/access-grants",
	"GET /v1/evidence/{id}/access",
	"POST /v1/evidence/{id}/access",
	"PATCH /v1/evidence/{id}/access/{type}/{principalId}",
	"DELETE /v1/evidence/{id}/access/{type}/{principalId}",
}

// want is one row of the matrix: the status for each caller, in column order.
type want [nCallers]int

// matrix is THE table. Statuses follow api.md: 401 without a valid token;
// 403 for an operator on a user's endpoint and for a user on an operator's;
// 404 for a case or evidence item the caller may not list (also another
// organization's); 403 for one it may list but not act on (a View entry is
// read-only); org.admin for the directory.
var matrix = map[string]want{
	//                                                      none tamp other noPerm view role expired owner admin operator
	"GET /metrics":                                         {401, 401, 403, 403, 403, 403, 403, 403, 403, 200},
	"GET /v1/ops/projections":                              {401, 401, 403, 403, 403, 403, 403, 403, 403, 200},
	"POST /v1/ops/projections/{name}/rebuild":              {401, 401, 403, 403, 403, 403, 403, 403, 403, 202},
	"POST /v1/orgs":                                        {401, 401, 403, 403, 403, 403, 403, 403, 403, 201},
	"GET /v1/orgs":                                         {401, 401, 200, 403, 403, 403, 403, 403, 200, 200},
	"GET /v1/orgs/{id}":                                    {401, 401, 404, 200, 200, 200, 200, 200, 200, 200},
	"POST /v1/roles":                                       {401, 401, 201, 403, 403, 403, 403, 403, 201, 403},
	"PUT /v1/roles/{id}":                                   {401, 401, 404, 403, 403, 403, 403, 403, 200, 403},
	"GET /v1/roles":                                        {401, 401, 200, 403, 403, 403, 403, 403, 200, 403},
	"POST /v1/users":                                       {401, 401, 400, 403, 403, 403, 403, 403, 201, 403},
	"PATCH /v1/users/{id}":                                 {401, 401, 404, 403, 403, 403, 403, 403, 200, 403},
	"GET /v1/users":                                        {401, 401, 200, 403, 403, 403, 403, 403, 200, 403},
	"POST /v1/groups":                                      {401, 401, 201, 403, 403, 403, 403, 403, 201, 403},
	"GET /v1/groups":                                       {401, 401, 200, 403, 403, 403, 403, 403, 200, 403},
	"POST /v1/groups/{id}/members":                         {401, 401, 404, 403, 403, 403, 403, 403, 200, 403},
	"DELETE /v1/groups/{id}/members/{userId}":              {401, 401, 404, 403, 403, 403, 403, 403, 200, 403},
	"GET /v1/me":                                           {401, 401, 200, 200, 200, 200, 200, 200, 200, 200},
	"GET /v1/me/notifications":                             {401, 401, 200, 200, 200, 200, 200, 200, 200, 403},
	"POST /v1/cases":                                       {401, 401, 201, 403, 201, 201, 201, 201, 201, 403},
	"GET /v1/cases":                                        {401, 401, 200, 200, 200, 200, 200, 200, 200, 403},
	"GET /v1/cases/{id}":                                   {401, 401, 404, 404, 200, 200, 404, 200, 200, 403},
	"PATCH /v1/cases/{id}":                                 {401, 401, 404, 404, 403, 200, 404, 200, 200, 403},
	"GET /v1/reports/cases":                                {401, 401, 200, 200, 200, 200, 200, 200, 200, 403},
	"POST /v1/cases/{id}/folders":                          {401, 401, 404, 404, 403, 201, 404, 201, 201, 403},
	"POST /v1/cases/{id}/evidence":                         {401, 401, 404, 404, 403, 201, 404, 201, 201, 403},
	"DELETE /v1/cases/{id}/evidence/{evidenceId}":          {401, 401, 404, 404, 403, 200, 404, 200, 200, 403},
	"GET /v1/evidence/{id}":                                {401, 401, 404, 404, 200, 200, 404, 200, 200, 403},
	"PUT /v1/cases/{id}/access-class":                      {401, 401, 404, 404, 403, 200, 404, 403, 200, 403},
	"GET /v1/cases/{id}/access":                            {401, 401, 404, 404, 200, 200, 404, 200, 200, 403},
	"POST /v1/cases/{id}/access":                           {401, 401, 404, 404, 403, 200, 404, 200, 200, 403},
	"PATCH /v1/cases/{id}/access/{type}/{principalId}":     {401, 401, 404, 404, 403, 200, 404, 200, 200, 403},
	"DELETE /v1/cases/{id}/access/{type}/{principalId}":    {401, 401, 404, 404, 403, 200, 404, 200, 200, 403},
	"POST /v1/access-grants":                               {401, 401, 200, 200, 200, 200, 200, 200, 200, 403},
	"GET /v1/evidence/{id}/access":                         {401, 401, 404, 404, 200, 200, 404, 200, 200, 403},
	"POST /v1/evidence/{id}/access":                        {401, 401, 404, 404, 403, 200, 404, 200, 200, 403},
	"PATCH /v1/evidence/{id}/access/{type}/{principalId}":  {401, 401, 404, 404, 403, 200, 404, 200, 200, 403},
	"DELETE /v1/evidence/{id}/access/{type}/{principalId}": {401, 401, 404, 404, 403, 200, 404, 200, 200, 403},
}

// bulkResults is the per-case status of POST /v1/access-grants (which
// answers 200 to every user) for the fixture's case, by caller.
var bulkResults = map[int]string{cOtherOrg: "not_found", cNoPerm: "not_found", cView: "forbidden", cRole: "granted",
	cExpired: "not_found", cOwner: "granted", cAdmin: "granted"}

// matrixFixture is organization A with a restricted case owned by the
// owner, an evidence item, and a user for each caller; and organization B.
type matrixFixture struct {
	a, b                       org
	subs                       [nCallers]string
	tampered                   string
	caseID, evidenceID         string
	noneRole, spareRole, group string
	target, listed, removable  string // users the requests act on
	evidenceToRemove           string // set by a setup
}

// call is one request of a row.
type call struct {
	method, path string
	body         any
}

// requestFor builds each route's request. setup, when set, runs as the
// administrator before each caller's request, so that a request that
// changes something (a removal) finds the same state for every caller.
type routeRequest struct {
	setup func(t *testing.T, s *server, f *matrixFixture)
	build func(f *matrixFixture, caller int) call
}

func fixed(method, path string, body any) func(*matrixFixture, int) call {
	return func(*matrixFixture, int) call { return call{method, path, body} }
}

func matrixRequests() map[string]routeRequest {
	return map[string]routeRequest{
		"GET /metrics":                            {build: fixed("GET", "/metrics", nil)},
		"GET /v1/ops/projections":                 {build: fixed("GET", "/v1/ops/projections", nil)},
		"POST /v1/ops/projections/{name}/rebuild": {build: fixed("POST", "/v1/ops/projections/notifications/rebuild", nil)},
		"POST /v1/orgs": {build: func(f *matrixFixture, caller int) call {
			name := fmt.Sprintf("Matrix Org %d", caller)
			return call{"POST", "/v1/orgs", map[string]any{"name": name, "admin": map[string]any{"name": name + " Admin",
				"email": fmt.Sprintf("admin%d@matrix.example", caller)}}}
		}},
		"GET /v1/orgs":      {build: fixed("GET", "/v1/orgs?q=Matrix", nil)},
		"GET /v1/orgs/{id}": {build: func(f *matrixFixture, _ int) call { return call{"GET", "/v1/orgs/" + f.a.ID, nil} }},
		"POST /v1/roles": {build: func(f *matrixFixture, caller int) call {
			return call{"POST", "/v1/roles", map[string]any{"name": fmt.Sprintf("Matrix role %d", caller), "permissions": perms{}.doc()}}
		}},
		"PUT /v1/roles/{id}": {build: func(f *matrixFixture, _ int) call {
			return call{"PUT", "/v1/roles/" + f.spareRole, map[string]any{"name": "Spare", "permissions": perms{List: each("own")}.doc()}}
		}},
		"GET /v1/roles": {build: fixed("GET", "/v1/roles", nil)},
		"POST /v1/users": {build: func(f *matrixFixture, caller int) call {
			return call{"POST", "/v1/users", map[string]any{"name": fmt.Sprintf("Matrix user %d", caller),
				"email": fmt.Sprintf("user%d@matrix.example", caller), "roleId": f.noneRole}}
		}},
		"PATCH /v1/users/{id}": {build: func(f *matrixFixture, _ int) call {
			return call{"PATCH", "/v1/users/" + f.target, map[string]any{"active": true}}
		}},
		"GET /v1/users": {build: fixed("GET", "/v1/users", nil)},
		"POST /v1/groups": {build: func(f *matrixFixture, caller int) call {
			return call{"POST", "/v1/groups", map[string]any{"name": fmt.Sprintf("Matrix group %d", caller)}}
		}},
		"GET /v1/groups": {build: fixed("GET", "/v1/groups", nil)},
		"POST /v1/groups/{id}/members": {build: func(f *matrixFixture, _ int) call {
			return call{"POST", "/v1/groups/" + f.group + "/members", map[string]any{"userId": f.target}}
		}},
		"DELETE /v1/groups/{id}/members/{userId}": {
			setup: func(t *testing.T, s *server, f *matrixFixture) { s.addMember(t, f.a, f.group, f.removable) },
			build: func(f *matrixFixture, _ int) call {
				return call{"DELETE", "/v1/groups/" + f.group + "/members/" + f.removable, nil}
			},
		},
		"GET /v1/me":               {build: fixed("GET", "/v1/me", nil)},
		"GET /v1/me/notifications": {build: fixed("GET", "/v1/me/notifications", nil)},
		"POST /v1/cases": {build: func(f *matrixFixture, caller int) call {
			return call{"POST", "/v1/cases", map[string]any{"title": fmt.Sprintf("matrix: created by caller %d", caller)}}
		}},
		"GET /v1/cases":      {build: fixed("GET", "/v1/cases", nil)},
		"GET /v1/cases/{id}": {build: func(f *matrixFixture, _ int) call { return call{"GET", "/v1/cases/" + f.caseID, nil} }},
		"PATCH /v1/cases/{id}": {build: func(f *matrixFixture, caller int) call {
			return call{"PATCH", "/v1/cases/" + f.caseID, map[string]any{"title": fmt.Sprintf("matrix: case, renamed by caller %d", caller)}}
		}},
		"GET /v1/reports/cases": {build: fixed("GET", "/v1/reports/cases", nil)},
		"POST /v1/cases/{id}/folders": {build: func(f *matrixFixture, caller int) call {
			return call{"POST", "/v1/cases/" + f.caseID + "/folders", map[string]any{"name": fmt.Sprintf("Folder %d", caller)}}
		}},
		"POST /v1/cases/{id}/evidence": {build: func(f *matrixFixture, caller int) call {
			return call{"POST", "/v1/cases/" + f.caseID + "/evidence", map[string]any{"title": fmt.Sprintf("matrix: item by caller %d", caller)}}
		}},
		"DELETE /v1/cases/{id}/evidence/{evidenceId}": {
			// A fresh item for every caller, added by the administrator.
			setup: func(t *testing.T, s *server, f *matrixFixture) {
				f.evidenceToRemove = s.addEvidence(t, f.a.Admin, f.caseID, map[string]any{"title": "matrix: item to remove"})
			},
			build: func(f *matrixFixture, _ int) call {
				return call{"DELETE", "/v1/cases/" + f.caseID + "/evidence/" + f.evidenceToRemove, nil}
			},
		},
		"GET /v1/evidence/{id}": {build: func(f *matrixFixture, _ int) call { return call{"GET", "/v1/evidence/" + f.evidenceID, nil} }},
		"PUT /v1/cases/{id}/access-class": {
			// A real change, from the case's restricted to confidential, so
			// that the class permissions decide (a change to the class the
			// case has is a no-op); the administrator puts it back first.
			setup: func(t *testing.T, s *server, f *matrixFixture) {
				s.must(t, http.StatusOK, f.a.Admin, "PUT", "/v1/cases/"+f.caseID+"/access-class", map[string]any{"accessClass": "restricted"})
			},
			build: func(f *matrixFixture, _ int) call {
				return call{"PUT", "/v1/cases/" + f.caseID + "/access-class", map[string]any{"accessClass": "confidential"}}
			},
		},
		"GET /v1/cases/{id}/access": {build: func(f *matrixFixture, _ int) call { return call{"GET", "/v1/cases/" + f.caseID + "/access", nil} }},
		"POST /v1/cases/{id}/access": {build: func(f *matrixFixture, _ int) call {
			return call{"POST", "/v1/cases/" + f.caseID + "/access", map[string]any{"entries": []any{userEntry(f.target, "view")}}}
		}},
		"PATCH /v1/cases/{id}/access/{type}/{principalId}": {build: func(f *matrixFixture, _ int) call {
			return call{"PATCH", "/v1/cases/" + f.caseID + "/access/user/" + f.listed, map[string]any{"level": "view"}}
		}},
		"DELETE /v1/cases/{id}/access/{type}/{principalId}": {
			setup: func(t *testing.T, s *server, f *matrixFixture) {
				s.grant(t, f.a.Admin, f.caseID, userEntry(f.removable, "view"))
			},
			build: func(f *matrixFixture, _ int) call {
				return call{"DELETE", "/v1/cases/" + f.caseID + "/access/user/" + f.removable, nil}
			},
		},
		"POST /v1/access-grants": {build: func(f *matrixFixture, _ int) call {
			return call{"POST", "/v1/access-grants", map[string]any{"caseIds": []string{f.caseID}, "entries": []any{userEntry(f.target, "view")}}}
		}},
		"GET /v1/evidence/{id}/access": {build: func(f *matrixFixture, _ int) call {
			return call{"GET", "/v1/evidence/" + f.evidenceID + "/access", nil}
		}},
		"POST /v1/evidence/{id}/access": {build: func(f *matrixFixture, _ int) call {
			return call{"POST", "/v1/evidence/" + f.evidenceID + "/access", map[string]any{"entries": []any{userEntry(f.target, "view")}}}
		}},
		"PATCH /v1/evidence/{id}/access/{type}/{principalId}": {build: func(f *matrixFixture, _ int) call {
			return call{"PATCH", "/v1/evidence/" + f.evidenceID + "/access/user/" + f.listed, map[string]any{"level": "view"}}
		}},
		"DELETE /v1/evidence/{id}/access/{type}/{principalId}": {
			setup: func(t *testing.T, s *server, f *matrixFixture) {
				s.must(t, http.StatusOK, f.a.Admin, "POST", "/v1/evidence/"+f.evidenceID+"/access",
					map[string]any{"entries": []any{userEntry(f.removable, "view")}})
			},
			build: func(f *matrixFixture, _ int) call {
				return call{"DELETE", "/v1/evidence/" + f.evidenceID + "/access/user/" + f.removable, nil}
			},
		},
	}
}

func newMatrixFixture(t *testing.T, s *server) *matrixFixture {
	t.Helper()
	f := &matrixFixture{}
	f.a = s.newOrg(t, "Matrix A")
	f.b = s.newOrg(t, "Matrix B")
	both := map[string]string{"restricted": "allow", "confidential": "allow"}
	actions := []string{"cases.create", "cases.edit", "evidence.add", "cases.access.manage"}
	f.noneRole = s.newRole(t, f.a, "No Permission", perms{}.doc())
	actsRole := s.newRole(t, f.a, "Actions Without Lists", perms{Apply: both, Remove: both, EvApply: both, Actions: actions}.doc())
	ownerRole := s.newRole(t, f.a, "Owner Of Restricted", perms{
		List: map[string]string{"restricted": "own"}, View: map[string]string{"restricted": "allow"},
		EvList: map[string]string{"restricted": "all"}, EvView: map[string]string{"restricted": "allow"},
		Actions: actions}.doc())
	f.spareRole = s.newRole(t, f.a, "Spare", perms{}.doc())

	f.subs[cOtherOrg] = f.b.Admin
	f.subs[cNoPerm] = s.newUser(t, f.a, "Nolan No Permission", f.noneRole)
	f.subs[cView] = s.newUser(t, f.a, "Vic View Entry", actsRole)
	f.subs[cRole] = s.newUser(t, f.a, "Rae Role Entry", actsRole)
	f.subs[cExpired] = s.newUser(t, f.a, "Eve Expired Entry", actsRole)
	f.subs[cOwner] = s.newUser(t, f.a, "Owen Owner", ownerRole)
	f.subs[cAdmin] = f.a.Admin
	f.subs[cOperator] = operatorSub
	f.target = s.newUser(t, f.a, "Tess Target", f.noneRole)
	f.listed = s.newUser(t, f.a, "Lou Listed", f.noneRole)
	f.removable = s.newUser(t, f.a, "Remy Removable", f.noneRole)
	f.group = s.newGroup(t, f.a, "Matrix Group")

	f.caseID = s.newCase(t, f.a.Admin, map[string]any{"title": "matrix: case", "accessClass": "restricted", "ownerId": f.subs[cOwner]})
	f.evidenceID = s.addEvidence(t, f.a.Admin, f.caseID, map[string]any{"title": "matrix: evidence"})
	expires := time.Now().Add(1500 * time.Millisecond)
	expiring := userEntry(f.subs[cExpired], "role")
	expiring["expiresAt"] = rfc3339(expires)
	s.grant(t, f.a.Admin, f.caseID, userEntry(f.subs[cView], "view"), userEntry(f.subs[cRole], "role"),
		userEntry(f.listed, "view"), expiring)
	s.must(t, http.StatusOK, f.a.Admin, "POST", "/v1/evidence/"+f.evidenceID+"/access",
		map[string]any{"entries": []any{userEntry(f.listed, "view")}})
	f.tampered = tamper(t, s.token(f.subs[cNoPerm]), f.a.Admin)

	// Before the expiry the entry works (checked when the answer came in
	// time); after it, the matrix runs.
	if r := s.do(t, f.subs[cExpired], "GET", "/v1/cases/"+f.caseID, nil); time.Now().Before(expires) {
		require.Equal(t, http.StatusOK, r.Status, "the entry before its expiry: %s", r)
	}
	time.Sleep(time.Until(expires) + 100*time.Millisecond)
	return f
}

// tamper returns tok with its subject replaced by sub and the original
// signature kept.
func tamper(t *testing.T, tok, sub string) string {
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	claims["sub"] = sub
	raw, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// send makes a call as the caller.
func (s *server) send(t *testing.T, f *matrixFixture, caller int, c call) response {
	t.Helper()
	switch caller {
	case cNone:
		return s.do(t, "", c.method, c.path, c.body)
	case cTampered:
		return s.do(t, "", c.method, c.path, c.body, "Authorization", "Bearer "+f.tampered)
	}
	return s.do(t, f.subs[caller], c.method, c.path, c.body)
}

func TestAuthorizationMatrix(t *testing.T) {
	s := startServer(t, t.TempDir())

	t.Run("every route has a row", func(t *testing.T) {
		registered := set(registeredRoutes)
		sameRoutes(t, "the list copied from api/routes.go", registered, "the served OpenAPI document", set(openAPIRoutes(t, s)))
		if src, err := os.ReadFile("../api/routes.go"); err == nil {
			sameRoutes(t, "the list copied from api/routes.go", registered, "api/routes.go", set(sourceRoutes(string(src))))
		}
		reqs := matrixRequests()
		for _, r := range registeredRoutes {
			if slices.Contains(publicRoutes, r) {
				continue
			}
			_, row := matrix[r]
			assert.True(t, row, "route %s has no row in the authorization matrix", r)
			_, built := reqs[r]
			assert.True(t, built, "route %s has no request in matrixRequests", r)
		}
		for r := range matrix {
			assert.True(t, registered[r], "matrix row %s is not a registered route", r)
		}
		for _, r := range publicRoutes {
			assert.Equal(t, http.StatusOK, s.do(t, "", "GET", strings.TrimPrefix(r, "GET "), nil).Status, "%s needs no token", r)
		}
	})

	f := newMatrixFixture(t, s)
	reqs := matrixRequests()
	routes := make([]string, 0, len(matrix))
	for r := range matrix {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, route := range routes {
		rr, ok := reqs[route]
		if !ok {
			continue // reported above
		}
		t.Run(route, func(t *testing.T) {
			for caller := 0; caller < nCallers; caller++ {
				if rr.setup != nil {
					rr.setup(t, s, f)
				}
				c := rr.build(f, caller)
				r := s.send(t, f, caller, c)
				wantStatus := matrix[route][caller]
				assert.Equal(t, wantStatus, r.Status, "%s as %s (%s %s): %s", route, callerNames[caller], c.method, c.path, r)
				if r.Status >= 400 {
					assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "%s as %s", route, callerNames[caller])
					assert.Equal(t, float64(r.Status), r.JSON["status"], "problem status: %s as %s", route, callerNames[caller])
				}
				if c.method != "GET" && r.Status/100 == 2 && route != "POST /v1/ops/projections/{name}/rebuild" {
					// Every command answers with its position, in the body and the header.
					pos := r.Header.Get("Custodian-Position")
					assert.NotEmpty(t, pos, "%s as %s: Custodian-Position", route, callerNames[caller])
					assert.Equal(t, pos, str(r.JSON, "position"), "%s as %s: position in the body", route, callerNames[caller])
				}
				if route == "POST /v1/access-grants" && r.Status == http.StatusOK {
					results, _ := r.JSON["results"].([]any)
					if assert.Len(t, results, 1, "as %s: %s", callerNames[caller], r) {
						assert.Equal(t, bulkResults[caller], str(results[0].(map[string]any), "status"), "bulk result as %s", callerNames[caller])
					}
				}
			}
		})
	}
}

// openAPIRoutes reads the served document's operations as "METHOD /path".
func openAPIRoutes(t *testing.T, s *server) []string {
	t.Helper()
	r := s.do(t, "", "GET", "/v1/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &doc))
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3.1"), "OpenAPI 3.1: %q", doc.OpenAPI)
	var out []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch m := strings.ToUpper(method); m {
			case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE":
				out = append(out, m+" "+path)
			}
		}
	}
	return out
}

var (
	groupRe = regexp.MustCompile(`(\w+)\s*:=\s*(\w+)\.Group\(\s*"([^"]*)"`)
	routeRe = regexp.MustCompile(`(\w+)\.(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|Any)\(\s*"([^"]*)"`)
	getRe   = regexp.MustCompile(`\bget\((\w+),\s*"([^"]*)"`) // routes.go's get: GET and its HEAD
	paramRe = regexp.MustCompile(`:(\w+)`)
)

// sourceRoutes reads the routes registered in api/routes.go, with echo's
// groups and ":param" turned into "{param}".
func sourceRoutes(src string) []string {
	prefix := map[string]string{}
	for _, m := range groupRe.FindAllStringSubmatch(src, -1) {
		prefix[m[1]] = prefix[m[2]] + m[3]
	}
	var out []string
	for _, m := range routeRe.FindAllStringSubmatch(src, -1) {
		out = append(out, m[2]+" "+paramRe.ReplaceAllString(prefix[m[1]]+m[3], "{$1}"))
	}
	for _, m := range getRe.FindAllStringSubmatch(src, -1) {
		out = append(out, "GET "+paramRe.ReplaceAllString(prefix[m[1]]+m[2], "{$1}"))
	}
	return out
}

// sameRoutes fails for every route in one set and not the other.
func sameRoutes(t *testing.T, aName string, a map[string]bool, bName string, b map[string]bool) {
	t.Helper()
	for r := range a {
		assert.True(t, b[r], "%s is in %s but not in %s", r, aName, bName)
	}
	for r := range b {
		assert.True(t, a[r], "%s is in %s but not in %s", r, bName, aName)
	}
}

func set(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// TestAuthentication: only a valid, unexpired HS256 token of an active
// user or an operator authenticates.
func TestAuthentication(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Auth PD")
	role := s.newRole(t, o, "No Permission", perms{}.doc())
	u := s.newUser(t, o, "Una User", role)
	sub := s.must(t, http.StatusCreated, o.Admin, "POST", "/v1/users", map[string]any{"name": "Ida Idp", "email": "ida@auth.example",
		"roleId": role, "subject": "ida@idp.example"})
	require.NotEmpty(t, str(sub, "id"))
	gone := s.newUser(t, o, "Dee Deactivated", role)
	s.must(t, http.StatusOK, o.Admin, "PATCH", "/v1/users/"+gone, map[string]any{"active": false})

	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":%q,"exp":%d}`, o.Admin, time.Now().Add(time.Hour).Unix()))) + "."
	hour := time.Now().Add(time.Hour)
	for name, header := range map[string]string{
		"no scheme":       s.token(u),
		"basic scheme":    "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pass")),
		"empty bearer":    "Bearer ",
		"garbage":         "Bearer not.a.jwt",
		"tampered":        "Bearer " + tamper(t, s.token(u), o.Admin),
		"alg none":        "Bearer " + none,
		"wrong secret":    "Bearer " + mintToken(u, hour, "another-secret-that-is-long-enough-0123456789"),
		"expired":         "Bearer " + mintToken(u, time.Now().Add(-time.Hour), testSecret),
		"no exp":          "Bearer " + mintToken(u, time.Time{}, testSecret),
		"unknown subject": "Bearer " + mintToken("nobody@nowhere", hour, testSecret),
		"deactivated":     "Bearer " + mintToken(gone, hour, testSecret),
	} {
		r := s.do(t, "", "GET", "/v1/me", nil, "Authorization", header)
		assert.Equal(t, http.StatusUnauthorized, r.Status, "%s: %s", name, r)
		assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), name)
	}
	for _, who := range []string{u, "ida@idp.example", o.Admin, operatorSub} {
		assert.Equal(t, http.StatusOK, s.do(t, who, "GET", "/v1/me", nil).Status, "valid token of %s", who)
	}
	me := s.must(t, http.StatusOK, "ida@idp.example", "GET", "/v1/me", nil)
	assert.Equal(t, str(sub, "id"), str(me, "id"), "the sign-in subject maps to its user")

	// Deactivation takes effect from the very next request; reactivation too.
	s.must(t, http.StatusOK, o.Admin, "PATCH", "/v1/users/"+u, map[string]any{"active": false})
	assert.Equal(t, http.StatusUnauthorized, s.do(t, u, "GET", "/v1/me", nil).Status)
	s.must(t, http.StatusOK, o.Admin, "PATCH", "/v1/users/"+u, map[string]any{"active": true})
	assert.Equal(t, http.StatusOK, s.do(t, u, "GET", "/v1/me", nil).Status)
}
