package transcribe

import (
	"context"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

func TestRecognizerHearsClipsAndRefusesUnknownModels(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	e := NewEngine()
	defer e.Close()
	ctx := context.Background()

	m, err := e.Recognizer(ctx, addr, "dtmf", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "dtmf" || m.Version == "" {
		t.Errorf("the model is named %q version %q, want dtmf and a version", m.Name, m.Version)
	}
	clip := dtmf.Synthesize([]dtmf.Press{{Key: '7', Start: 0.2, End: 0.5}}, 16000, 1, dtmf.SynthOptions{})
	for round := range 2 { // the second clip goes over the connection a Reconnect made
		r, err := m.Recognize(ctx, 0, clip, inference.Options{Timestamps: true})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := strings.TrimSpace(r.Text); got != "7" {
			t.Errorf("round %d: heard %q, want 7", round, got)
		}
		e.Reconnect()
	}

	cases := []struct{ name, model, want string }{
		{"unknown model", "no-such-model", "no-such-model"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Recognizer(ctx, addr, tc.model, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}
