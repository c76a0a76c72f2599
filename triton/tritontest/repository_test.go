package tritontest_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// TestRepositoryStates: a repository as Triton's explicit model control
// leaves it: a model never loaded, a folder that is no model, and a model
// whose load failed, each listed and answered as Triton does
// (model_repository_manager.cc RepositoryIndex, model_lifecycle.cc
// GetModel, server.cc IsReady).
func TestRepositoryStates(t *testing.T) {
	second := tritontest.DTMFWith(tritontest.DTMFOptions{Name: "broken"})
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{
		Models:       []tritontest.Model{tritontest.DTMF(), second},
		Unloaded:     []string{"dtmf"},
		OnDisk:       []string{"common"},
		LoadFailures: map[string]string{"broken": "Internal: ModuleNotFoundError: No module named 'nemo'"},
	}))
	ctx := ctx(t)

	idx, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*pb.RepositoryIndexResponse_ModelIndex{}
	var order []string
	for _, m := range idx.GetModels() {
		got[m.Name] = m
		order = append(order, m.Name)
	}
	if strings.Join(order, ",") != "broken,common,dtmf" {
		t.Fatalf("index lists %v, want broken,common,dtmf", order)
	}
	for _, name := range []string{"dtmf", "common"} {
		if m := got[name]; m.Version != "" || m.State != "" || m.Reason != "" {
			t.Errorf("%s (not loaded) in the index: %v; want its name alone", name, m)
		}
	}
	if m := got["broken"]; m.State != "UNAVAILABLE" || !strings.Contains(m.Reason, "No module named") || m.Version != "1" {
		t.Errorf("broken in the index: %v; want UNAVAILABLE with the load error", m)
	}
	if idx, _ := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{Ready: true}); len(idx.GetModels()) != 0 {
		t.Errorf("ready index = %v, want none", idx.GetModels())
	}

	// Not loaded: not in the lifecycle at all.
	for _, name := range []string{"dtmf", "common"} {
		_, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: name})
		if want := "Request for unknown model: '" + name + "' is not found"; status.Code(err) != codes.NotFound || status.Convert(err).Message() != want {
			t.Errorf("ModelReady(%s) = %v, want NOT_FOUND %q", name, err, want)
		}
		if _, err := c.ModelConfig(ctx, &pb.ModelConfigRequest{Name: name}); status.Code(err) != codes.NotFound {
			t.Errorf("ModelConfig(%s) = %v, want NOT_FOUND", name, err)
		}
	}
	// Load failed: in the lifecycle, with no version available.
	if _, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "broken"}); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "has no available versions") {
		t.Errorf("ModelReady(broken) = %v, want NOT_FOUND has no available versions", err)
	}
	// Strict readiness counts the failed load, not the models never loaded.
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || r.Ready {
		t.Errorf("ServerReady = %v, %v; want false (a load failed)", r, err)
	}

	if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "broken"}); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "load failed for model 'broken': version 1 is at UNAVAILABLE state") {
		t.Errorf("load broken = %v", err)
	}
	if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "common"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("load common = %v, want INVALID_ARGUMENT", err)
	}
	// Loading the model on disk makes it a model like any other.
	if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "dtmf"}); err != nil {
		t.Fatalf("load dtmf: %v", err)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "dtmf"}); err != nil || !r.Ready {
		t.Errorf("ModelReady(dtmf) after load = %v, %v", r, err)
	}
	if _, err := c.ModelInfer(ctx, audioRequest(make([]float32, 160))); err != nil {
		t.Errorf("infer after load: %v", err)
	}
}

// TestModelReadyLegacy: up to r26.06 ModelReady answered OK, ready=false,
// for every model that was not ready, known or not.
func TestModelReadyLegacy(t *testing.T) {
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{
		Models:           []tritontest.Model{tritontest.DTMF(), tritontest.DTMFWith(tritontest.DTMFOptions{Name: "broken"})},
		Unloaded:         []string{"dtmf"},
		LoadFailures:     map[string]string{"broken": "no GPU"},
		LegacyModelReady: true,
	}))
	ctx := ctx(t)
	for _, name := range []string{"dtmf", "broken", "nope"} {
		if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: name}); err != nil || r.Ready {
			t.Errorf("ModelReady(%s) = %v, %v; want ready=false, no error", name, r, err)
		}
	}
	if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "dtmf"}); err != nil {
		t.Fatal(err)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "dtmf"}); err != nil || !r.Ready {
		t.Errorf("ModelReady(dtmf) after load = %v, %v", r, err)
	}
}

// TestCancelFault: CancelRate 1 answers every inference CANCELLED and
// counts it as a failure.
func TestCancelFault(t *testing.T) {
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{CancelRate: 1}))
	ctx := ctx(t)
	for range 3 {
		if _, err := c.ModelInfer(ctx, audioRequest(make([]float32, 160))); status.Code(err) != codes.Canceled {
			t.Fatalf("infer = %v, want CANCELLED", err)
		}
	}
	st, err := c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "dtmf"})
	if err != nil {
		t.Fatal(err)
	}
	if f := st.ModelStats[0].InferenceStats.Fail.Count; f != 3 {
		t.Errorf("failures = %d, want 3", f)
	}
}
