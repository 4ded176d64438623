package projections

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
)

// CasesName is the name of the Cases projection.
const CasesName = "cases"

// CaseView is a case as the read model holds it: its domain state, when it
// was created and last changed, and the revision of its stream's last event.
type CaseView struct {
	domain.Case
	// CreatedAt is the recorded-at of CaseCreated.
	CreatedAt time.Time
	// UpdatedAt is the recorded-at of the last event of the case's stream.
	UpdatedAt time.Time
	// Revision is the revision of the last event of the case's stream.
	Revision eventstore.Revision
}

// Cases is the read model of every case: its state folded with
// domain.Case.Evolve from every event of its stream, and the indexes case
// search needs (search.go).
//
// Queries return values whose slices are copies, so a caller may change
// them freely.
type Cases struct {
	cases    map[uuid.UUID]*caseEntry
	evidence map[uuid.UUID]uuid.UUID // evidence id → the case holding it
	orgs     map[uuid.UUID]*orgCases
}

// caseEntry is one case.
type caseEntry struct {
	view CaseView
	seq  int32 // the case's place in its organization, in creation order
}

// orgCases indexes an organization's cases for search. Every index holds
// sequence numbers (caseEntry.seq): the log order of CaseCreated, which is
// creation order, so a higher number is a newer case.
type orgCases struct {
	all []*caseEntry // by seq
	// What search filters on first, by seq, kept beside all so that a scan
	// reads memory in order: the class (classIndex, -1 for none), and where
	// text holds the lower-cased title and description.
	class []int8
	texts []textSpan
	// text holds the lower-cased titles and descriptions, one after the
	// other, in one buffer without pointers: no heap objects for the
	// collector to mark, two a case as strings. An edit appends the new text
	// and leaves the old in place.
	text []byte
	// byClass has a bit per seq for the cases currently in each class.
	byClass [3]bitmap
	// byOwner holds, per owner, the seqs of the cases it owns, ascending.
	byOwner map[uuid.UUID][]int32
	// byPrincipal holds, per principal, the seqs of the cases whose own list
	// has an entry for it (active or expired but not yet recorded),
	// ascending. Entries on evidence lists never make a case listable.
	byPrincipal map[domain.Principal][]int32
}

var _ Projection = (*Cases)(nil)

// NewCases returns an empty Cases. As a Factory:
// func() Projection { return NewCases() }.
func NewCases() *Cases {
	return &Cases{
		cases:    map[uuid.UUID]*caseEntry{},
		evidence: map[uuid.UUID]uuid.UUID{},
		orgs:     map[uuid.UUID]*orgCases{},
	}
}

// Name returns "cases".
func (c *Cases) Name() string { return CasesName }

// Version returns 1.
func (c *Cases) Version() int { return 1 }

// Apply folds every event of a case-<id> stream into that case with
// domain.Case.Evolve (events it does not know leave the case as it was) and
// keeps the search indexes in step. Other streams are ignored. An event on a
// case stream before its CaseCreated, or a second CaseCreated, means the log
// is inconsistent: Apply returns an error and the projection stops there.
func (c *Cases) Apply(env eventstore.Envelope, e domain.Event) error {
	id, ok := caseOfStream(env.Stream)
	if !ok {
		return nil
	}
	entry, exists := c.cases[id]
	if created, ok := e.(domain.CaseCreated); ok {
		if exists {
			return fmt.Errorf("case %s created twice", id)
		}
		c.create(env, id, created)
		return nil
	}
	if !exists {
		return fmt.Errorf("%s on case %s before CaseCreated", e.EventType(), id)
	}
	old := entry.view.Case
	next := old.Evolve(e)
	if next.Title != old.Title || next.Description != old.Description {
		next.Title, next.Description = together(next.Title, next.Description)
	}
	entry.view.Case = next
	entry.view.UpdatedAt, entry.view.Revision = env.RecordedAt, env.Revision
	c.reindex(entry, old, next, e)
	return nil
}

// caseOfStream returns the case id of a case-<id> stream, where <id> is
// the canonical form domain.CaseStream writes: 36 characters, lower case.
// (uuid.Parse also takes upper case, braces, a urn: prefix and no hyphens.)
func caseOfStream(stream string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(stream, "case-")
	if !ok || len(rest) != 36 || strings.ContainsAny(rest, "ABCDEF") {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest)
	if err != nil {
		return uuid.Nil, false
	}
	return id, true
}

func (c *Cases) create(env eventstore.Envelope, id uuid.UUID, e domain.CaseCreated) {
	state := domain.Case{}.Evolve(e)
	state.Title, state.Description = together(state.Title, state.Description)
	o := c.orgs[state.OrgID]
	if o == nil {
		o = &orgCases{byOwner: map[uuid.UUID][]int32{}, byPrincipal: map[domain.Principal][]int32{}}
		c.orgs[state.OrgID] = o
	}
	entry := &caseEntry{
		view: CaseView{Case: state, CreatedAt: env.RecordedAt, UpdatedAt: env.RecordedAt, Revision: env.Revision},
		seq:  int32(len(o.all)),
	}
	o.all = append(o.all, entry)
	o.texts = append(o.texts, textSpan{})
	o.setText(entry.seq, state.Title, state.Description)
	o.class = append(o.class, -1)
	c.cases[id] = entry
	if k, ok := classIndex(state.AccessClass); ok {
		o.byClass[k].set(entry.seq)
		o.class[entry.seq] = int8(k)
	}
	o.byOwner[state.OwnerID] = insertSeq(o.byOwner[state.OwnerID], entry.seq)
	for _, en := range state.Access {
		o.byPrincipal[en.Principal] = insertSeq(o.byPrincipal[en.Principal], entry.seq)
	}
}

// together returns title and description in one allocation: one heap
// object a case for the collector to mark instead of two (the decoder
// allocates each string on its own).
func together(title, desc string) (string, string) {
	both := title + desc
	return both[:len(title)], both[len(title):]
}

// textSpan is where orgCases.text holds a case's title (from start) and
// description (right after it).
type textSpan struct {
	start             int
	titleLen, descLen int32
}

// setText records the case seq's title and description, lower-cased, at the
// end of o.text.
func (o *orgCases) setText(seq int32, title, desc string) {
	start := len(o.text)
	o.text = append(o.text, strings.ToLower(title)...)
	mid := len(o.text)
	o.text = append(o.text, strings.ToLower(desc)...)
	o.texts[seq] = textSpan{start: start, titleLen: int32(mid - start), descLen: int32(len(o.text) - mid)}
}

// matches reports whether the case seq's title or description contains
// text (lower-cased).
func (o *orgCases) matches(seq int32, text []byte) bool {
	t := o.texts[seq]
	mid := t.start + int(t.titleLen)
	return bytes.Contains(o.text[t.start:mid], text) || bytes.Contains(o.text[mid:mid+int(t.descLen)], text)
}

// reindex brings the indexes from old to next, the state after e.
func (c *Cases) reindex(entry *caseEntry, old, next domain.Case, e domain.Event) {
	o := c.orgs[next.OrgID]
	seq := entry.seq
	if old.AccessClass != next.AccessClass {
		if k, ok := classIndex(old.AccessClass); ok {
			o.byClass[k].clear(seq)
		}
		o.class[seq] = -1
		if k, ok := classIndex(next.AccessClass); ok {
			o.byClass[k].set(seq)
			o.class[seq] = int8(k)
		}
	}
	if old.OwnerID != next.OwnerID {
		o.byOwner[old.OwnerID] = deleteSeq(o.byOwner[old.OwnerID], seq)
		if len(o.byOwner[old.OwnerID]) == 0 {
			delete(o.byOwner, old.OwnerID)
		}
		o.byOwner[next.OwnerID] = insertSeq(o.byOwner[next.OwnerID], seq)
	}
	if old.Title != next.Title || old.Description != next.Description {
		o.setText(seq, next.Title, next.Description)
	}
	for _, en := range old.Access {
		if _, on := next.Access.Find(en.Principal); !on {
			o.byPrincipal[en.Principal] = deleteSeq(o.byPrincipal[en.Principal], seq)
			if len(o.byPrincipal[en.Principal]) == 0 {
				delete(o.byPrincipal, en.Principal)
			}
		}
	}
	for _, en := range next.Access {
		if _, on := old.Access.Find(en.Principal); !on {
			o.byPrincipal[en.Principal] = insertSeq(o.byPrincipal[en.Principal], seq)
		}
	}
	switch e := e.(type) {
	case domain.EvidenceAdded:
		if _, in := next.Item(e.EvidenceID); in {
			c.evidence[e.EvidenceID] = next.ID
		}
	case domain.EvidenceRemoved:
		if c.evidence[e.EvidenceID] == next.ID {
			delete(c.evidence, e.EvidenceID)
		}
	}
}

// Case returns the case with id. The caller decides whether its subject may
// see it (domain.CanList, CanView).
func (c *Cases) Case(id uuid.UUID) (CaseView, bool) {
	entry, ok := c.cases[id]
	if !ok {
		return CaseView{}, false
	}
	return entry.copyView(), true
}

// CaseOfEvidence returns the case that holds evidence item evidenceID now;
// false for an unknown item or one removed from its case.
func (c *Cases) CaseOfEvidence(evidenceID uuid.UUID) (uuid.UUID, bool) {
	id, ok := c.evidence[evidenceID]
	return id, ok
}

// copyView returns the entry's view with every slice copied.
func (entry *caseEntry) copyView() CaseView {
	v := entry.view
	v.Folders = slices.Clone(v.Folders)
	v.Access = slices.Clone(v.Access)
	v.Evidence = slices.Clone(v.Evidence)
	for i := range v.Evidence {
		v.Evidence[i].Access = slices.Clone(v.Evidence[i].Access)
	}
	return v
}

// classIndex returns the index of class in orgCases.byClass.
func classIndex(class domain.AccessClass) (int, bool) {
	switch class {
	case domain.Unrestricted:
		return 0, true
	case domain.Restricted:
		return 1, true
	case domain.Confidential:
		return 2, true
	}
	return 0, false
}

// classes lists the three classes in classIndex order.
var classes = [3]domain.AccessClass{domain.Unrestricted, domain.Restricted, domain.Confidential}

// insertSeq returns s, ascending, with seq in it.
func insertSeq(s []int32, seq int32) []int32 {
	i, found := slices.BinarySearch(s, seq)
	if found {
		return s
	}
	return slices.Insert(s, i, seq)
}

// deleteSeq returns s without seq.
func deleteSeq(s []int32, seq int32) []int32 {
	i, found := slices.BinarySearch(s, seq)
	if !found {
		return s
	}
	return slices.Delete(s, i, i+1)
}

// bitmap is a set of seqs.
type bitmap []uint64

func (b *bitmap) set(seq int32) {
	w := int(seq >> 6)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b))...)
	}
	(*b)[w] |= 1 << (uint(seq) & 63)
}

func (b *bitmap) clear(seq int32) {
	if w := int(seq >> 6); w < len(*b) {
		(*b)[w] &^= 1 << (uint(seq) & 63)
	}
}
