package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/projections"
)

// Case search and the CSV report: only cases the caller may list
// (projections.Cases.Search decides each with domain.CanList).

// caseSummaryJSON is one case of a search page.
type caseSummaryJSON struct {
	ID          uuid.UUID          `json:"id"`
	OrgID       uuid.UUID          `json:"orgId"`
	Title       string             `json:"title"`
	OwnerID     uuid.UUID          `json:"ownerId"`
	AccessClass domain.AccessClass `json:"accessClass"`
	CreatedAt   time.Time          `json:"createdAt"`
	UpdatedAt   time.Time          `json:"updatedAt"`
}

// searchJSON is a page of GET /v1/cases. NextCursor is null on the last
// page. OwnerFilterLocked: the caller's role lists no class as all, so the
// page holds only its own cases and those it is on the access list for.
type searchJSON struct {
	Items             []caseSummaryJSON `json:"items"`
	NextCursor        *string           `json:"nextCursor"`
	OwnerFilterLocked bool              `json:"ownerFilterLocked"`
}

// maxSearchText bounds the q parameter, in characters.
const maxSearchText = 500

// searchQuery reads the query parameters of a search (q, ownerId,
// accessClass, and with paging limit and cursor). Unknown or repeated
// parameters and malformed values are a 400 naming each.
func searchQuery(c echo.Context, paging bool) (projections.SearchQuery, error) {
	allowed := []string{"q", "ownerId", "accessClass"}
	if paging {
		allowed = append(allowed, "limit", "cursor")
	}
	vals, err := queryParams(c, allowed...)
	if err != nil {
		return projections.SearchQuery{}, err
	}
	var errs fieldErrors
	q := projections.SearchQuery{Text: vals.Get("q"), Cursor: vals.Get("cursor")}
	if utf8.RuneCountInString(q.Text) > maxSearchText || !utf8.ValidString(q.Text) {
		errs.add("q", "must be UTF-8 text of at most 500 characters")
	}
	if v := vals.Get("ownerId"); v != "" {
		q.OwnerID = errs.uuid("ownerId", v)
	}
	if v := vals.Get("accessClass"); v != "" {
		errs.accessClass("accessClass", v)
		q.AccessClass = domain.AccessClass(v)
	}
	if v, ok := vals["limit"]; ok && paging {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > projections.MaxLimit {
			errs.add("limit", "must be a whole number from 1 to "+strconv.Itoa(projections.MaxLimit))
		}
		q.Limit = n
	}
	return q, errs.err()
}

// search runs q for r's caller on the read model.
func (s *server) search(r *request, q projections.SearchQuery) (projections.SearchResult, error) {
	var res projections.SearchResult
	err := projections.View(s.runner, projections.CasesName, func(m *projections.Cases) error {
		var err error
		res, err = m.Search(r.caller.Subject, q, r.now)
		return err
	})
	switch {
	case errors.Is(err, domain.ErrInvalidAccessClass):
		return res, invalid("accessClass", "must be unrestricted, restricted or confidential")
	case errors.Is(err, projections.ErrInvalidCursor):
		return res, invalid("cursor", "is not a cursor of this search")
	case errors.Is(err, projections.ErrInvalidQuery):
		return res, invalid("", err.Error())
	}
	return res, err
}

func (s *server) searchCases(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	q, err := searchQuery(c, true)
	if err != nil {
		return err
	}
	res, err := s.search(r, q)
	if err != nil {
		return err
	}
	out := searchJSON{Items: make([]caseSummaryJSON, 0, len(res.Items)), OwnerFilterLocked: res.OwnerFilterLocked}
	for _, v := range res.Items {
		out.Items = append(out.Items, caseSummaryJSON{ID: v.ID, OrgID: v.OrgID, Title: v.Title, OwnerID: v.OwnerID,
			AccessClass: v.AccessClass, CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()})
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

// reportMaxRows bounds a CSV report; a larger selection is cut there and
// the answer says so in the Custodian-Report-Truncated header.
const reportMaxRows = 10_000

// reportCases answers the search's selection (q, ownerId, accessClass),
// every page of it up to reportMaxRows, newest first, as CSV.
func (s *server) reportCases(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	q, err := searchQuery(c, false)
	if err != nil {
		return err
	}
	q.Limit = projections.MaxLimit
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"id", "title", "ownerId", "accessClass", "createdAt", "updatedAt"})
	rows, truncated := 0, false
	for {
		// One page per read-lock: a long report never holds the read model.
		res, err := s.search(r, q)
		if err != nil {
			return err
		}
		for _, v := range res.Items {
			if rows == reportMaxRows {
				truncated = true
				break
			}
			_ = w.Write([]string{v.ID.String(), csvText(v.Title), v.OwnerID.String(), string(v.AccessClass),
				v.CreatedAt.UTC().Format(time.RFC3339Nano), v.UpdatedAt.UTC().Format(time.RFC3339Nano)})
			rows++
		}
		if truncated || res.NextCursor == "" {
			break
		}
		if rows == reportMaxRows {
			truncated = true
			break
		}
		q.Cursor = res.NextCursor
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="cases.csv"`)
	if truncated {
		h.Set("Custodian-Report-Truncated", "true")
	}
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// csvText defuses a cell that a spreadsheet would run as a formula (OWASP
// "CSV injection"): text starting with =, +, -, @, tab or carriage return
// gets a leading apostrophe. encoding/csv does the quoting.
func csvText(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
