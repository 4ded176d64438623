package crashfs

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"syscall"
	"time"
)

// SectorSize is the unit a Torn crash keeps or loses: the atomic write unit
// of the simulated disk.
const SectorSize = 512

// TearMode says what a crash does with the changes that were not synced.
type TearMode int

const (
	// DropUnsynced loses every change that was not made durable: each file
	// rolls back to its content and size at its last fsync, each directory
	// to its entries at its last fsync.
	DropUnsynced TearMode = iota
	// Torn keeps a random part of the unsynced changes, as a disk with a
	// volatile write cache may after a power cut. For each 512-byte sector
	// written since the file's last fsync, it keeps a random prefix (possibly
	// empty, possibly all) of the writes that touched that sector, chosen
	// independently per sector; so sectors survive in any order, but a
	// sector never goes back to an older version over a newer one. The file
	// size survives as it was after a random prefix of the file's unsynced
	// writes and truncations. Each directory keeps a random prefix of its
	// unsynced entry changes (a rename within one directory is one change).
	Torn
)

// String returns "drop-unsynced" or "torn".
func (m TearMode) String() string {
	switch m {
	case DropUnsynced:
		return "drop-unsynced"
	case Torn:
		return "torn"
	}
	return fmt.Sprintf("TearMode(%d)", int(m))
}

// DiskOptions set the durability model of a Disk.
type DiskOptions struct {
	// FileSyncKeepsName, when set, makes an fsync of a file also make
	// durable the directory entries that name it, and those of the
	// directories on its path: what ext4 and xfs do in practice, because
	// the fsync commits the journal. The default is strict POSIX: a new,
	// renamed or removed name survives a crash only once its directory has
	// been fsynced, whatever was done to the file itself.
	FileSyncKeepsName bool
}

// Stats counts what the file system was asked to do since the Disk was made.
type Stats struct {
	Writes       uint64 // write requests, including mmap write-back
	BytesWritten uint64 // bytes in those requests
	Truncates    uint64 // size changes by truncate or fallocate
	FileSyncs    uint64 // fsync and fdatasync of regular files
	DirSyncs     uint64 // fsync of directories
	Creates      uint64 // files and directories created
	Unlinks      uint64 // names removed (unlink, rmdir)
	Renames      uint64
	Crashes      uint64
}

// CrashReport says what one Crash did.
type CrashReport struct {
	Mode TearMode
	// Files and Dirs survived the crash.
	Files, Dirs int
	// UnsyncedFileOps is the number of writes and size changes that were
	// not synced, in the files that survived.
	UnsyncedFileOps int
	// DirtySectors were written since their file's last fsync; of those,
	// SectorsKept ended with their newest content (always 0 with
	// DropUnsynced).
	DirtySectors, SectorsKept int
	// UnsyncedEntryOps is the number of directory changes (create, unlink,
	// rename, link, mkdir, rmdir) that were not synced, in the directories
	// that survived; EntryOpsKept of them survived (always 0 with
	// DropUnsynced).
	UnsyncedEntryOps, EntryOpsKept int
}

// Disk is the in-memory state of the simulated disk: every file and
// directory with its volatile state (what reads see) and its durable state
// (what survives a crash). It outlives mounts: unmount, Crash, and Mount the
// same Disk again for the next cycle. A Disk is safe for concurrent use; it
// is served by at most one mount at a time.
type Disk struct {
	mu      sync.Mutex
	opts    DiskOptions
	root    *inode
	nextIno uint64
	frozen  bool
	mounted bool
	stats   Stats
}

// NewDisk returns an empty disk: a root directory, durable.
func NewDisk(opts DiskOptions) *Disk {
	now := time.Now()
	root := &inode{
		ino: 1, dir: true, perm: 0o755, nlink: 1,
		atime: now, mtime: now, ctime: now,
		entries:        map[string]*inode{},
		durableEntries: map[string]*inode{},
	}
	return &Disk{opts: opts, root: root, nextIno: 2}
}

// Freeze makes every further file system operation fail with EIO and change
// nothing, as if the power had been cut at this instant: a dying process
// writes nothing after the crash point. Mount thaws the disk.
func (d *Disk) Freeze() {
	d.mu.Lock()
	d.frozen = true
	d.mu.Unlock()
}

// Stats returns the counters.
func (d *Disk) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// inode is a file or directory of the disk.
type inode struct {
	ino      uint64
	dir      bool
	perm     uint32
	uid, gid uint32
	nlink    uint32 // names in the volatile tree (files only; 1 for dirs)

	atime, mtime, ctime time.Time

	// Regular files: data is what reads see, durable what survives a
	// crash, pending the changes since the last fsync, oldest first
	// (applying them to durable gives data).
	data    []byte
	durable []byte
	pending []fileOp

	// Directories: entries is what lookups see, durableEntries what
	// survives a crash, pendingEntries the changes since the last fsync,
	// oldest first.
	entries        map[string]*inode
	durableEntries map[string]*inode
	pendingEntries []entryOp
}

// fileOp is one unsynced change to a file: a write of data at off, or a
// resize from oldSize to size.
type fileOp struct {
	resize  bool
	off     int64
	data    []byte
	oldSize int64
	size    int64
}

// span returns the byte range the op changes.
func (op fileOp) span() (lo, hi int64) {
	if !op.resize {
		return op.off, op.off + int64(len(op.data))
	}
	return min(op.size, op.oldSize), max(op.size, op.oldSize)
}

// entryOp is one unsynced, atomic directory change: each name is set to
// the inode or, for nil, removed.
type entryOp []entryChange

type entryChange struct {
	name  string
	child *inode
}

// applyOp returns buf (whose length is the file size) with op applied.
func applyOp(buf []byte, op fileOp) []byte {
	if op.resize {
		return resize(buf, op.size)
	}
	end := op.off + int64(len(op.data))
	if end > int64(len(buf)) {
		buf = resize(buf, end)
	}
	copy(buf[op.off:], op.data)
	return buf
}

// resize returns buf with length n; bytes past the old length are zero.
func resize(buf []byte, n int64) []byte {
	if n <= int64(len(buf)) {
		return buf[:n]
	}
	if n <= int64(cap(buf)) {
		old := len(buf)
		buf = buf[:n]
		clear(buf[old:])
		return buf
	}
	nb := make([]byte, n, max(n, 2*int64(cap(buf))))
	copy(nb, buf)
	return nb
}

// --- operations, called by the FUSE nodes; each takes d.mu ---

func (d *Disk) newInode(dir bool, perm, uid, gid uint32) *inode {
	now := time.Now()
	in := &inode{ino: d.nextIno, dir: dir, perm: perm & 0o7777, uid: uid, gid: gid,
		atime: now, mtime: now, ctime: now}
	d.nextIno++
	if dir {
		in.nlink = 1
		in.entries = map[string]*inode{}
		in.durableEntries = map[string]*inode{}
	}
	d.stats.Creates++
	return in
}

// setEntries changes directory entries as one atomic change.
func (d *Disk) setEntries(dir *inode, changes ...entryChange) {
	for _, c := range changes {
		if old := dir.entries[c.name]; old != nil && !old.dir {
			old.nlink--
			old.ctime = time.Now()
		}
		if c.child == nil {
			delete(dir.entries, c.name)
			continue
		}
		dir.entries[c.name] = c.child
		if !c.child.dir {
			c.child.nlink++
			c.child.ctime = time.Now()
		}
	}
	dir.pendingEntries = append(dir.pendingEntries, entryOp(changes))
	dir.mtime = time.Now()
	dir.ctime = dir.mtime
}

func (d *Disk) lookup(dir *inode, name string) (*inode, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return nil, syscall.EIO
	}
	if !dir.dir {
		return nil, syscall.ENOTDIR
	}
	ch := dir.entries[name]
	if ch == nil {
		return nil, syscall.ENOENT
	}
	return ch, 0
}

// create makes a regular file, or with excl unset returns the file already
// there (truncated when trunc is set).
func (d *Disk) create(dir *inode, name string, perm, uid, gid uint32, excl, trunc bool) (*inode, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return nil, syscall.EIO
	}
	if len(name) > 255 {
		return nil, syscall.ENAMETOOLONG
	}
	if old := dir.entries[name]; old != nil {
		switch {
		case excl:
			return nil, syscall.EEXIST
		case old.dir:
			return nil, syscall.EISDIR
		}
		if trunc {
			d.resizeLocked(old, 0)
		}
		return old, 0
	}
	in := d.newInode(false, perm, uid, gid)
	d.setEntries(dir, entryChange{name, in})
	return in, 0
}

func (d *Disk) mkdir(dir *inode, name string, perm, uid, gid uint32) (*inode, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return nil, syscall.EIO
	}
	if len(name) > 255 {
		return nil, syscall.ENAMETOOLONG
	}
	if dir.entries[name] != nil {
		return nil, syscall.EEXIST
	}
	in := d.newInode(true, perm, uid, gid)
	d.setEntries(dir, entryChange{name, in})
	return in, 0
}

func (d *Disk) remove(dir *inode, name string, wantDir bool) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return syscall.EIO
	}
	ch := dir.entries[name]
	switch {
	case ch == nil:
		return syscall.ENOENT
	case wantDir && !ch.dir:
		return syscall.ENOTDIR
	case !wantDir && ch.dir:
		return syscall.EISDIR
	case ch.dir && len(ch.entries) > 0:
		return syscall.ENOTEMPTY
	}
	d.setEntries(dir, entryChange{name, nil})
	d.stats.Unlinks++
	return 0
}

func (d *Disk) link(dir *inode, name string, target *inode) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return syscall.EIO
	}
	if target.dir {
		return syscall.EPERM
	}
	if dir.entries[name] != nil {
		return syscall.EEXIST
	}
	d.setEntries(dir, entryChange{name, target})
	return 0
}

// Rename flags (renameat2).
const (
	renameNoReplace = 1 << 0
	renameExchange  = 1 << 1
)

func (d *Disk) rename(src *inode, name string, dst *inode, newName string, flags uint32) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return syscall.EIO
	}
	if len(newName) > 255 {
		return syscall.ENAMETOOLONG
	}
	from := src.entries[name]
	if from == nil {
		return syscall.ENOENT
	}
	to := dst.entries[newName]
	if from.dir && (from == dst || contains(from, dst)) {
		return syscall.EINVAL
	}
	d.stats.Renames++
	if flags&renameExchange != 0 {
		if to == nil {
			return syscall.ENOENT
		}
		if to.dir && (to == src || contains(to, src)) {
			return syscall.EINVAL
		}
		if src == dst {
			d.setEntries(src, entryChange{name, to}, entryChange{newName, from})
		} else {
			d.setEntries(dst, entryChange{newName, from})
			d.setEntries(src, entryChange{name, to})
		}
		return 0
	}
	if to != nil {
		switch {
		case flags&renameNoReplace != 0:
			return syscall.EEXIST
		case to == from:
			return 0 // two names of one file: POSIX says do nothing
		case from.dir && !to.dir:
			return syscall.ENOTDIR
		case !from.dir && to.dir:
			return syscall.EISDIR
		case to.dir && len(to.entries) > 0:
			return syscall.ENOTEMPTY
		}
	}
	if src == dst {
		d.setEntries(src, entryChange{newName, from}, entryChange{name, nil})
	} else {
		d.setEntries(dst, entryChange{newName, from})
		d.setEntries(src, entryChange{name, nil})
	}
	return 0
}

// contains reports whether dir d is below dir top in the volatile tree.
func contains(top, d *inode) bool {
	for _, ch := range top.entries {
		if ch.dir && (ch == d || contains(ch, d)) {
			return true
		}
	}
	return false
}

type dirent struct {
	name string
	in   *inode
}

func (d *Disk) readdir(dir *inode) ([]dirent, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return nil, syscall.EIO
	}
	out := make([]dirent, 0, len(dir.entries))
	for _, name := range slices.Sorted(maps.Keys(dir.entries)) {
		out = append(out, dirent{name, dir.entries[name]})
	}
	return out, 0
}

// read copies the file's content at off into dest and returns the part filled.
func (d *Disk) read(in *inode, dest []byte, off int64) ([]byte, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return nil, syscall.EIO
	}
	if in.dir {
		return nil, syscall.EISDIR
	}
	if off >= int64(len(in.data)) {
		return dest[:0], 0
	}
	n := copy(dest, in.data[off:])
	return dest[:n], 0
}

func (d *Disk) write(in *inode, data []byte, off int64) (uint32, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return 0, syscall.EIO
	}
	if in.dir {
		return 0, syscall.EISDIR
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	d.stats.Writes++
	d.stats.BytesWritten += uint64(len(data))
	if len(data) == 0 {
		return 0, 0
	}
	d.apply(in, fileOp{off: off, data: slices.Clone(data)})
	return uint32(len(data)), 0
}

func (d *Disk) apply(in *inode, op fileOp) {
	in.data = applyOp(in.data, op)
	in.pending = append(in.pending, op)
	in.mtime = time.Now()
	in.ctime = in.mtime
}

func (d *Disk) resizeLocked(in *inode, size int64) {
	d.stats.Truncates++
	if size == int64(len(in.data)) {
		return
	}
	d.apply(in, fileOp{resize: true, oldSize: int64(len(in.data)), size: size})
}

// Fallocate modes (fallocate(2)).
const (
	fallocKeepSize  = 0x01
	fallocPunchHole = 0x02
	fallocZeroRange = 0x10
)

func (d *Disk) allocate(in *inode, off, size uint64, mode uint32) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return syscall.EIO
	}
	if in.dir {
		return syscall.EISDIR
	}
	end := int64(off + size)
	switch mode &^ fallocKeepSize {
	case 0:
		if mode&fallocKeepSize == 0 && end > int64(len(in.data)) {
			d.resizeLocked(in, end)
		}
	case fallocPunchHole, fallocZeroRange:
		if mode&fallocPunchHole != 0 && mode&fallocKeepSize == 0 {
			return syscall.EOPNOTSUPP
		}
		zeroEnd := end
		if mode&fallocKeepSize != 0 {
			zeroEnd = min(end, int64(len(in.data)))
		}
		if zeroEnd > int64(off) {
			d.apply(in, fileOp{off: int64(off), data: make([]byte, zeroEnd-int64(off))})
		}
		if mode&fallocKeepSize == 0 && end > int64(len(in.data)) {
			d.resizeLocked(in, end)
		}
	default:
		return syscall.EOPNOTSUPP
	}
	return 0
}

// setattr changes what the request asks for; nil pointers are left alone.
func (d *Disk) setattr(in *inode, size *uint64, perm, uid, gid *uint32, atime, mtime *time.Time) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return syscall.EIO
	}
	if size != nil {
		if in.dir {
			return syscall.EISDIR
		}
		d.resizeLocked(in, int64(*size))
	}
	if perm != nil {
		in.perm = *perm & 0o7777
	}
	if uid != nil {
		in.uid = *uid
	}
	if gid != nil {
		in.gid = *gid
	}
	if atime != nil {
		in.atime = *atime
	}
	if mtime != nil {
		in.mtime = *mtime
	}
	in.ctime = time.Now()
	return 0
}

// attr is a consistent copy of an inode's attributes.
type attr struct {
	ino                 uint64
	dir                 bool
	perm, uid, gid      uint32
	nlink               uint32
	size                uint64
	atime, mtime, ctime time.Time
}

func (d *Disk) getattr(in *inode) (attr, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return attr{}, syscall.EIO
	}
	return d.attrLocked(in), 0
}

func (d *Disk) attrLocked(in *inode) attr {
	a := attr{ino: in.ino, dir: in.dir, perm: in.perm, uid: in.uid, gid: in.gid,
		nlink: in.nlink, size: uint64(len(in.data)),
		atime: in.atime, mtime: in.mtime, ctime: in.ctime}
	if in.dir {
		a.nlink = 2
		for _, ch := range in.entries {
			if ch.dir {
				a.nlink++
			}
		}
		a.size = 4096
	}
	return a
}

// flush is close(2): it syncs nothing, but fails once frozen.
func (d *Disk) flush() syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return syscall.EIO
	}
	return 0
}

// fsync makes the file's content and size, or the directory's entries,
// durable.
func (d *Disk) fsync(in *inode) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return syscall.EIO
	}
	if in.dir {
		d.stats.DirSyncs++
		syncDir(in)
		return 0
	}
	d.stats.FileSyncs++
	for _, op := range in.pending {
		in.durable = applyOp(in.durable, op)
	}
	in.pending = nil
	if d.opts.FileSyncKeepsName {
		d.syncNames(in)
	}
	return 0
}

func syncDir(dir *inode) {
	dir.durableEntries = maps.Clone(dir.entries)
	dir.pendingEntries = nil
}

// syncNames makes durable every volatile name of in and the names of the
// directories above them.
func (d *Disk) syncNames(in *inode) {
	parents := map[*inode][]*inode{} // child -> directories naming it
	var walk func(dir *inode)
	seen := map[*inode]bool{}
	walk = func(dir *inode) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		for _, ch := range dir.entries {
			parents[ch] = append(parents[ch], dir)
			if ch.dir {
				walk(ch)
			}
		}
	}
	walk(d.root)
	done := map[*inode]bool{}
	var up func(n *inode)
	up = func(n *inode) {
		if done[n] {
			return
		}
		done[n] = true
		for _, dir := range parents[n] {
			for name, ch := range dir.entries {
				if ch != n {
					continue
				}
				dir.durableEntries[name] = n
				// The name's older unsynced changes are now superseded.
				kept := dir.pendingEntries[:0]
				for _, op := range dir.pendingEntries {
					op = slices.DeleteFunc(slices.Clone(op), func(c entryChange) bool { return c.name == name })
					if len(op) > 0 {
						kept = append(kept, op)
					}
				}
				dir.pendingEntries = kept
			}
			up(dir)
		}
	}
	up(in)
}

// --- crash ---

// Crash replaces the volatile state of every file and directory by what a
// power cut at this instant leaves on the disk (see TearMode), and returns
// what it did. Files and directories that are not reachable from the root
// through surviving entries are gone. rng draws the Torn choices; it is not
// used by DropUnsynced and may then be nil.
//
// Call it when no process uses the mount any more: after the process was
// killed and the file system unmounted (or at least frozen with Freeze, the
// kernel's caches of the old mount would still be stale). Mount the Disk
// again to use what survived. Crash does not thaw a frozen Disk; Mount does.
func (d *Disk) Crash(mode TearMode, rng *rand.Rand) CrashReport {
	if mode == Torn && rng == nil {
		panic("crashfs: Crash(Torn) needs a random source")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Crashes++
	rep := CrashReport{Mode: mode}

	// Decide each reachable directory's surviving entries, from the root down.
	newEntries := map[*inode]map[string]*inode{}
	var files []*inode
	seenFile := map[*inode]bool{}
	queue := []*inode{d.root}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		if newEntries[dir] != nil {
			continue
		}
		ents := maps.Clone(dir.durableEntries)
		keep := 0
		if mode == Torn {
			keep = rng.IntN(len(dir.pendingEntries) + 1)
			for _, op := range dir.pendingEntries[:keep] {
				for _, c := range op {
					if c.child == nil {
						delete(ents, c.name)
					} else {
						ents[c.name] = c.child
					}
				}
			}
		}
		rep.UnsyncedEntryOps += len(dir.pendingEntries)
		rep.EntryOpsKept += keep
		newEntries[dir] = ents
		for _, name := range slices.Sorted(maps.Keys(ents)) { // sorted: rng use is reproducible
			ch := ents[name]
			if ch.dir {
				queue = append(queue, ch)
			} else if !seenFile[ch] {
				seenFile[ch] = true
				files = append(files, ch)
			}
		}
	}

	for dir, ents := range newEntries {
		dir.durableEntries = ents
		dir.entries = maps.Clone(ents)
		dir.pendingEntries = nil
		rep.Dirs++
	}
	for _, f := range files {
		f.nlink = 0
		rep.Files++
		if len(f.pending) == 0 {
			continue // data is durable already
		}
		rep.UnsyncedFileOps += len(f.pending)
		if mode == Torn {
			var dirty, kept int
			f.durable, dirty, kept = tornContent(f.durable, f.pending, rng.IntN)
			rep.DirtySectors += dirty
			rep.SectorsKept += kept
		} else {
			rep.DirtySectors += dirtySectors(f.pending)
		}
		f.pending = nil
		f.data = slices.Clone(f.durable)
	}
	for _, ents := range newEntries {
		for _, ch := range ents {
			if !ch.dir {
				ch.nlink++
			}
		}
	}
	return rep
}

// sectors calls fn for each sector the byte range [lo, hi) overlaps.
func sectors(lo, hi int64, fn func(s int64)) {
	if hi <= lo {
		return
	}
	for s := lo / SectorSize; s <= (hi-1)/SectorSize; s++ {
		fn(s)
	}
}

func dirtySectors(ops []fileOp) int {
	set := map[int64]bool{}
	for _, op := range ops {
		lo, hi := op.span()
		sectors(lo, hi, func(s int64) { set[s] = true })
	}
	return len(set)
}

// tornContent returns the content a Torn crash leaves of a file whose durable
// content is durable and whose unsynced changes are ops. intN(n) draws a
// number in [0, n). For each dirty sector it applies a random prefix of the
// ops that touch it (intN(k+1) of k); the size is the one after a random
// prefix of all ops. It also returns how many sectors were dirty and how many
// of those kept all their ops.
func tornContent(durable []byte, ops []fileOp, intN func(int) int) (content []byte, dirty, kept int) {
	touches := map[int64]int{}
	extent := int64(len(durable))
	for _, op := range ops {
		lo, hi := op.span()
		extent = max(extent, hi)
		sectors(lo, hi, func(s int64) { touches[s]++ })
	}
	keep := make(map[int64]int, len(touches))
	for _, s := range slices.Sorted(maps.Keys(touches)) { // sorted: rng use is reproducible
		n := touches[s]
		keep[s] = intN(n + 1)
		if keep[s] == n {
			kept++
		}
	}
	dirty = len(touches)

	// buf holds the sectors' bytes up to the largest extent ever reached;
	// the size is decided separately.
	buf := make([]byte, extent)
	copy(buf, durable)
	applied := map[int64]int{}
	for _, op := range ops {
		lo, hi := op.span()
		sectors(lo, hi, func(s int64) {
			applied[s]++
			if applied[s] > keep[s] {
				return
			}
			a, b := max(lo, s*SectorSize), min(hi, (s+1)*SectorSize)
			if op.resize {
				clear(buf[a:b]) // truncated away, or grown as zeros
			} else {
				copy(buf[a:b], op.data[a-op.off:b-op.off])
			}
		})
	}

	m := intN(len(ops) + 1)
	size := int64(len(durable))
	for _, op := range ops[:m] {
		if op.resize {
			size = op.size
		} else {
			size = max(size, op.off+int64(len(op.data)))
		}
	}
	return resize(buf, size)[:size:size], dirty, kept
}
