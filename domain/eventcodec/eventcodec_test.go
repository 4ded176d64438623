package eventcodec_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

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
				func(s string) string { return strings.Replace(s, `": "`, `": 7`, 1) },             // a number for a string
				func(s string) string { return strings.Replace(s, `": "`, `": null, "x": "`, 1) },  // null, and an unknown field
				func(s string) string { return strings.Replace(s, `-`, `_`, 1) },                   // a broken id
				func(s string) string { return strings.Replace(s, `"`, `'`, 1) },                   // malformed
				func(s string) string { return strings.Replace(s, `"`, `"X`, 1) },                  // an unknown first field
				func(s string) string { return firstKey.ReplaceAllStringFunc(s, strings.ToUpper) }, // the first key in upper case
				func(s string) string { return s + "{}" },                                          // trailing data
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

// firstKey matches the first key of a golden file.
var firstKey = regexp.MustCompile(`^\{\s*"[A-Za-z]+"`)

// TestSameAsStandardRandom: every event type, its golden sample's fields
// replaced by random values (any string, bytes that are not UTF-8, times in
// any zone, any integer, lists of 0–3), encoded with json.Marshal as the
// api stores events, decodes to the same value with both decoders.
func TestSameAsStandardRandom(t *testing.T) {
	var samples []domain.Event
	for _, name := range domain.EventTypes() {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "events", name+".json"))
		require.NoError(t, err)
		e, err := domain.DecodeEvent(name, data)
		require.NoError(t, err)
		samples = append(samples, e)
	}
	rapid.Check(t, func(t *rapid.T) {
		sample := rapid.SampledFrom(samples).Draw(t, "type")
		v := reflect.New(reflect.TypeOf(sample)).Elem()
		v.Set(reflect.ValueOf(sample))
		randomize(t, v, "event")
		e := v.Interface().(domain.Event)
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := domain.DecodeEvent(e.EventType(), data)
		got, err := eventcodec.Decode(e.EventType(), data)
		if (wantErr == nil) != (err == nil) || !reflect.DeepEqual(want, got) {
			t.Fatalf("%s %s:\nencoding/json %#v, %v\nsegmentio %#v, %v", e.EventType(), data, want, wantErr, got, err)
		}
	})
}

var timeType = reflect.TypeOf(time.Time{})

// randomize replaces what v holds with random values of its type.
func randomize(t *rapid.T, v reflect.Value, path string) {
	switch {
	case v.Type() == timeType:
		sec := rapid.Int64Range(-62135596800+86400, 253402300799-86400).Draw(t, path+".sec") // years 1–9999 in any zone
		zone := time.FixedZone("", rapid.IntRange(-14*60, 14*60).Draw(t, path+".zone")*60)
		v.Set(reflect.ValueOf(time.Unix(sec, rapid.Int64Range(0, 999_999_999).Draw(t, path+".ns")).In(zone)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if rapid.Bool().Draw(t, path+".bytes") {
			v.SetString(string(rapid.SliceOf(rapid.Byte()).Draw(t, path)))
		} else {
			v.SetString(rapid.String().Draw(t, path))
		}
	case reflect.Bool:
		v.SetBool(rapid.Bool().Draw(t, path))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rapid.Int64Range(-1<<(v.Type().Bits()-1), 1<<(v.Type().Bits()-1)-1).Draw(t, path))
	case reflect.Array: // uuid.UUID
		for i := 0; i < v.Len(); i++ {
			randomize(t, v.Index(i), path)
		}
	case reflect.Uint8:
		v.SetUint(uint64(rapid.Byte().Draw(t, path)))
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 { // []byte, json.RawMessage
			if v.Type() == reflect.TypeOf(json.RawMessage(nil)) {
				raw, _ := json.Marshal(rapid.String().Draw(t, path))
				v.SetBytes(raw)
			} else {
				v.SetBytes(rapid.SliceOf(rapid.Byte()).Draw(t, path))
			}
			return
		}
		n := rapid.IntRange(0, 3).Draw(t, path+".len")
		if v.Len() == 0 && n > 0 {
			return // nothing to copy the shape of
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			s.Index(i).Set(v.Index(0))
			randomize(t, s.Index(i), path)
		}
		v.Set(s)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				randomize(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Map:
		// Kept as in the sample.
	default:
		t.Fatalf("%s: no random %s", path, v.Type())
	}
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
