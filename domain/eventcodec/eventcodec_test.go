package eventcodec_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/domain/eventcodec"
)

// same requires Decode to answer as domain.DecodeEvent does: an equal event,
// or an error for both.
func same(t *testing.T, eventType string, data []byte) {
	t.Helper()
	want, wantErr := domain.DecodeEvent(eventType, data)
	got, err := eventcodec.Decode(eventType, data)
	if wantErr != nil {
		assert.Error(t, err, "encoding/json refuses %s %q: %v", eventType, data, wantErr)
		return
	}
	if assert.NoError(t, err, "%s %q", eventType, data) {
		assert.Equal(t, want, got, "%s %q", eventType, data)
	}
}

// TestSameAsStandard decodes every golden event (one filled-in sample of
// each stored type), each of its prefixes and a set of altered copies with
// both decoders.
func TestSameAsStandard(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "events", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(domain.EventTypes()), "a golden file per event type")
	for _, f := range files {
		eventType := strings.TrimSuffix(filepath.Base(f), ".json")
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		t.Run(eventType, func(t *testing.T) {
			same(t, eventType, data)
			for n := range data {
				same(t, eventType, data[:n])
			}
			for _, alter := range []func(string) string{
				func(s string) string { return strings.Replace(s, `": "`, `": 7`, 1) },            // a number for a string
				func(s string) string { return strings.Replace(s, `": "`, `": null, "x": "`, 1) }, // null, and an unknown field
				func(s string) string { return strings.Replace(s, `-`, `_`, 1) },                  // a broken id
				func(s string) string { return strings.Replace(s, `"`, `'`, 1) },                  // malformed
				func(s string) string { return strings.ToUpper(s[:3]) + s[3:] },                   // a field name's case
				func(s string) string { return s + "{}" },                                         // trailing data
				func(s string) string { return `null` },
				func(s string) string { return `[]` },
			} {
				same(t, eventType, []byte(alter(string(data))))
			}
		})
	}
	_, err = eventcodec.Decode("NoSuchEvent", []byte(`{}`))
	assert.ErrorIs(t, err, domain.ErrUnknownEventType)
}

// BenchmarkDecode decodes the events of a typical case stream: a case, six
// evidence items, three title changes.
func BenchmarkDecode(b *testing.B) {
	var types []string
	var datas [][]byte
	for _, name := range []string{"CaseCreated", "EvidenceAdded", "EvidenceAdded", "EvidenceAdded", "EvidenceAdded",
		"EvidenceAdded", "EvidenceAdded", "CaseTitleChanged", "CaseTitleChanged", "CaseTitleChanged"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "events", name+".json"))
		require.NoError(b, err)
		var stored bytes.Buffer // as the log holds it: compact
		require.NoError(b, json.Compact(&stored, data))
		types, datas = append(types, name), append(datas, stored.Bytes())
	}
	for _, dec := range []struct {
		name string
		fn   func(string, []byte) (domain.Event, error)
	}{{"encoding-json", domain.DecodeEvent}, {"segmentio", eventcodec.Decode}} {
		b.Run(dec.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				k := i % len(types)
				if _, err := dec.fn(types[k], datas[k]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
