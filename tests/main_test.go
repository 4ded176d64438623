package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// testSecret is the HS256 secret every server of these tests runs with, so
// that the tests mint their own tokens.
const testSecret = "custodian-black-box-tests-hs256-secret-0123456789"

// operatorSub is the operator subject the servers are started with.
const operatorSub = "operator"

// binPath is the custodian binary TestMain builds once.
var binPath string

// TestMain builds ./cmd/custodian once, without the race detector (it slows
// the embedded SQLite store about twenty times), and runs the tests.
func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "custodian-blackbox-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "custodian")
	if bin := os.Getenv("TESTS_SERVER_BIN"); bin != "" {
		// Performance work: compare server binaries built beforehand in
		// alternating runs of the same test binary.
		binPath = bin
	} else if err := buildServer(binPath); err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildServer builds cmd/custodian to path.
func buildServer(path string) error {
	goTool := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			goTool = p
		}
	}
	build := exec.Command(goTool, "build", "-o", path, "./cmd/custodian")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/custodian: %v\n%s", err, out)
	}
	return nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// server is one running custodian process.
type server struct {
	t       testing.TB
	cmd     *exec.Cmd
	dataDir string
	addr    string
	base    string
	client  *http.Client
	logs    *logLines
	done    chan struct{} // closed when the process has exited
	waitErr error
	killed  bool
	stopped bool

	tokMu  sync.Mutex
	tokens map[string]string

	// allowed5xx are statuses of 500 and above that the test provokes on
	// purpose (stop does not report them).
	allowed5xx map[int]bool
}

// allow5xx tells stop that the test provokes status on purpose.
func (s *server) allow5xx(status int) {
	if s.allowed5xx == nil {
		s.allowed5xx = map[int]bool{}
	}
	s.allowed5xx[status] = true
}

// logLines keeps every line the server wrote to stderr.
type logLines struct {
	mu       sync.Mutex
	lines    []string
	partial  []byte
	listenCh chan string
	sent     bool
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.lines = append(l.lines, line)
		if !l.sent {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				l.sent = true
				l.listenCh <- rec.Addr
			}
		}
	}
	return len(p), nil
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// tail returns the last n lines, for failure messages.
func (l *logLines) tail(n int) string {
	lines := l.all()
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// serverEnv is the environment of a server: the test's, without any
// CUSTODIAN_* or KurrentDB setting, plus ours.
func serverEnv(dataDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CUSTODIAN_") || strings.HasPrefix(kv, "KURRENTDB_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"CUSTODIAN_ADDR=127.0.0.1:0",
		"CUSTODIAN_DATA_DIR="+dataDir,
		"CUSTODIAN_STORE=embedded",
		"CUSTODIAN_JWT_SECRET="+testSecret,
		"CUSTODIAN_OPERATORS="+operatorSub,
		"CUSTODIAN_LOG_LEVEL=info",
	)
}

// startServer runs `custodian serve` on a free port with dataDir, reads the
// bound address from its "listening" log line, waits until GET /readyz
// answers 200, and stops it with SIGTERM when the test ends (requiring a
// clean exit).
func startServer(t testing.TB, dataDir string) *server {
	t.Helper()
	logs := &logLines{listenCh: make(chan string, 1)}
	args := []string{"serve"}
	if prof := os.Getenv("TESTS_SERVER_CPUPROFILE"); prof != "" {
		args = append(args, "--cpuprofile", prof) // performance work: profile the server under a benchmark
	}
	if prof := os.Getenv("TESTS_SERVER_MEMPROFILE"); prof != "" {
		args = append(args, "--memprofile", prof) // its live heap at the end
	}
	cmd := exec.Command(binPath, args...)
	cmd.Env = serverEnv(dataDir)
	cmd.Stdout = io.Discard
	cmd.Stderr = logs
	s := &server{t: t, cmd: cmd, dataDir: dataDir, logs: logs, done: make(chan struct{}), tokens: map[string]string{}}
	require.NoError(t, cmd.Start())
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.stop)

	select {
	case s.addr = <-logs.listenCh:
	case <-s.done:
		t.Fatalf("custodian serve exited before listening: %v\n%s", s.waitErr, logs.tail(40))
	case <-time.After(30 * time.Second):
		t.Fatalf("custodian serve did not log its address within 30 s\n%s", logs.tail(40))
	}
	s.base = "http://" + s.addr
	s.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
	}}

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.client.Get(s.base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-s.done:
			t.Fatalf("custodian serve exited before ready: %v\n%s", s.waitErr, logs.tail(40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz did not answer 200 within 30 s (last error %v)\n%s", err, logs.tail(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// stop sends SIGTERM and requires a clean exit within 20 s; it also fails
// the test if the server logged a panic or answered any request with a 5xx.
func (s *server) stop() {
	t := s.t
	if s.stopped {
		return
	}
	s.stopped = true
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	if !s.killed {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
			if s.waitErr != nil {
				t.Errorf("custodian serve did not exit cleanly on SIGTERM: %v\n%s", s.waitErr, s.logs.tail(20))
			}
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			t.Errorf("custodian serve did not stop within 20 s of SIGTERM\n%s", s.logs.tail(20))
		}
	}
	for _, line := range s.logs.all() {
		var rec struct {
			Msg    string `json:"msg"`
			Status int    `json:"status"`
			Route  string `json:"route"`
			Method string `json:"method"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		notReady := rec.Route == "/readyz" && rec.Status == http.StatusServiceUnavailable // while catching up
		if rec.Msg == "panic" || (rec.Msg == "request" && rec.Status >= 500 && !notReady && !s.allowed5xx[rec.Status]) {
			t.Errorf("server log: %s", line)
		}
	}
}

// kill9 kills the process with SIGKILL, as a crash, and waits for it.
func (s *server) kill9() {
	s.killed = true
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.client.CloseIdleConnections()
}

// token returns a valid HS256 token for sub (cached per server).
func (s *server) token(sub string) string {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	if tok, ok := s.tokens[sub]; ok {
		return tok
	}
	tok := mintToken(sub, time.Now().Add(time.Hour), testSecret)
	s.tokens[sub] = tok
	return tok
}

// mintToken signs an HS256 token for sub expiring at exp (zero: no exp).
func mintToken(sub string, exp time.Time, secret string) string {
	claims := jwt.MapClaims{"sub": sub, "iat": time.Now().Unix()}
	if !exp.IsZero() {
		claims["exp"] = exp.Unix()
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		panic(err)
	}
	return tok
}

// response is one answer of the server.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	// JSON is the body decoded as an object, when it is one.
	JSON map[string]any
}

func (r response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// do sends a request as sub ("" sends no token). body is nil, a string or
// []byte (sent as is), an io.Reader (sent with an unknown length) or a value
// sent as JSON. headers are name, value pairs; an "Authorization" pair
// replaces the token.
func (s *server) do(t *testing.T, sub, method, path string, body any, headers ...string) response {
	t.Helper()
	r, err := s.try(sub, method, path, body, headers...)
	require.NoError(t, err, "%s %s", method, path)
	return r
}

// try is do without a test: it returns transport errors (crash tests).
func (s *server) try(sub, method, path string, body any, headers ...string) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if sub != "" {
		req.Header.Set("Authorization", "Bearer "+s.token(sub))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	out := response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &out.JSON)
	}
	return out, nil
}

// must sends a request and requires the status; it returns the JSON body.
func (s *server) must(t *testing.T, status int, sub, method, path string, body any, headers ...string) map[string]any {
	t.Helper()
	r := s.do(t, sub, method, path, body, headers...)
	require.Equal(t, status, r.Status, "%s %s as %s: %s", method, path, sub, r.Body)
	return r.JSON
}

// head is the store's last position as GET /readyz reports it.
func (s *server) head(t *testing.T) string {
	t.Helper()
	r := s.do(t, "", "GET", "/readyz", nil)
	require.Equal(t, http.StatusOK, r.Status, "readyz: %s", r.Body)
	h, ok := r.JSON["head"].(string)
	require.True(t, ok, "GET /readyz has no head: %s", r.Body)
	return h
}

// parsePosition returns the commit part of a position string ("12" or "12:9").
func parsePosition(p string) (uint64, bool) {
	c, _, _ := strings.Cut(p, ":")
	n, err := strconv.ParseUint(c, 10, 64)
	return n, err == nil
}

// positionNumber is the commit part of a position string ("12" or "12:9").
func positionNumber(t *testing.T, p string) uint64 {
	t.Helper()
	c, _, _ := strings.Cut(p, ":")
	n, err := strconv.ParseUint(c, 10, 64)
	require.NoError(t, err, "position %q", p)
	return n
}

// ---- building an organization through the api ----

// org is an organization created by the operator, with its administrator.
type org struct {
	ID, Admin, AdminRole string
}

func (s *server) newOrg(t *testing.T, name string) org {
	t.Helper()
	out := s.must(t, http.StatusCreated, operatorSub, "POST", "/v1/orgs", map[string]any{"name": name,
		"admin": map[string]any{"name": name + " Admin", "email": "admin@" + slug(name) + ".example", "badgeId": "A-1"}})
	return org{ID: str(out, "id"), Admin: str(out, "adminUserId"), AdminRole: str(out, "adminRoleId")}
}

// newRole creates a role in o and returns its id.
func (s *server) newRole(t *testing.T, o org, name string, permissions map[string]any) string {
	t.Helper()
	return str(s.must(t, http.StatusCreated, o.Admin, "POST", "/v1/roles", map[string]any{"name": name, "permissions": permissions}), "id")
}

// newUser creates a user of o with the role and returns its id (also its
// token subject).
func (s *server) newUser(t *testing.T, o org, name, role string) string {
	t.Helper()
	return str(s.must(t, http.StatusCreated, o.Admin, "POST", "/v1/users", map[string]any{"name": name,
		"email": slug(name) + "@" + o.ID[:8] + ".example", "badgeId": "B-" + slug(name), "roleId": role}), "id")
}

func (s *server) newGroup(t *testing.T, o org, name string) string {
	t.Helper()
	return str(s.must(t, http.StatusCreated, o.Admin, "POST", "/v1/groups", map[string]any{"name": name}), "id")
}

func (s *server) addMember(t *testing.T, o org, group, user string) {
	t.Helper()
	s.must(t, http.StatusOK, o.Admin, "POST", "/v1/groups/"+group+"/members", map[string]any{"userId": user})
}

// newCase creates a case as sub and returns its id.
func (s *server) newCase(t *testing.T, sub string, body map[string]any) string {
	t.Helper()
	out := s.must(t, http.StatusCreated, sub, "POST", "/v1/cases", body)
	id := str(out, "id")
	require.NotEmpty(t, id, "POST /v1/cases answered no id: %v", out)
	return id
}

// addEvidence adds an evidence item to a case as sub and returns its id.
func (s *server) addEvidence(t *testing.T, sub, caseID string, body map[string]any) string {
	t.Helper()
	out := s.must(t, http.StatusCreated, sub, "POST", "/v1/cases/"+caseID+"/evidence", body)
	id := str(out, "id")
	require.NotEmpty(t, id, "POST evidence answered no id: %v", out)
	return id
}

// grant puts entries on a case's list as sub and requires a 2xx.
func (s *server) grant(t *testing.T, sub, caseID string, entries ...map[string]any) {
	t.Helper()
	r := s.do(t, sub, "POST", "/v1/cases/"+caseID+"/access", map[string]any{"entries": entries})
	require.True(t, r.Status/100 == 2, "grant on %s as %s: %s", caseID, sub, r)
}

func userEntry(id, level string) map[string]any {
	return map[string]any{"principal": map[string]any{"type": "user", "id": id}, "level": level}
}

func groupEntry(id, level string) map[string]any {
	return map[string]any{"principal": map[string]any{"type": "group", "id": id}, "level": level}
}

// search runs GET /v1/cases?<query> as sub (every page) and returns the ids
// and ownerFilterLocked of the first page.
func (s *server) search(t *testing.T, sub, query string) ([]string, bool) {
	t.Helper()
	var ids []string
	locked := false
	cursor := ""
	for page := 0; ; page++ {
		require.Less(t, page, 100, "search does not end")
		q := query
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		out := s.must(t, http.StatusOK, sub, "GET", "/v1/cases?"+q, nil)
		if page == 0 {
			l, ok := out["ownerFilterLocked"].(bool)
			require.True(t, ok, "search answer has no boolean ownerFilterLocked: %v", out)
			locked = l
		}
		items, ok := out["items"].([]any)
		require.True(t, ok, "search answer has no items: %v", out)
		for _, it := range items {
			ids = append(ids, str(it.(map[string]any), "id"))
		}
		cursor, _ = out["nextCursor"].(string)
		if cursor == "" {
			return ids, locked
		}
	}
}

// report is GET /v1/reports/cases?<query> as sub: the CSV text.
func (s *server) report(t *testing.T, sub, query string) string {
	t.Helper()
	r := s.do(t, sub, "GET", "/v1/reports/cases?"+query, nil)
	require.Equal(t, http.StatusOK, r.Status, "report: %s", r)
	require.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv"), "report Content-Type %q", r.Header.Get("Content-Type"))
	return string(r.Body)
}

// notifications returns sub's notifications, newest first (first page).
func (s *server) notifications(t *testing.T, sub string) []map[string]any {
	t.Helper()
	out := s.must(t, http.StatusOK, sub, "GET", "/v1/me/notifications", nil)
	items, ok := out["items"].([]any)
	require.True(t, ok, "notifications answer has no items: %v", out)
	var ns []map[string]any
	for _, it := range items {
		ns = append(ns, it.(map[string]any))
	}
	return ns
}

// accessList is GET /v1/cases/{id}/access as sub.
func (s *server) accessList(t *testing.T, sub, caseID string) map[string]any {
	t.Helper()
	return s.must(t, http.StatusOK, sub, "GET", "/v1/cases/"+caseID+"/access", nil)
}

// entryFor returns the entry of the principal in an access answer.
func entryFor(access map[string]any, typ, id string) (map[string]any, bool) {
	entries, _ := access["entries"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		p, _ := m["principal"].(map[string]any)
		if str(p, "type") == typ && str(p, "id") == id {
			return m, true
		}
	}
	return nil, false
}

// evidenceIDs returns the ids of a case answer's evidence.
func evidenceIDs(c map[string]any) []string {
	var ids []string
	items, _ := c["evidence"].([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			ids = append(ids, str(m, "id"))
		}
	}
	return ids
}

func str(m map[string]any, k string) string {
	if m == nil {
		return ""
	}
	v, _ := m[k].(string)
	return v
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}

// perms builds a permissions document of api.md; nil maps are left out
// (the most restrictive value).
type perms struct {
	List, View, Apply, Remove, EvList, EvView, EvApply map[string]string
	Actions                                            []string
}

func (p perms) doc() map[string]any {
	cases := map[string]any{}
	ev := map[string]any{}
	put := func(m map[string]any, k string, v map[string]string) {
		if v != nil {
			m[k] = v
		}
	}
	put(cases, "list", p.List)
	put(cases, "view", p.View)
	put(cases, "applyClass", p.Apply)
	put(cases, "removeClass", p.Remove)
	put(ev, "list", p.EvList)
	put(ev, "view", p.EvView)
	put(ev, "applyClass", p.EvApply)
	actions := p.Actions
	if actions == nil {
		actions = []string{}
	}
	return map[string]any{"cases": cases, "evidence": ev, "actions": actions}
}

// each returns a per-class map with v for every class.
func each(v string) map[string]string {
	return map[string]string{"unrestricted": v, "restricted": v, "confidential": v}
}

// with returns a copy of m with class set to v.
func with(m map[string]string, class, v string) map[string]string {
	out := map[string]string{}
	for k, x := range m {
		out[k] = x
	}
	out[class] = v
	return out
}

// rfc3339 formats t for a request body, with milliseconds.
func rfc3339(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
