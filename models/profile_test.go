package models

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// TestCPUProfile keeps repository-cpu/ equal to what CPUProfile generates
// from repository/: every model folder (a new one included) mirrored, its
// config.pbtxt with KIND_CPU instances. -update rewrites it.
func TestCPUProfile(t *testing.T) {
	want, err := CPUProfile(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string][]byte{}
	if _, err := os.Stat(CPURepositoryDir); err == nil {
		err = fs.WalkDir(os.DirFS("."), CPURepositoryDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel := strings.TrimPrefix(p, CPURepositoryDir+"/")
			if !ProfileSourceFile(rel) {
				return nil // a user's checkpoint or a cache is not generated
			}
			data, err := os.ReadFile(filepath.FromSlash(p))
			have[p] = data
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if *update {
		for p := range have {
			if _, ok := want[p]; !ok {
				if err := os.Remove(filepath.FromSlash(p)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, p := range slices.Sorted(maps.Keys(want)) {
			if err := os.MkdirAll(filepath.Dir(filepath.FromSlash(p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.FromSlash(p), want[p], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Folders of models that are gone.
		entries, _ := os.ReadDir(CPURepositoryDir)
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(RepositoryDir, e.Name())); err != nil {
				os.RemoveAll(filepath.Join(CPURepositoryDir, e.Name()))
			}
		}
		return
	}
	const fix = "; run: go test ./models -run TestCPUProfile -update"
	for _, p := range slices.Sorted(maps.Keys(want)) {
		got, ok := have[p]
		switch {
		case !ok:
			t.Errorf("%s is missing%s", p, fix)
		case !bytes.Equal(got, want[p]):
			t.Errorf("%s is not generated from %s%s", p, strings.Replace(p, CPURepositoryDir, RepositoryDir, 1), fix)
		}
	}
	for p := range have {
		if _, ok := want[p]; !ok {
			t.Errorf("%s has no source in %s/%s", p, RepositoryDir, fix)
		}
	}
	entries, err := os.ReadDir(CPURepositoryDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(RepositoryDir, e.Name(), "config.pbtxt")); err != nil {
			t.Errorf("%s/%s: no such model in %s (Triton would list it as a model)%s", CPURepositoryDir, e.Name(), RepositoryDir, fix)
		}
	}
}

// TestCPUProfileFollowsContract parses every CPU config strictly and holds
// it to its GPU config: equal in everything (inputs, outputs, batching,
// parameters: the contract the GPU configs are held to) but the instance
// kind, which is KIND_CPU with no GPUs named.
func TestCPUProfileFollowsContract(t *testing.T) {
	gpu := loadConfigs(t)
	for name, g := range gpu {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(CPURepositoryDir, name, "config.pbtxt")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v; run: go test ./models -run TestCPUProfile -update", err)
			}
			cpu := &pb.ModelConfig{}
			if err := prototext.Unmarshal(data, cpu); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if cpu.GetName() != name {
				t.Errorf("name %q, want the folder name %q", cpu.GetName(), name)
			}
			if len(cpu.GetInstanceGroup()) == 0 {
				t.Fatal("no instance_group")
			}
			for _, ig := range cpu.GetInstanceGroup() {
				if ig.GetKind() != pb.ModelInstanceGroup_KIND_CPU || len(ig.GetGpus()) > 0 {
					t.Errorf("instance_group %v: want KIND_CPU and no gpus", ig)
				}
			}
			want := proto.Clone(g).(*pb.ModelConfig)
			for _, ig := range want.GetInstanceGroup() {
				ig.Kind, ig.Gpus = pb.ModelInstanceGroup_KIND_CPU, nil
			}
			if !proto.Equal(cpu, want) {
				t.Errorf("%s differs from its GPU config in more than the instance kind", path)
			}
			if _, err := os.Stat(filepath.Join(CPURepositoryDir, name, "1", "model.py")); err != nil {
				t.Errorf("version 1 has no model.py: %v", err)
			}
			checkCPUConfigJSON(t, name, cpu)
		})
	}
}

// checkCPUConfigJSON keeps testdata/cpu/<model>.config.json (what Triton
// gives initialize for a CPU instance; the Python tests load it) current.
func checkCPUConfigJSON(t *testing.T, name string, cfg *pb.ModelConfig) {
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(int64sAsNumbers(doc, ""), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "cpu", name+".config.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want, err := os.ReadFile(golden); err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is not %s/%s/config.pbtxt as JSON (err %v); run: go test ./models -run 'TestCPUProfile' -update", golden, CPURepositoryDir, name, err)
	}
}

func TestCPUConfigRule(t *testing.T) {
	gpu := []byte("name: \"m\"\ninstance_group [\n  {\n    count: 2\n    kind: KIND_GPU\n    gpus: [ 0, 1 ]\n  }\n]\n")
	got, err := CPUConfig("m", gpu)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got, []byte("KIND_GPU")) || bytes.Contains(got, []byte("gpus:")) || !bytes.Contains(got, []byte("kind: KIND_CPU\n")) {
		t.Errorf("CPUConfig:\n%s", got)
	}
	oneLine := []byte("name: \"m\"\ninstance_group [ { count: 1, kind: KIND_GPU, gpus: [ 0 ] } ]\n")
	got, err = CPUConfig("m", oneLine)
	if err != nil || bytes.Contains(got, []byte("KIND_GPU")) || bytes.Contains(got, []byte("gpus")) {
		t.Errorf("one-line instance group: %s %v", got, err)
	} else if err := prototext.Unmarshal(got, &pb.ModelConfig{}); err != nil {
		t.Errorf("one-line instance group: %v\n%s", err, got)
	}
	if _, err := CPUConfig("m", []byte("name: \"m\"\n")); err == nil {
		t.Error("a config without KIND_GPU was accepted")
	}
	if !ProfileSourceFile("m/1/model.py") || ProfileSourceFile("m/my.nemo") || ProfileSourceFile("m/1/__pycache__/model.cpython-312.pyc") || ProfileSourceFile("m/.hidden") {
		t.Error("ProfileSourceFile")
	}
}
