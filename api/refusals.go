package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
)

// refusalLimiter bounds how many refused attempts of one actor are recorded
// per window; the rest are counted and reported with the next one recorded.
type refusalLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	actors map[string]*refusalCount
}

type refusalCount struct {
	start      time.Time
	recorded   int
	suppressed int
}

func newRefusalLimiter(max int, window time.Duration) *refusalLimiter {
	return &refusalLimiter{max: max, window: window, actors: map[string]*refusalCount{}}
}

// allow reports whether a refusal of actor at now is recorded, and how many
// were suppressed before it.
func (l *refusalLimiter) allow(actor string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.actors) > 100_000 {
		clear(l.actors) // bound the memory; at worst a few extra records
	}
	rc := l.actors[actor]
	if rc == nil || now.Sub(rc.start) >= l.window {
		suppressed := 0
		if rc != nil {
			suppressed = rc.suppressed
		}
		rc = &refusalCount{start: now}
		l.actors[actor] = rc
		rc.recorded = 1
		return true, suppressed
	}
	if rc.recorded < l.max {
		rc.recorded++
		s := rc.suppressed
		rc.suppressed = 0
		return true, s
	}
	rc.suppressed++
	return false, 0
}

// recordRefusal appends an AccessDenied event to the caller's organization's
// audit stream for a 403, a 404 that hides something that exists, or a
// command a rule refused (422 from the domain).
func (s *server) recordRefusal(c echo.Context, err error, status int) {
	r := req(c)
	if r.caller.Operator || r.caller.User.ID == uuid.Nil {
		return
	}
	var t *targeted
	named := errors.As(err, &t)
	switch {
	case status == http.StatusForbidden:
	case status == http.StatusNotFound && named:
	case status == http.StatusUnprocessableEntity && domain.KindOf(err) == domain.Refused:
	default:
		return
	}
	ok, suppressed := s.refusals.allow(r.caller.User.ID.String(), r.now)
	if !ok {
		return
	}
	targetType, targetID := targetOf(c)
	if named {
		targetType, targetID = t.targetType, t.targetID
	}
	ev := domain.AccessDenied{
		OrgID: r.caller.User.OrgID, Method: c.Request().Method, Route: c.Path(),
		TargetType: targetType, TargetID: targetID, Status: status, Reason: reason(err, status), Suppressed: suppressed,
	}
	data, _ := json.Marshal(ev)
	e := s.envelope(r, "", 0, ev.EventType(), data)
	e.ID = uuid.Must(uuid.NewV7())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 2*time.Second)
	defer cancel()
	res, aerr := s.store.Append(ctx, domain.AuditStream(r.caller.User.OrgID), eventstore.Any, e)
	if aerr != nil {
		s.log.Error("record refused attempt", "err", aerr)
		return
	}
	s.acked(res.Position)
}

// targetOf names what a route acts on, from its pattern and id parameter.
func targetOf(c echo.Context) (string, string) {
	path := strings.TrimPrefix(c.Path(), "/v1/")
	kind, _, _ := strings.Cut(path, "/")
	names := map[string]string{"cases": "case", "evidence": "evidence", "users": "user", "roles": "role",
		"groups": "group", "orgs": "organization", "access-grants": "case", "reports": "case", "me": "user", "ops": "operations"}
	t := names[kind]
	if t == "" {
		t = kind
	}
	return t, c.Param("id")
}

// reason is the refusal's cause, without anything of the target's content.
func reason(err error, status int) string {
	if status == http.StatusNotFound {
		return "not visible to the caller"
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err.Error()
	}
	return http.StatusText(status) + ": " + err.Error()
}
