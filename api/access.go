package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

// Access classes and internal access lists: a case's list and an evidence
// item's own list (managed with cases.access.manage on its case), and bulk
// grants over many cases.

// --- PUT /v1/cases/{id}/access-class ----------------------------------------

type accessClassRequest struct {
	AccessClass string `json:"accessClass"`
}

// Valid checks the class.
func (b *accessClassRequest) Valid() []FieldError {
	var errs fieldErrors
	if b.AccessClass == "" {
		errs.add("accessClass", "is required")
	} else {
		errs.accessClass("accessClass", b.AccessClass)
	}
	return errs
}

// accessClassJSON answers a class change: the class now, how many evidence
// items' classes rose with it, and whether the actor was put on the list.
type accessClassJSON struct {
	AccessClass          domain.AccessClass `json:"accessClass"`
	EvidenceReclassified int                `json:"evidenceReclassified"`
	ActorAddedToList     bool               `json:"actorAddedToList"`
}

func (s *server) changeAccessClass(c echo.Context) error {
	var body accessClassRequest
	r, id, err := commandOn(c, &body)
	if err != nil {
		return err
	}
	cmd := domain.ChangeAccessClass{CaseID: id, AccessClass: domain.AccessClass(body.AccessClass),
		Actor: r.caller.Subject, Now: r.now}
	var reclassified int
	var added bool
	res, err := execute(c.Request().Context(), s, r, step[domain.Case]{
		stream: domain.CaseStream(id),
		decide: func(cs domain.Case) ([]domain.Event, error) {
			evs, err := cs.Decide(cmd)
			reclassified, added = 0, false
			for _, e := range evs {
				switch e := e.(type) {
				case domain.AccessClassApplied:
					reclassified = len(e.Reclassified)
				case domain.InternalAccessGranted, domain.InternalAccessModified:
					added = true // the actor's own entry (Modified: its expired entry renewed)
				}
			}
			return evs, err
		},
		respond: func(cs domain.Case) (int, any) {
			return http.StatusOK, accessClassJSON{AccessClass: cs.AccessClass, EvidenceReclassified: reclassified, ActorAddedToList: added}
		},
	})
	if err != nil {
		return hideCase(err, res.Existed, id)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

// --- access lists: JSON -----------------------------------------------------

// accessListJSON is the manage-access summary of a case's list or an item's
// own list: the class (the case's or the item's), the active entries, and
// the counts of user entries, group entries, and of the organization's
// active users who may view the case (or the item) through their role alone.
type accessListJSON struct {
	AccessClass domain.AccessClass `json:"accessClass"`
	Entries     []accessEntryJSON  `json:"entries"`
	Counts      accessCountsJSON   `json:"counts"`
}

// accessEntryJSON is one entry; ExpiresAt null means until removed.
type accessEntryJSON struct {
	Principal principalJSON      `json:"principal"`
	Level     domain.AccessLevel `json:"level"`
	ExpiresAt *time.Time         `json:"expiresAt"`
	GrantedBy uuid.UUID          `json:"grantedBy"`
	GrantedAt time.Time          `json:"grantedAt"`
}

type principalJSON struct {
	Type domain.PrincipalType `json:"type"`
	ID   uuid.UUID            `json:"id"`
	Name string               `json:"name"`
}

type accessCountsJSON struct {
	Users       int `json:"users"`
	Groups      int `json:"groups"`
	RoleViewers int `json:"roleViewers"`
}

// accessList returns the summary of c's list (evidenceID uuid.Nil) or of
// its item evidenceID's own list, at now. Entries whose expiry has passed
// grant nothing and are left out (the expiry reactor removes them).
func (s *server) accessList(c domain.Case, evidenceID uuid.UUID, now time.Time) (accessListJSON, error) {
	class, list := c.AccessClass, c.Access
	isItem := evidenceID != uuid.Nil
	item, _ := c.Item(evidenceID)
	if isItem {
		class, list = item.AccessClass, item.Access
	}
	out := accessListJSON{AccessClass: class, Entries: []accessEntryJSON{}}
	var users []domain.User
	var roles map[uuid.UUID]domain.Role
	err := projections.View(s.runner, projections.DirectoryName, func(d *projections.Directory) error {
		for _, e := range list {
			if !e.ActiveAt(now) {
				continue
			}
			p := principalJSON{Type: e.Principal.Type, ID: e.Principal.ID}
			switch e.Principal.Type {
			case domain.PrincipalUser:
				u, _ := d.User(e.Principal.ID)
				p.Name = u.Name
				out.Counts.Users++
			case domain.PrincipalGroup:
				g, _ := d.Group(e.Principal.ID)
				p.Name = g.Name
				out.Counts.Groups++
			}
			entry := accessEntryJSON{Principal: p, Level: e.Level, GrantedBy: e.GrantedBy, GrantedAt: e.GrantedAt.UTC()}
			if !e.ExpiresAt.IsZero() {
				t := e.ExpiresAt.UTC()
				entry.ExpiresAt = &t
			}
			out.Entries = append(out.Entries, entry)
		}
		if !isItem {
			out.Counts.RoleViewers = d.RoleViewers(c)
			return nil
		}
		users = d.Users(c.OrgID)
		roles = map[uuid.UUID]domain.Role{}
		for _, r := range d.Roles(c.OrgID) {
			roles[r.ID] = r
		}
		return nil
	})
	if err != nil || !isItem {
		return out, err
	}
	out.Counts.RoleViewers = itemRoleViewers(c, item, users, roles, now)
	return out, nil
}

// itemRoleViewers counts the active users who may view item of c through
// their role alone: CanViewEvidence with both access lists left out.
func itemRoleViewers(c domain.Case, item domain.EvidenceItem, users []domain.User, roles map[uuid.UUID]domain.Role, now time.Time) int {
	c.Access, item.Access = nil, nil
	byRole := map[uuid.UUID]bool{} // for users who neither own the case nor added the item
	n := 0
	for _, u := range users {
		if !u.Active {
			continue
		}
		special := u.ID == c.OwnerID || u.ID == item.AddedBy
		views, known := byRole[u.RoleID]
		if !known || special {
			views = domain.CanViewEvidence(domain.NewSubject(u, roles[u.RoleID], nil), c, item, now)
			if !special {
				byRole[u.RoleID] = views
			}
		}
		if views {
			n++
		}
	}
	return n
}

// --- access lists: requests -------------------------------------------------

// maxGrantEntries bounds the entries of one grant request.
const maxGrantEntries = 100

// accessEntryRequest asks for one principal on a list. ExpiresAt empty or
// null means until removed.
type accessEntryRequest struct {
	Principal struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"principal"`
	Level     string `json:"level"`
	ExpiresAt string `json:"expiresAt"`

	principal domain.Principal
	expiresAt time.Time
}

// validEntries checks a request's entries, keeping the parsed values.
func validEntries(errs *fieldErrors, entries []accessEntryRequest) {
	switch {
	case len(entries) == 0:
		errs.add("entries", "at least one entry is required")
		return
	case len(entries) > maxGrantEntries:
		errs.add("entries", fmt.Sprintf("at most %d entries", maxGrantEntries))
		return
	}
	seen := map[domain.Principal]bool{}
	for i := range entries {
		e := &entries[i]
		f := fmt.Sprintf("entries[%d].", i)
		typ := domain.PrincipalType(e.Principal.Type)
		if typ != domain.PrincipalUser && typ != domain.PrincipalGroup {
			errs.add(f+"principal.type", "must be user or group")
		}
		id := errs.uuid(f+"principal.id", e.Principal.ID)
		e.principal = domain.Principal{Type: typ, ID: id}
		if e.principal.Valid() {
			if seen[e.principal] {
				errs.add(f+"principal", "is given twice")
			}
			seen[e.principal] = true
		}
		if !domain.AccessLevel(e.Level).Valid() {
			errs.add(f+"level", "must be role or view")
		}
		if e.ExpiresAt != "" {
			e.expiresAt = errs.expiry(f+"expiresAt", e.ExpiresAt)
		}
	}
}

// futureExpiries checks that every expiry lies after now.
func futureExpiries(entries []accessEntryRequest, now time.Time) error {
	var errs fieldErrors
	for i, e := range entries {
		if !e.expiresAt.IsZero() && !e.expiresAt.After(now) {
			errs.add(fmt.Sprintf("entries[%d].expiresAt", i), "must lie in the future")
		}
	}
	return errs.err()
}

// grants turns valid entries into the domain's grants, with each
// principal's organization from the directory (uuid.Nil for an unknown
// group or an unknown or inactive user: the domain refuses it).
func (s *server) grants(entries []accessEntryRequest) ([]domain.Grant, error) {
	out := make([]domain.Grant, len(entries))
	err := projections.View(s.runner, projections.DirectoryName, func(d *projections.Directory) error {
		for i, e := range entries {
			g := domain.Grant{Principal: e.principal, Level: domain.AccessLevel(e.Level), ExpiresAt: e.expiresAt}
			switch e.principal.Type {
			case domain.PrincipalUser:
				if u, ok := d.User(e.principal.ID); ok && u.Active {
					g.PrincipalOrgID = u.OrgID
				}
			case domain.PrincipalGroup:
				if gr, ok := d.Group(e.principal.ID); ok {
					g.PrincipalOrgID = gr.OrgID
				}
			}
			out[i] = g
		}
		return nil
	})
	return out, err
}

type grantRequest struct {
	Entries []accessEntryRequest `json:"entries"`
}

// Valid checks the entries.
func (b *grantRequest) Valid() []FieldError {
	var errs fieldErrors
	validEntries(&errs, b.Entries)
	return errs
}

// modifyAccessRequest: level and expiresAt left out stay as they are;
// expiresAt null means until removed.
type modifyAccessRequest struct {
	Level     Nullable[string] `json:"level"`
	ExpiresAt Nullable[string] `json:"expiresAt"`

	expiresAt time.Time
}

// Valid checks the fields given.
func (b *modifyAccessRequest) Valid() []FieldError {
	var errs fieldErrors
	if b.Level.Set && (b.Level.Null || !domain.AccessLevel(b.Level.Value).Valid()) {
		errs.add("level", "must be role or view")
	}
	if b.ExpiresAt.Set && !b.ExpiresAt.Null {
		b.expiresAt = errs.expiry("expiresAt", b.ExpiresAt.Value)
	}
	return errs
}

// principalParam returns the principal named by the path's type and
// principalId.
func principalParam(c echo.Context) (domain.Principal, error) {
	var errs fieldErrors
	typ := domain.PrincipalType(c.Param("type"))
	if typ != domain.PrincipalUser && typ != domain.PrincipalGroup {
		errs.add("type", "must be user or group")
	}
	id := errs.uuid("principalId", c.Param("principalId"))
	return domain.Principal{Type: typ, ID: id}, errs.err()
}

// --- access lists: handlers shared by cases and evidence --------------------

// listTarget is the list a request is about: a case's (EvidenceID uuid.Nil)
// or an item's own list.
type listTarget struct {
	CaseID     uuid.UUID
	EvidenceID uuid.UUID
}

// hideList hides a not-found refusal of a command on the target's list when
// what the path names exists (only the case or evidence, never a principal
// missing from the list).
func (t listTarget) hide(err error, res result[domain.Case]) error {
	if t.EvidenceID == uuid.Nil {
		return hideCase(err, res.Existed, t.CaseID)
	}
	if errors.Is(err, domain.ErrCaseNotFound) || errors.Is(err, domain.ErrEvidenceNotFound) {
		_, in := res.State.Item(t.EvidenceID)
		return hide(err, res.Existed && in, "evidence", t.EvidenceID)
	}
	return err
}

// targetFunc resolves the list a request is about. The list commands call it
// after the caller and the input are checked: an item's target comes from
// the read model (404 for an unknown item), and bad input must answer the
// same whether the item exists or not, so that it cannot reveal whether it
// does.
type targetFunc func(echo.Context) (listTarget, error)

// caseTarget returns the case list named by the path's id.
func caseTarget(c echo.Context) (listTarget, error) {
	id, err := pathUUID(c, "id")
	return listTarget{CaseID: id}, err
}

// evidenceTarget returns the item list named by the path's id: the item's
// case comes from the read model (404 for an item in no case).
func (s *server) evidenceTarget(c echo.Context) (listTarget, error) {
	id, err := pathUUID(c, "id")
	if err != nil {
		return listTarget{}, err
	}
	var caseID uuid.UUID
	var ok bool
	err = projections.View(s.runner, projections.CasesName, func(m *projections.Cases) error {
		caseID, ok = m.CaseOfEvidence(id)
		return nil
	})
	if err != nil {
		return listTarget{}, err
	}
	if !ok {
		return listTarget{}, fmt.Errorf("evidence %s: %w", id, domain.ErrEvidenceNotFound)
	}
	return listTarget{CaseID: caseID, EvidenceID: id}, nil
}

func (s *server) getCaseAccess(c echo.Context) error {
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
	out, err := s.accessList(v.Case, uuid.Nil, r.now)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) getEvidenceAccess(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	v, _, err := s.viewableEvidence(r, id)
	if err != nil {
		return err
	}
	out, err := s.accessList(v.Case, id, r.now)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) grantCaseAccess(c echo.Context) error {
	return s.grantAccess(c, caseTarget)
}

func (s *server) grantEvidenceAccess(c echo.Context) error {
	return s.grantAccess(c, s.evidenceTarget)
}

func (s *server) modifyCaseAccess(c echo.Context) error {
	return s.modifyAccess(c, caseTarget)
}

func (s *server) modifyEvidenceAccess(c echo.Context) error {
	return s.modifyAccess(c, s.evidenceTarget)
}

func (s *server) removeCaseAccess(c echo.Context) error {
	return s.removeAccess(c, caseTarget)
}

func (s *server) removeEvidenceAccess(c echo.Context) error {
	return s.removeAccess(c, s.evidenceTarget)
}

// listAnswer returns respond for a list command: 200 with the list as it is
// after the command.
func (s *server) listAnswer(r *request, t listTarget) func(domain.Case) (int, any) {
	return func(cs domain.Case) (int, any) {
		out, err := s.accessList(cs, t.EvidenceID, r.now)
		if err != nil {
			s.log.Warn("access list answer without directory facts", "err", err)
		}
		return http.StatusOK, out
	}
}

// grantAccess: POST …/access → 200 with the list.
func (s *server) grantAccess(c echo.Context, target targetFunc) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	var body grantRequest
	if err := decode(c, &body); err != nil {
		return err
	}
	if err := futureExpiries(body.Entries, r.now); err != nil {
		return err
	}
	grants, err := s.grants(body.Entries)
	if err != nil {
		return err
	}
	t, err := target(c)
	if err != nil {
		return err
	}
	cmd := domain.GrantAccess{CaseID: t.CaseID, EvidenceID: t.EvidenceID, Grants: grants, Actor: r.caller.Subject, Now: r.now}
	res, err := execute(c.Request().Context(), s, r, step[domain.Case]{
		stream:  domain.CaseStream(t.CaseID),
		decide:  func(cs domain.Case) ([]domain.Event, error) { return cs.Decide(cmd) },
		respond: s.listAnswer(r, t),
	})
	if err != nil {
		return t.hide(err, res)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

// modifyAccess: PATCH …/access/{type}/{principalId} → 200 with the list.
func (s *server) modifyAccess(c echo.Context, target targetFunc) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	p, err := principalParam(c)
	if err != nil {
		return err
	}
	var body modifyAccessRequest
	if err := decode(c, &body); err != nil {
		return err
	}
	t, err := target(c)
	if err != nil {
		return err
	}
	cmd := domain.ModifyAccess{CaseID: t.CaseID, EvidenceID: t.EvidenceID, Principal: p, Actor: r.caller.Subject, Now: r.now}
	if body.Level.Set {
		cmd.Level = domain.Some(domain.AccessLevel(body.Level.Value))
	}
	if body.ExpiresAt.Set {
		if !body.expiresAt.IsZero() && !body.expiresAt.After(r.now) {
			return invalid("expiresAt", "must lie in the future")
		}
		cmd.ExpiresAt = domain.Some(body.expiresAt) // zero (null): until removed
	}
	res, err := execute(c.Request().Context(), s, r, step[domain.Case]{
		stream:  domain.CaseStream(t.CaseID),
		decide:  func(cs domain.Case) ([]domain.Event, error) { return cs.Decide(cmd) },
		respond: s.listAnswer(r, t),
	})
	if err != nil {
		return t.hide(err, res)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

// removeAccess: DELETE …/access/{type}/{principalId} → 200 {}. (It does not
// answer with the list: an actor who removed its own entry may no longer
// see it.)
func (s *server) removeAccess(c echo.Context, target targetFunc) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	p, err := principalParam(c)
	if err != nil {
		return err
	}
	t, err := target(c)
	if err != nil {
		return err
	}
	cmd := domain.RemoveAccess{CaseID: t.CaseID, EvidenceID: t.EvidenceID, Principal: p, Actor: r.caller.Subject, Now: r.now}
	res, err := execute(c.Request().Context(), s, r, step[domain.Case]{
		stream:  domain.CaseStream(t.CaseID),
		decide:  func(cs domain.Case) ([]domain.Event, error) { return cs.Decide(cmd) },
		respond: func(domain.Case) (int, any) { return http.StatusOK, struct{}{} },
	})
	if err != nil {
		return t.hide(err, res)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

// --- POST /v1/access-grants -------------------------------------------------

// maxBulkCases bounds the cases of one bulk grant.
const maxBulkCases = 500

type bulkGrantRequest struct {
	CaseIDs []string             `json:"caseIds"`
	Entries []accessEntryRequest `json:"entries"`

	caseIDs []uuid.UUID
}

// Valid checks the case ids (1 to maxBulkCases, no repeats) and the entries.
func (b *bulkGrantRequest) Valid() []FieldError {
	var errs fieldErrors
	switch {
	case len(b.CaseIDs) == 0:
		errs.add("caseIds", "at least one case id is required")
	case len(b.CaseIDs) > maxBulkCases:
		errs.add("caseIds", fmt.Sprintf("at most %d case ids", maxBulkCases))
	default:
		seen := map[uuid.UUID]bool{}
		for i, s := range b.CaseIDs {
			f := fmt.Sprintf("caseIds[%d]", i)
			id := errs.uuid(f, s)
			if id == uuid.Nil {
				continue
			}
			if seen[id] {
				errs.add(f, "is given twice")
			}
			seen[id] = true
			b.caseIDs = append(b.caseIDs, id)
		}
	}
	validEntries(&errs, b.Entries)
	return errs
}

// Bulk grant result statuses.
const (
	bulkGranted   = "granted"
	bulkForbidden = "forbidden"
	bulkNotFound  = "not_found"
	bulkInvalid   = "invalid"
)

type bulkResultJSON struct {
	CaseID uuid.UUID `json:"caseId"`
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
}

type bulkGrantJSON struct {
	Results []bulkResultJSON `json:"results"`
}

// bulkGrant grants the same entries on many cases: one GrantAccess and one
// append per case, one result per case, in the order given. A case the
// caller may not list is not_found (and recorded as a refused attempt when
// it exists), one it may not manage forbidden, a grant the domain refuses
// for that case invalid. An invalid body is a 400 for the whole request; a
// failure of the store stops the request with its error (the cases granted
// before stay granted; a retry grants nothing twice). With an
// Idempotency-Key the answer is recorded with the last case's append when
// that one succeeds.
func (s *server) bulkGrant(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	var body bulkGrantRequest
	if err := decode(c, &body); err != nil {
		return err
	}
	if err := futureExpiries(body.Entries, r.now); err != nil {
		return err
	}
	grants, err := s.grants(body.Entries)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	results := make([]bulkResultJSON, 0, len(body.caseIDs))
	var last eventstore.Position
	status, answer := http.StatusOK, any(nil)
	for i, id := range body.caseIDs {
		cmd := domain.GrantAccess{CaseID: id, Grants: grants, Actor: r.caller.Subject, Now: r.now}
		st := step[domain.Case]{
			stream: domain.CaseStream(id),
			decide: func(cs domain.Case) ([]domain.Event, error) { return cs.Decide(cmd) },
		}
		if i == len(body.caseIDs)-1 {
			st.respond = func(domain.Case) (int, any) {
				all := append(append([]bulkResultJSON{}, results...), bulkResultJSON{CaseID: id, Status: bulkGranted})
				return http.StatusOK, bulkGrantJSON{Results: all}
			}
		}
		res, err := execute(ctx, s, r, st)
		if err == nil {
			results = append(results, bulkResultJSON{CaseID: id, Status: bulkGranted})
			if last.Before(res.Position) {
				last = res.Position
			}
			if st.respond != nil {
				status, answer = res.Status, res.Body
			}
			continue
		}
		result := bulkResultJSON{CaseID: id, Detail: err.Error()}
		switch domain.KindOf(err) {
		case domain.NotFound:
			result.Status, result.Detail = bulkNotFound, ""
			var t *targeted
			if herr := hideCase(err, res.Existed, id); errors.As(herr, &t) {
				s.recordRefusal(c, herr, http.StatusNotFound)
			}
		case domain.Forbidden:
			result.Status = bulkForbidden
			s.recordRefusal(c, &targeted{err: err, targetType: "case", targetID: id.String()}, http.StatusForbidden)
		case domain.Invalid, domain.Refused, domain.Conflict:
			result.Status = bulkInvalid
		default:
			return err
		}
		results = append(results, result)
	}
	if answer == nil {
		answer = bulkGrantJSON{Results: results}
	}
	return reply(c, status, answer, last)
}
