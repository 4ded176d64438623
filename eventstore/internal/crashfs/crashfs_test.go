package crashfs_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/eventstore/internal/crashfs"
)

// mounted is a crashfs mount that a test can crash and remount.
type mounted struct {
	t   testing.TB
	dir string
	fs  *crashfs.FS
}

// mount serves a new Disk at a fresh directory, or skips the test, saying
// why, when this machine cannot mount FUSE.
func mount(t testing.TB, opts crashfs.DiskOptions) *mounted {
	t.Helper()
	m := &mounted{t: t, dir: t.TempDir()}
	f, err := crashfs.Mount(m.dir, crashfs.Options{Disk: crashfs.NewDisk(opts)})
	if errors.Is(err, crashfs.ErrUnavailable) {
		t.Skipf("cannot mount FUSE here: %v", err)
	}
	require.NoError(t, err)
	m.fs = f
	t.Cleanup(func() { assert.NoError(t, m.fs.Unmount()) })
	return m
}

func (m *mounted) path(name string) string { return filepath.Join(m.dir, name) }

// crash cuts the power: unmount, Crash, mount the same Disk again.
func (m *mounted) crash(mode crashfs.TearMode, rng *rand.Rand) crashfs.CrashReport {
	m.t.Helper()
	require.NoError(m.t, m.fs.Unmount())
	rep := m.fs.Crash(mode, rng)
	f, err := crashfs.Mount(m.dir, crashfs.Options{Disk: m.fs.Disk()})
	require.NoError(m.t, err)
	m.fs = f
	return rep
}

func (m *mounted) syncDir(name string) {
	m.t.Helper()
	d, err := os.Open(m.path(name))
	require.NoError(m.t, err)
	defer d.Close()
	require.NoError(m.t, d.Sync())
}

// writeFile writes content to name, fsyncs the file when sync is set, and
// leaves the directory unsynced.
func (m *mounted) writeFile(name, content string, sync bool) {
	m.t.Helper()
	f, err := os.OpenFile(m.path(name), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	require.NoError(m.t, err)
	defer f.Close()
	_, err = f.WriteString(content)
	require.NoError(m.t, err)
	if sync {
		require.NoError(m.t, f.Sync())
	}
}

func (m *mounted) read(name string) string {
	m.t.Helper()
	b, err := os.ReadFile(m.path(name))
	require.NoError(m.t, err)
	return string(b)
}

func (m *mounted) absent(name string) {
	m.t.Helper()
	_, err := os.Stat(m.path(name))
	assert.ErrorIs(m.t, err, os.ErrNotExist, "%s should not exist", name)
}

func TestUnsyncedWriteIsLost(t *testing.T) {
	m := mount(t, crashfs.DiskOptions{})
	m.writeFile("f", "durable", true)
	m.syncDir(".")

	f, err := os.OpenFile(m.path("f"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(" volatile")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, "durable volatile", m.read("f"), "reads see the volatile state")

	rep := m.crash(crashfs.DropUnsynced, nil)
	assert.Equal(t, "durable", m.read("f"))
	assert.Equal(t, 1, rep.UnsyncedFileOps)
}

func TestFsyncedWriteIsKept(t *testing.T) {
	m := mount(t, crashfs.DiskOptions{})
	m.writeFile("f", "one", true)
	m.syncDir(".")

	f, err := os.OpenFile(m.path("f"), os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("two"), 0)
	require.NoError(t, err)
	require.NoError(t, syscall.Fdatasync(int(f.Fd())), "fdatasync counts as a sync")
	require.NoError(t, f.Close())

	m.crash(crashfs.DropUnsynced, nil)
	assert.Equal(t, "two", m.read("f"))
	assert.Equal(t, uint64(2), m.fs.Stats().FileSyncs)
}

func TestNewFileNeedsDirectorySync(t *testing.T) {
	t.Run("strict POSIX: file fsync alone loses the name", func(t *testing.T) {
		m := mount(t, crashfs.DiskOptions{})
		m.writeFile("f", "data", true)
		m.crash(crashfs.DropUnsynced, nil)
		m.absent("f")
	})
	t.Run("directory fsync keeps it", func(t *testing.T) {
		m := mount(t, crashfs.DiskOptions{})
		m.writeFile("f", "data", true)
		m.syncDir(".")
		m.crash(crashfs.DropUnsynced, nil)
		assert.Equal(t, "data", m.read("f"))
	})
	t.Run("directory fsync without file fsync keeps an empty file", func(t *testing.T) {
		m := mount(t, crashfs.DiskOptions{})
		m.writeFile("f", "data", false)
		m.syncDir(".")
		m.crash(crashfs.DropUnsynced, nil)
		assert.Equal(t, "", m.read("f"))
	})
	t.Run("FileSyncKeepsName: file fsync keeps its path", func(t *testing.T) {
		m := mount(t, crashfs.DiskOptions{FileSyncKeepsName: true})
		require.NoError(t, os.Mkdir(m.path("sub"), 0o755))
		m.writeFile("sub/f", "data", true)
		m.writeFile("other", "data", false)
		m.crash(crashfs.DropUnsynced, nil)
		assert.Equal(t, "data", m.read("sub/f"))
		m.absent("other")
	})
	t.Run("new subdirectory needs its parent synced", func(t *testing.T) {
		m := mount(t, crashfs.DiskOptions{})
		require.NoError(t, os.Mkdir(m.path("sub"), 0o755))
		m.writeFile("sub/f", "data", true)
		m.syncDir("sub")
		m.crash(crashfs.DropUnsynced, nil)
		m.absent("sub")
	})
}

func TestRenameIsDurableOnlyAfterDirectorySync(t *testing.T) {
	for _, syncDir := range []bool{false, true} {
		m := mount(t, crashfs.DiskOptions{})
		m.writeFile("a", "old", true)
		m.syncDir(".")
		m.writeFile("tmp", "new", true)
		require.NoError(t, os.Rename(m.path("tmp"), m.path("a")))
		assert.Equal(t, "new", m.read("a"))
		m.absent("tmp")
		if syncDir {
			m.syncDir(".")
		}

		m.crash(crashfs.DropUnsynced, nil)
		if syncDir {
			assert.Equal(t, "new", m.read("a"), "synced rename")
		} else {
			assert.Equal(t, "old", m.read("a"), "unsynced rename")
		}
		m.absent("tmp")
	}
}

func TestUnlinkIsDurableOnlyAfterDirectorySync(t *testing.T) {
	m := mount(t, crashfs.DiskOptions{})
	m.writeFile("f", "data", true)
	m.syncDir(".")
	require.NoError(t, os.Remove(m.path("f")))
	m.absent("f")

	m.crash(crashfs.DropUnsynced, nil)
	assert.Equal(t, "data", m.read("f"), "the unsynced unlink is undone")

	require.NoError(t, os.Remove(m.path("f")))
	m.syncDir(".")
	m.crash(crashfs.DropUnsynced, nil)
	m.absent("f")
}

func TestTruncate(t *testing.T) {
	m := mount(t, crashfs.DiskOptions{})
	content := bytes.Repeat([]byte("0123456789"), 1000)
	m.writeFile("f", string(content), true)
	m.syncDir(".")

	require.NoError(t, os.Truncate(m.path("f"), 100))
	assert.Equal(t, string(content[:100]), m.read("f"))
	m.crash(crashfs.DropUnsynced, nil)
	assert.Equal(t, string(content), m.read("f"), "an unsynced truncation is undone")

	f, err := os.OpenFile(m.path("f"), os.O_RDWR, 0)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(100))
	require.NoError(t, f.Sync())
	require.NoError(t, f.Truncate(200)) // grows with zeros, unsynced
	require.NoError(t, f.Close())
	want := append(bytes.Clone(content[:100]), make([]byte, 100)...)
	assert.Equal(t, string(want), m.read("f"))

	m.crash(crashfs.DropUnsynced, nil)
	assert.Equal(t, string(content[:100]), m.read("f"), "the synced truncation is kept, the growth lost")
}

func TestTornKeepsASubsetOfSectors(t *testing.T) {
	m := mount(t, crashfs.DiskOptions{})
	const sectors = 64
	old := bytes.Repeat([]byte{'o'}, sectors*crashfs.SectorSize)
	m.writeFile("f", string(old), true)
	m.syncDir(".")
	rng := rand.New(rand.NewPCG(7, 7))

	var kept, lost int
	for range 4 {
		// One unsynced write over the whole file, in 4 KiB pieces the way
		// the page cache sends them.
		f, err := os.OpenFile(m.path("f"), os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(bytes.Repeat([]byte{'n'}, len(old)), 0)
		require.NoError(t, err)
		require.NoError(t, f.Close())

		rep := m.crash(crashfs.Torn, rng)
		got := []byte(m.read("f"))
		require.Len(t, got, len(old), "the size did not change")
		for s := range sectors {
			sec := got[s*crashfs.SectorSize : (s+1)*crashfs.SectorSize]
			switch {
			case bytes.Equal(sec, old[:crashfs.SectorSize]):
				lost++
			case bytes.Equal(sec, bytes.Repeat([]byte{'n'}, crashfs.SectorSize)):
				kept++
			default:
				t.Fatalf("sector %d is torn inside: %q", s, sec)
			}
		}
		assert.Equal(t, sectors, rep.DirtySectors)
		// Back to the old content, durably, for the next round.
		m.writeFile("f", string(old), true)
	}
	t.Logf("torn: %d sectors kept, %d lost", kept, lost)
	assert.NotZero(t, kept, "some unsynced sectors survive")
	assert.NotZero(t, lost, "some unsynced sectors are lost")
}

func TestTornPartialSectorWrite(t *testing.T) {
	m := mount(t, crashfs.DiskOptions{})
	old := bytes.Repeat([]byte{'o'}, 2*crashfs.SectorSize)
	m.writeFile("f", string(old), true)
	m.syncDir(".")
	rng := rand.New(rand.NewPCG(1, 9))
	seen := map[string]bool{}
	for range 16 {
		f, err := os.OpenFile(m.path("f"), os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(bytes.Repeat([]byte{'n'}, 600), 100) // [100, 700): the end of sector 0, the start of sector 1
		require.NoError(t, err)
		require.NoError(t, f.Close())

		m.crash(crashfs.Torn, rng)
		got := []byte(m.read("f"))
		require.Len(t, got, len(old))
		s0 := bytes.Equal(got[:crashfs.SectorSize], old[:crashfs.SectorSize])
		s1 := bytes.Equal(got[crashfs.SectorSize:], old[crashfs.SectorSize:])
		if !s0 {
			assert.Equal(t, string(old[:100])+string(bytes.Repeat([]byte{'n'}, 412)), string(got[:crashfs.SectorSize]))
		}
		if !s1 {
			assert.Equal(t, string(bytes.Repeat([]byte{'n'}, 188))+string(old[:324]), string(got[crashfs.SectorSize:]))
		}
		seen[string([]byte{b2c(s0), b2c(s1)})] = true
		m.writeFile("f", string(old), true)
	}
	assert.Len(t, seen, 4, "each sector is kept or lost independently: %v", seen)
}

func b2c(b bool) byte {
	if b {
		return 'o'
	}
	return 'n'
}

// TestMmapShared maps a file MAP_SHARED in a child process, as SQLite maps
// its -shm file. The mapping must be touched by another process than the
// FUSE server: a page fault that waits for the server blocks its OS thread
// where the Go runtime cannot preempt it, and a stop-the-world (a GC) then
// deadlocks the server with it (go-fuse's fs package doc, "Deadlocks" 3;
// observed here under -race).
func TestMmapShared(t *testing.T) {
	m := mount(t, crashfs.DiskOptions{})
	m.writeFile("shm", "", true)
	m.syncDir(".")

	cmd := exec.Command(os.Args[0], "-test.run=^TestMmapSharedChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), mmapChildEnv+"="+m.path("shm"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child: %s", out)
	require.Contains(t, string(out), "mmap child done", "the child ran")

	got := make([]byte, 8192)
	f, err := os.Open(m.path("shm"))
	require.NoError(t, err)
	_, err = f.ReadAt(got, 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, "unsynced", string(got[:8]), "read(2) sees the mapped writes")
	assert.Equal(t, "mapped", string(got[4096:4102]))

	m.crash(crashfs.DropUnsynced, nil)
	b := []byte(m.read("shm"))
	require.Len(t, b, 8192, "the size was made durable by msync")
	assert.Equal(t, "mapped", string(b[4096:4102]), "msync(MS_SYNC) made the mapped write durable")
	assert.Equal(t, make([]byte, 8), b[:8], "the unsynced mapped write is lost")
}

const mmapChildEnv = "CRASHFS_MMAP_CHILD_FILE"

// TestMmapSharedChild is TestMmapShared's child process.
func TestMmapSharedChild(t *testing.T) {
	path := os.Getenv(mmapChildEnv)
	if path == "" {
		t.Skip("helper process of TestMmapShared")
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(8192))
	mem, err := syscall.Mmap(int(f.Fd()), 0, 8192, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	require.NoError(t, err, "a shared writable mapping needs the page cache (no direct I/O)")
	copy(mem[4096:], "mapped")
	require.NoError(t, msync(mem), "msync(MS_SYNC) writes the page back and fsyncs")
	copy(mem[0:], "unsynced") // written back at munmap/close at the latest, never synced
	require.NoError(t, syscall.Munmap(mem))
	fmt.Println("mmap child done")
}

func msync(b []byte) error {
	_, _, e := syscall.Syscall(syscall.SYS_MSYNC, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MS_SYNC)
	if e != 0 {
		return e
	}
	return nil
}

func TestFreezeFailsEverything(t *testing.T) {
	m := mount(t, crashfs.DiskOptions{})
	m.writeFile("f", "data", true)
	m.syncDir(".")
	f, err := os.OpenFile(m.path("f"), os.O_RDWR, 0)
	require.NoError(t, err)

	m.fs.Freeze()
	_, err = f.WriteAt([]byte("late"), 0)
	assert.ErrorIs(t, err, syscall.EIO, "write after freeze")
	assert.ErrorIs(t, f.Sync(), syscall.EIO, "fsync after freeze")
	_, err = os.Create(m.path("g"))
	assert.ErrorIs(t, err, syscall.EIO, "create after freeze")
	assert.ErrorIs(t, f.Close(), syscall.EIO, "close (flush) after freeze")

	m.crash(crashfs.DropUnsynced, nil)
	assert.Equal(t, "data", m.read("f"), "nothing was written after the freeze, and Mount thaws")
}

func TestHardLinkAndReaddir(t *testing.T) {
	m := mount(t, crashfs.DiskOptions{})
	require.NoError(t, os.Mkdir(m.path("d"), 0o755))
	m.writeFile("d/a", "x", true)
	require.NoError(t, os.Link(m.path("d/a"), m.path("d/b")))
	st, err := os.Stat(m.path("d/a"))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.Sys().(*syscall.Stat_t).Nlink)
	ents, err := os.ReadDir(m.path("d"))
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"a", "b"}, names)
	m.syncDir("d")
	m.syncDir(".")

	m.crash(crashfs.DropUnsynced, nil)
	assert.Equal(t, "x", m.read("d/b"))
	st, err = os.Stat(m.path("d/b"))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.Sys().(*syscall.Stat_t).Nlink)
}

// BenchmarkMountCycle measures an unmount, crash and mount of a Disk
// holding a few files: the fixed cost of each crash point of the power-loss
// suite.
func BenchmarkMountCycle(b *testing.B) {
	m := mount(b, crashfs.DiskOptions{})
	m.writeFile("f", "data", true)
	m.syncDir(".")
	for b.Loop() {
		m.crash(crashfs.DropUnsynced, nil)
	}
	b.StopTimer()
	assert.Equal(b, "data", m.read("f"))
}
