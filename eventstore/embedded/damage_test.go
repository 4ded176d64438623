package embedded_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/embedded"
	"github.com/custodian/custodian/eventstore/eventstoretest"
)

// writeLog appends n events in batches of 1–4 to a few streams and returns
// them in log order as stored.
func writeLog(t *testing.T, s eventstore.Store, n int) []eventstore.Envelope {
	ctx := context.Background()
	next := map[string]eventstore.ExpectedRevision{}
	for i := 0; i < n; {
		stream := fmt.Sprintf("case-%d", i%5)
		if next[stream] == nil {
			next[stream] = eventstore.NoStream
		}
		k := min(1+i%4, n-i)
		res, err := s.Append(ctx, stream, next[stream], eventstoretest.Events(i, k)...)
		require.NoError(t, err)
		next[stream] = eventstore.Exact(res.Revision)
		i += k
	}
	var all []eventstore.Envelope
	require.NoError(t, s.ReadAll(ctx, eventstore.Start, false, func(e eventstore.Envelope) error {
		all = append(all, e)
		return nil
	}))
	require.Len(t, all, n)
	return all
}

func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.Create(to)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}

// checkDamaged opens a damaged store. It must not panic; it may refuse to
// open; if it opens, reading the log must give an exact prefix of want, and
// the prefix may only end early with an error (never silently). It returns
// what happened, for the test's log.
func checkDamaged(t *testing.T, dir string, want []eventstore.Envelope) string {
	t.Helper()
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		return "refused: " + err.Error()
	}
	defer s.Close()
	var got []eventstore.Envelope
	err = s.ReadAll(context.Background(), eventstore.Start, false, func(e eventstore.Envelope) error {
		got = append(got, e)
		return nil
	})
	require.LessOrEqual(t, len(got), len(want))
	for i, e := range got {
		require.Equal(t, want[i], e, "event at position %d differs", i+1)
	}
	if err != nil {
		require.ErrorIs(t, err, eventstore.ErrCorrupt)
		return fmt.Sprintf("prefix of %d, then %v", len(got), err)
	}
	h, herr := s.Head(context.Background())
	require.NoError(t, herr)
	require.Equal(t, uint64(len(got)), h.Commit, "head agrees with what can be read")
	// Every stream reads back exactly or reports the damage.
	for i := 0; i < 5; i++ {
		stream := fmt.Sprintf("case-%d", i)
		err := s.ReadStream(context.Background(), stream, eventstore.Forward, 0, func(e eventstore.Envelope) error {
			require.Equal(t, want[e.Position.Commit-1], e)
			return nil
		})
		if err != nil {
			require.ErrorIs(t, err, eventstore.ErrCorrupt)
		}
	}
	return fmt.Sprintf("recovered a prefix of %d of %d events", len(got), len(want))
}

// crashImage copies a live store's files, as a crash would leave them: the
// database file and the WAL with every commit since the last checkpoint.
func crashImage(t *testing.T, n int) (dir string, want []eventstore.Envelope) {
	live := t.TempDir()
	s, err := embedded.Open(live, embedded.Options{})
	require.NoError(t, err)
	want = writeLog(t, s, n)
	embedded.WaitIndexed(s) // the events are in SQLite, not only in the journal
	dir = t.TempDir()
	for _, name := range []string{embedded.DBFile, embedded.DBFile + "-wal"} {
		// Another process copies: opening and closing the database file in
		// this one would drop the live store's POSIX locks.
		out, err := exec.Command("cp", filepath.Join(live, name), filepath.Join(dir, name)).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	require.NoError(t, s.Close())
	return dir, want
}

// TestTornWALTail cuts the WAL at random offsets: the store recovers the
// intact prefix of commits.
func TestTornWALTail(t *testing.T) {
	dir, want := crashImage(t, 200)
	wal := filepath.Join(dir, embedded.DBFile+"-wal")
	orig, err := os.ReadFile(wal)
	require.NoError(t, err)
	require.NotEmpty(t, orig, "the crash image has a WAL")
	rng := rand.New(rand.NewPCG(1, 2))
	refused, prefixes := 0, 0
	for i := 0; i < 40; i++ {
		cut := rng.IntN(len(orig))
		if i == 0 {
			cut = len(orig) // the whole WAL: nothing lost
		}
		work := t.TempDir()
		copyFile(t, filepath.Join(dir, embedded.DBFile), filepath.Join(work, embedded.DBFile))
		require.NoError(t, os.WriteFile(filepath.Join(work, embedded.DBFile+"-wal"), orig[:cut], 0o600))
		outcome := checkDamaged(t, work, want)
		if i == 0 {
			assert.Equal(t, fmt.Sprintf("recovered a prefix of %d of %d events", len(want), len(want)), outcome)
		}
		if strings.HasPrefix(outcome, "refused") {
			refused++
		} else {
			prefixes++
		}
	}
	t.Logf("40 cuts of the WAL: %d recovered an exact prefix of commits, %d refused to open", prefixes, refused)
}

// TestBitFlipsInWALTail flips bits in the last frames of the WAL: SQLite's
// frame checksums stop recovery at the damaged commit.
func TestBitFlipsInWALTail(t *testing.T) {
	dir, want := crashImage(t, 200)
	orig, err := os.ReadFile(filepath.Join(dir, embedded.DBFile+"-wal"))
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 40; i++ {
		damaged := bytes.Clone(orig)
		off := len(damaged) - 1 - rng.IntN(min(len(damaged), 64<<10))
		damaged[off] ^= 1 << rng.IntN(8)
		work := t.TempDir()
		copyFile(t, filepath.Join(dir, embedded.DBFile), filepath.Join(work, embedded.DBFile))
		require.NoError(t, os.WriteFile(filepath.Join(work, embedded.DBFile+"-wal"), damaged, 0o600))
		checkDamaged(t, work, want)
	}
}

// TestBitFlipsInLastRecords flips bits inside the stored bodies of the last
// events of a checkpointed database file: the row checksum catches every one.
func TestBitFlipsInLastRecords(t *testing.T) {
	live := t.TempDir()
	s, err := embedded.Open(live, embedded.Options{})
	require.NoError(t, err)
	want := writeLog(t, s, 300)
	require.NoError(t, s.Close()) // checkpoints the WAL into the database file
	orig, err := os.ReadFile(filepath.Join(live, embedded.DBFile))
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(5, 6))
	caught := 0
	for i := 0; i < 30; i++ {
		victim := want[len(want)-1-rng.IntN(10)]
		body := victim.Canonical()
		at := bytes.Index(orig, body)
		require.GreaterOrEqual(t, at, 0, "the body of position %s is stored verbatim", victim.Position)
		damaged := bytes.Clone(orig)
		damaged[at+rng.IntN(len(body))] ^= 1 << rng.IntN(8)
		work := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(work, embedded.DBFile), damaged, 0o600))
		outcome := checkDamaged(t, work, want)
		if !assert.NotContains(t, outcome, "recovered a prefix of 300", "a flipped bit went unnoticed") {
			continue
		}
		caught++
		assert.Contains(t, outcome, victim.Position.String(), "the error names the damaged position")
	}
	t.Logf("%d of 30 flipped bits in event bodies reported, naming the position", caught)
}

// TestBitFlipsInLastPages flips random bits anywhere in the last pages of
// the database file (table, indexes, meta): never a panic, never a wrong or
// silently missing event in the log.
func TestBitFlipsInLastPages(t *testing.T) {
	live := t.TempDir()
	s, err := embedded.Open(live, embedded.Options{})
	require.NoError(t, err)
	want := writeLog(t, s, 300)
	require.NoError(t, s.Close())
	orig, err := os.ReadFile(filepath.Join(live, embedded.DBFile))
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(7, 8))
	outcomes := map[bool]int{}
	for i := 0; i < 60; i++ {
		damaged := bytes.Clone(orig)
		off := len(damaged) - 1 - rng.IntN(min(len(damaged), 6*4096))
		damaged[off] ^= 1 << rng.IntN(8)
		work := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(work, embedded.DBFile), damaged, 0o600))
		outcome := checkDamaged(t, work, want)
		outcomes[outcome == "recovered a prefix of 300 of 300 events"]++
	}
	t.Logf("60 flips: %d left every event intact (free space, or caught on use), %d refused or reported", outcomes[true], outcomes[false])
}

// journalImage copies a live store's journal as a crash would leave it:
// Open must replay every event from it. written is how much of the segment
// holds records; the allocated space after it reads as zeros.
func journalImage(t *testing.T, n int) (dir string, want []eventstore.Envelope, written int) {
	live := t.TempDir()
	s, err := embedded.Open(live, embedded.Options{})
	require.NoError(t, err)
	want = writeLog(t, s, n)
	embedded.WaitIndexed(s) // the events are in SQLite, not only in the journal
	written = int(embedded.JournalSize(s))
	dir = t.TempDir()
	names, err := filepath.Glob(filepath.Join(live, "journal-*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, names, "a live store has a journal")
	for _, p := range names {
		out, err := exec.Command("cp", p, dir).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	require.NoError(t, s.Close())
	return dir, want, written
}

// TestJournalReplay opens a data dir that holds only the journal (SQLite
// lost everything it had not checkpointed, as after a power cut): every
// event comes back from the journal, in order.
func TestJournalReplay(t *testing.T) {
	dir, want, _ := journalImage(t, 200)
	assert.Equal(t, "recovered a prefix of 200 of 200 events", checkDamaged(t, dir, want))
	// The replayed store goes on from there.
	s, err := embedded.Open(dir, embedded.Options{})
	require.NoError(t, err)
	defer s.Close()
	res, err := s.Append(context.Background(), "case-0", eventstore.Any, eventstoretest.NewEvent(0))
	require.NoError(t, err)
	assert.Equal(t, uint64(201), res.Position.Commit)
}

// appendEnds are the log lengths at which writeLog's appends ended.
func appendEnds(n int) map[int]bool {
	ends := map[int]bool{0: true}
	for i := 0; i < n; {
		i += min(1+i%4, n-i)
		ends[i] = true
	}
	return ends
}

func recovered(t *testing.T, outcome string) int {
	var got int
	_, err := fmt.Sscanf(outcome, "recovered a prefix of %d", &got)
	require.NoError(t, err, outcome)
	return got
}

// TestTornJournalTail cuts the journal's records at random offsets, in a
// segment cut there too or followed by its allocated zeros: the store
// recovers the intact prefix of appends, exactly, and never part of one.
func TestTornJournalTail(t *testing.T) {
	dir, want, written := journalImage(t, 200)
	names, err := filepath.Glob(filepath.Join(dir, "journal-*.log"))
	require.NoError(t, err)
	require.Len(t, names, 1)
	orig, err := os.ReadFile(names[0])
	require.NoError(t, err)
	require.Greater(t, len(orig), written, "the segment's space is allocated ahead")
	require.True(t, bytes.Count(orig[written:], []byte{0}) == len(orig)-written, "allocated space reads as zeros")
	ends := appendEnds(len(want))
	rng := rand.New(rand.NewPCG(9, 10))
	lengths := map[int]bool{}
	for i := 0; i < 40; i++ {
		cut := rng.IntN(written)
		torn := orig[:cut]
		if i%2 == 0 {
			torn = append(bytes.Clone(orig[:cut]), make([]byte, len(orig)-cut)...)
		}
		work := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(work, filepath.Base(names[0])), torn, 0o600))
		got := recovered(t, checkDamaged(t, work, want))
		require.True(t, ends[got], "a prefix of %d events ends inside an append", got)
		lengths[got] = true
	}
	t.Logf("40 cuts of the journal: every one recovered an exact prefix of whole appends (%d distinct lengths)", len(lengths))
}

// TestDamagedJournal flips bits in the journal. Damage in the last group of
// the last segment is a torn tail: the prefix before it. Damage followed by
// an intact later group is refused, naming the file and offset; so is any
// damage in a segment that is not the last, and in a segment's header.
func TestDamagedJournal(t *testing.T) {
	dir, want, written := journalImage(t, 200)
	names, err := filepath.Glob(filepath.Join(dir, "journal-*.log"))
	require.NoError(t, err)
	orig, err := os.ReadFile(names[0])
	require.NoError(t, err)
	ends := appendEnds(len(want))
	rng := rand.New(rand.NewPCG(11, 12))
	refused, torn := 0, 0
	for i := 0; i < 40; i++ {
		damaged := bytes.Clone(orig)
		at := rng.IntN(written)
		switch {
		case i == 1:
			at = 9 // in the header's salt
		case i%4 == 0:
			at = written - 1 - rng.IntN(200) // in the last group
		}
		damaged[at] ^= 1 << rng.IntN(8)
		work := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(work, filepath.Base(names[0])), damaged, 0o600))
		outcome := checkDamaged(t, work, want)
		if strings.HasPrefix(outcome, "refused") {
			if at < 20 {
				assert.Contains(t, outcome, "damaged header")
			} else {
				assert.Contains(t, outcome, filepath.Base(names[0])+" at offset ")
				assert.Contains(t, outcome, "an intact later group follows")
			}
			refused++
		} else {
			got := recovered(t, outcome)
			require.Less(t, got, len(want), "a flipped bit went unnoticed")
			require.True(t, ends[got], "a prefix of %d events ends inside an append", got)
			torn++
		}

		// The same damage with a later segment after it: refused.
		work = t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(work, filepath.Base(names[0])), damaged, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(work, "journal-00000000000000000201.log"), nil, 0o600))
		_, err := embedded.Open(work, embedded.Options{})
		require.ErrorIs(t, err, eventstore.ErrCorrupt)
		if at >= 20 {
			assert.Contains(t, err.Error(), filepath.Base(names[0])+" at offset ")
		}
	}
	require.NotZero(t, torn, "some flips hit the last group")
	require.NotZero(t, refused, "some flips hit earlier groups")
	t.Logf("40 flipped bits in the journal: %d refused naming the offset (an intact later group follows), %d ended the log before the damaged last group", refused, torn)
}
