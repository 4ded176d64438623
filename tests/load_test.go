package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/eventstore/embedded"
)

// The load benchmarks drive the running binary over HTTP from this process
// (a bounded load generator on loopback) and report rates and latencies
// with ReportMetric. They are one-shot measurements: run them with
// -benchtime 1x, as make bench does. Each reports a reference measured in the
// same run where the issue asks for one.

// sample is one operation of a load: when it was due (when it started, in
// a closed loop) and how long it took from then.
type sample struct {
	due  time.Time
	took time.Duration
}

// quantile returns the p-quantile of the samples' latencies in
// milliseconds.
func quantile(ss []sample, p float64) float64 {
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = s.took
	}
	slices.Sort(ds)
	return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000
}

// writeTimeline writes the samples to the file TESTS_LATENCY_TIMELINE names,
// when it is set: a line an operation, "due latency" in microseconds (due
// as Unix time), in the order they were due. It is for lining latency
// spikes up with what the server did at the time, such as its collections
// (GODEBUG=gctrace=1 counts from the process start; the server's first log
// line has the time).
func writeTimeline(b *testing.B, ss []sample) {
	path := os.Getenv("TESTS_LATENCY_TIMELINE")
	if path == "" {
		return
	}
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(x, y sample) int { return x.due.Compare(y.due) })
	var out []byte
	for _, s := range ss {
		out = strconv.AppendInt(out, s.due.UnixMicro(), 10)
		out = append(out, ' ')
		out = strconv.AppendInt(out, s.took.Microseconds(), 10)
		out = append(out, '\n')
	}
	require.NoError(b, os.WriteFile(path, out, 0o644))
}

// runClients runs n clients doing per operations each, each operation as
// soon as the client's last one answered (a closed loop: the rate is what
// the server sustains), and returns every operation's latency and the wall
// time. An operation's error fails the benchmark.
func runClients(b *testing.B, n, per int, op func(client, i int) error) ([]sample, time.Duration) {
	return drive(b, n, per, nil, op)
}

// runPaced runs n clients doing per operations each at a fixed offered rate
// (an open loop, the way a latency target at a given rate is measured):
// client c's i-th operation is due at start + (i·n + c)/rate, and its latency
// counts from then, so a server that falls behind is charged for the
// operations that waited on it (no coordinated omission).
func runPaced(b *testing.B, n, per int, rate float64, op func(client, i int) error) ([]sample, time.Duration) {
	start := time.Now().Add(10 * time.Millisecond)
	interval := float64(time.Second) / rate
	return drive(b, n, per, func(c, i int) time.Time {
		return start.Add(time.Duration(float64(i*n+c) * interval))
	}, op)
}

// drive runs the clients; due, when not nil, schedules each operation.
func drive(b *testing.B, n, per int, due func(client, i int) time.Time, op func(client, i int) error) ([]sample, time.Duration) {
	var mu sync.Mutex
	var all []sample
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			mine := make([]sample, 0, per)
			for i := 0; i < per; i++ {
				t0 := time.Now()
				if due != nil {
					t0 = due(c, i)
					time.Sleep(time.Until(t0))
				}
				if err := op(c, i); err != nil {
					failed.Store(err)
					return
				}
				mine = append(mine, sample{due: t0, took: time.Since(t0)})
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return all, time.Since(start)
}

// expect sends a request and returns an error unless it answers status.
func (s *server) expect(status int, sub, method, path string, body any) (response, error) {
	r, err := s.try(sub, method, path, body)
	if err != nil {
		return r, err
	}
	if r.Status != status {
		return r, fmt.Errorf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r, nil
}

// leanConn is one load client's keep-alive HTTP/1.1 connection. The
// generator shares the machine's two cores with the server, so it spends as
// little as it can: one write of a pre-built request, the answer parsed by
// net/http, and its body decoded only for the one field the caller wants.
// (net/http's Client costs three times the CPU a request: a pool, and two
// goroutines a connection that hand every request and answer on.)
type leanConn struct {
	s    *server
	conn net.Conn
	br   *bufio.Reader
	req  []byte
	body []byte
}

// do sends one request as sub and requires status; want, when not nil,
// receives the answer's "id".
func (l *leanConn) do(status int, sub, method, path string, body []byte, want *string) error {
	if l.conn == nil {
		conn, err := net.Dial("tcp", l.s.addr)
		if err != nil {
			return err
		}
		l.conn, l.br = conn, bufio.NewReader(conn)
	}
	l.req = append(l.req[:0], method...)
	l.req = append(l.req, ' ')
	l.req = append(l.req, path...)
	l.req = append(l.req, " HTTP/1.1\r\nHost: "...)
	l.req = append(l.req, l.s.addr...)
	l.req = append(l.req, "\r\nAuthorization: Bearer "...)
	l.req = append(l.req, l.s.token(sub)...)
	l.req = append(l.req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	l.req = strconv.AppendInt(l.req, int64(len(body)), 10)
	l.req = append(l.req, "\r\n\r\n"...)
	l.req = append(l.req, body...)
	if _, err := l.conn.Write(l.req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(l.br, nil)
	if err != nil {
		return err
	}
	l.body = l.body[:0]
	for {
		if len(l.body) == cap(l.body) {
			l.body = slices.Grow(l.body, 512)
		}
		n, err := resp.Body.Read(l.body[len(l.body):cap(l.body)])
		l.body = l.body[:len(l.body)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if resp.Close {
		l.conn.Close()
		l.conn = nil
	}
	if resp.StatusCode != status {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, l.body)
	}
	if want != nil {
		var out struct{ ID string }
		if err := json.Unmarshal(l.body, &out); err != nil {
			return err
		}
		*want = out.ID
	}
	return nil
}

func (l *leanConn) close() {
	if l.conn != nil {
		l.conn.Close()
	}
}

// bareStoreRate measures the embedded store alone in this run: 64 writers
// appending single events to their own streams.
func bareStoreRate(b *testing.B) float64 {
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	require.NoError(b, err)
	defer st.Close()
	const writers, per = 64, 300
	data := json.RawMessage(`{"n":1}`)
	_, wall := runClients(b, writers, per, func(c, i int) error {
		exp := eventstore.ExpectedRevision(eventstore.Exact(eventstore.Revision(i - 1)))
		if i == 0 {
			exp = eventstore.NoStream
		}
		_, err := st.Append(context.Background(), fmt.Sprintf("bench-%d", c), exp,
			eventstore.Event{ID: uuid.Must(uuid.NewV7()), Type: "Bench", Data: data})
		return err
	})
	return float64(writers*per) / wall.Seconds()
}

// BenchmarkLoadCommands: 64 concurrent clients issue durable commands, half
// creating cases and half granting access, against the running binary, each
// as soon as its last one answered: the rate the server sustains, and the
// latencies at that saturation. A warm-up phase comes first and is reported
// apart (warmup-*): see commandLoad.
func BenchmarkLoadCommands(b *testing.B) {
	commandLoad(b, runClients)
}

// BenchmarkLoadCommandsPaced: the same commands offered at 5,000 a second
// (the rate), latencies counted from when each command was due.
func BenchmarkLoadCommandsPaced(b *testing.B) {
	const rate = 5000
	commandLoad(b, func(b *testing.B, n, per int, op func(client, i int) error) ([]sample, time.Duration) {
		return runPaced(b, n, per, rate, op)
	})
}

// commandLoad sets up 64 users and drives their commands with run: first a
// warm-up of 100 commands a client, then the measured 1,000 a client. The
// warm-up is the server's first second under load: a new process whose heap
// is still growing, so the collector runs more often than later, with
// cold caches (a token's first verification, a case's first load) and
// every client's first connection. Its figures are reported apart, as
// warmup-p50-ms and warmup-p99-ms, so that a slow start stays visible
// without deciding the figures of a server that has been running.
func commandLoad(b *testing.B, run func(b *testing.B, n, per int, op func(client, i int) error) ([]sample, time.Duration)) {
	storeRate := bareStoreRate(b)
	s := startServer(b, b.TempDir())
	o := loadOrg(b, s)
	const clients, warm, per = 64, 100, 1000
	users := make([]string, clients)
	for i := range users {
		users[i] = loadUser(b, s, o, fmt.Sprintf("officer-%d", i))
	}
	cases := make([]string, clients)
	create := []byte(`{"title":"Burglary at 12 Elm St","description":"Rear window forced."}`)
	// grants[j] puts user j on a list: each grant in the run adds a new
	// entry (a repeated identical grant would append nothing).
	grants := make([][]byte, clients)
	for j := range grants {
		grants[j], _ = json.Marshal(map[string]any{"entries": []any{userEntry(users[j], "view")}})
	}
	conns := make([]leanConn, clients)
	for c := range conns {
		conns[c].s = s
		defer conns[c].close()
	}
	command := func(c, i int) error {
		if i%2 == 0 {
			return conns[c].do(http.StatusCreated, users[c], "POST", "/v1/cases", create, &cases[c])
		}
		return conns[c].do(http.StatusOK, users[c], "POST", "/v1/cases/"+cases[c]+"/access", grants[(c+i)%clients], nil)
	}
	warmLat, _ := run(b, clients, warm, command)
	serverCPU, loadCPU := cpuTime(b, s.cmd.Process.Pid), cpuTime(b, os.Getpid())
	faults := minorFaults(b, s.cmd.Process.Pid)
	lat, wall := run(b, clients, per, command)
	writeTimeline(b, lat)
	b.ReportMetric(quantile(warmLat, 0.50), "warmup-p50-ms")
	b.ReportMetric(quantile(warmLat, 0.99), "warmup-p99-ms")
	b.ReportMetric(float64(clients*per)/wall.Seconds(), "commands/s")
	b.ReportMetric(quantile(lat, 0.50), "p50-ms")
	b.ReportMetric(quantile(lat, 0.99), "p99-ms")
	b.ReportMetric(storeRate, "bare-store-events/s")
	n := time.Duration(clients * per)
	b.ReportMetric(float64((cpuTime(b, s.cmd.Process.Pid)-serverCPU)/n)/1e3, "server-cpu-µs/cmd")
	b.ReportMetric(float64((cpuTime(b, os.Getpid())-loadCPU)/n)/1e3, "generator-cpu-µs/cmd")
	b.ReportMetric(float64(minorFaults(b, s.cmd.Process.Pid)-faults)/float64(n), "server-page-faults/cmd")
	b.ReportMetric(peakRSS(b, s.cmd.Process.Pid), "server-peak-rss-MB")
}

// cpuTime is the CPU time (user and system) process pid has used, from
// /proc/<pid>/stat, in clock ticks of 10 ms.
func cpuTime(b *testing.B, pid int) time.Duration {
	f := procStat(b, pid)
	return time.Duration(statField(b, f, 14)+statField(b, f, 15)) * 10 * time.Millisecond
}

// minorFaults is how many minor page faults (a page touched for the first
// time, or given back and touched again) process pid has taken.
func minorFaults(b *testing.B, pid int) int64 { return statField(b, procStat(b, pid), 10) }

// procStat returns the fields of /proc/<pid>/stat from the third on.
func procStat(b *testing.B, pid int) []string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(b, err)
	// The command name (field 2) may hold spaces: count from its ")".
	return strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
}

// statField parses field n (numbered from 1, as in proc(5)) of procStat's
// fields.
func statField(b *testing.B, fields []string, n int) int64 {
	v, err := strconv.ParseInt(fields[n-3], 10, 64)
	require.NoError(b, err)
	return v
}

// peakRSS is the most resident memory process pid has had (VmHWM in
// /proc/<pid>/status), in MB.
func peakRSS(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(b, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(b, err)
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// loadOrg sets up an organization through the api, as the operator.
func loadOrg(b *testing.B, s *server) org {
	r, err := s.expect(http.StatusCreated, operatorSub, "POST", "/v1/orgs", map[string]any{"name": "Load PD",
		"admin": map[string]any{"name": "Load Admin", "email": "admin@load.example"}})
	require.NoError(b, err)
	o := org{ID: r.JSON["id"].(string), Admin: r.JSON["adminUserId"].(string)}
	r, err = s.expect(http.StatusCreated, o.Admin, "POST", "/v1/roles", map[string]any{"name": "Officer", "permissions": map[string]any{
		"cases":    map[string]any{"list": map[string]any{"unrestricted": "own"}, "view": map[string]any{"unrestricted": "allow"}},
		"evidence": map[string]any{"list": map[string]any{"unrestricted": "all"}, "view": map[string]any{"unrestricted": "allow"}},
		"actions":  []string{"cases.create", "cases.edit", "evidence.add", "cases.access.manage"},
	}})
	require.NoError(b, err)
	loadRoles[o.ID] = r.JSON["id"].(string)
	return o
}

var loadRoles = map[string]string{}

func loadUser(b *testing.B, s *server, o org, name string) string {
	r, err := s.expect(http.StatusCreated, o.Admin, "POST", "/v1/users", map[string]any{"name": name,
		"email": name + "@load.example", "roleId": loadRoles[o.ID]})
	require.NoError(b, err)
	return r.JSON["id"].(string)
}

// BenchmarkLoadSearch: a user on 50 access lists searches among 100,000
// cases of 10,000 users; its role lists only its own cases, so the lists
// decide what it finds.
func BenchmarkLoadSearch(b *testing.B) {
	s := startServer(b, b.TempDir())
	o := loadOrg(b, s)
	const users, cases, lists = 10_000, 100_000, 50
	start := time.Now()
	ids := make([]string, users)
	_, _ = runClients(b, 16, users/16, func(c, i int) error {
		r, err := s.expect(http.StatusCreated, o.Admin, "POST", "/v1/users", map[string]any{"name": fmt.Sprintf("u%d-%d", c, i),
			"email": fmt.Sprintf("u%d-%d@load.example", c, i), "roleId": loadRoles[o.ID]})
		if err == nil {
			ids[c*(users/16)+i] = r.JSON["id"].(string)
		}
		return err
	})
	caseIDs := make([]string, cases)
	_, _ = runClients(b, 64, cases/64+1, func(c, i int) error {
		n := c*(cases/64+1) + i
		if n >= cases {
			return nil
		}
		r, err := s.expect(http.StatusCreated, ids[n%users], "POST", "/v1/cases", map[string]any{"title": fmt.Sprintf("Case %d", n)})
		if err == nil {
			caseIDs[n] = r.JSON["id"].(string)
		}
		return err
	})
	searcher := ids[0]
	for k := 0; k < lists; k++ {
		n := 1 + k*(cases/lists)
		_, err := s.expect(http.StatusOK, ids[n%users], "POST", "/v1/cases/"+caseIDs[n]+"/access", map[string]any{
			"entries": []any{userEntry(searcher, "view")}})
		require.NoError(b, err)
	}
	b.Logf("set up %d users and %d cases in %s", users, cases, time.Since(start).Round(time.Second))
	found := 0
	lat, wall := runClients(b, 1, 2000, func(_, i int) error {
		r, err := s.expect(http.StatusOK, searcher, "GET", "/v1/cases?limit=100", nil)
		if err == nil {
			items, _ := r.JSON["items"].([]any)
			found = len(items)
		}
		return err
	})
	if found < lists {
		b.Fatalf("the search found %d cases, want at least %d", found, lists)
	}
	b.ReportMetric(float64(len(lat))/wall.Seconds(), "searches/s")
	b.ReportMetric(quantile(lat, 0.50), "p50-ms")
	b.ReportMetric(quantile(lat, 0.99), "p99-ms")
	b.ReportMetric(float64(found), "found")
}

// BenchmarkLoadStartup writes a log of 1,000,000 domain events straight into
// an embedded store (100,000 cases of 10 events), then times custodian serve
// from start to GET /readyz answering 200, and the most memory it held.
func BenchmarkLoadStartup(b *testing.B) {
	dir := b.TempDir()
	fillLog(b, dir, 100_000)
	start := time.Now()
	s := startServer(b, dir)
	ready := time.Since(start)
	r, err := s.expect(http.StatusOK, "", "GET", "/readyz", nil)
	require.NoError(b, err)
	b.ReportMetric(ready.Seconds(), "s-to-ready")
	b.ReportMetric(peakRSS(b, s.cmd.Process.Pid), "peak-rss-MB")
	b.Logf("ready after %s at head %v", ready.Round(time.Millisecond), r.JSON["head"])
}

// fillLog appends an organization, a role, a user and cases×10 events.
func fillLog(b *testing.B, dir string, cases int) {
	st, err := embedded.Open(dir, embedded.Options{})
	require.NoError(b, err)
	defer st.Close()
	ctx := context.Background()
	orgID, roleID, userID := uuid.New(), uuid.New(), uuid.New()
	appendEvents := func(stream string, exp eventstore.ExpectedRevision, evs ...domain.Event) {
		batch := make([]eventstore.Event, len(evs))
		for i, e := range evs {
			data, err := json.Marshal(e)
			require.NoError(b, err)
			batch[i] = eventstore.Event{ID: uuid.Must(uuid.NewV7()), Type: e.EventType(), Data: data,
				Actor: eventstore.Actor{Kind: eventstore.ActorSystem, Name: "load"}}
		}
		_, err := st.Append(ctx, stream, exp, batch...)
		require.NoError(b, err)
	}
	appendEvents(domain.OrganizationStream(orgID), eventstore.NoStream, domain.OrganizationCreated{OrgID: orgID, Name: "Load PD", AdminRoleID: roleID, AdminUserID: userID})
	appendEvents(domain.RoleStream(roleID), eventstore.NoStream, domain.RoleCreated{RoleID: roleID, OrgID: orgID, Name: "Administrator",
		Permissions: domain.AdministratorPermissions(), BuiltIn: true})
	appendEvents(domain.UserStream(userID), eventstore.NoStream, domain.UserCreated{UserID: userID, OrgID: orgID, Name: "Load Admin",
		Email: "admin@load.example", RoleID: roleID, Subject: userID.String()})
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for n := 0; n < cases; n++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(n int) {
			defer wg.Done()
			defer func() { <-sem }()
			c := uuid.New()
			evs := []domain.Event{domain.CaseCreated{CaseID: c, OrgID: orgID, Title: fmt.Sprintf("Case %d", n), OwnerID: userID, AccessClass: domain.Unrestricted}}
			for k := 0; k < 6; k++ {
				evs = append(evs, domain.EvidenceAdded{CaseID: c, EvidenceID: uuid.New(), Title: fmt.Sprintf("Item %d", k), AccessClass: domain.Unrestricted, AddedBy: userID})
			}
			for k := 0; k < 3; k++ {
				evs = append(evs, domain.CaseTitleChanged{CaseID: c, Title: fmt.Sprintf("Case %d rev %d", n, k)})
			}
			appendEvents(domain.CaseStream(c), eventstore.NoStream, evs...)
		}(n)
	}
	wg.Wait()
}
