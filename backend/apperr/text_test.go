package apperr

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite "+catalogPath+" from the Go sources")

// TestCatalog keeps the UI's English catalog of Go's sentences in step with
// the code: every format of New and Textf in the module is in it, and
// nothing else.
func TestCatalog(t *testing.T) {
	root := filepath.Join("..", "..")
	if err := checkCatalog(root, *update); err != nil {
		t.Fatal(err)
	}
}

// checkCatalog compares root's catalog with its sources, or rewrites it.
func checkCatalog(root string, update bool) error {
	ss, err := sentences(root)
	if err != nil {
		return err
	}
	want := renderCatalog(ss)
	path := filepath.Join(root, filepath.FromSlash(catalogPath))
	if update {
		return os.WriteFile(path, want, 0o644)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the catalog: %w", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s is stale (a sentence of apperr.New or apperr.Textf changed): run go test ./backend/apperr -update, then translate the new keys in the sibling files", catalogPath)
	}
	return nil
}

// A module of its own: its formats become keys, a stale catalog fails,
// -update mends it, and the keys are the ones New gives at run time.
func TestCatalogOfAModule(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n")
	write("a/a.go", `package a

import ae "`+importPath+`"

func f(p string, err error) error {
	if p == "" {
		return ae.New(ae.CodeFile, err, "%v", err) // verbs only: nothing to translate
	}
	_ = ae.Textf("waiting for %q (%d%% done)", p, 5)
	return ae.New(ae.CodeFile, err, "cannot open %s: "+"%v", p, err)
}
`)
	write("a/a_test.go", "package a\n\nimport \""+importPath+"\"\n\nvar _ = apperr.New(\"\", nil, \"only in a test\")\n")
	write("nested/go.mod", "module example.com/n\n")
	write("nested/n.go", "package n\n\nimport \""+importPath+"\"\n\nvar _ = apperr.Textf(\"in another module\")\n")
	write(catalogPath, "export const errorsEn = {\n} as const;\n")

	err := checkCatalog(root, false)
	if err == nil || !strings.Contains(err.Error(), "is stale") || !strings.Contains(err.Error(), "-update") {
		t.Fatalf("a stale catalog gave %v, want an error that says how to mend it", err)
	}
	if err := checkCatalog(root, true); err != nil {
		t.Fatal(err)
	}
	if err := checkCatalog(root, false); err != nil {
		t.Fatalf("after -update: %v", err)
	}
	got, _ := os.ReadFile(filepath.Join(root, catalogPath))
	open := New(CodeFile, nil, "cannot open %s: "+"%v", "x", errors.New("y")).text.Key
	waiting := Textf("waiting for %q (%d%% done)", "x", 5).Key
	want := "  // a/a.go\n  '" + waiting + "': \"waiting for {1} ({2}% done)\",\n  '" + open + "': \"cannot open {1}: {2}\",\n} as const;\n"
	if !strings.HasSuffix(string(got), want) {
		t.Errorf("catalog:\n%s\nwant it to end with:\n%s", got, want)
	}
	for _, not := range []string{"only in a test", "another module", "'go.", "%v"} {
		if not == "'go." {
			if strings.Count(string(got), not) != 2 {
				t.Errorf("catalog has %d keys, want 2:\n%s", strings.Count(string(got), not), got)
			}
			continue
		}
		if strings.Contains(string(got), not) {
			t.Errorf("catalog holds %q:\n%s", not, got)
		}
	}

	write("a/b.go", "package a\n\nimport \""+importPath+"\"\n\nfunc g(f string) error { return apperr.New(\"\", nil, f) }\n")
	if err := checkCatalog(root, false); err == nil || !strings.Contains(err.Error(), "a/b.go:5: the format of apperr.New is not a constant string") {
		t.Errorf("a format from a variable gave %v, want it named with its place", err)
	}
}

func TestLocalize(t *testing.T) {
	refused := New(CodeUnreachable, errors.New("ECONNREFUSED"), "cannot reach a Triton server at %s: check the address", "gpu:8001")
	key := KeyOf("cannot reach a Triton server at %s: check the address")
	for _, tt := range []struct {
		name string
		err  error
		want Text
	}{
		{"nil", nil, Text{}},
		{"an error of ours", refused,
			Text{Text: refused.Message, Key: key, Params: []Text{{Text: "gpu:8001"}}}},
		{"wrapped, it keeps its key, parameters and context", fmt.Errorf("sample.wav: %w", refused),
			Text{Text: "sample.wav: " + refused.Message, Key: key, Params: []Text{{Text: "gpu:8001"}}, Before: "sample.wav: "}},
		{"an error of ours inside another's sentence is a parameter with its key",
			New(CodeUnreachable, refused, "%s (tried %d times over %s)", refused, 3, 1500*time.Millisecond),
			Text{Text: refused.Message + " (tried 3 times over 1.5s)", Key: KeyOf("%s (tried %d times over %s)"),
				Params: []Text{{Text: refused.Message, Key: key, Params: []Text{{Text: "gpu:8001"}}}, {Text: "3"}, {Text: "1.5s"}}}},
		{"a lone verb passes the key of the error it prints on", New(CodeBadInput, refused, "%v", fmt.Errorf("a.wav: %w", refused)),
			Text{Text: "a.wav: " + refused.Message, Key: key, Params: []Text{{Text: "gpu:8001"}}, Before: "a.wav: "}},
		{"verbs print their arguments as fmt does", New(CodeBadInput, nil, "model %q: %5.1f%% of %d", "parakeet", 12.25, 7),
			Text{Text: `model "parakeet":  12.2% of 7`, Key: KeyOf("model %q: %5.1f%% of %d"), Params: []Text{{Text: `"parakeet"`}, {Text: " 12.2"}, {Text: "7"}}}},
		{"an OS error's text stays as it is", New(CodeFile, nil, "cannot read the key file: %v", os.ErrPermission),
			Text{Text: "cannot read the key file: permission denied", Key: KeyOf("cannot read the key file: %v"), Params: []Text{{Text: "permission denied"}}}},
		{"verbs only: no key", New(CodeFile, nil, "%s: %v", "a.wav", os.ErrNotExist), Text{Text: "a.wav: file does not exist"}},
		{"not ours: no key", fmt.Errorf("open a.wav: %w", os.ErrNotExist), Text{Text: "open a.wav: file does not exist"}},
		{"a bare cancellation", fmt.Errorf("infer: %w", context.Canceled), Text{Text: "cancelled", Key: KeyOf("cancelled")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Localize(tt.err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Localize:\n got %+v\nwant %+v", got, tt.want)
			}
			if tt.err != nil && got.Text != Message(tt.err) {
				t.Errorf("Text %q, want Message's %q", got.Text, Message(tt.err))
			}
		})
	}
}

func TestTemplate(t *testing.T) {
	for _, tt := range []struct{ format, want string }{
		{"plain", "plain"},
		{"model %q on %s: %v", "model {1} on {2}: {3}"},
		{"%d%% of %-8.2f", "{1}% of {2}"},
		{"%%s is literal", "%s is literal"},
	} {
		if got, ok := Template(tt.format); !ok || got != tt.want {
			t.Errorf("Template(%q) = %q, %v; want %q", tt.format, got, ok, tt.want)
		}
	}
	if _, ok := Template("%[1]s twice %[1]s"); ok {
		t.Error("Template took argument indexes")
	}
}
