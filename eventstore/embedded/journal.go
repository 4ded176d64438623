package embedded

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/google/uuid"

	"github.com/custodian/custodian/eventstore"
)

// The journal is the store's commit log: every group of appends is written
// to it with one write and made durable with one fdatasync before any append
// of the group is answered. SQLite is written beside it, many groups to a
// transaction, by the indexer (index.go); the journal holds what SQLite may
// not yet have made durable, and Open replays it.
//
// A journal is a sequence of segment files, journal-<first position>.log,
// each a 20-byte header ("CSTJ", u32 format 1, an 8-byte random salt, the
// CRC-32C of those 16 bytes; fdatasynced when the segment is created) and then a sequence of groups
// (what one write held), each a sequence of records:
//
//	u32 payload length, top bit set on a group's last record |
//	u32 CRC-32C of the salt and the payload | payload
//	payload: u64 position | u64 the group's first position |
//	         u64 revision | 16-byte event id | u16 stream length | stream |
//	         canonical encoding (the rest)
//
// Replay applies whole groups only, so an append is never half replayed.
// The salt, as in SQLite's WAL, makes a record copied or forged into event
// data (whose text fields callers choose) fail its checksum. A segment is
// deleted once SQLite holds all of its events durably.

// segmentBytes is the size from which the writer starts a new segment (a
// variable for tests).
var segmentBytes int64 = 64 << 20

// preallocBytes is the step in which the writer allocates a segment's space
// ahead of its writes (fallocate): the file's size then no longer changes
// with every write, and an fdatasync has less metadata to commit (ext4 still
// journals the first write to each allocated block), which made it 20-40 %
// faster here. Replay reads the zeros after the last record of the last
// segment as its end; rotate cuts a finished segment after its last record.
const preallocBytes = 1 << 20

const (
	journalPrefix = "journal-"
	journalSuffix = ".log"
	segmentHeader = 20
	segmentMagic  = "CSTJ"
	recordHeader  = 8
	payloadFixed  = 8 + 8 + 8 + 16 + 2
	lastInGroup   = 1 << 31
)

func segmentName(first uint64) string {
	return fmt.Sprintf("%s%020d%s", journalPrefix, first, journalSuffix)
}

// segment is one journal file the writer has finished with.
type segment struct {
	f    *os.File
	last uint64 // the last position it holds
}

// journal is the writer's side of the log: the open segment. Only the
// writer goroutine uses it.
type journal struct {
	f       *os.File
	seed    uint32 // the CRC-32C of the segment's salt
	size    int64  // written
	alloc   int64  // allocated (preallocBytes)
	noAlloc bool   // the file system refused to allocate: writes extend the file
	buf     []byte
}

// encodeRecords appends the records of rows, one group, to buf; seed is the
// CRC-32C of the segment's salt.
func encodeRecords(buf []byte, rows []row, seed uint32) []byte {
	first := rows[0].position
	for i, r := range rows {
		n := payloadFixed + len(r.stream) + len(r.body)
		start := len(buf)
		buf = slices.Grow(buf, recordHeader+n)
		buf = buf[:start+recordHeader]
		buf = binary.BigEndian.AppendUint64(buf, r.position)
		buf = binary.BigEndian.AppendUint64(buf, first)
		buf = binary.BigEndian.AppendUint64(buf, r.revision)
		buf = append(buf, r.id[:]...)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(r.stream)))
		buf = append(buf, r.stream...)
		buf = append(buf, r.body...)
		word := uint32(n)
		if i == len(rows)-1 {
			word |= lastInGroup
		}
		binary.BigEndian.PutUint32(buf[start:], word)
		binary.BigEndian.PutUint32(buf[start+4:], crc32.Update(seed, castagnoli, buf[start+recordHeader:]))
	}
	return buf
}

// createSegment creates the segment whose first position is first, writes
// its header with a fresh salt and makes both durable, the directory entry
// too: a segment with records always has its header.
func createSegment(dir string, first uint64) (journal, error) {
	var salt [8]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return journal{}, fmt.Errorf("journal: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, segmentName(first)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return journal{}, fmt.Errorf("journal: %w", err)
	}
	h := binary.BigEndian.AppendUint32([]byte(segmentMagic), 1)
	h = append(h, salt[:]...)
	h = binary.BigEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
	j := journal{f: f, seed: crc32.Checksum(salt[:], castagnoli), size: segmentHeader}
	if _, err = f.WriteAt(h, 0); err == nil {
		j.reserve(0)
		err = syncFile(f)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		return journal{}, fmt.Errorf("journal: %w", err)
	}
	return j, nil
}

// reserve allocates the segment's space for n more bytes, in steps of
// preallocBytes. Allocation only makes syncs cheaper: where the file system
// refuses it, writes extend the file as they would without it.
func (j *journal) reserve(n int64) {
	if j.noAlloc || j.size+n <= j.alloc {
		return
	}
	want := (j.size + n + preallocBytes - 1) / preallocBytes * preallocBytes
	for {
		err := syscall.Fallocate(int(j.f.Fd()), 0, 0, want)
		if err == nil {
			j.alloc = want
			return
		}
		if !errors.Is(err, syscall.EINTR) {
			j.noAlloc = true
			return
		}
	}
}

// write writes the records of rows after the segment's last record with
// one write. The caller syncs it.
func (j *journal) write(rows []row) error {
	j.buf = encodeRecords(j.buf[:0], rows, j.seed)
	j.reserve(int64(len(j.buf)))
	n, err := j.f.WriteAt(j.buf, j.size)
	j.size += int64(n)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// segments lists the journal's segment files in position order.
func segments(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, journalPrefix) && strings.HasSuffix(name, journalSuffix) {
			if _, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, journalPrefix), journalSuffix), 10, 64); err == nil {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names) // fixed-width numbers sort as numbers
	return names, nil
}

// replayJournal reads every segment in dir and calls fn with each record's
// row, in order, a whole group at a time. Positions must follow each other
// within a segment (across segments the caller checks what it needs: a
// segment whose removal a crash undid may come back before a gap).
//
// Each group is fdatasynced before the next is written, and the writer syncs
// a segment before it starts the next, so a crash can damage only the last
// group of the last segment: an incomplete or damaged record there ends the
// journal, and its group, never acknowledged, is dropped whole. Damage
// anywhere else is corruption, reported with the file and offset: in an
// earlier segment, or in the last one when an intact record of a later group
// follows the damage (a bit flip in acknowledged events, not a torn tail).
//
// begin is called with each segment's name and first position (from its
// name) before its records, also for a segment that has none.
func replayJournal(dir string, begin func(name string, first uint64) error, fn func(row) error) error {
	names, err := segments(dir)
	if err != nil {
		return err
	}
	for i, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		first, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, journalPrefix), journalSuffix), 10, 64)
		if err := begin(name, first); err != nil {
			return err
		}
		last := i == len(names)-1
		if len(data) < segmentHeader || string(data[:4]) != segmentMagic {
			if last && (len(data) <= segmentHeader || allZero(data)) {
				continue // a crash while the segment was created: no records
			}
			return fmt.Errorf("journal %s: no journal header: %w", name, eventstore.ErrCorrupt)
		}
		if crc32.Checksum(data[:16], castagnoli) != binary.BigEndian.Uint32(data[16:]) {
			return fmt.Errorf("journal %s: damaged header: %w", name, eventstore.ErrCorrupt)
		}
		if v := binary.BigEndian.Uint32(data[4:]); v != 1 {
			return fmt.Errorf("journal %s: unknown format %d: %w", name, v, eventstore.ErrCorrupt)
		}
		seed := crc32.Checksum(data[8:16], castagnoli)
		next := first // the position the next record must have
		var group []row
		off, groupOff := segmentHeader, segmentHeader
		for off < len(data) {
			r, g, end, n, err := decodeRecord(data[off:], seed)
			if err == nil && (r.position != next || g != next-uint64(len(group))) {
				err = fmt.Errorf("position %d of group %d where %d was expected", r.position, g, next)
			}
			if err != nil {
				if last && allZero(data[off:]) {
					break // the segment's allocated space after its last record
				}
				if !last {
					return fmt.Errorf("journal %s at offset %d: %v: %w", name, off, err, eventstore.ErrCorrupt)
				}
				if at, ok := laterGroup(data, off+1, next-uint64(len(group)), seed); ok {
					return fmt.Errorf("journal %s at offset %d: %v, and an intact later group follows at offset %d: %w", name, off, err, at, eventstore.ErrCorrupt)
				}
				group = nil
				break
			}
			group = append(group, r)
			next++
			off += n
			if end {
				for _, r := range group {
					if err := fn(r); err != nil {
						return err
					}
				}
				group, groupOff = group[:0], off
			}
		}
		if len(group) > 0 && !last {
			return fmt.Errorf("journal %s at offset %d: the last group is incomplete: %w", name, groupOff, eventstore.ErrCorrupt)
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// laterGroup looks in data from offset from on for an intact later group: a
// record that starts a group after the one that starts at position g0, and
// the rest of its group, intact. Only the last group is ever unsynced, so a
// genuine torn tail is never followed by one (the salted checksums keep
// event data from passing for one). It returns the group's offset.
func laterGroup(data []byte, from int, g0 uint64, seed uint32) (int, bool) {
	for off := from; off+recordHeader+payloadFixed <= len(data); off++ {
		p := data[off+recordHeader:]
		pos, g := binary.BigEndian.Uint64(p), binary.BigEndian.Uint64(p[8:])
		if g <= g0 || pos != g || pos-g0 > 1<<32 {
			continue
		}
		if wholeGroup(data[off:], pos, seed) {
			return off, true
		}
	}
	return 0, false
}

// wholeGroup reports whether data starts with a whole, intact group whose
// first position is first.
func wholeGroup(data []byte, first uint64, seed uint32) bool {
	for off, next := 0, first; off < len(data); next++ {
		r, g, last, n, err := decodeRecord(data[off:], seed)
		if err != nil || r.position != next || g != first {
			return false
		}
		if last {
			return true
		}
		off += n
	}
	return false
}

var errTorn = errors.New("incomplete record")

// decodeRecord decodes the record at the start of data and returns it with
// its group's first position, whether it ends the group, and its length.
// The row's body aliases data.
func decodeRecord(data []byte, seed uint32) (r row, group uint64, end bool, size int, err error) {
	if len(data) < recordHeader {
		return row{}, 0, false, 0, errTorn
	}
	word := binary.BigEndian.Uint32(data)
	n := int(word &^ lastInGroup)
	if n < payloadFixed || len(data)-recordHeader < n {
		return row{}, 0, false, 0, errTorn
	}
	p := data[recordHeader : recordHeader+n]
	if crc32.Update(seed, castagnoli, p) != binary.BigEndian.Uint32(data[4:]) {
		return row{}, 0, false, 0, errors.New("checksum mismatch")
	}
	sl := int(binary.BigEndian.Uint16(p[payloadFixed-2:]))
	if payloadFixed+sl > n {
		return row{}, 0, false, 0, io.ErrUnexpectedEOF
	}
	r = row{
		position: binary.BigEndian.Uint64(p),
		revision: binary.BigEndian.Uint64(p[16:]),
		id:       uuid.UUID(p[24:40]),
		stream:   string(p[payloadFixed : payloadFixed+sl]),
		body:     p[payloadFixed+sl:],
	}
	return r, binary.BigEndian.Uint64(p[8:]), word&lastInGroup != 0, recordHeader + n, nil
}

// removeSegments deletes the journal's segment files and makes that
// durable: a segment that came back after a crash could end in a torn tail
// that is no longer the journal's last.
func removeSegments(dir string) error {
	names, err := segments(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return syncDir(dir)
}
