package embedded

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHeadCache: names inline and longer ones are told apart exactly (a name
// and its prefix, names that differ only in their last byte, one byte past
// the inline length), and the cache starts over once it holds max streams.
func TestHeadCache(t *testing.T) {
	c := newHeadCache(6)
	long := strings.Repeat("x", headKeyLen)
	names := []string{"case-1", "case-12", "case-13", long, long + "y", ""}
	for i, n := range names {
		c.put(n, uint64(i+1))
	}
	for i, n := range names {
		got, ok := c.get(n)
		assert.True(t, ok, "%q", n)
		assert.Equal(t, uint64(i+1), got, "%q", n)
	}
	_, ok := c.get("case-")
	assert.False(t, ok)
	_, ok = c.get(long + "z")
	assert.False(t, ok)

	c.put("case-2", 9) // the seventh stream: the cache starts over with it
	_, ok = c.get("case-1")
	assert.False(t, ok)
	_, ok = c.get(long + "y")
	assert.False(t, ok)
	got, ok := c.get("case-2")
	assert.True(t, ok)
	assert.Equal(t, uint64(9), got)
}
