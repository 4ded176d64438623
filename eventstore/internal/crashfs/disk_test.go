package crashfs

import (
	"bytes"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomOps returns a random sequence of writes and resizes on a file that
// starts with size size.
func randomOps(rng *rand.Rand, size int64, n int) []fileOp {
	var ops []fileOp
	for range n {
		if rng.IntN(5) == 0 {
			ns := rng.Int64N(6 * SectorSize)
			ops = append(ops, fileOp{resize: true, oldSize: size, size: ns})
			size = ns
			continue
		}
		off := rng.Int64N(5 * SectorSize)
		data := make([]byte, 1+rng.IntN(2*SectorSize))
		for i := range data {
			data[i] = byte(1 + rng.IntN(255))
		}
		ops = append(ops, fileOp{off: off, data: data})
		size = max(size, off+int64(len(data)))
	}
	return ops
}

func applyAll(buf []byte, ops []fileOp) []byte {
	buf = bytes.Clone(buf)
	for _, op := range ops {
		buf = applyOp(buf, op)
	}
	return buf
}

func TestTornContentExtremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		durable := bytes.Repeat([]byte{0xAA}, rng.IntN(4*SectorSize))
		ops := randomOps(rng, int64(len(durable)), 1+rng.IntN(8))

		all, dirty, kept := tornContent(durable, ops, func(n int) int { return n - 1 })
		assert.Equal(t, applyAll(durable, ops), all, "case %d: keeping every op gives the volatile content", i)
		assert.Equal(t, dirty, kept, "case %d", i)

		none, _, kept := tornContent(durable, ops, func(int) int { return 0 })
		assert.Equal(t, durable, none, "case %d: keeping no op gives the durable content", i)
		assert.Zero(t, kept, "case %d", i)
	}
}

// TestTornContentSectors checks that every sector a Torn crash leaves holds
// the bytes of that sector after some prefix of the ops (the durable state,
// an intermediate version or the newest one), never a mixture.
func TestTornContentSectors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		durable := bytes.Repeat([]byte{0xAA}, rng.IntN(4*SectorSize))
		ops := randomOps(rng, int64(len(durable)), 1+rng.IntN(8))
		// Every version of the file, as a physical image without size cut.
		phys := func(ops []fileOp) []byte {
			img := make([]byte, 16*SectorSize)
			copy(img, durable)
			size := int64(len(durable))
			for _, op := range ops {
				lo, hi := op.span()
				if op.resize {
					clear(img[lo:hi])
					size = op.size
				} else {
					copy(img[lo:], op.data)
					size = max(size, hi)
				}
			}
			_ = size
			return img
		}
		var versions [][]byte
		for k := 0; k <= len(ops); k++ {
			versions = append(versions, phys(ops[:k]))
		}
		got, _, _ := tornContent(durable, ops, rng.IntN)
		for s := int64(0); s*SectorSize < int64(len(got)); s++ {
			lo, hi := s*SectorSize, min((s+1)*SectorSize, int64(len(got)))
			found := false
			for _, v := range versions {
				if bytes.Equal(got[lo:hi], v[lo:hi]) {
					found = true
					break
				}
			}
			require.True(t, found, "case %d sector %d is a mixture of versions", i, s)
		}
	}
}

func TestCrashDropsUnsyncedEntries(t *testing.T) {
	d := NewDisk(DiskOptions{})
	a, errno := d.create(d.root, "a", 0o644, 0, 0, true, false)
	require.Zero(t, errno)
	_, errno = d.write(a, []byte("x"), 0)
	require.Zero(t, errno)
	require.Zero(t, d.fsync(a))

	rep := d.Crash(DropUnsynced, nil)
	assert.Equal(t, CrashReport{Mode: DropUnsynced, Dirs: 1, UnsyncedEntryOps: 1}, rep)
	_, errno = d.lookup(d.root, "a")
	assert.Equal(t, syscall.ENOENT, errno, "a file whose directory was never synced is gone")
}

// TestTornDirectoryKeepsAPrefix checks that a Torn crash keeps a prefix of a
// directory's unsynced changes: names created later never survive without
// those created earlier, and a rename is never half done.
func TestTornDirectoryKeepsAPrefix(t *testing.T) {
	outcomes := map[string]int{}
	for seed := range uint64(64) {
		d := NewDisk(DiskOptions{})
		old, errno := d.create(d.root, "old", 0o644, 0, 0, true, false)
		require.Zero(t, errno)
		require.Zero(t, d.fsync(d.root))
		for _, name := range []string{"a", "b", "c"} {
			_, errno := d.create(d.root, name, 0o644, 0, 0, true, false)
			require.Zero(t, errno)
		}
		require.Zero(t, d.rename(d.root, "old", d.root, "new", 0))

		d.Crash(Torn, rand.New(rand.NewPCG(seed, 1)))
		got := ""
		for _, name := range []string{"a", "b", "c", "old", "new"} {
			if in, errno := d.lookup(d.root, name); errno == 0 {
				got += name + " "
				if name == "old" || name == "new" {
					assert.Same(t, old, in)
					assert.Equal(t, uint32(1), in.nlink, "nlink is recounted")
				}
			}
		}
		outcomes[got]++
	}
	valid := map[string]bool{"old ": true, "a old ": true, "a b old ": true, "a b c old ": true, "a b c new ": true}
	for got := range outcomes {
		assert.True(t, valid[got], "%q is not a prefix of the directory's changes", got)
	}
	assert.Greater(t, len(outcomes), 2, "different crashes keep different prefixes: %v", outcomes)
}

func TestFileSyncKeepsNameSupersedesOlderChanges(t *testing.T) {
	d := NewDisk(DiskOptions{FileSyncKeepsName: true})
	sub, errno := d.mkdir(d.root, "sub", 0o755, 0, 0)
	require.Zero(t, errno)
	f, errno := d.create(sub, "f", 0o644, 0, 0, true, false)
	require.Zero(t, errno)
	_, errno = d.create(sub, "g", 0o644, 0, 0, true, false)
	require.Zero(t, errno)
	_, errno = d.write(f, []byte("data"), 0)
	require.Zero(t, errno)
	require.Zero(t, d.fsync(f))

	d.Crash(DropUnsynced, nil)
	sub2, errno := d.lookup(d.root, "sub")
	require.Zero(t, errno, "the directory on the synced file's path is kept")
	f2, errno := d.lookup(sub2, "f")
	require.Zero(t, errno)
	assert.Equal(t, "data", string(f2.data))
	_, errno = d.lookup(sub2, "g")
	assert.Equal(t, syscall.ENOENT, errno, "a sibling that was never synced is not")
}
