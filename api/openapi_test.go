package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

// The served OpenAPI document is the machine-checked version of api.md.
// These tests hold it to the routes the server registers: a new endpoint
// without a row fails, and so does a documented path without a route.

// oaDoc is the part of an OpenAPI 3.1 document the tests read.
type oaDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Security   []map[string][]string                 `json:"security"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
		Parameters map[string]oaParam        `json:"parameters"`
		Responses  map[string]oaResponse     `json:"responses"`
		Schemas    map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

type oaParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type oaMedia struct {
	Schema map[string]any `json:"schema"`
}

type oaResponse struct {
	Ref         string                     `json:"$ref"`
	Description string                     `json:"description"`
	Content     map[string]oaMedia         `json:"content"`
	Headers     map[string]json.RawMessage `json:"headers"`
}

type oaOperation struct {
	OperationID string            `json:"operationId"`
	Parameters  []oaParam         `json:"parameters"`
	Security    *[]map[string]any `json:"security"`
	RequestBody *struct {
		Required bool               `json:"required"`
		Content  map[string]oaMedia `json:"content"`
	} `json:"requestBody"`
	Responses map[string]oaResponse `json:"responses"`
}

// httpMethods are the operation keys of a path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// pathItemKeys are the other keys a path item may hold.
var pathItemKeys = []string{"$ref", "summary", "description", "servers", "parameters"}

// oaOp is one operation of the document with its path item's parameters.
type oaOp struct {
	Method, Path string
	Op           oaOperation
	PathParams   []oaParam
}

func (o oaOp) String() string { return o.Method + " " + o.Path }

// servedDocument fetches GET /v1/openapi.json without a token and parses it.
func servedDocument(t *testing.T, h *harness) (oaDoc, map[string]any, []oaOp) {
	t.Helper()
	r := h.do("", http.MethodGet, "/v1/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Code, string(r.Body))
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	var doc oaDoc
	require.NoError(t, json.Unmarshal(r.Body, &doc), "the document is JSON of the OpenAPI shape")
	var raw map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &raw))

	var ops []oaOp
	for path, item := range doc.Paths {
		var shared []oaParam
		if p, ok := item["parameters"]; ok {
			require.NoError(t, json.Unmarshal(p, &shared), "%s parameters", path)
		}
		for key, v := range item {
			if !slices.Contains(httpMethods, key) {
				require.Contains(t, pathItemKeys, key, "%s: unknown path item key", path)
				continue
			}
			var op oaOperation
			require.NoError(t, json.Unmarshal(v, &op), "%s %s", key, path)
			ops = append(ops, oaOp{Method: strings.ToUpper(key), Path: path, Op: op, PathParams: shared})
		}
	}
	slices.SortFunc(ops, func(a, b oaOp) int { return strings.Compare(a.String(), b.String()) })
	return doc, raw, ops
}

// resolveRef returns what a local reference ("#/components/…") points at in
// raw, or an error.
func resolveRef(raw map[string]any, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("%q is not a local reference", ref)
	}
	var cur any = raw
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not in an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// collectRefs returns every "$ref" value in v with where it was found.
func collectRefs(v any, at string, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				out[at+"/$ref"] = s
				continue
			}
			collectRefs(x, at+"/"+k, out)
		}
	case []any:
		for i, x := range v {
			collectRefs(x, fmt.Sprintf("%s/%d", at, i), out)
		}
	}
}

const refPrefix = "#/components/"

func (d oaDoc) param(t *testing.T, p oaParam) oaParam {
	t.Helper()
	if p.Ref == "" {
		return p
	}
	name, ok := strings.CutPrefix(p.Ref, refPrefix+"parameters/")
	require.True(t, ok, "parameter reference %q", p.Ref)
	got, ok := d.Components.Parameters[name]
	require.True(t, ok, "parameter reference %q resolves", p.Ref)
	return got
}

func (d oaDoc) response(t *testing.T, r oaResponse) oaResponse {
	t.Helper()
	if r.Ref == "" {
		return r
	}
	name, ok := strings.CutPrefix(r.Ref, refPrefix+"responses/")
	require.True(t, ok, "response reference %q", r.Ref)
	got, ok := d.Components.Responses[name]
	require.True(t, ok, "response reference %q resolves", r.Ref)
	return got
}

func (d oaDoc) schema(t *testing.T, s map[string]any) map[string]any {
	t.Helper()
	ref, _ := s["$ref"].(string)
	if ref == "" {
		return s
	}
	name, ok := strings.CutPrefix(ref, refPrefix+"schemas/")
	require.True(t, ok, "schema reference %q", ref)
	got, ok := d.Components.Schemas[name]
	require.True(t, ok, "schema reference %q resolves", ref)
	return got
}

// TestOpenAPIDocument checks the document's structure: OpenAPI 3.1, every
// reference resolves, every operation has a unique operationId, responses
// with a success, a problem+json answer for each 4xx, closed request bodies,
// bearer security unless it says otherwise, and the Custodian-Position
// header on every command.
func TestOpenAPIDocument(t *testing.T) {
	h := newHarness(t)
	doc, raw, ops := servedDocument(t, h)

	require.Regexp(t, `^3\.1\.\d+$`, doc.OpenAPI)
	require.NotEmpty(t, ops)
	bearer, ok := doc.Components.SecuritySchemes["bearerAuth"]
	require.True(t, ok, "components.securitySchemes.bearerAuth")
	require.Equal(t, "http", bearer.Type)
	require.Equal(t, "bearer", bearer.Scheme)
	require.Equal(t, []map[string][]string{{"bearerAuth": {}}}, doc.Security, "bearer tokens everywhere unless an operation says otherwise")

	refs := map[string]string{}
	collectRefs(raw, "#", refs)
	for at, ref := range refs {
		_, err := resolveRef(raw, ref)
		if err != nil {
			t.Errorf("reference at %s: %v", at, err)
		}
	}

	problem := doc.Components.Schemas["Problem"]
	require.NotNil(t, problem, "components.schemas.Problem")
	for _, f := range []string{"type", "title", "status", "detail", "errors"} {
		require.Contains(t, problem["properties"], f, "the problem schema has %s (RFC 9457 with errors)", f)
	}

	ids := map[string]string{}
	for _, o := range ops {
		op := o.Op
		if op.OperationID == "" {
			t.Errorf("%s has no operationId", o)
		} else if prev, dup := ids[op.OperationID]; dup {
			t.Errorf("operationId %s is used by %s and %s", op.OperationID, prev, o)
		}
		ids[op.OperationID] = o.String()
		if len(op.Responses) == 0 {
			t.Errorf("%s has no responses", o)
		}

		success := false
		for code, r := range op.Responses {
			if !statusCode.MatchString(code) {
				t.Errorf("%s: response key %q is not a status code", o, code)
				continue
			}
			r = doc.response(t, r)
			if r.Description == "" {
				t.Errorf("%s: response %s has no description", o, code)
			}
			if code[0] == '2' {
				success = true
			}
			if code[0] != '4' {
				continue
			}
			if media, ok := r.Content["application/problem+json"]; !ok {
				t.Errorf("%s: response %s is not application/problem+json", o, code)
			} else if media.Schema["$ref"] != refPrefix+"schemas/Problem" {
				t.Errorf("%s: response %s is not the Problem schema: %v", o, code, media.Schema)
			}
		}
		if !success {
			t.Errorf("%s has no 2xx response", o)
		}

		switch {
		case op.Security == nil && !hasKey(op.Responses, "401"):
			t.Errorf("%s needs a token (global security) but has no 401 response", o)
		case op.Security != nil && len(*op.Security) > 0:
			t.Errorf("%s: security is either the global bearer or none (`security: []`)", o)
		}

		if rb := op.RequestBody; rb != nil {
			media, ok := rb.Content["application/json"]
			if !ok || media.Schema == nil {
				t.Errorf("%s: the request body is not an application/json schema", o)
				continue
			}
			s := doc.schema(t, media.Schema)
			if s["additionalProperties"] != false {
				t.Errorf("%s: the request body schema does not say additionalProperties: false (unknown fields are refused)", o)
			}
			for _, code := range []string{"400", "413"} {
				if !hasKey(op.Responses, code) {
					t.Errorf("%s takes a body but has no %s response", o, code)
				}
			}
			props, _ := s["properties"].(map[string]any)
			req, _ := s["required"].([]any)
			for _, f := range req {
				if _, ok := props[fmt.Sprint(f)]; !ok {
					t.Errorf("%s: required field %v of the request body is not a property", o, f)
				}
			}
		}

		if isCommand(o) {
			for code, r := range op.Responses {
				if code[0] == '2' && !hasKey(doc.response(t, r).Headers, "Custodian-Position") {
					t.Errorf("%s: command answer %s has no Custodian-Position header", o, code)
				}
			}
			if !hasParam(t, doc, op.Parameters, "header", "Idempotency-Key") {
				t.Errorf("%s is a command but takes no Idempotency-Key", o)
			}
		}
		if op.Security == nil && !hasParam(t, doc, op.Parameters, "header", "Custodian-Consistency") {
			t.Errorf("%s is authenticated but takes no Custodian-Consistency", o)
		}
	}
}

func hasKey[V any](m map[string]V, key string) bool {
	_, ok := m[key]
	return ok
}

// isCommand reports whether an operation is a command of api.md: every
// authenticated write under /v1 except the operators' rebuild.
func isCommand(o oaOp) bool {
	return o.Method != http.MethodGet && o.Op.Security == nil && strings.HasPrefix(o.Path, "/v1/") &&
		!strings.HasPrefix(o.Path, "/v1/ops/")
}

func hasParam(t *testing.T, doc oaDoc, params []oaParam, in, name string) bool {
	t.Helper()
	for _, p := range params {
		p = doc.param(t, p)
		if p.In == in && p.Name == name {
			return true
		}
	}
	return false
}

var (
	echoParam     = regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	templateParam = regexp.MustCompile(`\{([^{}]+)\}`)
	statusCode    = regexp.MustCompile(`^[1-5][0-9][0-9]$`)
)

// TestOpenAPIMatchesRoutes compares the (method, path) pairs of the document
// with the routes registered on the echo instance, both ways, and checks
// that each operationId is its handler's method name and that the security
// the document claims is what the server does.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	h := newHarness(t)
	_, _, ops := servedDocument(t, h)
	e, ok := h.handler.(*echo.Echo)
	require.True(t, ok, "api.NewServer returns the *echo.Echo (got %T)", h.handler)

	routes := map[string]string{} // "METHOD /path/{param}" → handler method name
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || r.Method == http.MethodHead {
			continue // echo's own catch-all of a group with middleware; HEAD, the GET without content
		}
		key := r.Method + " " + echoParam.ReplaceAllString(r.Path, "{$1}")
		routes[key] = handlerName(r.Name)
	}
	documented := map[string]oaOp{}
	for _, o := range ops {
		documented[o.String()] = o
	}

	var missing, extra []string
	for key := range routes {
		if _, ok := documented[key]; !ok {
			missing = append(missing, key)
		}
	}
	for key := range documented {
		if _, ok := routes[key]; !ok {
			extra = append(extra, key)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("routes without an operation in api/openapi.json (document them):\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("operations in api/openapi.json without a route (remove them or register the route):\n  %s", strings.Join(extra, "\n  "))
	}

	for key, handler := range routes {
		o, ok := documented[key]
		if !ok {
			continue
		}
		if o.Op.OperationID != handler {
			t.Errorf("%s: operationId %q, but the handler is %s", key, o.Op.OperationID, handler)
		}
	}

	// Security: an operation without security answers without a token; any
	// other answers 401 without one.
	for _, o := range ops {
		if _, ok := routes[o.String()]; !ok {
			continue
		}
		path := templateParam.ReplaceAllStringFunc(o.Path, func(string) string { return "00000000-0000-7000-8000-000000000000" })
		r := h.do("", o.Method, path, nil)
		switch {
		case o.Op.Security != nil && r.Code == http.StatusUnauthorized:
			t.Errorf("%s is documented without security, but answers 401 without a token", o)
		case o.Op.Security == nil && r.Code != http.StatusUnauthorized:
			t.Errorf("%s is documented with bearer security, but answers %d without a token: %s", o, r.Code, r.Body)
		}
	}
}

// handlerName returns the method name of a route's handler from echo's
// route name, e.g. "github.com/custodian/custodian/api.(*server).createCase-fm".
func handlerName(name string) string {
	name = strings.TrimSuffix(name, "-fm")
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// TestOpenAPIPathParameters checks that every {param} of a path is declared
// as a required path parameter of each of its operations, and that no path
// parameter is declared that the path does not have.
func TestOpenAPIPathParameters(t *testing.T) {
	h := newHarness(t)
	doc, _, ops := servedDocument(t, h)
	for _, o := range ops {
		var inPath []string
		for _, m := range templateParam.FindAllStringSubmatch(o.Path, -1) {
			inPath = append(inPath, m[1])
		}
		declared := map[string]bool{}
		// Operation parameters override path item parameters of the same name and location.
		for _, p := range append(append([]oaParam{}, o.PathParams...), o.Op.Parameters...) {
			p = doc.param(t, p)
			if !slices.Contains([]string{"path", "query", "header", "cookie"}, p.In) || p.Name == "" {
				t.Errorf("%s: parameter %q in %q", o, p.Name, p.In)
			}
			if p.In != "path" {
				continue
			}
			if !p.Required {
				t.Errorf("%s: path parameter %s is not required", o, p.Name)
			}
			if !slices.Contains(inPath, p.Name) {
				t.Errorf("%s: declares path parameter %s that the path does not have", o, p.Name)
			}
			declared[p.Name] = true
		}
		for _, name := range inPath {
			if !declared[name] {
				t.Errorf("%s: path parameter {%s} is not declared in parameters", o, name)
			}
		}
	}
}
