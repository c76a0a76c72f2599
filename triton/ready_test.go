package triton_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// TestModelReadyNotFound: current Triton answers ModelReady for a model it
// cannot find (not loaded, loading, load failed, unknown) NOT_FOUND, older
// Triton ready=false; the client says false, no error, to both.
func TestModelReadyNotFound(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		c := newClient(t, tritontest.Options{
			Models:           []tritontest.Model{tritontest.DTMF(), tritontest.DTMFWith(tritontest.DTMFOptions{Name: "broken"}), tritontest.DTMFWith(tritontest.DTMFOptions{Name: "later"})},
			Unloaded:         []string{"later"},
			LoadFailures:     map[string]string{"broken": "out of memory"},
			LegacyModelReady: legacy,
		})
		for _, tc := range []struct {
			name, version string
			ready         bool
		}{{"dtmf", "", true}, {"dtmf", "2", false}, {"later", "", false}, {"broken", "", false}, {"broken", "1", false}, {"nope", "", false}} {
			ready, err := c.ModelReady(ctx(t), tc.name, tc.version)
			if err != nil || ready != tc.ready {
				t.Errorf("legacy=%v: ModelReady(%s, %q) = %v, %v; want %v, no error", legacy, tc.name, tc.version, ready, err, tc.ready)
			}
		}
	}
}

// TestServerCancelled: CANCELLED from the server while the caller still
// waits is not the caller's cancellation: it is a failure of its own
// code, worth retrying; the caller's own cancel stays CodeCanceled.
func TestServerCancelled(t *testing.T) {
	c := newClient(t, tritontest.Options{CancelRate: 1})
	_, err := c.Infer(ctx(t), triton.InferRequest{Model: "dtmf", Inputs: []triton.Input{audioInput(make([]float32, 1600))}})
	var te *triton.Error
	if !errors.As(err, &te) || te.Code != triton.CodeServerCanceled || !te.Temporary() {
		t.Fatalf("err = %v, want a temporary %s", err, triton.CodeServerCanceled)
	}
	if errors.Is(err, context.Canceled) {
		t.Error("a server's CANCELLED reads as the caller's context.Canceled")
	}

	mine, cancel := context.WithCancel(ctx(t))
	cancel()
	_, err = c.Infer(mine, triton.InferRequest{Model: "dtmf", Inputs: []triton.Input{audioInput(make([]float32, 1600))}})
	if triton.CodeOf(err) != triton.CodeCanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("own cancel: err = %v, want %s wrapping context.Canceled", err, triton.CodeCanceled)
	}
}
