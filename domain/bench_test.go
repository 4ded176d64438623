package domain_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/custodian/custodian/domain"
)

// benchCase is a restricted case with 100 evidence items and an access list
// of 30 entries (users and groups, some expired).
func benchCase() domain.Case {
	events := []domain.Event{created(domain.Restricted)}
	for i := range 100 {
		events = append(events, added(id(fmt.Sprint("bench-ev-", i)), domain.Restricted, bob))
	}
	var entries []domain.AccessEntry
	for i := range 30 {
		p := domain.UserPrincipal(id(fmt.Sprint("bench-user-", i)))
		if i%3 == 0 {
			p = domain.GroupPrincipal(id(fmt.Sprint("bench-group-", i)))
		}
		expires := time.Time{}
		if i%5 == 0 {
			expires = hours(-1)
		}
		entries = append(entries, entry(p, domain.LevelView, expires))
	}
	return caseOf(append(events, granted(entries...))...)
}

// BenchmarkCanView measures one view decision (target: at most 1 µs).
// "denied" scans the whole list for a subject in 8 groups and finds nothing,
// the slowest path; "last group entry" is granted by the list's last group.
func BenchmarkCanView(b *testing.B) {
	kase := benchCase()
	groups := make([]uuid.UUID, 8)
	for i := range groups {
		groups[i] = id(fmt.Sprint("other-group-", i))
	}
	cases := []struct {
		name string
		s    domain.Subject
		want bool
	}{
		{"role", user(alice, orgA, domain.AdministratorPermissions()), true},
		{"last group entry", user(carol, orgA, domain.Permissions{}, append(groups[:7:7], id("bench-group-27"))...), true},
		{"denied", user(carol, orgA, investigator(), groups...), false},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			if domain.CanView(bc.s, kase, t0) != bc.want {
				b.Fatalf("CanView = %v, want %v", !bc.want, bc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				domain.CanView(bc.s, kase, t0)
			}
		})
	}
}
