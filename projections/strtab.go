package projections

import "strings"

// strtab holds strings once each, for read models that keep many records
// without pointers (Notifications, Cases): a record holds a string's index,
// and the table holds the string. Index 0 is "".
//
// A string of the log is copied into the table: an envelope's strings
// share the memory of its whole encoded event (eventstore.DecodeCanonical),
// which would otherwise stay alive as long as the read model.
type strtab struct {
	strs  []string
	index map[string]uint32
}

func newStrtab() strtab {
	return strtab{strs: []string{""}, index: map[string]uint32{"": 0}}
}

// id returns the index of s, adding a copy of s if it is new.
func (t *strtab) id(s string) uint32 {
	if i, ok := t.index[s]; ok {
		return i
	}
	c := strings.Clone(s)
	i := uint32(len(t.strs))
	t.strs = append(t.strs, c)
	t.index[c] = i
	return i
}

// str returns the string at index i.
func (t *strtab) str(i uint32) string { return t.strs[i] }
