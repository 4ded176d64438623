package eventstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"
)

// CanonicalVersion is the version byte that starts every canonical encoding
// this package writes.
const CanonicalVersion byte = 1

// Canonical returns the canonical byte encoding of env: the Merkle leaf of the
// audit log. It leaves out Position, which differs between stores, so the same
// event has the same leaf in every store.
//
// Version 1 is, in order: the version byte 0x01; the 16 bytes of ID; Stream;
// Revision as 8 bytes big-endian; Type; SchemaVersion as 4 bytes big-endian;
// RecordedAt as Unix nanoseconds, 8 bytes big-endian two's complement;
// Actor.Kind, Actor.UserID, Actor.OrgID, Actor.Name; CorrelationID,
// CausationID, RequestID; Data. Every string and Data is written as its
// length (unsigned varint) followed by its bytes. Data is the stored JSON
// byte for byte. The golden vectors in testdata/canonical_v1.json fix it.
func (env Envelope) Canonical() []byte {
	n := 1 + 16 + 8 + 4 + 8 + len(env.Stream) + len(env.Type) + len(env.Actor.Kind) +
		len(env.Actor.UserID) + len(env.Actor.OrgID) + len(env.Actor.Name) +
		len(env.CorrelationID) + len(env.CausationID) + len(env.RequestID) + len(env.Data) +
		10*binary.MaxVarintLen64
	b := make([]byte, 0, n)
	b = append(b, CanonicalVersion)
	b = append(b, env.ID[:]...)
	b = appendString(b, env.Stream)
	b = binary.BigEndian.AppendUint64(b, uint64(env.Revision))
	b = appendString(b, env.Type)
	b = binary.BigEndian.AppendUint32(b, uint32(env.SchemaVersion))
	b = binary.BigEndian.AppendUint64(b, uint64(env.RecordedAt.UnixNano()))
	b = appendString(b, string(env.Actor.Kind))
	b = appendString(b, env.Actor.UserID)
	b = appendString(b, env.Actor.OrgID)
	b = appendString(b, env.Actor.Name)
	b = appendString(b, env.CorrelationID)
	b = appendString(b, env.CausationID)
	b = appendString(b, env.RequestID)
	b = binary.AppendUvarint(b, uint64(len(env.Data)))
	return append(b, env.Data...)
}

// LeafHash is the RFC 6962 leaf hash of env's canonical encoding, as
// golang.org/x/mod/sumdb/tlog computes it for the audit log's Merkle tree.
func (env Envelope) LeafHash() tlog.Hash { return tlog.RecordHash(env.Canonical()) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errCanonical is wrapped by every error of DecodeCanonical.
var errCanonical = errors.New("not a canonical envelope")

// DecodeCanonical parses a canonical encoding back into an envelope (without
// Position). It is the inverse of Canonical and refuses trailing bytes. The
// envelope's strings and Data share b's memory: the caller must never change b
// afterwards.
func DecodeCanonical(b []byte) (Envelope, error) {
	// The text fields are substrings of one string view of b, so decoding
	// allocates nothing per field (reading the log is the stores' hot path).
	// b is never changed while the envelope lives, as documented above.
	var whole string
	if len(b) > 0 {
		whole = unsafe.String(&b[0], len(b))
	}
	d := decoder{in: b, b: b, s: whole}
	var env Envelope
	if v := d.fixed(1); d.err == nil && v[0] != CanonicalVersion {
		return Envelope{}, fmt.Errorf("%w: version %d", errCanonical, v[0])
	}
	copy(env.ID[:], d.fixed(16))
	env.Stream = d.string()
	env.Revision = Revision(binary.BigEndian.Uint64(d.fixed(8)))
	env.Type = d.string()
	env.SchemaVersion = int(binary.BigEndian.Uint32(d.fixed(4)))
	env.RecordedAt = time.Unix(0, int64(binary.BigEndian.Uint64(d.fixed(8)))).UTC()
	env.Actor.Kind = ActorKind(d.string())
	env.Actor.UserID = d.string()
	env.Actor.OrgID = d.string()
	env.Actor.Name = d.string()
	env.CorrelationID = d.string()
	env.CausationID = d.string()
	env.RequestID = d.string()
	env.Data = d.bytes()
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCanonical, len(d.b))
	}
	if d.err != nil {
		return Envelope{}, d.err
	}
	if env.ID == uuid.Nil {
		return Envelope{}, fmt.Errorf("%w: nil id", errCanonical)
	}
	return env, nil
}

type decoder struct {
	in  []byte // all of the input
	b   []byte // what is left to decode
	s   string // all of the input, as a string
	err error
}

var zeros [16]byte

func (d *decoder) fixed(n int) []byte {
	if d.err != nil || len(d.b) < n {
		if d.err == nil {
			d.err = fmt.Errorf("%w: truncated", errCanonical)
		}
		return zeros[:n]
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// field returns the offsets in the input of the next length-prefixed field.
func (d *decoder) field() (from, to int, ok bool) {
	if d.err != nil {
		return 0, 0, false
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) {
		d.err = fmt.Errorf("%w: bad length", errCanonical)
		return 0, 0, false
	}
	from = len(d.s) - len(d.b) + k
	d.b = d.b[k+int(n):]
	return from, from + int(n), true
}

func (d *decoder) string() string {
	from, to, ok := d.field()
	if !ok {
		return ""
	}
	return d.s[from:to]
}

func (d *decoder) bytes() []byte {
	from, to, ok := d.field()
	if !ok {
		return nil
	}
	return d.in[from:to:to]
}
