package embedded_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/embedded"
	"github.com/custodian/custodian/eventstore/eventstoretest"
)

var killCycles = flag.Int("kill-cycles", 200, "kill -9 cycles of TestKillLoop (make killloop runs 10,000)")

const childEnv = "CUSTODIAN_APPENDER_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(appenderChild(dir))
	}
	os.Exit(m.Run())
}

// appenderChild is the process that gets killed: it appends concurrently to
// eight streams and prints "ack <stream> <revision> <position> <id>,<id>…"
// for every acknowledged append, one write per line.
func appenderChild(dir string) int {
	// Checkpoint often, so that kills also land in and around them.
	s, err := embedded.Open(dir, embedded.Options{CheckpointPages: 64})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	ctx := context.Background()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(stream string) {
			defer wg.Done()
			next := eventstore.NoStream
			_ = s.ReadStream(ctx, stream, eventstore.Backward, eventstore.End, func(e eventstore.Envelope) error {
				next = eventstore.Exact(e.Revision)
				return errStop
			})
			for k := 0; ; k++ {
				evs := eventstoretest.Events(k, 1+k%3)
				res, err := s.Append(ctx, stream, next, evs...)
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				next = eventstore.Exact(res.Revision)
				ids := make([]string, len(evs))
				for j, e := range evs {
					ids[j] = e.ID.String()
				}
				line := fmt.Sprintf("ack %s %d %s %s\n", stream, res.Revision, res.Position, strings.Join(ids, ","))
				mu.Lock()
				os.Stdout.WriteString(line)
				mu.Unlock()
			}
		}(fmt.Sprintf("stream-%d", i))
	}
	wg.Wait()
	return 0
}

var errStop = fmt.Errorf("stop")

// ack is one acknowledged append as the child reported it.
type ack struct {
	stream string
	last   eventstore.Revision
	ids    []uuid.UUID
}

func parseAck(line string) (ack, bool) {
	f := strings.Fields(line)
	if len(f) != 5 || f[0] != "ack" {
		return ack{}, false
	}
	rev, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return ack{}, false
	}
	a := ack{stream: f[1], last: eventstore.Revision(rev)}
	for _, s := range strings.Split(f[4], ",") {
		id, err := uuid.Parse(s)
		if err != nil {
			return ack{}, false
		}
		a.ids = append(a.ids, id)
	}
	return a, true
}

// runChild starts the appender on dir, kills it with SIGKILL after delay, and
// returns every append it acknowledged before it died.
func runChild(t *testing.T, dir string, delay time.Duration) []ack {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var acks []ack
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // a line cut by the kill has no newline: not acknowledged
			}
			if a, ok := parseAck(line); ok {
				acks = append(acks, a)
			}
		}
	}()
	time.Sleep(delay)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("appender ended on its own (%v): %s", err, stderr.String())
	}
	return acks
}

// verifyAcks opens the store and checks that every acknowledged event is
// present exactly once at its revision, revisions are gapless and positions
// dense from 1. It returns the number of events in the log.
func verifyAcks(t *testing.T, dir string, acked map[uuid.UUID]eventstore.Revision, streamOf map[uuid.UUID]string) int {
	s, err := embedded.Open(dir, embedded.Options{})
	require.NoError(t, err)
	defer s.Close()
	seen := map[uuid.UUID]bool{}
	nextRev := map[string]eventstore.Revision{}
	var n uint64
	err = s.ReadAll(context.Background(), eventstore.Start, false, func(e eventstore.Envelope) error {
		n++
		if e.Position.Commit != n {
			return fmt.Errorf("position %s where %d was expected", e.Position, n)
		}
		if seen[e.ID] {
			return fmt.Errorf("event %s stored twice", e.ID)
		}
		seen[e.ID] = true
		if e.Revision != nextRev[e.Stream] {
			return fmt.Errorf("%s: revision %d where %d was expected", e.Stream, e.Revision, nextRev[e.Stream])
		}
		nextRev[e.Stream]++
		if rev, ok := acked[e.ID]; ok && (rev != e.Revision || streamOf[e.ID] != e.Stream) {
			return fmt.Errorf("acknowledged event %s at %s/%d, found at %s/%d", e.ID, streamOf[e.ID], rev, e.Stream, e.Revision)
		}
		return nil
	})
	require.NoError(t, err)
	for id, rev := range acked {
		if !seen[id] {
			t.Fatalf("acknowledged event %s (%s revision %d) is missing", id, streamOf[id], rev)
		}
	}
	return int(n)
}

// TestKillLoop kills a concurrent appender with SIGKILL at random moments and
// checks after each kill that nothing acknowledged was lost, duplicated or
// reordered.
func TestKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the kill -9 loop takes a while")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	acked := map[uuid.UUID]eventstore.Revision{}
	streamOf := map[uuid.UUID]string{}
	var total, events int
	for cycle := 0; cycle < *killCycles; cycle++ {
		delay := time.Duration(5+rng.IntN(60)) * time.Millisecond
		for _, a := range runChild(t, dir, delay) {
			for i, id := range a.ids {
				acked[id] = a.last - eventstore.Revision(len(a.ids)-1-i)
				streamOf[id] = a.stream
			}
			total++
		}
		events = verifyAcks(t, dir, acked, streamOf)
	}
	t.Logf("%d kill -9 cycles: %d acknowledged appends (%d events) checked, %d events in the log, 0 violations",
		*killCycles, total, len(acked), events)
}
