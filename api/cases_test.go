package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
)

// Roles of the case tests (permissions documents of api.md).
var (
	// supervisor lists and views unrestricted and restricted cases and
	// evidence, applies and removes "restricted", and takes every case action.
	supervisorPerms = map[string]any{
		"cases": map[string]any{
			"list":        map[string]any{"unrestricted": "all", "restricted": "all"},
			"view":        map[string]any{"unrestricted": "allow", "restricted": "allow"},
			"applyClass":  map[string]any{"restricted": "allow"},
			"removeClass": map[string]any{"restricted": "allow"},
		},
		"evidence": map[string]any{
			"list":       map[string]any{"unrestricted": "all", "restricted": "all"},
			"view":       map[string]any{"unrestricted": "allow", "restricted": "allow"},
			"applyClass": map[string]any{"restricted": "allow"},
		},
		"actions": []string{"cases.create", "cases.edit", "evidence.add", "cases.access.manage"},
	}
	// ownOnly lists and views only the unrestricted cases it owns.
	ownOnlyPerms = map[string]any{
		"cases":    map[string]any{"list": map[string]any{"unrestricted": "own"}, "view": map[string]any{"unrestricted": "allow"}},
		"evidence": map[string]any{"list": map[string]any{"unrestricted": "all"}, "view": map[string]any{"unrestricted": "allow"}},
		"actions":  []string{"cases.create", "cases.edit", "evidence.add"},
	}
	// listOnly finds every unrestricted case but may open none.
	listOnlyPerms = map[string]any{
		"cases": map[string]any{"list": map[string]any{"unrestricted": "all"}},
	}
	// editorNoList may edit cases, but sees only those it is on the list for.
	editorNoListPerms = map[string]any{
		"actions": []string{"cases.edit"},
	}
)

// caseWorld is an organization with a user per role.
type caseWorld struct {
	h                               *harness
	org                             org
	admin, sup, ownA, ownB, lister  string
	editor, sup2, outsider, outside string
}

func newCaseWorld(t *testing.T) *caseWorld {
	h := newHarness(t)
	o := h.newOrg("metro")
	w := &caseWorld{h: h, org: o, admin: o.AdminID}
	sup := h.newRole(o, "Supervisor", supervisorPerms)
	own := h.newRole(o, "Officer", ownOnlyPerms)
	w.sup = h.newUser(o, "sam", sup)
	w.sup2 = h.newUser(o, "sue", sup)
	w.ownA = h.newUser(o, "alma", own)
	w.ownB = h.newUser(o, "bert", own)
	w.lister = h.newUser(o, "lise", h.newRole(o, "Lister", listOnlyPerms))
	w.editor = h.newUser(o, "eddy", h.newRole(o, "Editor", editorNoListPerms))
	other := h.newOrg("county")
	w.outside = other.AdminID
	return w
}

func (w *caseWorld) createCase(sub string, body map[string]any) map[string]any {
	w.h.t.Helper()
	return w.h.must(http.StatusCreated, sub, "POST", "/v1/cases", body)
}

func (w *caseWorld) addEvidence(sub, caseID string, body map[string]any) map[string]any {
	w.h.t.Helper()
	return w.h.must(http.StatusCreated, sub, "POST", "/v1/cases/"+caseID+"/evidence", body)
}

func userEntry(id, level string) map[string]any {
	return map[string]any{"principal": map[string]any{"type": "user", "id": id}, "level": level}
}

// refusals returns the AccessDenied events of org's audit stream.
func (h *harness) refusals(orgID string) []domain.AccessDenied {
	h.t.Helper()
	var out []domain.AccessDenied
	err := h.store.ReadStream(context.Background(), "audit-"+orgID, eventstore.Forward, 0, func(env eventstore.Envelope) error {
		if env.Type == "AccessDenied" {
			var e domain.AccessDenied
			require.NoError(h.t, json.Unmarshal(env.Data, &e))
			out = append(out, e)
		}
		return nil
	})
	require.NoError(h.t, err)
	return out
}

func ids(items []any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)["id"].(string)
	}
	return out
}

func TestCreateCaseDefaultsAndGet(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	r := h.do(w.ownA, "POST", "/v1/cases", map[string]any{"title": "  Burglary at 5th  ", "description": "Back door forced"})
	require.Equal(t, http.StatusCreated, r.Code, string(r.Body))
	got := r.JSON(t)
	assert.Equal(t, "unrestricted", got["accessClass"])
	assert.Equal(t, w.ownA, got["ownerId"], "the creator owns the case by default")
	assert.Equal(t, w.org.ID, got["orgId"])
	assert.Equal(t, "Burglary at 5th", got["title"])
	assert.Equal(t, []any{}, got["folders"])
	assert.Equal(t, []any{}, got["evidence"])
	require.NotEmpty(t, got["position"])
	assert.Equal(t, got["position"], r.Header.Get("Custodian-Position"))
	id := got["id"].(string)

	view := h.must(http.StatusOK, w.ownA, "GET", "/v1/cases/"+id, nil)
	for _, k := range []string{"id", "orgId", "title", "description", "ownerId", "accessClass", "createdAt", "updatedAt"} {
		assert.Equal(t, got[k], view[k], k)
	}
	assert.NotContains(t, view, "position", "queries carry no position")

	// PATCH: title and owner; the answer is the case.
	edited := h.must(http.StatusOK, w.ownA, "PATCH", "/v1/cases/"+id, map[string]any{"title": "Burglary", "description": nil})
	assert.Equal(t, "Burglary", edited["title"])
	assert.Equal(t, "", edited["description"], "null clears the description")
	assert.Equal(t, view["createdAt"], edited["createdAt"])
	assert.NotEmpty(t, edited["position"])

	// An owner of another organization is refused.
	r = h.do(w.sup, "PATCH", "/v1/cases/"+id, map[string]any{"ownerId": w.outside})
	assert.Equal(t, http.StatusBadRequest, r.Code, string(r.Body))

	// Folders and evidence appear in the case view.
	folder := h.must(http.StatusCreated, w.ownA, "POST", "/v1/cases/"+id+"/folders", map[string]any{"name": "Photos"})
	ev := w.addEvidence(w.ownA, id, map[string]any{"title": "Door photo", "folderId": folder["id"], "mediaType": "image/jpeg",
		"sha256": strings.Repeat("ab", 32), "sizeBytes": 1234})
	assert.Equal(t, id, ev["caseId"])
	assert.Equal(t, folder["id"], ev["folderId"])
	assert.Equal(t, "unrestricted", ev["accessClass"])
	assert.Equal(t, w.ownA, ev["addedBy"])
	assert.Equal(t, "image/jpeg", ev["mediaType"])
	assert.Equal(t, float64(1234), ev["sizeBytes"])
	assert.Equal(t, false, ev["contentAttached"])
	view = h.must(http.StatusOK, w.ownA, "GET", "/v1/cases/"+id, nil)
	assert.Equal(t, []any{map[string]any{"id": folder["id"], "name": "Photos"}}, view["folders"])
	assert.Equal(t, []any{map[string]any{"id": ev["id"], "title": "Door photo", "folderId": folder["id"],
		"accessClass": "unrestricted", "addedBy": w.ownA, "canView": true}}, view["evidence"])
	got = h.must(http.StatusOK, w.ownA, "GET", "/v1/evidence/"+ev["id"].(string), nil)
	delete(ev, "position")
	assert.Equal(t, ev, got)

	// Removing evidence: 200 {} with a position, then the item is gone.
	removed := h.must(http.StatusOK, w.ownA, "DELETE", "/v1/cases/"+id+"/evidence/"+ev["id"].(string), nil)
	assert.Len(t, removed, 1)
	assert.NotEmpty(t, removed["position"])
	h.must(http.StatusNotFound, w.ownA, "GET", "/v1/evidence/"+ev["id"].(string), nil)

	// Operators are not case users.
	assert.Equal(t, http.StatusForbidden, h.do("operator", "GET", "/v1/cases/"+id, nil).Code)
	assert.Equal(t, http.StatusForbidden, h.do("operator", "POST", "/v1/cases", map[string]any{"title": "x"}).Code)
}

func TestOwnerOnlyListing(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	mine := w.createCase(w.ownA, map[string]any{"title": "Alma's case"})["id"].(string)
	theirs := w.createCase(w.ownB, map[string]any{"title": "Bert's case"})["id"].(string)
	assigned := w.createCase(w.sup, map[string]any{"title": "Assigned to Alma", "ownerId": w.ownA})["id"].(string)

	page := h.must(http.StatusOK, w.ownA, "GET", "/v1/cases", nil)
	assert.Equal(t, true, page["ownerFilterLocked"])
	assert.Equal(t, []string{assigned, mine}, ids(page["items"].([]any)), "own cases only, newest first")
	assert.Nil(t, page["nextCursor"])

	h.must(http.StatusOK, w.ownA, "GET", "/v1/cases/"+mine, nil)
	h.must(http.StatusNotFound, w.ownA, "GET", "/v1/cases/"+theirs, nil)
	h.must(http.StatusNotFound, w.ownA, "PATCH", "/v1/cases/"+theirs, map[string]any{"title": "mine now"})

	// Once on Bert's list, Alma finds and opens it, whoever owns it.
	h.must(http.StatusOK, w.sup, "POST", "/v1/cases/"+theirs+"/access", map[string]any{"entries": []any{userEntry(w.ownA, "view")}})
	page = h.must(http.StatusOK, w.ownA, "GET", "/v1/cases", nil)
	assert.Equal(t, []string{assigned, theirs, mine}, ids(page["items"].([]any)))
	page = h.must(http.StatusOK, w.ownA, "GET", "/v1/cases?ownerId="+w.ownB, nil)
	assert.Equal(t, []string{theirs}, ids(page["items"].([]any)))

	// A supervisor's role lists all: not locked, every case.
	page = h.must(http.StatusOK, w.sup, "GET", "/v1/cases", nil)
	assert.Equal(t, false, page["ownerFilterLocked"])
	assert.Len(t, page["items"], 3)
}

func TestViewEntryIsReadOnly(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	id := w.createCase(w.sup, map[string]any{"title": "Fraud"})["id"].(string)
	h.must(http.StatusNotFound, w.editor, "GET", "/v1/cases/"+id, nil)

	grant := h.must(http.StatusOK, w.sup, "POST", "/v1/cases/"+id+"/access", map[string]any{"entries": []any{userEntry(w.editor, "view")}})
	require.NotEmpty(t, grant["position"])
	entries := grant["entries"].([]any)
	require.Len(t, entries, 1)
	e := entries[0].(map[string]any)
	assert.Equal(t, map[string]any{"type": "user", "id": w.editor, "name": "eddy"}, e["principal"])
	assert.Equal(t, "view", e["level"])
	assert.Nil(t, e["expiresAt"])
	assert.Equal(t, w.sup, e["grantedBy"])

	h.must(http.StatusOK, w.editor, "GET", "/v1/cases/"+id, nil)
	r := h.do(w.editor, "PATCH", "/v1/cases/"+id, map[string]any{"title": "changed"})
	assert.Equal(t, http.StatusForbidden, r.Code, "level view is read-only")
	assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))

	// Level role: the role's cases.edit applies.
	h.must(http.StatusOK, w.sup, "PATCH", "/v1/cases/"+id+"/access/user/"+w.editor, map[string]any{"level": "role"})
	h.must(http.StatusOK, w.editor, "PATCH", "/v1/cases/"+id, map[string]any{"title": "changed"})

	// An expiry, then back to until removed.
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	list := h.must(http.StatusOK, w.sup, "PATCH", "/v1/cases/"+id+"/access/user/"+w.editor, map[string]any{"expiresAt": exp})
	assert.Equal(t, exp, list["entries"].([]any)[0].(map[string]any)["expiresAt"])
	list = h.must(http.StatusOK, w.sup, "PATCH", "/v1/cases/"+id+"/access/user/"+w.editor, map[string]any{"expiresAt": nil})
	assert.Nil(t, list["entries"].([]any)[0].(map[string]any)["expiresAt"])

	// Removed: the very next request is refused.
	h.must(http.StatusOK, w.sup, "DELETE", "/v1/cases/"+id+"/access/user/"+w.editor, nil)
	h.must(http.StatusNotFound, w.editor, "GET", "/v1/cases/"+id, nil)
	h.must(http.StatusNotFound, w.sup, "DELETE", "/v1/cases/"+id+"/access/user/"+w.editor, nil)
}

func TestAccessClassChange(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	id := w.createCase(w.sup, map[string]any{"title": "Homicide"})["id"].(string)
	e1 := w.addEvidence(w.sup, id, map[string]any{"title": "Knife"})["id"].(string)
	w.addEvidence(w.sup, id, map[string]any{"title": "Statement"})
	h.must(http.StatusOK, w.sup, "POST", "/v1/cases/"+id+"/access", map[string]any{"entries": []any{userEntry(w.ownB, "view")}})

	// An officer may not restrict it.
	h.must(http.StatusForbidden, w.ownB, "PUT", "/v1/cases/"+id+"/access-class", map[string]any{"accessClass": "restricted"})

	got := h.must(http.StatusOK, w.sup, "PUT", "/v1/cases/"+id+"/access-class", map[string]any{"accessClass": "restricted"})
	assert.Equal(t, "restricted", got["accessClass"])
	assert.Equal(t, float64(2), got["evidenceReclassified"])
	assert.Equal(t, true, got["actorAddedToList"])
	assert.NotEmpty(t, got["position"])

	acc := h.must(http.StatusOK, w.sup, "GET", "/v1/cases/"+id+"/access", nil)
	assert.Equal(t, "restricted", acc["accessClass"])
	var onList []string
	for _, e := range acc["entries"].([]any) {
		onList = append(onList, e.(map[string]any)["principal"].(map[string]any)["id"].(string))
	}
	assert.ElementsMatch(t, []string{w.ownB, w.sup}, onList)
	// Role viewers of a restricted case: the administrator and both supervisors.
	assert.Equal(t, map[string]any{"users": float64(2), "groups": float64(0), "roleViewers": float64(3)}, acc["counts"])
	ev := h.must(http.StatusOK, w.sup, "GET", "/v1/evidence/"+e1, nil)
	assert.Equal(t, "restricted", ev["accessClass"])

	// The same class again changes nothing.
	got = h.must(http.StatusOK, w.sup, "PUT", "/v1/cases/"+id+"/access-class", map[string]any{"accessClass": "restricted"})
	assert.Equal(t, float64(0), got["evidenceReclassified"])
	assert.Equal(t, false, got["actorAddedToList"])

	// Back to unrestricted: evidence keeps its class.
	got = h.must(http.StatusOK, w.sup2, "PUT", "/v1/cases/"+id+"/access-class", map[string]any{"accessClass": "unrestricted"})
	assert.Equal(t, "unrestricted", got["accessClass"])
	assert.Equal(t, float64(0), got["evidenceReclassified"])
	assert.Equal(t, false, got["actorAddedToList"])
	view := h.must(http.StatusOK, w.sup, "GET", "/v1/cases/"+id, nil)
	for _, it := range view["evidence"].([]any) {
		assert.Equal(t, "restricted", it.(map[string]any)["accessClass"])
	}
	// The officer sees the case but not the restricted evidence (list all unrestricted only) —
	// except through its case entry, which lists and views every item.
	view = h.must(http.StatusOK, w.ownB, "GET", "/v1/cases/"+id, nil)
	assert.Len(t, view["evidence"], 2)
	h.must(http.StatusOK, w.sup, "DELETE", "/v1/cases/"+id+"/access/user/"+w.ownB, nil)
	h.must(http.StatusNotFound, w.ownB, "GET", "/v1/cases/"+id, nil) // not the owner: not listed
}

func TestHiddenNotFoundAndForbidden(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	id := w.createCase(w.ownA, map[string]any{"title": "Alma's"})["id"].(string)
	ev := w.addEvidence(w.ownA, id, map[string]any{"title": "Note"})["id"].(string)
	before := len(h.refusals(w.org.ID))

	// Lister: may list (search finds it) but not view → 403 on the case and its lists.
	page := h.must(http.StatusOK, w.lister, "GET", "/v1/cases", nil)
	assert.Equal(t, []string{id}, ids(page["items"].([]any)))
	h.must(http.StatusForbidden, w.lister, "GET", "/v1/cases/"+id, nil)
	h.must(http.StatusForbidden, w.lister, "GET", "/v1/cases/"+id+"/access", nil)
	// The evidence of a case it may not view is not even listed: 404.
	h.must(http.StatusNotFound, w.lister, "GET", "/v1/evidence/"+ev, nil)

	// Bert may not list Alma's case: 404, like a case that does not exist.
	hidden := h.do(w.ownB, "GET", "/v1/cases/"+id, nil)
	missing := h.do(w.ownB, "GET", "/v1/cases/01890000-0000-7000-8000-000000000000", nil)
	assert.Equal(t, http.StatusNotFound, hidden.Code)
	assert.Equal(t, http.StatusNotFound, missing.Code)
	assert.JSONEq(t, string(missing.Body), string(hidden.Body), "a hidden case reads like a missing one")
	h.must(http.StatusNotFound, w.ownB, "POST", "/v1/cases/"+id+"/folders", map[string]any{"name": "x"})
	h.must(http.StatusNotFound, w.outside, "GET", "/v1/cases/"+id, nil)

	// Recorded: the three 403s, the hidden 404s of Bert and of the evidence;
	// not the missing case. (The other organization's refusal goes to its own stream.)
	got := h.refusals(w.org.ID)[before:]
	var summary []string
	for _, e := range got {
		summary = append(summary, fmt.Sprintf("%d %s %s", e.Status, e.TargetType, e.TargetID))
	}
	assert.Equal(t, []string{
		"403 case " + id, "403 case " + id, "404 evidence " + ev, "404 case " + id, "404 case " + id,
	}, summary)

	// Bad ids are 400s.
	assert.Equal(t, http.StatusBadRequest, h.do(w.ownA, "GET", "/v1/cases/nope", nil).Code)
	assert.Equal(t, http.StatusBadRequest, h.do(w.ownA, "GET", "/v1/evidence/nope", nil).Code)
}

func TestEvidenceAccessList(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	id := w.createCase(w.sup, map[string]any{"title": "Drugs"})["id"].(string)
	ev := w.addEvidence(w.sup, id, map[string]any{"title": "Informant", "accessClass": "restricted"})
	assert.Equal(t, "restricted", ev["accessClass"])
	evID := ev["id"].(string)

	// Alma may not list the case (own-only role); on its list she sees every item.
	h.must(http.StatusNotFound, w.ownA, "GET", "/v1/cases/"+id, nil)
	h.must(http.StatusOK, w.sup, "POST", "/v1/cases/"+id+"/access", map[string]any{"entries": []any{userEntry(w.ownA, "view")}})
	// A case entry lists and views every item.
	caseView := h.must(http.StatusOK, w.ownA, "GET", "/v1/cases/"+id, nil)
	assert.Len(t, caseView["evidence"], 1)
	h.must(http.StatusOK, w.sup, "DELETE", "/v1/cases/"+id+"/access/user/"+w.ownA, nil)

	// The item's own list.
	list := h.must(http.StatusOK, w.sup, "POST", "/v1/evidence/"+evID+"/access", map[string]any{"entries": []any{userEntry(w.ownB, "view")}})
	assert.Equal(t, "restricted", list["accessClass"])
	assert.Len(t, list["entries"], 1)
	// Role viewers of the item: administrator and both supervisors.
	assert.Equal(t, float64(3), list["counts"].(map[string]any)["roleViewers"])
	got := h.must(http.StatusOK, w.sup, "GET", "/v1/evidence/"+evID+"/access", nil)
	delete(list, "position")
	assert.Equal(t, list, got)
	h.must(http.StatusOK, w.sup, "PATCH", "/v1/evidence/"+evID+"/access/user/"+w.ownB, map[string]any{"level": "role"})
	h.must(http.StatusOK, w.sup, "DELETE", "/v1/evidence/"+evID+"/access/user/"+w.ownB, nil)
	h.must(http.StatusNotFound, w.sup, "DELETE", "/v1/evidence/"+evID+"/access/user/"+w.ownB, nil)
	h.must(http.StatusNotFound, w.sup, "GET", "/v1/evidence/01890000-0000-7000-8000-000000000000/access", nil)
}

func TestBulkGrantMixedResults(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	granted := w.createCase(w.sup, map[string]any{"title": "one"})["id"].(string)
	// A confidential case the supervisor sees only through a View entry: it
	// may list it but not manage its list.
	forbidden := w.createCase(w.admin, map[string]any{"title": "two", "accessClass": "confidential"})["id"].(string)
	h.must(http.StatusOK, w.admin, "POST", "/v1/cases/"+forbidden+"/access", map[string]any{"entries": []any{userEntry(w.sup, "view")}})
	hiddenCase := w.createCase(w.admin, map[string]any{"title": "three", "accessClass": "confidential"})["id"].(string)
	missing := "01890000-0000-7000-8000-000000000000"
	foreign := w.h.must(http.StatusCreated, w.outside, "POST", "/v1/cases", map[string]any{"title": "theirs"})["id"].(string)
	before := len(h.refusals(w.org.ID))

	body := map[string]any{"caseIds": []string{granted, forbidden, hiddenCase, missing, foreign},
		"entries": []any{userEntry(w.ownA, "view")}}
	r := h.do(w.sup, "POST", "/v1/access-grants", body)
	require.Equal(t, http.StatusOK, r.Code, string(r.Body))
	got := r.JSON(t)
	assert.NotEmpty(t, got["position"])
	var statuses []string
	for _, res := range got["results"].([]any) {
		m := res.(map[string]any)
		statuses = append(statuses, m["caseId"].(string)+" "+m["status"].(string))
		if m["status"] == "not_found" {
			assert.NotContains(t, m, "detail", "a not-found result says nothing more")
		}
	}
	assert.Equal(t, []string{granted + " granted", forbidden + " forbidden", hiddenCase + " not_found",
		missing + " not_found", foreign + " not_found"}, statuses)
	// Alma now finds the granted case.
	h.must(http.StatusOK, w.ownA, "GET", "/v1/cases/"+granted, nil)
	// Refused attempts recorded: the 403 and the hidden case (not the missing one; the
	// foreign case is hidden too), each naming its case.
	var targets []string
	for _, rec := range h.refusals(w.org.ID)[before:] {
		targets = append(targets, rec.TargetType+" "+rec.TargetID+" "+strconv.Itoa(rec.Status))
	}
	assert.Equal(t, []string{"case " + forbidden + " 403", "case " + hiddenCase + " 404", "case " + foreign + " 404"}, targets)

	// Granting again is harmless: granted, nothing new appended to the case.
	head := h.head()
	again := h.must(http.StatusOK, w.sup, "POST", "/v1/access-grants", map[string]any{"caseIds": []string{granted},
		"entries": []any{userEntry(w.ownA, "view")}})
	assert.Equal(t, "granted", again["results"].([]any)[0].(map[string]any)["status"])
	assert.Equal(t, head, h.head())

	// An invalid body is a 400 for the whole request.
	r = h.do(w.sup, "POST", "/v1/access-grants", map[string]any{"caseIds": []string{granted, "x"}, "entries": []any{userEntry(w.ownA, "admin")}})
	assert.Equal(t, http.StatusBadRequest, r.Code)
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &p))
	assert.Len(t, p.Errors, 2, string(r.Body))
	tooMany := make([]string, 501)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("01890000-0000-7000-8000-%012d", i)
	}
	r = h.do(w.sup, "POST", "/v1/access-grants", map[string]any{"caseIds": tooMany, "entries": []any{userEntry(w.ownA, "view")}})
	assert.Equal(t, http.StatusBadRequest, r.Code)
	assert.Equal(t, head, h.head())
}

func TestReportCSV(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	a := w.createCase(w.ownA, map[string]any{"title": `Smith, "Jr."`})["id"].(string)
	b := w.createCase(w.ownA, map[string]any{"title": "=HYPERLINK(\"http://x\")"})["id"].(string)
	w.createCase(w.ownB, map[string]any{"title": "Bert's"})

	r := h.do(w.ownA, "GET", "/v1/reports/cases", nil)
	require.Equal(t, http.StatusOK, r.Code, string(r.Body))
	assert.Equal(t, "text/csv; charset=utf-8", r.Header.Get("Content-Type"))
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3, "header and Alma's two cases, not Bert's")
	assert.Equal(t, []string{"id", "title", "ownerId", "accessClass", "createdAt", "updatedAt"}, rows[0])
	assert.Equal(t, []string{b, `'=HYPERLINK("http://x")`, w.ownA, "unrestricted"}, rows[1][:4])
	assert.Equal(t, []string{a, `Smith, "Jr."`, w.ownA, "unrestricted"}, rows[2][:4])
	_, err = time.Parse(time.RFC3339Nano, rows[1][4])
	assert.NoError(t, err)

	// The same filters as search; paging parameters are not part of a report.
	r = h.do(w.sup, "GET", "/v1/reports/cases?ownerId="+w.ownB, nil)
	rows, err = csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 2)
	assert.Equal(t, http.StatusBadRequest, h.do(w.sup, "GET", "/v1/reports/cases?limit=5", nil).Code)
}

// A caller who may list a case but not view it finds it by its title, never
// by its description, which it may not read: search and the report alike.
func TestSearchDescriptionOnlyForViewers(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	id := w.createCase(w.ownA, map[string]any{"title": "Robbery", "description": "informant is pin 4711"})["id"].(string)
	h.must(http.StatusForbidden, w.lister, "GET", "/v1/cases/"+id, nil)
	found := func(sub, q string) int {
		page := h.must(http.StatusOK, sub, "GET", "/v1/cases?q="+q, nil)
		return len(page["items"].([]any))
	}
	assert.Equal(t, 1, found(w.lister, "robbery"))
	assert.Equal(t, 0, found(w.lister, "4711"))
	assert.Equal(t, 1, found(w.sup, "4711"), "a viewer finds it by its description")
	report := h.do(w.lister, "GET", "/v1/reports/cases?q=4711", nil)
	assert.Equal(t, 1, bytes.Count(report.Body, []byte("\n")), "the header only: %s", report.Body)
}

func TestSearchPagination(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	var created []string
	for i := range 5 {
		created = append(created, w.createCase(w.sup, map[string]any{"title": fmt.Sprintf("Theft %d", i)})["id"].(string))
	}
	w.createCase(w.sup, map[string]any{"title": "Arson"})
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		path := "/v1/cases?q=theft&limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page := h.must(http.StatusOK, w.sup, "GET", path, nil)
		items := page["items"].([]any)
		assert.LessOrEqual(t, len(items), 2)
		seen = append(seen, ids(items)...)
		if page["nextCursor"] == nil {
			break
		}
		cursor = page["nextCursor"].(string)
	}
	want := []string{created[4], created[3], created[2], created[1], created[0]}
	assert.Equal(t, want, seen, "every match once, newest first")

	page := h.must(http.StatusOK, w.sup, "GET", "/v1/cases?accessClass=restricted", nil)
	assert.Empty(t, page["items"])

	for _, q := range []string{"limit=0", "limit=abc", "limit=201", "accessClass=secret", "ownerId=42", "cursor=zzz", "colour=red", "q=a&q=b"} {
		r := h.do(w.sup, "GET", "/v1/cases?"+q, nil)
		assert.Equal(t, http.StatusBadRequest, r.Code, q)
		assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), q)
	}
}

func TestCaseCommandsRefuseBadInput(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	id := w.createCase(w.sup, map[string]any{"title": "Case"})["id"].(string)
	evID := w.addEvidence(w.sup, id, map[string]any{"title": "Item"})["id"].(string)
	h.must(http.StatusOK, w.sup, "POST", "/v1/cases/"+id+"/access", map[string]any{"entries": []any{userEntry(w.ownA, "view")}})

	cases := []struct {
		name, method, path string
		body               any
		fields             []string
	}{
		{"malformed", "POST", "/v1/cases", `{"title":`, []string{""}},
		{"empty body", "POST", "/v1/cases", ``, []string{""}},
		{"unknown field", "POST", "/v1/cases", `{"title":"x","colour":"red"}`, []string{"colour"}},
		{"wrong type", "POST", "/v1/cases", `{"title":5}`, []string{"title"}},
		{"missing title", "POST", "/v1/cases", `{"description":"d"}`, []string{"title"}},
		{"every field", "POST", "/v1/cases", `{"title":" ","accessClass":"secret","ownerId":"nope"}`, []string{"title", "accessClass", "ownerId"}},
		{"trailing data", "POST", "/v1/cases", `{"title":"x"} {}`, []string{""}},
		{"null title", "PATCH", "/v1/cases/" + id, `{"title":null}`, []string{"title"}},
		{"patch owner", "PATCH", "/v1/cases/" + id, `{"ownerId":"00000000-0000-0000-0000-000000000000"}`, []string{"ownerId"}},
		{"bad path id", "PATCH", "/v1/cases/xyz", `{"title":"x"}`, []string{"id"}},
		{"folder name", "POST", "/v1/cases/" + id + "/folders", `{}`, []string{"name"}},
		{"evidence", "POST", "/v1/cases/" + id + "/evidence", `{"title":"t","mediaType":"jpeg","sha256":"xyz","sizeBytes":-1,"folderId":"f","accessClass":"top"}`,
			[]string{"mediaType", "sha256", "sizeBytes", "folderId", "accessClass"}},
		{"evidence size type", "POST", "/v1/cases/" + id + "/evidence", `{"title":"t","sizeBytes":"big"}`, []string{"sizeBytes"}},
		{"class missing", "PUT", "/v1/cases/" + id + "/access-class", `{}`, []string{"accessClass"}},
		{"class enum", "PUT", "/v1/cases/" + id + "/access-class", `{"accessClass":"secret"}`, []string{"accessClass"}},
		{"grant none", "POST", "/v1/cases/" + id + "/access", `{"entries":[]}`, []string{"entries"}},
		{"grant entry", "POST", "/v1/cases/" + id + "/access",
			`{"entries":[{"principal":{"type":"robot","id":"1"},"level":"owner","expiresAt":"tomorrow"}]}`,
			[]string{"entries[0].principal.type", "entries[0].principal.id", "entries[0].level", "entries[0].expiresAt"}},
		{"grant twice", "POST", "/v1/cases/" + id + "/access",
			fmt.Sprintf(`{"entries":[{"principal":{"type":"user","id":%q},"level":"view"},{"principal":{"type":"user","id":%q},"level":"role"}]}`, w.ownB, w.ownB),
			[]string{"entries[1].principal"}},
		{"grant past", "POST", "/v1/cases/" + id + "/access",
			fmt.Sprintf(`{"entries":[{"principal":{"type":"user","id":%q},"level":"view","expiresAt":"2001-01-01T00:00:00Z"}]}`, w.ownB),
			[]string{"entries[0].expiresAt"}},
		{"grant zero expiry", "POST", "/v1/cases/" + id + "/access",
			fmt.Sprintf(`{"entries":[{"principal":{"type":"user","id":%q},"level":"view","expiresAt":"0001-01-01T00:00:00Z"}]}`, w.ownB),
			[]string{"entries[0].expiresAt"}},
		{"grant principal type", "POST", "/v1/cases/" + id + "/access", `{"entries":[{"principal":"me","level":"view"}]}`, []string{"entries[0].principal"}},
		{"modify level", "PATCH", "/v1/cases/" + id + "/access/user/" + w.ownA, `{"level":"admin"}`, []string{"level"}},
		{"modify null level", "PATCH", "/v1/cases/" + id + "/access/user/" + w.ownA, `{"level":null}`, []string{"level"}},
		{"modify expiry", "PATCH", "/v1/cases/" + id + "/access/user/" + w.ownA, `{"expiresAt":"2030-13-01"}`, []string{"expiresAt"}},
		{"modify path", "PATCH", "/v1/cases/" + id + "/access/robot/" + w.ownA, `{"level":"view"}`, []string{"type"}},
		{"remove path", "DELETE", "/v1/cases/" + id + "/access/user/nobody", nil, []string{"principalId"}},
		{"evidence grant", "POST", "/v1/evidence/" + evID + "/access", `{"entries":[{"principal":{"type":"group","id":"g"},"level":"view"}]}`,
			[]string{"entries[0].principal.id"}},
		{"bulk", "POST", "/v1/access-grants", `{"caseIds":[],"entries":[]}`, []string{"caseIds", "entries"}},
		{"bulk dup", "POST", "/v1/access-grants", fmt.Sprintf(`{"caseIds":[%q,%q],"entries":[{"principal":{"type":"user","id":%q},"level":"view"}]}`, id, id, w.ownB),
			[]string{"caseIds[1]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := h.head()
			r := h.do(w.sup, tc.method, tc.path, tc.body)
			require.Equal(t, http.StatusBadRequest, r.Code, string(r.Body))
			assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			var p struct {
				Status int `json:"status"`
				Errors []struct {
					Field   string `json:"field"`
					Message string `json:"message"`
				} `json:"errors"`
			}
			require.NoError(t, json.Unmarshal(r.Body, &p))
			assert.Equal(t, http.StatusBadRequest, p.Status)
			var fields []string
			for _, e := range p.Errors {
				fields = append(fields, e.Field)
				assert.NotEmpty(t, e.Message)
			}
			assert.Equal(t, tc.fields, fields, string(r.Body))
			assert.Equal(t, head, h.head(), "nothing appended")
		})
	}
}

func TestAddEvidenceIdempotent(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	id := w.createCase(w.sup, map[string]any{"title": "Case"})["id"].(string)
	body := map[string]any{"title": "Photo", "sha256": strings.Repeat("0F", 32)}
	first := h.must(http.StatusCreated, w.sup, "POST", "/v1/cases/"+id+"/evidence", body, "Idempotency-Key", "k1")
	assert.Equal(t, strings.Repeat("0f", 32), first["sha256"])
	head := h.head()
	again := h.must(http.StatusCreated, w.sup, "POST", "/v1/cases/"+id+"/evidence", body, "Idempotency-Key", "k1")
	assert.Equal(t, first, again)
	assert.Equal(t, head, h.head())
	view := h.must(http.StatusOK, w.sup, "GET", "/v1/cases/"+id, nil)
	assert.Len(t, view["evidence"], 1)

	// An item class the adder could not list (nor act on) is refused before anything is appended:
	// a clerk may apply "restricted" to evidence but lists only unrestricted items.
	clerk := h.newUser(w.org, "clara", h.newRole(w.org, "Clerk", map[string]any{
		"cases": map[string]any{"list": map[string]any{"unrestricted": "own"}, "view": map[string]any{"unrestricted": "allow"}},
		"evidence": map[string]any{"list": map[string]any{"unrestricted": "all"}, "view": map[string]any{"unrestricted": "allow"},
			"applyClass": map[string]any{"restricted": "allow"}},
		"actions": []string{"cases.create", "evidence.add"},
	}))
	mine := w.createCase(clerk, map[string]any{"title": "Clara's"})["id"].(string)
	head = h.head()
	r := h.do(clerk, "POST", "/v1/cases/"+mine+"/evidence", map[string]any{"title": "secret", "accessClass": "restricted"})
	assert.Equal(t, http.StatusForbidden, r.Code, string(r.Body))
	assert.Equal(t, 1, countNewEvents(t, h, head), "only the refusal is recorded")
}

// countNewEvents counts the events appended after head.
func countNewEvents(t *testing.T, h *harness, head eventstore.Position) int {
	t.Helper()
	n := 0
	err := h.store.ReadAll(context.Background(), head, false, func(env eventstore.Envelope) error {
		if env.Type != "AccessDenied" {
			t.Errorf("unexpected %s on %s", env.Type, env.Stream)
		}
		n++
		return nil
	})
	require.NoError(t, err)
	return n
}

// A role that lists and views every class but holds no action may open a
// case, also through a Role entry on its list, and take no action on it:
// each case action needs its own permission (the entry's level Role means
// "as the role allows").
func TestViewWithoutActionsIsReadOnly(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	all := map[string]any{"unrestricted": "all", "restricted": "all", "confidential": "all"}
	allow := map[string]any{"unrestricted": "allow", "restricted": "allow", "confidential": "allow"}
	reader := h.newUser(w.org, "rita", h.newRole(w.org, "Reader", map[string]any{
		"cases":    map[string]any{"list": all, "view": allow},
		"evidence": map[string]any{"list": all, "view": allow},
	}))
	id := w.createCase(w.sup, map[string]any{"title": "Robbery"})["id"].(string)
	ev := w.addEvidence(w.sup, id, map[string]any{"title": "Note"})["id"].(string)
	h.must(http.StatusOK, w.sup, "POST", "/v1/cases/"+id+"/access", map[string]any{"entries": []any{userEntry(reader, "role")}})
	h.must(http.StatusOK, reader, "GET", "/v1/cases/"+id, nil)
	before := len(h.refusals(w.org.ID))
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", "/v1/cases/" + id, map[string]any{"title": "x"}},
		{"POST", "/v1/cases/" + id + "/folders", map[string]any{"name": "f"}},
		{"POST", "/v1/cases/" + id + "/evidence", map[string]any{"title": "e"}},
		{"DELETE", "/v1/cases/" + id + "/evidence/" + ev, nil},
		{"PUT", "/v1/cases/" + id + "/access-class", map[string]any{"accessClass": "confidential"}},
		{"POST", "/v1/cases/" + id + "/access", map[string]any{"entries": []any{userEntry(w.ownA, "view")}}},
		{"DELETE", "/v1/cases/" + id + "/access/user/" + reader, nil},
		{"POST", "/v1/evidence/" + ev + "/access", map[string]any{"entries": []any{userEntry(w.ownA, "view")}}},
	} {
		r := h.do(reader, c.method, c.path, c.body)
		assert.Equal(t, http.StatusForbidden, r.Code, "%s %s: %s", c.method, c.path, r.Body)
	}
	bulk := h.must(http.StatusOK, reader, "POST", "/v1/access-grants",
		map[string]any{"caseIds": []string{id}, "entries": []any{userEntry(w.ownA, "view")}})
	assert.Equal(t, "forbidden", bulk["results"].([]any)[0].(map[string]any)["status"])
	assert.Len(t, h.refusals(w.org.ID)[before:], 9, "each refusal recorded")
}
