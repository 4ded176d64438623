package api

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/projections"
)

// Evidence items: adding, removing, reading. An item lives in two streams:
// where it is, its class and who may see it are facts of its case
// (case-<id>); its content and custody facts are in evidence-<id>.

// evidenceJSON is an evidence item as GET /v1/evidence/{id} shows it.
// FolderID is left out for an item at the case's top level. The content
// facts are what was stored once ContentAttached, else what was declared
// when the item was added (each left out when not known).
type evidenceJSON struct {
	ID              uuid.UUID          `json:"id"`
	CaseID          uuid.UUID          `json:"caseId"`
	Title           string             `json:"title"`
	FolderID        uuid.UUID          `json:"folderId,omitzero"`
	AccessClass     domain.AccessClass `json:"accessClass"`
	AddedBy         uuid.UUID          `json:"addedBy"`
	MediaType       string             `json:"mediaType,omitempty"`
	SHA256          string             `json:"sha256,omitempty"`
	SizeBytes       int64              `json:"sizeBytes,omitempty"`
	ContentAttached bool               `json:"contentAttached"`
}

func newEvidenceJSON(caseID uuid.UUID, item domain.EvidenceItem, ev domain.Evidence) evidenceJSON {
	content := ev.Declared
	if ev.Attached() {
		content = ev.Content
	}
	return evidenceJSON{ID: item.ID, CaseID: caseID, Title: item.Title, FolderID: item.FolderID,
		AccessClass: item.AccessClass, AddedBy: item.AddedBy, MediaType: content.MediaType,
		SHA256: content.SHA256, SizeBytes: content.SizeBytes, ContentAttached: ev.Attached()}
}

// --- POST /v1/cases/{id}/evidence -------------------------------------------

type addEvidenceRequest struct {
	Title       string `json:"title"`
	MediaType   string `json:"mediaType"`
	SHA256      string `json:"sha256"`
	SizeBytes   int64  `json:"sizeBytes"`
	FolderID    string `json:"folderId"`
	AccessClass string `json:"accessClass"`

	folderID uuid.UUID
}

// maxMediaTypeLen bounds a declared media type.
const maxMediaTypeLen = 255

// Valid checks every field, including the content facts the evidence
// stream's RegisterEvidence would refuse, so that a bad declaration never
// leaves an item in the case without its evidence stream.
func (b *addEvidenceRequest) Valid() []FieldError {
	var errs fieldErrors
	errs.requiredText("title", b.Title, domain.MaxTitleLen)
	if b.MediaType != "" && (len(b.MediaType) > maxMediaTypeLen || !validMediaType(b.MediaType)) {
		errs.add("mediaType", "must be a media type, e.g. image/jpeg")
	}
	if b.SHA256 != "" {
		if raw, err := hex.DecodeString(b.SHA256); err != nil || len(raw) != 32 {
			errs.add("sha256", "must be 64 hexadecimal digits")
		}
	}
	if b.SizeBytes < 0 {
		errs.add("sizeBytes", "must not be negative")
	}
	if b.FolderID != "" {
		b.folderID = errs.uuid("folderId", b.FolderID)
	}
	if b.AccessClass != "" {
		errs.accessClass("accessClass", b.AccessClass)
	}
	return errs
}

// validMediaType reports whether m is type/subtype with RFC 9110 token
// characters, optionally followed by ;parameters: what the domain accepts.
func validMediaType(m string) bool {
	m, _, _ = strings.Cut(m, ";")
	typ, sub, ok := strings.Cut(strings.TrimSpace(m), "/")
	return ok && isToken(typ) && isToken(sub)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// addEvidence is two commands: AddEvidence on the case, then
// RegisterEvidence on the new evidence stream with the case as it is after
// the first append. The first step also decides the second against that
// state before appending, so that a refusal of the second leaves nothing
// half done (AddEvidence already refuses an item its adder could not act
// on; this keeps the two steps safe if the rules drift apart). Only the last
// step records the answer for an Idempotency-Key; a retry after a crash
// between the steps finds the first step done and completes the second.
func (s *server) addEvidence(c echo.Context) error {
	var body addEvidenceRequest
	r, caseID, err := commandOn(c, &body)
	if err != nil {
		return err
	}
	evID := r.newID()
	add := domain.AddEvidence{CaseID: caseID, EvidenceID: evID, Title: body.Title, FolderID: body.folderID,
		AccessClass: domain.AccessClass(body.AccessClass), Actor: r.caller.Subject, Now: r.now}
	register := func(cs domain.Case) domain.RegisterEvidence {
		return domain.RegisterEvidence{EvidenceID: evID, Case: cs, MediaType: body.MediaType,
			SHA256: strings.ToLower(body.SHA256), SizeBytes: body.SizeBytes, Actor: r.caller.Subject, Now: r.now}
	}
	ctx := c.Request().Context()
	res, err := execute(ctx, s, r, step[domain.Case]{
		stream: domain.CaseStream(caseID),
		decide: func(cs domain.Case) ([]domain.Event, error) {
			evs, err := cs.Decide(add)
			if err != nil {
				return nil, err
			}
			next := cs
			for _, e := range evs {
				next = next.Evolve(e)
			}
			if _, err := (domain.Evidence{}).Decide(register(next)); err != nil {
				if domain.KindOf(err) == domain.NotFound {
					// The caller could add the item but not list it: not a 404 of the case.
					return nil, fmt.Errorf("add evidence to case %s: an item of class %s would be hidden from you "+
						"(needs the role's evidence list for that class, or an access-list entry): %w",
						caseID, domain.Stricter(cs.AccessClass, add.AccessClass), domain.ErrForbidden)
				}
				return nil, err
			}
			return evs, nil
		},
	})
	if err != nil {
		return hideCase(err, res.Existed, caseID)
	}
	caseState := res.State
	item, _ := caseState.Item(evID)
	res2, err := execute(ctx, s, r, step[domain.Evidence]{
		stream: domain.EvidenceStream(evID),
		fresh:  true,
		decide: func(ev domain.Evidence) ([]domain.Event, error) { return ev.Decide(register(caseState)) },
		respond: func(ev domain.Evidence) (int, any) {
			return http.StatusCreated, newEvidenceJSON(caseID, item, ev)
		},
	})
	if err != nil {
		return hideCase(err, true, caseID)
	}
	return reply(c, res2.Status, res2.Body, res2.Position)
}

// --- DELETE /v1/cases/{id}/evidence/{evidenceId} ----------------------------

func (s *server) removeEvidence(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	caseID, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	evID, err := pathUUID(c, "evidenceId")
	if err != nil {
		return err
	}
	cmd := domain.RemoveEvidence{CaseID: caseID, EvidenceID: evID, Actor: r.caller.Subject, Now: r.now}
	res, err := execute(c.Request().Context(), s, r, step[domain.Case]{
		stream:  domain.CaseStream(caseID),
		decide:  func(cs domain.Case) ([]domain.Event, error) { return cs.Decide(cmd) },
		respond: func(domain.Case) (int, any) { return http.StatusOK, struct{}{} },
	})
	if err != nil {
		return hideItem(err, res, caseID, evID)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

// --- GET /v1/evidence/{id} --------------------------------------------------

func (s *server) getEvidence(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	v, item, err := s.viewableEvidence(r, id)
	if err != nil {
		return err
	}
	ev, _, _, _, err := load[domain.Evidence](c.Request().Context(), s.store, domain.EvidenceStream(id), uuid.Nil, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newEvidenceJSON(v.ID, item, ev))
}

// caseOfEvidence returns the read model's view of the case holding item id
// now, and the item.
func (s *server) caseOfEvidence(id uuid.UUID) (projections.CaseView, domain.EvidenceItem, bool, error) {
	var v projections.CaseView
	var item domain.EvidenceItem
	var ok bool
	err := projections.View(s.runner, projections.CasesName, func(m *projections.Cases) error {
		caseID, in := m.CaseOfEvidence(id)
		if !in {
			return nil
		}
		if v, ok = m.Case(caseID); ok {
			item, ok = v.Item(id)
		}
		return nil
	})
	return v, item, ok, err
}

// viewableEvidence returns item id and its case for a query by r's caller:
// 404 if the item is in no case or the caller may not list it (including
// when it may not view the case; recorded as a refused attempt), 403 if the
// caller may list but not view it.
func (s *server) viewableEvidence(r *request, id uuid.UUID) (projections.CaseView, domain.EvidenceItem, error) {
	v, item, ok, err := s.caseOfEvidence(id)
	switch {
	case err != nil:
		return v, item, err
	case !ok:
		return v, item, fmt.Errorf("evidence %s: %w", id, domain.ErrEvidenceNotFound)
	case !domain.CanListEvidence(r.caller.Subject, v.Case, item, r.now):
		return v, item, hide(fmt.Errorf("evidence %s: %w", id, domain.ErrEvidenceNotFound), true, "evidence", id)
	case !domain.CanViewEvidence(r.caller.Subject, v.Case, item, r.now):
		return v, item, fmt.Errorf("view evidence %s: needs the role's evidence view for class %s or an access-list entry: %w",
			id, item.AccessClass, domain.ErrForbidden)
	}
	return v, item, nil
}
