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
	cases    map[uuid.UUID]caseRef
	evidence map[uuid.UUID]uuid.UUID // evidence id → the case holding it
	orgs     map[uuid.UUID]*orgCases
	orgList  []*orgCases // by orgCases.idx
	// strs holds the classes, principal types and access levels the
	// entries refer to.
	strs strtab
}

// caseRef is where a case's entry is: its organization's orgCases.idx and
// its seq there.
type caseRef struct {
	org, seq int32
}

// caseEntry is one case, held in its organization's chunks. The fields with
// pointers come first, because the collector scans an object only up to
// its last pointer; times are instants and strings indexes into
// Cases.strs. An entry's slices are never changed in place (Evolve copies
// them), so a domain.Case may share them.
type caseEntry struct {
	text     string // the title, then the description, in one allocation
	access   []storedAccessEntry
	folders  []domain.Folder
	evidence []domain.EvidenceItem

	titleLen             int32
	class                uint32
	id, orgID, ownerID   uuid.UUID
	createdAt, updatedAt instant
	revision             eventstore.Revision
}

// storedAccessEntry is a domain.AccessEntry without pointers.
type storedAccessEntry struct {
	principal            uuid.UUID
	grantedBy            uuid.UUID
	expiresAt, grantedAt instant
	principalType, level uint32
}

// chunkBits sets how many entries a chunk holds: an organization's entries
// grow a chunk at a time and never move, so that a growing organization
// copies nothing.
const (
	chunkBits = 7
	chunkSize = 1 << chunkBits
)

// orgCases indexes an organization's cases for search. Every index holds
// sequence numbers (seqs): the log order of CaseCreated, which is creation
// order, so a higher number is a newer case.
type orgCases struct {
	idx    int32 // in Cases.orgList
	n      int32 // cases, the next seq
	chunks []*[chunkSize]caseEntry
	// What search filters on first, by seq, kept apart so that a scan
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

// entry returns the entry of case seq.
func (o *orgCases) entry(seq int32) *caseEntry {
	return &o.chunks[seq>>chunkBits][seq&(chunkSize-1)]
}

var _ Projection = (*Cases)(nil)

// NewCases returns an empty Cases. As a Factory:
// func() Projection { return NewCases() }.
func NewCases() *Cases {
	return &Cases{
		cases:    map[uuid.UUID]caseRef{},
		evidence: map[uuid.UUID]uuid.UUID{},
		orgs:     map[uuid.UUID]*orgCases{},
		strs:     newStrtab(),
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
	ref, exists := c.cases[id]
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
	o := c.orgList[ref.org]
	entry := o.entry(ref.seq)
	old := c.state(entry)
	next := old.Evolve(e)
	c.store(entry, old, next)
	entry.updatedAt, entry.revision = instantOf(env.RecordedAt), env.Revision
	c.reindex(o, ref.seq, old, next, e)
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
	o := c.orgs[state.OrgID]
	if o == nil {
		o = &orgCases{idx: int32(len(c.orgList)), byOwner: map[uuid.UUID][]int32{}, byPrincipal: map[domain.Principal][]int32{}}
		c.orgs[state.OrgID] = o
		c.orgList = append(c.orgList, o)
	}
	seq := o.n
	if int(seq>>chunkBits) == len(o.chunks) {
		o.chunks = append(o.chunks, new([chunkSize]caseEntry))
	}
	o.n++
	entry := o.entry(seq)
	*entry = caseEntry{id: state.ID, orgID: state.OrgID, createdAt: instantOf(env.RecordedAt)}
	c.store(entry, domain.Case{}, state)
	entry.updatedAt, entry.revision = entry.createdAt, env.Revision
	o.texts = append(o.texts, textSpan{})
	o.setText(seq, state.Title, state.Description)
	o.class = append(o.class, -1)
	c.cases[id] = caseRef{org: o.idx, seq: seq}
	if k, ok := classIndex(state.AccessClass); ok {
		o.byClass[k].set(seq)
		o.class[seq] = int8(k)
	}
	o.byOwner[state.OwnerID] = insertSeq(o.byOwner[state.OwnerID], seq)
	for _, en := range state.Access {
		o.byPrincipal[en.Principal] = insertSeq(o.byPrincipal[en.Principal], seq)
	}
}

// store brings entry from old to next, the case's state after an event:
// what changed is stored anew, what did not is kept.
func (c *Cases) store(entry *caseEntry, old, next domain.Case) {
	if next.Title != old.Title || next.Description != old.Description {
		entry.text, entry.titleLen = next.Title+next.Description, int32(len(next.Title))
	}
	entry.ownerID = next.OwnerID
	entry.class = c.strs.id(string(next.AccessClass))
	if !sameAccess(old.Access, next.Access) {
		entry.access = make([]storedAccessEntry, len(next.Access))
		for i, en := range next.Access {
			entry.access[i] = storedAccessEntry{principal: en.Principal.ID, grantedBy: en.GrantedBy,
				expiresAt: instantOf(en.ExpiresAt), grantedAt: instantOf(en.GrantedAt),
				principalType: c.strs.id(string(en.Principal.Type)), level: c.strs.id(string(en.Level))}
		}
	}
	entry.folders, entry.evidence = next.Folders, next.Evidence
}

// sameAccess reports whether a and b hold the same entries in the same order.
func sameAccess(a, b domain.AccessList) bool {
	return slices.EqualFunc(a, b, func(x, y domain.AccessEntry) bool {
		return x.Principal == y.Principal && x.Level == y.Level && x.GrantedBy == y.GrantedBy &&
			x.ExpiresAt.Equal(y.ExpiresAt) && x.GrantedAt.Equal(y.GrantedAt)
	})
}

// accessOf appends entry's access list to buf.
func (c *Cases) accessOf(entry *caseEntry, buf domain.AccessList) domain.AccessList {
	for _, en := range entry.access {
		buf = append(buf, domain.AccessEntry{
			Principal: domain.Principal{Type: domain.PrincipalType(c.strs.str(en.principalType)), ID: en.principal},
			Level:     domain.AccessLevel(c.strs.str(en.level)), ExpiresAt: en.expiresAt.time(),
			GrantedBy: en.grantedBy, GrantedAt: en.grantedAt.time(),
		})
	}
	return buf
}

// state returns entry's case with a fresh copy of its access list. Its
// folders and evidence are the entry's own: the caller must not change
// them.
func (c *Cases) state(entry *caseEntry) domain.Case {
	return c.caseOf(entry, c.accessOf(entry, nil))
}

// at returns the entry ref names.
func (c *Cases) at(ref caseRef) *caseEntry { return c.orgList[ref.org].entry(ref.seq) }

// caseOf returns entry's case with access as its access list. Its folders
// and evidence are the entry's own: the caller must not change them.
func (c *Cases) caseOf(entry *caseEntry, access domain.AccessList) domain.Case {
	return domain.Case{
		ID: entry.id, OrgID: entry.orgID, OwnerID: entry.ownerID,
		Title: entry.text[:entry.titleLen], Description: entry.text[entry.titleLen:],
		AccessClass: domain.AccessClass(c.strs.str(entry.class)),
		Folders:     entry.folders, Evidence: entry.evidence, Access: access,
	}
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

// matches reports whether the case seq's title, and else its description,
// contains text (lower-cased); an empty text is in the title.
func (o *orgCases) matches(seq int32, text []byte) (inTitle, inDesc bool) {
	t := o.texts[seq]
	mid := t.start + int(t.titleLen)
	if bytes.Contains(o.text[t.start:mid], text) {
		return true, false
	}
	return false, bytes.Contains(o.text[mid:mid+int(t.descLen)], text)
}

// reindex brings the indexes of o from old to next, the state of case seq
// after e.
func (c *Cases) reindex(o *orgCases, seq int32, old, next domain.Case, e domain.Event) {
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
	ref, ok := c.cases[id]
	if !ok {
		return CaseView{}, false
	}
	return c.view(c.at(ref)), true
}

// CaseOfEvidence returns the case that holds evidence item evidenceID now;
// false for an unknown item or one removed from its case.
func (c *Cases) CaseOfEvidence(evidenceID uuid.UUID) (uuid.UUID, bool) {
	id, ok := c.evidence[evidenceID]
	return id, ok
}

// view returns entry as a CaseView whose slices are copies.
func (c *Cases) view(entry *caseEntry) CaseView {
	v := CaseView{Case: c.state(entry),
		CreatedAt: entry.createdAt.time(), UpdatedAt: entry.updatedAt.time(), Revision: entry.revision}
	v.Folders = slices.Clone(v.Folders)
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
