package inference

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// readyAnswers are the two ways Triton answers ModelReady for a model it
// has not loaded: OK with ready=false (up to r26.06), NOT_FOUND (core
// commit 73aad7c on). Every readiness test runs against both.
var readyAnswers = []struct {
	name   string
	legacy bool
}{{"current NOT_FOUND", false}, {"legacy ready=false", true}}

func connectOpts(t *testing.T, opts tritontest.Options) *Server {
	t.Helper()
	s, err := Connect(tritontest.Start(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestOpenModelWaitsForLoadingEitherWay: a loading model is waited for
// whichever way the server answers ModelReady.
func TestOpenModelWaitsForLoadingEitherWay(t *testing.T) {
	for _, ra := range readyAnswers {
		t.Run(ra.name, func(t *testing.T) {
			s := connectOpts(t, tritontest.Options{ReadyAfter: 300 * time.Millisecond, LegacyModelReady: ra.legacy})
			waits := 0
			m, err := s.OpenModel(context.Background(), "dtmf", WaitOptions{Timeout: time.Minute, Poll: 20 * time.Millisecond,
				OnWait: func(_ time.Duration, state string) {
					waits++
					if state != "LOADING" {
						t.Errorf("OnWait state %q, want LOADING", state)
					}
				}})
			if err != nil || m == nil {
				t.Fatalf("OpenModel: %v", err)
			}
			if waits == 0 {
				t.Error("OpenModel did not wait for the loading model")
			}
		})
	}
}

// TestOpenModelNotLoadedFailsAtOnce: a model on disk that nobody loaded,
// or whose load failed, is not waited for: the error names the model and
// says what to do, or gives Triton's reason.
func TestOpenModelNotLoadedFailsAtOnce(t *testing.T) {
	for _, ra := range readyAnswers {
		t.Run(ra.name, func(t *testing.T) {
			s := connectOpts(t, tritontest.Options{
				Models:           []tritontest.Model{tritontest.DTMF(), tritontest.DTMFWith(tritontest.DTMFOptions{Name: "broken"})},
				Unloaded:         []string{"dtmf"},
				OnDisk:           []string{"common"},
				LoadFailures:     map[string]string{"broken": "CUDA error: no kernel image is available"},
				LegacyModelReady: ra.legacy,
			})
			for _, tc := range []struct{ model, want string }{
				{"dtmf", `model "dtmf" is in the repository of`},
				{"dtmf", "not loaded"},
				{"dtmf", "--load-model=dtmf"},
				{"common", `model "common"`},
				{"broken", `model "broken"`},
				{"broken", "CUDA error: no kernel image is available"},
			} {
				start := time.Now()
				waits := 0
				_, err := s.OpenModel(context.Background(), tc.model, WaitOptions{Timeout: time.Minute, Poll: 10 * time.Millisecond,
					OnWait: func(time.Duration, string) { waits++ }})
				if apperr.CodeOf(err) != apperr.CodeModelNotReady || !strings.Contains(apperr.Message(err), tc.want) {
					t.Errorf("%s: %v (code %s), want %s containing %q", tc.model, err, apperr.CodeOf(err), apperr.CodeModelNotReady, tc.want)
				}
				if waits > 0 || time.Since(start) > 10*time.Second {
					t.Errorf("%s: waited (%d polls, %v) for a model that is not loading", tc.model, waits, time.Since(start))
				}
			}
		})
	}
}

// TestStatusListsUnloadedModels: the index lists every folder of the
// repository, loaded or not; Status reports them all, not ready, instead
// of stopping at the first one current Triton answers NOT_FOUND.
func TestStatusListsUnloadedModels(t *testing.T) {
	for _, ra := range readyAnswers {
		t.Run(ra.name, func(t *testing.T) {
			s := connectOpts(t, tritontest.Options{
				Models:           []tritontest.Model{tritontest.DTMF(), tritontest.DTMFWith(tritontest.DTMFOptions{Name: "later"}), tritontest.DTMFWith(tritontest.DTMFOptions{Name: "broken"})},
				Unloaded:         []string{"later"},
				OnDisk:           []string{"canary-1b-v2"},
				LoadFailures:     map[string]string{"broken": "no GPU"},
				LegacyModelReady: ra.legacy,
			})
			st, err := s.Status(context.Background())
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			var got []string
			for _, m := range st.Models {
				got = append(got, fmt.Sprintf("%s ready=%v state=%q reason=%q instances=%d", m.Name, m.Ready, m.State, m.Reason, m.Instances))
			}
			want := []string{
				`broken ready=false state="UNAVAILABLE" reason="no GPU" instances=0`,
				`canary-1b-v2 ready=false state="" reason="" instances=0`,
				`dtmf ready=true state="READY" reason="" instances=1`,
				`later ready=false state="" reason="" instances=0`,
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("models:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestInstancesOnSeveralGPUs: Triton runs count instances of a KIND_GPU
// group on every GPU the returned config lists (model_config.proto,
// instance_group); the request pool is sized for all of them, and the
// status shows them.
func TestInstancesOnSeveralGPUs(t *testing.T) {
	groups := []*pb.ModelInstanceGroup{
		{Name: "gpu", Kind: pb.ModelInstanceGroup_KIND_GPU, Count: 2, Gpus: []int32{0, 1}},
		{Name: "cpu", Kind: pb.ModelInstanceGroup_KIND_CPU, Count: 1},
	}
	for _, tc := range []struct {
		name     string
		batching *tritontest.Batching
		inFlight int
	}{
		{"no batcher", nil, 2 * 5},
		{"dynamic batcher of 4", &tritontest.Batching{MaxBatch: 4}, 2 * 4 * 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model := tritontest.DTMFWith(tritontest.DTMFOptions{Instances: groups})
			if tc.batching != nil {
				model = resized{model, 4}
			}
			s := connectOpts(t, tritontest.Options{Models: []tritontest.Model{model}, Batching: tc.batching})
			m, err := s.OpenModel(context.Background(), "dtmf", WaitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Instances != 5 || m.SuggestedInFlight() != tc.inFlight {
				t.Errorf("instances %d, suggested in flight %d; want 5 and %d", m.Instances, m.SuggestedInFlight(), tc.inFlight)
			}
			st, err := s.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Models) != 1 || st.Models[0].Instances != 5 || st.Models[0].Kind != "" {
				t.Errorf("status models %+v, want dtmf with 5 instances", st.Models)
			}
		})
	}
}

// resized is a model with another max_batch_size.
type resized struct {
	tritontest.Model
	maxBatch int32
}

func (r resized) Config() *pb.ModelConfig {
	cfg := r.Model.Config()
	cfg.MaxBatchSize = r.maxBatch
	return cfg
}

// TestStatusTellsSpeakerModels: a speaker-embedding model says so in the
// status (its config's kind parameter), so model pickers for speech
// recognition can leave it out.
func TestStatusTellsSpeakerModels(t *testing.T) {
	s := connectOpts(t, tritontest.Options{Models: []tritontest.Model{tritontest.DTMF(), tritontest.Voices()}})
	st, err := s.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, m := range st.Models {
		kinds[m.Name] = m.Kind
	}
	if kinds["dtmf"] != "" || kinds["voices"] != "speaker_embedding" {
		t.Errorf("kinds %v, want dtmf \"\" and voices speaker_embedding", kinds)
	}
	_, err = s.OpenModel(context.Background(), "voices", WaitOptions{})
	if apperr.CodeOf(err) != apperr.CodeContract || !strings.Contains(apperr.Message(err), "speaker-embedding model") {
		t.Errorf("OpenModel(voices) for speech recognition: %v", err)
	}
}
