package eventstore

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

// jsonValue draws a JSON value whose strings are full of what a scan for
// white space must skip: spaces, quotes, backslashes, control characters.
func jsonValue(t *rapid.T, depth int) any {
	str := rapid.StringOf(rapid.SampledFrom([]rune{' ', '\t', '\n', '"', '\\', 'a', 'é', '\x01', '/'}))
	kinds := 4
	if depth > 0 {
		kinds = 6
	}
	switch rapid.IntRange(0, kinds-1).Draw(t, "kind") {
	case 0:
		return str.Draw(t, "s")
	case 1:
		return rapid.Float64().Draw(t, "f")
	case 2:
		return rapid.Bool().Draw(t, "b")
	case 3:
		return nil
	case 4:
		n := rapid.IntRange(0, 3).Draw(t, "n")
		a := make([]any, n)
		for i := range a {
			a[i] = jsonValue(t, depth-1)
		}
		return a
	default:
		n := rapid.IntRange(0, 3).Draw(t, "n")
		m := map[string]any{}
		for range n {
			m[str.Draw(t, "k")] = jsonValue(t, depth-1)
		}
		return m
	}
}

// TestCompactJSONAgreesWithCompact: for valid JSON, compactJSON says true
// exactly when json.Compact would change nothing.
func TestCompactJSONAgreesWithCompact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := jsonValue(t, 3)
		var b []byte
		var err error
		switch rapid.IntRange(0, 2).Draw(t, "layout") {
		case 0:
			b, err = json.Marshal(v)
		case 1:
			b, err = json.MarshalIndent(v, "", " ")
		default:
			b, err = json.MarshalIndent(v, "\t", "\r\n")
		}
		if err != nil {
			t.Skip(err) // a float json cannot hold (NaN, ±Inf)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got, want := compactJSON(b), bytes.Equal(buf.Bytes(), b); got != want {
			t.Fatalf("compactJSON(%q) = %v, json.Compact changes it: %v", b, got, !want)
		}
	})
}

func TestCompactJSONCases(t *testing.T) {
	for in, want := range map[string]bool{
		`{"title":"Burglary at 12 Elm St"}`: true,
		`{"a": 1}`:                          false,
		`{"a":"\" "}`:                       true,
		`["\\", 1]`:                         false,
		`["\\",1]`:                          true,
		"[1,\n2]":                           false,
		``:                                  true,
	} {
		assert.Equal(t, want, compactJSON([]byte(in)), in)
	}
}
