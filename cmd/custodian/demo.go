package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/custodian/custodian/api"
)

// demoClient sends requests straight to the handler, each with an
// Idempotency-Key, so that loading the demo twice changes nothing.
type demoClient struct {
	ctx     context.Context
	handler http.Handler
	auth    *api.Authenticator
	n       int
}

func (d *demoClient) do(sub, method, path string, body any) (map[string]any, error) {
	d.n++
	tok, err := d.auth.Token(sub, time.Hour)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(d.ctx, method, path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("demo-v1-%d", d.n))
	rec := httptest.NewRecorder()
	d.handler.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	if rec.Code >= 300 {
		return nil, fmt.Errorf("demo: %s %s: %d %s", method, path, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return out, nil
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// perms builds a permissions document of api.md.
func perms(list, view map[string]string, apply, remove map[string]string, evList, evView map[string]string, actions ...string) map[string]any {
	return map[string]any{
		"cases":    map[string]any{"list": list, "view": view, "applyClass": apply, "removeClass": remove},
		"evidence": map[string]any{"list": evList, "view": evView, "applyClass": apply},
		"actions":  actions,
	}
}

// loadDemo creates two organizations with roles from the source's permission
// table, users, a group, and cases of each class with evidence and access
// lists, then prints a token for every user.
func loadDemo(ctx context.Context, handler http.Handler, auth *api.Authenticator, operators []string, base string, stdout io.Writer) error {
	d := &demoClient{ctx: ctx, handler: handler, auth: auth}
	op := firstOperator(strings.Join(operators, ","))
	type person struct{ name, role, id string }
	var people []person

	metro, err := d.do(op, "POST", "/v1/orgs", map[string]any{"name": "Metro Police Department",
		"admin": map[string]any{"name": "Alex Admin", "email": "alex.admin@metro.example", "badgeId": "A-1"}})
	if err != nil {
		return err
	}
	county, err := d.do(op, "POST", "/v1/orgs", map[string]any{"name": "County Prosecutor's Office",
		"admin": map[string]any{"name": "Pat Prosecutor", "email": "pat@county.example", "badgeId": "P-1"}})
	if err != nil {
		return err
	}
	admin := str(metro, "adminUserId")
	people = append(people, person{"Alex Admin", "Administrator (Metro)", admin}, person{"Pat Prosecutor", "Administrator (County)", str(county, "adminUserId")})

	all := map[string]string{"unrestricted": "all", "restricted": "all", "confidential": "all"}
	allow := map[string]string{"unrestricted": "allow", "restricted": "allow", "confidential": "allow"}
	both := map[string]string{"restricted": "allow", "confidential": "allow"}
	roles := map[string]map[string]any{
		"Investigator": perms(map[string]string{"unrestricted": "all", "restricted": "own"}, map[string]string{"unrestricted": "allow", "restricted": "allow"},
			map[string]string{"restricted": "allow"}, map[string]string{"restricted": "allow"},
			map[string]string{"unrestricted": "all", "restricted": "own"}, map[string]string{"unrestricted": "allow", "restricted": "allow"},
			"cases.create", "cases.edit", "evidence.add", "cases.access.manage"),
		"Supervisor": perms(all, allow, both, both, all, allow,
			"cases.create", "cases.edit", "evidence.add", "cases.access.manage", "cases.share", "cases.share.classic", "shares.receive"),
		"Records Clerk": perms(map[string]string{"unrestricted": "own"}, map[string]string{"unrestricted": "allow"}, nil, nil,
			map[string]string{"unrestricted": "own"}, map[string]string{"unrestricted": "allow"}),
		"Auditor": perms(all, map[string]string{}, nil, nil, map[string]string{}, map[string]string{}, "audit.read"),
	}
	roleIDs := map[string]string{}
	for _, name := range []string{"Investigator", "Supervisor", "Records Clerk", "Auditor"} {
		out, err := d.do(admin, "POST", "/v1/roles", map[string]any{"name": name, "permissions": roles[name]})
		if err != nil {
			return err
		}
		roleIDs[name] = str(out, "id")
	}
	users := []struct{ name, email, badge, role string }{
		{"Dana Reyes", "dana.reyes@metro.example", "D-214", "Investigator"},
		{"Sam Okafor", "sam.okafor@metro.example", "S-031", "Supervisor"},
		{"Riley Chen", "riley.chen@metro.example", "R-577", "Records Clerk"},
		{"Avery Lind", "avery.lind@metro.example", "L-902", "Auditor"},
	}
	ids := map[string]string{}
	for _, u := range users {
		out, err := d.do(admin, "POST", "/v1/users", map[string]any{"name": u.name, "email": u.email, "badgeId": u.badge, "roleId": roleIDs[u.role]})
		if err != nil {
			return err
		}
		ids[u.name] = str(out, "id")
		people = append(people, person{u.name, u.role, ids[u.name]})
	}
	group, err := d.do(admin, "POST", "/v1/groups", map[string]any{"name": "Burglary Unit"})
	if err != nil {
		return err
	}
	for _, m := range []string{"Dana Reyes", "Riley Chen"} {
		if _, err := d.do(admin, "POST", "/v1/groups/"+str(group, "id")+"/members", map[string]any{"userId": ids[m]}); err != nil {
			return err
		}
	}
	dana, sam := ids["Dana Reyes"], ids["Sam Okafor"]
	burglary, err := d.do(dana, "POST", "/v1/cases", map[string]any{"title": "Burglary at 12 Elm St", "description": "Rear window forced overnight; jewellery taken."})
	if err != nil {
		return err
	}
	for _, ev := range []string{"Doorbell camera video", "Latent fingerprint report"} {
		if _, err := d.do(dana, "POST", "/v1/cases/"+str(burglary, "id")+"/evidence", map[string]any{"title": ev}); err != nil {
			return err
		}
	}
	narcotics, err := d.do(sam, "POST", "/v1/cases", map[string]any{"title": "Harbour narcotics surveillance", "description": "Joint operation, informant involved.", "accessClass": "restricted"})
	if err != nil {
		return err
	}
	if _, err := d.do(sam, "POST", "/v1/cases/"+str(narcotics, "id")+"/evidence", map[string]any{"title": "Surveillance log, week 12"}); err != nil {
		return err
	}
	if _, err := d.do(sam, "POST", "/v1/cases/"+str(narcotics, "id")+"/access", map[string]any{"entries": []any{
		map[string]any{"principal": map[string]any{"type": "group", "id": str(group, "id")}, "level": "view",
			"expiresAt": time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)},
	}}); err != nil {
		return err
	}
	ia, err := d.do(sam, "POST", "/v1/cases", map[string]any{"title": "Internal affairs review 2026-07", "accessClass": "confidential"})
	if err != nil {
		return err
	}
	if _, err := d.do(sam, "POST", "/v1/cases/"+str(ia, "id")+"/evidence", map[string]any{"title": "Interview transcript"}); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "Custodian demo data loaded; the API is at %s/v1\n\n", base)
	opTok, _ := auth.Token(op, 12*time.Hour)
	fmt.Fprintf(stdout, "%-16s %-24s %s\n", "operator", "("+op+")", opTok)
	for _, p := range people {
		tok, err := auth.Token(p.id, 12*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-16s %-24s %s\n", p.name, p.role, tok)
	}
	fmt.Fprintf(stdout, "\nexample: curl -H \"Authorization: Bearer <token>\" %s/v1/cases\n", base)
	return nil
}

// firstOperator returns the first subject of a comma-separated list.
func firstOperator(list string) string {
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return "operator"
}
