// Package crashfs is test infrastructure: an in-memory FUSE file system that
// models a disk with a volatile write cache, so a test can cut the power at
// any instant and see what a program's fsyncs really made durable. A kill -9
// cannot show a missing fsync, because the kernel's page cache outlives the
// process; crashfs can.
//
// It owns the model (Disk: every file's volatile and durable content and
// size, every directory's volatile and durable entries, Crash with the two
// TearModes) and the FUSE server that exposes a Disk at a directory (Mount,
// FS). Writes, truncations and fallocate change only the volatile state,
// which is what reads see; fsync or fdatasync of a file makes its content and
// size durable; creating, removing, renaming and linking names is volatile
// until the directory itself is fsynced (strict POSIX; see
// DiskOptions.FileSyncKeepsName for the ext4-like variant). A Disk outlives
// its mounts, so a test loops: Mount, run the program, Freeze, kill it,
// Unmount, Crash, Mount the same Disk again and check.
//
// The mount serves what SQLite needs, including a shared writable mmap (no
// direct I/O; dirty mapped pages reach the model when the kernel writes them
// back, at msync, fsync or unmount). Entry and attribute timeouts are zero, so
// the kernel never answers from stale metadata; POSIX and BSD locks are left
// to the kernel. Symlinks and device nodes are not supported.
//
// Touch a mapped file on the mount from another process than the one serving
// it: a page fault that waits for the server blocks its OS thread where the
// Go runtime cannot stop it, and a stop-the-world (a GC) then deadlocks the
// server (go-fuse's fs package doc, "Deadlocks"). Plain system calls on the
// mount from the serving process are fine.
//
// Mounting needs /dev/fuse and either CAP_SYS_ADMIN (mount(2) directly, about
// half a millisecond) or the fusermount3 helper; when they are missing, Mount
// fails with an error that wraps ErrUnavailable, and tests should skip with
// it.
//
// It may import the standard library and github.com/hanwen/go-fuse/v2;
// nothing of ours.
package crashfs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// ErrUnavailable is wrapped by Mount's error when this machine cannot mount
// a FUSE file system (no /dev/fuse, not permitted, no fusermount3).
var ErrUnavailable = errors.New("crashfs: FUSE is not available")

// Options configure a mount.
type Options struct {
	// Disk is the state to serve. Nil means a new empty Disk with default
	// DiskOptions.
	Disk *Disk
	// Debug logs every FUSE request and reply to the standard logger.
	Debug bool
}

// FS is a mounted Disk.
type FS struct {
	dir    string
	disk   *Disk
	server *fuse.Server
}

// Mount serves a Disk (opts.Disk, or a new one) at dir, which must be an
// existing directory, and returns once the kernel answers. It thaws the Disk
// (see Freeze). A Disk is served by one mount at a time.
func Mount(dir string, opts Options) (*FS, error) {
	if err := checkFUSE(); err != nil {
		return nil, err
	}
	disk := opts.Disk
	if disk == nil {
		disk = NewDisk(DiskOptions{})
	}
	disk.mu.Lock()
	if disk.mounted {
		disk.mu.Unlock()
		return nil, fmt.Errorf("crashfs: mount %s: the disk is already mounted", dir)
	}
	disk.mounted = true
	disk.frozen = false
	disk.mu.Unlock()

	zero := time.Duration(0)
	fsOpts := &fs.Options{
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		RootStableAttr:  &fs.StableAttr{Ino: disk.root.ino, Gen: 1},
		NullPermissions: true,
		MountOptions: fuse.MountOptions{
			FsName:        "crashfs",
			Name:          "crashfs",
			DirectMount:   true, // mount(2) when permitted: no fusermount3 fork
			DisableXAttrs: true, // else the kernel asks for security.capability on every write
			MaxWrite:      1 << 17,
			Debug:         opts.Debug,
		},
	}
	server, err := fs.Mount(dir, &node{disk: disk, in: disk.root}, fsOpts)
	if err != nil {
		disk.mu.Lock()
		disk.mounted = false
		disk.mu.Unlock()
		switch {
		case errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) ||
			errors.Is(err, exec.ErrNotFound):
			return nil, fmt.Errorf("%w: mount %s: %v", ErrUnavailable, dir, err)
		case strings.HasPrefix(err.Error(), "fusermount exited"):
			// mount(2) was refused and so was the helper, which said why
			// on stderr (typically: not permitted in this container).
			return nil, fmt.Errorf("%w: mount %s: mount(2) refused, then %v (its reason is on stderr)", ErrUnavailable, dir, strings.TrimSpace(err.Error()))
		}
		return nil, fmt.Errorf("crashfs: mount %s: %w", dir, err)
	}
	return &FS{dir: dir, disk: disk, server: server}, nil
}

// checkFUSE reports, wrapping ErrUnavailable, why FUSE cannot be mounted.
func checkFUSE() error {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	f.Close()
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			if _, err2 := exec.LookPath("fusermount"); err2 != nil {
				return fmt.Errorf("%w: not root and no fusermount3 or fusermount in PATH", ErrUnavailable)
			}
		}
	}
	return nil
}

// Dir returns the mount point.
func (f *FS) Dir() string { return f.dir }

// Disk returns the state the mount serves, to Mount again after Unmount.
func (f *FS) Disk() *Disk { return f.disk }

// Freeze is Disk.Freeze: every further operation fails with EIO.
func (f *FS) Freeze() { f.disk.Freeze() }

// Crash is Disk.Crash. Call it after Unmount (or at least Freeze), with no
// process using the mount.
func (f *FS) Crash(mode TearMode, rng *rand.Rand) CrashReport { return f.disk.Crash(mode, rng) }

// Stats is Disk.Stats.
func (f *FS) Stats() Stats { return f.disk.Stats() }

// Unmount detaches the file system and waits for the server to stop. No
// process may have files open on it. It is idempotent.
func (f *FS) Unmount() error {
	if f.server == nil {
		return nil
	}
	if err := f.server.Unmount(); err != nil {
		return fmt.Errorf("crashfs: unmount %s: %w", f.dir, err)
	}
	f.server = nil
	f.disk.mu.Lock()
	f.disk.mounted = false
	f.disk.mu.Unlock()
	return nil
}

// node is the FUSE side of an inode. Every operation goes to the Disk; go-fuse's
// own tree only caches what lookups returned.
type node struct {
	fs.Inode
	disk *Disk
	in   *inode
}

var (
	_ fs.NodeLookuper  = (*node)(nil)
	_ fs.NodeReaddirer = (*node)(nil)
	_ fs.NodeOpendirer = (*node)(nil)
	_ fs.NodeMkdirer   = (*node)(nil)
	_ fs.NodeCreater   = (*node)(nil)
	_ fs.NodeUnlinker  = (*node)(nil)
	_ fs.NodeRmdirer   = (*node)(nil)
	_ fs.NodeRenamer   = (*node)(nil)
	_ fs.NodeLinker    = (*node)(nil)
	_ fs.NodeGetattrer = (*node)(nil)
	_ fs.NodeSetattrer = (*node)(nil)
	_ fs.NodeOpener    = (*node)(nil)
	_ fs.NodeReader    = (*node)(nil)
	_ fs.NodeWriter    = (*node)(nil)
	_ fs.NodeFsyncer   = (*node)(nil)
	_ fs.NodeFlusher   = (*node)(nil)
	_ fs.NodeAllocater = (*node)(nil)
	_ fs.NodeStatfser  = (*node)(nil)
)

func (n *node) newChild(ctx context.Context, in *inode) *fs.Inode {
	mode := uint32(syscall.S_IFREG)
	if in.dir {
		mode = syscall.S_IFDIR
	}
	return n.NewInode(ctx, &node{disk: n.disk, in: in}, fs.StableAttr{Mode: mode, Ino: in.ino, Gen: 1})
}

func fillAttr(a attr, out *fuse.Attr) {
	out.Ino = a.ino
	out.Size = a.size
	out.Blksize = 4096
	out.Blocks = (a.size + 511) / 512
	out.Nlink = a.nlink
	out.Mode = a.perm
	if a.dir {
		out.Mode |= syscall.S_IFDIR
	} else {
		out.Mode |= syscall.S_IFREG
	}
	out.Owner = fuse.Owner{Uid: a.uid, Gid: a.gid}
	out.SetTimes(&a.atime, &a.mtime, &a.ctime)
}

func (n *node) entryOut(in *inode, out *fuse.EntryOut) syscall.Errno {
	a, errno := n.disk.getattr(in)
	if errno != 0 {
		return errno
	}
	fillAttr(a, &out.Attr)
	return 0
}

func caller(ctx context.Context) (uid, gid uint32) {
	if c, ok := fuse.FromContext(ctx); ok {
		return c.Uid, c.Gid
	}
	return 0, 0
}

// Lookup implements fs.NodeLookuper.
func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	in, errno := n.disk.lookup(n.in, name)
	if errno != 0 {
		return nil, errno
	}
	if errno := n.entryOut(in, out); errno != 0 {
		return nil, errno
	}
	return n.newChild(ctx, in), 0
}

// Opendir implements fs.NodeOpendirer.
func (n *node) Opendir(ctx context.Context) syscall.Errno {
	_, errno := n.disk.getattr(n.in)
	return errno
}

// Readdir implements fs.NodeReaddirer.
func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	ents, errno := n.disk.readdir(n.in)
	if errno != 0 {
		return nil, errno
	}
	list := make([]fuse.DirEntry, 0, len(ents))
	for _, e := range ents {
		mode := uint32(syscall.S_IFREG)
		if e.in.dir {
			mode = syscall.S_IFDIR
		}
		list = append(list, fuse.DirEntry{Name: e.name, Ino: e.in.ino, Mode: mode})
	}
	return fs.NewListDirStream(list), 0
}

// Mkdir implements fs.NodeMkdirer.
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	uid, gid := caller(ctx)
	in, errno := n.disk.mkdir(n.in, name, mode, uid, gid)
	if errno != 0 {
		return nil, errno
	}
	if errno := n.entryOut(in, out); errno != 0 {
		return nil, errno
	}
	return n.newChild(ctx, in), 0
}

// Create implements fs.NodeCreater.
func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	uid, gid := caller(ctx)
	in, errno := n.disk.create(n.in, name, mode, uid, gid, flags&syscall.O_EXCL != 0, flags&syscall.O_TRUNC != 0)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if errno := n.entryOut(in, out); errno != 0 {
		return nil, nil, 0, errno
	}
	return n.newChild(ctx, in), nil, fuse.FOPEN_KEEP_CACHE, 0
}

// Unlink implements fs.NodeUnlinker.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.disk.remove(n.in, name, false)
}

// Rmdir implements fs.NodeRmdirer.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.disk.remove(n.in, name, true)
}

// Rename implements fs.NodeRenamer.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	dst, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	return n.disk.rename(n.in, name, dst.in, newName, flags)
}

// Link implements fs.NodeLinker.
func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	t, ok := target.(*node)
	if !ok {
		return nil, syscall.EXDEV
	}
	if errno := n.disk.link(n.in, name, t.in); errno != 0 {
		return nil, errno
	}
	if errno := n.entryOut(t.in, out); errno != 0 {
		return nil, errno
	}
	return n.newChild(ctx, t.in), 0
}

// Getattr implements fs.NodeGetattrer.
func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	a, errno := n.disk.getattr(n.in)
	if errno != 0 {
		return errno
	}
	fillAttr(a, &out.Attr)
	return 0
}

// Setattr implements fs.NodeSetattrer: truncate, chmod, chown, utimes.
func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	var size *uint64
	var perm, uid, gid *uint32
	var atime, mtime *time.Time
	if v, ok := in.GetSize(); ok {
		size = &v
	}
	if v, ok := in.GetMode(); ok {
		perm = &v
	}
	if v, ok := in.GetUID(); ok {
		uid = &v
	}
	if v, ok := in.GetGID(); ok {
		gid = &v
	}
	if v, ok := in.GetATime(); ok {
		atime = &v
	}
	if v, ok := in.GetMTime(); ok {
		mtime = &v
	}
	if errno := n.disk.setattr(n.in, size, perm, uid, gid, atime, mtime); errno != 0 {
		return errno
	}
	return n.Getattr(ctx, fh, out)
}

// Open implements fs.NodeOpener. Files have no handles: every operation goes
// to the inode. The page cache is kept across opens (only the kernel changes
// files, so it stays coherent) and direct I/O is off, so shared mmap works.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_TRUNC != 0 && flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		zero := uint64(0)
		if errno := n.disk.setattr(n.in, &zero, nil, nil, nil, nil, nil); errno != 0 {
			return nil, 0, errno
		}
	} else if _, errno := n.disk.getattr(n.in); errno != 0 {
		return nil, 0, errno
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

// Read implements fs.NodeReader.
func (n *node) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	b, errno := n.disk.read(n.in, dest, off)
	if errno != 0 {
		return nil, errno
	}
	return fuse.ReadResultData(b), 0
}

// Write implements fs.NodeWriter.
func (n *node) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	return n.disk.write(n.in, data, off)
}

// Fsync implements fs.NodeFsyncer, for files (fsync, fdatasync) and
// directories (fsync on a directory).
func (n *node) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	return n.disk.fsync(n.in)
}

// Flush implements fs.NodeFlusher (close): it syncs nothing.
func (n *node) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno {
	return n.disk.flush()
}

// Allocate implements fs.NodeAllocater (fallocate: plain, keep-size,
// punch-hole, zero-range).
func (n *node) Allocate(ctx context.Context, fh fs.FileHandle, off uint64, size uint64, mode uint32) syscall.Errno {
	return n.disk.allocate(n.in, off, size, mode)
}

// Statfs implements fs.NodeStatfser: a roomy disk.
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	const blocks = 1 << 24 // 64 GiB of 4 KiB blocks
	*out = fuse.StatfsOut{Blocks: blocks, Bfree: blocks, Bavail: blocks,
		Files: 1 << 20, Ffree: 1 << 20, Bsize: 4096, NameLen: 255, Frsize: 4096}
	return 0
}
