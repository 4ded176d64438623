package domain

import (
	"encoding/json"
	"errors"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecodedEnumsAreTheConstants: a decoded class, principal type or level
// that is a known one is the constant itself (the same memory, so a read
// model holding many holds no copy); any other string decodes as before,
// and so does JSON that is not a string.
func TestDecodedEnumsAreTheConstants(t *testing.T) {
	var e struct {
		Class   AccessClass
		Type    PrincipalType
		Level   AccessLevel
		Unknown AccessLevel
		Null    AccessClass
	}
	e.Null = Restricted
	require.NoError(t, json.Unmarshal([]byte(`{"Class":"confidential","Type":"group","Level":"view","Unknown":"edit","Null":null}`), &e))
	same := func(want, got string) {
		assert.Equal(t, want, got)
		assert.Same(t, unsafe.StringData(want), unsafe.StringData(got), "%q is a copy", got)
	}
	same(string(Confidential), string(e.Class))
	same(string(PrincipalGroup), string(e.Type))
	same(string(LevelView), string(e.Level))
	assert.Equal(t, AccessLevel("edit"), e.Unknown)
	assert.Equal(t, Restricted, e.Null, "null leaves the value as it was")

	var typeErr *json.UnmarshalTypeError
	err := json.Unmarshal([]byte(`{"Level":5}`), &e)
	require.True(t, errors.As(err, &typeErr), "%v", err)
	assert.Equal(t, "Level", typeErr.Field)
}
