package models

import (
	"maps"
	"strings"
	"testing"
)

func TestContractMatchesConstants(t *testing.T) {
	c := Contract()
	if c.SampleRate != SampleRate {
		t.Errorf("sample_rate %d, want %d", c.SampleRate, SampleRate)
	}
	if c.MaxBatchSizeMin < 1 {
		t.Errorf("max_batch_size_min %d: the contract needs a batching model", c.MaxBatchSizeMin)
	}
	wantIn := []Tensor{{InputAudio, DatatypeFP32, []int64{-1}, true}}
	wantOut := []Tensor{{OutputTranscript, DatatypeBytes, []int64{1}, false}, {OutputTimestamps, DatatypeBytes, []int64{1}, false}}
	check := func(kind string, got, want []Tensor) {
		if len(got) != len(want) {
			t.Fatalf("%s: %d tensors, want %d", kind, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Name != w.Name || g.Datatype != w.Datatype || len(g.Dims) != len(w.Dims) || g.Dims[0] != w.Dims[0] || g.Optional != w.Optional {
				t.Errorf("%s[%d] = %+v, want %+v", kind, i, g, w)
			}
		}
	}
	check("inputs", c.Inputs, wantIn)
	check("compact inputs", c.CompactInputs, []Tensor{{InputAudioPCM16, DatatypeINT16, []int64{-1}, true}, {InputAudioFLAC, DatatypeBytes, []int64{1}, true}})
	for _, in := range c.AudioInputs() {
		if !in.Optional {
			t.Errorf("audio input %s is not optional: a request that carries another form must be able to leave it out", in.Name)
		}
	}
	if got := c.AudioInputs(); len(got) != 3 || got[0].Name != InputAudio || got[2].Name != InputAudioFLAC {
		t.Errorf("AudioInputs = %+v, want AUDIO, AUDIO_PCM16, AUDIO_FLAC", got)
	}
	check("outputs", c.Outputs, wantOut)
	for name, typ := range map[string]string{ParamTimestamps: "bool", ParamSourceLang: "string", ParamTargetLang: "string", ParamTask: "string", ParamPNC: "bool"} {
		if c.Parameters[name] != typ {
			t.Errorf("parameter %s: %q, want %q", name, c.Parameters[name], typ)
		}
	}
}

func TestSpeakerContractMatchesConstants(t *testing.T) {
	c := Contract().Speaker
	if c.SampleRate != SampleRate || c.MaxBatchSizeMin < 1 {
		t.Errorf("speaker: sample_rate %d, max_batch_size_min %d", c.SampleRate, c.MaxBatchSizeMin)
	}
	wantIn := []Tensor{{InputAudio, DatatypeFP32, []int64{-1}, false}, {InputSpans, DatatypeINT64, []int64{-1, 2}, false}}
	wantOut := []Tensor{{OutputEmbeddings, DatatypeFP32, []int64{-1, -1}, false}}
	if !tensorsEqual(c.Inputs, wantIn) {
		t.Errorf("speaker inputs %+v, want %+v", c.Inputs, wantIn)
	}
	if !tensorsEqual(c.Outputs, wantOut) {
		t.Errorf("speaker outputs %+v, want %+v", c.Outputs, wantOut)
	}
	want := map[string]string{ParamKind: KindSpeakerEmbedding, ParamEmbeddingSize: "int", ParamMinSpanSeconds: "float", ParamMaxSpans: "int"}
	if len(c.ConfigParameters) != len(want) {
		t.Errorf("speaker config_parameters %v, want %v", c.ConfigParameters, want)
	}
	for k, v := range want {
		if c.ConfigParameters[k] != v {
			t.Errorf("speaker config parameter %s: %q, want %q", k, c.ConfigParameters[k], v)
		}
	}
}

func TestParseSpeakerParameters(t *testing.T) {
	good := map[string]string{ParamKind: KindSpeakerEmbedding, ParamEmbeddingSize: "192", ParamMinSpanSeconds: "0.5", ParamMaxSpans: "256"}
	p, err := ParseSpeakerParameters(good)
	if err != nil || p != (SpeakerParameters{EmbeddingSize: 192, MinSpanSeconds: 0.5, MaxSpans: 256}) {
		t.Fatalf("ParseSpeakerParameters = %+v, %v", p, err)
	}
	if n := p.MinSpanSamples(SampleRate); n != 8000 {
		t.Errorf("MinSpanSamples = %d, want 8000", n)
	}
	if n := (SpeakerParameters{MinSpanSeconds: 0.2}).MinSpanSamples(SampleRate); n != 3200 {
		t.Errorf("MinSpanSamples(0.2 s) = %d, want 3200 (no float rounding up)", n)
	}
	if IsSpeakerModel(map[string]string{"nemo_model": "nvidia/parakeet-tdt-0.6b-v2"}) {
		t.Error("an ASR model's parameters taken for a speaker model")
	}
	for key, bad := range map[string]string{
		ParamKind:           "asr",
		ParamEmbeddingSize:  "0",
		ParamMinSpanSeconds: "-1",
		ParamMaxSpans:       "many",
	} {
		params := maps.Clone(good)
		params[key] = bad
		if _, err := ParseSpeakerParameters(params); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: error %v, want one naming %s", key, bad, err, key)
		}
	}
}
