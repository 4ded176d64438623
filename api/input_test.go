package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A client's X-Request-Id is kept when it is printable ASCII of at most 128
// characters, and otherwise replaced: it goes into every event's metadata,
// and a header the client got wrong must not make a command fail.
func TestClientRequestID(t *testing.T) {
	w := newCaseWorld(t)
	for _, tc := range []struct {
		name, id string
		kept     bool
	}{
		{"printable", "req-42.A_b~", true},
		{"at the limit", strings.Repeat("r", 128), true},
		{"not UTF-8", "abc\xff", false},
		{"a space", "a b", false},
		{"a control character", "a\x01b", false},
		{"too long", strings.Repeat("r", 129), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.h.do(w.sup, "POST", "/v1/cases", `{"title":"x"}`, "X-Request-Id", tc.id)
			require.Equal(t, http.StatusCreated, r.Code, string(r.Body))
			got := r.Header.Get("X-Request-Id")
			if tc.kept {
				assert.Equal(t, tc.id, got)
			} else {
				assert.NotEqual(t, tc.id, got)
				assert.Len(t, got, 32, "a generated id")
			}
		})
	}
}
