package apperr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// importPath is this package's, as the catalog generator finds its calls.
const importPath = "github.com/nemo-transcribe/nemo-transcribe/backend/apperr"

// catalogPath is where the generated English catalog of Go's sentences
// lives, relative to the module's root.
const catalogPath = "frontend/src/lib/i18n/parts/errors/en.ts"

// sentence is one format of New or Textf found in the source.
type sentence struct {
	Key      string
	Format   string
	Template string // the format in catalog form: {1}, {2}, …
	File     string // slash path from the module root, where it is first used
	pos      int
}

// sentences walks the Go module at root (not its nested modules, tests or
// testdata) and returns every format given to New or Textf that has words,
// ordered by file and place. A format that is not a constant string, or
// two formats with one key, is an error naming the file and line.
func sentences(root string) ([]sentence, error) {
	var out []sentence
	seen := map[string]string{} // key -> format
	var problems []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (name == "testdata" || name == "node_modules" || name == "frontend" || strings.HasPrefix(name, ".") || exists(filepath.Join(path, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		found, err := sentencesIn(path, rel)
		if err != nil {
			return err
		}
		for _, s := range found {
			if s.Key == "" {
				problems = append(problems, s.File)
				continue
			}
			if f, ok := seen[s.Key]; ok {
				if f != s.Format {
					problems = append(problems, fmt.Sprintf("%s: the formats %q and %q have the same key %s: reword one", s.File, f, s.Format, s.Key))
				}
				continue
			}
			seen[s.Key] = s.Format
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the Go sources under %s: %w", root, err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the UI cannot translate these sentences:\n%s", strings.Join(problems, "\n"))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].pos < out[j].pos
	})
	return out, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// sentencesIn returns the formats of one file's calls to New and Textf; a
// call whose format is not constant comes back with no key and the
// problem as its File.
func sentencesIn(path, rel string) ([]sentence, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", rel, err)
	}
	inPkg := f.Name.Name == "apperr" && filepath.ToSlash(filepath.Dir(rel)) == "backend/apperr"
	name := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == importPath {
			name = "apperr"
			if imp.Name != nil {
				name = imp.Name.Name
			}
		}
	}
	if name == "" && !inPkg {
		return nil, nil
	}
	var out []sentence
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		var fn string
		switch x := call.Fun.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && id.Name == name && name != "" {
				fn = x.Sel.Name
			}
		case *ast.Ident:
			if inPkg {
				fn = x.Name
			}
		}
		at := map[string]int{"New": 2, "Textf": 0}
		i, ok := at[fn]
		if !ok || len(call.Args) <= i {
			return true
		}
		pos := fset.Position(call.Pos())
		format, ok := constString(call.Args[i])
		if !ok {
			if inPkg {
				return true // New hands its own format on to Textf
			}
			out = append(out, sentence{File: fmt.Sprintf("%s:%d: the format of %s.%s is not a constant string", rel, pos.Line, name, fn)})
			return true
		}
		verbs, ok := scanVerbs(format)
		if !ok {
			out = append(out, sentence{File: fmt.Sprintf("%s:%d: the format %q uses verbs the catalog cannot hold (argument indexes or *)", rel, pos.Line, format)})
			return true
		}
		if !hasWords(format, verbs) {
			return true
		}
		tmpl, _ := Template(format)
		out = append(out, sentence{Key: KeyOf(format), Format: format, Template: tmpl, File: rel, pos: pos.Offset})
		return true
	})
	return out, nil
}

// constString evaluates a string literal or a sum of them.
func constString(e ast.Expr) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.ParenExpr:
		return constString(x.X)
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		a, ok1 := constString(x.X)
		b, ok2 := constString(x.Y)
		return a + b, ok1 && ok2
	}
	return "", false
}

// renderCatalog writes the English catalog part of the sentences.
func renderCatalog(ss []sentence) []byte {
	var b bytes.Buffer
	b.WriteString(`// English sentences Go sends to the UI (errors, notes), keyed by a hash of
// their Go format; {1}, {2}, … are the values Go fills in. Generated from
// the formats of apperr.New and apperr.Textf by
// ` + "`go test ./backend/apperr -update`" + `: do not edit by hand. The source of
// this part's keys: the sibling files translate every one.
export const errorsEn = {
`)
	file := ""
	for _, s := range ss {
		if s.File != file {
			file = s.File
			fmt.Fprintf(&b, "  // %s\n", file)
		}
		v, _ := marshalNoEscape(s.Template)
		fmt.Fprintf(&b, "  '%s': %s,\n", s.Key, v)
	}
	b.WriteString("} as const;\n")
	return b.Bytes()
}

func marshalNoEscape(s string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}
