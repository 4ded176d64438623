package projections

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custodian/custodian/domain"
)

// Errors of queries; the api answers them with 400.
var (
	// ErrInvalidQuery is wrapped by every error of a query's input.
	ErrInvalidQuery = errors.New("projections: invalid query")
	// ErrInvalidCursor is returned for a cursor the query did not make for
	// this list. It wraps ErrInvalidQuery.
	ErrInvalidCursor = fmt.Errorf("%w: cursor", ErrInvalidQuery)
)

// Page sizes of Search and Notifications.For.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// limitOf returns limit clamped to 1..MaxLimit, DefaultLimit when not positive.
func limitOf(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// SearchQuery is a case search: GET /v1/cases.
type SearchQuery struct {
	// Text matches the title or, of a case the subject may view, the
	// description, as a substring, ignoring case and surrounding white
	// space; empty matches every case.
	Text string
	// OwnerID keeps only the cases it owns; uuid.Nil means any owner.
	OwnerID uuid.UUID
	// AccessClass keeps only the cases of that class; empty means any.
	AccessClass domain.AccessClass
	// Limit is the page size, 1 to MaxLimit; 0 means DefaultLimit and a
	// larger value MaxLimit.
	Limit int
	// Cursor is a previous page's NextCursor; empty for the first page.
	Cursor string
}

// SearchResult is one page of a case search, newest case first.
type SearchResult struct {
	Items []CaseView
	// NextCursor continues after the last item; empty on the last page.
	NextCursor string
	// OwnerFilterLocked is true when the subject's role lists no class as
	// all (domain.OwnerFilterLocked): the page holds only cases it owns and
	// cases it is on the access list for.
	OwnerFilterLocked bool
}

// Search returns the cases of s's organization that s may list at now
// (domain.CanList decides every one) and that match q, newest first.
//
// The owner filter: when the role lists no class as all, the result is
// locked to the subject (OwnerFilterLocked) — its own cases, by its role,
// plus the cases it is on the access list for, through a user or group
// entry, whoever owns them. An explicit q.OwnerID is never widened by the
// lock: it keeps only the cases that owner owns among those s may list, so
// under the lock q.OwnerID = s's id gives s's own cases and another owner's
// id gives that owner's cases s is on the list for.
//
// The cursor is opaque: it names the last case returned, and stays valid
// while new cases arrive (they are newer and come before it). A cursor that
// is not one Search made, or whose case s may not list (any more), is
// ErrInvalidCursor, so that a cursor cannot probe whether a case exists; an
// invalid AccessClass wraps ErrInvalidQuery and domain.ErrInvalidAccessClass.
func (c *Cases) Search(s domain.Subject, q SearchQuery, now time.Time) (SearchResult, error) {
	res := SearchResult{OwnerFilterLocked: domain.OwnerFilterLocked(s.Permissions)}
	if q.AccessClass != "" && !q.AccessClass.Valid() {
		return res, fmt.Errorf("%w: accessClass %q: %w", ErrInvalidQuery, q.AccessClass, domain.ErrInvalidAccessClass)
	}
	o := c.orgs[s.OrgID]
	bound := int32(0) // seqs below bound are candidates
	if o != nil {
		bound = o.n
	}
	if q.Cursor != "" {
		seq, err := c.parseCursor(q.Cursor, s, now)
		if err != nil {
			return res, err
		}
		bound = seq
	}
	if o == nil || !s.Active || bound == 0 {
		res.Items = []CaseView{}
		return res, nil
	}

	var inFilter [3]bool // classes the query asks for
	for k, class := range classes {
		inFilter[k] = q.AccessClass == "" || q.AccessClass == class
	}
	it := o.candidates(s, q.OwnerID, inFilter, bound)
	text := []byte(strings.ToLower(strings.TrimSpace(q.Text)))
	limit := limitOf(q.Limit)
	res.Items = make([]CaseView, 0, min(limit, int(bound)))
	var access domain.AccessList // the candidate's, reused
	for {
		seq, ok := it.next()
		if !ok {
			break
		}
		if k := o.class[seq]; k < 0 || !inFilter[k] {
			continue
		}
		inTitle, inDesc := o.matches(seq, text)
		if !inTitle && !inDesc {
			continue
		}
		entry := o.entry(seq)
		if q.OwnerID != uuid.Nil && entry.ownerID != q.OwnerID {
			continue
		}
		access = c.accessOf(entry, access[:0])
		cs := c.caseOf(entry, access)
		if !domain.CanList(s, cs, now) || (!inTitle && !domain.CanView(s, cs, now)) {
			continue // a description is searched only for who may read it
		}
		if len(res.Items) == limit {
			res.NextCursor = cursorOf(res.Items[limit-1].ID)
			return res, nil
		}
		res.Items = append(res.Items, c.view(entry))
	}
	return res, nil
}

// candidates returns, newest first and below bound, a superset of the
// cases s may list among the classes in inFilter (and owned by owner when
// it is set). For a class the role lists as all, every case of the class is
// a candidate; otherwise only the cases s owns and those with an entry for
// s or one of its groups.
func (o *orgCases) candidates(s domain.Subject, owner uuid.UUID, inFilter [3]bool, bound int32) seqIter {
	if owner != uuid.Nil {
		return newSliceIter(o.byOwner[owner], bound)
	}
	var scan []bitmap
	indexed := false // a class in the filter is not listed as all
	for k, class := range classes {
		if !inFilter[k] {
			continue
		}
		if s.Permissions.Cases.List.For(class) == domain.ListAll {
			scan = append(scan, o.byClass[k])
		} else {
			indexed = true
		}
	}
	var its []seqIter
	if len(scan) > 0 {
		its = append(its, newBitmapIter(scan, bound))
	}
	if indexed {
		its = append(its, newSliceIter(o.byOwner[s.UserID], bound),
			newSliceIter(o.byPrincipal[domain.UserPrincipal(s.UserID)], bound))
		for _, g := range s.Groups {
			its = append(its, newSliceIter(o.byPrincipal[domain.GroupPrincipal(g)], bound))
		}
	}
	if len(its) == 1 {
		return its[0]
	}
	return newMergeIter(its)
}

// cursorOf returns the cursor that continues after case id.
func cursorOf(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// parseCursor returns the seq of the case a cursor names, which s must be
// allowed to list at now.
func (c *Cases) parseCursor(cursor string, s domain.Subject, now time.Time) (int32, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) != len(uuid.UUID{}) {
		return 0, ErrInvalidCursor
	}
	ref, ok := c.cases[uuid.UUID(raw)]
	if !ok {
		return 0, ErrInvalidCursor
	}
	if !domain.CanList(s, c.state(c.at(ref)), now) {
		return 0, ErrInvalidCursor
	}
	return ref.seq, nil
}

// seqIter yields seqs in descending order, each at most once.
type seqIter interface {
	next() (int32, bool)
}

// sliceIter walks an ascending slice backwards from below a bound.
type sliceIter struct {
	s []int32
	i int // the next index to yield, -1 when done
}

func newSliceIter(s []int32, bound int32) *sliceIter {
	i, _ := slices.BinarySearch(s, bound)
	return &sliceIter{s: s, i: i - 1}
}

func (it *sliceIter) next() (int32, bool) {
	if it.i < 0 {
		return 0, false
	}
	v := it.s[it.i]
	it.i--
	return v, true
}

// bitmapIter walks the union of bitmaps backwards from below a bound.
type bitmapIter struct {
	maps []bitmap
	w    int    // the current word
	cur  uint64 // its bits not yet yielded
}

func newBitmapIter(maps []bitmap, bound int32) *bitmapIter {
	it := &bitmapIter{maps: maps, w: int(bound-1) >> 6}
	if bound <= 0 {
		it.w = -1
		return it
	}
	it.cur = it.word(it.w)
	if n := uint(bound) - uint(it.w)*64; n < 64 {
		it.cur &= 1<<n - 1
	}
	return it
}

func (it *bitmapIter) word(w int) uint64 {
	var x uint64
	for _, m := range it.maps {
		if w < len(m) {
			x |= m[w]
		}
	}
	return x
}

func (it *bitmapIter) next() (int32, bool) {
	for it.cur == 0 {
		if it.w <= 0 {
			it.w = -1
			return 0, false
		}
		it.w--
		it.cur = it.word(it.w)
	}
	b := 63 - bits.LeadingZeros64(it.cur)
	it.cur &^= 1 << uint(b)
	return int32(it.w*64 + b), true
}

// mergeIter merges descending iterators into one, without repeats.
type mergeIter struct {
	its   []seqIter
	heads []int32 // -1: exhausted
}

func newMergeIter(its []seqIter) *mergeIter {
	m := &mergeIter{its: its, heads: make([]int32, len(its))}
	for i := range its {
		m.advance(i)
	}
	return m
}

func (m *mergeIter) advance(i int) {
	if v, ok := m.its[i].next(); ok {
		m.heads[i] = v
	} else {
		m.heads[i] = -1
	}
}

func (m *mergeIter) next() (int32, bool) {
	top := int32(-1)
	for _, h := range m.heads {
		top = max(top, h)
	}
	if top < 0 {
		return 0, false
	}
	for i, h := range m.heads {
		if h == top {
			m.advance(i)
		}
	}
	return top, true
}
