package api

import (
	_ "embed"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/projections"
)

//go:embed openapi.json
var openapiDoc []byte

func (s *server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz: the store answers and the projections have caught up with the
// log as it was at start.
func (s *server) readyz(c echo.Context) error {
	ctx := c.Request().Context()
	head, err := s.store.Head(ctx)
	if err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unreachable"})
	}
	st, err := s.runner.Status(ctx)
	if err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unreachable"})
	}
	for _, p := range st {
		if p.State != projections.StateLive {
			return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "projection " + p.Name + " is " + p.State, "head": head.String()})
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready", "head": head.String()})
}

func (s *server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openapiDoc)
}

func (s *server) projectionStatus(c echo.Context) error {
	st, err := s.runner.Status(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": st})
}

func (s *server) rebuildProjection(c echo.Context) error {
	err := s.runner.Rebuild(s.bg, c.Param("name"))
	switch {
	case errors.Is(err, projections.ErrUnknown):
		return echo.NewHTTPError(http.StatusNotFound, "no such projection")
	case errors.Is(err, projections.ErrRebuilding):
		return echo.NewHTTPError(http.StatusConflict, "a rebuild of this projection is already running")
	case err != nil:
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"status": "rebuilding", "name": c.Param("name")})
}
