package projections_test

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/google/uuid"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/projections"
)

// BenchmarkReadModelsHeap: what the read models cost the garbage collector
// after the command load of tests.BenchmarkLoadCommands (64 officers, each
// case created and then put on one colleague's list): the live heap, the
// part of it the collector must scan for pointers, and the heap objects,
// per case; and the time of a full collection, a loop iteration. The
// collector's mark work grows with the scanned bytes and the objects, and
// under load it is what makes the server's latency tail (docs/benchmarks.md).
func BenchmarkReadModelsHeap(b *testing.B) {
	const officers, cases = 64, 35_200
	var models []projections.Projection
	for _, f := range projections.ReadModels() {
		models = append(models, f())
	}
	w := newWorld(b, models...)
	w.keepLog = false
	org, admin := w.org("Load PD")
	role := w.role(admin, "Officer", perms([3]domain.ListScope{domain.ListOwn}, allowAll, worker...))
	users := make([]uuid.UUID, officers)
	for i := range users {
		users[i] = w.user(admin, fmt.Sprint("officer-", i), role, "")
	}
	subjects := make([]domain.Subject, officers)
	for i, u := range users {
		subjects[i] = w.subject(u)
	}
	before := heapFigures()
	for i := range cases {
		c, k := i%officers, uuid.Must(uuid.NewV7())
		stream := domain.CaseStream(k)
		exec[domain.Case](w, stream, users[c], domain.CreateCase{CaseID: k, Title: "Burglary at 12 Elm St",
			Description: "Rear window forced.", OwnerID: users[c], OwnerOrgID: org, Actor: subjects[c], Now: w.now})
		exec[domain.Case](w, stream, users[c], domain.GrantAccess{CaseID: k, Grants: []domain.Grant{{
			Principal: domain.UserPrincipal(users[(c+i)%officers]), PrincipalOrgID: org, Level: domain.LevelView}},
			Actor: subjects[c], Now: w.now})
		delete(w.streams, stream) // the world's copy is not the read models'
		if i%1000 == 0 {
			w.tick()
		}
	}
	after := heapFigures()
	for b.Loop() {
		runtime.GC()
	}
	per := func(after, before uint64) float64 { return (float64(after) - float64(before)) / cases }
	b.ReportMetric(per(after.live, before.live), "live-B/case")
	b.ReportMetric(per(after.scan, before.scan), "scan-B/case")
	b.ReportMetric(per(after.objects, before.objects), "objects/case")
	runtime.KeepAlive(models)
}

type heapFigure struct{ live, scan, objects uint64 }

// heapFigures collects twice (so that what the first freed is swept) and
// reads the heap's figures as the last collection left them.
func heapFigures() heapFigure {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/heap:bytes"}, {Name: "/gc/heap/objects:objects"}}
	metrics.Read(s)
	return heapFigure{s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()}
}
