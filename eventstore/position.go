package eventstore

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is a place in the global log. Callers treat it as opaque: it is
// totally ordered (Compare) and round-trips through a string (String and
// ParsePosition), which is how it travels as an HTTP consistency token.
//
// The embedded store's positions are dense (1, 2, 3, …, with Commit ==
// Prepare); KurrentDB's are (commit, prepare) pairs with gaps, and both halves
// are kept.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// Start is the position before the first event of the log.
var Start = Position{}

// IsStart reports whether p is Start.
func (p Position) IsStart() bool { return p == Start }

// Compare returns -1, 0 or +1 as p is before, equal to or after q.
func (p Position) Compare(q Position) int {
	switch {
	case p.Commit < q.Commit:
		return -1
	case p.Commit > q.Commit:
		return 1
	case p.Prepare < q.Prepare:
		return -1
	case p.Prepare > q.Prepare:
		return 1
	}
	return 0
}

// Before reports whether p comes before q.
func (p Position) Before(q Position) bool { return p.Compare(q) < 0 }

// String encodes p: "<n>" when both halves are equal, else "<commit>:<prepare>".
func (p Position) String() string {
	if p.Commit == p.Prepare {
		return strconv.FormatUint(p.Commit, 10)
	}
	return strconv.FormatUint(p.Commit, 10) + ":" + strconv.FormatUint(p.Prepare, 10)
}

// ParsePosition decodes a string made by Position.String.
func ParsePosition(s string) (Position, error) {
	c, p, pair := strings.Cut(s, ":")
	commit, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("parse position %q: not a position", s)
	}
	if !pair {
		return Position{Commit: commit, Prepare: commit}, nil
	}
	prepare, err := strconv.ParseUint(p, 10, 64)
	if err != nil || commit == prepare {
		return Position{}, fmt.Errorf("parse position %q: not a position", s)
	}
	return Position{Commit: commit, Prepare: prepare}, nil
}

// MarshalText implements encoding.TextMarshaler.
func (p Position) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Position) UnmarshalText(b []byte) error {
	q, err := ParsePosition(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}
