package api_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
)

func scrape(t *testing.T, h *harness) string {
	t.Helper()
	r := h.do("operator", "GET", "/metrics", nil)
	require.Equal(t, http.StatusOK, r.Code, string(r.Body))
	return string(r.Body)
}

// A client cannot add series by inventing methods: every method outside
// HTTP's usual ones shares the label value OTHER.
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	h := newHarness(t)
	for i := range 20 {
		h.do("", "X"+string(rune('A'+i)), "/healthz", nil)
	}
	body := scrape(t, h)
	assert.NotContains(t, body, `method="XA"`)
	assert.Contains(t, body, `custodian_http_request_duration_seconds_count{method="OTHER",route="/healthz",status="405"} 20`)
}

// A request whose handler panicked is counted with its 500.
func TestMetricsCountRecoveredPanics(t *testing.T) {
	h := newHarness(t)
	h.handler.(*echo.Echo).GET("/boom", func(echo.Context) error { panic("boom") })
	r := h.do("", "GET", "/boom", nil)
	require.Equal(t, http.StatusInternalServerError, r.Code)
	assert.Contains(t, scrape(t, h), `route="/boom",status="500"`)
}

// custodian_events_appended_total counts the events of acknowledged appends.
func TestMetricsCountAppends(t *testing.T) {
	h := newHarness(t)
	count := func() string {
		return regexp.MustCompile(`(?m)^custodian_events_appended_total (\d+)$`).FindStringSubmatch(scrape(t, h))[1]
	}
	assert.Equal(t, "0", count())
	h.newOrg("metro")
	// Three appends of one event each: the organization, its Administrator
	// role and its first administrator.
	assert.Equal(t, "3", count())
}

// A projection that stopped on an event refuses users (no decision on a read
// model that is behind) but not operators: they read the status that names
// the event, scrape the metrics and start a rebuild.
func TestFailedProjectionLeavesOperatorsIn(t *testing.T) {
	w := newCaseWorld(t)
	h := w.h
	_, err := h.store.Append(context.Background(), "future-1", eventstore.Any, eventstore.Event{
		ID: uuid.Must(uuid.NewV7()), Type: "SomethingFromTheFuture", Data: []byte(`{}`),
		Actor: eventstore.Actor{Kind: eventstore.ActorSystem}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return h.do("", "GET", "/readyz", nil).Code == http.StatusServiceUnavailable },
		5*time.Second, 10*time.Millisecond)

	assert.Equal(t, http.StatusServiceUnavailable, h.do(w.sup, "GET", "/v1/cases", nil).Code)
	status := h.do("operator", "GET", "/v1/ops/projections", nil)
	require.Equal(t, http.StatusOK, status.Code, string(status.Body))
	assert.Contains(t, string(status.Body), "SomethingFromTheFuture", "the status names the event")
	assert.True(t, strings.HasPrefix(scrape(t, h), "#"))
	assert.Equal(t, http.StatusAccepted, h.do("operator", "POST", "/v1/ops/projections/cases/rebuild", nil).Code)
}
