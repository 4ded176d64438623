package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

// FieldError is one invalid input field of a 400 answer.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// inputError is invalid request input: 400 with the fields named.
type inputError struct{ fields []FieldError }

func (e *inputError) Error() string {
	if len(e.fields) == 0 {
		return "invalid input"
	}
	return "invalid input: " + e.fields[0].Field + ": " + e.fields[0].Message
}

// invalid returns a 400 error naming one field.
func invalid(field, message string) error {
	return &inputError{fields: []FieldError{{Field: field, Message: message}}}
}

// inField returns err with the field of its domain.FieldError, if it has
// one, placed under parent (as "parent.field"), for input nested in the
// request body; other errors unchanged.
func inField(parent string, err error) error {
	var fe *domain.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	nested := *fe
	nested.Field = parent + "." + fe.Field
	return &nested
}

// Errors of the api itself; problem maps each to its status.
var (
	errUnauthenticated = errors.New("authentication required")
	errOperatorOnly    = errors.New("only an operator may do this")
	errNotAUser        = errors.New("operators are not users of an organization")
	errNotReady        = errors.New("the read models did not reach the requested position in time")
	errIdempotencyBody = errors.New("the Idempotency-Key was used before with another request")
)

// targeted names the target of a refusal, for its record in the audit
// stream, where the route does not (one case of a bulk grant) or the refusal
// is a 404: a 404 carrying it hides something that exists from the caller
// (hide), and is recorded as a refused attempt like a 403.
type targeted struct {
	err        error
	targetType string
	targetID   string
}

func (t *targeted) Error() string { return t.err.Error() }
func (t *targeted) Unwrap() error { return t.err }

// problemFor maps an error to its problem document: the one place where
// errors become HTTP.
func problemFor(err error) Problem {
	var ie *inputError
	var he *echo.HTTPError
	var de *domain.Error
	switch {
	case errors.As(err, &ie):
		return Problem{Type: "about:blank", Title: "Invalid input", Status: http.StatusBadRequest, Detail: ie.Error(), Errors: ie.fields}
	case errors.Is(err, errUnauthenticated):
		return Problem{Type: "about:blank", Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: err.Error()}
	case errors.Is(err, errOperatorOnly), errors.Is(err, errNotAUser):
		return Problem{Type: "about:blank", Title: "Forbidden", Status: http.StatusForbidden, Detail: err.Error()}
	case errors.Is(err, errIdempotencyBody):
		return Problem{Type: "about:blank", Title: "Idempotency key reused", Status: http.StatusUnprocessableEntity, Detail: err.Error()}
	case errors.Is(err, errNotReady), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, eventstore.ErrClosed), errors.Is(err, projections.ErrFailed):
		return Problem{Type: "about:blank", Title: "Service unavailable", Status: http.StatusServiceUnavailable, Detail: "not ready; retry later"}
	case errors.Is(err, eventstore.ErrWrongRevision):
		return Problem{Type: "about:blank", Title: "Conflict", Status: http.StatusConflict, Detail: "the resource changed concurrently; retry"}
	case errors.As(err, &de):
		status := map[domain.Kind]int{
			domain.Invalid:   http.StatusBadRequest,
			domain.NotFound:  http.StatusNotFound,
			domain.Forbidden: http.StatusForbidden,
			domain.Conflict:  http.StatusConflict,
			domain.Refused:   http.StatusUnprocessableEntity,
		}[de.Kind]
		if status == 0 {
			break
		}
		p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: err.Error()}
		if status == http.StatusNotFound {
			p.Detail = "not found" // never say why: the caller may not know it exists
		}
		var fe *domain.FieldError
		if status == http.StatusBadRequest && errors.As(err, &fe) {
			p.Errors = []FieldError{{Field: fe.Field, Message: fe.Reason}}
		}
		return p
	case errors.As(err, &he):
		msg, _ := he.Message.(string)
		if msg == "" {
			msg = http.StatusText(he.Code)
		}
		return Problem{Type: "about:blank", Title: http.StatusText(he.Code), Status: he.Code, Detail: msg}
	}
	return Problem{Type: "about:blank", Title: "Internal server error", Status: http.StatusInternalServerError}
}

// errorHandler is echo's HTTPErrorHandler: it writes the problem, logs only
// 5xx, and records refused attempts.
func (s *server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := problemFor(err)
	if p.Status >= 500 {
		s.log.Error("request failed", "status", p.Status, "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
	}
	s.recordRefusal(c, err, p.Status)
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return
	}
	if err := json.NewEncoder(c.Response()).Encode(p); err != nil {
		s.log.Debug("write problem", "err", err)
	}
}
