package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes registers every route of api.md, each GET with its HEAD. A test
// walks e.Routes() and the served OpenAPI document and fails on any
// difference.
func (s *server) routes(e *echo.Echo) {
	// Operations: no bearer token, except /metrics and /v1/ops (operators).
	get(e, "/healthz", s.healthz)
	get(e, "/readyz", s.readyz)
	get(e, "/v1/openapi.json", s.openapi)
	get(e, "/metrics", s.metricsHandler, s.authenticate, s.operatorOnly)
	get(e, "/v1/ops/projections", s.projectionStatus, s.authenticate, s.operatorOnly)
	e.POST("/v1/ops/projections/:name/rebuild", s.rebuildProjection, s.authenticate, s.operatorOnly)

	v1 := e.Group("/v1", s.authenticate)

	// Organizations and directory.
	v1.POST("/orgs", s.createOrg)
	get(v1, "/orgs", s.listOrgs)
	get(v1, "/orgs/:id", s.getOrg)
	v1.POST("/roles", s.createRole)
	v1.PUT("/roles/:id", s.updateRole)
	get(v1, "/roles", s.listRoles)
	v1.POST("/users", s.createUser)
	v1.PATCH("/users/:id", s.updateUser)
	get(v1, "/users", s.listUsers)
	v1.POST("/groups", s.createGroup)
	get(v1, "/groups", s.listGroups)
	v1.POST("/groups/:id/members", s.addGroupMember)
	v1.DELETE("/groups/:id/members/:userId", s.removeGroupMember)
	get(v1, "/me", s.me)
	get(v1, "/me/notifications", s.myNotifications)

	// Cases, evidence, access.
	v1.POST("/cases", s.createCase)
	get(v1, "/cases", s.searchCases)
	get(v1, "/cases/:id", s.getCase)
	v1.PATCH("/cases/:id", s.editCase)
	get(v1, "/reports/cases", s.reportCases)
	v1.POST("/cases/:id/folders", s.createFolder)
	v1.POST("/cases/:id/evidence", s.addEvidence)
	v1.DELETE("/cases/:id/evidence/:evidenceId", s.removeEvidence)
	get(v1, "/evidence/:id", s.getEvidence)
	v1.PUT("/cases/:id/access-class", s.changeAccessClass)
	get(v1, "/cases/:id/access", s.getCaseAccess)
	v1.POST("/cases/:id/access", s.grantCaseAccess)
	v1.PATCH("/cases/:id/access/:type/:principalId", s.modifyCaseAccess)
	v1.DELETE("/cases/:id/access/:type/:principalId", s.removeCaseAccess)
	v1.POST("/access-grants", s.bulkGrant)
	get(v1, "/evidence/:id/access", s.getEvidenceAccess)
	v1.POST("/evidence/:id/access", s.grantEvidenceAccess)
	v1.PATCH("/evidence/:id/access/:type/:principalId", s.modifyEvidenceAccess)
	v1.DELETE("/evidence/:id/access/:type/:principalId", s.removeEvidenceAccess)
}

// router is where routes are added: the server or a group of it.
type router interface {
	Add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

// get registers h for GET and for HEAD, which RFC 9110 §9.3.2 makes the GET
// without its content (net/http sends no body to a HEAD request).
func get(r router, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.Add(http.MethodGet, path, h, m...)
	r.Add(http.MethodHead, path, h, m...)
}
