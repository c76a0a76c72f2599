package inference

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

func TestFindSpeakerModel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		models []tritontest.Model
		want   string
	}{
		{"beside dtmf", []tritontest.Model{tritontest.DTMF(), tritontest.Voices()}, "voices"},
		{"first by name", []tritontest.Model{tritontest.VoicesWith(tritontest.VoicesOptions{Name: "titanet-large"}), tritontest.Voices()}, "titanet-large"},
		{"none", []tritontest.Model{tritontest.DTMF()}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := connectOpts(t, tritontest.Options{Models: tc.models})
			got, err := s.FindSpeakerModel(context.Background())
			if tc.want == "" {
				if apperr.CodeOf(err) != apperr.CodeUnknownModel || !strings.Contains(apperr.Message(err), "no speaker-embedding model") {
					t.Errorf("got %q, %v; want an error saying there is no speaker-embedding model", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestOpenSpeakerModelChecksTheContract(t *testing.T) {
	s := connectOpts(t, tritontest.Options{Models: []tritontest.Model{tritontest.DTMF(), tritontest.Voices()}})
	m, err := s.OpenSpeakerModel(context.Background(), "voices", WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Params.EmbeddingSize != voices.EmbeddingSize || m.Params.MaxSpans != tritontest.VoicesMaxSpans || m.Version != "1" {
		t.Errorf("params %+v version %q", m.Params, m.Version)
	}
	_, err = s.OpenSpeakerModel(context.Background(), "dtmf", WaitOptions{})
	if apperr.CodeOf(err) != apperr.CodeContract || !strings.Contains(apperr.Message(err), "not a speaker-embedding model") {
		t.Errorf("dtmf as a speaker model: %v", err)
	}
	_, err = s.OpenSpeakerModel(context.Background(), "nope", WaitOptions{})
	if apperr.CodeOf(err) != apperr.CodeUnknownModel {
		t.Errorf("unknown model: %v", err)
	}
}

// TestEmbedTellsVoicesApart: spans of one voice embed alike, spans of a
// voice 20% higher do not; a span too short is a zero row; more spans
// than the model takes at once go in several requests, in order.
func TestEmbedTellsVoicesApart(t *testing.T) {
	var requests atomic.Int32
	s := connectOpts(t, tritontest.Options{
		Models:  []tritontest.Model{tritontest.Voices()},
		Inspect: func(context.Context, *pb.ModelInferRequest) { requests.Add(1) },
	})
	m, err := s.OpenSpeakerModel(context.Background(), "voices", WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const sr = 16000
	presses := []voices.Press{
		{Press: dtmf.Press{Key: '1', Start: 0.5, End: 1.0}, F0: 120},
		{Press: dtmf.Press{Key: '5', Start: 1.5, End: 2.0}, F0: 144},
		{Press: dtmf.Press{Key: '9', Start: 2.5, End: 3.0}, F0: 120},
	}
	samples := voices.Synthesize(presses, sr, 4, dtmf.SynthOptions{NoiseDB: -40, Seed: 3})
	span := func(a, b float64) [2]int64 { return [2]int64{int64(a * sr), int64(b * sr)} }
	spans := [][2]int64{span(0.55, 0.95), span(1.55, 1.95), span(2.55, 2.95), span(0.6, 0.61)}

	m.Params.MaxSpans = 3 // as a model taking three spans a chunk would say
	embs, err := m.Embed(context.Background(), 0, samples, spans, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(embs) != 4 || requests.Load() != 2 {
		t.Fatalf("%d embeddings in %d requests, want 4 in 2", len(embs), requests.Load())
	}
	same, other := voices.Cosine(embs[0], embs[2]), voices.Cosine(embs[0], embs[1])
	if same < 0.9 || other > 0.3 {
		t.Errorf("cosine same voice %.3f, other voice %.3f", same, other)
	}
	for _, v := range embs[3] {
		if v != 0 {
			t.Fatalf("a 10 ms span got %v, want a zero row", embs[3])
		}
	}
	if _, err := m.Embed(context.Background(), 0, samples, [][2]int64{{10, 5}}, Options{}); err == nil {
		t.Error("a reversed span was sent")
	}
	if embs, err := m.Embed(context.Background(), 0, samples, nil, Options{}); err != nil || len(embs) != 0 || requests.Load() != 2 {
		t.Errorf("no spans: %v, %v after %d requests; want nothing sent", embs, err, requests.Load())
	}
}
