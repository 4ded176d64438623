package embedded_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/custodian/custodian/eventstore/internal/crashfs"
)

var (
	powerLossCycles = flag.Int("powerloss-cycles", 60, "crash points of TestPowerLoss")
	powerLossDemo   = flag.String("powerloss-demo", "", "run TestPowerLossNoSyncDemo with the fsync removed (off: neither the journal nor SQLite is ever fsynced) or moved after the acknowledgement (late: the journal is fsynced 50 ms after it); the loop must detect lost acknowledged events")
	powerLossSeed   = flag.Uint64("powerloss-seed", 0, "seed of the crash points and tears (0: from the clock; the seed is logged)")
)

// The child process is this test binary run with -test.run=^TestPowerLossChild$
// and these variables.
const (
	plDirEnv    = "CUSTODIAN_POWERLOSS_DIR"  // the store's data directory
	plModeEnv   = "CUSTODIAN_POWERLOSS_MODE" // "append" or "verify"
	plNoSyncEnv = "CUSTODIAN_POWERLOSS_SYNC" // "off" or "late": embedded.UnsafeSyncOptions
)

const (
	plStreams     = 8   // streams, one appender each
	plMaxCrashAck = 400 // a crash point by count comes after 0..plMaxCrashAck acknowledgements
	plMaxDelay    = 250 * time.Millisecond
	// plEpoch bounds the log: every plEpoch cycles the loop starts on a new
	// disk, so that each cycle's full check stays cheap at -powerloss-cycles=10000.
	plEpoch = 200
)

// TestPowerLoss cuts the power, at random instants, under a child process
// appending concurrently to eight streams on crashfs (a FUSE file system that
// keeps every write in memory until it is fsynced; see
// eventstore/internal/crashfs). At each crash point it freezes the file
// system (nothing more reaches the "disk"), kills the child, drops or tears
// what was not synced (DropUnsynced and Torn alternately; directory entries
// too, strict POSIX), and remounts. The next child opens the store, which
// recovers, and dumps the whole log before it appends again; the test checks
// that every acknowledged event is there exactly once at its stream
// revision, revisions are gapless, positions dense from 1, data intact, and
// that the log extends the one read after the previous crash. A last child
// only checks, and closes the store.
//
// The store is opened by child processes only, never by this one: SQLite maps
// its -shm file, and a page fault on a FUSE file served by the faulting
// process itself deadlocks when the Go runtime stops the world meanwhile (a
// GC); crashfs's own mmap test hit it.
func TestPowerLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the power-loss loop takes a while")
	}
	res := runPowerLoss(t, *powerLossCycles, "")
	for _, v := range res.violations[:min(len(res.violations), 20)] {
		t.Error(v)
	}
	t.Logf("power loss: %s", res)
	if len(res.violations) > 0 {
		t.Fatalf("%d violations", len(res.violations))
	}
}

// TestPowerLossNoSyncDemo is the fsync-removal demonstration: the same loop
// on a store that never fsyncs, or fsyncs only after it answered, must find
// acknowledged events lost. It passes when it does.
func TestPowerLossNoSyncDemo(t *testing.T) {
	if *powerLossDemo == "" {
		t.Skip("run with -powerloss-demo=off or -powerloss-demo=late")
	}
	res := runPowerLoss(t, *powerLossCycles, *powerLossDemo)
	t.Logf("fsync %s demonstration: %s", *powerLossDemo, res)
	for _, v := range res.violations[:min(len(res.violations), 5)] {
		t.Logf("detected: %s", v)
	}
	if res.detectedCycles == 0 {
		t.Fatalf("no acknowledged event was lost in %d crash points without fsync: the suite cannot see a missing fsync", res.cycles)
	}
}

// TestPowerLossNewDataDir cuts the power under a store that created its own
// data directory: Open must make the new directory's name durable (fsync its
// parent), or a power cut loses the whole store, acknowledged events and all.
// On ext4 the first fsync inside the directory happens to commit its name
// too; POSIX does not promise it, and crashfs does not.
func TestPowerLossNewDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the power-loss tests take a while")
	}
	mnt := t.TempDir()
	fsys, err := crashfs.Mount(mnt, crashfs.Options{})
	if errors.Is(err, crashfs.ErrUnavailable) {
		t.Skipf("cannot simulate power loss: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = fsys.Unmount() })
	dataDir := filepath.Join(mnt, "data", "events")

	out := runPowerLossChild(t, dataDir, "append", "", crashPoint{acks: 20}, fsys.Freeze)
	require.Empty(t, out.failures)
	require.GreaterOrEqual(t, len(out.acks), 20)
	require.NoError(t, fsys.Unmount())
	fsys.Crash(crashfs.DropUnsynced, nil)
	fsys, err = crashfs.Mount(mnt, crashfs.Options{Disk: fsys.Disk()})
	require.NoError(t, err)

	for _, d := range []string{filepath.Join(mnt, "data"), dataDir} {
		_, err := os.Stat(d)
		require.NoError(t, err, "%d events were acknowledged in %s, but after the power cut the directory is gone: Open created it without fsyncing its parent", len(out.acks), dataDir)
	}
	model := plModel{acked: map[streamRev]uuid.UUID{}}
	for _, a := range out.acks {
		model.acked[a.sr] = a.id
	}
	v := runPowerLossChild(t, dataDir, "verify", "", crashPoint{acks: -1}, nil)
	require.Empty(t, v.failures)
	require.True(t, v.dumped)
	violations, checked, _, _ := checkLog(&model, v.dump)
	require.Empty(t, violations)
	t.Logf("%d acknowledged events checked in a data directory the store created", checked)
}

// plResult sums up a run of the loop.
type plResult struct {
	seed           uint64
	cycles         int
	crashes        map[crashfs.TearMode]int
	acks           int // acknowledged events
	checks         int // checks of acknowledged events (one per event per check)
	verifications  int // full checks of the log
	finalEvents    int // events in the log at the last check (of the last disk)
	violations     []string
	atStake        int // full checks made with acknowledged events to find
	detectedCycles int // checks (or crash points) that found a violation
	failedChecks   int // full checks of the log that found a violation
	lost           int // acknowledged events found missing, summed over checks
	sectors, kept  int // dirty sectors at the crashes, and those that kept their newest content
	entryOps, kEnt int // unsynced directory changes, and those kept
	stats          crashfs.Stats
	mountTime      time.Duration // unmount + Crash + mount, summed
	elapsed        time.Duration
}

func (r plResult) String() string {
	return fmt.Sprintf("seed %d: %d crash points (%d drop-unsynced, %d torn) in %v (%.1f/s), "+
		"%d acknowledged events, %d acknowledgement checks in %d full log checks, %d events in the last log, "+
		"%d violations (%d of the %d full checks with acknowledged events at stake failed, %d crash points detected a violation, %d acknowledged events missing in all); "+
		"at the crashes %d dirty sectors (%d kept whole by torn), %d unsynced directory changes (%d kept); "+
		"file system: %d fsyncs of files, %d of directories, %d writes, %d MiB written; "+
		"unmount+crash+mount %v on average",
		r.seed, r.cycles, r.crashes[crashfs.DropUnsynced], r.crashes[crashfs.Torn], r.elapsed.Round(time.Millisecond),
		float64(r.cycles)/r.elapsed.Seconds(),
		r.acks, r.checks, r.verifications, r.finalEvents,
		len(r.violations), r.failedChecks, r.atStake, r.detectedCycles, r.lost,
		r.sectors, r.kept, r.entryOps, r.kEnt,
		r.stats.FileSyncs, r.stats.DirSyncs, r.stats.Writes, r.stats.BytesWritten>>20,
		(r.mountTime / time.Duration(max(r.cycles, 1))).Round(time.Microsecond))
}

type streamRev struct {
	stream string
	rev    eventstore.Revision
}

// logEntry is one event as a child dumped it.
type logEntry struct {
	pos  uint64
	sr   streamRev
	id   uuid.UUID
	data string
}

// plModel is what the test knows about the log on the current disk.
type plModel struct {
	acked map[streamRev]uuid.UUID
	prev  []logEntry // the log read after the previous crash
}

func runPowerLoss(t *testing.T, cycles int, syncMode string) (res plResult) {
	noSync := syncMode != ""
	seed := *powerLossSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	res = plResult{seed: seed, crashes: map[crashfs.TearMode]int{}}
	start := time.Now()
	defer func() { res.elapsed = time.Since(start) }()

	mnt := t.TempDir()
	var fsys *crashfs.FS
	var model plModel
	var stats crashfs.Stats
	newDisk := func() {
		if fsys != nil {
			stats = addStats(stats, fsys.Stats())
			require.NoError(t, fsys.Unmount())
		}
		var err error
		fsys, err = crashfs.Mount(mnt, crashfs.Options{Disk: crashfs.NewDisk(crashfs.DiskOptions{})})
		if errors.Is(err, crashfs.ErrUnavailable) {
			t.Skipf("cannot simulate power loss: %v", err)
		}
		require.NoError(t, err)
		model = plModel{acked: map[streamRev]uuid.UUID{}}
	}
	newDisk()
	t.Cleanup(func() { _ = fsys.Unmount() })
	// The data directory exists and is durable (the mount's root), as one an
	// operator made; TestPowerLossNewDataDir covers a store that makes its own.
	dataDir := mnt

	check := func(cycle int, dump []logEntry) bool {
		if len(model.acked) > 0 {
			res.atStake++
		}
		v, checked, n, lost := checkLog(&model, dump)
		res.checks += checked
		res.lost += lost
		res.verifications++
		res.finalEvents = n
		for _, s := range v {
			res.violations = append(res.violations, fmt.Sprintf("after crash point %d: %s", cycle, s))
		}
		if len(v) > 0 {
			res.detectedCycles++
			res.failedChecks++
		}
		return len(v) == 0
	}

	for cycle := 1; cycle <= cycles; cycle++ {
		if cycle > 1 && (cycle-1)%plEpoch == 0 {
			newDisk()
		}
		// The crash point: after a number of acknowledgements, after a delay
		// from the end of the child's recovery, or after a delay from its
		// start (which may fall inside its recovery).
		cp := crashPoint{acks: -1}
		switch r := rng.IntN(20); {
		case r < 9:
			cp.acks = rng.IntN(plMaxCrashAck + 1)
		case r < 16:
			cp.delay, cp.fromReady = time.Duration(rng.Int64N(int64(plMaxDelay))), true
		default:
			cp.delay = time.Duration(rng.Int64N(int64(plMaxDelay / 2)))
		}
		before := len(res.violations)
		out := runPowerLossChild(t, dataDir, "append", syncMode, cp, fsys.Freeze)
		if out.dumped {
			// The child reopened the store after the previous crash: check it.
			if !check(cycle-1, out.dump) && !noSync {
				return res
			}
		}
		for _, msg := range out.failures {
			res.violations = append(res.violations, fmt.Sprintf("crash point %d: %s", cycle, msg))
		}
		if len(out.failures) > 0 {
			res.detectedCycles++
			if !noSync {
				return res
			}
		}
		for _, a := range out.acks {
			if old, ok := model.acked[a.sr]; ok && old != a.id {
				res.violations = append(res.violations, fmt.Sprintf("crash point %d: %s/%d acknowledged twice, as %s and as %s", cycle, a.sr.stream, a.sr.rev, old, a.id))
			}
			model.acked[a.sr] = a.id
		}
		res.acks += len(out.acks)

		mode := crashfs.DropUnsynced
		if cycle%2 == 0 {
			mode = crashfs.Torn
		}
		t0 := time.Now()
		require.NoError(t, fsys.Unmount(), "unmount after the kill")
		rep := fsys.Crash(mode, rng)
		var err error
		fsys, err = crashfs.Mount(mnt, crashfs.Options{Disk: fsys.Disk()})
		require.NoError(t, err)
		res.mountTime += time.Since(t0)
		res.cycles++
		res.crashes[mode]++
		res.sectors += rep.DirtySectors
		res.kept += rep.SectorsKept
		res.entryOps += rep.UnsyncedEntryOps
		res.kEnt += rep.EntryOpsKept

		if noSync && len(res.violations) > before {
			// The demonstration has made its point; the disk's streams now
			// disagree with the model, so start over on a new disk.
			newDisk()
		}
	}
	// Check the last crash, and that the store closes cleanly after it.
	out := runPowerLossChild(t, dataDir, "verify", syncMode, crashPoint{acks: -1}, nil)
	if out.dumped {
		check(cycles, out.dump)
	}
	for _, msg := range out.failures {
		res.violations = append(res.violations, fmt.Sprintf("final check: %s", msg))
	}
	if !out.dumped && len(out.failures) == 0 {
		res.violations = append(res.violations, "final check: the verifier dumped nothing")
	}
	res.stats = addStats(stats, fsys.Stats())
	return res
}

func addStats(a, b crashfs.Stats) crashfs.Stats {
	a.Writes += b.Writes
	a.BytesWritten += b.BytesWritten
	a.Truncates += b.Truncates
	a.FileSyncs += b.FileSyncs
	a.DirSyncs += b.DirSyncs
	a.Creates += b.Creates
	a.Unlinks += b.Unlinks
	a.Renames += b.Renames
	a.Crashes += b.Crashes
	return a
}

// checkLog checks a dumped log against the model and makes it the model's
// previous log. It returns the violations, the number of acknowledged events
// checked, the number of events in the log and the number of acknowledged
// events missing.
func checkLog(m *plModel, dump []logEntry) (violations []string, checked, events, lost int) {
	bad := func(format string, args ...any) {
		violations = append(violations, fmt.Sprintf(format, args...))
	}
	at := make(map[streamRev]uuid.UUID, len(dump))
	ids := make(map[uuid.UUID]bool, len(dump))
	next := map[string]eventstore.Revision{}
	for i, e := range dump {
		if e.pos != uint64(i+1) {
			bad("event %d of the log has position %d: positions are not dense from 1", i+1, e.pos)
		}
		if e.sr.rev != next[e.sr.stream] {
			bad("position %d: %s revision %d where %d was expected: revisions not gapless", e.pos, e.sr.stream, e.sr.rev, next[e.sr.stream])
		}
		next[e.sr.stream] = e.sr.rev + 1
		if ids[e.id] {
			bad("position %d: event %s stored twice", e.pos, e.id)
		}
		ids[e.id] = true
		if want := eventData(e.sr); e.data != want {
			bad("position %d: data %s where %s was appended", e.pos, e.data, want)
		}
		at[e.sr] = e.id
	}
	for i, p := range m.prev {
		if i >= len(dump) {
			bad("the log read after the previous crash had %d events, now %d: events that had been read back are gone", len(m.prev), len(dump))
			break
		}
		if dump[i] != p {
			bad("position %d held %s/%d %s after the previous crash, now %s/%d %s", p.pos, p.sr.stream, p.sr.rev, p.id, dump[i].sr.stream, dump[i].sr.rev, dump[i].id)
			break
		}
	}
	for sr, id := range m.acked {
		checked++
		got, ok := at[sr]
		switch {
		case !ok:
			lost++
			if lost <= 5 {
				bad("acknowledged event %s at %s/%d is missing", id, sr.stream, sr.rev)
			}
		case got != id:
			bad("acknowledged event %s at %s/%d: found %s there", id, sr.stream, sr.rev, got)
		}
	}
	if lost > 5 {
		bad("%d acknowledged events missing in all", lost)
	}
	m.prev = dump
	return violations, checked, len(dump), lost
}

// eventData is the data of the event appended at sr: the check that the
// bytes read back are the bytes written.
func eventData(sr streamRev) string {
	return fmt.Sprintf(`{"r":%d,"s":%q}`, sr.rev, sr.stream)
}

type crashPoint struct {
	acks      int           // crash after this many acknowledged events (-1: by delay)
	delay     time.Duration // else after this long from the child's start,
	fromReady bool          // or from the end of its recovery
}

type childOutput struct {
	dumped   bool
	dump     []logEntry
	acks     []logEntry // pos is 0
	failures []string   // what went wrong before the crash point
}

// runPowerLossChild runs the child on dir. In mode "append" it cuts the power
// at cp: freeze, then SIGKILL. In mode "verify" the child exits by itself.
func runPowerLossChild(t *testing.T, dir, mode, syncMode string, cp crashPoint, freeze func()) childOutput {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPowerLossChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), plDirEnv+"="+dir, plModeEnv+"="+mode, plNoSyncEnv+"="+syncMode)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	var (
		once    sync.Once
		crashed bool
		mu      sync.Mutex
	)
	cut := func() {
		once.Do(func() {
			mu.Lock()
			crashed = true
			mu.Unlock()
			freeze()
			_ = cmd.Process.Signal(syscall.SIGKILL)
		})
	}
	isCrashed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return crashed
	}
	var timer *time.Timer
	if mode == "append" && cp.acks < 0 && !cp.fromReady {
		timer = time.AfterFunc(cp.delay, cut)
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// A child that stops making progress is a failure, not a hang.
	watchdog := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
	defer watchdog.Stop()

	var out childOutput
	r := bufio.NewReaderSize(stdout, 1<<16)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // EOF; a line cut by the kill has no newline and is not counted
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "log":
			e, ok := parseEntry(f[1:], true)
			require.True(t, ok, "bad log line %q", line)
			out.dump = append(out.dump, e)
		case "ready":
			out.dumped = true
			switch {
			case mode != "append":
			case cp.acks == 0:
				cut()
			case cp.acks < 0 && cp.fromReady:
				timer = time.AfterFunc(cp.delay, cut)
			}
		case "ack":
			e, ok := parseEntry(f[1:], false)
			require.True(t, ok, "bad ack line %q", line)
			out.acks = append(out.acks, e)
			if mode == "append" && cp.acks > 0 && len(out.acks) >= cp.acks {
				cut()
			}
		case "fail":
			// The store refused to open or to read: a violation, unless the
			// power was already cut (then it is the freeze's EIO).
			if !isCrashed() {
				out.failures = append(out.failures, strings.TrimSpace(strings.TrimPrefix(line, "fail")))
			}
		}
	}
	err = cmd.Wait()
	switch {
	case mode == "verify":
		if err != nil && len(out.failures) == 0 {
			out.failures = append(out.failures, fmt.Sprintf("verifier: %v: %s", err, tail(stderr.String())))
		}
	case !isCrashed():
		out.failures = append(out.failures, fmt.Sprintf("the appender ended before the crash point (%v): %s", err, tail(stderr.String())))
	}
	return out
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// parseEntry parses "[<pos>] <stream> <revision> <id> <data>".
func parseEntry(f []string, withPos bool) (logEntry, bool) {
	var e logEntry
	if withPos {
		if len(f) != 5 {
			return e, false
		}
		p, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return e, false
		}
		e.pos = p
		f = f[1:]
	}
	if len(f) < 3 {
		return e, false
	}
	rev, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return e, false
	}
	id, err := uuid.Parse(f[2])
	if err != nil {
		return e, false
	}
	e.sr = streamRev{f[0], eventstore.Revision(rev)}
	e.id = id
	if withPos {
		e.data = f[3]
	}
	return e, true
}

// TestPowerLossChild is the process whose power is cut. It opens the store
// (recovering it), prints the whole log ("log <position> <stream> <revision>
// <id> <data>") and "ready"; in mode "verify" it then closes the store and
// exits; in mode "append" it runs one appender per stream, each continuing
// its stream with exact expected revisions, and prints "ack <stream>
// <revision> <id>" for every acknowledged event, one write per append. A
// failure before the crash point is printed as "fail <reason>".
func TestPowerLossChild(t *testing.T) {
	dir := os.Getenv(plDirEnv)
	if dir == "" {
		t.Skip("the child process of TestPowerLoss")
	}
	os.Exit(powerLossChild(dir, os.Getenv(plModeEnv), os.Getenv(plNoSyncEnv)))
}

func powerLossChild(dir, mode, syncMode string) int {
	var mu sync.Mutex
	emit := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = os.Stdout.WriteString(s)
	}
	opts := embedded.Options{}
	if syncMode != "" {
		opts = embedded.UnsafeSyncOptions(syncMode)
	}
	// Checkpoint often, so that crashes also land in and around them.
	opts.CheckpointPages = 64
	s, err := embedded.Open(dir, opts)
	if err != nil {
		emit(fmt.Sprintf("fail open: %v\n", err))
		return 1
	}
	ctx := context.Background()
	heads := map[string]eventstore.Revision{}
	var buf strings.Builder
	err = s.ReadAll(ctx, eventstore.Start, false, func(e eventstore.Envelope) error {
		data, _ := json.Marshal(json.RawMessage(e.Data)) // compact, no spaces
		fmt.Fprintf(&buf, "log %d %s %d %s %s\n", e.Position.Commit, e.Stream, e.Revision, e.ID, data)
		if buf.Len() > 1<<15 {
			emit(buf.String())
			buf.Reset()
		}
		heads[e.Stream] = e.Revision + 1
		return nil
	})
	emit(buf.String())
	if err != nil {
		emit(fmt.Sprintf("fail read the log: %v\n", err))
		return 1
	}
	emit("ready\n")
	if mode == "verify" {
		if err := s.Close(); err != nil {
			emit(fmt.Sprintf("fail close: %v\n", err))
			return 1
		}
		return 0
	}

	var wg sync.WaitGroup
	for i := range plStreams {
		stream := fmt.Sprintf("s%d", i)
		next := heads[stream]
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
			for {
				expected := eventstore.NoStream
				if next > 0 {
					expected = eventstore.Exact(next - 1)
				}
				evs := make([]eventstore.Event, 1+rng.IntN(3))
				for j := range evs {
					evs[j] = eventstore.Event{
						ID:   uuid.New(),
						Type: "PowerLossTested",
						Data: json.RawMessage(eventData(streamRev{stream, next + eventstore.Revision(j)})),
					}
				}
				res, err := s.Append(ctx, stream, expected, evs...)
				if err != nil {
					// After the power cut every write fails; before it,
					// this is a failure of the store.
					emit(fmt.Sprintf("fail append %s at %d: %v\n", stream, next, err))
					return
				}
				if want := next + eventstore.Revision(len(evs)-1); res.Revision != want {
					emit(fmt.Sprintf("fail append %s: revision %d returned where %d was expected\n", stream, res.Revision, want))
					return
				}
				var b strings.Builder
				for j, e := range evs {
					fmt.Fprintf(&b, "ack %s %d %s\n", stream, next+eventstore.Revision(j), e.ID)
				}
				emit(b.String())
				next += eventstore.Revision(len(evs))
			}
		}()
	}
	wg.Wait()
	time.Sleep(time.Hour) // every appender failed: wait for the kill
	return 1
}
