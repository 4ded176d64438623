package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/api"
)

// secondInstance returns another api server over the harness's store and
// read models, as a second process of one deployment would be, and a way to
// send it a request as sub.
func secondInstance(t *testing.T, w *caseWorld) func(sub, method, path, body string) response {
	h := w.h
	other, err := api.NewServer(api.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store: h.store, Runner: h.runner, Auth: h.auth, Now: h.now})
	require.NoError(t, err)
	return func(sub, method, path, body string) response {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+h.token(sub))
		rec := httptest.NewRecorder()
		other.ServeHTTP(rec, req)
		return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	}
}

// A command that would change nothing on the state an instance cached is
// decided again on the stream as stored: another instance may have changed
// it, and the command must not be lost.
func TestNoOpOnCachedStateIsDecidedAgain(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	other := secondInstance(t, w)
	id := w.createCase(w.sup, map[string]any{"title": "Old"})["id"].(string) // cached by this instance
	r := other(w.sup, "PATCH", "/v1/cases/"+id, `{"title":"New"}`)
	require.Equal(t, http.StatusOK, r.Code, string(r.Body))
	pos := r.Header.Get("Custodian-Position")

	back := h.must(http.StatusOK, w.sup, "PATCH", "/v1/cases/"+id, `{"title":"Old"}`, "Custodian-Consistency", pos)
	assert.Equal(t, "Old", back["title"])
	got := h.must(http.StatusOK, w.sup, "GET", "/v1/cases/"+id, nil, "Custodian-Consistency", h.head().String())
	assert.Equal(t, "Old", got["title"], "the acknowledged PATCH holds")
}

// A refusal decided on the state an instance cached is decided again on the
// stream as stored: a grant another instance made counts at once.
func TestRefusalOnCachedStateIsDecidedAgain(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	other := secondInstance(t, w)
	id := w.createCase(w.ownA, map[string]any{"title": "Alma's"})["id"].(string) // cached by this instance
	r := other(w.admin, "POST", "/v1/cases/"+id+"/access", `{"entries":[{"principal":{"type":"user","id":"`+w.ownB+`"},"level":"role"}]}`)
	require.Equal(t, http.StatusOK, r.Code, string(r.Body))
	pos := r.Header.Get("Custodian-Position")

	h.must(http.StatusOK, w.ownB, "PATCH", "/v1/cases/"+id, `{"title":"Bert's now"}`, "Custodian-Consistency", pos)
}

// An Idempotency-Key names one request: its path, not only its route. The
// same key and body on another case is another request, refused with 422.
func TestIdempotencyKeyCoversThePath(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	a := w.createCase(w.sup, map[string]any{"title": "A"})["id"].(string)
	b := w.createCase(w.sup, map[string]any{"title": "B"})["id"].(string)
	h.must(http.StatusOK, w.sup, "PATCH", "/v1/cases/"+a, `{"title":"Renamed"}`, "Idempotency-Key", "k")
	before := h.head()
	r := h.do(w.sup, "PATCH", "/v1/cases/"+b, `{"title":"Renamed"}`, "Idempotency-Key", "k")
	assert.Equal(t, http.StatusUnprocessableEntity, r.Code, string(r.Body))
	assert.Equal(t, before, h.head())
	again := h.must(http.StatusOK, w.sup, "PATCH", "/v1/cases/"+a, `{"title":"Renamed"}`, "Idempotency-Key", "k")
	assert.Equal(t, a, again["id"], "the retry on the first case still replays")
}
