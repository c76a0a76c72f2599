package models

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

var update = flag.Bool("update", false, "rewrite testdata/*.config.json from the config.pbtxt files")

// The models this repository must serve (the minimum): three ASR
// models and a speaker-embedding model for diarization.
var requiredModels = []string{"parakeet-tdt-0.6b-v2", "parakeet-tdt-0.6b-v3", "canary-1b-v2", "titanet-large"}

// speakerModels are the required models that follow the speaker contract.
var speakerModels = []string{"titanet-large"}

// repositoryRoot is the folder tritonserver gets as --model-repository. It
// holds model folders only: Triton's RepositoryIndex lists every
// subdirectory of the root as a model, so the shared Python code lives beside
// it, in common/.
const repositoryRoot = "repository"

// loadConfigs parses every model folder's config.pbtxt strictly: a field our
// model_config.proto does not have is an error, as it is for protoc --encode.
// The map is keyed by model (folder) name.
func loadConfigs(t *testing.T) map[string]*pb.ModelConfig {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repositoryRoot, "*", "config.pbtxt"))
	if err != nil {
		t.Fatal(err)
	}
	configs := map[string]*pb.ModelConfig{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &pb.ModelConfig{}
		if err := prototext.Unmarshal(data, cfg); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		configs[filepath.Base(filepath.Dir(path))] = cfg
	}
	for _, name := range requiredModels {
		if configs[name] == nil {
			t.Errorf("no %s/config.pbtxt", name)
		}
	}
	return configs
}

// stringParams are a config's parameters as key -> string value.
func stringParams(cfg *pb.ModelConfig) map[string]string {
	out := map[string]string{}
	for k, v := range cfg.GetParameters() {
		out[k] = v.GetStringValue()
	}
	return out
}

func TestModelConfigsFollowContract(t *testing.T) {
	c := Contract()
	for dir, cfg := range loadConfigs(t) {
		t.Run(dir, func(t *testing.T) {
			// A speaker-embedding model follows the speaker section of the
			// contract, every other model the ASR one.
			speaker := IsSpeakerModel(stringParams(cfg))
			if want := slices.Contains(speakerModels, dir); want && !speaker {
				t.Errorf("parameter %s is not %q", ParamKind, KindSpeakerEmbedding)
			}
			if kind, ok := cfg.GetParameters()[ParamKind]; ok && !speaker {
				t.Errorf("parameter %s %q: ASR models have no kind; the only kind is %q", ParamKind, kind.GetStringValue(), KindSpeakerEmbedding)
			}
			// An ASR model declares every audio form of the contract:
			// AUDIO and the compact ones, all optional.
			wantIn, wantOut, minBatch := c.AudioInputs(), c.Outputs, c.MaxBatchSizeMin
			if speaker {
				wantIn, wantOut, minBatch = c.Speaker.Inputs, c.Speaker.Outputs, c.Speaker.MaxBatchSizeMin
				if _, err := ParseSpeakerParameters(stringParams(cfg)); err != nil {
					t.Error(err)
				}
			}
			if cfg.GetName() != dir {
				t.Errorf("name %q, want the folder name %q (Triton requires it)", cfg.GetName(), dir)
			}
			if cfg.GetBackend() != "python" || cfg.GetPlatform() != "" {
				t.Errorf("backend %q platform %q, want the python backend", cfg.GetBackend(), cfg.GetPlatform())
			}
			if int(cfg.GetMaxBatchSize()) < minBatch {
				t.Errorf("max_batch_size %d < contract minimum %d", cfg.GetMaxBatchSize(), minBatch)
			}

			var inputs, outputs []Tensor
			for _, in := range cfg.GetInput() {
				inputs = append(inputs, Tensor{in.GetName(), protocolDatatype(in.GetDataType()), in.GetDims(), in.GetOptional()})
				if !in.GetAllowRaggedBatch() {
					// AUDIO: chunks of different lengths; SPANS: chunks
					// with different numbers of spans.
					t.Errorf("input %s: allow_ragged_batch must be true so requests of different lengths batch together", in.GetName())
				}
				if in.GetReshape() != nil || in.GetIsShapeTensor() {
					t.Errorf("input %s: reshape or shape-tensor settings are not part of the contract", in.GetName())
				}
			}
			for _, out := range cfg.GetOutput() {
				outputs = append(outputs, Tensor{out.GetName(), protocolDatatype(out.GetDataType()), out.GetDims(), false})
				if out.GetReshape() != nil || out.GetLabelFilename() != "" {
					t.Errorf("output %s: reshape or labels are not part of the contract", out.GetName())
				}
			}
			if !tensorsEqual(inputs, wantIn) {
				t.Errorf("inputs %+v, want the contract's %+v", inputs, wantIn)
			}
			if !tensorsEqual(outputs, wantOut) {
				t.Errorf("outputs %+v, want the contract's %+v", outputs, wantOut)
			}

			db := cfg.GetDynamicBatching()
			if db == nil {
				t.Fatal("no dynamic_batching: requests would run one at a time")
			}
			if d := db.GetMaxQueueDelayMicroseconds(); d == 0 || d > 100_000 {
				t.Errorf("max_queue_delay_microseconds %d, want a short delay (0 < d <= 100 ms)", d)
			}
			if cfg.GetModelTransactionPolicy().GetDecoupled() {
				t.Error("decoupled: the client uses ModelInfer, which Triton refuses for decoupled models")
			}
			groups := cfg.GetInstanceGroup()
			if len(groups) == 0 {
				t.Fatal("no instance_group")
			}
			for _, g := range groups {
				if g.GetKind() != pb.ModelInstanceGroup_KIND_GPU {
					t.Errorf("instance_group kind %v, want KIND_GPU", g.GetKind())
				}
				if g.GetCount() < 1 {
					t.Errorf("instance_group count %d", g.GetCount())
				}
			}
			if cfg.GetParameters()["nemo_model"].GetStringValue() == "" {
				t.Error(`no "nemo_model" parameter (the NeMo model name or .nemo path)`)
			}
			if _, err := os.Stat(filepath.Join(repositoryRoot, dir, "1", "model.py")); err != nil {
				t.Errorf("version 1 has no model.py: %v", err)
			}
		})
	}
}

// TestRepositoryRootHoldsOnlyModels fails when a folder that is not a model
// (shared code, a cache, a stray checkout) sits in the repository root:
// Triton's RepositoryIndex would list it, and our status would show it, as a
// model that never loads. Hidden folders count too: Triton's local file
// system lists every entry but "." and "..". Files are allowed (Triton
// ignores them), but there are none today.
func TestRepositoryRootHoldsOnlyModels(t *testing.T) {
	entries, err := os.ReadDir(repositoryRoot)
	if err != nil {
		t.Fatal(err)
	}
	models := 0
	for _, e := range entries {
		if !e.IsDir() {
			t.Errorf("%s/%s: only model folders belong in the repository root", repositoryRoot, e.Name())
			continue
		}
		if _, err := os.Stat(filepath.Join(repositoryRoot, e.Name(), "config.pbtxt")); err != nil {
			t.Errorf("%s/%s has no config.pbtxt: Triton would list it as a model; move it out of the repository root", repositoryRoot, e.Name())
			continue
		}
		models++
	}
	if models < len(requiredModels) {
		t.Errorf("%d model folders in %s, want at least %d", models, repositoryRoot, len(requiredModels))
	}
	if _, err := os.Stat(filepath.Join(repositoryRoot, "common")); err == nil {
		t.Errorf("the shared backend must not be in the repository root")
	}
	if _, err := os.Stat(filepath.Join("common", "nemo_asr_backend.py")); err != nil {
		t.Errorf("the shared backend is expected beside the root, in common/: %v", err)
	}
}

// TestModelConfigJSON keeps testdata/<model>.config.json equal to each
// config.pbtxt as JSON with Triton's field names, which is what the Python
// backend receives as args["model_config"]; the Python tests load these
// files, so the backend is tested with the real parameters of every model.
func TestModelConfigJSON(t *testing.T) {
	for dir, cfg := range loadConfigs(t) {
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
		golden := filepath.Join("testdata", dir+".config.json")
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not "+repositoryRoot+"/%s/config.pbtxt as JSON (err %v); run: go test ./models -run TestModelConfigJSON -update", golden, dir, err)
		}
	}
}

// int64sAsNumbers undoes protojson's quoting of 64-bit integers (dims, the
// queue delay), as Triton does when it hands a config to a backend.
func int64sAsNumbers(v any, key string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = int64sAsNumbers(x, k)
		}
	case []any:
		for i, x := range v {
			v[i] = int64sAsNumbers(x, key)
		}
	case string:
		if key == "dims" || strings.HasSuffix(key, "_microseconds") {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return v
}

// protocolDatatype names a config.pbtxt data type as the inference protocol
// (and contract.json) does.
func protocolDatatype(dt pb.DataType) string {
	if dt == pb.DataType_TYPE_STRING {
		return DatatypeBytes
	}
	return strings.TrimPrefix(dt.String(), "TYPE_")
}

func tensorsEqual(a, b []Tensor) bool {
	return slices.EqualFunc(a, b, func(x, y Tensor) bool {
		return x.Name == y.Name && x.Datatype == y.Datatype && slices.Equal(x.Dims, y.Dims) && x.Optional == y.Optional
	})
}
