package api

import (
	"github.com/labstack/echo/v4"
)

// routes registers every route of api.md. A test walks e.Routes() and the
// served OpenAPI document and fails on any difference.
func (s *server) routes(e *echo.Echo) {
	// Operations: no bearer token, except /metrics and /v1/ops (operators).
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/v1/openapi.json", s.openapi)
	e.GET("/metrics", s.metricsHandler, s.authenticate, s.operatorOnly)
	e.GET("/v1/ops/projections", s.projectionStatus, s.authenticate, s.operatorOnly)
	e.POST("/v1/ops/projections/:name/rebuild", s.rebuildProjection, s.authenticate, s.operatorOnly)

	v1 := e.Group("/v1", s.authenticate)

	// Organizations and directory.
	v1.POST("/orgs", s.createOrg)
	v1.GET("/orgs", s.listOrgs)
	v1.GET("/orgs/:id", s.getOrg)
	v1.POST("/roles", s.createRole)
	v1.PUT("/roles/:id", s.updateRole)
	v1.GET("/roles", s.listRoles)
	v1.POST("/users", s.createUser)
	v1.PATCH("/users/:id", s.updateUser)
	v1.GET("/users", s.listUsers)
	v1.POST("/groups", s.createGroup)
	v1.GET("/groups", s.listGroups)
	v1.POST("/groups/:id/members", s.addGroupMember)
	v1.DELETE("/groups/:id/members/:userId", s.removeGroupMember)
	v1.GET("/me", s.me)
	v1.GET("/me/notifications", s.myNotifications)

	// Cases, evidence, access.
	v1.POST("/cases", s.createCase)
	v1.GET("/cases", s.searchCases)
	v1.GET("/cases/:id", s.getCase)
	v1.PATCH("/cases/:id", s.editCase)
	v1.GET("/reports/cases", s.reportCases)
	v1.POST("/cases/:id/folders", s.createFolder)
	v1.POST("/cases/:id/evidence", s.addEvidence)
	v1.DELETE("/cases/:id/evidence/:evidenceId", s.removeEvidence)
	v1.GET("/evidence/:id", s.getEvidence)
	v1.PUT("/cases/:id/access-class", s.changeAccessClass)
	v1.GET("/cases/:id/access", s.getCaseAccess)
	v1.POST("/cases/:id/access", s.grantCaseAccess)
	v1.PATCH("/cases/:id/access/:type/:principalId", s.modifyCaseAccess)
	v1.DELETE("/cases/:id/access/:type/:principalId", s.removeCaseAccess)
	v1.POST("/access-grants", s.bulkGrant)
	v1.GET("/evidence/:id/access", s.getEvidenceAccess)
	v1.POST("/evidence/:id/access", s.grantEvidenceAccess)
	v1.PATCH("/evidence/:id/access/:type/:principalId", s.modifyEvidenceAccess)
	v1.DELETE("/evidence/:id/access/:type/:principalId", s.removeEvidenceAccess)
}
