package localserver_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver"
	"github.com/nemo-transcribe/nemo-transcribe/models"
)

const modelsDir = "../../models"

// TestEmbeddedFilesEqualModels: every embedded file is byte for byte the
// one in models/, and every file compose needs from models/ is embedded
// (a new model folder, a new shared module or a file no pattern of
// models/embed.go covers fails here).
func TestEmbeddedFilesEqualModels(t *testing.T) {
	embedded := map[string]bool{}
	err := fs.WalkDir(models.ServerFiles(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		embedded[p] = true
		got, _ := fs.ReadFile(models.ServerFiles(), p)
		want, err := os.ReadFile(filepath.Join(modelsDir, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s is embedded but not in models/: %v", p, err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("%s differs from models/%s", p, p)
		}
		if bytes.Contains(got, []byte("\r")) {
			t.Errorf("%s has carriage returns: the container's shell and Python would choke on them (check git's autocrlf)", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var needed []string
	for _, name := range []string{"Dockerfile", ".dockerignore", "compose.yaml", "compose.cpu.yaml", "serve.sh"} {
		needed = append(needed, name)
	}
	for _, root := range []string{models.RepositoryDir, models.CPURepositoryDir} {
		filepath.WalkDir(filepath.Join(modelsDir, root), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(modelsDir, p)
			rel = filepath.ToSlash(rel)
			if models.ProfileSourceFile(strings.TrimPrefix(strings.TrimPrefix(rel, root), "/")) {
				needed = append(needed, rel)
			}
			return nil
		})
	}
	common, _ := filepath.Glob(filepath.Join(modelsDir, "common", "*.py"))
	for _, p := range common {
		needed = append(needed, "common/"+filepath.Base(p))
	}
	entries, _ := os.ReadDir(filepath.Join(modelsDir, "common"))
	for _, e := range entries {
		if e.IsDir() && e.Name() != "fakes" && e.Name() != "__pycache__" {
			t.Errorf("models/common/%s/ is not embedded: add it to models/embed.go if the server needs it", e.Name())
		}
	}
	for _, p := range needed {
		if !embedded[p] {
			t.Errorf("models/%s is not embedded: add a pattern to models/embed.go", p)
		}
	}
	if len(embedded) < 10 {
		t.Errorf("only %d files embedded", len(embedded))
	}
}

// readTree lists every file under dir (slash paths) with its contents.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	return out
}

func TestWriteFilesIsModelsByteForByteAndKeepsUserChanges(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, nil)
	rep, err := m.WriteFiles(ctx, localserver.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Written) < 10 || len(rep.Kept) > 0 {
		t.Fatalf("first write: %+v", rep)
	}
	tree := readTree(t, m.Dir())
	for p, data := range tree {
		if strings.HasPrefix(p, ".nemo-transcribe-files") {
			continue
		}
		want, err := os.ReadFile(filepath.Join(modelsDir, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(data, want) {
			t.Errorf("written %s is not models/%s (err %v)", p, p, err)
		}
	}
	for _, p := range []string{"compose.yaml", "compose.cpu.yaml", "Dockerfile", "serve.sh", "common/nemo_asr_backend.py", "repository/parakeet-tdt-0.6b-v2/config.pbtxt", "repository/parakeet-tdt-0.6b-v2/1/model.py", "repository-cpu/canary-1b-v2/config.pbtxt"} {
		if _, ok := tree[p]; !ok {
			t.Errorf("%s was not written", p)
		}
	}
	if fi, err := os.Stat(filepath.Join(m.Dir(), "serve.sh")); err == nil && fi.Mode()&0o100 == 0 && os.PathSeparator == '/' {
		t.Errorf("serve.sh mode %v: not executable", fi.Mode())
	}

	// Again: nothing to do.
	rep, err = m.WriteFiles(ctx, localserver.WriteOptions{})
	if err != nil || len(rep.Written)+len(rep.Kept)+len(rep.Removed) != 0 {
		t.Fatalf("second write: %+v, %v", rep, err)
	}

	// The user edits a config and adds their own model; an older version
	// had shipped a file this one does not.
	edited := filepath.Join(m.Dir(), "repository", "parakeet-tdt-0.6b-v2", "config.pbtxt")
	mine := append(tree["repository/parakeet-tdt-0.6b-v2/config.pbtxt"], []byte("# my change\n")...)
	os.WriteFile(edited, mine, 0o644)
	own := filepath.Join(m.Dir(), "repository", "my-parakeet")
	os.MkdirAll(filepath.Join(own, "1"), 0o755)
	os.WriteFile(filepath.Join(own, "config.pbtxt"), []byte("name: \"my-parakeet\"\n"), 0o644)
	os.WriteFile(filepath.Join(own, "my.nemo"), []byte("weights"), 0o644)
	stale := filepath.Join(m.Dir(), "repository", "old-model", "config.pbtxt")
	os.MkdirAll(filepath.Dir(stale), 0o755)
	os.WriteFile(stale, []byte("old"), 0o644)
	addToManifest(t, m.Dir(), "repository/old-model/config.pbtxt", []byte("old"))

	rep, err = m.WriteFiles(ctx, localserver.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Kept, []string{"repository/parakeet-tdt-0.6b-v2/config.pbtxt"}) || !slices.Equal(rep.Removed, []string{"repository/old-model/config.pbtxt"}) || len(rep.Written) != 0 {
		t.Errorf("after the user's changes: %+v", rep)
	}
	if got, _ := os.ReadFile(edited); !bytes.Equal(got, mine) {
		t.Error("the user's edit was overwritten")
	}
	if _, err := os.Stat(filepath.Dir(stale)); err == nil {
		t.Error("the old version's model folder was left behind (Triton would list it)")
	}
	if _, err := os.Stat(filepath.Join(own, "my.nemo")); err != nil {
		t.Error("the user's own model was touched")
	}
	list, err := m.Models(localserver.ProfileGPU)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mi := range list {
		names = append(names, mi.Name)
		if mi.Name == "parakeet-tdt-0.6b-v2" && (mi.NemoModel != "nvidia/parakeet-tdt-0.6b-v2" || !mi.Shipped) {
			t.Errorf("%+v", mi)
		}
		if mi.Name == "my-parakeet" && mi.Shipped {
			t.Errorf("%+v", mi)
		}
	}
	for _, want := range []string{"canary-1b-v2", "my-parakeet", "parakeet-tdt-0.6b-v2", "parakeet-tdt-0.6b-v3"} {
		if !slices.Contains(names, want) {
			t.Errorf("Models: %v, want %s among them", names, want)
		}
	}

	// Reset brings the shipped file back.
	rep, err = m.WriteFiles(ctx, localserver.WriteOptions{Reset: true})
	if err != nil || !slices.Equal(rep.Written, []string{"repository/parakeet-tdt-0.6b-v2/config.pbtxt"}) {
		t.Errorf("reset: %+v, %v", rep, err)
	}
	if got, _ := os.ReadFile(edited); !bytes.Equal(got, tree["repository/parakeet-tdt-0.6b-v2/config.pbtxt"]) {
		t.Error("reset did not restore the shipped config")
	}
}

// addToManifest pretends an older version wrote p.
func addToManifest(t *testing.T, dir, p string, data []byte) {
	t.Helper()
	path := filepath.Join(dir, ".nemo-transcribe-files.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256Hex(data)
	raw = bytes.Replace(raw, []byte(`"files": {`), []byte(`"files": {`+"\n"+`    "`+p+`": "`+sum+`",`), 1)
	os.WriteFile(path, raw, 0o644)
}
