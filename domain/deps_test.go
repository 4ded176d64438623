package domain_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The domain is pure (design §2, style.md rule 1). These tests fail when it
// depends on a module other than google/uuid, imports a standard package
// that does I/O, randomness, logging or cancellation, or calls the clock or
// a random UUID generator. Test files are not checked.

// goList runs go list on this package with a template.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, append(args, ".")...)...).CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	return strings.Fields(string(out))
}

func TestDependenciesAreStandardOrUUID(t *testing.T) {
	for _, dep := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}") {
		switch dep {
		case "github.com/custodian/custodian/domain", "github.com/google/uuid":
		default:
			t.Errorf("domain depends on %s; only the standard library and github.com/google/uuid are allowed", dep)
		}
	}
}

// banned are standard packages domain may not import itself. (uuid imports
// some of them, for features domain does not use; the calls are checked below.)
var banned = []string{"os", "net", "log", "database/sql", "math/rand", "crypto/rand", "context",
	"syscall", "io/ioutil", "plugin", "unsafe", "runtime/debug", "testing"}

func TestNoImportOfIOOrRandomness(t *testing.T) {
	imports := goList(t, "-f", `{{join .Imports "\n"}}`)
	require.NotEmpty(t, imports)
	for _, imp := range imports {
		for _, b := range banned {
			if imp == b || strings.HasPrefix(imp, b+"/") {
				t.Errorf("domain imports %s", imp)
			}
		}
	}
}

// forbiddenCalls are functions of allowed packages that read the clock,
// draw randomness or set global state.
var forbiddenCalls = map[string][]string{
	"time": {"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTicker", "NewTimer"},
	"uuid": {"New", "NewString", "NewRandom", "NewRandomFromReader", "NewUUID", "NewV6", "NewV7", "NewV7FromReader",
		"NewDCEGroup", "NewDCEPerson", "NewDCESecurity", "SetRand", "SetNodeID", "SetNodeInterface",
		"EnableRandPool", "DisableRandPool", "SetClockSequence", "Must"},
}

func TestNoClockOrRandomUUID(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			for _, fn := range forbiddenCalls[pkg.Name] {
				if sel.Sel.Name == fn {
					t.Errorf("%s: %s.%s: time and ids arrive in commands", fset.Position(sel.Pos()), pkg.Name, fn)
				}
			}
			return true
		})
	}
	assert.Greater(t, checked, 10, "the package's files were found")
}
