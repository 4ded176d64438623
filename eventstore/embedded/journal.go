package embedded

import (
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
// each a sequence of records:
//
//	u32 payload length | u32 CRC-32C of the payload | payload
//	payload: u64 position | u64 revision | 16-byte event id |
//	         u16 stream length | stream | canonical encoding (the rest)
//
// A segment is deleted once SQLite holds all of its events durably.

// segmentBytes is the size from which the writer starts a new segment.
const segmentBytes = 64 << 20

const (
	journalPrefix = "journal-"
	journalSuffix = ".log"
	recordHeader  = 8
	payloadFixed  = 8 + 8 + 16 + 2
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
	dir  string
	f    *os.File
	size int64
	buf  []byte
}

// encodeRecords appends the records of rows to buf.
func encodeRecords(buf []byte, rows []row) []byte {
	for _, r := range rows {
		n := payloadFixed + len(r.stream) + len(r.body)
		start := len(buf)
		buf = slices.Grow(buf, recordHeader+n)
		buf = buf[:start+recordHeader]
		buf = binary.BigEndian.AppendUint64(buf, r.position)
		buf = binary.BigEndian.AppendUint64(buf, r.revision)
		buf = append(buf, r.id[:]...)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(r.stream)))
		buf = append(buf, r.stream...)
		buf = append(buf, r.body...)
		binary.BigEndian.PutUint32(buf[start:], uint32(n))
		binary.BigEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[start+recordHeader:], castagnoli))
	}
	return buf
}

// createSegment creates the segment whose first position is first and makes
// its directory entry durable.
func createSegment(dir string, first uint64) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, segmentName(first)), os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// write appends the records of rows to the open segment with one write. The
// caller syncs it.
func (j *journal) write(rows []row) error {
	j.buf = encodeRecords(j.buf[:0], rows)
	n, err := j.f.Write(j.buf)
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
// row, in order. Positions must follow each other within a segment (across
// segments the caller checks what it needs: a segment whose removal a crash
// undid may come back before a gap). In the last segment, an
// incomplete or damaged record ends the journal: it is the tail a crash cut
// off, never acknowledged, since an append is answered only after the
// fdatasync that covers its whole record, and the writer syncs a segment
// before it starts the next. Anywhere else it is corruption, reported with
// the file and offset.
func replayJournal(dir string, fn func(row) error) error {
	names, err := segments(dir)
	if err != nil {
		return err
	}
	for i, name := range names {
		var prev uint64
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		last := i == len(names)-1
		for off := 0; off < len(data); {
			r, n, err := decodeRecord(data[off:])
			if err != nil {
				if last {
					break
				}
				return fmt.Errorf("journal %s at offset %d: %v: %w", name, off, err, eventstore.ErrCorrupt)
			}
			if prev != 0 && r.position != prev+1 {
				return fmt.Errorf("journal %s at offset %d: position %d follows %d: %w", name, off, r.position, prev, eventstore.ErrCorrupt)
			}
			prev = r.position
			if err := fn(r); err != nil {
				return err
			}
			off += n
		}
	}
	return nil
}

var errTorn = errors.New("incomplete record")

// decodeRecord decodes the record at the start of data and returns it with
// its length. The row's byte slices alias data.
func decodeRecord(data []byte) (row, int, error) {
	if len(data) < recordHeader {
		return row{}, 0, errTorn
	}
	n := int(binary.BigEndian.Uint32(data))
	if n < payloadFixed || len(data)-recordHeader < n {
		return row{}, 0, errTorn
	}
	p := data[recordHeader : recordHeader+n]
	if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(data[4:]) {
		return row{}, 0, errors.New("checksum mismatch")
	}
	sl := int(binary.BigEndian.Uint16(p[32:]))
	if payloadFixed+sl > n {
		return row{}, 0, io.ErrUnexpectedEOF
	}
	r := row{
		position: binary.BigEndian.Uint64(p),
		revision: binary.BigEndian.Uint64(p[8:]),
		id:       uuid.UUID(p[16:32]),
		stream:   string(p[payloadFixed : payloadFixed+sl]),
		body:     p[payloadFixed+sl:],
	}
	return r, recordHeader + n, nil
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
