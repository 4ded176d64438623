package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

// Cases: create, read, edit, folders. Evidence is in evidence.go, access
// lists and classes in access.go, search and the CSV report in search.go.

// caseJSON is a case as GET /v1/cases/{id} shows it to one caller. Evidence
// holds the items the caller may list (design §4), each saying whether the
// caller may also view it.
type caseJSON struct {
	ID          uuid.UUID          `json:"id"`
	OrgID       uuid.UUID          `json:"orgId"`
	Title       string             `json:"title"`
	Description string             `json:"description"`
	OwnerID     uuid.UUID          `json:"ownerId"`
	AccessClass domain.AccessClass `json:"accessClass"`
	Folders     []folderJSON       `json:"folders"`
	Evidence    []caseItemJSON     `json:"evidence"`
	CreatedAt   time.Time          `json:"createdAt"`
	UpdatedAt   time.Time          `json:"updatedAt"`
}

type folderJSON struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// caseItemJSON is one evidence item in a case view. FolderID is left out
// for an item at the case's top level.
type caseItemJSON struct {
	ID          uuid.UUID          `json:"id"`
	Title       string             `json:"title"`
	FolderID    uuid.UUID          `json:"folderId,omitzero"`
	AccessClass domain.AccessClass `json:"accessClass"`
	AddedBy     uuid.UUID          `json:"addedBy"`
	CanView     bool               `json:"canView"`
}

// newCaseJSON returns c as viewer sees it at now.
func newCaseJSON(c domain.Case, viewer domain.Subject, now, createdAt, updatedAt time.Time) caseJSON {
	out := caseJSON{
		ID: c.ID, OrgID: c.OrgID, Title: c.Title, Description: c.Description, OwnerID: c.OwnerID,
		AccessClass: c.AccessClass, Folders: make([]folderJSON, 0, len(c.Folders)),
		Evidence: []caseItemJSON{}, CreatedAt: createdAt.UTC(), UpdatedAt: updatedAt.UTC(),
	}
	for _, f := range c.Folders {
		out.Folders = append(out.Folders, folderJSON{ID: f.ID, Name: f.Name})
	}
	for _, ev := range domain.ListableEvidence(viewer, c, now) {
		out.Evidence = append(out.Evidence, caseItemJSON{ID: ev.ID, Title: ev.Title, FolderID: ev.FolderID,
			AccessClass: ev.AccessClass, AddedBy: ev.AddedBy, CanView: domain.CanViewEvidence(viewer, c, ev, now)})
	}
	return out
}

// --- POST /v1/cases ---------------------------------------------------------

type createCaseRequest struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	AccessClass string `json:"accessClass"`
	OwnerID     string `json:"ownerId"`

	ownerID uuid.UUID // OwnerID parsed by Valid
}

// Valid checks the fields and keeps the parsed owner id.
func (b *createCaseRequest) Valid() []FieldError {
	var errs fieldErrors
	errs.requiredText("title", b.Title, domain.MaxTitleLen)
	errs.maxText("description", b.Description, domain.MaxDescriptionLen)
	if b.AccessClass != "" {
		errs.accessClass("accessClass", b.AccessClass)
	}
	if b.OwnerID != "" {
		b.ownerID = errs.uuid("ownerId", b.OwnerID)
	}
	return errs
}

func (s *server) createCase(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	var body createCaseRequest
	if err := decode(c, &body); err != nil {
		return err
	}
	cmd := domain.CreateCase{CaseID: r.newID(), Title: body.Title, Description: body.Description,
		AccessClass: domain.AccessClass(body.AccessClass), OwnerID: body.ownerID, Actor: r.caller.Subject, Now: r.now}
	if cmd.OwnerID != uuid.Nil {
		if cmd.OwnerOrgID, err = s.activeUserOrg(cmd.OwnerID); err != nil {
			return err
		}
	}
	res, err := execute(c.Request().Context(), s, r, step[domain.Case]{
		stream: domain.CaseStream(cmd.CaseID),
		fresh:  true,
		decide: func(cs domain.Case) ([]domain.Event, error) { return cs.Decide(cmd) },
		respond: func(cs domain.Case) (int, any) {
			return http.StatusCreated, newCaseJSON(cs, r.caller.Subject, r.now, r.now, r.now)
		},
	})
	if err != nil {
		return err
	}
	return reply(c, res.Status, res.Body, res.Position)
}

// --- GET /v1/cases/{id} -----------------------------------------------------

func (s *server) getCase(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	v, err := s.viewableCase(r, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newCaseJSON(v.Case, r.caller.Subject, r.now, v.CreatedAt, v.UpdatedAt))
}

// --- PATCH /v1/cases/{id} ---------------------------------------------------

// editCaseRequest: a field left out stays as it is; description null clears
// the description; title and ownerId may not be null.
type editCaseRequest struct {
	Title       Nullable[string] `json:"title"`
	Description Nullable[string] `json:"description"`
	OwnerID     Nullable[string] `json:"ownerId"`

	ownerID uuid.UUID
}

// Valid checks the fields given and keeps the parsed owner id.
func (b *editCaseRequest) Valid() []FieldError {
	var errs fieldErrors
	if b.Title.Set {
		if b.Title.Null {
			errs.add("title", "must be a string, not null")
		} else {
			errs.requiredText("title", b.Title.Value, domain.MaxTitleLen)
		}
	}
	if b.Description.Set {
		errs.maxText("description", b.Description.Value, domain.MaxDescriptionLen)
	}
	if b.OwnerID.Set {
		if b.OwnerID.Null {
			errs.add("ownerId", "must be a UUID, not null")
		} else {
			b.ownerID = errs.uuid("ownerId", b.OwnerID.Value)
		}
	}
	return errs
}

func (s *server) editCase(c echo.Context) error {
	var body editCaseRequest
	r, id, err := commandOn(c, &body)
	if err != nil {
		return err
	}
	cmd := domain.EditCase{CaseID: id, Actor: r.caller.Subject, Now: r.now}
	if body.Title.Set {
		cmd.Title = domain.Some(body.Title.Value)
	}
	if body.Description.Set {
		cmd.Description = domain.Some(body.Description.Value) // null: Value is ""
	}
	if body.OwnerID.Set {
		cmd.Owner = domain.Some(body.ownerID)
		if cmd.OwnerOrgID, err = s.activeUserOrg(body.ownerID); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	createdAt, updatedAt, err := s.caseTimes(ctx, id)
	if err != nil {
		return err
	}
	changed := false
	res, err := execute(ctx, s, r, step[domain.Case]{
		stream: domain.CaseStream(id),
		decide: func(cs domain.Case) ([]domain.Event, error) {
			evs, err := cs.Decide(cmd)
			changed = len(evs) > 0
			return evs, err
		},
		respond: func(cs domain.Case) (int, any) {
			updated := updatedAt
			if changed {
				updated = r.now
			}
			return http.StatusOK, newCaseJSON(cs, r.caller.Subject, r.now, createdAt, updated)
		},
	})
	if err != nil {
		return hideCase(err, res.Existed, id)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

// --- POST /v1/cases/{id}/folders --------------------------------------------

type createFolderRequest struct {
	Name string `json:"name"`
}

// Valid checks the name.
func (b *createFolderRequest) Valid() []FieldError {
	var errs fieldErrors
	errs.requiredText("name", b.Name, domain.MaxNameLen)
	return errs
}

func (s *server) createFolder(c echo.Context) error {
	var body createFolderRequest
	r, id, err := commandOn(c, &body)
	if err != nil {
		return err
	}
	cmd := domain.CreateFolder{CaseID: id, FolderID: r.newID(), Name: body.Name, Actor: r.caller.Subject, Now: r.now}
	res, err := execute(c.Request().Context(), s, r, step[domain.Case]{
		stream: domain.CaseStream(id),
		decide: func(cs domain.Case) ([]domain.Event, error) { return cs.Decide(cmd) },
		respond: func(domain.Case) (int, any) {
			return http.StatusCreated, map[string]uuid.UUID{"id": cmd.FolderID}
		},
	})
	if err != nil {
		return hideCase(err, res.Existed, id)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

// --- shared by the case, evidence, access and search handlers ---------------

// parseUUID parses a UUID in its canonical 36-character form only, so that
// one id has one spelling in paths and bodies.
func parseUUID(s string) (uuid.UUID, bool) {
	if len(s) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(s)
	return id, err == nil
}

// pathUUID returns the path parameter name as a UUID, or a 400 naming it.
func pathUUID(c echo.Context, name string) (uuid.UUID, error) {
	id, ok := parseUUID(c.Param(name))
	if !ok {
		return uuid.Nil, invalid(name, "must be a UUID")
	}
	return id, nil
}

// fieldErrors collects every invalid field of a request, so that one 400
// names them all.
type fieldErrors []FieldError

func (e *fieldErrors) add(field, message string) {
	*e = append(*e, FieldError{Field: field, Message: message})
}

// requiredText checks a text that must not be blank and has at most max
// characters. The domain checks the rest (control characters).
func (e *fieldErrors) requiredText(field, v string, max int) {
	if strings.TrimSpace(v) == "" {
		e.add(field, "is required")
		return
	}
	e.maxText(field, v, max)
}

// maxText checks that a text has at most max characters.
func (e *fieldErrors) maxText(field, v string, max int) {
	if n := utf8.RuneCountInString(strings.TrimSpace(v)); n > max {
		e.add(field, fmt.Sprintf("must be at most %d characters", max))
	}
}

// accessClass checks a required access class.
func (e *fieldErrors) accessClass(field, v string) {
	if !domain.AccessClass(v).Valid() {
		e.add(field, "must be unrestricted, restricted or confidential")
	}
}

// uuid parses a required UUID, or notes the field and returns uuid.Nil.
func (e *fieldErrors) uuid(field, v string) uuid.UUID {
	id, ok := parseUUID(v)
	switch {
	case !ok:
		e.add(field, "must be a UUID")
	case id == uuid.Nil:
		e.add(field, "must not be the nil UUID")
	}
	return id
}

// expiry parses an access expiry in RFC 3339, or notes the field. (Whether
// it lies after the request's time is checked with the time.)
func (e *fieldErrors) expiry(field, v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	switch {
	case err != nil:
		e.add(field, "must be a time in RFC 3339 form, e.g. 2030-01-02T15:04:05Z")
		return time.Time{}
	case t.IsZero():
		e.add(field, "must lie in the future") // the zero time would read as "until removed"
	}
	return t.UTC()
}

// err returns the collected errors as one 400, or nil.
func (e fieldErrors) err() error {
	if len(e) == 0 {
		return nil
	}
	return &inputError{fields: e}
}

// activeUserOrg returns the organization of an active user, or uuid.Nil for
// an unknown or inactive one: the fact CreateCase, EditCase and GrantAccess
// carry (the domain then refuses a user outside the case's organization).
func (s *server) activeUserOrg(id uuid.UUID) (uuid.UUID, error) {
	org := uuid.Nil
	err := projections.View(s.runner, projections.DirectoryName, func(d *projections.Directory) error {
		if u, ok := d.User(id); ok && u.Active {
			org = u.OrgID
		}
		return nil
	})
	return org, err
}

// caseView returns the read model's view of case id, copied out.
func (s *server) caseView(id uuid.UUID) (projections.CaseView, bool, error) {
	var v projections.CaseView
	var ok bool
	err := projections.View(s.runner, projections.CasesName, func(m *projections.Cases) error {
		v, ok = m.Case(id)
		return nil
	})
	return v, ok, err
}

// viewableCase returns case id for a query by r's caller: 404 if it does not
// exist or the caller may not list it (recorded as a refused attempt when it
// exists), 403 if the caller may list but not view it. The read models are
// already consistent with every write this process acknowledged.
func (s *server) viewableCase(r *request, id uuid.UUID) (projections.CaseView, error) {
	v, ok, err := s.caseView(id)
	switch {
	case err != nil:
		return v, err
	case !ok:
		return v, fmt.Errorf("case %s: %w", id, domain.ErrCaseNotFound)
	case !domain.CanList(r.caller.Subject, v.Case, r.now):
		return v, hide(fmt.Errorf("case %s: %w", id, domain.ErrCaseNotFound), true, "case", id)
	case !domain.CanView(r.caller.Subject, v.Case, r.now):
		return v, fmt.Errorf("view case %s: needs the role's view for class %s or an access-list entry: %w",
			id, v.AccessClass, domain.ErrForbidden)
	}
	return v, nil
}

// hideCase turns a command's "case not found" for a case that exists into a
// recorded refused attempt. Other not-found refusals (a principal not on the
// list, an unknown folder) are answers to a caller who may see the case and
// are not hidden.
func hideCase(err error, existed bool, id uuid.UUID) error {
	if errors.Is(err, domain.ErrCaseNotFound) {
		return hide(err, existed, "case", id)
	}
	return err
}

// hideItem is hideCase for commands that name an evidence item of the case:
// an item that is in the case but hidden from the caller is recorded too.
func hideItem(err error, res result[domain.Case], caseID, evidenceID uuid.UUID) error {
	if errors.Is(err, domain.ErrEvidenceNotFound) {
		_, in := res.State.Item(evidenceID)
		return hide(err, in, "evidence", evidenceID)
	}
	return hideCase(err, res.Existed, caseID)
}

// errStop ends a stream read early.
var errStop = errors.New("stop")

// caseTimes returns when case id was created and last changed: from the
// Cases read model, which is consistent with this process's writes, or,
// for a case it does not hold yet (written by another instance), from the
// first and last events of the case's stream. Zero times for no case.
func (s *server) caseTimes(ctx context.Context, id uuid.UUID) (created, updated time.Time, err error) {
	v, ok, err := s.caseView(id)
	if err != nil || ok {
		return v.CreatedAt, v.UpdatedAt, err
	}
	stream := domain.CaseStream(id)
	first := func(at *time.Time) func(eventstore.Envelope) error {
		return func(env eventstore.Envelope) error { *at = env.RecordedAt; return errStop }
	}
	if err := s.store.ReadStream(ctx, stream, eventstore.Forward, 0, first(&created)); err != nil && !errors.Is(err, errStop) {
		return created, updated, err
	}
	if err := s.store.ReadStream(ctx, stream, eventstore.Backward, eventstore.End, first(&updated)); err != nil && !errors.Is(err, errStop) {
		return created, updated, err
	}
	return created, updated, nil
}
