package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/projections"
)

const requestKey = "custodian.request"

// maxRequestIDLen bounds the X-Request-Id a client may choose.
const maxRequestIDLen = 128

// dropBadRequestID removes a client's X-Request-Id unless it is 1 to
// maxRequestIDLen printable ASCII characters, so that echo's RequestID, next
// in line, generates one instead. The id is logged and stored in the
// metadata of every event the request appends, where text must be UTF-8:
// a header the client got wrong must not turn a command into a 500.
func dropBadRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !printableASCII(id, maxRequestIDLen) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

// printableASCII says whether s is 1 to max characters from '!' to '~'.
func printableASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

// authenticate verifies the bearer token, waits for the read models to be
// consistent with this process's acknowledged writes (so that a revoked
// grant is never honoured), resolves the caller, and answers a retried
// Idempotency-Key request with its recorded answer.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, ok := bearer(c.Request())
		if !ok {
			return errUnauthenticated
		}
		sub, err := s.auth.verify(c.Request().Context(), raw)
		if err != nil {
			return err
		}
		operator := s.auth.IsOperator(sub)
		// A projection that stopped on an event fails every user's request:
		// no decision is taken on a read model that is behind. An operator
		// goes on, to read the status that names the event, scrape the
		// metrics and start a rebuild; an operator command that needs a read
		// model waits for it again (waitFor) and fails there.
		if err := s.consistent(c); err != nil && !(operator && errors.Is(err, projections.ErrFailed)) {
			return err
		}
		r := &request{caller: Caller{TokenSubject: sub}, now: s.now().UTC(),
			requestID: c.Response().Header().Get(echo.HeaderXRequestID)}
		if operator {
			r.caller.Operator = true
		} else {
			found := false
			err := projections.View(s.runner, projections.DirectoryName, func(d *projections.Directory) error {
				u, ok := d.UserBySubject(sub)
				if !ok || !u.Active {
					return nil
				}
				r.caller.User, found = u, true
				r.caller.Subject, _ = d.Subject(u.ID)
				return nil
			})
			if err != nil {
				return err
			}
			if !found {
				return errUnauthenticated
			}
		}
		c.Set(requestKey, r)
		if key := c.Request().Header.Get("Idempotency-Key"); key != "" && c.Request().Method != http.MethodGet {
			return s.idempotent(c, r, key, next)
		}
		return next(c)
	}
}

// idempotent answers a retried request with the answer recorded for its key
// (the same key with another body is a 422), or runs it with ids derived
// from the key.
func (s *server) idempotent(c echo.Context, r *request, key string, next echo.HandlerFunc) error {
	if len(key) > 255 {
		return invalid("Idempotency-Key", "at most 255 characters")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "body over the limit")
		}
		return invalid("", "could not read the body")
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	r.keyHash = hashKey(r.caller.TokenSubject, key)
	r.bodyHash = hashKey(c.Request().Method, c.Request().URL.EscapedPath(), c.Request().URL.RawQuery, string(body))
	var rec projections.RecordedRequest
	var found bool
	err = projections.View(s.runner, projections.RequestsName, func(q *projections.Requests) error {
		rec, found = q.Lookup(r.keyHash)
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		return next(c)
	}
	if rec.BodyHash != r.bodyHash {
		return errIdempotencyBody
	}
	return replyRaw(c, rec.Status, rec.Response, rec.Position)
}

// operatorOnly refuses callers that are not operators.
func (s *server) operatorOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !req(c).caller.Operator {
			return errOperatorOnly
		}
		return next(c)
	}
}

// req returns the request context authenticate set.
func req(c echo.Context) *request {
	r, _ := c.Get(requestKey).(*request)
	if r == nil {
		return &request{}
	}
	return r
}

// userCaller returns the request of a user (not an operator) or a 403.
func userCaller(c echo.Context) (*request, error) {
	r := req(c)
	if r.caller.Operator {
		return nil, errNotAUser
	}
	return r, nil
}

// commandOn reads what a command on one resource starts with, in this order:
// the calling user (an operator is refused), the resource's id from the path,
// and the body, decoded into dto.
func commandOn(c echo.Context, dto any) (*request, uuid.UUID, error) {
	r, err := userCaller(c)
	if err != nil {
		return nil, uuid.Nil, err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return nil, uuid.Nil, err
	}
	if err := decode(c, dto); err != nil {
		return nil, uuid.Nil, err
	}
	return r, id, nil
}
