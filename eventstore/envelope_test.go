package eventstore_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

type vector struct {
	Name      string              `json:"name"`
	Envelope  eventstore.Envelope `json:"envelope"`
	Canonical string              `json:"canonical"`
	LeafHash  string              `json:"leafHash"`
}

func vectors() []vector {
	at := time.Date(2026, 11, 22, 9, 30, 15, 123456789, time.UTC)
	return []vector{
		{Name: "minimal", Envelope: eventstore.Envelope{
			ID:     uuid.MustParse("01936f8e-0000-7000-8000-000000000001"),
			Stream: "case-1", Type: "CaseCreated", SchemaVersion: 1, RecordedAt: at,
			Actor: eventstore.Actor{Kind: eventstore.ActorSystem}, Data: json.RawMessage(`{}`),
		}},
		{Name: "full", Envelope: eventstore.Envelope{
			ID:     uuid.MustParse("01936f8e-1234-7abc-9def-0123456789ab"),
			Stream: "case-0b9a4e4c-6c55-4f0e-9a53-0d5b1d2f3a10", Revision: 41,
			Type: "AccessClassApplied", SchemaVersion: 2, RecordedAt: at,
			Actor:         eventstore.Actor{Kind: eventstore.ActorUser, UserID: "7f1c", OrgID: "org-a", Name: "Dana Ölund"},
			CorrelationID: "corr-1", CausationID: "cause-1", RequestID: "req-1",
			Data: json.RawMessage(`{"caseId":"0b9a4e4c","accessClass":"restricted","note":"ünïcode ✓"}`),
		}},
		{Name: "before-1970 and large revision", Envelope: eventstore.Envelope{
			ID:     uuid.MustParse("ffffffff-ffff-ffff-ffff-ffffffffffff"),
			Stream: "x", Revision: 1<<63 + 5, Type: "T", SchemaVersion: 1,
			RecordedAt: time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC),
			Actor:      eventstore.Actor{Kind: eventstore.ActorLink, UserID: "link-9"},
			Data:       json.RawMessage(`[1,2,3]`),
		}},
	}
}

// TestCanonicalGolden fixes the canonical encoding (the Merkle leaf) with
// test vectors (one JSON object a line, event data byte for byte): a change to the encoding fails here and needs a new version.
func TestCanonicalGolden(t *testing.T) {
	path := filepath.Join("testdata", "canonical_v1.ndjson")
	got := vectors()
	for i := range got {
		got[i].Canonical = hex.EncodeToString(got[i].Envelope.Canonical())
		h := got[i].Envelope.LeafHash()
		got[i].LeafHash = hex.EncodeToString(h[:])
	}
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // event data is kept byte for byte
		for _, v := range got {
			require.NoError(t, enc.Encode(v))
		}
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var want []vector
	dec := json.NewDecoder(f)
	for dec.More() {
		var v vector
		require.NoError(t, dec.Decode(&v))
		want = append(want, v)
	}
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Canonical, got[i].Canonical, want[i].Name)
		assert.Equal(t, want[i].LeafHash, got[i].LeafHash, want[i].Name)
		// The golden file's envelope, read back from JSON, encodes the same.
		assert.Equal(t, want[i].Canonical, hex.EncodeToString(want[i].Envelope.Canonical()), want[i].Name)
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	for _, v := range vectors() {
		env, err := eventstore.DecodeCanonical(v.Envelope.Canonical())
		require.NoError(t, err, v.Name)
		assert.Equal(t, v.Envelope, env, v.Name)
	}
}

func TestCanonicalLeavesOutPosition(t *testing.T) {
	env := vectors()[1].Envelope
	other := env
	other.Position = eventstore.Position{Commit: 99, Prepare: 98}
	assert.Equal(t, env.Canonical(), other.Canonical())
}

func TestCanonicalDistinguishesFields(t *testing.T) {
	base := vectors()[1].Envelope
	edits := map[string]func(*eventstore.Envelope){
		"stream":      func(e *eventstore.Envelope) { e.Stream += "x" },
		"revision":    func(e *eventstore.Envelope) { e.Revision++ },
		"type":        func(e *eventstore.Envelope) { e.Type = "Other" },
		"schema":      func(e *eventstore.Envelope) { e.SchemaVersion++ },
		"recordedAt":  func(e *eventstore.Envelope) { e.RecordedAt = e.RecordedAt.Add(time.Nanosecond) },
		"actor name":  func(e *eventstore.Envelope) { e.Actor.Name = "Someone" },
		"shift bytes": func(e *eventstore.Envelope) { e.CorrelationID, e.CausationID = "corr-1c", "ause-1" },
		"data":        func(e *eventstore.Envelope) { e.Data = json.RawMessage(`{"a":2}`) },
	}
	for name, edit := range edits {
		e := base
		edit(&e)
		assert.NotEqual(t, base.LeafHash(), e.LeafHash(), name)
	}
}

func TestDecodeCanonicalRefusesDamage(t *testing.T) {
	b := vectors()[1].Envelope.Canonical()
	for _, bad := range [][]byte{nil, {2}, b[:len(b)-1], append(append([]byte{}, b...), 0)} {
		_, err := eventstore.DecodeCanonical(bad)
		assert.Error(t, err)
	}
}

func TestPositionString(t *testing.T) {
	for _, p := range []eventstore.Position{eventstore.Start, {Commit: 7, Prepare: 7}, {Commit: 1200, Prepare: 1100}} {
		q, err := eventstore.ParsePosition(p.String())
		require.NoError(t, err)
		assert.Equal(t, p, q)
	}
	for _, s := range []string{"", "x", "1:1", "-1", "1:", ":2", "1:2:3"} {
		_, err := eventstore.ParsePosition(s)
		assert.Error(t, err, s)
	}
	a, b := eventstore.Position{Commit: 5, Prepare: 3}, eventstore.Position{Commit: 5, Prepare: 4}
	assert.True(t, a.Before(b))
	assert.Equal(t, 1, b.Compare(a))
	assert.Equal(t, 0, a.Compare(a))
}
